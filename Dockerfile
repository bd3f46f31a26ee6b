# syntax=docker/dockerfile:1
# One image for every EAIO process: the compose services pick the role with the command
# (`migrate`, `run <stage>`, `api`). There is no emit step: bin/eaio.mjs runs the TypeScript
# through tsx at start-up, so the build stage only type-checks.

# The Node in .node-version, which local runs use too (tests/unit/node-version.test.ts keeps them equal).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's postinstall tries to fetch CUDA files; the CPU binaries ship in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY . .
# Empty source folders are not tracked by git; create them so the runtime COPYs never miss.
RUN mkdir -p bin cli config pipeline stages domain sources jobs bench eval api sql models grafana \
 && npx tsc --noEmit -p . \
 && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464 \
    API_HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only for the runtime user: the process has no reason to modify its code.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/cli ./cli
COPY --from=build /app/config ./config
COPY --from=build /app/pipeline ./pipeline
COPY --from=build /app/stages ./stages
COPY --from=build /app/domain ./domain
COPY --from=build /app/sources ./sources
COPY --from=build /app/jobs ./jobs
COPY --from=build /app/bench ./bench
COPY --from=build /app/eval ./eval
COPY --from=build /app/api ./api
COPY --from=build /app/sql ./sql
COPY --from=build /app/eval ./eval
COPY --from=build /app/models ./models
COPY --from=build /app/grafana ./grafana
# The base image's unprivileged `node` user (uid 1000); tsx caches transpiled files under /tmp.
USER node
EXPOSE 8080 9464
# V8 flags of every eaio process (cli/node-flags.ts says why).
ENV NODE_OPTIONS=--max-semi-space-size=64
ENTRYPOINT ["node", "bin/eaio.mjs"]
CMD ["--help"]
