export { MetricsModule } from './metrics.module';
export {
  MetricsService,
  type CaseOperation,
  type EventStreamClose,
  type EventStreamRefusal,
  type ReportFormat,
  type ReportLabel,
  type ReportOutcome,
} from './metrics.service';
