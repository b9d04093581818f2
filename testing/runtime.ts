/**
 * Run the deployed artifacts of a program the way AWS runs them, outside the test process:
 * a Lambda archive in a fresh `node` (one cold start, then warm invocations), and a container build
 * context (HybridLambdaFargateService) as its Dockerfile starts it (`node __index.js`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LambdaArchive } from "./lambdaArchive";

/** Only what a test passes, plus PATH: nothing of the test process's environment leaks in. */
function isolatedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

const RUNNER = String.raw`
const path = require("node:path");
const { randomUUID } = require("node:crypto");
const opts = JSON.parse(process.env.__ARCHIVE_RUN);
delete process.env.__ARCHIVE_RUN;
const out = (line) => process.stdout.write("\n@@RESULT@@" + JSON.stringify(line) + "\n");
(async () => {
  let handler;
  try {
    handler = require(path.join(process.cwd(), "__index.js"))[opts.handlerName];
    if (typeof handler !== "function") throw new Error("__index.js exports no function " + opts.handlerName);
  } catch (e) {
    out({ init: String((e && e.stack) || e) });
    process.exit(0);
  }
  for (const event of opts.events) {
    const started = Date.now();
    const context = {
      awsRequestId: randomUUID(),
      functionName: opts.functionName,
      functionVersion: "$LATEST",
      memoryLimitInMB: "512",
      logStreamName: "test",
      getRemainingTimeInMillis: () => Math.max(0, opts.timeoutMs - (Date.now() - started)),
    };
    try {
      out({ result: await handler(event, context) });
    } catch (e) {
      out({ error: String((e && e.stack) || e) });
    }
  }
  process.exit(0);
})();
`;

/** One invocation's outcome: the handler's result, or the error it threw. */
export type Invocation = { result: unknown; error?: undefined } | { error: string; result?: undefined };

export interface ArchiveRun {
  invocations: Invocation[];
  /** Everything the process wrote (logs), without the result lines. */
  output: string;
}

/**
 * Loads the archive's `__index.js` in a new `node` process started in the archive directory with only
 * `env` (plus PATH), as the Lambda runtime does at init, then invokes the handler with each event in
 * turn in that same process (warm invocations). Rejects when the init fails (the error and logs in the
 * message).
 */
export function runArchive(archive: LambdaArchive, options: {
  events: unknown[];
  env?: Record<string, string | undefined>;
  handlerName?: string;
  /** The function's timeout, ms (what `getRemainingTimeInMillis` counts down from). Default 10 000. */
  timeoutMs?: number;
  functionName?: string;
}): Promise<ArchiveRun> {
  const opts = { events: options.events, handlerName: options.handlerName ?? "handler", timeoutMs: options.timeoutMs ?? 10_000, functionName: options.functionName ?? "test-function" };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", RUNNER], {
      cwd: archive.dir,
      env: { ...isolatedEnv(options.env ?? {}), __ARCHIVE_RUN: JSON.stringify(opts) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    const limit = setTimeout(() => child.kill("SIGKILL"), 60_000 + opts.events.length * opts.timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(limit);
      const lines = out.split("\n");
      const results = lines.filter((l) => l.startsWith("@@RESULT@@")).map((l) => JSON.parse(l.slice("@@RESULT@@".length)) as Invocation & { init?: string });
      const output = lines.filter((l) => !l.startsWith("@@RESULT@@")).join("\n");
      const init = results.find((r) => r.init !== undefined);
      if (init) return reject(new Error(`the archive's init failed: ${init.init}\n${output}`));
      if (results.length !== opts.events.length) return reject(new Error(`the archive process exited ${code} after ${results.length} of ${opts.events.length} invocations\n${output}`));
      resolve({ invocations: results, output });
    });
  });
}

export interface RunningContainer {
  /** http://127.0.0.1:<port> */
  url: string;
  child: ChildProcess;
  /** The directory it runs in (a copy of the context). */
  dir: string;
  /** Everything the process wrote so far. */
  output(): string;
  /** SIGTERM (the container drains), then the exit code; the copy is removed. */
  stop(): Promise<number | null>;
}

/**
 * Starts a container build context (HybridLambdaFargateService writes one per service; its path is the
 * `context` input of the service's `awsx:ecr:Image`) as its Dockerfile does: `node __index.js` with
 * SERVERLESS_CACHE_RUNTIME=container, from a copy in a temp directory (so nothing outside the context
 * can satisfy a require), with only `env` (plus PATH). PORT defaults to 0 (any free port). Resolves
 * once it logs that it listens.
 */
export async function startContainer(contextDir: string, env: Record<string, string | undefined> = {}, options: { readyTimeoutMs?: number } = {}): Promise<RunningContainer> {
  if (!fs.existsSync(path.join(contextDir, "__index.js"))) throw new Error(`startContainer: ${contextDir} has no __index.js (not a generated container context)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "container-context-"));
  fs.cpSync(contextDir, dir, { recursive: true, dereference: true });
  const child = spawn(process.execPath, ["__index.js"], {
    cwd: dir,
    env: isolatedEnv({ NODE_ENV: "production", PORT: "0", ...env, SERVERLESS_CACHE_RUNTIME: "container" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
  child.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /"message":"listening".*?"url":"([^"]+)"/.exec(out);
        if (m) {
          clearInterval(timer);
          clearTimeout(give);
          resolve(m[1]);
        }
      }, 20);
      const give = setTimeout(() => {
        clearInterval(timer);
        child.kill("SIGKILL");
        reject(new Error(`startContainer: not listening after ${options.readyTimeoutMs ?? 15_000} ms\n${out}`));
      }, options.readyTimeoutMs ?? 15_000);
      child.once("exit", (code) => {
        clearInterval(timer);
        clearTimeout(give);
        reject(new Error(`startContainer: node __index.js exited ${code}\n${out}`));
      });
    });
    return {
      url,
      child,
      dir,
      output: () => out,
      stop: () => new Promise((done) => {
        const finish = (code: number | null): void => { remove(); done(code); };
        if (child.exitCode !== null || child.signalCode !== null) return finish(child.exitCode);
        child.once("exit", (code) => finish(code));
        child.kill("SIGTERM");
      }),
    };
  } catch (e) {
    remove();
    throw e;
  }
}
