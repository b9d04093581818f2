/**
 * The program's own app, passed to HybridLambdaFargateService exactly as a user's app would be
 * (index.ts: `app: demoApp`): /items/{id}?lang= through the platform's two-tier cache from the
 * upstream, /runtime and /slow (test routes, API_DEBUG_ROUTES), in both runtimes.
 *
 * Its variables come through `appEnvironment` (UPSTREAM_ITEM_PATH, API_DEBUG_ROUTES) or are set by
 * the component for every app (UPSTREAM_URL, UPSTREAM_TIMEOUT_MS, CACHE_TTL_SECONDS,
 * CACHE_NAMESPACE): see app/settings.ts and docs/api.md.
 */
import { randomUUID } from "node:crypto";
import type { AppFactory, FetchApp } from "../functions/platform/types";
import { ApiDeps, InstanceStats, cacheKeyForPath, createApp, createItemFastPath } from "./app";
import { demoSettingsFromEnv } from "./settings";

/** The npm packages the demo app loads at run time (the component's `appPackages`). */
export const DEMO_APP_PACKAGES = ["hono", "got"];

/** The demo app's factory: runs once per Lambda execution environment or container process. */
export const demoApp: AppFactory = (ctx): FetchApp => {
  const s = demoSettingsFromEnv(ctx.env);
  const deps: ApiDeps = {
    cache: ctx.cache,
    runtime: ctx.runtime,
    log: ctx.log,
    upstreamUrl: s.upstreamUrl,
    upstreamItemPath: s.upstreamItemPath,
    namespace: s.namespace,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    allowedContentTypes: s.security.allowedContentTypes,
    upstreamMaxBodyBytes: s.security.maxBodyBytes,
    ttlSeconds: s.ttlSeconds,
    staleTtlSeconds: s.staleTtlSeconds,
    routeOptions: { slowMaxMs: s.slowMaxMs, debugRoutes: s.debugRoutes },
  };
  // One instance identity and request counter for fetch and the fast path (/runtime counts both).
  const stats: InstanceStats = { id: s.instanceId ?? randomUUID(), startedAt: Date.now(), requests: 0 };
  const app = createApp({ ...deps, stats });
  const routeOptions = deps.routeOptions;
  return {
    fetch: app.fetch,
    cacheKeyForPath: (path) => cacheKeyForPath(path, { namespace: s.namespace, routeOptions }),
    ...(ctx.runtime === "container" ? { fastPath: createItemFastPath({ ...deps, stats }) } : {}),
  };
};
