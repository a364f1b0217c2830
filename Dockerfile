# syntax=docker/dockerfile:1
#
# mesh-migration-operator image.
#
# Three stages: `build` compiles src/ to dist/ with the dev toolchain, `production-dependencies`
# installs only the runtime dependencies, and the final stage holds just those two plus
# package.json ("type": "module"). The same Node release as the tests' (the "node"
# devDependency pins 24.21.0) runs the operator: every stage uses the same base image.
#
# At run time nothing is written to disk (logs go to stdout), so the image works with a
# read-only root filesystem, as a numeric non-root user, without npm in the entrypoint.
# Without a Docker engine, test/unit/deploy/dockerfile.test.ts holds this file to the project's
# rules and image-layout.test.ts builds the final stage's layout and runs it as USER, read-only.

FROM node:24.21.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no third-party install script runs at build time. It also leaves the
# "node" devDependency (the tests' pinned runtime) as an empty package: the base image's
# node, the same release, runs the compiler.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24.21.0-trixie-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24.21.0-trixie-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="mesh-migration-operator" \
      org.opencontainers.image.description="Kubernetes operator that moves workloads between service meshes namespace by namespace, verified from the pods." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the runtime user: the code cannot be changed in place.
COPY package.json ./
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# 65532: the conventional "nonroot" id; numeric so that runAsNonRoot can verify it.
USER 65532:65532
# /metrics, /healthz and /readyz (--health-bind-address, default 0.0.0.0:8080).
EXPOSE 8080
# Kubernetes ignores HEALTHCHECK (deploy/ declares liveness and readiness probes); this one
# serves `docker run`. It follows HEALTH_BIND_ADDRESS when that moves the port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const port = (process.env.HEALTH_BIND_ADDRESS ?? ':8080').split(':').pop(); fetch(`http://127.0.0.1:${port}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
# No --enable-source-maps: it held about 10 MB more heap (client-node's maps), measured by
# bench:scale, which runs this ENTRYPOINT's flags; dist/ keeps src/'s names and line shapes.
ENTRYPOINT ["node", "dist/main.js"]
