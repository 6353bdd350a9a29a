import * as fs from 'node:fs';
import * as path from 'node:path';

function load(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, `${name}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
}

/**
 * The original's static reference data, byte-for-byte the JSON it served
 * (types.json, shades.json, materials.json beside this file), loaded once.
 * It is kept separate from the validation enums, as the original did (they
 * differ, as they did in the original).
 */
export const REFERENCE_DATA = {
  types: load('types'),
  shades: load('shades'),
  materials: load('materials'),
} as const;
