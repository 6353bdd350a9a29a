import { applyDecorators, Body, Controller, Get, Put, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { DomainError } from '../common/errors/domain-error';
import { statusFor } from '../common/errors/error-status';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { registerSchemas, SchemaPipe } from '../common/validation/schema.pipe';
import { Audited } from '../audit';
import { MetricsService, type ReportFormat } from '../metrics';
import { Permission, RequirePermission } from '../ums-gateway';
import { reportFactsOf, withReportFacts } from './audit-facts';
import { toCsv } from './report-csv';
import {
  DEFAULT_WEEKS,
  DUE_DAYS_DEFAULT,
  DUE_DAYS_MAX,
  MAX_RANGE_DAYS,
  type ReportName,
} from './report-range';
import { REPORT_SCHEMAS, type ReportSettingsBody } from './reports.schemas';
import { ReportsService } from './reports.service';

registerSchemas(REPORT_SCHEMAS);

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description: 'The lab to report on. Default: your first active membership.',
});
const ACCEPT = ApiHeader({
  name: 'Accept',
  required: false,
  description:
    '`application/json` (the default) or `text/csv` (one table, with a file name in Content-Disposition); anything else is 406.',
});
const FROM = ApiQuery({
  name: 'from',
  required: false,
  schema: { type: 'string', format: 'date' },
  description: `First day, YYYY-MM-DD in the lab's time zone. Default: the Monday ${DEFAULT_WEEKS - 1} weeks before \`to\`'s week (${DEFAULT_WEEKS} ISO weeks).`,
});
const TO = ApiQuery({
  name: 'to',
  required: false,
  schema: { type: 'string', format: 'date' },
  description: `Last day (inclusive), YYYY-MM-DD in the lab's time zone; at most ${MAX_RANGE_DAYS} days from \`from\`. Default: today (or ${DEFAULT_WEEKS} weeks after \`from\`, if that is earlier).`,
});

/** What every report route declares: permission, audit row, lab, Accept, errors. */
function ReportRoute(
  name: ReportName,
  summary: string,
  description: string,
  schema: keyof typeof REPORT_SCHEMAS,
  ...params: MethodDecorator[]
) {
  return applyDecorators(
    Get(name),
    RequirePermission(Permission.ReportRead),
    Audited({
      resourceType: 'report',
      interaction: 'aggregate',
      mode: 'read',
      queryParams: ['from', 'to', 'days'],
      subjects: reportFactsOf,
    }),
    ApiOperation({ summary, description }),
    LAB_HEADER,
    ACCEPT,
    ...params,
    ApiResponse({
      status: 200,
      description: 'The report',
      content: {
        'application/json': { schema: { $ref: `#/components/schemas/${schema}` } },
        'text/csv': { schema: { type: 'string' } },
      },
    }),
    ApiErrors(400, 401, 403, 406, 429, 503),
  );
}

const AGGREGATE =
  'Counts only: no patient, case name, note or case id. Each call leaves one audit row (interaction `aggregate`: who, which report, the range).';

/**
 * The lab's reports (issue 16): aggregates computed in SQL on the lab's own
 * cases, JSON or CSV, each call audited as an aggregate disclosure.
 */
