#!/usr/bin/env bash
# Builds consul-k8s-control-plane (its inject-connect subcommand is Consul's
# connect injector in the test cluster) and consul-server-stub (the two calls
# it makes of a Consul server; test/emulators/consul-server-stub/) from the consul-k8s source vendored in
# shared/vendor/consul-k8s (the Go module proxy refuses that module; every
# dependency comes from the proxy). The binary is cached outside the
# repository, keyed by the consul-k8s commit. Prints the binary directory on
# its last line.
#
# The injector insists on in-cluster credentials for its clientset
# (rest.InClusterConfig in subcommand/inject-connect/command.go: a service
# account token at a fixed path). The extracted copy (in the cache, never the
# vendored tarball) loads it like its manager does instead (ctrl.GetConfig:
# --kubeconfig or KUBECONFIG), so the test cluster's kubeconfig serves both.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${CONSUL_K8S_COMMIT:?CONSUL_K8S_COMMIT missing from $here/versions.env}"
short_commit="${CONSUL_K8S_COMMIT:0:12}"

shared_dir="${MMO_SHARED_DIR:-$repo_root/../shared}"
tarball="$shared_dir/vendor/consul-k8s/consul-k8s-${short_commit}-src.tgz"
cache_root="${MMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-migration-operator}"
bin_dir="$cache_root/bin/consul-k8s-${short_commit}"
work="$cache_root/src/consul-k8s-${short_commit}"
binary="$bin_dir/consul-k8s-control-plane"
stub="$bin_dir/consul-server-stub"
stub_src="$repo_root/test/emulators/consul-server-stub/main.go"
stub_hash="$(sha256sum "$stub_src" | cut -c1-16)"
# Part of the cache key: a change of the patch below rebuilds.
patch_id="kubeconfig-v1"
mkdir -p "$bin_dir" "$cache_root/src"

started=$SECONDS
log() { echo "[build-consul +$((SECONDS - started))s] $*" >&2; }

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0
go_parallel="${MMO_GO_BUILD_PARALLEL:-2}"

# The binary only appears by mv, so a complete cache needs no lock.
injector_built() { [[ -x "$binary" && "$(cat "$binary.patch" 2>/dev/null)" == "$patch_id" ]]; }
stub_built() { [[ -x "$stub" && "$(cat "$stub.src-sha256" 2>/dev/null)" == "$stub_hash" ]]; }
built() { injector_built && stub_built; }
if built; then
  echo "$bin_dir"
  exit 0
fi

# The same lock as the other builds: one Go build at a time on 2 cores.
exec 9>"$cache_root/.build.lock"
if ! flock -n 9; then
  log "waiting for another build to finish ($cache_root/.build.lock)"
  flock 9
  log "lock acquired"
fi
if built; then # built by whoever held the lock
  echo "$bin_dir"
  exit 0
fi

[[ -f "$tarball" ]] || { log "vendored consul-k8s source not found: $tarball (set MMO_SHARED_DIR)"; exit 1; }

# Extract once per tarball, into the cache; the vendored tarball is never touched.
tarball_hash="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$(cat "$work/.extracted" 2>/dev/null)" != "$(printf '%s\n%s' "$patch_id" "$tarball_hash")" ]]; then
  log "extracting $(basename "$tarball") into $work"
  rm -rf "$work.tmp"
  mkdir -p "$work.tmp"
  tar -xzf "$tarball" -C "$work.tmp"
  command_go="$work.tmp/control-plane/subcommand/inject-connect/command.go"
  sed -i -e 's|config, err := rest\.InClusterConfig()|config, err := ctrl.GetConfig()|' \
    -e 's|^\(\s*\)"k8s.io/client-go/rest"$|\1_ "k8s.io/client-go/rest"|' "$command_go"
  grep -q 'config, err := ctrl.GetConfig()' "$command_go" || {
    log "could not patch the in-cluster config in $command_go (did the source change?)"
    exit 1
  }
  echo "$patch_id" > "$work.tmp/.extracted"
  echo "$tarball_hash" >> "$work.tmp/.extracted"
  rm -rf "$work"
  mv "$work.tmp" "$work"
fi

cd "$work/control-plane"
if ! injector_built; then
  log "building consul-k8s-control-plane ${short_commit} (cold build: 5-15 minutes, ~3.5 GB)"
  go build -p "$go_parallel" -trimpath -ldflags "-s -w" -o "$binary.tmp" .
  mv "$binary.tmp" "$binary"
  echo "$patch_id" > "$binary.patch"
  log "built consul-k8s-control-plane"
fi
if ! stub_built; then
  log "building consul-server-stub"
  # Inside the consul-k8s module, so it uses exactly its gRPC and Consul proto versions.
  mkdir -p mmo/consul-server-stub
  cp "$stub_src" mmo/consul-server-stub/main.go
  go build -p "$go_parallel" -trimpath -ldflags "-s -w" -o "$stub.tmp" ./mmo/consul-server-stub
  mv "$stub.tmp" "$stub"
  echo "$stub_hash" > "$stub.src-sha256"
  log "built consul-server-stub"
fi
echo "$bin_dir"
