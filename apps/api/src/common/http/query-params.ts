/** A positive integer as a query parameter carries it (no sign, no leading zero, ≤ 9 digits). */
export const POSITIVE_INT = /^[1-9]\d{0,8}$/;

/**
 * Reads query parameters strictly, collecting every problem into `errors`
 * under the parameter's name (the route answers 400 with all of them):
 * `one` refuses a repeated parameter, `positiveInt` a non-number.
 */
export function queryReader(q: Record<string, unknown>, errors: Record<string, string>) {
  const one = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      errors[name] = 'must be given once';
      return undefined;
    }
    return v;
  };
  /** `def` when absent; capped at `max` (as the original capped page sizes). */
  const positiveInt = (name: string, def: number, max?: number): number => {
    const v = one(name);
    if (v === undefined) return def;
    if (!POSITIVE_INT.test(v)) {
      errors[name] = 'is not a positive integer';
      return def;
    }
    return max ? Math.min(Number(v), max) : Number(v);
  };
  return { one, positiveInt };
}
