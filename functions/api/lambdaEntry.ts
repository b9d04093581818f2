/**
 * The Lambda factory for Pulumi's `callbackFactory` (components/HybridLambdaFargateService.ts):
 *   callbackFactory: () => createApiLambdaHandler(process.env)
 * Runs once per execution environment (cold start): reads the environment, creates the cache and the
 * ALB handler; both live as long as the environment.
 */
import { createTwoTierCache } from "../cache";
import { jsonLineLog } from "./app";
import { apiSettingsFromEnv, cacheOptionsFromSettings } from "./env";
import { AlbHandler, LambdaDeps, createLambdaHandler } from "./lambda";

/** `createLambdaHandler` deps from the environment, with the cache created by the given factory. */
export function lambdaDepsFromEnv(env: Record<string, string | undefined>, cacheFactory: typeof createTwoTierCache = createTwoTierCache): LambdaDeps {
  const s = apiSettingsFromEnv(env);
  return {
    cache: cacheFactory(cacheOptionsFromSettings(s, jsonLineLog)),
    upstreamUrl: s.upstreamUrl,
    upstreamItemPath: s.upstreamItemPath,
    basePath: s.basePath,
    namespace: s.namespace,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    ttlSeconds: s.ttlSeconds,
    staleTtlSeconds: s.staleTtlSeconds,
    routeOptions: { slowMaxMs: s.slowMaxMs },
    deadlineMarginMs: s.deadlineMarginMs,
    instanceId: s.instanceId,
    largeResponses: s.largeResponseBucket
      ? { bucket: s.largeResponseBucket, expiresInSeconds: s.largeResponseUrlTtlSeconds, locationPrefix: s.largeResponseLocationPrefix }
      : undefined,
  };
}

/** Read the environment, create the cache and return the ALB handler. Throws naming a bad variable. */
export function createApiLambdaHandler(env: Record<string, string | undefined> = process.env): AlbHandler {
  return createLambdaHandler(lambdaDepsFromEnv(env));
}
