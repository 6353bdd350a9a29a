export { ScheduleModule } from './schedule.module';
export { type CasePlan, LabSchedule } from './lab-schedule';
