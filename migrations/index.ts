import { CreateCases1764300000000 } from './1764300000000-CreateCases';
import { EnableRowLevelSecurity1764400000000 } from './1764400000000-EnableRowLevelSecurity';
import { EncryptPhiFields1764500000000 } from './1764500000000-EncryptPhiFields';
import { CaseLifecycle1764600000000 } from './1764600000000-CaseLifecycle';
import { CreateAuditTrail1764700000000 } from './1764700000000-CreateAuditTrail';
import { CaseStatusCounts1764800000000 } from './1764800000000-CaseStatusCounts';
import { FasterAuditSealing1764900000000 } from './1764900000000-FasterAuditSealing';
import { CaseOwnerLookup1765000000000 } from './1765000000000-CaseOwnerLookup';
import { LabSchedule1765300000000 } from './1765300000000-LabSchedule';
import { WorkQueueIndexes1765310000000 } from './1765310000000-WorkQueueIndexes';
import { CaseNotes1765400000000 } from './1765400000000-CaseNotes';
import { CreateAttachments1765500000000 } from './1765500000000-CreateAttachments';
import { CaseRemakes1765600000000 } from './1765600000000-CaseRemakes';
import { QueueSortIndexes1765610000000 } from './1765610000000-QueueSortIndexes';
import { ReportSettings1765620000000 } from './1765620000000-ReportSettings';
import { CaseOutbox1765630000000 } from './1765630000000-CaseOutbox';
import { Webhooks1765640000000 } from './1765640000000-Webhooks';
import { OutboxStreamOrder1765650000000 } from './1765650000000-OutboxStreamOrder';
import { WebhookDelivery1765660000000 } from './1765660000000-WebhookDelivery';
import { EventStreamRead1765670000000 } from './1765670000000-EventStreamRead';
import { ReencryptAppendOnly1765680000000 } from './1765680000000-ReencryptAppendOnly';
import { EmergencyAccess1765700000000 } from './1765700000000-EmergencyAccess';

/**
 * Every migration, in order. Classes rather than a glob, so the app, the
 * TypeORM CLI and Jest load them the same way; a test fails when a file in
 * this folder is missing here.
 */
export const MIGRATIONS = [
  CreateCases1764300000000,
  EnableRowLevelSecurity1764400000000,
  EncryptPhiFields1764500000000,
  CaseLifecycle1764600000000,
  CreateAuditTrail1764700000000,
  CaseStatusCounts1764800000000,
  FasterAuditSealing1764900000000,
  CaseOwnerLookup1765000000000,
  LabSchedule1765300000000,
  WorkQueueIndexes1765310000000,
  CaseNotes1765400000000,
  CreateAttachments1765500000000,
  CaseRemakes1765600000000,
  QueueSortIndexes1765610000000,
  ReportSettings1765620000000,
  CaseOutbox1765630000000,
  Webhooks1765640000000,
  OutboxStreamOrder1765650000000,
  WebhookDelivery1765660000000,
  EventStreamRead1765670000000,
  ReencryptAppendOnly1765680000000,
  EmergencyAccess1765700000000,
];
