import {
  membershipsFromLabs,
  membershipsFromMe,
  mergeMemberships,
  principalFrom,
  userOf,
} from './principal-mapper';

describe('principal mapping from the two UMS shapes', () => {
  const shapeA = {
    id: 7,
    username: 'ana',
    email: 'a@x',
    labs: [
      { lab_id: 3, lab_name: 'Old', role: 'admin', membership_status: 'inactive' },
      { lab_id: '12', lab_name: 'Main', role: 'viewer', membership_status: 'active' },
      { lab_id: 5, role: 'superuser', membership_status: 'active' },
    ],
  };

  it('shape A: top-level user with labs[]; lab ids normalised to strings; unknown roles become member', () => {
    expect(membershipsFromMe(shapeA)).toEqual([
      { labId: '3', labName: 'Old', labCode: undefined, role: 'admin', active: false },
      { labId: '12', labName: 'Main', labCode: undefined, role: 'viewer', active: true },
      { labId: '5', labName: undefined, labCode: undefined, role: 'member', active: true },
    ]);
  });

  it('shape A+B (ums-dev): the top level wins, the user key is ignored', () => {
    expect(membershipsFromMe({ ...shapeA, user: { id: 7 } })).toHaveLength(3);
  });

  it('shape B: {"user": {...}} without labs yields undefined (ask /api/labs)', () => {
    const me = { user: { id: 7, username: 'ana', is_admin: false } };
    expect(userOf(me)).toEqual(me.user);
    expect(membershipsFromMe(me)).toBeUndefined();
    expect(
      membershipsFromLabs({ labs: [{ id: 1, name: 'L', code: 'C', is_active: true }] }),
    ).toEqual([{ labId: '1', labName: 'L', labCode: 'C', role: 'member', active: true }]);
    // No role makes anyone an admin implicitly (issue 19): a listed lab is a member's.
    expect(membershipsFromLabs({ labs: [{ id: 1 }] })[0].role).toBe('member');
  });

  it('the legacy direct lab_id', () => {
    expect(membershipsFromMe({ id: 1, lab_id: 9 })).toEqual([
      { labId: '9', role: 'member', active: true },
    ]);
  });

  it('not a user at all', () => {
    expect(userOf('nope')).toBeUndefined();
    expect(userOf({ message: 'hi' })).toBeUndefined();
  });

  it('builds the principal; memberships merge without duplicates, first wins', () => {
    const p = principalFrom({ user: { id: 7, username: 'ana', is_admin: true } }, [], {
      sub: '7',
      exp: 99,
    });
    expect(p).toMatchObject({
      userId: '7',
      username: 'ana',
      isSystemAdmin: true,
      platformRoles: [],
      expiresAt: 99,
    });
    const roles = principalFrom(
      { user: { id: 8, roles: ['compliance', 7, '', 'x'.repeat(65), 'platform-support'] } },
      [],
      { sub: '8', exp: 99 },
    );
    expect(roles.platformRoles).toEqual(['compliance', 'platform-support']);
    const a = [{ labId: '1', role: 'viewer' as const, active: true }];
    const b = [
      { labId: '1', role: 'admin' as const, active: true },
      { labId: '2', role: 'admin' as const, active: true },
    ];
    expect(mergeMemberships(a, b).map((m) => `${m.labId}:${m.role}`)).toEqual([
      '1:viewer',
      '2:admin',
    ]);
  });
});
