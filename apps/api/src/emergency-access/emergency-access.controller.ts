import { Body, Controller, Get, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequestContext } from '@lhcms/request-context';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { WithoutLab } from '../common/http/public.decorator';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Audited, type AuditSubjects } from '../audit';
import { bearerToken, Permission, RequirePermission } from '../ums-gateway';
import { firstHeader, EmergencyAccessService, type GrantView } from './emergency-access.service';
import { EMERGENCY_SCHEMAS, type EmergencyGrantRequestBody } from './emergency-access.schemas';

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description:
    'A lab you are an admin of: its grants. Without it: your own grants (as their requester).',
});
const ID = ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } });

const grantSubjects = (r: unknown): AuditSubjects => {
  const g = r as GrantView;
  return { ids: [g.id], labId: g.lab_id };
};
const listSubjects = (r: unknown): AuditSubjects => {
  const l = r as { lab_id: string | null; grants: GrantView[] };
  return { ids: l.grants.map((g) => g.id), labId: l.lab_id ?? undefined };
};

/**
 * Emergency access (break-glass, docs/hipaa.md#emergency-access). The routes
 * act in no lab of the caller's (`@WithoutLab()`): a requester usually has
 * none; the use case decides who may do what.
 */
@ApiTags('emergency-access')
@ApiBearerAuth()
@Controller('api/v1/emergency-access')
@WithoutLab()
@RequirePermission(Permission.EmergencyAccess)
export class EmergencyAccessController {
  constructor(
    private readonly grants: EmergencyAccessService,
    private readonly context: RequestContext,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Request emergency access to a lab (or one of its cases)',
    description:
      'A UMS system admin or a user with a platform role of EMERGENCY_ACCESS_ROLES. Takes effect at once (or after a second person approves, with EMERGENCY_ACCESS_APPROVAL). Use it with `X-Emergency-Grant: <id>` and `X-Lab-Id: <lab_id>`.',
  })
  @ApiJsonBody('EmergencyGrantRequest')
  @ApiOk('EmergencyGrant', 201)
  @ApiErrors(400, 401, 403, 404, 415, 503)
  @Audited({ resourceType: 'EmergencyGrant', interaction: 'create', mode: 'transactional' })
  create(
    @Body(new SchemaPipe(EMERGENCY_SCHEMAS, 'EmergencyGrantRequest'))
    body: EmergencyGrantRequestBody,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<GrantView> {
    return this.grants.request(this.context.principal, bearerToken(authorization), body);
  }

  @Get()
  @LAB_HEADER
  @ApiOperation({ summary: "A lab's emergency grants (its admins), or your own" })
  @ApiOk('EmergencyGrantList')
  @ApiErrors(401, 403, 503)
  @Audited({
    resourceType: 'EmergencyGrant',
    interaction: 'search',
    mode: 'read',
    subjects: listSubjects,
  })
  list(@Headers('x-lab-id') lab: string | string[] | undefined) {
    return this.grants.list(this.context.principal, firstHeader(lab) || undefined);
  }

  @Get(':id')
  @LAB_HEADER
  @ID
  @ApiOperation({
    summary: 'One emergency grant with its accesses (from the audit trail)',
    description: "For the admins of the grant's lab (X-Lab-Id) and its requester.",
  })
  @ApiOk('EmergencyGrantDetail')
  @ApiErrors(401, 404, 503)
  @Audited({
    resourceType: 'EmergencyGrant',
    interaction: 'read',
    mode: 'read',
    idParam: 'id',
    subjects: grantSubjects,
  })
  get(@Param('id') id: string, @Headers('x-lab-id') lab: string | string[] | undefined) {
    return this.grants.get(this.context.principal, id, firstHeader(lab) || undefined);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @LAB_HEADER
  @ID
  @ApiOperation({
    summary: 'Revoke an emergency grant',
    description:
      "The admins of the grant's lab (X-Lab-Id) or its requester. An ended grant: 409. The body is an empty JSON object (`{}`, application/json); any key is 400.",
  })
  @ApiOk('EmergencyGrant')
  @ApiErrors(400, 401, 404, 409, 415, 503)
  @Audited({
    resourceType: 'EmergencyGrant',
    interaction: 'update',
    mode: 'transactional',
    idParam: 'id',
  })
  revoke(
    @Param('id') id: string,
    @Headers('x-lab-id') lab: string | string[] | undefined,
    @Body(new SchemaPipe(EMERGENCY_SCHEMAS, 'EmergencyGrantAction')) _body: Record<string, never>,
  ) {
    return this.grants.revoke(this.context.principal, id, firstHeader(lab) || undefined);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiHeader({ name: 'X-Lab-Id', required: true, description: "The grant's lab." })
  @ID
  @ApiOperation({
    summary: 'Approve a pending emergency grant (EMERGENCY_ACCESS_APPROVAL)',
    description:
      'A second person: another platform-role user, or an admin of the lab. The duration starts now. Not pending: 409. The body is an empty JSON object (`{}`, application/json); any key is 400.',
  })
  @ApiOk('EmergencyGrant')
  @ApiErrors(400, 401, 403, 404, 409, 415, 503)
  @Audited({
    resourceType: 'EmergencyGrant',
    interaction: 'update',
    mode: 'transactional',
    idParam: 'id',
  })
  approve(
    @Param('id') id: string,
    @Headers('x-lab-id') lab: string | string[] | undefined,
    @Body(new SchemaPipe(EMERGENCY_SCHEMAS, 'EmergencyGrantAction')) _body: Record<string, never>,
  ) {
    return this.grants.approve(this.context.principal, id, firstHeader(lab) || undefined);
  }
}
