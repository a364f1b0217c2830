#!/usr/bin/env bash
# Builds promtool from the Prometheus Go module github.com/prometheus/prometheus
# (cmd/promtool), for the monitoring tests (check rules, test rules). Cached
# outside the repository, keyed by the module version. Prints the binary
# directory on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${PROMETHEUS_VERSION:?PROMETHEUS_VERSION missing from $here/versions.env}"
# shellcheck source=go-tool-lib.sh
source "$here/go-tool-lib.sh"

# The release number (e.g. 3.16.0) is in the module's VERSION file; stamped so
# `promtool --version` names it, as a release build would.
promtool_ldflags() { # module-dir
  local pkg=github.com/prometheus/common/version
  echo "-X $pkg.Version=$(tr -d '[:space:]' <"$1/VERSION") -X $pkg.Branch=HEAD"
}

build_go_tool build-promtool "prometheus-$PROMETHEUS_VERSION" promtool \
  github.com/prometheus/prometheus "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool promtool_ldflags
