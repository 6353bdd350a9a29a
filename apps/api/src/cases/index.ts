/** What other modules may use of the cases module (docs/architecture.md, "Dependency rules"). */
export { Actor } from './case-params.decorators';
export type { CaseActor } from './use-cases';
export { purgeExpiredCases } from './case-retention';
export { CasesModule } from './cases.module';
export { CaseSubresources, type SubresourceEvent } from './case-subresources';
export { CaseOperationsInterceptor } from './case-operations.interceptor';
export { CaseRoute, type CaseRouteDocs, type CaseRouteSpec } from './case-route.decorator';
export { IfMatch } from './case-params.decorators';
export { decodeCursor, encodeCursor, type Cursor } from './dto/list-query';
export type { WriteOptions } from './use-cases/case-use-case.types';
