#!/usr/bin/env bash
# Builds Linkerd's controller binary (its proxy-injector subcommand is the
# Linkerd injector of the test cluster) and linkerd-values (renders the chart's
# linkerd-config and webhook configuration) from the linkerd2 source vendored
# in shared/vendor/linkerd2 (the Go module proxy refuses that module; every
# dependency comes from the proxy). Binaries are cached outside the repository,
# keyed by the linkerd2 commit. Prints the binary directory on its last line.
#
# The injector reads its values, trust roots and serving certificate from
# fixed paths under /var/run/linkerd (pkg/k8s MountPathBase). The extracted
# copy (in the cache, never the vendored tarball) gets that constant rewritten
# to ".", so the process reads config/, identity/ and tls/ relative to its
# working directory: each injector runs with its cwd in its own state dir, and
# nothing outside it is touched.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${LINKERD_COMMIT:?LINKERD_COMMIT missing from $here/versions.env}"
short_commit="${LINKERD_COMMIT:0:12}"

shared_dir="${MMO_SHARED_DIR:-$repo_root/../shared}"
tarball="$shared_dir/vendor/linkerd2/linkerd2-${short_commit}-src.tgz"
cache_root="${MMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-migration-operator}"
bin_dir="$cache_root/bin/linkerd-${short_commit}"
work="$cache_root/src/linkerd2-${short_commit}"
mkdir -p "$bin_dir" "$cache_root/src"

started=$SECONDS
log() { echo "[build-linkerd +$((SECONDS - started))s] $*" >&2; }

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0
go_parallel="${MMO_GO_BUILD_PARALLEL:-2}"

values_src="$here/linkerd-values/main.go"
values_hash="$(sha256sum "$values_src" | cut -c1-16)"
controller_ok=0 values_ok=0
check_built() {
  controller_ok=0 values_ok=0
  [[ -x "$bin_dir/linkerd-controller" ]] && controller_ok=1
  [[ -x "$bin_dir/linkerd-values" && "$(cat "$bin_dir/linkerd-values.src-sha256" 2>/dev/null)" == "$values_hash" ]] &&
    values_ok=1
  [[ $controller_ok == 1 && $values_ok == 1 ]]
}
# Binaries only appear by mv, so a complete cache needs no lock.
if check_built; then
  echo "$bin_dir"
  exit 0
fi

# The same lock as build-control-plane.sh: one Go build at a time on 2 cores.
exec 9>"$cache_root/.build.lock"
if ! flock -n 9; then
  log "waiting for another build to finish ($cache_root/.build.lock)"
  flock 9
  log "lock acquired"
fi
if check_built; then # built by whoever held the lock
  echo "$bin_dir"
  exit 0
fi

[[ -f "$tarball" ]] || { log "vendored linkerd2 source not found: $tarball (set MMO_SHARED_DIR)"; exit 1; }

# Extract once per tarball; the patched copy lives only in the cache.
tarball_hash="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$(cat "$work/.extracted" 2>/dev/null)" != "$tarball_hash" ]]; then
  log "extracting $(basename "$tarball") into $work"
  rm -rf "$work.tmp"
  mkdir -p "$work.tmp"
  tar -xzf "$tarball" -C "$work.tmp"
  labels="$work.tmp/pkg/k8s/labels.go"
  sed -i 's|^\(\s*MountPathBase\s*=\s*\)"/var/run/linkerd"|\1"."|' "$labels"
  grep -Eq '^\s*MountPathBase\s*=\s*"\."' "$labels" || {
    log "could not rewrite MountPathBase in $labels (did the source change?)"
    exit 1
  }
  echo "$tarball_hash" > "$work.tmp/.extracted"
  rm -rf "$work"
  mv "$work.tmp" "$work"
  # A binary built from another extraction would not match this source.
  rm -f "$bin_dir/linkerd-controller" "$bin_dir/linkerd-values" "$bin_dir/linkerd-values.src-sha256"
  controller_ok=0
  values_ok=0
fi

cd "$work"
if [[ $controller_ok == 0 ]]; then
  log "building linkerd-controller ${short_commit} (cold build: a few minutes)"
  go build -p "$go_parallel" -trimpath -ldflags "-s -w" -o "$bin_dir/linkerd-controller.tmp" ./controller/cmd
  mv "$bin_dir/linkerd-controller.tmp" "$bin_dir/linkerd-controller"
  log "built linkerd-controller"
fi
if [[ $values_ok == 0 ]]; then
  log "building linkerd-values"
  # Built inside the linkerd2 module, so it uses exactly its charts and dependencies.
  mkdir -p mmo/linkerd-values
  cp "$values_src" mmo/linkerd-values/main.go
  go build -p "$go_parallel" -trimpath -ldflags "-s -w" -o "$bin_dir/linkerd-values.tmp" ./mmo/linkerd-values
  mv "$bin_dir/linkerd-values.tmp" "$bin_dir/linkerd-values"
  echo "$values_hash" > "$bin_dir/linkerd-values.src-sha256"
  log "built linkerd-values"
fi
echo "$bin_dir"
