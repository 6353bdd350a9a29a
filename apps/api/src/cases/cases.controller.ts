import {
  Body,
  Controller,
  Delete,
  Get,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SCHEMAS } from '../case-model';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission } from '../ums-gateway';
import { CaseOperationsInterceptor } from './case-operations.interceptor';
import { Actor, BearerToken, IdempotencyKey, IfMatch } from './case-params.decorators';
import {
  anySucceeded,
  CASE_ROUTE_DOCS as DOCS,
  caseList,
  LIST_AUDITED_QUERY,
  oneCase,
} from './case-route-docs';
import { CaseRoute } from './case-route.decorator';
import { CasesError } from '../case-model';
import { type CaseActor, CasesService, type WriteOptions } from './cases.service';
import { type CaseResponse, etagOf } from './dto/case.response';
import type {
  BulkStatusBody,
  CaseInputBody,
  CaseUpdateBody,
  StageUpdateBody,
  StatusUpdateBody,
} from '../case-model';
import { CASE_NUMBER, parseListQuery } from './dto/list-query';
import { CaseIdPipe } from '../case-model';
import { LinksHubClient } from './linkshub/linkshub.client';

function withEtag(res: FastifyReply, c: CaseResponse): CaseResponse {
  void res.header('etag', etagOf(c.version));
  return c;
}

/**
 * The case routes. Each declares, in `@CaseRoute`, its permission, metric
 * operation, audit and preconditions; its OpenAPI texts are in
 * case-route-docs.ts; the work is the use case behind CasesService.
 */
@ApiTags('cases')
@Controller('api/v1/cases')
@UseInterceptors(CaseOperationsInterceptor)
export class CasesController {
  constructor(
    private readonly cases: CasesService,
    private readonly directory: LinksHubClient,
  ) {}

  @Get()
  @CaseRoute({
    permission: Permission.CaseRead,
    operation: 'list',
    audit: {
      interaction: 'search',
      mode: 'read',
      queryParams: LIST_AUDITED_QUERY,
      subjects: caseList,
    },
    docs: DOCS.list,
  })
  list(@Actor() actor: CaseActor, @Query() query: Record<string, unknown>) {
    const parsed = parseListQuery(query, this.cases.pageDefaults);
    if ('errors' in parsed) throw CasesError.invalidQuery(parsed.errors);
    return this.cases.list(actor, parsed.ok);
  }

  @Post()
  @CaseRoute({
    permission: Permission.CaseCreate,
    operation: 'create',
    status: 201,
    body: 'CaseInput',
    audit: { interaction: 'create', mode: 'transactional' },
    docs: DOCS.create,
  })
  async create(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Body(new SchemaPipe(SCHEMAS, 'CaseInput')) body: CaseInputBody,
    @IdempotencyKey() idempotencyKey?: string,
  ) {
    const r = await this.cases.create(actor, body, idempotencyKey);
    void res.header('location', `/api/v1/cases/${r.case.id}`);
    if (r.replayed) void res.header('idempotent-replayed', 'true');
    return withEtag(res, r.case);
  }

  @Post('bulk-status')
  @CaseRoute({
    permission: Permission.CaseStatus,
    operation: 'bulk_status',
    status: 200,
    body: 'BulkStatusUpdate',
    audit: { interaction: 'status_change', mode: 'transactional', wrote: anySucceeded },
    docs: DOCS.bulkStatus,
  })
  bulkStatus(
    @Actor() actor: CaseActor,
    @Body(new SchemaPipe(SCHEMAS, 'BulkStatusUpdate')) body: BulkStatusBody,
  ) {
    return this.cases.bulkStatus(actor, body.case_ids, body.status, body.reason);
  }

  @Get('doctor-info/:doctor_id')
  @CaseRoute({
    permission: Permission.DoctorRead,
    lab: false,
    audit: { resourceType: 'doctor', interaction: 'read', mode: 'read', idParam: 'doctor_id' },
    docs: DOCS.doctorInfo,
  })
  async doctorInfo(@BearerToken() token: string, @Param('doctor_id') doctorId: string) {
    const doctor = await this.directory.doctor(doctorId, token);
    if (!doctor) throw CasesError.doctorNotFound();
    return doctor;
  }

  @Get('by-number/:case_number')
  @CaseRoute({
    permission: Permission.CaseRead,
    operation: 'read',
    audit: { interaction: 'read', mode: 'read', subjects: oneCase },
    docs: DOCS.byNumber,
  })
  async byNumber(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('case_number') caseNumber: string,
  ) {
    if (!CASE_NUMBER.test(caseNumber)) throw CasesError.notFound();
    return withEtag(res, await this.cases.getByNumber(actor, caseNumber));
  }

  @Get(':id')
  @CaseRoute({
    permission: Permission.CaseRead,
    operation: 'read',
    id: true,
    audit: { interaction: 'read', mode: 'read', subjects: oneCase },
    docs: DOCS.get,
  })
  async get(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
  ) {
    return withEtag(res, await this.cases.get(actor, id));
  }

  @Get(':id/events')
  @CaseRoute({
    permission: Permission.CaseRead,
    operation: 'read_events',
    id: true,
    audit: { interaction: 'read', mode: 'read' },
    docs: DOCS.events,
  })
  events(@Actor() actor: CaseActor, @Param('id', CaseIdPipe) id: number) {
    return this.cases.timeline(actor, id);
  }

  @Put(':id')
  @CaseRoute({
    permission: Permission.CaseUpdate,
    operation: 'update',
    id: true,
    ifMatch: true,
    body: 'CaseUpdate',
    audit: { interaction: 'update', mode: 'transactional' },
    docs: DOCS.update,
  })
  async update(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe(SCHEMAS, 'CaseUpdate')) body: CaseUpdateBody,
    @IfMatch() opts: WriteOptions,
  ) {
    return withEtag(res, await this.cases.update(actor, id, body, opts));
  }

  @Patch(':id/status')
  @CaseRoute({
    permission: Permission.CaseStatus,
    operation: 'status_change',
    id: true,
    ifMatch: true,
    body: 'StatusUpdate',
    audit: { interaction: 'status_change', mode: 'transactional' },
    docs: DOCS.changeStatus,
  })
  async changeStatus(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe(SCHEMAS, 'StatusUpdate')) body: StatusUpdateBody,
    @IfMatch() opts: WriteOptions,
  ) {
    return withEtag(res, await this.cases.changeStatus(actor, id, body.status, body.reason, opts));
  }

  @Patch(':id/stage')
  @CaseRoute({
    permission: Permission.CaseStatus,
    operation: 'stage_change',
    id: true,
    ifMatch: true,
    body: 'StageUpdate',
    audit: { interaction: 'update', mode: 'transactional' },
    docs: DOCS.changeStage,
  })
  async changeStage(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe(SCHEMAS, 'StageUpdate')) body: StageUpdateBody,
    @IfMatch() opts: WriteOptions,
  ) {
    return withEtag(res, await this.cases.changeStage(actor, id, body.stage, body.reason, opts));
  }

  @Delete(':id')
  @CaseRoute({
    permission: Permission.CaseDelete,
    operation: 'delete',
    status: 204,
    id: true,
    ifMatch: true,
    audit: { interaction: 'delete', mode: 'transactional' },
    docs: DOCS.remove,
  })
  async remove(
    @Actor() actor: CaseActor,
    @Param('id', CaseIdPipe) id: number,
    @IfMatch() opts: WriteOptions,
  ): Promise<void> {
    await this.cases.remove(actor, id, opts);
  }
}
