#!/usr/bin/env bash
# The job done by hand, as a platform engineer would script it with kubectl: for each namespace,
# one at a time (or CONCURRENCY at once), record what it had, relabel it, restart every workload
# at once and wait for the rollouts. The benchmark runs it beside the operator.
#   kubectl-migrate.sh forward|rollback NAMESPACE...
# Environment: KUBECTL (path), KUBECONFIG, CONCURRENCY (default 1).
set -euo pipefail
direction="$1"
shift
kubectl="${KUBECTL:-kubectl}"
concurrency="${CONCURRENCY:-1}"

migrate_one() {
  local ns="$1"
  if [ "$direction" = forward ]; then
    "$kubectl" annotate namespace "$ns" --overwrite \
      'script.meshmigration.io/original={"labels":{"istio-injection":"enabled"}}' >/dev/null
    "$kubectl" patch namespace "$ns" --type=merge \
      -p '{"metadata":{"labels":{"istio-injection":null},"annotations":{"linkerd.io/inject":"enabled"}}}' >/dev/null
  else
    "$kubectl" patch namespace "$ns" --type=merge \
      -p '{"metadata":{"labels":{"istio-injection":"enabled"},"annotations":{"linkerd.io/inject":null}}}' >/dev/null
    "$kubectl" annotate namespace "$ns" 'script.meshmigration.io/original-' >/dev/null
  fi
  "$kubectl" rollout restart deployment -n "$ns" >/dev/null
  for deployment in $("$kubectl" get deployment -n "$ns" -o name); do
    "$kubectl" rollout status -n "$ns" "$deployment" --timeout=600s >/dev/null
  done
}
export -f migrate_one
export direction kubectl

printf '%s\n' "$@" | xargs -P "$concurrency" -I{} bash -c 'migrate_one "$@"' _ {}
