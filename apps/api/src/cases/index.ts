export { purgeExpiredCases } from './case-retention';
export { CasesModule } from './cases.module';
