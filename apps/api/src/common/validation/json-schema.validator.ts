import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

type Schema = Record<string, unknown>;

/** A real calendar date written YYYY-MM-DD (the original parsed `%Y-%m-%d` strictly). */
export function isIsoDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return (
    d.getUTCFullYear() === Number(m[1]) &&
    d.getUTCMonth() === Number(m[2]) - 1 &&
    d.getUTCDate() === Number(m[3])
  );
}

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):?(\d{2})))?$/;

/**
 * An ISO-8601 date, or date-time with a zone (`Z` or an offset), that names a
 * real instant: the calendar date exists and the clock fields are in range.
 * Date.parse is not the check: it rolls `2026-02-30` over to March, and
 * PostgreSQL refuses what it rolled over.
 */
export function isIsoDateTime(v: string): boolean {
  const m = DATE_TIME.exec(v);
  if (!m || !isIsoDate(m[1])) return false;
  const [h, min, sec, oh, om] = m.slice(2).map((x) => (x === undefined ? 0 : Number(x)));
  return h < 24 && min < 60 && sec < 60 && oh < 24 && om < 60;
}

/**
 * Drops the OpenAPI-only `nullable` marker where Ajv cannot use it (next to
 * $ref/allOf): nulls of nullable top-level fields are removed before
 * validation (see nullableKeys) and mean "clear this field".
 */
function forAjv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forAjv);
  if (typeof node !== 'object' || node === null) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'nullable' && !('type' in node)) continue;
    if (k === 'example' || k === 'default') continue;
    out[k] = forAjv(v);
  }
  return out;
}

function pathOf(e: ErrorObject): string {
  const base = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required')
    base.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === 'additionalProperties') {
    // The unknown key names the path when it looks like a field name (a key is input too:
    // anything longer or stranger is not repeated back).
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    if (/^[A-Za-z0-9_-]{1,64}$/.test(key)) base.push(key);
  }
  return base.join('.');
}

const quoted = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v));

/**
 * The rule a value broke, in the original's wording but without the value:
 * the path names the field, the message the rule. A rejected value can be
 * PHI (a patient name typed into the wrong field), so it is never repeated
 * back, nor logged.
 */
function messageOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `'${String(p.missingProperty)}' is a required property`;
    case 'type':
      return `is not of type '${String(p.type)}'`;
    case 'enum':
      return `is not one of [${(p.allowedValues as unknown[]).map(quoted).join(', ')}]`;
    case 'format':
      return `is not a '${String(p.format)}'`;
    case 'pattern':
      return `does not match '${String(p.pattern)}'`;
    case 'maxLength':
      return `is too long (at most ${String(p.limit)} characters)`;
    case 'minLength':
      return `is too short (at least ${String(p.limit)} characters)`;
    case 'maxItems':
      return `is too long (at most ${String(p.limit)} items)`;
    case 'minItems':
      return `is too short (at least ${String(p.limit)} items)`;
    case 'uniqueItems':
      return 'has duplicate items';
    case 'minimum':
      return `is less than the minimum of ${String(p.limit)}`;
    case 'maximum':
      return `is greater than the maximum of ${String(p.limit)}`;
    case 'additionalProperties':
      return 'is not a known field';
    default:
      // Named by keyword only: some of Ajv's messages carry values or key names.
      return `is invalid (${e.keyword})`;
  }
}

/**
 * Validates request bodies against the named schemas: every failing path at
 * once, as `{"dotted.path.0": "message"}`: the field and the rule, never the value.
 */
export class JsonSchemaValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly schemas: Record<string, Schema>) {
    this.ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
    this.ajv.addFormat('date', { type: 'string', validate: isIsoDate });
    this.ajv.addFormat('date-time', { type: 'string', validate: isIsoDateTime });
    this.ajv.addSchema({ $id: 'lhcms', components: { schemas: forAjv(schemas) } });
  }

  /** Top-level properties of a schema that accept null. */
  nullableKeys(name: string): Set<string> {
    const props = (this.schemas[name]?.properties ?? {}) as Record<string, Schema>;
    return new Set(
      Object.entries(props)
        .filter(([, s]) => s.nullable === true)
        .map(([k]) => k),
    );
  }

  /** Undefined when valid, else the errors by path (first error per path). */
  validate(name: string, data: unknown): Record<string, string> | undefined {
    let fn = this.compiled.get(name);
    if (!fn) {
      if (!this.schemas[name]) throw new Error(`no schema named ${name}`);
      fn = this.ajv.compile({ $ref: `lhcms#/components/schemas/${name}` });
      this.compiled.set(name, fn);
    }
    if (fn(data)) return undefined;
    const errors: Record<string, string> = {};
    for (const e of fn.errors ?? []) {
      const path = pathOf(e);
      if (errors[path] !== undefined) continue;
      errors[path] = messageOf(e);
    }
    return errors;
  }
}
