import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Relative links in the repository's markdown: that each names a file (or
 * folder) that exists in the repository and, with `#anchor`, an anchor of
 * that file. Anchors are GitHub's: a heading's slug (lower case, punctuation
 * other than `-` and `_` dropped, spaces to `-`, `-1`, `-2` … for repeats)
 * or an explicit `<a id="…">`.
 */

/** GitHub's slug of a heading's text. */
export function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a markdown text defines. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = slugOf(heading[1]);
      const n = seen.get(slug) ?? 0;
      seen.set(slug, n + 1);
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  return anchors;
}

/** The relative link targets of a markdown text (outside code), e.g. `docs/api.md#errors`. */
export function linksOf(markdown: string): string[] {
  const links: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, mailto:, …
      links.push(target);
    }
  }
  return links;
}

/**
 * Why a link from `fromFile` (absolute) to `target` does not resolve inside
 * `root`, or undefined when it does.
 */
export function brokenLink(root: string, fromFile: string, target: string): string | undefined {
  const [file, anchor] = target.split('#', 2);
  const resolved = file === '' ? fromFile : path.resolve(path.dirname(fromFile), file);
  const rel = path.relative(root, resolved);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return 'points outside the repository';
  if (!fs.existsSync(resolved)) return 'no such file';
  if (anchor === undefined || anchor === '') return undefined;
  if (!resolved.endsWith('.md')) return 'an anchor in a file that is not markdown';
  if (!anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor)) return `no anchor #${anchor}`;
  return undefined;
}
