import type { Provider } from '@nestjs/common';
import {
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import { METRICS, type MetricSpec } from './metric-catalogue';

function providerOf(spec: MetricSpec): Provider {
  const base = { name: spec.name, help: spec.help, labelNames: [...spec.labels] };
  switch (spec.type) {
    case 'counter':
      return makeCounterProvider(base);
    case 'gauge':
      return makeGaugeProvider(base);
    case 'histogram':
      return makeHistogramProvider({ ...base, buckets: [...(spec.buckets ?? [])] });
  }
}

/** One provider per catalogue entry: the catalogue is the only place a metric is declared. */
export function catalogueProviders(): Provider[] {
  return (METRICS as readonly MetricSpec[]).map(providerOf);
}
