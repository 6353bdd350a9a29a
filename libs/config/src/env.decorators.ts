import { Expose, Transform } from 'class-transformer';

/** What the documentation (docs/operations.md, .env.example) says about one variable. */
export interface EnvMeta {
  /** Section in the docs, e.g. "database". */
  group: string;
  /** One sentence: what the variable means. */
  description: string;
  /** Secret values are masked when printed and never logged. */
  secret?: boolean;
  /**
   * Set when LHCMS accepts the variable (it appears in the seed's production.env
   * or the original's .env) but does not act on it; the text says why.
   */
  notActedOn?: string;
  /** Value shown in .env.example when the default is empty. */
  example?: string;
}

export interface EnvDeclaration extends EnvMeta {
  name: string;
}

const declarations: EnvDeclaration[] = [];

/** Declares a configuration variable: exposed to validation and documented. */
export function EnvVar(meta: EnvMeta): PropertyDecorator {
  return (target, key) => {
    declarations.push({ name: String(key), ...meta });
    Expose()(target, key);
  };
}

export function envDeclarations(): readonly EnvDeclaration[] {
  return declarations;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** "true"/"false" (and 1/0, yes/no, on/off) to a boolean; anything else stays a string so validation names it. */
export const BoolEnv = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    return value;
  });

/** Decimal integer strings to numbers; anything else stays a string so validation names it. */
export const IntEnv = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const v = value.trim();
    return /^-?\d+$/.test(v) ? Number(v) : value;
  });

/** Comma-separated list; empty entries dropped. */
export const ListEnv = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  });
