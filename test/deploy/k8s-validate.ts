import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/**
 * Schema validation of rendered manifests, with the OpenAPI schemas shipped by
 * the `kubernetes-models` npm package (Kubernetes API types; the package's
 * schemas are cumulative: every API version that 1.30 serves is in them) and
 * `@kubernetes-models/prometheus-operator` for the ServiceMonitor and
 * PrometheusRule CRDs. Kubernetes 1.30 itself is pinned two ways: Helm renders
 * with `--kube-version 1.30`, and every object's apiVersion/kind must be one
 * that a 1.30 API server serves (KUBE_1_30_KINDS). Those schemas do not reject
 * unknown fields, so the chart tests also check the fields they care about.
 */
type Model = new (data: any) => { validate(): void };

export const KUBE_1_30_KINDS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Pod': Pod,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

export const CRD_KINDS: Record<string, Model> = {
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
}

/** Problems of one object (empty when valid). */
export function validateObject(o: K8sObject): string[] {
  const id = `${o.apiVersion}/${o.kind}`;
  const model = KUBE_1_30_KINDS[id] ?? CRD_KINDS[id];
  if (!model) return [`${id} ${o.metadata?.name}: not an API a Kubernetes 1.30 cluster serves`];
  try {
    new model(o).validate();
    return [];
  } catch (err) {
    return [`${id} ${o.metadata?.name}: ${(err as Error).message}`];
  }
}
