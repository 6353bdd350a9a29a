import { Module } from '@nestjs/common';
import { LabScheduleController } from './lab-schedule.controller';
import { LabSchedule } from './lab-schedule';

/** The lab's schedule: calendar, turnaround, and the dates of a case that follow from them. */
@Module({
  controllers: [LabScheduleController],
  providers: [LabSchedule],
  exports: [LabSchedule],
})
export class ScheduleModule {}
