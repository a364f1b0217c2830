#!/usr/bin/env bash
# Checks the container image without a Docker engine: hadolint and the project's Dockerfile
# rules, then the Dockerfile's stages replayed in a temporary directory and the result started
# as the image's user on a read-only root filesystem (see scripts/check-image.ts).
#   scripts/check-image.sh               lint, build, smoke (also against $E2E_KUBECONFIG if set)
#   scripts/check-image.sh --lint-only   lint only
#   scripts/check-image.sh --keep        keep the temporary directory for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests' pinned Node (the "node" devDependency), which the image's base also provides.
node_bin=node_modules/node/bin/node
if [[ ! -x $node_bin ]]; then
  echo "check-image: run 'npm ci' first (it installs the pinned Node this check runs on)" >&2
  exit 1
fi
exec "$node_bin" scripts/check-image.ts "$@"
