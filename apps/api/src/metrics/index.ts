export { MetricsModule } from './metrics.module';
export { MetricsService, type CaseOperation } from './metrics.service';
