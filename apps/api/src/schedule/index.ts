export { ScheduleModule } from './schedule.module';
export { type CasePlan, LabSchedule } from './lab-schedule';
export {
  type CaseTiming,
  FINISHED_STATUSES,
  GONE_STAGES,
  lateSql,
  OPEN_CASE_SQL,
  ON_TIME,
  ScheduleClock,
} from './case-timing';
export {
  addDays,
  isCivilDate,
  isoWeekday,
  isWorkingDay,
  nextWorkingDay,
  addWorkingDays,
  toDayNumber,
  type WorkCalendar,
} from './business-days';
