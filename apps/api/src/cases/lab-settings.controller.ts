import { Body, Controller, Get, Put, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission, RequirePermission } from '../ums-gateway';
import { roleAllows } from '../ums-gateway/permissions';
import { type CaseActor, CasesService } from './cases.service';
import type { LabSettingsBody } from './dto/case.schemas';

/** Per-lab settings: today, the ordered production stages of `in_progress` cases. */
@ApiTags('lab settings')
@Controller('api/v1/lab-settings')
export class LabSettingsController {
  constructor(
    private readonly cases: CasesService,
    private readonly context: RequestContext,
  ) {}

  private actor(req: FastifyRequest): CaseActor {
    const lab = this.context.lab;
    return {
      userId: this.context.principal.userId,
      labId: lab.labId,
      token: '',
      canReopen: roleAllows(lab.role, Permission.CaseReopen),
      requestId: String(req.id),
    };
  }

  @Get()
  @RequirePermission(Permission.CaseRead)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Your lab's settings (the stage list; the defaults until an admin changes them)",
  })
  @ApiOk('LabSettings')
  @ApiErrors(401, 403, 429, 503)
  get(@Req() req: FastifyRequest) {
    return this.cases.getSettings(this.actor(req));
  }

  @Put()
  @RequirePermission(Permission.LabSettings)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Replace your lab's stage list (lab admins)",
    description: 'Cases keep their current stage; a stage no longer listed can only be left.',
  })
  @ApiJsonBody('LabSettingsUpdate')
  @ApiOk('LabSettings')
  @ApiErrors(400, 401, 403, 415, 429, 503)
  put(
    @Req() req: FastifyRequest,
    @Body(new SchemaPipe('LabSettingsUpdate')) body: LabSettingsBody,
  ) {
    return this.cases.saveSettings(this.actor(req), body.stages);
  }
}
