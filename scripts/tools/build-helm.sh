#!/usr/bin/env bash
# Builds Helm's CLI from its Go module helm.sh/helm/v4 (cmd/helm), for the
# chart's lint, template and install tests. Cached outside the repository,
# keyed by the Helm version. Prints the binary directory on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${HELM_VERSION:?HELM_VERSION missing from $here/versions.env}"
# shellcheck source=go-tool-lib.sh
source "$here/go-tool-lib.sh"

# What Helm's own Makefile stamps into a tagged release (`helm version`).
helm_ldflags() { # module-dir (unused: the version is the module's)
  local pkg=helm.sh/helm/v4/internal/version
  echo "-X $pkg.version=$HELM_VERSION -X $pkg.metadata= -X $pkg.gitTreeState=clean"
}

build_go_tool build-helm "helm-$HELM_VERSION" helm helm.sh/helm/v4 "$HELM_VERSION" helm.sh/helm/v4/cmd/helm helm_ldflags
