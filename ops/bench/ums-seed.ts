import { hashPassword, type Seed } from '@lhcms/ums-dev';

export interface BenchUser {
  username: string;
  labId: string;
  role: 'admin' | 'member';
}

/**
 * The ums-dev seed of a run: `labs` labs with fixed ids (base+1, base+2, ...,
 * so that a reused database still matches) and `usersPerLab` users in each,
 * the first an admin, the others members (members may read, create and move
 * cases, which is all the scenarios do). Like libs/testing's isolatedSeed(),
 * but with several users per lab and without the test-only users; libs/testing
 * is not part of the build the bench runs from.
 */
export async function benchUmsSeed(
  labs: number,
  usersPerLab: number,
  labIdBase: number,
  password: string,
): Promise<{ seed: Seed; users: BenchUser[]; labIds: string[] }> {
  const hash = await hashPassword(password);
  const seed: Seed = { labs: [], users: [] };
  const users: BenchUser[] = [];
  const labIds: string[] = [];
  let userId = labIdBase * 100;
  for (let l = 1; l <= labs; l++) {
    const id = labIdBase + l;
    labIds.push(String(id));
    seed.labs.push({ id, name: `Bench Lab ${l}`, code: `BL${l}`, is_active: true });
    for (let u = 1; u <= usersPerLab; u++) {
      const role = u === 1 ? 'admin' : 'member';
      const username = `bench-l${l}-u${u}`;
      seed.users.push({
        id: ++userId,
        username,
        email: `${username}@bench.example`,
        first_name: 'Bench',
        last_name: `User ${l}.${u}`,
        password: hash,
        is_active: true,
        memberships: [{ lab_id: id, role, is_active: true }],
      });
      users.push({ username, labId: String(id), role });
    }
  }
  return { seed, users, labIds };
}
