import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  addCaseEventTypes,
  disableTenantRls,
  enableTenantRls,
  grantToApp,
  removeCaseEventTypes,
} from '../libs/database/src/migration-helpers';

const ATTACHMENT_EVENTS = ['attachment_added', 'attachment_deleted'];

/**
 * Case attachments (issue 20): one row per stored file, the bytes themselves
 * encrypted in the object store under a random key. Under forced row-level
 * security like every tenant table. The application role may insert and
 * soft-delete (UPDATE), never DELETE: rows go only with the retention purge
 * (owner role). The case timeline gains two event types.
 */
export class CreateAttachments1765500000000 implements MigrationInterface {
  name = 'CreateAttachments1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE attachments (
        id            uuid         NOT NULL,
        lab_id        varchar(50)  NOT NULL,
        case_id       integer      NOT NULL,
        kind          varchar(20)  NOT NULL,
        filename      text         NOT NULL,
        content_type  varchar(100) NOT NULL,
        size_bytes    bigint       NOT NULL,
        sha256        char(64)     NOT NULL,
        object_key    varchar(200) NOT NULL,
        stored_bytes  bigint       NOT NULL,
        key_version   integer      NOT NULL,
        uploaded_by   varchar(50)  NOT NULL,
        created_at    timestamptz  NOT NULL DEFAULT now(),
        deleted_at    timestamptz,
        deleted_by    varchar(50),
        delete_reason text,
        request_id    varchar(128),
        CONSTRAINT pk_attachments PRIMARY KEY (id),
        CONSTRAINT uq_attachments_object_key UNIQUE (object_key),
        CONSTRAINT fk_attachments_case FOREIGN KEY (case_id) REFERENCES cases (id),
        CONSTRAINT ck_attachments_kind CHECK (kind IN ('scan', 'photo', 'document', 'design', 'other')),
        CONSTRAINT ck_attachments_size CHECK (size_bytes > 0 AND stored_bytes > 0),
        CONSTRAINT ck_attachments_sha256 CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        CONSTRAINT ck_attachments_deleted CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
      )`);
    await q.query(
      `CREATE INDEX ix_attachments_lab_case ON attachments (lab_id, case_id, created_at) WHERE deleted_at IS NULL`,
    );
    await q.query(`CREATE INDEX ix_attachments_case ON attachments (case_id)`);
    await enableTenantRls(q, 'attachments');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE attachments');

    await addCaseEventTypes(q, ATTACHMENT_EVENTS);
  }

  async down(q: QueryRunner): Promise<void> {
    await removeCaseEventTypes(q, ATTACHMENT_EVENTS);
    await disableTenantRls(q, 'attachments');
    await q.query(`DROP TABLE attachments`);
  }
}
