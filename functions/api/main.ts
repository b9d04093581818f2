/**
 * Container entry: `node -r ts-node/register/transpile-only functions/api/main.ts` (or the compiled
 * main.js). Reads the environment (see docs/api.md), serves on PORT (8080), and on SIGTERM/SIGINT
 * drains in-flight requests, closes the cache and exits 0.
 */
import { createTwoTierCache } from "../cache";
import { jsonLineLog } from "./app";
import { apiMetricsSink, apiSettingsFromEnv, cacheOptionsFromSettings, detectRuntime, entryAuthWarning } from "./env";
import { startContainerServer } from "./server";

async function main(): Promise<void> {
  let settings;
  try {
    settings = apiSettingsFromEnv(process.env);
  } catch (e) {
    jsonLineLog("error", "bad configuration", { error: e instanceof Error ? e.message : String(e) });
    process.exitCode = 78; // EX_CONFIG
    return;
  }
  const unauthenticated = entryAuthWarning(settings);
  if (unauthenticated) jsonLineLog("warn", unauthenticated);
  // The same resilience metrics (breaker, shedding, negative cache) as the Lambda runtime.
  const cache = createTwoTierCache(cacheOptionsFromSettings(settings, jsonLineLog, apiMetricsSink(settings, "container")));
  const server = await startContainerServer(
    {
      cache,
      upstreamUrl: settings.upstreamUrl,
      upstreamItemPath: settings.upstreamItemPath,
      basePath: settings.basePath,
      runtime: detectRuntime(process.env),
      namespace: settings.namespace,
      upstreamTimeoutMs: settings.upstreamTimeoutMs,
      allowedContentTypes: settings.security.allowedContentTypes,
      upstreamMaxBodyBytes: settings.security.maxBodyBytes,
      ttlSeconds: settings.ttlSeconds,
      staleTtlSeconds: settings.staleTtlSeconds,
      routeOptions: { slowMaxMs: settings.slowMaxMs, debugRoutes: settings.debugRoutes },
      requestTimeoutMs: settings.requestTimeoutMs,
      instanceId: settings.instanceId,
    },
    settings.port,
  );
  // One line on stdout when ready: orchestration and tests wait for it.
  console.log(JSON.stringify({ level: "INFO", message: "listening", port: server.port, url: server.url, pid: process.pid }));

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ level: "INFO", message: "shutting down", signal }));
    const hardStop = setTimeout(() => {
      jsonLineLog("error", "shutdown took too long; exiting", { graceMs: settings.shutdownGraceMs });
      process.exit(1);
    }, settings.shutdownGraceMs + 5000);
    hardStop.unref();
    try {
      await server.close(settings.shutdownGraceMs);
      await cache.close();
    } catch (e) {
      jsonLineLog("error", "error during shutdown", { error: e instanceof Error ? e.message : String(e) });
    }
    console.log(JSON.stringify({ level: "INFO", message: "stopped" }));
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

main().catch((e: unknown) => {
  jsonLineLog("error", "failed to start", { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
