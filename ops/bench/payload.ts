/**
 * Payload checks (issue 18): a sample of the responses of the real load is
 * compared with what the seed generated, so that a run that measures the
 * wrong thing (ciphertext passed through, a field dropped, the wrong rows)
 * fails instead of reporting a figure.
 *
 * LHCMS: every PHI field of every case in a sampled answer is plaintext and
 * equal to the seed's value (recomputed from seed-data.ts: row `i` of the lab
 * is the i-th oldest seeded case) or to the body the create sent; lists
 * carry the expected case ids. The raw baseline returns ciphertext by design
 * (raw SQL, no decryption): its sampled answers must carry the right case
 * ids (and count). Pure: unit-tested in payload.spec.ts.
 */
import { isDeepStrictEqual } from 'node:util';
import { wireName } from '../../apps/api/src/case-model/case.columns';
import { PHI_COLUMNS } from '../../apps/api/src/encryption/phi-cipher';
import { seedRow } from './seed-data';
import type { RequestSpec } from './scenarios';

/** The PHI fields of a case on the wire (patient_info, case_name, the prescription objects, ...). */
export const PHI_WIRE_FIELDS: readonly string[] = PHI_COLUMNS.map((c) => wireName(c.column));

/** Wire field → expected plaintext value (null when the case has none). */
export type ExpectedPhi = Record<string, unknown>;

/** The list kinds whose exact page the fixtures know. */
export type ListKind =
  'list_page1' | 'list_offset_deep' | 'list_cursor_deep' | 'queue_due' | 'queue_due_cursor';

export const LIST_KINDS: readonly ListKind[] = [
  'list_page1',
  'list_offset_deep',
  'list_cursor_deep',
  'queue_due',
  'queue_due_cursor',
];

/** A stored value LHCMS did not decrypt (libs/crypto's field cipher prefix). */
export function isCiphertext(v: unknown): boolean {
  if (typeof v === 'string') return v.startsWith('enc:');
  if (Array.isArray(v)) return v.some(isCiphertext);
  if (v && typeof v === 'object') return Object.values(v).some(isCiphertext);
  return false;
}

/** What the seed wrote into the PHI fields of seed row `i` of `n` (the PHI does not depend on `now`). */
export function seedPhi(labId: string, i: number, n: number): ExpectedPhi {
  const row = seedRow(labId, i, n, new Date(0)) as unknown as Record<string, unknown>;
  const out: ExpectedPhi = {};
  for (const c of PHI_COLUMNS) out[wireName(c.column)] = row[c.column] ?? null;
  return out;
}

/** What a create body sent into the PHI fields (its keys are wire names). */
export function bodyPhi(body: Record<string, unknown>): ExpectedPhi {
  const out: ExpectedPhi = {};
  for (const f of PHI_WIRE_FIELDS) out[f] = body[f] ?? null;
  return out;
}

/** Problems of one case in an LHCMS answer (empty: its PHI is the expected plaintext). */
export function checkCasePhi(c: Record<string, unknown>, expected: ExpectedPhi): string[] {
  const problems: string[] = [];
  for (const f of PHI_WIRE_FIELDS) {
    if (!(f in c)) problems.push(`${f} missing`);
    else if (isCiphertext(c[f])) problems.push(`${f} is ciphertext`);
    else if (!isDeepStrictEqual(c[f], expected[f] ?? null))
      problems.push(`${f} differs from the seed`);
  }
  return problems;
}

/** For a case nobody knows the plaintext of (created by another connection): present and not ciphertext. */
export function checkCasePlain(c: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const f of PHI_WIRE_FIELDS) {
    if (!(f in c)) problems.push(`${f} missing`);
    else if (isCiphertext(c[f])) problems.push(`${f} is ciphertext`);
  }
  return problems;
}

/** The seed's cases, the cases created during the run, and the exact pages of the list scenarios. */
export class Expectations {
  private readonly seedIndex = new Map<number, number>();
  private readonly created = new Map<number, ExpectedPhi>();

  /**
   * @param seedIds the lab's seeded case ids, oldest first (index = the seed row)
   * @param seedSize the lab's size when it was seeded (seedRow's `n`)
   * @param lists the case ids each list kind's page must carry, in order
   * @param seedKnown false when the rows came from `--seed api` (random bodies): only plaintext is checked
   */
  constructor(
    readonly labId: string,
    seedIds: readonly number[],
    private readonly seedSize: number,
    readonly lists: Partial<Record<ListKind, readonly number[]>>,
    private readonly seedKnown = true,
  ) {
    seedIds.forEach((id, i) => this.seedIndex.set(id, i));
  }

  /** The expected PHI of a case, or undefined when it is not known (then only plaintext is checked). */
  phiOf(id: number): ExpectedPhi | undefined {
    const made = this.created.get(id);
    if (made) return made;
    const i = this.seedIndex.get(id);
    if (i === undefined || !this.seedKnown) return undefined;
    return seedPhi(this.labId, i, this.seedSize);
  }

