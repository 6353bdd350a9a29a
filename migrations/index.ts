import { CreateCases1764300000000 } from './1764300000000-CreateCases';
import { CreateAuditTrail1764400000000 } from './1764400000000-CreateAuditTrail';

/**
 * Every migration, in order. Classes rather than a glob, so the app, the
 * TypeORM CLI and Jest load them the same way; a test fails when a file in
 * this folder is missing here.
 */
export const MIGRATIONS = [CreateCases1764300000000, CreateAuditTrail1764400000000];
