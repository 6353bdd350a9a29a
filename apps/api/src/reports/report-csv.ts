import { stringify } from 'csv-stringify/sync';

/** A table of a report as CSV rows: the header, then one row per line. */
export interface CsvTable {
  columns: readonly string[];
  rows: ReadonlyArray<ReadonlyArray<string | number | null>>;
}

/**
 * A spreadsheet reads a cell starting with one of these as a formula (CSV
 * injection). Report cells are codes, dates and numbers, but reason codes and
 * stage names are lab-defined: such a cell gets a leading apostrophe.
 */
const FORMULA = /^[=+\-@\t\r]/;

/** RFC 4180 CSV (CRLF line ends, quoted where needed) through csv-stringify. */
export function toCsv(table: CsvTable): string {
  return stringify(
    table.rows.map((r) => [...r]),
    {
      header: true,
      columns: [...table.columns],
      record_delimiter: 'windows',
      cast: { string: (v) => (FORMULA.test(v) ? `'${v}` : v) },
    },
  );
}
