/**
 * Parity of the demo app: the same requests through
 *   - the local container entry (app/main.ts as a real child process, `npm start`, HTTP on loopback), and
 *   - the ALB Lambda handler as Pulumi serializes it (aws.lambda.CallbackFunction under mocks, the
 *     archive laid out on disk and loaded), with single-value and multi-value ALB events,
 * against one real memcached and one real upstream, give the same status, body and x-cache.
 * (The deployed container, the generated context, is compared with the archive in
 * test/components/hybridArtifacts.test.ts.) Also checks what only the serialized form can show: warm state, connection reuse, the archive's
 * contents, and the 1 MB → S3 → 303 path with the production factory.
 *
 * The Lambda runs as on the nodejs22.x runtime: laid out outside the repository, with the runtime's
 * own node_modules on NODE_PATH. That runtime SDK is a stub (createStubRuntimeSdk): older and partial
 * on Lambda, here every package of it throws when loaded and it has no s3-request-presigner. So the
 * S3 path works only with the client-s3 and presigner the archive ships.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import { PLATFORM_PACKAGES } from "../../components/HybridLambdaFargateService";
import { lambdaCodePathOptions } from "../../components/lambdaPackaging";
import { DEMO_APP_PACKAGES } from "../../app";
import type { AlbResult } from "../../functions/platform/alb";
import { ExtractedLambda, StubRuntimeSdk, createStubRuntimeSdk, extractLambdaArchive, useNodePath } from "../support/lambdaArchive";
import { MemcachedServer, freePort, startMemcached } from "../support/memcached";
import { Upstream, startUpstream } from "../support/upstream";
import { startFakeS3 } from "../support/hybrid";

const REPO = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "alb");
type Form = "single" | "multi";
type Handler = (event: unknown, context?: unknown) => Promise<AlbResult>;
/** What the API Lambda's code loads: the platform's packages and the demo app's, as components/HybridLambdaFargateService.ts packs them. */
const API_USES = [...new Set([...PLATFORM_PACKAGES, ...DEMO_APP_PACKAGES])];
const S3_SDK = ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"];

interface Probe {
  method: string;
  /** Raw path (percent-encoded as a client sends it). */
  path: string;
  /** Raw query string without "?". */
  query?: string;
  /** Only meaningful where the event can carry repeated query keys. */
  multiOnly?: boolean;
}

interface Answer {
  status: number;
  body: string;
  xCache?: string;
  contentType?: string;
}

/** "METHOD raw-target" as a client sends it (percent-encoding kept); `multi:` marks repeated query keys. */
const PROBES: Probe[] = [
  "GET /health",
  "GET /items/42?lang=de",
  "GET /items/42?lang=de&utm_source=newsletter",
  "GET /items/42?lang=DE",
  "GET /items/42",
  "GET /items/43?lang=pt%2Dbr&q=caf%C3%A9",
  "GET /items/missing?lang=en",
  "GET /items/boom",
  "GET /items/sleepy",
  "GET /items/bad$id",
  "GET /items/a%20b",
  "GET /items/%E0%A4%A",
  "GET /items/42?lang=english",
  "multi: GET /items/42?lang=en&lang=de",  // repeated query key: multi-value events only
  "GET /slow?ms=20",
  "GET /slow?ms=99999",
  "GET /slow?ms=abc",
  "GET /nope",
  "GET /",
  "GET /health/",
  "POST /health",
  "DELETE /items/1",
  "HEAD /health",
  "HEAD /items/42?lang=de",
].map(parseProbe);

function parseProbe(line: string): Probe {
  const multiOnly = line.startsWith("multi: ");
  const [method, target] = (multiOnly ? line.slice("multi: ".length) : line).split(" ");
  const q = target.indexOf("?");
  return { method, path: q < 0 ? target : target.slice(0, q), ...(q < 0 ? {} : { query: target.slice(q + 1) }), ...(multiOnly ? { multiOnly } : {}) };
}

