/** What other modules may use of the cases module. */
export { CasesModule } from './cases.module';
export { CasesError, CasesErrorCode } from './cases.errors';
export { CaseSubresources, type SubresourceEvent } from './case-subresources';
export { CaseOperationsInterceptor } from './case-operations.interceptor';
export { CaseRoute, type CaseRouteDocs, type CaseRouteSpec } from './case-route.decorator';
export { IfMatch } from './case-params.decorators';
export { CaseIdPipe, isCaseId } from './id.pipe';
export { decodeCursor, encodeCursor, type Cursor } from './dto/list-query';
export type { WriteOptions } from './use-cases/case-use-case.types';
