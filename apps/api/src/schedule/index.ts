export { ScheduleModule } from './schedule.module';
export { type CasePlan, LabSchedule } from './lab-schedule';
export { type CaseTiming, ON_TIME, ScheduleClock } from './case-timing';
export { isCivilDate } from './business-days';
