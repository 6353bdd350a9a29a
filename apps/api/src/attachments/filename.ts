/** Longest stored original filename, in characters (the extension is kept when it is cut). */
export const FILENAME_MAX = 200;

/* eslint-disable no-control-regex */
/** C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text. */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
/* eslint-enable no-control-regex */

/**
 * The original filename as it is stored and shown: the last path part only
 * (no `../`, no folders, either slash), without control characters, NUL or
 * bidirectional overrides (an RTL override can make `exe.pdf` look like a
 * PDF), without leading dots, at most FILENAME_MAX characters with the
 * extension kept. Nothing left (or no name sent) is `upload`. The client's
 * name is never stored as given; it is only a label, never a path: objects are
 * stored under random keys.
 */
export function sanitizeFilename(raw: string | undefined): string {
  let name = (raw ?? '').normalize('NFC').replace(UNSAFE, '');
  name = name.split(/[/\\]/).pop() ?? '';
  name = name
    .replace(/[<>:"|?*]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '')
    .trim();
  if (!name) return 'upload';
  const chars = [...name];
  if (chars.length <= FILENAME_MAX) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? [...name.slice(dot)] : [];
  const keepExt = ext.length > 0 && ext.length <= 16 ? ext : [];
  return chars.slice(0, FILENAME_MAX - keepExt.length).join('') + keepExt.join('');
}
