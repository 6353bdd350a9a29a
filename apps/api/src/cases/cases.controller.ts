import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
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
import type { FastifyRequest } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { Audited, type AuditSubjects } from '../audit';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission, Public, RequirePermission, WithoutLab } from '../ums-gateway';
import { CasesError } from './cases.errors';
import { type CaseActor, CasesService } from './cases.service';
import type { CaseInputBody, CaseUpdateBody, StatusUpdateBody } from './dto/case.schemas';
import { CASE_STATUSES, CASE_TYPES, PRIORITIES } from './dto/case.schemas';
import { parseListQuery } from './dto/list-query';
import { CaseIdPipe } from './id.pipe';
import { LinksHubClient } from './linkshub/linkshub.client';
import { REFERENCE_DATA } from './reference-data/reference-data';

/** What a case response discloses: its id and its patient (keyed by the audit trail, never stored as such). */
function oneCase(result: unknown): AuditSubjects {
  const c = result as { id: number; patient_info: unknown };
  return { ids: [c.id], patients: [c.patient_info] };
}

function caseList(result: unknown): AuditSubjects {
  const cases = (result as { cases: Array<{ id: number; patient_info: unknown }> }).cases;
  return { ids: cases.map((c) => c.id), patients: cases.map((c) => c.patient_info) };
}

/** Query parameters of the list recorded with their values (filters and paging; none is PHI). */
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
] as const;

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description:
    'The lab to act in; must be one of your active memberships. Default: your first active membership.',
});

@ApiTags('cases')
@Controller('api/v1/cases')
export class CasesController {
  constructor(
    private readonly cases: CasesService,
    private readonly directory: LinksHubClient,
    private readonly context: RequestContext,
  ) {}

  private actor(req: FastifyRequest): CaseActor {
    const token = (req.headers.authorization ?? '').trim().split(/\s+/)[1] ?? '';
    return { userId: this.context.principal.userId, labId: this.context.lab.labId, token };
  }

  @Get()
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: "List the lab's cases, newest first",
    description:
      'Offset pages (`page`, `per_page`; the original envelope) or keyset pages (`cursor`, `limit` → `next_cursor`; use these for deep lists). Filters are ANDed; a bad value is 400. Also served without the trailing slash.',
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
  @ApiOk('CaseListResponse', 200, 'Offset page (or a CursorPage in keyset mode)')
  @ApiErrors(400, 401, 403, 503)
  @RequirePermission(Permission.CaseRead)
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
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: 'Create a case in your lab',
    description:
      'Status starts as `pending`. When LINKSHUB_CORE_URL is configured the doctor, its link to the lab and the product are checked first (400 / 503).',
  })
  @ApiJsonBody('CaseInput')
  @ApiOk('Case', 201, 'Created')
  @ApiErrors(400, 401, 403, 413, 415, 503)
  @RequirePermission(Permission.CaseCreate)
  @Audited({
    resourceType: 'case',
    interaction: 'create',
    mode: 'transactional',
    successStatus: 201,
  })
  create(@Req() req: FastifyRequest, @Body(new SchemaPipe('CaseInput')) body: CaseInputBody) {
    return this.cases.create(this.actor(req), body);
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
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'A doctor from the doctor directory (LinksHub Core)',
    description: '503 when LINKSHUB_CORE_URL is not configured or the directory is unreachable.',
  })
  @ApiParam({ name: 'doctor_id', schema: { type: 'string' } })
  @ApiOk('DoctorAccount')
  @ApiErrors(401, 404, 503)
  @RequirePermission(Permission.DoctorRead)
  @Audited({ resourceType: 'doctor', interaction: 'read', mode: 'read', idParam: 'doctor_id' })
  async doctorInfo(@Req() req: FastifyRequest, @Param('doctor_id') doctorId: string) {
    const token = (req.headers.authorization ?? '').trim().split(/\s+/)[1] ?? '';
    const doctor = await this.directory.doctor(doctorId, token);
    if (!doctor) throw CasesError.doctorNotFound();
    return doctor;
  }

  @Get(':id')
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({ summary: 'One case of your lab' })
  @ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } })
  @ApiOk('Case')
  @ApiErrors(401, 403, 404, 503)
  @RequirePermission(Permission.CaseRead)
  @Audited({
    resourceType: 'case',
    interaction: 'read',
    mode: 'read',
    idParam: 'id',
    subjects: oneCase,
  })
  get(@Req() req: FastifyRequest, @Param('id', CaseIdPipe) id: number) {
    return this.cases.get(this.actor(req), id);
  }

  @Put(':id')
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: 'Update a case (partial, as in the original)',
    description:
      'Only the fields sent change; objects are replaced wholesale; `null` clears a nullable field.',
  })
  @ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } })
  @ApiJsonBody('CaseUpdate')
  @ApiOk('Case')
  @ApiErrors(400, 401, 403, 404, 409, 413, 415, 503)
  @RequirePermission(Permission.CaseUpdate)
  @Audited({ resourceType: 'case', interaction: 'update', mode: 'transactional', idParam: 'id' })
  update(
    @Req() req: FastifyRequest,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe('CaseUpdate')) body: CaseUpdateBody,
  ) {
    return this.cases.update(this.actor(req), id, body);
  }

  @Patch(':id/status')
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({ summary: 'Change the status of a case' })
  @ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } })
  @ApiJsonBody('StatusUpdate')
  @ApiOk('Case')
  @ApiErrors(400, 401, 403, 404, 409, 415, 503)
  @RequirePermission(Permission.CaseStatus)
  @Audited({
    resourceType: 'case',
    interaction: 'status_change',
    mode: 'transactional',
    idParam: 'id',
  })
  changeStatus(
    @Req() req: FastifyRequest,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe('StatusUpdate')) body: StatusUpdateBody,
  ) {
    return this.cases.changeStatus(this.actor(req), id, body.status);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiBearerAuth()
  @LAB_HEADER
  @ApiOperation({
    summary: 'Delete a case (soft: it disappears from the API and stays for retention and audit)',
  })
  @ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } })
  @ApiResponse({ status: 204, description: 'Deleted (no body)' })
  @ApiErrors(401, 403, 404, 503)
  @RequirePermission(Permission.CaseDelete)
  @Audited({
    resourceType: 'case',
    interaction: 'delete',
    mode: 'transactional',
    idParam: 'id',
    successStatus: 204,
  })
  async remove(@Req() req: FastifyRequest, @Param('id', CaseIdPipe) id: number): Promise<void> {
    await this.cases.remove(this.actor(req), id);
  }
}
