import * as path from "node:path";
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RUNTIME_ENV } from "../../functions/platform/env";
import { HEALTH_PATH } from "../../functions/platform/http";
import { installedPackageOf, lambdaCodePathOptions } from "../lambdaPackaging";
import type { HybridLambdaFargateServiceArgs } from "../HybridLambdaFargateService";

/** Port the container server listens on (the Fargate target group's port). */
export const CONTAINER_PORT = 8080;

/** The route the Fargate target group's health check uses: answered by the platform before any app. */
export { HEALTH_PATH };

/**
 * The npm packages the platform's runtime code loads (functions/platform + functions/cache): the
 * cache (memjs, lru-cache), the large-response path (the S3 client and presigner, loaded lazily),
 * the container server's Node adapter (@hono/node-server, loaded only in the container) and hono,
 * which that adapter requires as a peer dependency (peers are not followed by the packaging, which
 * walks `dependencies`). `appPackages` are added.
 */
export const PLATFORM_PACKAGES = ["memjs", "lru-cache", "@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner", "@hono/node-server", "hono"];

/**
 * Variables the component sets for both runtimes: `appEnvironment` may not set them (the platform
 * reads them; a clash would silently change the platform's behaviour).
 */
export const PLATFORM_ENVIRONMENT = [
  "CACHE_MAC_KEY_PARAMETER", "MEMCACHED_CONFIG_ENDPOINT", "MEMCACHED_SERVERS", "MEMCACHED_TLS", "UPSTREAM_URL",
  "UPSTREAM_TIMEOUT_MS", "CACHE_TTL_SECONDS", "LARGE_RESPONSE_BUCKET", "LARGE_RESPONSE_LOCATION_PREFIX", "API_BASE_PATH",
  "PORT", RUNTIME_ENV,
];

/** The generic Dockerfile copied into every generated build context (the repository root's). */
export const GENERIC_DOCKERFILE = path.join(__dirname, "..", "..", "Dockerfile");

/** The packages and code path options both runtimes' artifacts are built with. */
export interface AppPackaging {
  /** This code's own package when it runs installed from node_modules (then shipped by name), else undefined. */
  self: string | undefined;
  /** Fresh code path options for the app's artifact (the Lambda archive and the container context). */
  codePathOptions(): ReturnType<typeof lambdaCodePathOptions>;
}

/** Platform packages + the app's + (installed as a package by another program) this code itself. */
export function appPackaging(appPackages: readonly string[] | undefined): AppPackaging {
  // Installed as a package by another program, this code is `require`d from node_modules by name: ship it.
  // __dirname of components/hybrid: installedPackageOf walks up to the same package as from components/.
  const self = installedPackageOf(__dirname);
  const packages = Array.from(new Set([...PLATFORM_PACKAGES, ...(appPackages ?? []), ...(self ? [self] : [])])).sort();
  return { self, codePathOptions: () => lambdaCodePathOptions({ uses: packages }) };
}

/** The environment both runtimes get: the app's variables (resolveHybridSettings checked they do not clash) and the platform's. */
export function runtimeEnvironment(
  args: HybridLambdaFargateServiceArgs,
  entryKeys: aws.ssm.Parameter,
  bucket: aws.s3.Bucket,
): Record<string, pulumi.Input<string>> {
  return {
    ...args.appEnvironment,
    // The name, not the keys: each runtime reads them with its own role at cold start.
    CACHE_MAC_KEY_PARAMETER: entryKeys.name,
    MEMCACHED_CONFIG_ENDPOINT: args.memcached.configurationEndpoint,
    MEMCACHED_SERVERS: pulumi.output(args.memcached.nodeEndpoints).apply((n) => n.join(",")),
    UPSTREAM_URL: args.upstreamUrl,
    UPSTREAM_TIMEOUT_MS: String(args.upstreamTimeoutMs ?? 3000),
    CACHE_TTL_SECONDS: String(args.cacheTtlSeconds ?? 300),
    LARGE_RESPONSE_BUCKET: bucket.bucket,
    ...(args.memcached.transitEncryption ? { MEMCACHED_TLS: "on" } : {}),
    ...(args.basePath ? { API_BASE_PATH: args.basePath } : {}),
    ...(args.largeResponseLocationPrefix ? { LARGE_RESPONSE_LOCATION_PREFIX: args.largeResponseLocationPrefix } : {}),
  };
}
