/**
 * Realistic, deterministic case data for the benchmark: the prescription
 * objects of the v1 contract (fixed prosthetic, denture, night guard,
 * implant), patient_info, due dates, statuses that depend on the case's age.
 * Pure (a seeded PRNG), so the same sizes give the same database.
 */

import type { CaseColumn, CaseRecord } from '../../apps/api/src/case-model/case.columns';
import type { CaseStatus, Priority } from '../../apps/api/src/case-model/case.schemas';

export type Rng = () => number;

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function weighted<T extends string>(r: Rng, table: ReadonlyArray<readonly [T, number]>): T {
  const total = table.reduce((a, [, w]) => a + w, 0);
  let x = r() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return table[table.length - 1][0];
}

type Json = Record<string, unknown>;

const SHADE_SYSTEMS = ['vita_classical', 'vita_3d_master', 'ivoclar_chromascop'] as const;
const VITA = ['A1', 'A2', 'A3', 'A3.5', 'B1', 'B2', 'C1', 'D2'] as const;

function shade(r: Rng): Json {
  const s: Json = { shade_system: pick(r, SHADE_SYSTEMS), shade_value: pick(r, VITA) };
  if (r() < 0.4) s.translucency = pick(r, ['high_translucent', 'low_translucent', 'opaque']);
  if (r() < 0.2) s.notes = 'Incisal translucency as adjacent teeth; slight mamelon effect';
  return s;
}

function teeth(r: Rng, n: number): number[] {
  const start = 1 + Math.floor(r() * (33 - n));
  return Array.from({ length: n }, (_, i) => start + i);
}

function fixedProsthetic(r: Rng, type?: string): Json {
  const t = type ?? pick(r, ['crown', 'crown', 'crown', 'bridge', 'inlay', 'onlay', 'veneer']);
  return {
    type: t,
    material: pick(r, [
      'zirconia',
      'emax',
      'porcelain_fused_metal',
      'all_ceramic',
      'pfm_noble',
      'gold',
    ]),
    tooth_numbers: teeth(r, t === 'bridge' ? 3 : t === 'veneer' ? 1 + Math.floor(r() * 6) : 1),
    preparation_type: pick(r, ['full_coverage', 'partial_coverage', 'minimal_prep']),
    margin_type: pick(r, ['shoulder', 'chamfer', 'knife_edge']),
    shade: shade(r),
    occlusion_type: pick(r, ['centric_occlusion', 'working_side', 'balancing_side']),
  };
}

function denture(r: Rng): Json {
  return {
    type: pick(r, [
      'complete_upper',
      'complete_lower',
      'complete_full',
      'partial_upper',
      'partial_lower',
      'immediate',
    ]),
    material: pick(r, ['acrylic_resin', 'flexible_nylon', 'metal_framework']),
    tooth_material: pick(r, ['acrylic', 'porcelain', 'composite']),
    shade: shade(r),
    clasp_design: pick(r, ['cast_clasps', 'wrought_wire', 'precision_attachments', 'none']),
    retention_type: pick(r, ['conventional_suction', 'implant_retained', 'adhesive']),
  };
}

function nightGuard(r: Rng): Json {
  const g: Json = {
    type: pick(r, ['soft_guard', 'hard_guard', 'dual_laminate', 'nti_tss']),
    material: pick(r, ['soft_vinyl', 'hard_acrylic', 'dual_layer', 'thermoplastic']),
    thickness: pick(r, ['1mm', '2mm', '3mm']),
    arch: pick(r, ['upper', 'lower', 'both']),
    design: pick(r, ['full_coverage', 'anterior_only', 'canine_guidance']),
  };
  if (r() < 0.3)
    g.special_features = ['bite_ramps', 'tongue_space'].slice(0, 1 + Math.floor(r() * 2));
  return g;
}

function implant(r: Rng): Json {
  return {
    implant_system: pick(r, [
      'nobel_biocare',
      'straumann',
      'zimmer_biomet',
      'dentsply_sirona',
      'megagen',
    ]),
    implant_diameter: pick(r, ['3.5mm', '4.0mm', '4.1mm', '4.3mm', '5.0mm']),
    implant_length: pick(r, ['8mm', '10mm', '11.5mm', '13mm']),
    platform_type: pick(r, ['internal_hex', 'external_hex', 'morse_taper']),
    abutment_type: pick(r, ['stock_abutment', 'custom_abutment', 'angled_abutment']),
    restoration_type: pick(r, ['single_crown', 'bridge_abutment', 'overdenture_attachment']),
    tooth_number: 1 + Math.floor(r() * 32),
    tissue_level: pick(r, ['tissue_level', 'bone_level']),
  };
}

const HISTORY = [
  'none',
  'Type 2 diabetes, controlled',
  'Bruxism; previous night guard fractured',
  'Penicillin allergy',
  'Hypertension; on anticoagulants',
  'Periodontal treatment 2024',
  'Latex allergy',
] as const;

const INSTRUCTIONS = [
  'Match adjacent tooth; photos attached in the portal',
  'Light occlusal contact please',
  'Patient is sensitive to metal; no base alloys',
  'Return with models',
  'Call the office before finishing',
] as const;

export const CASE_TYPE_WEIGHTS = [
  ['fixed_prosthetic', 45],
  ['denture', 20],
  ['night_guard', 15],
  ['implant', 15],
  ['orthodontic', 3],
  ['other', 2],
] as const;

