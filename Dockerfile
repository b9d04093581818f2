# The container runtime of the hybrid service: the same app as the Lambda, as an HTTP server on 8080.
# Build: docker build -t serverless-cache-api .   Run: docker run -p 8080:8080 -e UPSTREAM_URL=... -e MEMCACHED_SERVERS=... serverless-cache-api

FROM node:22-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.container.json ./
COPY functions ./functions
RUN npx tsc -p tsconfig.container.json

FROM node:22-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: the runtime packages of functions/ (no Pulumi, no test tools).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/api/main.js"]
