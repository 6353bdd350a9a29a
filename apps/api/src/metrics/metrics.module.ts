import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { MetricsController } from './metrics.controller';
import { catalogueProviders } from './metrics.providers';
import { MetricsService } from './metrics.service';

export const METRICS_PATH = '/metrics';

/**
 * Prometheus metrics (prom-client's global registry through
 * @willsoto/nestjs-prometheus): the catalogue's metrics, prom-client's default
 * Node metrics, and `GET /metrics`. Global, so that any module can inject
 * MetricsService (the controller, declared by PrometheusModule, needs it too).
 */
@Global()
@Module({
  imports: [
    PrometheusModule.register({
      controller: MetricsController,
      path: METRICS_PATH,
      // Once per process: a second app in the same process (tests) shares the
      // registry, and prom-client refuses to register the default metrics twice.
      defaultMetrics: { enabled: !register.getSingleMetric('process_cpu_user_seconds_total') },
    }),
  ],
  providers: [...catalogueProviders(), MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
