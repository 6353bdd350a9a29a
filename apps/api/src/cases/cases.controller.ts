import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { Audited, type AuditSubjects } from '../audit';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission, Public, RequirePermission, WithoutLab } from '../ums-gateway';
import { roleAllows } from '../ums-gateway/permissions';
import { CaseOperationsInterceptor } from './case-operations.interceptor';
import { CasesError } from './cases.errors';
import { type CaseActor, CasesService, type WriteOptions } from './cases.service';
import { type CaseResponse, etagOf } from './dto/case.response';
import type {
  BulkStatusBody,
  CaseInputBody,
  CaseUpdateBody,
  StageUpdateBody,
  StatusUpdateBody,
} from './dto/case.schemas';
import { CASE_STATUSES, CASE_TYPES, PRIORITIES } from './dto/case.schemas';
import { CASE_NUMBER, parseListQuery } from './dto/list-query';
import { CaseIdPipe } from './id.pipe';
import { LinksHubClient } from './linkshub/linkshub.client';
import { REFERENCE_DATA } from './reference-data/reference-data';

/** What a case response discloses: its id and its patient (keyed by the audit trail, never stored as such). */
function oneCase(result: unknown): AuditSubjects {
  const c = result as AuditedCase;
  return { ids: [c.id], patients: [c.patient_info], versions: [c.version] };
}

function caseList(result: unknown): AuditSubjects {
  const cases = (result as { cases: AuditedCase[] }).cases;
  return {
    ids: cases.map((c) => c.id),
    patients: cases.map((c) => c.patient_info),
    versions: cases.map((c) => c.version),
  };
}

type AuditedCase = { id: number; patient_info: unknown; version?: number };

/** List parameters recorded with their values (paging and non-PHI filters; never patient_id). */
const LIST_QUERY = [
  'page',
  'per_page',
  'cursor',
  'limit',
  'status',
  'doctor_id',
  'product_id',
  'case_type',
  'priority',
  'rush_order',
  'case_number',
  'stage',
] as const;

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description:
    'The lab to act in; must be one of your active memberships. Default: your first active membership.',
});

const IF_MATCH = ApiHeader({
  name: 'If-Match',
  required: false,
  description: 'The ETag of the case as you read it; 412 when the case changed since.',
});

const ID_PARAM = ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } });

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,255}$/;

/** The version an If-Match names (`"3"`, `W/"3"`); `*` or no header: no precondition. */
export function ifMatchVersion(header: string | undefined): WriteOptions {
  if (header === undefined || header.trim() === '*') return {};
  const m = /^(?:W\/)?"(\d{1,10})"$/.exec(header.trim());
  // An unparseable If-Match cannot match any version.
  return { ifMatch: m ? Number(m[1]) : -1 };
}

@ApiTags('cases')
@Controller('api/v1/cases')
@UseInterceptors(CaseOperationsInterceptor)
export class CasesController {
  constructor(
    private readonly cases: CasesService,
    private readonly directory: LinksHubClient,
    private readonly context: RequestContext,
  ) {}

  private actor(req: FastifyRequest): CaseActor {
    const token = (req.headers.authorization ?? '').trim().split(/\s+/)[1] ?? '';
    const lab = this.context.lab;
    return {
      userId: this.context.principal.userId,
      labId: lab.labId,
      labCode: lab.labCode,
      token,
      canReopen: roleAllows(lab.role, Permission.CaseReopen),
      requestId: String(req.id),
    };
  }

  private withEtag(res: FastifyReply, c: CaseResponse): CaseResponse {
    void res.header('etag', etagOf(c.version));
    return c;
  }

