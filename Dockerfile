# One image per mesh service:  docker build --build-arg SERVICE=scanner -t mirror/scanner .
# The workspace packages export TypeScript source; the build stage bundles the service into
# dist/main.mjs (esbuild, as `pnpm start` does), so the image runs it on plain node: no
# TypeScript loader in memory.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<service folder name>" >&2; exit 1; }
# pnpm 12 ships as a native binary inside the npm package; npm installs it the same on every Node.
RUN npm install -g pnpm@12.4.2
WORKDIR /src
# Dependencies first, keyed on the lockfile (and the patches it applies, patches/), so source
# edits reuse this layer.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY patches/ patches/
RUN pnpm fetch
COPY packages/ packages/
COPY services/ services/
RUN pnpm install --offline --frozen-lockfile
RUN pnpm deploy --filter @mirror/${SERVICE} --prod /out
RUN pnpm mirror bundle ${SERVICE} --out /out/dist

FROM ${NODE_IMAGE}
ARG SERVICE
# The scanner shells out to git; repos are mounted read-only and owned by another uid. The
# service-tracker's icmp checks run the system `ping` (iputils-ping; it needs CAP_NET_RAW, which
# docker-compose.yml adds to the tracker, or a ping_group_range that includes the tracker's gid).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
    $(if [ "$SERVICE" = service-tracker ]; then echo iputils-ping; fi) \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
# glibc's malloc thresholds fixed at their defaults (as `pnpm start` sets them): its dynamic
# thresholds would grow after start-up's large short-lived buffers and keep freed memory
# resident (docs/PERFORMANCE.md, "Idle footprint, second pass").
ENV NODE_ENV=production \
    MIRROR_SERVICE=${SERVICE} \
    MIRROR_CONFIG=/config/mirror.yaml \
    GIT_OPTIONAL_LOCKS=0 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_MMAP_THRESHOLD_=131072
COPY deploy/docker/healthcheck.mjs /opt/mirror/healthcheck.mjs
COPY --from=build /out /app
WORKDIR /app
USER node
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/opt/mirror/healthcheck.mjs"]
# The V8 flags `pnpm start` gives each service (packages/cli/src/node-flags.ts).
CMD ["node", "--max-semi-space-size=2", "--max-old-space-size=512", "--no-memory-reducer", "--no-maglev", "dist/main.mjs"]