/** The ALB event for a probe, built on the fixture of the form. The ALB passes query parts raw. */
function albEventFor(form: Form, p: Probe): Record<string, unknown> {
  const base = JSON.parse(fs.readFileSync(path.join(FIXTURES, `get-item.${form}.json`), "utf8")) as Record<string, unknown>;
  const pairs = (p.query ?? "").split("&").filter(Boolean).map((kv) => {
    const i = kv.indexOf("=");
    return i < 0 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)];
  });
  const ev: Record<string, unknown> = { requestContext: base.requestContext, httpMethod: p.method, path: p.path, body: "", isBase64Encoded: false };
  if (form === "single") {
    const q: Record<string, string> = {};
    for (const [k, v] of pairs) q[k] = v; // the ALB keeps the last value of a repeated key
    ev.queryStringParameters = q;
    ev.headers = base.headers;
  } else {
    const q: Record<string, string[]> = {};
    for (const [k, v] of pairs) (q[k] ??= []).push(v);
    ev.multiValueQueryStringParameters = q;
    ev.multiValueHeaders = base.multiValueHeaders;
  }
  return ev;
}

function lambdaContext(remainingMs = 15000): Record<string, unknown> {
  const until = Date.now() + remainingMs;
  return {
    getRemainingTimeInMillis: () => until - Date.now(),
    awsRequestId: "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
    functionName: "api-parity",
    functionVersion: "$LATEST",
    logStreamName: "2026/11/22/[$LATEST]parity",
    memoryLimitInMB: "512",
  };
}

function fromAlb(r: AlbResult): Answer {
  const get = (n: string): string | undefined => (r.headers ? r.headers[n] : r.multiValueHeaders?.[n]?.[0]);
  return {
    status: r.statusCode,
    body: r.isBase64Encoded ? Buffer.from(r.body, "base64").toString("utf8") : r.body,
    xCache: get("x-cache"),
    contentType: get("content-type"),
  };
}

