# The container runtime of HybridLambdaFargateService: generic, the same for every app. The component
# copies this file, unchanged, into the build context it generates for each service
# (.serverless-cache/containers/<stack>/<service>/, git-ignored), next to:
#   __index.js    the app with the platform around it, serialized by Pulumi's closure serializer with the
#                 options aws.lambda.CallbackFunction uses: byte-identical to the Lambda archive's __index.js;
#   node_modules  the packages that code loads: the same set as the Lambda archive (pure JavaScript only).
# Nothing is compiled or installed here (no tsc, no npm ci), so the image runs exactly the code the Lambda
# runs, and the one context serves linux/arm64 and linux/amd64 without emulating a build step.
# Run a generated context locally: docker build -t api .serverless-cache/containers/dev/svc-dev
#   docker run -p 8080:8080 -e UPSTREAM_URL=... -e MEMCACHED_SERVERS=... api
#
# The base image is pinned by digest (a tag can be moved; a digest cannot). The digest is that of the
# multi-platform index of node:22-slim (amd64 and arm64), so every builder resolves the same image for
# both architectures. Dependabot (.github/dependabot.yml, docker) proposes a new digest when the tag
# moves. To check or refresh it by hand: docker buildx imagetools inspect node:22-slim
FROM node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5
# SERVERLESS_CACHE_RUNTIME=container: loading __index.js serves HTTP on PORT (and drains on SIGTERM)
# instead of returning the Lambda handler.
ENV NODE_ENV=production PORT=8080 SERVERLESS_CACHE_RUNTIME=container
WORKDIR /app
COPY node_modules ./node_modules
COPY __index.js ./
USER node
EXPOSE 8080
# No HEALTHCHECK: it would start a second Node process every interval on a 0.25 vCPU task and, under
# the load that causes a failover, get healthy tasks replaced. The ALB target group checks /health.
CMD ["node", "__index.js"]
