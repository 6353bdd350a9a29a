import { Injectable } from '@nestjs/common';

import { type Db, rows } from '@lhcms/database';
import { DEFAULT_STAGES } from './case-lifecycle';

export interface LabSettings {
  stages: string[];
  /** False while the lab uses the defaults. */
  customised: boolean;
  updated_at: string | null;
}

/** Per-lab settings (today: the ordered production stages). */
@Injectable()
export class LabSettingsRepository {
  async get(em: Db, labId: string): Promise<LabSettings> {
    const found = await rows<{ stages: string[]; updated_at: string }>(
      em,
      `SELECT stages, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
       FROM lab_settings WHERE lab_id = $1`,
      [labId],
    );
    return found[0]
      ? { stages: found[0].stages, customised: true, updated_at: found[0].updated_at }
      : { stages: [...DEFAULT_STAGES], customised: false, updated_at: null };
  }

  async save(em: Db, labId: string, stages: string[], userId: string): Promise<void> {
    await rows(
      em,
      `INSERT INTO lab_settings (lab_id, stages, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (lab_id) DO UPDATE SET stages = EXCLUDED.stages, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [labId, JSON.stringify(stages), userId],
    );
  }
}
