"use strict";
// One cold start, in a fresh `node` process started by bench/cold-start.ts. Plain CommonJS on
// purpose (no ts-node): the only code that runs before the handler module is these few lines.
//
//   node runner.cjs <module> invoke|load
//
// Times are ms since performance.timeOrigin (the start of this process): `runnerTop` when this file
// starts, `loaded` once require(<module>) returned (module load + the factory's one-time setup, as
// the Lambda runtime does at init), `answered` when the first invocation resolved (mode invoke).
// The event comes in COLD_EVENT (JSON); COLD_TRACE=1 also lists the packages loaded by then
// (CommonJS from require.cache, ES modules through a resolve hook) -- never in timed runs.
const runnerTop = performance.now();
const fs = require("node:fs");

const [modulePath, mode = "invoke"] = process.argv.slice(2);
const esmSeen = [];
if (process.env.COLD_TRACE === "1") {
  const { register } = require("node:module");
  const { MessageChannel } = require("node:worker_threads");
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (url) => esmSeen.push(url));
  port1.unref();
  const hook = [
    "let port;",
    "export function initialize(data) { port = data.port; }",
    "export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }",
  ].join("\n");
  register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { port: port2 }, transferList: [port2] });
}

function packagesLoaded() {
  const files = [...Object.keys(require.cache), ...esmSeen.filter((u) => u.startsWith("file:")).map((u) => decodeURIComponent(new URL(u).pathname))];
  const names = new Set();
  for (const file of files) {
    const i = file.lastIndexOf("/node_modules/");
    if (i < 0) continue;
    const parts = file.slice(i + "/node_modules/".length).split("/");
    names.add(parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  return { packages: [...names].sort(), cjsFiles: Object.keys(require.cache).length, esmFiles: esmSeen.filter((u) => u.startsWith("file:")).length };
}

function report(result) {
  // A marker line: the handler may write its own lines (logs, EMF metrics) to stdout.
  fs.writeSync(1, `\n@@COLD-START@@${JSON.stringify(result)}\n`);
  // The memcached client keeps sockets open; a cold start ends with the first answer.
  process.exit(0);
}

function fail(err) {
  fs.writeSync(1, `\n@@COLD-START@@${JSON.stringify({ error: err && err.stack ? err.stack : String(err) })}\n`);
  process.exit(1);
}

try {
  const beforeLoad = performance.now();
  const mod = require(modulePath);
  const loaded = performance.now();
  if (typeof mod.handler !== "function") throw new Error(`${modulePath} exports no handler function`);
  const base = { runnerTop, beforeLoad, loaded, bootstrapComplete: performance.nodeTiming.bootstrapComplete };
  // Trace runs wait a little so the resolve hook's messages have arrived; timed runs report at once.
  const finish = (result) => (process.env.COLD_TRACE === "1" ? setTimeout(() => report({ ...result, trace: packagesLoaded() }), 50) : report(result));
  if (mode === "load") {
    finish({ ...base, answered: loaded });
  } else {
    const event = JSON.parse(process.env.COLD_EVENT || "{}");
    const deadline = Date.now() + Number(process.env.COLD_TIMEOUT_MS || 10000);
    const context = { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()), awsRequestId: "cold-start", functionName: "cold-start" };
    Promise.resolve(mod.handler(event, context)).then((res) => {
      const answered = performance.now();
      const headers = (res && (res.headers || res.multiValueHeaders)) || {};
      const xcache = Array.isArray(headers["x-cache"]) ? headers["x-cache"][0] : headers["x-cache"];
      finish({ ...base, answered, statusCode: res && res.statusCode, xcache });
    }, fail);
  }
} catch (err) {
  fail(err);
}