/** An HTTP request with the path exactly as given (no client-side normalisation). */
function httpAnswer(base: string, p: Probe): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = http.request({ host: u.hostname, port: u.port, method: p.method, path: p.path + (p.query ? `?${p.query}` : ""), agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => { body += d; });
      res.on("end", () => resolve({
        status: res.statusCode ?? 0,
        body,
        xCache: res.headers["x-cache"] as string | undefined,
        contentType: res.headers["content-type"],
      }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `stats` total_connections of a memcached: how many connections it has ever accepted. */
function totalConnections(mc: MemcachedServer): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(mc.port, mc.host, () => s.write("stats\r\n"));
    let text = "";
    s.on("data", (d) => {
      text += d.toString();
      if (text.includes("END\r\n")) {
        s.destroy();
        const m = /STAT total_connections (\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
        else reject(new Error(text));
      }
    });
    s.on("error", reject);
  });
}


describe("demo app parity: container from source (npm start) vs serialized ALB Lambda", function () {
  this.timeout(180000);
  let mc: MemcachedServer;
  let up: Upstream;
  let s3: Awaited<ReturnType<typeof startFakeS3>>;
  let archive: ExtractedLambda;
  let runtime: StubRuntimeSdk | undefined;
  let restoreNodePath: (() => void) | undefined;
  let child: ChildProcess | undefined;
  let containerUrl = "";
  const savedEnv: Record<string, string | undefined> = {};
  const HUGE = "x".repeat(1_500_000);

  const setEnv = (vars: Record<string, string>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (!(k in savedEnv)) savedEnv[k] = process.env[k];
      process.env[k] = v;
    }
  };
  /** A cold start of the serialized handler, with its own cache namespace. */
  const coldStart = (namespace: string): Handler => {
    setEnv({ CACHE_NAMESPACE: namespace });
    return archive.load<Handler>();
  };

  before(async function () {
    mc = await startMemcached();
    up = await startUpstream();
    up.handler = (req) => {
      const url = req.url ?? "";
      if (url.startsWith("/items/missing")) return { status: 404, body: '{"message":"no such item"}' };
      if (url.startsWith("/items/boom")) return { status: 500, body: "internal upstream trouble at 10.1.2.3" };
      if (url.startsWith("/items/sleepy")) return { delayMs: 6000 }; // well past UPSTREAM_TIMEOUT_MS: a 504
      if (url.startsWith("/items/huge")) return { body: HUGE, contentType: "text/plain; charset=utf-8" };
      return { body: JSON.stringify({ upstreamUrl: url, name: "Widget" }), contentType: "application/json; charset=utf-8" };
    };
    s3 = await startFakeS3();

    // ---- The Lambda exactly as Pulumi packages it.
    let code: unknown;
    await pulumi.runtime.setMocks({
      newResource(args) {
        if (args.type === "aws:lambda/function:Function") code = args.inputs.code;
        return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:lambda:us-east-1:123456789012:function:${args.name}` } };
      },
      call(args) {
        return args.inputs;
      },
    }, "serverless-cache", "api-parity", false);
    const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
    const { hybridEntry } = require("../../functions/platform/entry") as typeof import("../../functions/platform/entry");
    const { demoApp } = require("../../app") as typeof import("../../app");
    new aws.lambda.CallbackFunction("api", {
      role: "arn:aws:iam::123456789012:role/t",
      // The same factory and packaging the component uses.
      callbackFactory: hybridEntry(demoApp),
      codePathOptions: lambdaCodePathOptions({ uses: API_USES }),
    });
    for (let i = 0; i < 1200 && code === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(code !== undefined, "the mocked aws:lambda/function:Function never received its code");
    archive = await extractLambdaArchive(code);
    // The archive ships its own S3 SDK; the runtime's (/var/runtime/node_modules on NODE_PATH) is
    // the stub, reachable but never to be used. The archive sits outside the repository, so this
    // repository's node_modules are out of reach.
    for (const sdk of S3_SDK) assert.ok(archive.entries.includes(`node_modules/${sdk}`), `${sdk} must be in the archive`);
    assert.ok(!archive.dir.startsWith(REPO), archive.dir);
    runtime = createStubRuntimeSdk();
    restoreNodePath = useNodePath(runtime.nodePath);

    const common = {
      UPSTREAM_URL: up.url,
      MEMCACHED_SERVERS: mc.address,
      // Generous: the first miss loads got (ESM) through ts-node; on a loaded 2-core machine 300 ms was
      // not always enough and a healthy upstream answered 504 in the container.
      UPSTREAM_TIMEOUT_MS: "1500",
      // x-cache is compared between the runtimes: an L1 entry must not age out (default 5 s) in one of
      // them between two probes on a slow machine, turning its HIT-L1 into a HIT-L2.
      CACHE_L1_MAX_AGE_MS: "600000",
      LARGE_RESPONSE_BUCKET: "api-large-responses",
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      // Expected upstream failures are logged at warn; keep the test output readable.
      LOG_LEVEL: "error",
    };
    setEnv(common);

    // ---- The container entry as a process.
    const port = await freePort();
    const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "app/main.ts"], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", ...common, PORT: String(port), CACHE_NAMESPACE: "parity-container" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
    proc.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
    containerUrl = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /"message":"listening".*?"url":"([^"]+)"/.exec(out);
        if (m) { clearInterval(timer); resolve(m[1]); }
      }, 20);
      proc.once("exit", (c) => { clearInterval(timer); reject(new Error(`main.ts exited ${c}: ${out}`)); });
    });
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    restoreNodePath?.();
    runtime?.remove();
    archive?.remove();
    await s3?.close();
    await up?.close();
    await mc?.stop();
  });

  it("the archive holds the serialized app and its packages; the container-only code is never loaded at init", () => {
    for (const pkg of ["hono", "got", "memjs"]) assert.ok(archive.entries.includes(`node_modules/${pkg}`), pkg);
    assert.ok(!archive.entries.some((e) => e.startsWith("node_modules/@pulumi")));
    assert.match(archive.source, /require\("hono"\)/);
    assert.ok(!archive.source.includes("hono/aws-lambda"));
    // The container's Node adapter and the S3 SDK are loaded lazily (inside a function), never at module load:
    // the Lambda's cold start does not pay for the container's server (one artifact for both runtimes).
    const topLevel = archive.source.split("\n").filter((l) => /^(const|var|let) .*require\("(@aws-sdk|@hono\/node-server)/.test(l));
    assert.deepEqual(topLevel, []);
    assert.match(archive.source, /^\s+const \{ getRequestListener \} = require\("@hono\/node-server"\);$/m);
    // ...and it ships in the archive, with its run-time tree.
    for (const pkg of [...S3_SDK, "@aws-sdk/core", "@smithy/core", "tslib"]) assert.ok(archive.entries.includes(`node_modules/${pkg}`), pkg);
  });

  it("same status, body and x-cache for every probe: container vs Lambda (single and multi-value events)", async () => {
    const lambdaSingle = coldStart("parity-single");
    const lambdaMulti = coldStart("parity-multi");
    const rows: string[] = [];
    for (const p of PROBES) {
      const c = await httpAnswer(containerUrl, p);
      const m = fromAlb(await lambdaMulti(albEventFor("multi", p), lambdaContext()));
      const label = `${p.method} ${p.path}${p.query ? `?${p.query}` : ""}`;
      assert.equal(m.status, c.status, `${label}: multi ${m.status} vs container ${c.status} (${m.body} / ${c.body})`);
      assert.equal(m.body, c.body, `${label}: body (multi)`);
      assert.equal(m.xCache, c.xCache, `${label}: x-cache (multi)`);
      assert.equal(m.contentType, c.contentType, `${label}: content-type (multi)`);
      if (!p.multiOnly) {
        const s = fromAlb(await lambdaSingle(albEventFor("single", p), lambdaContext()));
        assert.equal(s.status, c.status, `${label}: single ${s.status} vs container ${c.status} (${s.body} / ${c.body})`);
        assert.equal(s.body, c.body, `${label}: body (single)`);
        assert.equal(s.xCache, c.xCache, `${label}: x-cache (single)`);
        assert.equal(s.contentType, c.contentType, `${label}: content-type (single)`);
      }
      if (c.status >= 400 && p.method !== "HEAD") assert.equal(typeof (JSON.parse(c.body) as { error: { code: string } }).error.code, "string", label);
      rows.push(`${label} -> ${c.status} ${c.xCache ?? ""}`);
    }
    // The probes really cover hits, misses and each error class.
    const statuses = new Set(rows.map((r) => r.split(" -> ")[1].split(" ")[0]));
    for (const s of ["200", "400", "404", "405", "502", "504"]) assert.ok(statuses.has(s), `no probe answered ${s}: ${rows.join("; ")}`);
    assert.ok(rows.some((r) => r.endsWith("MISS")) && rows.some((r) => r.endsWith("HIT-L1")));
    // The upstream saw validated, normalised requests only (3 runtimes × each distinct item key).
    const items = up.requests.map((r) => r.url).filter((u) => u.startsWith("/items/"));
    assert.ok(items.every((u) => /^\/items\/[A-Za-z0-9._-]+\?lang=[a-zA-Z-]+$/.test(u)), items.join(" "));
    assert.equal(items.filter((u) => u === "/items/42?lang=de").length, 3);
    assert.equal(items.filter((u) => u === "/items/43?lang=pt-BR").length, 3);
  });

  it("/runtime differs only in what it reports about the runtime", async () => {
    const lambda = coldStart("parity-runtime");
    const c = await httpAnswer(containerUrl, { method: "GET", path: "/runtime" });
    const l = fromAlb(await lambda(albEventFor("single", { method: "GET", path: "/runtime" }), lambdaContext()));
    assert.equal(c.status, 200);
    assert.equal(l.status, 200);
    const cb = JSON.parse(c.body) as Record<string, unknown>;
    const lb = JSON.parse(l.body) as Record<string, unknown>;
    assert.equal(cb.runtime, "container");
    assert.equal(lb.runtime, "lambda");
    assert.equal(lb.coldStart, true);
    assert.deepEqual((lb.lambda as { functionName: string }).functionName, "api-parity");
    const common = (o: Record<string, unknown>): string[] => Object.keys(o).filter((k) => k !== "container" && k !== "lambda").sort();
    assert.deepEqual(common(cb), common(lb));
  });

  it("state persists across warm invocations of the serialized handler, and a new load is a cold start", async () => {
    const warm = coldStart("parity-warm");
    const ask = async (h: Handler): Promise<Record<string, unknown>> => JSON.parse((await h(albEventFor("multi", { method: "GET", path: "/runtime" }), lambdaContext())).body) as Record<string, unknown>;
    const a = await ask(warm);
    const b = await ask(warm);
    const c = await ask(warm);
    assert.deepEqual([a.coldStart, b.coldStart, c.coldStart], [true, false, false]);
    assert.equal(a.instanceId, c.instanceId);
    assert.equal(c.requestNumber, 3);
    // The L1 survives between invocations: the second read is HIT-L1, not HIT-L2.
    const first = fromAlb(await warm(albEventFor("single", { method: "GET", path: "/items/77", query: "lang=it" }), lambdaContext()));
    const second = fromAlb(await warm(albEventFor("single", { method: "GET", path: "/items/77", query: "lang=it" }), lambdaContext()));
    assert.deepEqual([first.xCache, second.xCache], ["MISS", "HIT-L1"]);
    const cold = coldStart("parity-warm");
    const d = await ask(cold);
    assert.equal(d.coldStart, true);
    assert.notEqual(d.instanceId, a.instanceId);
    // New execution environment, same memcached: L2 hit.
    const third = fromAlb(await cold(albEventFor("single", { method: "GET", path: "/items/77", query: "lang=it" }), lambdaContext()));
    assert.equal(third.xCache, "HIT-L2");
  });

  it("the memcached connection is opened once per execution environment, not per invocation", async () => {
    const h = coldStart("parity-conn");
    // Open the connection(s) first.
    await h(albEventFor("single", { method: "GET", path: "/items/1000" }), lambdaContext());
    const before = await totalConnections(mc);
    for (let i = 0; i < 25; i++) {
      const r = fromAlb(await h(albEventFor("single", { method: "GET", path: `/items/${1000 + (i % 5)}` }), lambdaContext()));
      assert.equal(r.status, 200);
    }
    const after = await totalConnections(mc);
    // Our own stats connections count too (one per call of totalConnections).
    assert.ok(after - before <= 2, `memcached accepted ${after - before} new connections for 25 warm invocations`);
  });

  it("a response over 1 MB: the Lambda stores it in S3 and answers 303 to a presigned URL; the container answers it directly", async () => {
    const h = coldStart("parity-huge");
    for (const form of ["single", "multi"] as Form[]) {
      const r = await h(albEventFor(form, { method: "GET", path: "/items/huge" }), lambdaContext());
      assert.equal(r.statusCode, 303, r.body.slice(0, 300));
      assert.equal(r.statusDescription, "303 See Other");
      const location = r.headers ? r.headers.location : r.multiValueHeaders?.location?.[0];
      assert.ok(location, "no location header");
      const u = new URL(location);
      assert.equal(u.origin, s3.url);
      assert.match(u.pathname, /^\/api-large-responses\/large-responses\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/);
      assert.equal(u.searchParams.get("X-Amz-Expires"), "300");
      assert.match(u.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
      assert.match(u.searchParams.get("X-Amz-Credential") ?? "", /^AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request$/);
      assert.ok(JSON.stringify(r).length < 10_000);
      const stored = s3.objects.get(u.pathname);
      assert.ok(stored, "nothing was PUT at the presigned location");
      assert.equal(stored.body.length, HUGE.length);
      assert.equal(stored.headers["content-type"], "text/plain; charset=utf-8");
      assert.match(String(stored.headers.authorization), /^AWS4-HMAC-SHA256 /);
      const followed = await fetch(location);
      assert.equal(followed.status, 200);
      assert.equal(await followed.text(), HUGE);
    }
    const direct = await httpAnswer(containerUrl, { method: "GET", path: "/items/huge" });
    assert.equal(direct.status, 200);
    assert.equal(direct.body.length, HUGE.length);
  });

  it("the large-response path uses the archive's client-s3 and presigner, never the runtime's SDK", async () => {
    const inArchive = (sdk: string): string => path.join(archive.dir, "node_modules", sdk) + path.sep;
    const fromIndex = createRequire(path.join(archive.dir, "__index.js"));
    // NODE_PATH is the stub runtime here, and still the archive's copies are what Node finds.
    assert.equal(process.env.NODE_PATH, runtime?.nodePath);
    for (const sdk of S3_SDK) assert.ok(fromIndex.resolve(sdk).startsWith(inArchive(sdk)), `${sdk}: ${fromIndex.resolve(sdk)}`);
    const h = coldStart("parity-huge-sdk");
    for (const key of Object.keys(require.cache)) if (key.startsWith(archive.dir)) assert.ok(!key.includes(`${path.sep}@aws-sdk${path.sep}`), `loaded at init: ${key}`);
    const r = await h(albEventFor("single", { method: "GET", path: "/items/huge" }), lambdaContext());
    assert.equal(r.statusCode, 303, r.body.slice(0, 300));
    const loaded = Object.keys(require.cache);
    for (const sdk of S3_SDK) assert.ok(loaded.some((f) => f.startsWith(inArchive(sdk))), `${sdk} not loaded from the archive`);
    assert.deepEqual(loaded.filter((f) => runtime && f.startsWith(runtime.nodePath)), []);
    assert.deepEqual(runtime?.loads(), [], "nothing was loaded from the runtime's SDK");
  });
});
