/**
 * Text PostgreSQL can store. A text value cannot hold U+0000, and an unpaired
 * UTF-16 surrogate has no UTF-8 form (a JSON column refuses its `\ud800`
 * escape): input carrying either used to reach the database and come back
 * as a 500, or fail the audit insert (503), or fail a whole group-commit
 * batch of other people's audit rows. Requests are checked up front
 * (`unacceptableValues`, 400 in the one error shape) and audit values are made
 * storable (`storableText`) before they are written.
 */

const TEXT = 'must not contain NUL characters or unpaired UTF-16 surrogates';
const KEY = 'has a key that contains NUL characters or unpaired UTF-16 surrogates';
const NOT_FINITE = 'must be a finite number';

function isStorable(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}

/** `s` with NUL and unpaired surrogates replaced by U+FFFD (unchanged, the same string, when clean). */
export function storableText(s: string): string {
  return isStorable(s) ? s : s.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/**
 * The values of a request (a parsed JSON body, the query, the path
 * parameters) that cannot be accepted whatever the route: text PostgreSQL
 * cannot store (values and keys) and numbers that are not finite (`1e400`
 * parses to Infinity, which JSON cannot carry back: it would be stored as
 * null). By dotted path, `prefix` first; an empty object when there are none.
 *
 * A path names fields, never what the client sent: it stops at the first key
 * that is not in `fieldNames` (the names the API declares), because a key of a
 * free-form object (`patient_info`) can itself be PHI. Without `fieldNames`
 * every key is named. The walk is iterative: the depth of a body is bounded
 * by the JSON parser (JSON_MAX_DEPTH), not by the stack.
 */
export function unacceptableValues(
  value: unknown,
  prefix = '',
  out: Record<string, string> = {},
  fieldNames?: ReadonlySet<string>,
): Record<string, string> {
  // Paths are built only for what is reported: most bodies have nothing to report.
  interface Item {
    value: unknown;
    parent?: Item;
    key: string;
    named: boolean;
  }
  const pathOf = (item: Item): string => {
    const keys: string[] = [];
    for (let i: Item | undefined = item; i?.parent; i = i.parent) if (i.named) keys.push(i.key);
    if (prefix) keys.push(prefix);
    return keys.reverse().join('.');
  };
  const report = (item: Item, message: string) => {
    const path = pathOf(item);
    if (out[path] === undefined) out[path] = message;
  };
  const stack: Item[] = [{ value, key: '', named: true }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (typeof v === 'string') {
      if (!isStorable(v)) report(item, TEXT);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) report(item, NOT_FINITE);
    } else if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++)
          stack.push({ value: v[i] as unknown, parent: item, key: String(i), named: item.named });
      } else {
        for (const k in v) {
          if (!Object.hasOwn(v, k)) continue;
          if (!isStorable(k)) {
            report(item, KEY);
            continue;
          }
          const named = item.named && (fieldNames === undefined || fieldNames.has(k));
          stack.push({ value: (v as Record<string, unknown>)[k], parent: item, key: k, named });
        }
      }
    }
  }
  return out;
}
