#!/usr/bin/env bash
# The Gateway API CRDs (standard channel) exactly as the sigs.k8s.io/gateway-api Go module ships
# them (config/crd/standard/), taken from the Go module proxy and cached outside the repository,
# keyed by version. The test cluster installs them: a waypoint is a Gateway of class
# istio-waypoint. Prints the CRD directory on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${GATEWAY_API_VERSION:?GATEWAY_API_VERSION missing from $here/versions.env}"

cache_root="${MMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-migration-operator}"
crd_dir="$cache_root/bin/gateway-api-${GATEWAY_API_VERSION}"
if [ -f "$crd_dir/.complete" ]; then
  echo "$crd_dir"
  exit 0
fi

echo "[gateway-api] go mod download sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}" >&2
module_dir="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}" | jq -r .Dir)"
if [ ! -d "$module_dir/config/crd/standard" ]; then
  echo "[gateway-api] the module has no config/crd/standard (got $module_dir)" >&2
  exit 1
fi
rm -rf "$crd_dir" && mkdir -p "$crd_dir"
cp "$module_dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$crd_dir/"
chmod u+w "$crd_dir"/*.yaml
touch "$crd_dir/.complete"
echo "[gateway-api] $(ls "$crd_dir"/*.yaml | wc -l) CRDs in $crd_dir" >&2
echo "$crd_dir"
