/**
 * The container server: in-process for what Node's HTTP layer decides (oversized headers, malformed
 * requests, large bodies, graceful close), and main.ts as a real child process (env, readiness line,
 * SIGTERM drain). Real memcached and upstream throughout.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { createTwoTierCache, type TwoTierCache } from "../../../functions/cache";
import { ContainerServer, clientErrorResponse } from "../../../functions/platform/server";
import { startDemoContainerServer as startContainerServer } from "../../../app/server";
import { detectRuntime } from "../../../functions/platform/env";
import { apiSettingsFromEnv } from "../../../app/settings";
import { MemcachedServer, freePort, startMemcached } from "../../support/memcached";
import { Upstream, startUpstream } from "../../support/upstream";

const REPO = path.resolve(__dirname, "..", "..", "..");

/** Send raw bytes, collect the raw answer until the server closes. */
function rawExchange(port: number, payload: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    s.on("data", (d) => { out += d.toString("latin1"); });
    s.on("close", () => resolve(out));
    s.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" || e.code === "EPIPE" ? resolve(out) : reject(e)));
    s.write(payload);
  });
}

function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const [head, ...rest] = raw.split("\r\n\r\n");
  const lines = head.split("\r\n");
  const status = Number(lines[0].split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: rest.join("\r\n\r\n") };
}

