# Sourced by build-helm.sh and build-promtool.sh: builds one command of a Go
# module (from the module proxy, no release downloads) into a cache directory
# outside the repository, keyed by the module's version.
# Usage: build_go_tool LOG_NAME BIN_DIR_NAME BINARY MODULE VERSION PACKAGE LDFLAGS_FUNCTION
# LDFLAGS_FUNCTION is called with the module's source directory once the module
# is downloaded and prints the -X flags a release build would stamp in.
# Prints the binary directory on its last line; a no-op when the binary is cached.

build_go_tool() {
  local log_name="$1" bin_dir_name="$2" binary="$3" module="$4" version="$5" package="$6" ldflags_function="$7"
  local cache_root="${MMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-migration-operator}"
  local bin_dir="$cache_root/bin/$bin_dir_name"
  local work="$cache_root/src/$bin_dir_name"
  local started=$SECONDS
  log() { echo "[$log_name +$((SECONDS - started))s] $*" >&2; }

  # Binaries only appear by mv, so a complete cache needs no lock.
  if [[ -x "$bin_dir/$binary" ]]; then echo "$bin_dir"; return 0; fi
  if ! command -v go >/dev/null; then
    log "Go is not on PATH: install Go (https://go.dev/dl/) to build $binary $version, or put that binary at $bin_dir/$binary"
    return 1
  fi
  mkdir -p "$bin_dir" "$work"

  export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
  export CGO_ENABLED=0
  local go_parallel="${MMO_GO_BUILD_PARALLEL:-2}"

  # Resolving modules is network, not CPU: done before queueing for the build
  # lock, under a lock of its own so two runs do not write one go.mod at once.
  exec 8>"$work/.prepare.lock"
  flock 8
  prepare_go_tool_module "$module" "$version" "$package" "$work" || return 1
  flock -u 8
  local ldflags
  ldflags="$("$ldflags_function" "$(cd "$work" && go list -m -f '{{.Dir}}' "$module")")"

  # The same lock as build-control-plane.sh and the mesh builds: one Go build at
  # a time on the machine.
  exec 9>"$cache_root/.build.lock"
  if ! flock -n 9; then
    log "waiting for another build to finish ($cache_root/.build.lock)"
    flock 9
    log "lock acquired"
  fi
  if [[ -x "$bin_dir/$binary" ]]; then echo "$bin_dir"; return 0; fi # built while we waited

  log "go build $binary ($module $version; cold build: several minutes)"
  local build_started=$SECONDS
  start_go_tool_heartbeat "$log_name" "$binary"
  (cd "$work" && go build -p "$go_parallel" -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/$binary.tmp" "$package")
  stop_go_tool_heartbeat
  mv "$bin_dir/$binary.tmp" "$bin_dir/$binary"
  log "built $binary in $((SECONDS - build_started))s"
  echo "$bin_dir"
}

# A build module that requires only MODULE@VERSION, so every dependency is at
# the version the module itself asks for.
prepare_go_tool_module() { # module version package work
  local module="$1" version="$2" package="$3" work="$4"
  if [[ -f "$work/go.sum" ]] && grep -q "^$module $version " "$work/go.sum"; then return 0; fi
  log "resolving $module $version and its dependencies"
  (
    cd "$work"
    go mod download -json "$module@$version" >download.json 2>&1 || { cat download.json >&2; exit 1; }
    local upstream_mod go_directive
    upstream_mod="$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' download.json)"
    go_directive="$(awk '$1=="go"{print $2; exit}' "$upstream_mod")"
    printf 'module mmo.local/%s-build\n\ngo %s\n\nrequire %s %s\n' \
      "$(basename "$work")" "$go_directive" "$module" "$version" >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >tools.go
    go mod tidy >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }
  )
}

# A cold Go build prints nothing for minutes: say every minute what is still building.
go_tool_heartbeat_pid=""
start_go_tool_heartbeat() { # log-name what
  local log_name="$1" what="$2" since=$SECONDS
  # Ends with the script too ($$ is the script's pid even in a subshell), should the build fail.
  # Without the lock files: its last `sleep` would hold the build lock for up to a minute after.
  ( exec 8>&- 9>&-
    while sleep 60 && kill -0 $$ 2>/dev/null; do
      echo "[$log_name] still building $what ($((SECONDS - since))s so far)" >&2
    done ) &
  go_tool_heartbeat_pid=$!
  trap stop_go_tool_heartbeat EXIT
}
stop_go_tool_heartbeat() {
  [[ -n "$go_tool_heartbeat_pid" ]] && kill "$go_tool_heartbeat_pid" 2>/dev/null
  go_tool_heartbeat_pid=""
}
