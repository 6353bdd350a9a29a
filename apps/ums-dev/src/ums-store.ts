import * as fs from 'node:fs';
import * as path from 'node:path';

export type LabRole = 'admin' | 'member' | 'viewer';

export interface SeedLab {
  id: number;
  name: string;
  code: string;
  description?: string;
  is_active?: boolean;
}

export interface SeedMembership {
  lab_id: number;
  role: LabRole;
  is_active?: boolean;
}

export interface SeedUser {
  id: number;
  username: string;
  email: string;
  first_name?: string;
  last_name?: string;
  /** scrypt hash (`scrypt$N$r$p$salt$hash`), see passwords.ts. */
  password: string;
  is_admin?: boolean;
  is_active?: boolean;
  /**
   * Platform roles (not tied to a lab), e.g. `compliance` or a support role:
   * sent as the user's `roles` only when the seed gives some (LHCMS maps them
   * with EMERGENCY_ACCESS_ROLES and COMPLIANCE_ROLES).
   */
  roles?: string[];
  memberships?: SeedMembership[];
}

export interface Seed {
  labs: SeedLab[];
  users: SeedUser[];
}

export const DEFAULT_SEED_FILE = path.join(__dirname, 'seed', 'default-seed.json');

/** The bundled seed's logins, printed by `npm start` (the file holds only hashes). */
export const DEFAULT_SEED_LOGINS: ReadonlyArray<{
  username: string;
  password: string;
  what: string;
}> = [
  { username: 'admin', password: 'admin123', what: 'lab admin of lab 1 "Test Lab"' },
  { username: 'tech', password: 'tech123', what: 'member (technician) of lab 1' },
  { username: 'viewer', password: 'viewer123', what: 'viewer of lab 1' },
  { username: 'lab2admin', password: 'lab2admin123', what: 'lab admin of lab 2 "Second Lab"' },
  { username: 'multi', password: 'multi123', what: 'member of lab 2 and viewer of lab 1' },
  { username: 'nolab', password: 'nolab123', what: 'no lab membership' },
  {
    username: 'sysadmin',
    password: 'sysadmin123',
    what: 'UMS system admin (is_admin; no lab access without an emergency grant)',
  },
  { username: 'support', password: 'support123', what: 'platform role `platform-support`, no lab' },
  { username: 'compliance', password: 'compliance123', what: 'platform role `compliance`, no lab' },
];

export function loadSeed(file: string = DEFAULT_SEED_FILE): Seed {
  const seed = JSON.parse(fs.readFileSync(file, 'utf8')) as Seed;
  if (!Array.isArray(seed.labs) || !Array.isArray(seed.users)) {
    throw new Error(`ums-dev seed ${file} must have "labs" and "users" arrays`);
  }
  return seed;
}

const ISO = (d: Date): string => d.toISOString().replace('Z', '');

/** Users, labs and memberships in memory, as the UMS would serve them. */
export class UmsStore {
  private readonly created = ISO(new Date('2025-01-01T00:00:00Z'));

  constructor(private readonly seed: Seed) {}

  byUsername(username: string): SeedUser | undefined {
    return this.seed.users.find((u) => u.username === username);
  }

  byId(id: number): SeedUser | undefined {
    return this.seed.users.find((u) => u.id === id);
  }

  lab(id: number): SeedLab | undefined {
    return this.seed.labs.find((l) => l.id === id);
  }

  /** The LHUMS Lab object. */
  labView(l: SeedLab) {
    return {
      id: l.id,
      name: l.name,
      code: l.code,
      description: l.description ?? null,
      is_active: l.is_active ?? true,
      created_at: this.created,
      updated_at: this.created,
    };
  }

  /** Labs where the user holds an active membership (a system admin: every active lab). */
  labsOf(u: SeedUser): SeedLab[] {
    const active = this.seed.labs.filter((l) => l.is_active ?? true);
    if (u.is_admin) return active;
    const ids = new Set(
      (u.memberships ?? []).filter((m) => m.is_active ?? true).map((m) => m.lab_id),
    );
    return active.filter((l) => ids.has(l.id));
  }

  /** The user object: LHUMS keys (without its leaked secrets), plus shape A's `labs[]` when asked. */
  userView(u: SeedUser, withLabs: boolean) {
    const base = {
      id: u.id,
      username: u.username,
      email: u.email,
      first_name: u.first_name ?? null,
      last_name: u.last_name ?? null,
      is_active: u.is_active ?? true,
      is_admin: u.is_admin ?? false,
      email_verified: true,
      created_at: this.created,
      updated_at: this.created,
      ...(u.roles?.length ? { roles: [...u.roles] } : {}),
    };
    if (!withLabs) return base;
    return {
      ...base,
      labs: (u.memberships ?? []).map((m) => {
        const lab = this.lab(m.lab_id);
        const active = (m.is_active ?? true) && (lab?.is_active ?? true);
        return {
          lab_id: m.lab_id,
          lab_name: lab?.name ?? null,
          lab_code: lab?.code ?? null,
          role: m.role,
          membership_status: active ? 'active' : 'inactive',
        };
      }),
    };
  }
}
