#!/usr/bin/env bash
# Builds Istio's control plane for the tests from the Go module istio.io/istio
# (no release downloads): pilot-discovery (istiod) and istio-render, our small
# wrapper around Istio's own manifest renderer (source in ./istio-render).
# Binaries are cached outside the repository, keyed by the Istio version; the
# render program is rebuilt when its source changes.
# Prints the binary directory on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${ISTIO_VERSION:?ISTIO_VERSION missing from $here/versions.env}"

cache_root="${MMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-migration-operator}"
bin_dir="$cache_root/bin/istio-${ISTIO_VERSION}"
work="$cache_root/src/istio-${ISTIO_VERSION}"
mkdir -p "$bin_dir" "$work"
log() { echo "[build-istio] $*" >&2; }

export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
export CGO_ENABLED=0
go_parallel="${MMO_GO_BUILD_PARALLEL:-2}"

render_src="$here/istio-render/main.go"
render_stamp="$bin_dir/istio-render.sha256"
render_sum="$(sha256sum "$render_src" | cut -d' ' -f1)"
render_fresh() { [[ -x "$bin_dir/istio-render" && -f "$render_stamp" && "$(cat "$render_stamp")" == "$render_sum" ]]; }
all_built() { [[ -x "$bin_dir/pilot-discovery" ]] && render_fresh; }

# Cached: no need to wait for someone else's build.
if all_built; then echo "$bin_dir"; exit 0; fi

# The same lock as the control-plane build: one Go build at a time on the machine
# (pilot-discovery alone peaks at ~2.2 GB with -p 2). Never call this script while
# holding that lock.
exec 9>"$cache_root/.build.lock"
flock 9
if all_built; then echo "$bin_dir"; exit 0; fi

cd "$work"
if [[ ! -f go.sum ]] || ! grep -q "^istio.io/istio ${ISTIO_VERSION} " go.sum; then
  log "resolving istio.io/istio ${ISTIO_VERSION} and its dependencies"
  go mod download -json "istio.io/istio@${ISTIO_VERSION}" > download.json
  upstream_mod="$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' download.json)"
  go_directive="$(awk '$1=="go"{print $2; exit}' "$upstream_mod")"
  {
    echo "module mmo.local/istio-build"
    echo
    echo "go ${go_directive}"
    echo
    echo "require istio.io/istio ${ISTIO_VERSION}"
  } > go.mod
fi
mkdir -p istio-render
cp "$render_src" istio-render/main.go
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "istio.io/istio/pilot/cmd/pilot-discovery"
GO
go mod tidy >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }

module_dir="$(go list -m -f '{{.Dir}}' istio.io/istio)"
istio_tag="$(tr -d '[:space:]' < "$module_dir/VERSION").0" # VERSION holds the minor, e.g. 1.31
commit="${ISTIO_VERSION##*-}"
ldflags="-s -w"
for kv in "buildVersion=${istio_tag}" "buildTag=${istio_tag}" "buildHub=docker.io/istio" \
  "buildGitRevision=${commit}" "buildStatus=Clean" "buildOS=linux" "buildArch=$(go env GOARCH)"; do
  ldflags+=" -X istio.io/istio/pkg/version.${kv}"
done

build() { # name package
  local name="$1" pkg="$2" started=$SECONDS
  log "go build $name (istio ${istio_tag}, ${ISTIO_VERSION})"
  go build -p "$go_parallel" -trimpath -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "$pkg"
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  log "built $name in $((SECONDS - started))s"
}

[[ -x "$bin_dir/pilot-discovery" ]] || build pilot-discovery istio.io/istio/pilot/cmd/pilot-discovery
if ! render_fresh; then
  build istio-render ./istio-render
  echo "$render_sum" > "$render_stamp"
fi
echo "$bin_dir"
