# A worker container: `docker build -t ferry-worker .`, then
#   docker run -p 8083:8083 -e CONNECT_BOOTSTRAP_SERVERS=kafka:9092 ferry-worker
# Worker options come from configs/worker.json overridden by CONNECT_* variables;
# mount connector files on /app/configs/connectors (watched) or use the REST API.
ARG BASE=node:24-bookworm-slim
FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/
COPY packages/connectors/package.json packages/connectors/
COPY packages/worker/package.json packages/worker/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY packages packages
RUN npx tsc -b packages/core packages/connectors packages/worker \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production \
    CONNECT_REST_HOST_NAME=0.0.0.0 \
    CONNECT_OFFSET_STORAGE_FILE_FILENAME=/data/connect.offsets
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages packages
COPY --from=build /app/package.json ./
COPY configs configs
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8083
USER node
ENTRYPOINT ["node", "packages/worker/bin/connect-worker.mjs"]
CMD ["standalone", "configs/worker.json"]
