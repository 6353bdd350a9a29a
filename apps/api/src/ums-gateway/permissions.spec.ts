import { Permission, roleAllows } from './permissions';

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
  ];

  it.each(matrix)('%s: viewer %s, member %s, admin %s', (p, viewer, member, admin) => {
    expect([roleAllows('viewer', p), roleAllows('member', p), roleAllows('admin', p)]).toEqual([
      viewer,
      member,
      admin,
    ]);
  });

  it('without a lab role only the authenticated-user permissions remain', () => {
    expect(roleAllows(undefined, Permission.DoctorRead)).toBe(true);
    expect(roleAllows(undefined, Permission.CaseRead)).toBe(false);
  });
});
