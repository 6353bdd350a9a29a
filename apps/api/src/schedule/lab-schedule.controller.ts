import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequestContext } from '@lhcms/request-context';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission, RequirePermission } from '../ums-gateway';
import { LabSchedule } from './lab-schedule';
import {
  type LabCalendarBody,
  type RemakeReasonsBody,
  SCHEDULE_SCHEMAS,
  type TurnaroundBody,
} from './schedule.schemas';

/** The lab's calendar, turnaround table and remake reasons (siblings of /lab-settings). */
@ApiTags('lab settings')
@ApiBearerAuth()
@Controller('api/v1/lab-settings')
export class LabScheduleController {
  constructor(
    private readonly schedule: LabSchedule,
    private readonly context: RequestContext,
  ) {}

  @Get('calendar')
  @RequirePermission(Permission.CaseRead)
  @ApiOperation({ summary: "Your lab's calendar (the defaults until an admin sets it)" })
  @ApiOk('LabCalendar')
  @ApiErrors(401, 403, 429, 503)
  getCalendar() {
    return this.schedule.calendar(this.context.lab.labId);
  }

  @Put('calendar')
  @RequirePermission(Permission.LabSettings)
  @ApiOperation({
    summary: "Replace your lab's calendar (lab admins)",
    description:
      'Time zone, working days, closures, public holidays and the daily cut-off. Existing cases keep their dates; only new cases and explicit reschedules use the new calendar.',
  })
  @ApiJsonBody('LabCalendarUpdate')
  @ApiOk('LabCalendar')
  @ApiErrors(400, 401, 403, 415, 429, 503)
  putCalendar(@Body(new SchemaPipe(SCHEDULE_SCHEMAS, 'LabCalendarUpdate')) body: LabCalendarBody) {
    return this.schedule.saveCalendar(this.context.lab.labId, this.context.principal.userId, body);
  }

  @Get('turnaround')
  @RequirePermission(Permission.CaseRead)
  @ApiOperation({ summary: "Your lab's turnaround table (the defaults until an admin sets it)" })
  @ApiOk('Turnaround')
  @ApiErrors(401, 403, 429, 503)
  getTurnaround() {
    return this.schedule.turnaround(this.context.lab.labId);
  }

  @Put('turnaround')
  @RequirePermission(Permission.LabSettings)
  @ApiOperation({
    summary: "Replace your lab's turnaround table (lab admins)",
    description:
      'Working days per case type (optionally per product): standard, rush and transit; expected days per stage. Case types not listed keep their defaults. Existing cases keep their dates.',
  })
  @ApiJsonBody('TurnaroundUpdate')
  @ApiOk('Turnaround')
  @ApiErrors(400, 401, 403, 415, 429, 503)
  putTurnaround(@Body(new SchemaPipe(SCHEDULE_SCHEMAS, 'TurnaroundUpdate')) body: TurnaroundBody) {
    return this.schedule.saveTurnaround(
      this.context.lab.labId,
      this.context.principal.userId,
      body,
    );
  }

  @Get('remake-reasons')
  @RequirePermission(Permission.CaseRead)
  @ApiOperation({
    summary: "Your lab's remake reason catalogue (the defaults until an admin sets it)",
  })
  @ApiOk('RemakeReasons')
  @ApiErrors(401, 403, 429, 503)
  getRemakeReasons() {
    return this.schedule.remakeReasons(this.context.lab.labId);
  }

  @Put('remake-reasons')
  @RequirePermission(Permission.LabSettings)
  @ApiOperation({
    summary: "Replace your lab's remake reason catalogue (lab admins)",
    description:
      'The codes a remake may give as `reason_code`, with their labels, in display order. Remakes made earlier keep their codes, also one no longer listed.',
  })
  @ApiJsonBody('RemakeReasonsUpdate')
  @ApiOk('RemakeReasons')
  @ApiErrors(400, 401, 403, 415, 429, 503)
  putRemakeReasons(
    @Body(new SchemaPipe(SCHEDULE_SCHEMAS, 'RemakeReasonsUpdate')) body: RemakeReasonsBody,
  ) {
    return this.schedule.saveRemakeReasons(
      this.context.lab.labId,
      this.context.principal.userId,
      body,
    );
  }
}
