import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { AUDIT_SCHEMAS } from './audit.schemas';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { CasesError } from '../case-model';
import { isCaseId } from '../case-model';
import { Permission, RequirePermission } from '../ums-gateway';
import { AuditError } from './audit.errors';
import { AUDIT_ACTIONS, AUDIT_INTERACTIONS, AUDIT_OUTCOMES } from './audit-event';
import { AuditService } from './audit.service';
import { AUDIT_QUERY_PARAMS, parseAuditQuery, type ParsedAuditQuery } from './audit-query';
import { type AuditEventView, AuditReviewRepository } from './audit-review.repository';
import { AuditVerifier } from './audit-verifier';
import { AuditViewCodec } from './audit-view';
import { Audited, type AuditSubjects } from './audited.decorator';
import { toFhirAuditEvent } from './fhir-audit-event';

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description:
    'The lab whose audit trail to read (an admin membership). Default: your first active membership.',
});

const FILTERS = [
  ApiQuery({
    name: 'from',
    required: false,
    schema: { type: 'string', format: 'date-time' },
    description: 'occurred_at ≥ from',
  }),
  ApiQuery({
    name: 'to',
    required: false,
    schema: { type: 'string', format: 'date-time' },
    description: 'occurred_at < to',
  }),
  ApiQuery({
    name: 'actor',
    required: false,
    schema: { type: 'string' },
    description: 'UMS user id',
  }),
  ApiQuery({ name: 'case_id', required: false, schema: { type: 'integer' } }),
  ApiQuery({
    name: 'patient_ref',
    required: false,
    schema: { type: 'string' },
    description:
      'Keyed patient reference (from the patient access report); never a patient identifier',
  }),
  ApiQuery({
    name: 'action',
    required: false,
    schema: { type: 'string', enum: [...AUDIT_ACTIONS] },
  }),
  ApiQuery({
    name: 'outcome',
    required: false,
    schema: { type: 'string', enum: [...AUDIT_OUTCOMES] },
  }),
  ApiQuery({
    name: 'interaction',
    required: false,
    schema: { type: 'string', enum: [...AUDIT_INTERACTIONS] },
  }),
  ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  }),
  ApiQuery({
    name: 'cursor',
    required: false,
    schema: { type: 'string' },
    description: '`next_cursor` of the previous page',
  }),
];
const withFilters = (): MethodDecorator => (target, key, descriptor) => {
  for (const d of FILTERS) d(target, key, descriptor);
  return descriptor;
};

interface Page {
  events: AuditEventView[];
  next_cursor: string | null;
  limit: number;
}

const pageSubjects = (r: unknown): AuditSubjects => {
  const p = r as Page & { patient_ref?: string };
  return { count: p.events.length, patientRef: p.patient_ref };
};

const PAGE_MAX = 500;
const EXPORT_MAX = 10_000;

/** The body of the patient access report (schema: PatientAccessReportRequest). */
interface PatientAccessReportBody {
  patient_id: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

/**
 * Review of the audit trail (164.308(a)(1)(ii)(D)): lab admins query their
 * lab's events, ask who accessed a case or a patient, export NDJSON shaped as
 * FHIR R4 AuditEvent, and verify the hash chain. Every one of these reads is
 * itself audited.
 */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/v1')
export class AuditReviewController {
  constructor(
    private readonly repo: AuditReviewRepository,
    private readonly audit: AuditService,
    private readonly verifier: AuditVerifier,
    private readonly context: RequestContext,
    private readonly view: AuditViewCodec,
  ) {}

  /** A page of the lab's events; the global seq stays here (opaque ids and cursors leave). */
  private async page(q: ParsedAuditQuery): Promise<Page> {
    const labId = this.context.lab.labId;
    const found = await this.repo.find(labId, q.filters, q.cursor, q.limit + 1);
    const more = found.length > q.limit;
    const rows = more ? found.slice(0, q.limit) : found;
    const last = rows[rows.length - 1];
    return {
      events: rows.map(({ seq, ...e }) => ({ id: this.view.eventId(seq), ...e })),
      next_cursor:
        more && last
          ? this.view.encodeCursor(labId, { occurredAt: last.occurred_at, seq: last.seq })
          : null,
      limit: q.limit,
    };
  }

  private parse(query: Record<string, unknown>, max = PAGE_MAX): ParsedAuditQuery {
    const labId = this.context.lab.labId;
    const parsed = parseAuditQuery(query, max, (c) => this.view.decodeCursor(labId, c));
    if ('errors' in parsed) throw AuditError.invalidQuery(parsed.errors);
    return parsed.ok;
  }

  @Get('audit-events')
  @LAB_HEADER
  @ApiOperation({
    summary: "Query the lab's audit trail, newest first",
    description:
      'Filters are ANDed; keyset pages (`limit`, `cursor` → `next_cursor`). This read is itself audited.',
  })
  @withFilters()
  @ApiOk('AuditEventPage')
  @ApiErrors(400, 401, 403, 503)
  @RequirePermission(Permission.AuditRead)
  @Audited({
    resourceType: 'AuditEvent',
    interaction: 'search',
    mode: 'read',
    queryParams: AUDIT_QUERY_PARAMS,
    subjects: pageSubjects,
  })
  list(@Query() query: Record<string, unknown>): Promise<Page> {
    return this.page(this.parse(query));
  }

