/**
 * The one entry of both runtimes. `hybridEntry(appFactory)` is the `callbackFactory` of the API
 * Lambda (aws.lambda.CallbackFunction), and the very same factory, serialized by the same closure
 * serializer with the same options, is the `__index.js` of the container image
 * (components/lambdaPackaging.ts `writeContainerContext`). Loading `__index.js` runs the factory once:
 *
 * - Lambda (default): reads the environment, creates the two-tier cache, runs the app factory and
 *   returns the handler (ALB events are HTTP requests; a direct invocation with a control event
 *   invalidates). Throws naming a bad variable (the init fails).
 * - Container (SERVERLESS_CACHE_RUNTIME=container, set by the generated Dockerfile and `npm start`):
 *   the same, then serves HTTP on PORT and drains on SIGTERM/SIGINT. A bad environment exits 78.
 */
import { createTwoTierCache } from "../cache";
import { apiMetricsSink, cacheOptionsFromSettings, entryAuthWarning, entryRuntime, platformSettingsFromEnv } from "./env";
import type { PlatformSettings } from "./env";
import { ApiLambdaHandler, createApiHandler } from "./lambda";
import { describeError, jsonLineLog } from "./log";
import { ContainerServer, startContainerServer } from "./server";
import type { AppContext, AppFactory, FetchApp } from "./types";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The Lambda handler of `appFactory` for this environment: call it once per execution environment.
 * `cacheFactory` is for tests (e.g. counting caches).
 */
export function createLambdaEntry(appFactory: AppFactory, env: Env = process.env, cacheFactory: typeof createTwoTierCache = createTwoTierCache): ApiLambdaHandler {
  const s = platformSettingsFromEnv(env);
  const unauthenticated = entryAuthWarning(s);
  if (unauthenticated) jsonLineLog("warn", unauthenticated);
  const metrics = apiMetricsSink(s, "lambda");
  const cache = cacheFactory(cacheOptionsFromSettings(s, jsonLineLog, metrics));
  const ctx: AppContext = { cache, log: jsonLineLog, runtime: "lambda", env };
  // Called now (the init phase): a factory that throws fails the cold start, naming its problem.
  const app = appFactory(ctx);
  return createApiHandler({
    app,
    cache,
    basePath: s.basePath,
    deadlineMarginMs: s.deadlineMarginMs,
    defaultBudgetMs: s.requestTimeoutMs,
    ...(metrics ? { flushMetrics: () => metrics.flush() } : {}),
    largeResponses: s.largeResponseBucket
      ? { bucket: s.largeResponseBucket, expiresInSeconds: s.largeResponseUrlTtlSeconds, locationPrefix: s.largeResponseLocationPrefix }
      : undefined,
  });
}

/** A running container: its server, and the graceful stop SIGTERM runs. */
export interface RunningContainer {
  server: ContainerServer;
  settings: PlatformSettings;
  /** Drain (in-flight requests finish, within SHUTDOWN_GRACE_MS) and close the cache. */
  stop(): Promise<void>;
}

/** Exit code of a bad environment (EX_CONFIG). */
export const EXIT_BAD_CONFIG = 78;

/**
 * Serve `appFactory` over HTTP on PORT: the container runtime. With `signals` (the default) it
 * prints one `{"message":"listening","url":...}` line when ready, and SIGTERM/SIGINT drain and exit 0;
 * a bad environment or a failing app factory exits 78.
 */
export async function startContainer(appFactory: AppFactory, env: Env = process.env, options: { signals?: boolean; hostname?: string; overrideGlobalObjects?: boolean } = {}): Promise<RunningContainer | undefined> {
  const signals = options.signals ?? true;
  let settings: PlatformSettings;
  let app: FetchApp;
  let cache: ReturnType<typeof createTwoTierCache>;
  try {
    settings = platformSettingsFromEnv(env);
    const unauthenticated = entryAuthWarning(settings);
    if (unauthenticated) jsonLineLog("warn", unauthenticated);
    // The same resilience metrics (breaker, shedding, negative cache) as the Lambda runtime.
    cache = createTwoTierCache(cacheOptionsFromSettings(settings, jsonLineLog, apiMetricsSink(settings, "container")));
    app = await appFactory({ cache, log: jsonLineLog, runtime: "container", env });
  } catch (e) {
    jsonLineLog("error", "bad configuration", describeError(e, false));
    if (!signals) throw e;
    process.exitCode = EXIT_BAD_CONFIG;
    process.exit(EXIT_BAD_CONFIG);
  }
  const server = await startContainerServer(
    { app, basePath: settings.basePath, requestTimeoutMs: settings.requestTimeoutMs, runtime: "container" },
    settings.port,
    { hostname: options.hostname, overrideGlobalObjects: options.overrideGlobalObjects },
  );
  const grace = settings.shutdownGraceMs;
  const stop = async (): Promise<void> => {
    await server.close(grace);
    await cache.close();
  };
  if (!signals) return { server, settings, stop };

  // One line on stdout when ready: orchestration and tests wait for it.
  console.log(JSON.stringify({ level: "INFO", message: "listening", port: server.port, url: server.url, pid: process.pid }));
  const state = { stopping: false };
  const onSignal = (signal: string): void => {
    if (state.stopping) return;
    state.stopping = true;
    console.log(JSON.stringify({ level: "INFO", message: "shutting down", signal }));
    const hardStop = setTimeout(() => {
      jsonLineLog("error", "shutdown took too long; exiting", { graceMs: grace });
      process.exit(1);
    }, grace + 5000);
    hardStop.unref();
    stop().then(
      () => undefined,
      (e: unknown) => jsonLineLog("error", "error during shutdown", describeError(e, false)),
    ).then(() => {
      console.log(JSON.stringify({ level: "INFO", message: "stopped" }));
      process.exit(0);
    });
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  return { server, settings, stop };
}

/** What the Lambda export is in a container process: never called there. */
function servedOverHttp(): Promise<never> {
  return Promise.reject(new Error("this process is the container runtime (SERVERLESS_CACHE_RUNTIME=container): it serves HTTP on PORT"));
}

/**
 * The platform entry of an app: the factory both runtimes load. Pass it as CallbackFunction's
 * `callbackFactory` (the component does); the container image's `__index.js` is the same closure.
 */
export function hybridEntry(appFactory: AppFactory): () => ApiLambdaHandler {
  return () => {
    const env = process.env;
    if (entryRuntime(env) === "container") {
      startContainer(appFactory, env).catch((e: unknown) => {
        jsonLineLog("error", "failed to start", describeError(e, true));
        process.exit(1);
      });
      return servedOverHttp;
    }
    return createLambdaEntry(appFactory, env);
  };
}