@ApiTags('reports')
@ApiBearerAuth()
@Controller('api/v1/reports')
export class ReportsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly context: RequestContext,
    private readonly metrics: MetricsService,
  ) {}

  @ReportRoute(
    'wip-by-stage',
    'Work in progress: open cases per status and stage, and how many are late',
    `A snapshot of now (takes no range). Open: not completed or cancelled, not shipped or delivered. ${AGGREGATE}`,
    'WipByStageReport',
  )
  wipByStage(
    @Query() q: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.serve('wip-by-stage', q, req, reply);
  }

  @ReportRoute(
    'due-calendar',
    'Due calendar: open cases due (and to ship) per working day',
    `The next \`days\` working days of the lab's calendar from \`from\`; a date on a closed day counts on the working day before it; \`overdue\` counts open cases due (to ship) before \`from\`. ${AGGREGATE}`,
    'DueCalendarReport',
    ApiQuery({
      name: 'from',
      required: false,
      schema: { type: 'string', format: 'date' },
      description: "First day, YYYY-MM-DD in the lab's time zone. Default: today.",
    }),
    ApiQuery({
      name: 'days',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: DUE_DAYS_MAX, default: DUE_DAYS_DEFAULT },
      description: 'Working days to list.',
    }),
  )
  dueCalendar(
    @Query() q: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.serve('due-calendar', q, req, reply);
  }

  @ReportRoute(
    'on-time',
    'On-time rate: cases shipped by their ship-by date, per ISO week and per case type',
    `Cases that left the lab (first moved to shipped or delivered, or completed) in the range, against their ship-by date (the due date without one). ${AGGREGATE}`,
    'OnTimeReport',
    FROM,
    TO,
  )
  onTime(
    @Query() q: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.serve('on-time', q, req, reply);
  }

  @ReportRoute(
    'remakes',
    'Remake rate by reason and responsibility',
    `Cases received in the range and the remakes among them; a rate is remakes / cases received. ${AGGREGATE}`,
    'RemakesReport',
    FROM,
    TO,
  )
  remakes(
    @Query() q: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.serve('remakes', q, req, reply);
  }

  @ReportRoute(
    'throughput',
    'Throughput: cases received and shipped per ISO week',
    `Every ISO week the range touches (the first and last may be partial: only days in the range count). ${AGGREGATE}`,
    'ThroughputReport',
    FROM,
    TO,
  )
  throughput(
    @Query() q: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.serve('throughput', q, req, reply);
  }

  private async serve(
    name: ReportName,
    query: Record<string, unknown>,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<object> {
    const lab = this.context.lab;
    const accept = req.headers.accept;
    let format: ReportFormat = 'none';
    try {
      const r = await this.reports.run(
        name,
        { labId: lab.labId, userId: this.context.principal.userId, role: lab.role },
        query,
        typeof accept === 'string' ? accept : undefined,
      );
      format = r.format === 'text/csv' ? 'csv' : 'json';
      const facts = { report: name, from: r.from, to: r.to, format };
      void reply.headers({ vary: 'Accept', 'cache-control': 'private, no-store' });
      this.metrics.reportRequest(name, format, 'success');
      if (format === 'json') return withReportFacts(r.json, facts);
      void reply.headers({
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}_${r.from}_${r.to}.csv"`,
      });
      return withReportFacts(Buffer.from(toCsv(r.csv), 'utf8'), facts);
    } catch (err) {
      const status = err instanceof DomainError ? statusFor(err.code as string) : 500;
      this.metrics.reportRequest(name, format, status < 500 ? 'client_error' : 'error');
      throw err;
    }
  }
}

/** The lab's report settings (a sibling of /lab-settings): whether viewers may read reports. */
@ApiTags('lab settings')
@ApiBearerAuth()
@Controller('api/v1/lab-settings')
export class ReportSettingsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly context: RequestContext,
  ) {}

  @Get('reports')
  @RequirePermission(Permission.CaseRead)
  @ApiOperation({ summary: "Your lab's report settings (viewers may read reports by default)" })
  @ApiOk('ReportSettings')
  @ApiErrors(401, 403, 429, 503)
  get() {
    return this.reports.settings(this.context.lab.labId);
  }

  @Put('reports')
  @RequirePermission(Permission.LabSettings)
  @ApiOperation({
    summary: "Replace your lab's report settings (lab admins)",
    description:
      "`viewer_access: false` withdraws the reports from the lab's viewers (403 for them); admins and members keep them.",
  })
  @ApiJsonBody('ReportSettingsUpdate')
  @ApiOk('ReportSettings')
  @ApiErrors(400, 401, 403, 415, 429, 503)
  put(@Body(new SchemaPipe(REPORT_SCHEMAS, 'ReportSettingsUpdate')) body: ReportSettingsBody) {
    return this.reports.saveSettings(
      this.context.lab.labId,
      this.context.principal.userId,
      body.viewer_access,
    );
  }
}