  @Post('audit-events/patient-access-report')
  @HttpCode(200)
  @LAB_HEADER
  @ApiOperation({
    summary: 'Who accessed this patient (per-patient access report)',
    description:
      "Every event of the lab that touched the patient: reads, lists that included the patient's cases, writes. The patient identifier goes in the body (never in a URL); the server turns it into the keyed `patient_ref`, which the response returns for use with `GET /audit-events?patient_ref=`.",
  })
  @ApiJsonBody('PatientAccessReportRequest')
  @ApiOk('AuditEventPage')
  @ApiErrors(400, 401, 403, 415, 503)
  @RequirePermission(Permission.AuditRead)
  @Audited({
    resourceType: 'AuditEvent',
    interaction: 'search',
    mode: 'read',
    subjects: pageSubjects,
  })
  async patientAccessReport(
    @Body(new SchemaPipe(AUDIT_SCHEMAS, 'PatientAccessReportRequest')) b: PatientAccessReportBody,
  ): Promise<Page & { patient_ref: string }> {
    const pid = b.patient_id;
    if (pid.trim() === '') {
      throw AuditError.invalidQuery({
        patient_id: 'is required (a string of 1 to 100 characters)',
      });
    }
    const labId = this.context.lab.labId;
    const ref = this.audit.patientRef(labId, { patient_id: pid });
    if (!ref) throw AuditError.invalidQuery({ patient_id: 'is required' });
    const q = this.parse({
      from: b.from,
      to: b.to,
      limit: b.limit === undefined ? undefined : String(b.limit),
      cursor: b.cursor,
    });
    q.filters.patientRef = ref;
    return { patient_ref: ref, ...(await this.page(q)) };
  }

  @Get('cases/:id/access-log')
  @LAB_HEADER
  @ApiOperation({
    summary: 'Who accessed this case',
    description:
      'Every event of the lab that touched the case (also lists that included it, and attempts refused), newest first. Deleted cases keep their log.',
  })
  @ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 500 },
  })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOk('AuditEventPage')
  @ApiErrors(400, 401, 403, 404, 503)
  @RequirePermission(Permission.AuditRead)
  @Audited({
    resourceType: 'AuditEvent',
    interaction: 'search',
    mode: 'read',
    idParam: 'id',
    queryParams: ['limit', 'cursor'],
    subjects: pageSubjects,
  })
  async accessLog(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<Page & { case_id: string }> {
    if (!isCaseId(id)) throw CasesError.notFound();
    const q = this.parse({ limit: query.limit, cursor: query.cursor });
    q.filters.caseId = id;
    return { case_id: id, ...(await this.page(q)) };
  }

  @Get('audit-events/export')
  @LAB_HEADER
  @ApiOperation({
    summary: 'Export the audit trail as NDJSON of FHIR R4 AuditEvent (IHE BALP style)',
    description: `One AuditEvent per line, newest first, the same filters as the query; at most \`limit\` (≤ ${EXPORT_MAX}) per call, the next page's cursor in the \`X-Next-Cursor\` header. The export is itself audited.`,
  })
  @withFilters()
  @ApiResponse({
    status: 200,
    description: 'NDJSON, one FHIR AuditEvent per line',
    content: { 'application/fhir+ndjson': { schema: { type: 'string' } } },
  })
  @ApiErrors(400, 401, 403, 503)
  @RequirePermission(Permission.AuditExport)
  @Audited({
    resourceType: 'AuditEvent',
    interaction: 'export',
    mode: 'read',
    queryParams: AUDIT_QUERY_PARAMS,
    subjects: (r) => ({ count: (r as string).split('\n').filter((l) => l.length > 0).length }),
  })
  async export(
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const q = this.parse({ limit: '1000', ...query }, EXPORT_MAX);
    const p = await this.page(q);
    void reply.header('content-type', 'application/fhir+ndjson; charset=utf-8');
    if (p.next_cursor) void reply.header('x-next-cursor', p.next_cursor);
    return p.events.map((e) => `${JSON.stringify(toFhirAuditEvent(e))}\n`).join('');
  }

  @Get('audit-events/verify')
  @LAB_HEADER
  @ApiOperation({
    summary: 'Verify the audit hash chain and its signed checkpoints, as seen by your lab',
    description:
      '"intact" or "tampered" (and the kind of problem) for the whole shared chain, with the number of your lab\'s events it covers. Nothing in it counts other labs\' events: positions, chain size and where a problem sits are for operators, whose `lhcms audit verify` is the authoritative check (it rebuilds every digest outside the database).',
  })
  @ApiOk('AuditVerifyReport')
  @ApiErrors(401, 403, 503)
  @RequirePermission(Permission.AuditRead)
  @Audited({ resourceType: 'AuditEvent', interaction: 'verify', mode: 'read' })
  verify() {
    return this.verifier.verifyForLab(this.context.lab.labId);
  }
}
