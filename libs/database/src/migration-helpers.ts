import type { QueryRunner } from 'typeorm';

/**
 * Name of the application role, passed to every migration connection as the
 * custom setting `lhcms.app_role` (see dataSourceOptions). Undefined when the
 * app and the owner are the same role: then there is nothing to grant.
 */
export async function appRole(q: QueryRunner): Promise<string | undefined> {
  const rows = (await q.query(
    `SELECT nullif(current_setting('lhcms.app_role', true), '') AS role, current_user AS me`,
  )) as Array<{ role: string | null; me: string }>;
  const role = rows[0]?.role;
  return role && role !== rows[0].me ? role : undefined;
}

/** `GRANT <privileges> ON <objects> TO <app role>` with the role name quoted; no-op without an app role. */
export async function grantToApp(
  q: QueryRunner,
  privileges: string,
  objects: string,
): Promise<void> {
  const role = await appRole(q);
  if (!role) return;
  await q.query(`GRANT ${privileges} ON ${objects} TO "${role.replace(/"/g, '""')}"`);
}

export async function revokeFromApp(
  q: QueryRunner,
  privileges: string,
  objects: string,
): Promise<void> {
  const role = await appRole(q);
  if (!role) return;
  await q.query(`REVOKE ${privileges} ON ${objects} FROM "${role.replace(/"/g, '""')}"`);
}

/** The lab of the current transaction, as the RLS policies read it (NULL when unset: no rows). */
export const CURRENT_LAB = `nullif(current_setting('app.lab_id', true), '')`;

/**
 * Row-level security for a tenant table (one with `lab_id`): ENABLE and FORCE
 * (so even the owner is subject to it), a policy for the owner role (the
 * role running this migration: cross-lab jobs such as retention) and a policy
 * for everyone else restricted to the transaction's lab. Pass `insertAnyLab`
 * for append-only tables written in multi-lab batches (audit): their INSERT
 * is not lab-restricted, reads still are.
 */
export async function enableTenantRls(
  q: QueryRunner,
  table: string,
  opts: { insertAnyLab?: boolean } = {},
): Promise<void> {
  await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
  await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
  await q.query(
    `CREATE POLICY ${table}_owner_all ON ${table} TO CURRENT_USER USING (true) WITH CHECK (true)`,
  );
  if (opts.insertAnyLab) {
    await q.query(
      `CREATE POLICY ${table}_lab_select ON ${table} FOR SELECT USING (lab_id = ${CURRENT_LAB})`,
    );
    await q.query(`CREATE POLICY ${table}_insert ON ${table} FOR INSERT WITH CHECK (true)`);
  } else {
    await q.query(
      `CREATE POLICY ${table}_lab_isolation ON ${table} USING (lab_id = ${CURRENT_LAB}) WITH CHECK (lab_id = ${CURRENT_LAB})`,
    );
  }
}

export async function disableTenantRls(q: QueryRunner, table: string): Promise<void> {
  for (const p of ['owner_all', 'lab_isolation', 'lab_select', 'insert']) {
    await q.query(`DROP POLICY IF EXISTS ${table}_${p} ON ${table}`);
  }
  await q.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
  await q.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
}

const inList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/**
 * The event types `ck_case_events_type` allows now. Modules widen the same
 * list (notes, attachments); reading it rather than restating it keeps every
 * module's types whatever order their migrations run in.
 */
async function caseEventTypes(q: QueryRunner): Promise<string[]> {
  const r = (await q.query(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conname = 'ck_case_events_type' AND conrelid = 'case_events'::regclass`,
  )) as Array<{ def: string }>;
  return [...(r[0]?.def ?? '').matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
}

async function setCaseEventTypes(q: QueryRunner, types: readonly string[]): Promise<void> {
  await q.query(`ALTER TABLE case_events DROP CONSTRAINT ck_case_events_type`);
  await q.query(
    `ALTER TABLE case_events ADD CONSTRAINT ck_case_events_type CHECK (event_type IN (${inList(types)}))`,
  );
}

/** Allows more case timeline event types (keeping the ones allowed). */
export async function addCaseEventTypes(q: QueryRunner, add: readonly string[]): Promise<void> {
  const types = await caseEventTypes(q);
  await setCaseEventTypes(q, [...types, ...add.filter((t) => !types.includes(t))]);
}

/** The reverse: deletes the events of these types, then stops allowing them. */
export async function removeCaseEventTypes(
  q: QueryRunner,
  remove: readonly string[],
): Promise<void> {
  await q.query(`DELETE FROM case_events WHERE event_type IN (${inList(remove)})`);
  await setCaseEventTypes(
    q,
    (await caseEventTypes(q)).filter((t) => !remove.includes(t)),
  );
}
