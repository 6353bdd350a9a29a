#!/usr/bin/env bash
# Zero-downtime deploy of LHCMS with Helm, with automatic rollback.
#
# Usage: ops/deploy.sh <image tag> [-f values.yaml ...] [--set k=v ...]
#
#   1. helm upgrade --install --atomic --wait: the pre-upgrade migration Job
#      runs first; pods roll with maxUnavailable 0 and must pass readiness; any
#      failure (migration, rollout, timeout) makes Helm roll back by itself.
#   2. helm test: a pod calls /health/ready through the Service.
#   3. readiness check: the Deployment is fully rolled out and /health/ready
#      answers 200 through the API server's service proxy.
#   If 2 or 3 fails, helm rollback to the previous revision and exit non-zero.
#
# Settings: RELEASE (lhcms), NAMESPACE (lhcms), CHART (helm/lhcms of this
# repository), HELM_TIMEOUT (10m; the chart's migration deadline stays below
# it), HELM (helm), KUBECTL (kubectl). Credentials come from the kubeconfig.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ops/lib.sh
source "$here/lib.sh"

[ $# -ge 1 ] || die "usage: $0 <image tag> [helm values arguments...]"
tag=$1
shift
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "not an image tag: $tag"
RELEASE=${RELEASE:-lhcms}
NAMESPACE=${NAMESPACE:-lhcms}
CHART=${CHART:-$here/../helm/lhcms}
HELM_TIMEOUT=${HELM_TIMEOUT:-10m}
HELM=${HELM:-helm}
KUBECTL=${KUBECTL:-kubectl}
need "$HELM" "$KUBECTL"

previous=$("$HELM" status "$RELEASE" --namespace "$NAMESPACE" -o json 2>/dev/null |
  sed -n 's/.*"version":[[:space:]]*\([0-9][0-9]*\).*/\1/p' | tail -1 || true)
log "deploy start release=$RELEASE namespace=$NAMESPACE tag=$tag previous_revision=${previous:-none}"

"$HELM" upgrade --install "$RELEASE" "$CHART" \
  --namespace "$NAMESPACE" --create-namespace \
  --atomic --wait --wait-for-jobs --timeout "$HELM_TIMEOUT" \
  --set-string image.tag="$tag" "$@" ||
  die "helm upgrade failed (Helm rolled the release back: --atomic)"

fullname=$("$KUBECTL" get deployment --namespace "$NAMESPACE" \
  -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=api" \
  -o jsonpath='{.items[0].metadata.name}')

rollback() {
  log "post-deploy check failed: $1"
  if [ -n "$previous" ]; then
    log "rolling back release=$RELEASE to revision $previous"
    "$HELM" rollback "$RELEASE" "$previous" --namespace "$NAMESPACE" --wait --timeout "$HELM_TIMEOUT" ||
      log "ERROR helm rollback failed: act by hand (helm history $RELEASE -n $NAMESPACE)"
  else
    log "first install: nothing to roll back to"
  fi
  die "deploy of $tag failed: $1"
}

"$HELM" test "$RELEASE" --namespace "$NAMESPACE" --timeout 5m || rollback "helm test failed"
"$KUBECTL" rollout status "deployment/$fullname" --namespace "$NAMESPACE" --timeout 120s ||
  rollback "rollout did not complete"
ready=$("$KUBECTL" get --raw \
  "/api/v1/namespaces/$NAMESPACE/services/http:$fullname:http/proxy/health/ready" 2>&1) ||
  rollback "/health/ready did not answer 200: $ready"
log "deploy ok release=$RELEASE tag=$tag ready=$(printf '%s' "$ready" | tr -d '\n' | cut -c1-200)"
