/**
 * The demo app on the platform's container server, built from explicit deps instead of the
 * environment (tests and benchmarks run it in-process; the image and `npm start` run
 * `hybridEntry(demoApp)`, which reads the environment).
 */
import { randomUUID } from "node:crypto";
import { startContainerServer, type ContainerServer, type ContainerServerOptions } from "../functions/platform/server";
import type { RuntimeKind } from "../functions/platform/types";
import { ApiDeps, InstanceStats, createApp, createItemFastPath } from "./app";

export interface DemoContainerDeps extends Omit<ApiDeps, "runtime" | "stats"> {
  /** Reported runtime. Default "container". */
  runtime?: RuntimeKind;
  /** Budget of one request (the deadline), ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Prefix removed before routing (API_BASE_PATH). */
  basePath?: string;
}

export function startDemoContainerServer(deps: DemoContainerDeps, port = 8080, options: ContainerServerOptions = {}): Promise<ContainerServer> {
  const runtime = deps.runtime ?? "container";
  const stats: InstanceStats = { id: deps.instanceId ?? randomUUID(), startedAt: Date.now(), requests: 0 };
  const app = createApp({ ...deps, runtime, stats });
  return startContainerServer({
    app: { fetch: app.fetch, fastPath: createItemFastPath({ ...deps, runtime, stats }) },
    basePath: deps.basePath,
    limits: deps.limits,
    log: deps.log,
    requestTimeoutMs: deps.requestTimeoutMs,
    runtime,
  }, port, options);
}