  isSeeded(id: number): boolean {
    return this.seedIndex.has(id);
  }

  remember(id: number, phi: ExpectedPhi): void {
    this.created.set(id, phi);
  }
}

export type Arm = 'lhcms' | 'baseline';

type Body = Record<string, unknown>;

function parse(text: string): Body | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : undefined;
  } catch {
    return undefined;
  }
}

const isListKind = (k: string): k is ListKind => (LIST_KINDS as readonly string[]).includes(k);

/**
 * Checks one 2xx answer. `scenario` is the point's scenario: a list inside
 * `mixed` may start with cases created meanwhile, so only there are its ids
 * not compared with the fixtures' page. Returns the problems (empty: ok) or
 * undefined when the request kind has no payload to check (the report).
 */
export function checkResponse(
  arm: Arm,
  scenario: string,
  spec: RequestSpec,
  text: string,
  ex: Expectations,
): string[] | undefined {
  if (spec.kind === 'report_on_time') return undefined;
  const body = parse(text);
  const where = `${arm} ${spec.kind}`;
  if (!body) return [`${where}: the answer is not a JSON object`];
  if (spec.kind === 'get' || spec.kind === 'status') {
    if (body.id !== spec.id) return [`${where}: answered case ${String(body.id)} for ${spec.id}`];
    if (arm === 'baseline') return [];
    const exp = ex.phiOf(spec.id!);
    const p = exp ? checkCasePhi(body, exp) : checkCasePlain(body);
    return p.map((x) => `${where} case ${spec.id}: ${x}`);
  }
  if (spec.kind === 'create') {
    if (typeof body.id !== 'number') return [`${where}: no case id in the answer`];
    const exp = bodyPhi(parse(spec.body ?? '') ?? {});
    const p = checkCasePhi(body, exp).map((x) => `${where} case ${String(body.id)}: ${x}`);
    if (p.length === 0) ex.remember(body.id, exp);
    return p;
  }
  if (!isListKind(spec.kind)) return [`${where}: no check for this kind`];
  const cases = body.cases;
  if (!Array.isArray(cases)) return [`${where}: no cases array in the answer`];
  const ids = (cases as Body[]).map((c) => c.id);
  const page = ex.lists[spec.kind];
  const problems: string[] = [];
  if (page && scenario !== 'mixed' && !isDeepStrictEqual(ids, [...page]))
    problems.push(
      `${where}: ${ids.length} cases, not the expected page of ${page.length} (first ${String(ids[0])}, expected ${String(page[0])})`,
    );
  if (arm === 'baseline') return problems;
  for (const c of cases as Body[]) {
    const exp = typeof c.id === 'number' ? ex.phiOf(c.id) : undefined;
    const p = exp ? checkCasePhi(c, exp) : checkCasePlain(c);
    problems.push(...p.map((x) => `${where} case ${String(c.id)}: ${x}`));
  }
  return problems;
}

/** The payload check of one point or slice: which answers it looked at, what it found. */
export interface CheckStats {
  /** 2xx answers compared with the expected payload. */
  checked: number;
  /** Answers whose payload was wrong. */
  failed: number;
  /** The first few problems (field names and case ids, never values). */
  problems: string[];
}

/**
 * Samples the answers of a load: the first 2xx answer, then every `every`th
 * (counted over all the load's connections), at most `max` per point.
 */
export class PayloadSampler {
  private seen = 0;
  readonly stats: CheckStats = { checked: 0, failed: 0, problems: [] };

  constructor(
    readonly arm: Arm,
    readonly scenario: string,
    private readonly ex: Expectations,
    private readonly every: number,
    private readonly max = Infinity,
  ) {}

  /** Whether this 2xx answer is one of the sample (call once per 2xx answer). */
  take(): boolean {
    const n = this.seen++;
    return n % this.every === 0 && this.stats.checked < this.max;
  }

  observe(status: number, spec: RequestSpec | undefined, text: string): void {
    if (status < 200 || status >= 300 || !spec || !this.take()) return;
    const p = checkResponse(this.arm, this.scenario, spec, text, this.ex);
    if (p === undefined) return;
    this.stats.checked++;
    if (p.length) {
      this.stats.failed++;
      if (this.stats.problems.length < 5) this.stats.problems.push(...p.slice(0, 3));
    }
  }
}

/** Adds the stats of slices (the interleaved comparison). */
export function mergeChecks(xs: ReadonlyArray<CheckStats | undefined>): CheckStats {
  const out: CheckStats = { checked: 0, failed: 0, problems: [] };
  for (const x of xs) {
    if (!x) continue;
    out.checked += x.checked;
    out.failed += x.failed;
    for (const p of x.problems) if (out.problems.length < 5) out.problems.push(p);
  }
  return out;
}
