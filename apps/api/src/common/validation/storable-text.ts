/**
 * Text PostgreSQL can store. A text value cannot hold U+0000, and an unpaired
 * UTF-16 surrogate has no UTF-8 form (a JSON column refuses its `\ud800`
 * escape): input carrying either used to reach the database and come back
 * as a 500, or fail the audit insert (503), or fail a whole group-commit
 * batch of other people's audit rows. Requests are checked up front
 * (`unstorableText`, 400 in the one error shape) and audit values are made
 * storable (`storableText`) before they are written.
 */

const MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';
/**
 * How deep the request check looks (a bound on the recursion: a 1 MB body can
 * nest far deeper). Below it values are not checked here: the free-form
 * objects that can nest that deep (patient_info, prescriptions) are stored
 * encrypted, and audit values are made storable whatever their depth.
 */
const MAX_DEPTH = 32;

function isStorable(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}

/** `s` with NUL and unpaired surrogates replaced by U+FFFD (unchanged, the same string, when clean). */
export function storableText(s: string): string {
  return isStorable(s) ? s : s.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/**
 * The strings (values and keys, at any depth) of `value` that PostgreSQL
 * cannot store, by dotted path (`patient_info.patient_id`, `items.0`),
 * `prefix` first; an empty object when there are none.
 */
export function unstorableText(
  value: unknown,
  prefix = '',
  out: Record<string, string> = {},
  depth = 0,
): Record<string, string> {
  if (typeof value === 'string') {
    if (!isStorable(value)) out[prefix] = MESSAGE;
    return out;
  }
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return out;
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!isStorable(k)) out[prefix ? `${prefix}.${storableText(k)}` : storableText(k)] = MESSAGE;
    else unstorableText(v, path, out, depth + 1);
  }
  return out;
}
