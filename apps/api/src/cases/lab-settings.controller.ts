import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { SCHEMAS } from '../case-model';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission, RequirePermission } from '../ums-gateway';
import { Actor } from './case-params.decorators';
import { type CaseActor, CasesService } from './cases.service';
import type { LabSettingsBody } from '../case-model';

/** Per-lab settings: today, the ordered production stages of `in_progress` cases. */
@ApiTags('lab settings')
@Controller('api/v1/lab-settings')
export class LabSettingsController {
  constructor(private readonly cases: CasesService) {}

  @Get()
  @RequirePermission(Permission.CaseRead)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Your lab's settings (the stage list; the defaults until an admin changes them)",
  })
  @ApiOk('LabSettings')
  @ApiErrors(401, 403, 429, 503)
  get(@Actor() actor: CaseActor) {
    return this.cases.getSettings(actor);
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
    @Actor() actor: CaseActor,
    @Body(new SchemaPipe(SCHEMAS, 'LabSettingsUpdate')) body: LabSettingsBody,
  ) {
    return this.cases.saveSettings(actor, body.stages);
  }
}
