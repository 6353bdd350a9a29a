import { withinCase } from './lab-access';

describe('withinCase (case-scoped emergency grants)', () => {
  it("allows the case's own routes only", () => {
    expect(withinCase('/api/v1/cases/:id', { id: '42' }, '42')).toBe(true);
    expect(withinCase('/api/v1/cases/:id/notes', { id: '42' }, '42')).toBe(true);
    expect(withinCase('/api/v1/cases/:id/notes/:note_id', { id: '042' }, '42')).toBe(true);
    expect(withinCase('/api/v1/cases/:id', { id: '43' }, '42')).toBe(false);
    expect(withinCase('/api/v1/cases/', {}, '42')).toBe(false);
    expect(withinCase('/api/v1/cases/by-number/:n', { n: '42' }, '42')).toBe(false);
    expect(withinCase('/api/v1/reports/wip-by-stage', {}, '42')).toBe(false);
    expect(withinCase('/api/v1/cases/:id', { id: 'x' }, '42')).toBe(false);
    expect(withinCase(undefined, { id: '42' }, '42')).toBe(false);
  });
});