/** http.request with a body; resolves with the answer even if the server answers before reading it all. */
function request(url: string, opts: http.RequestOptions & { body?: Buffer | string; chunks?: Buffer[] }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, opts, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    // A server may answer (413) and close before the whole body is sent: the client then sees
    // EPIPE/ECONNRESET although the answer arrives; give it a moment before failing.
    req.on("error", (e) => setTimeout(() => reject(e), 500));
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

describe("api container server", function () {
  this.timeout(30000);
  let mc: MemcachedServer;
  let up: Upstream;
  const caches: TwoTierCache[] = [];
  let seq = 0;
  const cache = (): TwoTierCache => {
    const c = createTwoTierCache({ namespace: `srv${++seq}`, memcached: { servers: [mc.address] } });
    caches.push(c);
    return c;
  };

  before(async () => {
    mc = await startMemcached();
    up = await startUpstream();
  });
  after(async () => {
    for (const c of caches) await c.close();
    await up?.close();
    await mc?.stop();
  });

  describe("in-process", () => {
    let srv: ContainerServer;
    beforeEach(async () => {
      srv = await startContainerServer({ cache: cache(), upstreamUrl: up.url, log: () => undefined }, 0, { hostname: "127.0.0.1", overrideGlobalObjects: false });
    });
    afterEach(async () => {
      await srv.close(1000);
    });

    it("serves the routes over HTTP with x-served-by: container", async () => {
      const r = await fetch(`${srv.url}/items/5?lang=fr`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("x-cache"), "MISS");
      assert.equal(r.headers.get("x-served-by"), "container");
      const h = await fetch(`${srv.url}/health`);
      assert.deepEqual(await h.json(), { status: "ok" });
    });

    it("oversized headers -> 431 with the JSON error body (Node's parser refuses them)", async () => {
      const big = Array.from({ length: 5 }, (_, i) => `x-big-${i}: ${"v".repeat(8000)}\r\n`).join("");
      const raw = await rawExchange(srv.port, `GET /health HTTP/1.1\r\nhost: a\r\n${big}\r\n`);
      const r = parseRaw(raw);
      assert.equal(r.status, 431);
      assert.equal(r.headers["content-type"], "application/json; charset=utf-8");
      assert.deepEqual(JSON.parse(r.body), { error: { code: "headers_too_large", message: "request headers are too large" } });
      // 24 KB of headers are fine.
      const ok = await request(`${srv.url}/health`, { headers: { "x-a": "v".repeat(8000), "x-b": "v".repeat(8000), "x-c": "v".repeat(8000) } });
      assert.equal(ok.status, 200);
    });

    it("a malformed request line -> 400 JSON", async () => {
      const r = parseRaw(await rawExchange(srv.port, "THIS IS NOT HTTP\r\n\r\n"));
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).error.code, "bad_request");
    });

    it("a bad Host header -> 400 JSON (not @hono/node-server's empty 400)", async () => {
      // Through the app (the platform answers /health and the app's fast path before any Request is built).
      const r = parseRaw(await rawExchange(srv.port, "GET /runtime HTTP/1.1\r\nhost: a b/c\r\nconnection: close\r\n\r\n"));
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).error.code, "bad_request");
      // The health probe does not depend on the Host header.
      const health = parseRaw(await rawExchange(srv.port, "GET /health HTTP/1.1\r\nhost: a b/c\r\nconnection: close\r\n\r\n"));
      assert.equal(health.status, 200);
    });

    it("a body over 1 MB -> 413 JSON, declared or chunked", async () => {
      const declared = await request(`${srv.url}/items/1`, { method: "POST", body: Buffer.alloc(1024 * 1024 + 10) });
      assert.equal(declared.status, 413);
      assert.equal(declared.headers.connection, "close");
      assert.deepEqual(JSON.parse(declared.body).error.code, "body_too_large");
      const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024 + 1));
      const chunked = await request(`${srv.url}/items/1`, { method: "POST", chunks, headers: { "transfer-encoding": "chunked" } });
      assert.equal(chunked.status, 413);
      // Node's client does not frame a GET body by itself: declare its length.
      const getWithBody = await request(`${srv.url}/health`, { method: "GET", body: Buffer.alloc(1024 * 1024 + 10), headers: { "content-length": String(1024 * 1024 + 10) } });
      assert.equal(getWithBody.status, 413);
      const small = await request(`${srv.url}/items/1`, { method: "POST", body: "x" });
      assert.equal(small.status, 405);
      assert.equal(small.headers.allow, "GET, HEAD");
      // The server is still healthy afterwards.
      assert.equal((await fetch(`${srv.url}/health`)).status, 200);
    });

    it("close(): in-flight requests finish, keep-alive clients are told to close, new connections are refused", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const first = await request(`${srv.url}/health`, { agent });
      assert.equal(first.status, 200);
      const inflight = request(`${srv.url}/slow?ms=400`, { agent: new http.Agent({ keepAlive: true }) });
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const closing = srv.close(5000);
      assert.equal(srv.draining, true);
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { sleptMs: 400 });
      await closing;
      assert.ok(Date.now() - started < 2000, "close waited for the keep-alive socket");
      await assert.rejects(fetch(`${srv.url}/health`));
      agent.destroy();
    });

    it("close() force-closes requests that outlive the grace period", async () => {
      const inflight = request(`${srv.url}/slow?ms=3000`, {}).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await srv.close(200);
      assert.ok(Date.now() - started < 1500);
      const outcome = await inflight;
      assert.ok(outcome instanceof Error || outcome.status !== 200);
    });
  });

  describe("pure helpers", () => {
    it("clientErrorResponse maps parser errors and ignores resets", () => {
      assert.equal(clientErrorResponse("ECONNRESET"), undefined);
      assert.equal(clientErrorResponse("HPE_HEADER_OVERFLOW")?.status, 431);
      assert.equal(clientErrorResponse("ERR_HTTP_REQUEST_TIMEOUT")?.status, 408);
      assert.equal(clientErrorResponse("HPE_INVALID_METHOD")?.status, 400);
      assert.equal(clientErrorResponse(undefined)?.status, 400);
      const raw = clientErrorResponse("HPE_HEADER_OVERFLOW")?.raw ?? "";
      const parsed = parseRaw(raw);
      assert.equal(Number(parsed.headers["content-length"]), Buffer.byteLength(parsed.body));
      assert.equal(parsed.headers.connection, "close");
    });

    it("detectRuntime looks at AWS_LAMBDA_RUNTIME_API", () => {
      assert.equal(detectRuntime({ AWS_LAMBDA_RUNTIME_API: "127.0.0.1:9001" }), "lambda");
      assert.equal(detectRuntime({}), "container");
      assert.equal(detectRuntime({ AWS_LAMBDA_RUNTIME_API: "" }), "container");
    });

    it("apiSettingsFromEnv: defaults, both memcached forms, errors that name the variable", () => {
      const s = apiSettingsFromEnv({ UPSTREAM_URL: "https://api.example.com/v1/", MEMCACHED_SERVERS: "a:11211, b:11211" });
      assert.equal(s.upstreamUrl, "https://api.example.com/v1");
      assert.deepEqual(s.memcached, { servers: ["a:11211", "b:11211"] });
      assert.equal(s.port, 8080);
      assert.equal(s.namespace, "api");
      assert.equal(s.largeResponseBucket, undefined);
      const both = apiSettingsFromEnv({ UPSTREAM_URL: "http://u", MEMCACHED_CONFIG_ENDPOINT: "c.cfg:11211", MEMCACHED_SERVERS: "n1:11211", LARGE_RESPONSE_BUCKET: "bkt", PORT: "9000" });
      assert.deepEqual(both.memcached, { configEndpoint: "c.cfg:11211", servers: ["n1:11211"] });
      assert.equal(both.largeResponseBucket, "bkt");
      assert.equal(both.port, 9000);
      assert.equal(apiSettingsFromEnv({ UPSTREAM_URL: "http://u", MEMCACHED_ENDPOINT: "e:1" }).memcached.configEndpoint, "e:1");
      const bad: Array<[Record<string, string>, RegExp]> = [
        [{ MEMCACHED_SERVERS: "a:1" }, /UPSTREAM_URL/],
        [{ UPSTREAM_URL: "ftp://x", MEMCACHED_SERVERS: "a:1" }, /UPSTREAM_URL/],
        [{ UPSTREAM_URL: "http://x?a=1", MEMCACHED_SERVERS: "a:1" }, /UPSTREAM_URL/],
        [{ UPSTREAM_URL: "http://x" }, /MEMCACHED_ENDPOINT/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a" }, /MEMCACHED_SERVERS/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a:1", PORT: "http" }, /PORT/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a:1", UPSTREAM_TIMEOUT_MS: "0" }, /UPSTREAM_TIMEOUT_MS/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a:1", CACHE_NAMESPACE: "a b" }, /CACHE_NAMESPACE/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a:1", UPSTREAM_ITEM_PATH: "/items" }, /UPSTREAM_ITEM_PATH=\/items must be an absolute path/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a:1", API_BASE_PATH: "dev" }, /API_BASE_PATH=dev must be "\/" followed by/],
        [{ UPSTREAM_URL: "http://x", MEMCACHED_SERVERS: "a:1", LARGE_RESPONSE_LOCATION_PREFIX: "/dev/_large" }, /LARGE_RESPONSE_LOCATION_PREFIX=\/dev\/_large must be a path that starts and ends with \//],
      ];
      for (const [env, re] of bad) assert.throws(() => apiSettingsFromEnv(env), re);
    });

    it("apiSettingsFromEnv: item path, base path and large-response location", () => {
      const plain = apiSettingsFromEnv({ UPSTREAM_URL: "http://u", MEMCACHED_SERVERS: "a:1" });
      assert.equal(plain.upstreamItemPath, "/items/{id}");
      assert.equal(plain.basePath, undefined);
      assert.equal(plain.largeResponseLocationPrefix, undefined);
      const behindApi = apiSettingsFromEnv({
        UPSTREAM_URL: "http://u", MEMCACHED_SERVERS: "a:1", UPSTREAM_ITEM_PATH: "/todos/{id}", API_BASE_PATH: "/dev", LARGE_RESPONSE_LOCATION_PREFIX: "/dev/_large/",
      });
      assert.equal(behindApi.upstreamItemPath, "/todos/{id}");
      assert.equal(behindApi.basePath, "/dev");
      assert.equal(behindApi.largeResponseLocationPrefix, "/dev/_large/");
    });
  });

  describe("main.ts as a process", () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      child = undefined;
    });

    const launch = async (env: Record<string, string>): Promise<{ child: ChildProcess; url: string; out: () => string; exited: Promise<number | null> }> => {
      const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "app/main.ts"], {
        cwd: REPO,
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      let out = "";
      proc.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
      proc.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
      const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = /"message":"listening".*?"url":"([^"]+)"/.exec(out);
          if (m) { clearInterval(timer); resolve(m[1]); }
        }, 20);
        void exited.then((code) => { clearInterval(timer); reject(new Error(`main.ts exited ${code}: ${out}`)); });
      });
      return { child: proc, url, out: () => out, exited };
    };

    it("starts from the environment, serves, and drains on SIGTERM (exit 0)", async () => {
      const port = await freePort();
      const m = await launch({ UPSTREAM_URL: up.url, MEMCACHED_SERVERS: mc.address, PORT: String(port), CACHE_NAMESPACE: `main${++seq}` });
      assert.equal(m.url, `http://127.0.0.1:${port}`);
      const rt = (await (await fetch(`${m.url}/runtime`)).json()) as Record<string, unknown>;
      assert.equal(rt.runtime, "container");
      assert.equal((rt.container as { pid: number }).pid, m.child.pid);
      const item = await fetch(`${m.url}/items/77?lang=it`);
      assert.equal(item.status, 200);
      const inflight = fetch(`${m.url}/slow?ms=500`).then(async (r) => ({ status: r.status, body: await r.json() }));
      await new Promise((r) => setTimeout(r, 150));
      m.child.kill("SIGTERM");
      const r = await inflight;
      assert.deepEqual(r, { status: 200, body: { sleptMs: 500 } });
      assert.equal(await m.exited, 0);
      assert.match(m.out(), /"message":"shutting down","signal":"SIGTERM"/);
      assert.match(m.out(), /"message":"stopped"/);
    });

    it("refuses to start with a bad environment, naming the variable (exit 78)", async () => {
      const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "app/main.ts"], {
        cwd: REPO,
        env: { PATH: process.env.PATH ?? "", MEMCACHED_SERVERS: mc.address },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      let out = "";
      proc.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
      proc.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
      const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
      assert.equal(code, 78);
      assert.match(out, /UPSTREAM_URL is required/);
    });
  });
});
