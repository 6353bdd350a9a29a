import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { rows, TenantDb } from '@lhcms/database';
import type { GrantAccess } from './emergency-access.schemas';

/** A stored grant (the reason still encrypted). */
export interface GrantRow {
  id: string;
  lab_id: string;
  case_id: string | null;
  requester_id: string;
  requester_name: string | null;
  reason: string;
  access: GrantAccess;
  duration_minutes: number;
  status: 'pending' | 'active' | 'revoked';
  created_at: Date;
  approved_at: Date | null;
  approved_by: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

/** One audit row of an access made under a grant. */
export interface GrantAccessRow {
  occurred_at: string;
  actor_user_id: string | null;
  action: string;
  interaction: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  http_status: number | null;
  http_method: string | null;
  route: string | null;
}

const COLUMNS = `id::text, lab_id, case_id::text, requester_id, requester_name, reason, access,
  duration_minutes, status, created_at, approved_at, approved_by, expires_at, revoked_at, revoked_by`;
const ISO = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
export const ACCESSES_MAX = 500;

/**
 * The SQL of emergency grants. A lab's grants are read and changed inside
 * its own transaction (row-level security); a requester's grants across labs
 * come from `emergency_grants_of`, the deployment's active count from
 * `emergency_grants_active` (SECURITY DEFINER functions, migration
 * EmergencyAccess).
 */
@Injectable()
export class EmergencyAccessRepository {
  constructor(
    private readonly db: TenantDb,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  withLab<T>(labId: string, fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.withLab(labId, fn);
  }

  async insert(
    em: EntityManager,
    g: Omit<GrantRow, 'id' | 'revoked_at' | 'revoked_by'>,
  ): Promise<GrantRow> {
    const r = await rows<GrantRow>(
      em,
      `INSERT INTO emergency_grants (lab_id, case_id, requester_id, requester_name, reason, access,
         duration_minutes, status, created_at, approved_at, approved_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       RETURNING ${COLUMNS}`,
      [
        g.lab_id,
        g.case_id,
        g.requester_id,
        g.requester_name,
        g.reason,
        g.access,
        g.duration_minutes,
        g.status,
        g.created_at,
        g.approved_at,
        g.approved_by,
        g.expires_at,
      ],
    );
    return r[0];
  }

  /** The grant, locked for an update in this transaction. */
  async lock(em: EntityManager, labId: string, id: string): Promise<GrantRow | undefined> {
    const r = await rows<GrantRow>(
      em,
      `SELECT ${COLUMNS} FROM emergency_grants WHERE lab_id = $1 AND id = $2 FOR UPDATE`,
      [labId, id],
    );
    return r[0];
  }

  async update(
    em: EntityManager,
    labId: string,
    id: string,
    set: Partial<
      Pick<
        GrantRow,
        'status' | 'approved_at' | 'approved_by' | 'expires_at' | 'revoked_at' | 'revoked_by'
      >
    >,
  ): Promise<GrantRow> {
    const keys = Object.keys(set) as Array<keyof typeof set>;
    const r = await rows<GrantRow>(
      em,
      `UPDATE emergency_grants SET ${keys.map((k, i) => `${k} = $${i + 3}`).join(', ')}
       WHERE lab_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [labId, id, ...keys.map((k) => set[k])],
    );
    return r[0];
  }

  /** One grant of a lab (the lab's transaction, read-only). */
  async find(labId: string, id: string): Promise<GrantRow | undefined> {
    const r = await this.db.read(labId, (db) =>
      db.rows<GrantRow>(`SELECT ${COLUMNS} FROM emergency_grants WHERE lab_id = $1 AND id = $2`, [
        labId,
        id,
      ]),
    );
    return r[0];
  }

  /** A lab's grants, newest first. */
  listLab(labId: string, limit = 500): Promise<GrantRow[]> {
    return this.db.read(labId, (db) =>
      db.rows<GrantRow>(
        `SELECT ${COLUMNS} FROM emergency_grants WHERE lab_id = $1
         ORDER BY created_at DESC, id LIMIT $2`,
        [labId, limit],
      ),
    );
  }

  /** A requester's own grants on every lab, newest first. */
  listRequester(requesterId: string): Promise<GrantRow[]> {
    return this.ds.query<GrantRow[]>(`SELECT ${COLUMNS} FROM emergency_grants_of($1)`, [
      requesterId,
    ]);
  }

  /** A grant by id whatever its lab, for its requester only (NULL-safe: the function filters by requester). */
  async findOwn(requesterId: string, id: string): Promise<GrantRow | undefined> {
    const r = await this.ds.query<GrantRow[]>(
      `SELECT ${COLUMNS} FROM emergency_grants_of($1) WHERE id = $2`,
      [requesterId, id],
    );
    return r[0];
  }

  async activeCount(): Promise<number> {
    const r = await this.ds.query<Array<{ n: number }>>(`SELECT emergency_grants_active() AS n`);
    return r[0]?.n ?? 0;
  }

  /** Whether the lab has this case (deleted ones too), read in the lab's own transaction. */
  async caseInLab(labId: string, caseId: number): Promise<boolean> {
    const r = await this.db.read(labId, (db) =>
      db.rows(`SELECT 1 FROM cases WHERE lab_id = $1 AND id = $2`, [labId, caseId]),
    );
    return r.length > 0;
  }

  async labHasData(labId: string): Promise<boolean> {
    const r = await this.ds.query<Array<{ known: boolean }>>(`SELECT lab_has_data($1) AS known`, [
      labId,
    ]);
    return r[0]?.known === true;
  }

  /** The audit rows of the lab made under the grant, newest first. */
  accesses(labId: string, grantId: string): Promise<GrantAccessRow[]> {
    return this.db.read(labId, (db) =>
      db.rows<GrantAccessRow>(
        `SELECT ${ISO('occurred_at')} AS occurred_at, actor_user_id, action, interaction, resource_type,
                resource_id, outcome, http_status, http_method, route
         FROM audit_events
         WHERE lab_id = $1 AND query ? 'emergency_grant_id' AND query->>'emergency_grant_id' = $2
         ORDER BY occurred_at DESC, seq DESC LIMIT ${ACCESSES_MAX}`,
        [labId, grantId],
      ),
    );
  }
}
