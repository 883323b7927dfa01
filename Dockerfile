# syntax=docker/dockerfile:1
#
# OpAMP Commander server image.
#   docker build -t opamp-commander:0.1.0 --build-arg OPAMP_COMMANDER_COMMIT=$(git rev-parse HEAD) .
#   docker run --rm -p 8080:8080 -p 4320:4320 -p 4321:4321 \
#     -e MONGODB_URI='mongodb://HOST:27017/opamp-commander' opamp-commander:0.1.0
#
# In production MONGODB_URI must be set: without it the server falls back to its embedded
# database launcher, which is meant for laptops (data under DATA_DIR, one replica only).
# The image runs as uid 10001 and writes only under /data (DATA_DIR) and /tmp, so it works with
# a read-only root filesystem when both are mounted as writable volumes.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS builder
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Dependencies first, so that a source change reuses this layer.
COPY package.json package-lock.json ./
# The web UI is an npm workspace of the root: its package.json belongs to the one lockfile.
COPY web/package.json ./web/
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

COPY . .
ARG OPAMP_COMMANDER_COMMIT=unknown
ENV OPAMP_COMMANDER_COMMIT=${OPAMP_COMMANDER_COMMIT}
# `npm run build` generates src/gen (buf + protoc-gen-es from node_modules), compiles, and builds
# the web UI into dist/web (served at /); then
# record the commit (the build context has no .git) and drop the dev dependencies.
RUN npm run build \
 && if [ -f scripts/write-build-info.js ]; then node scripts/write-build-info.js; fi \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf dist/.tsbuildinfo dist/.tsbuildinfo.build

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG OPAMP_COMMANDER_COMMIT=unknown
LABEL org.opencontainers.image.title="OpAMP Commander" \
      org.opencontainers.image.description="Management server for fleets of OpenTelemetry agents over OpAMP (WebSocket, plain HTTP, gRPC)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${OPAMP_COMMANDER_COMMIT}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="OpAMP Commander" \
      org.opencontainers.image.base.name="node:22-bookworm-slim"

# The runtime needs node only: remove npm, npx, corepack and yarn (less to patch, no package
# manager between the orchestrator's SIGTERM and the server), and add the unprivileged user.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && groupadd --system --gid 10001 opamp \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin opamp \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0750 /data

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    API_PORT=8080 \
    OPAMP_PORT=4320 \
    GRPC_PORT=4321 \
    DATA_DIR=/data \
    OPAMP_COMMANDER_CACHE_DIR=/data/.cache \
    LOG_FORMAT=json \
    OPAMP_COMMANDER_COMMIT=${OPAMP_COMMANDER_COMMIT}

WORKDIR /app
# Owned by root and not writable by the server's user: the code cannot be changed at run time.
# proto/ is read at run time (the gRPC service definition; also how the server finds its root).
COPY --from=builder /app/package.json ./package.json
COPY --from=builder /app/proto ./proto
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080 4320 4321

# No curl in the slim image: node asks /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# The base image's entrypoint script is not needed: node runs as PID 1 and receives SIGTERM
# directly (the server drains and exits on it).
ENTRYPOINT []
# A 32 MB young-generation semi-space (V8's default is 16 MB): the OpAMP path allocates many
# short-lived objects per message, and during a 10,000-agent config rollout this halved the
# garbage collector's CPU (bench/RESULTS.md). `npm start` and the benchmark run the same flag.
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]
