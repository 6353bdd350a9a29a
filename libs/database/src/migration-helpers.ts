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
