#!/usr/bin/env bash
# Builds the local control plane from Go modules (no release downloads here):
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd, and kwok.
# Binaries are cached outside the repository, keyed by component versions.
# Prints the binary directory on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${MMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-migration-operator}"
bin_dir="$cache_root/bin/k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
mkdir -p "$bin_dir"
log() { echo "[build-control-plane] $*" >&2; }

# A cold Go build prints nothing for minutes: say every minute what is still building.
heartbeat_pid=""
start_heartbeat() { # what
  local what="$1" started=$SECONDS
  # Ends with the script too ($$ is the script's pid even in a subshell), should a build fail.
  ( while sleep 60 && kill -0 $$ 2>/dev/null; do log "still building $what ($((SECONDS - started))s so far)"; done ) &
  heartbeat_pid=$!
}
stop_heartbeat() { [[ -n "$heartbeat_pid" ]] && kill "$heartbeat_pid" 2>/dev/null; heartbeat_pid=""; }
trap stop_heartbeat EXIT

# One Go build at a time keeps peak memory well inside 24 GiB on 2 cores.
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0
go_parallel="${MMO_GO_BUILD_PARALLEL:-2}"

# Serialise concurrent builders (two test runs starting at once).
exec 9>"$cache_root/.build.lock"
flock 9

k8s_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

build_kubernetes() {
  local missing=0
  for b in "${k8s_binaries[@]}"; do [[ -x "$bin_dir/$b" ]] || missing=1; done
  [[ $missing == 0 ]] && return
  local work="$cache_root/src/kubernetes-${KUBERNETES_VERSION}"
  mkdir -p "$work"
  log "building Kubernetes ${KUBERNETES_VERSION} (cold build: several minutes)"
  (
    cd "$work"
    go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" > download.json
    local upstream_mod upstream_dir
    upstream_mod="$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' download.json)"
    upstream_dir="$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' download.json)"
    local go_directive staging_version
    go_directive="$(awk '$1=="go"{print $2; exit}' "$upstream_mod")"
    # Staging modules are published as v0.<minor>.<patch> for v1.<minor>.<patch>.
    staging_version="v0.${KUBERNETES_VERSION#v1.}"
    {
      echo "module mmo.local/kubernetes-build"
      echo
      echo "go ${go_directive}"
      echo
      echo "require k8s.io/kubernetes ${KUBERNETES_VERSION}"
      echo
      echo "replace ("
      # The release's own go.mod lists every staging module it replaces with a
      # local path; point each at its published version instead.
      awk '/=> \.\/staging\/src\//{print "\t" $1 " => " $1 " '"$staging_version"'"}' "$upstream_mod"
      echo ")"
    } > go.mod
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    GOFLAGS="$GOFLAGS -mod=mod" go mod tidy -e >/dev/null 2>&1 || true
    GOFLAGS="$GOFLAGS -mod=mod" go mod download
    local commit
    commit="$(cat "$upstream_dir/.gitcommit" 2>/dev/null || echo 0000000000000000000000000000000000000000)"
    local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
    local ldflags=""
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION}"
      ldflags+=" -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
      ldflags+=" -X ${pkg}.gitCommit=${commit} -X ${pkg}.gitTreeState=clean"
      ldflags+=" -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
    done
    for b in "${k8s_binaries[@]}"; do
      [[ -x "$bin_dir/$b" ]] && continue
      log "go build $b"
      local started=$SECONDS
      start_heartbeat "$b"
      GOFLAGS="$GOFLAGS -mod=mod" go build -p "$go_parallel" -trimpath -ldflags "-s -w $ldflags" \
        -o "$bin_dir/$b.tmp" "k8s.io/kubernetes/cmd/$b"
      stop_heartbeat
      mv "$bin_dir/$b.tmp" "$bin_dir/$b"
      log "built $b in $((SECONDS - started))s"
    done
  )
}

build_module_binary() { # name module-path package version
  local name="$1" module="$2" pkg="$3" version="$4"
  [[ -x "$bin_dir/$name" ]] && return
  local work="$cache_root/src/$name-$version"
  mkdir -p "$work"
  log "building $name $version"
  (
    cd "$work"
    [[ -f go.mod ]] || go mod init "mmo.local/$name-build" >/dev/null 2>&1
    GOFLAGS="$GOFLAGS -mod=mod" go get "${module}@${version}" >go-get.log 2>&1 || { cat go-get.log >&2; exit 1; }
    local started=$SECONDS
    start_heartbeat "$name"
    GOFLAGS="$GOFLAGS -mod=mod" go build -p "$go_parallel" -trimpath -ldflags "-s -w" -o "$bin_dir/$name.tmp" "$pkg"
    stop_heartbeat
    mv "$bin_dir/$name.tmp" "$bin_dir/$name"
    log "built $name in $((SECONDS - started))s"
  )
}

build_kubernetes
build_module_binary etcd go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
build_module_binary kwok sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
echo "$bin_dir"
