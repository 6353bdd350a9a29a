/** What other modules may use of the cases module (docs/architecture.md, "Dependency rules"). */
export { CasesError, CasesErrorCode } from './cases.errors';
export { CaseIdPipe, isCaseId } from './id.pipe';
export { Actor } from './case-params.decorators';
export type { CaseActor } from './use-cases';
