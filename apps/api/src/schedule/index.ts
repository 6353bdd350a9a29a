export { ScheduleModule } from './schedule.module';
export { type CasePlan, LabSchedule } from './lab-schedule';
export {
  type CaseTiming,
  FINISHED_STATUSES,
  GONE_STAGES,
  ON_TIME,
  ScheduleClock,
} from './case-timing';
export { isCivilDate } from './business-days';
