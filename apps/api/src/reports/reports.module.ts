import { Module } from '@nestjs/common';
import { ScheduleModule } from '../schedule';
import { ReportsController, ReportSettingsController } from './reports.controller';
import { ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';

/** The lab's reports (aggregates, JSON or CSV) and its report settings. */
@Module({
  imports: [ScheduleModule],
  controllers: [ReportsController, ReportSettingsController],
  providers: [ReportsService, ReportsRepository],
})
export class ReportsModule {}
