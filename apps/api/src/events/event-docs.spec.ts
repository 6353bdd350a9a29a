import * as fs from 'node:fs';
import * as path from 'node:path';
import { CASE_TABLE } from '../case-model';
import { SNAPSHOT_COLUMNS, snapshotSchema } from './event-payload';
import { OUTBOX_EVENT_TYPE_NAMES, OUTBOX_EVENT_TYPES } from './event-types';

const ROOT = path.resolve(__dirname, '../../../..');
const doc = () => fs.readFileSync(path.join(ROOT, 'docs/events.md'), 'utf8');

describe('docs/events.md', () => {
  it('documents every event type with its payload fields', () => {
    const text = doc();
    for (const t of OUTBOX_EVENT_TYPE_NAMES) {
      expect(text).toContain(`### \`${t}\``);
      const fields = OUTBOX_EVENT_TYPES[t].fields;
      if (Object.keys(fields).length > 0) expect(text).toContain(JSON.stringify(fields, null, 2));
    }
  });

  it('shows the snapshot schema derived from the column catalogue, and lists its fields', () => {
    const text = doc();
    expect(text).toContain(JSON.stringify(snapshotSchema(), null, 2));
    const listed = SNAPSHOT_COLUMNS.map((c) => `\`${CASE_TABLE[c].wire}\``).join(', ');
    expect(text.replace(/\s+/g, ' ')).toContain(listed);
  });
});

describe('the payload allowlist', () => {
  it('never admits a column that is not plain', () => {
    for (const c of SNAPSHOT_COLUMNS)
      expect({ c, phi: CASE_TABLE[c].phi }).toEqual({ c, phi: 'plain' });
  });
});
