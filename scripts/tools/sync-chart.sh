#!/usr/bin/env bash
# Copies into the Helm chart the files it ships but does not own: the CRD (crds/, generated from
# src/api/schema.ts), the ClusterRole's rules (deploy/cluster-role.yaml), the write limits
# (deploy/write-limits.yaml, generated from src/install/write-limits.ts) and the monitoring
# (deploy/monitoring/). A chart reads only files inside its own directory, so these are copies;
# test/unit/deploy/helm-chart.test.ts fails while one is stale. Run after `npm run crds`, or an
# edit to deploy/cluster-role.yaml or deploy/monitoring/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chart="$repo/charts/mesh-migration-operator"

rm -f "$chart"/crds/*.yaml
cp "$repo"/crds/*.yaml "$chart/crds/"
cp "$repo/deploy/cluster-role.yaml" "$chart/files/cluster-role.yaml"
cp "$repo/deploy/write-limits.yaml" "$chart/files/write-limits.yaml"
cp "$repo/deploy/monitoring/prometheus-rule.yaml" "$chart/files/prometheus-rule.yaml"
cp "$repo/deploy/monitoring/grafana-dashboard.json" "$chart/files/grafana-dashboard.json"
echo "[sync-chart] copied crds/, deploy/cluster-role.yaml, deploy/write-limits.yaml and deploy/monitoring/ into ${chart#"$repo"/}" >&2
