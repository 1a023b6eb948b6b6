# syntax=docker/dockerfile:1
# The local parity proxy in a container. The command is the one the tests run: node dist/bin/proxy.js

FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY lib ./lib
COPY constructs ./constructs
COPY lambda ./lambda
COPY bench ./bench
RUN npm run build \
 # The CDK is a devDependency (synth only), so pruning leaves the proxy's and the drain's packages
 # alone (test/container/container.test.ts starts both with exactly these).
 && npm prune --omit=dev

FROM node:24-trixie-slim AS runtime
ENV NODE_ENV=production
# jemalloc instead of glibc's malloc: after 10k idle TLS connections close, glibc keeps some 300 MiB
# of freed native memory that the process cannot hand back, jemalloc returns it (docs/proxy.md,
# "Where it differs from the ALB"; `npm run bench:proxy-idle-tls` measures both with this MALLOC_CONF).
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2)" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 8080 8443 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The admin API binds beyond loopback here: run with -e ALBATROSS_ADMIN_TOKEN=<secret> (required).
ENTRYPOINT ["node", "dist/bin/proxy.js"]
CMD ["--template", "/config/Albatross.template.json", "--bind", "0.0.0.0", "--admin-bind", "0.0.0.0"]
