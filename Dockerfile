# syntax=docker/dockerfile:1
#
# Switchboard image: `docker build -t switchboard .`
#
#   docker run -p 4000:4000 -v "$PWD/config.yaml:/app/config.yaml:ro" \
#     -v switchboard-data:/app/data -e OPENAI_API_KEY switchboard
#
# Stages: `build` compiles TypeScript with every dependency; `prod-deps` installs only the
# production dependencies and compiles better-sqlite3's native addon; the runtime stage gets
# dist/ and that node_modules, and nothing else: no compiler, no devDependencies, no sources.
# Every stage starts from the same image, so the addon is built against the runtime's own Node
# ABI and glibc.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# better-sqlite3 downloads a prebuilt addon when one matches; otherwise node-gyp compiles it,
# which needs python3, make and a C++ compiler.
FROM base AS build-tools
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*

# Compile src/ to dist/ and build the admin UI (ui/) into dist/ui. --ignore-scripts: `npm ci` would
# otherwise run our `prepare` script (the build) before the sources are copied in, and neither tsc
# nor vite needs a native addon.
FROM build-tools AS build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY ui ./ui
RUN npm run build

# Production dependencies only. --ignore-scripts again keeps `prepare` (which needs TypeScript, a
# devDependency) from running; the one dependency that needs its install script is rebuilt by name.
FROM build-tools AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3 \
  && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()" \
  && npm cache clean --force

FROM base AS runtime
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's helper threads, the SQLite
# writer) a malloc arena of its own and keeps what they freed; capped at two, the gateway holds
# ~10 MB less memory outside the JavaScript heap under load (bench/README.md, "Memory").
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
# Runs as the image's unprivileged `node` user (uid 1000). /app/data holds the embedded SQLite
# database (when DATABASE_URL is not set) and usage rows spilled while the database is down:
# mount a volume there to keep them.
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root --from=prod-deps /app/node_modules ./node_modules
COPY --chown=root:root --from=build /app/dist ./dist
COPY --chown=root:root config.example.yaml ./config.example.yaml
RUN mkdir -p /app/data && chown node:node /app/data
USER node

EXPOSE 4000
# /health/liveliness answers as long as the process serves HTTP (the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/health/liveliness').then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]

# The CLI handles SIGTERM itself: it stops accepting requests, finishes the ones in flight and
# flushes queued usage rows before exiting. --host 0.0.0.0: inside a container the gateway must
# take connections from outside it (the published port, other containers); what reaches the
# container is decided where its port is published.
CMD ["node", "bin/switchboard.js", "start", "--config", "/app/config.yaml", "--host", "0.0.0.0", "--port", "4000"]
