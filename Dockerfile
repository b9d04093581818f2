# The container runtime of the hybrid service: the same app as the Lambda, as an HTTP server on 8080.
# Build: docker build -t serverless-cache-api .   Run: docker run -p 8080:8080 -e UPSTREAM_URL=... -e MEMCACHED_SERVERS=... serverless-cache-api

# The build stage runs on the builder's own platform (no emulation): its output (JavaScript) is the same
# for every architecture. Only the runtime stage, with its production npm ci, is built for the target.
# The base image is pinned by digest (a tag can be moved; a digest cannot). The digest is that of the
# multi-platform index of node:22-slim (amd64 and arm64), so both stages resolve the same image on every
# builder. Dependabot (.github/dependabot.yml, docker) proposes a new digest when the tag moves. To
# check or refresh it by hand: docker buildx imagetools inspect node:22-slim
FROM --platform=$BUILDPLATFORM node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.container.json ./
COPY functions ./functions
RUN npx tsc -p tsconfig.container.json

FROM node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5 AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: the runtime packages of functions/ (no Pulumi, no test tools).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
USER node
EXPOSE 8080
# No HEALTHCHECK: it would start a second Node process every interval on a 0.25 vCPU task and, under
# the load that causes a failover, get healthy tasks replaced. The ALB target group checks /health.
CMD ["node", "--enable-source-maps", "dist/api/main.js"]
