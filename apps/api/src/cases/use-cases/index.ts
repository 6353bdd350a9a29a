import { BulkStatus } from './bulk-status.use-case';
import { CaseWrites } from './case-writes';
import { ChangeStatus } from './change-status.use-case';
import { CreateCase } from './create-case.use-case';
import { DeleteCase } from './delete-case.use-case';
import { GetCase } from './get-case.use-case';
import { LabSettingsUseCase } from './lab-settings.use-case';
import { ListCases } from './list-cases.use-case';
import { MoveStage } from './move-stage.use-case';
import { RemakeCase } from './remake-case.use-case';
import { UpdateCase } from './update-case.use-case';

export * from './case-use-case.types';
export {
  BulkStatus,
  CaseWrites,
  ChangeStatus,
  CreateCase,
  DeleteCase,
  GetCase,
  LabSettingsUseCase,
  ListCases,
  MoveStage,
  RemakeCase,
  UpdateCase,
};

/** The providers of the case use cases (CasesModule). */
export const CASE_USE_CASES = [
  CaseWrites,
  ListCases,
  GetCase,
  CreateCase,
  UpdateCase,
  ChangeStatus,
  MoveStage,
  DeleteCase,
  BulkStatus,
  LabSettingsUseCase,
  RemakeCase,
];
