/**
 * The demo app on the platform's Lambda adapter, built from explicit deps instead of the
 * environment (tests and benchmarks call it in-process; the deployed function is
 * `hybridEntry(demoApp)`, which reads the environment).
 */
import { createApiHandler, createLambdaHandler, type AlbHandler, type ApiLambdaHandler, type LambdaDeps } from "../functions/platform/lambda";
import { createLambdaEntry } from "../functions/platform/entry";
import type { FetchApp } from "../functions/platform/types";
import { ApiDeps, cacheKeyForPath, createApp } from "./app";
import { demoApp } from "./index";

export interface DemoLambdaDeps extends Omit<ApiDeps, "runtime">, Omit<LambdaDeps, "app" | "cache" | "log" | "limits"> {}

function demoFetchApp(deps: DemoLambdaDeps): FetchApp {
  const app = createApp({ ...deps, runtime: "lambda" });
  return {
    fetch: app.fetch,
    cacheKeyForPath: (path) => cacheKeyForPath(path, { namespace: deps.namespace, routeOptions: deps.routeOptions, limits: deps.limits }),
  };
}

/** The ALB handler of the demo app (no control events). */
export function createDemoLambdaHandler(deps: DemoLambdaDeps): AlbHandler {
  return createLambdaHandler({ ...deps, app: demoFetchApp(deps) });
}

/** The whole function handler of the demo app: control events and ALB events. */
export function createDemoApiHandler(deps: DemoLambdaDeps): ApiLambdaHandler {
  return createApiHandler({ ...deps, app: demoFetchApp(deps) });
}

/** The deployed function's handler for this environment: `hybridEntry(demoApp)` in Lambda mode, in-process. */
export function createApiLambdaHandler(env: Readonly<Record<string, string | undefined>> = process.env): ApiLambdaHandler {
  return createLambdaEntry(demoApp, env);
}