/** The body of POST /api/v1/cases (valid against the CaseInput schema). */
export function caseInput(r: Rng, now: Date = new Date()): Json {
  const caseType = weighted(r, CASE_TYPE_WEIGHTS);
  const body: Json = {
    doctor_id: `doc-${1 + Math.floor(r() * 200)}`,
    product_id: `prod-${1 + Math.floor(r() * 40)}`,
    case_type: caseType,
    case_name: `${caseType.replace('_', ' ')} case ${Math.floor(r() * 1e6)}`,
    priority: weighted(r, [
      ['medium', 60],
      ['high', 25],
      ['low', 15],
    ]),
    patient_info: {
      patient_id: `PT-${String(Math.floor(r() * 1e7)).padStart(7, '0')}`,
      age: 18 + Math.floor(r() * 70),
      gender: pick(r, ['male', 'female', 'other']),
      medical_history: pick(r, HISTORY),
    },
    due_date: isoDate(new Date(now.getTime() + (5 + Math.floor(r() * 16)) * 86_400_000)),
    rush_order: r() < 0.1,
  };
  if (r() < 0.5) body.description = 'Digital impression uploaded; margins marked on the scan.';
  if (r() < 0.3) body.special_instructions = pick(r, INSTRUCTIONS);
  if (r() < 0.6) body.assigned_to = `tech-${1 + Math.floor(r() * 12)}`;
  switch (caseType) {
    case 'fixed_prosthetic':
      body.fixed_prosthetic = fixedProsthetic(r);
      break;
    case 'denture':
      body.denture = denture(r);
      break;
    case 'night_guard':
      body.night_guard = nightGuard(r);
      break;
    case 'implant':
      body.implant = implant(r);
      if (r() < 0.7) body.fixed_prosthetic = fixedProsthetic(r, 'implant_crown');
      break;
    case 'orthodontic':
    case 'other':
      break;
  }
  return body;
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Columns the SQL seed leaves to the table (identity, defaults, NULL): the
 * seed writes every other column of the catalogue (case.columns.ts), so a
 * column added there must be filled here or listed here — seedRow() does not
 * compile otherwise.
 */
export const SEED_LEAVES = [
  'id',
  'deleted_at',
  'case_number',
  'stage',
  'held_from_status',
  'version',
  // The seed writes no remakes (NULL: not a remake).
  'remake_of',
  'remake_reason',
  'remake_responsibility',
  'remake_chargeable',
] as const satisfies readonly CaseColumn[];

/** One `cases` row as the SQL seed inserts it, in plaintext (seed-db encrypts it and adds the blind index). */
export type SeedRow = Omit<CaseRecord, (typeof SEED_LEAVES)[number] | 'patient_id_bidx'>;

/** Marks the rows the seed wrote (rows created during the run carry a user id). */
export const SEED_CREATED_BY = 'bench-seed';

const DAY = 86_400_000;

/** Status by age: old cases are mostly done, recent ones open. */
function statusFor(r: Rng, ageDays: number): CaseStatus {
  if (ageDays < 14)
    return weighted(r, [
      ['pending', 45],
      ['in_progress', 40],
      ['on_hold', 10],
      ['cancelled', 5],
    ]);
  if (ageDays < 60)
    return weighted(r, [
      ['pending', 10],
      ['in_progress', 35],
      ['completed', 45],
      ['on_hold', 5],
      ['cancelled', 5],
    ]);
  return weighted(r, [
    ['completed', 85],
    ['cancelled', 8],
    ['pending', 4],
    ['on_hold', 3],
  ]);
}

/**
 * Row `i` of `n` for a lab, created over the last `spanDays` (row 0 oldest),
 * each a millisecond-and-some apart so that the newest-first order is strict.
 */
export function seedRow(labId: string, i: number, n: number, now: Date, spanDays = 730): SeedRow {
  const r = rng(Number(labId) * 1_000_003 + i);
  const body = caseInput(r, now);
  const step = (spanDays * DAY) / Math.max(n, 1);
  const createdMs =
    now.getTime() - spanDays * DAY + i * step + Math.floor(r() * Math.min(step, 1000));
  const created = new Date(createdMs);
  // Microseconds too, as now() writes them (the cursor carries them).
  const micros = String(Math.floor(r() * 1000)).padStart(3, '0');
  const createdIso = created.toISOString().replace('Z', `${micros}Z`);
  const ageDays = (now.getTime() - createdMs) / DAY;
  const updated = new Date(createdMs + Math.floor(r() * Math.min(ageDays, 10) * DAY));
  const due = new Date(createdMs + (5 + Math.floor(r() * 16)) * DAY);
  const s = (k: string) => (body[k] === undefined ? null : (body[k] as string));
  const j = (k: string) => (body[k] === undefined ? null : (body[k] as Json));
  return {
    lab_id: labId,
    doctor_id: body.doctor_id as string,
    product_id: body.product_id as string,
    status: statusFor(r, ageDays),
    case_name: s('case_name'),
    description: s('description'),
    priority: body.priority as Priority,
    created_by: SEED_CREATED_BY,
    assigned_to: s('assigned_to'),
    case_type: body.case_type as SeedRow['case_type'],
    due_date: isoDate(due),
    // The schedule's figure, roughly: one day of transit (the bench does not need the lab's calendar).
    ship_by: isoDate(new Date(due.getTime() - DAY)),
    due_date_feasible: true,
    rush_order: body.rush_order as boolean,
    special_instructions: s('special_instructions'),
    patient_info: j('patient_info'),
    fixed_prosthetic_details: j('fixed_prosthetic'),
    denture_details: j('denture'),
    night_guard_details: j('night_guard'),
    implant_details: j('implant'),
    created_at: createdIso,
    updated_at: updated.getTime() > createdMs ? updated.toISOString() : createdIso,
  };
}
