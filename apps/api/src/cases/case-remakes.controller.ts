import { Body, Controller, Param, Post, Res, UseInterceptors } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CaseIdPipe, type CaseRemakeBody, SCHEMAS } from '../case-model';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission } from '../ums-gateway';
import { CaseOperationsInterceptor } from './case-operations.interceptor';
import { Actor } from './case-params.decorators';
import { CaseRoute, type CaseRouteDocs } from './case-route.decorator';
import { type CaseActor, CasesService } from './cases.service';
import { etagOf } from './dto/case.response';

const REMAKE_DOCS: CaseRouteDocs = {
  summary: 'Remake a case: a new case that makes this one again',
  description:
    "Copies the prescription (doctor, product, case type, name, description, priority, special instructions, patient, prescription objects) into a new `pending` case with a new case number, linked by `remake_of` (and listed in the original's `remakes`). Its due date comes from the lab's calendar from now, with the rush turnaround when the lab's turnaround says `remake_uses_rush` (or the original was a rush order). `reason_code` is one of the lab's remake reasons (GET /api/v1/lab-settings/remake-reasons). `notes` is kept encrypted in both timelines. A cancelled or deleted case is 409 CASE_NOT_REMAKEABLE; another lab's case is 404.",
  ok: { schema: 'Case', description: 'The new case (Location: its URL)' },
  errors: [400, 401, 403, 404, 409, 413, 415, 429, 503],
};

/** POST /cases/{id}/remake (apart from CasesController, which keeps to the case itself). */
@ApiTags('cases')
@Controller('api/v1/cases')
@UseInterceptors(CaseOperationsInterceptor)
export class CaseRemakesController {
  constructor(private readonly cases: CasesService) {}

  @Post(':id/remake')
  @CaseRoute({
    permission: Permission.CaseCreate,
    operation: 'remake',
    status: 201,
    id: true,
    body: 'CaseRemake',
    // The use case audits the new case's creation in its transaction (a refusal names the original).
    audit: { interaction: 'create', mode: 'transactional' },
    docs: REMAKE_DOCS,
  })
  async remake(
    @Actor() actor: CaseActor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) id: number,
    @Body(new SchemaPipe(SCHEMAS, 'CaseRemake')) body: CaseRemakeBody,
  ) {
    const created = await this.cases.remake(actor, id, body);
    void res.header('location', `/api/v1/cases/${created.id}`);
    void res.header('etag', etagOf(created.version));
    return created;
  }
}
