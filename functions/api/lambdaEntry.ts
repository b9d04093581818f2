/**
 * The Lambda factory for Pulumi's `callbackFactory` (components/HybridLambdaFargateService.ts):
 *   callbackFactory: () => createApiLambdaHandler(process.env)
 * Runs once per execution environment (cold start): reads the environment, creates the cache and the
 * ALB handler; both live as long as the environment.
 */
import { createTwoTierCache } from "../cache";
import { jsonLineLog } from "./app";
import { apiMetricsSink, apiSettingsFromEnv, cacheOptionsFromSettings, entryAuthWarning } from "./env";
import { ApiLambdaHandler, LambdaDeps, createApiHandler } from "./lambda";

/** `createLambdaHandler` deps from the environment, with the cache created by the given factory. */
export function lambdaDepsFromEnv(env: Record<string, string | undefined>, cacheFactory: typeof createTwoTierCache = createTwoTierCache): LambdaDeps {
  const s = apiSettingsFromEnv(env);
  const unauthenticated = entryAuthWarning(s);
  if (unauthenticated) jsonLineLog("warn", unauthenticated);
  const metrics = apiMetricsSink(s, "lambda");
  return {
    cache: cacheFactory(cacheOptionsFromSettings(s, jsonLineLog, metrics)),
    ...(metrics ? { flushMetrics: () => metrics.flush() } : {}),
    upstreamUrl: s.upstreamUrl,
    upstreamItemPath: s.upstreamItemPath,
    basePath: s.basePath,
    namespace: s.namespace,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    allowedContentTypes: s.security.allowedContentTypes,
    upstreamMaxBodyBytes: s.security.maxBodyBytes,
    ttlSeconds: s.ttlSeconds,
    staleTtlSeconds: s.staleTtlSeconds,
    routeOptions: { slowMaxMs: s.slowMaxMs, debugRoutes: s.debugRoutes },
    deadlineMarginMs: s.deadlineMarginMs,
    instanceId: s.instanceId,
    largeResponses: s.largeResponseBucket
      ? { bucket: s.largeResponseBucket, expiresInSeconds: s.largeResponseUrlTtlSeconds, locationPrefix: s.largeResponseLocationPrefix }
      : undefined,
  };
}

/**
 * Read the environment, create the cache and return the handler: ALB events are HTTP requests, a
 * direct invocation with a control event invalidates (see functions/cache/invalidation.ts).
 * Throws naming a bad variable.
 */
export function createApiLambdaHandler(env: Record<string, string | undefined> = process.env): ApiLambdaHandler {
  return createApiHandler(lambdaDepsFromEnv(env));
}
