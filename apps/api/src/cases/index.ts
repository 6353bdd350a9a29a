/** What other modules may use of the cases module (docs/architecture.md, "Dependency rules"). */
export { Actor } from './case-params.decorators';
export type { CaseActor } from './use-cases';
export { purgeExpiredCases } from './case-retention';
export { CasesModule } from './cases.module';
