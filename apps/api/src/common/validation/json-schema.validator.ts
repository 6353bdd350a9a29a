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

/** Python's repr of a JSON value, as the original's jsonschema messages showed it. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.length > 80 ? `${v.slice(0, 77)}...` : v}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.length > 5 ? '[...]' : `[${v.map(pyRepr).join(', ')}]`;
  return '{...}';
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
  return base.join('.');
}

function messageOf(e: ErrorObject, data: unknown): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `'${String(p.missingProperty)}' is a required property`;
    case 'type':
      return `${pyRepr(data)} is not of type '${String(p.type)}'`;
    case 'enum':
      return `${pyRepr(data)} is not one of [${(p.allowedValues as unknown[]).map(pyRepr).join(', ')}]`;
    case 'format':
      return `${pyRepr(data)} is not a '${String(p.format)}'`;
    case 'maxLength':
    case 'maxItems':
      return `${pyRepr(data)} is too long`;
    case 'minLength':
    case 'minItems':
      return `${pyRepr(data)} is too short`;
    case 'minimum':
      return `${pyRepr(data)} is less than the minimum of ${String(p.limit)}`;
    case 'maximum':
      return `${pyRepr(data)} is greater than the maximum of ${String(p.limit)}`;
    default:
      return e.message ?? 'is invalid';
  }
}

function valueAt(root: unknown, instancePath: string): unknown {
  let cur: unknown = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[k] : undefined;
  }
  return cur;
}

/**
 * Validates request bodies against the named schemas: every failing path at
 * once, as `{"dotted.path.0": "message"}` in the original's wording.
 */
export class JsonSchemaValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly schemas: Record<string, Schema>) {
    this.ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
    this.ajv.addFormat('date', { type: 'string', validate: isIsoDate });
    this.ajv.addFormat('date-time', {
      type: 'string',
      validate: (v: string) => !Number.isNaN(Date.parse(v)),
    });
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
      const at = e.keyword === 'required' ? undefined : valueAt(data, e.instancePath);
      errors[path] = messageOf(e, at);
    }
    return errors;
  }
}
