# A worker container: `docker build -t ferry-worker .`, then
#   docker run -p 8083:8083 -e CONNECT_BOOTSTRAP_SERVERS=kafka:9092 ferry-worker
# runs a standalone worker (configs/worker.json, demo pipelines of
# configs/connectors, offsets in /data). With CONNECT_GROUP_ID set it runs a
# cluster worker instead (configs/worker-container.json, topics connect-*):
#   docker run -e CONNECT_GROUP_ID=ferry -e CONNECT_BOOTSTRAP_SERVERS=kafka:9092 \
#     -e CONNECT_REST_ADVERTISED_HOST_NAME=worker1 ferry-worker
# Every worker option can be set as CONNECT_<OPTION> (see README). Arguments
# replace the default command: `ferry-worker distributed /etc/worker.json`.
# BASE: the Node.js image (tests build on a locally made one).
ARG BASE=node:24-bookworm-slim

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/
COPY packages/connector-kit/package.json packages/connector-kit/
COPY packages/connectors/package.json packages/connectors/
COPY packages/worker/package.json packages/worker/
COPY test/package.json test/
COPY patches patches
# Dependency scripts stay off; the project's own dependency patches (patches/) are applied.
RUN npm ci --no-audit --no-fund --ignore-scripts && npx patch-package --error-on-fail
COPY packages/core/tsconfig.json packages/core/
COPY packages/core/src packages/core/src
COPY packages/connector-kit/tsconfig.json packages/connector-kit/
COPY packages/connector-kit/src packages/connector-kit/src
COPY packages/connectors/tsconfig.json packages/connectors/
COPY packages/connectors/src packages/connectors/src
COPY packages/worker/tsconfig.json packages/worker/
COPY packages/worker/src packages/worker/src
COPY packages/worker/ui packages/worker/ui
COPY packages/worker/scripts packages/worker/scripts
COPY packages/worker/bin packages/worker/bin
# Only compiled code (and the bundled console) and production dependencies go on: no sources, no tests.
RUN npx tsc -b packages/core packages/connector-kit packages/connectors packages/worker \
 && node packages/worker/scripts/build-ui.mjs \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/@ferry/integration-tests \
 && mkdir -p /out/packages \
 && for p in core connector-kit connectors worker; do mkdir -p /out/packages/$p && cp -r packages/$p/package.json packages/$p/dist /out/packages/$p/; done \
 && cp -r packages/worker/bin /out/packages/worker/ \
 && find /out/packages -name '*.tsbuildinfo' -delete

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=8 \
    CONNECT_REST_HOST_NAME=0.0.0.0 \
    CONNECT_REST_AUTH_REQUIRED=true \
    CONNECT_PLUGINS_FILESTREAM_ENABLE=false \
    CONNECT_OFFSET_STORAGE_FILE_FILENAME=/data/connect.offsets
COPY --from=build /app/node_modules node_modules
COPY --from=build /out/packages packages
COPY --from=build /app/package.json ./
COPY configs configs
# The worker runs as `node`: its data folders (offsets, demo sink files under data/) are its own.
RUN mkdir -p /data /app/data && chown node:node /data /app/data
VOLUME /data
EXPOSE 8083
USER node
ENTRYPOINT ["node", "packages/worker/bin/container.mjs"]
