/**
 * The container's per-request path as the image runs it: the `__index.js` Pulumi's serializer writes
 * (the same file as the Lambda's), started with `node __index.js`. There every module-level function
 * is a wrapper that rebuilds the function inside a `with (captured names)` scope at each call, and
 * every name a function does not declare itself (imports, module-level constants, globals, even
 * `undefined`) is looked up through that scope at each use, which V8 cannot cache. On a cached item
 * that cost about as much CPU as node:http itself ("Per-request code" in functions/platform/server.ts).
 *
 * Counted, not timed: a copy of the generated `__index.js` is instrumented (each wrapper counts its
 * calls; each `with` object is a Proxy whose `has` trap counts the lookups that reach it), and the
 * fast path of a cached item (an L1 hit) must make neither.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { startMemcached, type MemcachedServer } from "../../support/memcached";
import { startUpstream, type Upstream } from "../../support/upstream";
import { startContextServer, type StartedContainer } from "../../support/hybrid";

interface Counts {
  calls: Array<[string, number]>;
  looks: Array<[string, number]>;
}

/** Counting code put in front of the serialized file: SIGUSR2 prints the counts since the last signal. */
const COUNTER = `var __hotPathCounts = { calls: new Map(), looks: new Map() };
function __hotPathScope(fn, o) {
  return new Proxy(o, { has(t, k) {
    if (typeof k === "string") { const key = fn + " " + k; __hotPathCounts.looks.set(key, (__hotPathCounts.looks.get(key) || 0) + 1); }
    return k in t;
  } });
}
process.on("SIGUSR2", () => {
  console.log("HOT-PATH-COUNTS " + JSON.stringify({ calls: [...__hotPathCounts.calls], looks: [...__hotPathCounts.looks] }));
  __hotPathCounts.calls.clear();
  __hotPathCounts.looks.clear();
});
`;

/** The serializer's wrapper of a module-level function, up to its `with (...)` line. */
const WRAPPER = /^function (__\w+)\(([^)]*)\) \{\n {2}return \(function\(\) \{\n {4}with\((.*)\) \{$/gm;

/** Instrument a serialized `__index.js`; throws when its shape is not the one this test knows. */
function instrumentSerialized(text: string): string {
  const withs = text.match(/^ {4}with\(/gm)?.length ?? 0;
  let wrapped = 0;
  const out = text.replace(WRAPPER, (_m, name: string, params: string, env: string) => {
    wrapped += 1;
    return `function ${name}(${params}) {\n  __hotPathCounts.calls.set("${name}", (__hotPathCounts.calls.get("${name}") || 0) + 1);\n  return (function() {\n    with(__hotPathScope("${name}", ${env})) {`;
  });
  assert.ok(wrapped > 50 && wrapped === withs, `the serializer's output has a shape this test does not know (${wrapped} wrappers, ${withs} with scopes)`);
  return COUNTER + out;
}

function get(agent: http.Agent, url: string): Promise<{ status: number; xCache: string | undefined }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, xCache: res.headers["x-cache"] as string | undefined }));
    }).on("error", reject);
  });
}

describe("the serialized container's per-request path (the image's __index.js)", function () {
  this.timeout(120_000);
  let mc: MemcachedServer;
  let up: Upstream;
  let root: string;
  let server: StartedContainer;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  /** What the server did between the previous call and this one. */
  async function countsSinceLast(): Promise<Counts> {
    const before = server.output().length;
    server.child.kill("SIGUSR2");
    for (let i = 0; i < 250; i++) {
      const line = /HOT-PATH-COUNTS (.*)\n/.exec(server.output().slice(before));
      if (line) return JSON.parse(line[1]) as Counts;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no counts from the server: ${server.output().slice(-2000)}`);
  }

  before(async () => {
    // Loaded here, not at the top: nothing Pulumi before another file's setMocks.
    const { writeContainerContext, lambdaCodePathOptions } = require("../../../components/lambdaPackaging") as typeof import("../../../components/lambdaPackaging");
    const { GENERIC_DOCKERFILE, PLATFORM_PACKAGES } = require("../../../components/HybridLambdaFargateService") as typeof import("../../../components/HybridLambdaFargateService");
    const { hybridEntry } = require("../../../functions/platform/entry") as typeof import("../../../functions/platform/entry");
    const { DEMO_APP_PACKAGES, demoApp } = require("../../../app") as typeof import("../../../app");
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hot-path-"));
    // Generated as the component generates the image's context (and the Lambda's __index.js).
    const context = await writeContainerContext({
      factory: hybridEntry(demoApp),
      codePathOptions: lambdaCodePathOptions({ uses: [...new Set([...PLATFORM_PACKAGES, ...DEMO_APP_PACKAGES])] }),
      dir: path.join(root, "context"),
      dockerfile: GENERIC_DOCKERFILE,
    });
    const index = path.join(context.dir, "__index.js");
    fs.writeFileSync(index, instrumentSerialized(fs.readFileSync(index, "utf8")));
    mc = await startMemcached();
    up = await startUpstream();
    up.handler = (req) => ({ body: JSON.stringify({ url: req.url }) });
    server = await startContextServer(context.dir, {
      PORT: "0",
      UPSTREAM_URL: up.url,
      MEMCACHED_SERVERS: mc.address,
      CACHE_NAMESPACE: "hot-path",
      LOG_LEVEL: "error",
      // No L1 max age or generation re-read inside the measured requests, however slow the machine.
      CACHE_L1_MAX_AGE_MS: "3600000",
    });
  });

  after(async () => {
    agent.destroy();
    await server?.stop();
    await mc?.stop();
    up?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("a cached item (L1 hit) calls no module-level function and looks up no name through a with scope", async () => {
    const url = `${server.url}/items/42?lang=de`;
    assert.equal((await get(agent, url)).xCache, "MISS");
    for (let i = 0; i < 5; i++) assert.equal((await get(agent, url)).xCache, "HIT-L1");
    await countsSinceLast();
    const n = 50;
    for (let i = 0; i < n; i++) {
      const r = await get(agent, url);
      assert.deepEqual(r, { status: 200, xCache: "HIT-L1" });
    }
    const c = await countsSinceLast();
    assert.deepEqual({ calls: c.calls, looks: c.looks }, { calls: [], looks: [] }, `per ${n} requests`);
  });

  it("(the counting works: the app's fetch path, which is not tuned, is seen)", async () => {
    await countsSinceLast();
    assert.equal((await get(agent, `${server.url}/nope`)).status, 404);
    const c = await countsSinceLast();
    assert.ok(c.calls.length > 0 && c.looks.length > 0, JSON.stringify(c));
  });
});
