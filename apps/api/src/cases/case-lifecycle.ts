import type { CaseStatus } from '../case-model';

/**
 * The case lifecycle rules (issue: case lifecycle). The database enforces the
 * same transition table in a trigger (migrations/…-CaseLifecycle.ts), so a
 * write path that bypasses this service cannot break it either.
 *
 *   pending     → in_progress | on_hold | cancelled
 *   in_progress → on_hold | completed | cancelled
 *   on_hold     → the status it was held from (resume) | cancelled
 *   completed   → in_progress only as a reopen (lab admin, with a reason)
 *   cancelled   → nothing
 */
const NEXT: Record<CaseStatus, readonly CaseStatus[]> = {
  pending: ['in_progress', 'on_hold', 'cancelled'],
  in_progress: ['on_hold', 'completed', 'cancelled'],
  on_hold: ['cancelled'], // + the held-from status
  completed: [],
  cancelled: [],
};

/** Moves that need a reason (recorded in the case's event timeline). */
const NEEDS_REASON = new Set<CaseStatus>(['on_hold', 'cancelled']);

export type TransitionVerdict =
  { ok: true; reopen: boolean; reasonRequired: boolean } | { ok: false; allowed: CaseStatus[] };

/** The statuses a case may move to now (the reopen is listed only for those allowed to reopen). */
export function allowedNext(
  from: CaseStatus,
  heldFrom: CaseStatus | null,
  canReopen: boolean,
): CaseStatus[] {
  const next = [...NEXT[from]];
  if (from === 'on_hold' && heldFrom) next.unshift(heldFrom);
  if (from === 'completed' && canReopen) next.push('in_progress');
  return next;
}

export function checkTransition(
  from: CaseStatus,
  to: CaseStatus,
  heldFrom: CaseStatus | null,
  canReopen: boolean,
): TransitionVerdict {
  const allowed = allowedNext(from, heldFrom, canReopen);
  if (!allowed.includes(to)) return { ok: false, allowed };
  const reopen = from === 'completed';
  return { ok: true, reopen, reasonRequired: reopen || NEEDS_REASON.has(to) };
}

/** The default production stages of a lab (configurable per lab). */
export const DEFAULT_STAGES = [
  'received',
  'design',
  'manufacturing',
  'finishing',
  'qc',
  'ready_to_ship',
  'shipped',
  'delivered',
] as const;

export type StageVerdict =
  { ok: true; backward: boolean } | { ok: false; why: 'unknown_stage' | 'not_in_progress' };

/** Stages move within in_progress: forward freely, backward only with a reason (e.g. QC fail → design). */
export function checkStage(
  stages: readonly string[],
  status: CaseStatus,
  from: string | null,
  to: string,
): StageVerdict {
  if (status !== 'in_progress') return { ok: false, why: 'not_in_progress' };
  const target = stages.indexOf(to);
  if (target < 0) return { ok: false, why: 'unknown_stage' };
  const current = from === null ? -1 : stages.indexOf(from);
  return { ok: true, backward: target < current };
}
