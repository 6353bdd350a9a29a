import { CASE_STATUSES, type CaseStatus } from '../case-model/case.schemas';
import { allowedNext, checkStage, checkTransition, DEFAULT_STAGES } from './case-lifecycle';

/** Every legal move: [from, to, held-from status, reason required]. */
const LEGAL: Array<[CaseStatus, CaseStatus, CaseStatus | null, boolean]> = [
  ['pending', 'in_progress', null, false],
  ['pending', 'on_hold', null, true],
  ['pending', 'cancelled', null, true],
  ['in_progress', 'on_hold', null, true],
  ['in_progress', 'completed', null, false],
  ['in_progress', 'cancelled', null, true],
  ['on_hold', 'pending', 'pending', false],
  ['on_hold', 'in_progress', 'in_progress', false],
  ['on_hold', 'cancelled', 'in_progress', true],
  ['on_hold', 'cancelled', 'pending', true],
];

describe('status transitions', () => {
  it.each(LEGAL)(
    '%s → %s (held from %s) is legal; reason required: %s',
    (from, to, held, reason) => {
      expect(checkTransition(from, to, held, false)).toEqual({
        ok: true,
        reopen: false,
        reasonRequired: reason,
      });
    },
  );

  const legalSet = new Set(LEGAL.map(([f, t, h]) => `${f}>${t}>${h}`));
  const forbidden: Array<[CaseStatus, CaseStatus, CaseStatus | null]> = [];
  for (const from of CASE_STATUSES) {
    for (const to of CASE_STATUSES) {
      if (from === to) continue;
      const held: CaseStatus | null = from === 'on_hold' ? 'pending' : null;
      if (!legalSet.has(`${from}>${to}>${held}`)) forbidden.push([from, to, held]);
    }
  }

  it.each(forbidden)(
    '%s → %s (held from %s) is refused with the allowed next states',
    (from, to, held) => {
      const v = checkTransition(from, to, held, false);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.allowed).toEqual(allowedNext(from, held, false));
    },
  );

  it('resume goes back only to the held-from status', () => {
    expect(checkTransition('on_hold', 'in_progress', 'pending', false).ok).toBe(false);
    expect(allowedNext('on_hold', 'in_progress', false)).toEqual(['in_progress', 'cancelled']);
  });

  it('completed and cancelled are terminal; an admin may reopen a completed case, with a reason', () => {
    expect(allowedNext('completed', null, false)).toEqual([]);
    expect(allowedNext('cancelled', null, true)).toEqual([]);
    expect(checkTransition('completed', 'in_progress', null, true)).toEqual({
      ok: true,
      reopen: true,
      reasonRequired: true,
    });
    expect(checkTransition('completed', 'pending', null, true).ok).toBe(false);
  });
});

describe('stages', () => {
  it('move forward freely, backward with a reason, only while in progress', () => {
    expect(checkStage(DEFAULT_STAGES, 'in_progress', 'received', 'qc')).toEqual({
      ok: true,
      backward: false,
    });
    expect(checkStage(DEFAULT_STAGES, 'in_progress', 'qc', 'design')).toEqual({
      ok: true,
      backward: true,
    });
    expect(checkStage(DEFAULT_STAGES, 'in_progress', null, 'received')).toEqual({
      ok: true,
      backward: false,
    });
    expect(checkStage(DEFAULT_STAGES, 'pending', 'received', 'design')).toEqual({
      ok: false,
      why: 'not_in_progress',
    });
    expect(checkStage(DEFAULT_STAGES, 'in_progress', 'received', 'polishing')).toEqual({
      ok: false,
      why: 'unknown_stage',
    });
  });
});
