import { labAllows, Permission, roleAllows } from './permissions';

describe('role → permission catalogue', () => {
  const matrix: Array<[Permission, boolean, boolean, boolean]> = [
    // permission            viewer member admin
    [Permission.CaseRead, true, true, true],
    [Permission.CaseCreate, false, true, true],
    [Permission.CaseUpdate, false, true, true],
    [Permission.CaseStatus, false, true, true],
    [Permission.CaseDelete, false, false, true],
    [Permission.CaseReopen, false, false, true],
    [Permission.AuditRead, false, false, true],
    [Permission.AuditExport, false, false, true],
    [Permission.LabSettings, false, false, true],
    [Permission.DoctorRead, true, true, true],
    [Permission.NoteRead, true, true, true],
    [Permission.NoteWrite, false, true, true],
    [Permission.NoteModerate, false, false, true],
    [Permission.ReportRead, true, true, true],
  ];

  it.each(matrix)('%s: viewer %s, member %s, admin %s', (p, viewer, member, admin) => {
    expect([roleAllows('viewer', p), roleAllows('member', p), roleAllows('admin', p)]).toEqual([
      viewer,
      member,
      admin,
    ]);
  });

  it('a lab may withdraw report:read from its viewers, and from no one else', () => {
    const p = Permission.ReportRead;
    expect([labAllows('viewer', p, true), labAllows('viewer', p, false)]).toEqual([false, true]);
    expect([labAllows('member', p, true), labAllows('admin', p, true)]).toEqual([true, true]);
    expect(labAllows('viewer', Permission.CaseRead, true)).toBe(true);
    expect(labAllows(undefined, p, false)).toBe(false);
  });

  it('without a lab role only the authenticated-user permissions remain', () => {
    expect(roleAllows(undefined, Permission.DoctorRead)).toBe(true);
    expect(roleAllows(undefined, Permission.CaseRead)).toBe(false);
  });
});