  @Get()
  @RequirePermission(Permission.CaseRead)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: "List the lab's cases, newest first",
    description:
      'Offset pages (`page`, `per_page`; the original envelope) or keyset pages (`cursor`, `limit` → `next_cursor`; stable under inserts, use these for deep lists). Filters are ANDed; a bad value is 400. Also served without the trailing slash.',
  })
  @ApiQuery({ name: 'page', required: false, schema: { type: 'integer', minimum: 1, default: 1 } })
  @ApiQuery({
    name: 'per_page',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  })
  @ApiQuery({
    name: 'cursor',
    required: false,
    schema: { type: 'string' },
    description: 'Keyset mode: `next_cursor` of the previous page (empty for the first).',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100 },
  })
  @ApiQuery({
    name: 'status',
    required: false,
    schema: { type: 'string', enum: [...CASE_STATUSES] },
  })
  @ApiQuery({ name: 'doctor_id', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'product_id', required: false, schema: { type: 'string' } })
  @ApiQuery({
    name: 'case_type',
    required: false,
    schema: { type: 'string', enum: [...CASE_TYPES] },
  })
  @ApiQuery({
    name: 'priority',
    required: false,
    schema: { type: 'string', enum: [...PRIORITIES] },
  })
  @ApiQuery({
    name: 'rush_order',
    required: false,
    schema: { type: 'string', enum: ['true', 'false'] },
  })
  @ApiQuery({ name: 'case_number', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'stage', required: false, schema: { type: 'string' } })
  @ApiQuery({
    name: 'patient_id',
    required: false,
    schema: { type: 'string' },
    description: 'Exact patient_info.patient_id (matched through a keyed blind index).',
  })
  @ApiOk('CaseListResponse', 200, 'Offset page (or a CursorPage in keyset mode)')
  @ApiErrors(400, 401, 403, 429, 503)
  @Audited({
    resourceType: 'case',
    interaction: 'search',
    mode: 'read',
    queryParams: LIST_QUERY,
    subjects: caseList,
  })
  list(@Req() req: FastifyRequest, @Query() query: Record<string, unknown>) {
    const parsed = parseListQuery(query, this.cases.pageDefaults);
    if ('errors' in parsed) throw CasesError.invalidQuery(parsed.errors);
    return this.cases.list(this.actor(req), parsed.ok);
  }

  @Post()
  @HttpCode(201)
  @RequirePermission(Permission.CaseCreate)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A client-chosen key (≤ 255 of [A-Za-z0-9._:-]): a retried POST with the same key and body returns the first case instead of creating another (24 h).',
  })
  @ApiOperation({
    summary: 'Create a case in your lab',
    description:
      'Status starts as `pending`, with a new per-lab case number. When LINKSHUB_CORE_URL is configured the doctor, its link to the lab and the product are checked first (400 / 503).',
  })
  @ApiJsonBody('CaseInput')
  @ApiOk('Case', 201, 'Created (or the earlier case, for a repeated Idempotency-Key)')
  @ApiErrors(400, 401, 403, 409, 413, 415, 429, 503)
  @Audited({
    resourceType: 'case',
    interaction: 'create',
    mode: 'transactional',
    successStatus: 201,
  })
  async create(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Body(new SchemaPipe('CaseInput')) body: CaseInputBody,
    @Headers('idempotency-key') idempotencyKey?: string,
  ) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw CasesError.invalidQuery({ 'Idempotency-Key': 'must be 1 to 255 of [A-Za-z0-9._:-]' });
    }
    const r = await this.cases.create(this.actor(req), body, idempotencyKey);
    void res.header('location', `/api/v1/cases/${r.case.id}`);
    if (r.replayed) void res.header('idempotent-replayed', 'true');
    return this.withEtag(res, r.case);
  }

  @Post('bulk-status')
  @HttpCode(200)
  @RequirePermission(Permission.CaseStatus)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: 'Change the status of many cases',
    description:
      'Each case follows the lifecycle rules on its own (its own transaction and timeline event); the answer reports every case. Up to 100 ids.',
  })
  @ApiJsonBody('BulkStatusUpdate')
  @ApiOk('BulkStatusResult')
  @ApiErrors(400, 401, 403, 415, 429, 503)
  @Audited({
    resourceType: 'case',
    interaction: 'status_change',
    mode: 'transactional',
    wrote: (r) => (r as { succeeded: number }).succeeded > 0,
  })
  bulkStatus(
    @Req() req: FastifyRequest,
    @Body(new SchemaPipe('BulkStatusUpdate')) body: BulkStatusBody,
  ) {
    return this.cases.bulkStatus(this.actor(req), body.case_ids, body.status, body.reason);
  }

  @Get('types')
  @Public()
  @ApiOperation({ summary: 'Case types with their subtypes and options (reference data, public)' })
  @ApiOk('ReferenceData')
  types() {
    return REFERENCE_DATA.types;
  }

  @Get('shades')
  @Public()
  @ApiOperation({ summary: 'Shade systems (reference data, public)' })
  @ApiOk('ReferenceData')
  shades() {
    return REFERENCE_DATA.shades;
  }

  @Get('materials')
  @Public()
  @ApiOperation({ summary: 'Materials (reference data, public)' })
  @ApiOk('ReferenceData')
  materials() {
    return REFERENCE_DATA.materials;
  }

  @Get('doctor-info/:doctor_id')
  @WithoutLab()
  @RequirePermission(Permission.DoctorRead)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'A doctor from the doctor directory (LinksHub Core)',
    description:
      '501 when LINKSHUB_CORE_URL is not configured (not counted against the error SLO); 503 when the directory is unreachable.',
  })
  @ApiParam({ name: 'doctor_id', schema: { type: 'string' } })
  @ApiOk('DoctorAccount')
  @ApiErrors(401, 404, 429, 501, 503)
  @Audited({ resourceType: 'doctor', interaction: 'read', mode: 'read', idParam: 'doctor_id' })
  async doctorInfo(@Req() req: FastifyRequest, @Param('doctor_id') doctorId: string) {
    const token = (req.headers.authorization ?? '').trim().split(/\s+/)[1] ?? '';
    const doctor = await this.directory.doctor(doctorId, token);
    if (!doctor) throw CasesError.doctorNotFound();
    return doctor;
  }

  @Get('by-number/:case_number')
  @RequirePermission(Permission.CaseRead)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({ summary: 'One case of your lab by its case number' })
  @ApiParam({ name: 'case_number', schema: { type: 'string', example: 'TL-2611-0042' } })
  @ApiOk('Case')
  @ApiErrors(401, 403, 404, 429, 503)
  @Audited({ resourceType: 'case', interaction: 'read', mode: 'read', subjects: oneCase })
  async byNumber(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('case_number') caseNumber: string,
  ) {
    if (!CASE_NUMBER.test(caseNumber)) throw CasesError.notFound();
    return this.withEtag(res, await this.cases.getByNumber(this.actor(req), caseNumber));
  }

  @Get(':id')
  @RequirePermission(Permission.CaseRead)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({ summary: 'One case of your lab (with its ETag)' })
  @ID_PARAM
  @ApiOk('Case')
  @ApiErrors(401, 403, 404, 429, 503)
  @Audited({
    resourceType: 'case',
    interaction: 'read',
    mode: 'read',
    idParam: 'id',
    subjects: oneCase,
  })
  async get(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
  ) {
    return this.withEtag(res, await this.cases.get(this.actor(req), id));
  }

  @Get(':id/events')
  @RequirePermission(Permission.CaseRead)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: 'The timeline of a case: every change, who, when, from → to, reason',
    description:
      'Oldest first. Values of fields that can carry PHI are not in the timeline, only their names.',
  })
  @ID_PARAM
  @ApiOk('CaseEventList')
  @ApiErrors(401, 403, 404, 429, 503)
  @Audited({ resourceType: 'case', interaction: 'read', mode: 'read', idParam: 'id' })
  events(@Req() req: FastifyRequest, @Param('id', CaseIdPipe) id: number) {
    return this.cases.timeline(this.actor(req), id);
  }

  @Put(':id')
  @RequirePermission(Permission.CaseUpdate)
  @ApiBearerAuth()
  @LAB_HEADER
  @IF_MATCH
  @ApiOperation({
    summary: 'Update a case (partial, as in the original)',
    description:
      'Only the fields sent change; objects are replaced wholesale; `null` clears a nullable field. A `status` follows the lifecycle rules; changing `due_date` needs a `reason`.',
  })
  @ID_PARAM
  @ApiJsonBody('CaseUpdate')
  @ApiOk('Case')
  @ApiErrors(400, 401, 403, 404, 409, 412, 413, 415, 429, 503)
  @Audited({ resourceType: 'case', interaction: 'update', mode: 'transactional', idParam: 'id' })
  async update(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe('CaseUpdate')) body: CaseUpdateBody,
    @Headers('if-match') ifMatch?: string,
  ) {
    return this.withEtag(
      res,
      await this.cases.update(this.actor(req), id, body, ifMatchVersion(ifMatch)),
    );
  }

  @Patch(':id/status')
  @RequirePermission(Permission.CaseStatus)
  @ApiBearerAuth()
  @LAB_HEADER
  @IF_MATCH
  @ApiOperation({
    summary: 'Change the status of a case',
    description:
      'pending → in_progress | on_hold | cancelled; in_progress → on_hold | completed | cancelled; on_hold → the status it was held from | cancelled; completed and cancelled are final, but a lab admin may reopen a completed case. on_hold, cancelled and a reopen need a `reason`. An illegal move is 409 with `allowed_transitions`.',
  })
  @ID_PARAM
  @ApiJsonBody('StatusUpdate')
  @ApiOk('Case')
  @ApiErrors(400, 401, 403, 404, 409, 412, 415, 429, 503)
  @Audited({
    resourceType: 'case',
    interaction: 'status_change',
    mode: 'transactional',
    idParam: 'id',
  })
  async changeStatus(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe('StatusUpdate')) body: StatusUpdateBody,
    @Headers('if-match') ifMatch?: string,
  ) {
    const c = await this.cases.changeStatus(
      this.actor(req),
      id,
      body.status,
      body.reason,
      ifMatchVersion(ifMatch),
    );
    return this.withEtag(res, c);
  }

  @Patch(':id/stage')
  @RequirePermission(Permission.CaseStatus)
  @ApiBearerAuth()
  @LAB_HEADER
  @IF_MATCH
  @ApiOperation({
    summary: 'Move an in-progress case to another production stage',
    description:
      "Stages are the lab's ordered list (lab settings). Forward freely; backward only with a `reason`.",
  })
  @ID_PARAM
  @ApiJsonBody('StageUpdate')
  @ApiOk('Case')
  @ApiErrors(400, 401, 403, 404, 412, 415, 429, 503)
  @Audited({ resourceType: 'case', interaction: 'update', mode: 'transactional', idParam: 'id' })
  async changeStage(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe('StageUpdate')) body: StageUpdateBody,
    @Headers('if-match') ifMatch?: string,
  ) {
    const c = await this.cases.changeStage(
      this.actor(req),
      id,
      body.stage,
      body.reason,
      ifMatchVersion(ifMatch),
    );
    return this.withEtag(res, c);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission(Permission.CaseDelete)
  @ApiBearerAuth()
  @LAB_HEADER
  @IF_MATCH
  @ApiOperation({
    summary: 'Delete a case (soft: it disappears from the API and stays for retention and audit)',
  })
  @ID_PARAM
  @ApiResponse({ status: 204, description: 'Deleted (no body)' })
  @ApiErrors(401, 403, 404, 412, 429, 503)
  @Audited({
    resourceType: 'case',
    interaction: 'delete',
    mode: 'transactional',
    idParam: 'id',
    successStatus: 204,
  })
  async remove(
    @Req() req: FastifyRequest,
    @Param('id', CaseIdPipe) id: number,
    @Headers('if-match') ifMatch?: string,
  ): Promise<void> {
    await this.cases.remove(this.actor(req), id, ifMatchVersion(ifMatch));
  }
}
