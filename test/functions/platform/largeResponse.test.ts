/**
 * Responses over the ALB's 1 MB: S3 PUT + 303 to a presigned GET, through the (in-process) ALB
 * handler, against a local S3-compatible HTTP server (real HTTP, path-style) and a real upstream.
 * The serialized handler with the production factory does the same in parity.test.ts.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { createTwoTierCache, type TwoTierCache } from "../../../functions/cache";
import { AlbResult } from "../../../functions/platform/alb";
import { DemoLambdaDeps as LambdaDeps, createDemoLambdaHandler as createLambdaHandler } from "../../../app/lambda";
import { CREDENTIAL_MARGIN_SECONDS, createLargeResponseStore, presignedLifetime } from "../../../functions/platform/largeResponse";
import { MemcachedServer, freePort, startMemcached } from "../../support/memcached";
import { Upstream, startUpstream } from "../../support/upstream";

interface FakeS3 {
  url: string;
  objects: Map<string, { body: Buffer; headers: http.IncomingHttpHeaders }>;
  connections: number;
  /** Status to answer PUTs with (200 = store). */
  putStatus: number;
  close(): Promise<void>;
}

async function startFakeS3(): Promise<FakeS3> {
  const state: FakeS3 = { url: "", objects: new Map(), connections: 0, putStatus: 200, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const u = new URL(req.url ?? "/", "http://s3.local");
      if (req.method === "PUT") {
        if (state.putStatus !== 200) {
          res.writeHead(state.putStatus, { "content-type": "application/xml" });
          res.end("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
          return;
        }
        state.objects.set(u.pathname, { body: Buffer.concat(chunks), headers: req.headers });
        res.writeHead(200, { etag: '"fake"' });
        res.end();
        return;
      }
      const o = state.objects.get(u.pathname);
      if (req.method === "GET" && o) {
        res.writeHead(200, { "content-type": String(o.headers["content-type"]), "content-length": o.body.length });
        res.end(o.body);
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  server.on("connection", () => { state.connections += 1; });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return state;
}

const s3Config = (endpoint: string): S3ClientConfig => ({
  endpoint,
  forcePathStyle: true,
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDLARGE", secretAccessKey: "secret" },
});

function event(path: string, method = "GET", multi = false): Record<string, unknown> {
  const base = { requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/t/1" } }, httpMethod: method, path, body: "", isBase64Encoded: false };
  return multi
    ? { ...base, multiValueQueryStringParameters: {}, multiValueHeaders: { host: ["alb.example"] } }
    : { ...base, queryStringParameters: {}, headers: { host: "alb.example" } };
}

const ctx = { getRemainingTimeInMillis: () => 10000 };
const location = (r: AlbResult): string => (r.headers ? r.headers.location : r.multiValueHeaders?.location?.[0]) ?? "";

describe("api large responses (> 1 MB) through S3", function () {
  this.timeout(30000);
  let mc: MemcachedServer;
  let up: Upstream;
  let s3: FakeS3;
  const caches: TwoTierCache[] = [];
  let seq = 0;
  const BIG_TEXT = "t".repeat(1_200_000);
  const BIG_BINARY = Buffer.alloc(800_000, 7).toString("latin1"); // 800 KB: fits raw, not once base64-encoded

  const deps = (over: Partial<LambdaDeps> = {}): LambdaDeps => {
    const namespace = `large${++seq}`;
    const cache = createTwoTierCache({ namespace, memcached: { servers: [mc.address] } });
    caches.push(cache);
    return { cache, upstreamUrl: up.url, namespace, log: () => undefined, ...over };
  };

  before(async () => {
    mc = await startMemcached();
    up = await startUpstream();
    s3 = await startFakeS3();
    up.handler = (req) => {
      if (req.url?.startsWith("/items/big")) return { body: BIG_TEXT, contentType: "text/plain; charset=utf-8" };
      if (req.url?.startsWith("/items/bin")) return { body: BIG_BINARY, contentType: "application/octet-stream" };
      if (req.url?.startsWith("/items/small")) return { body: "{}", contentType: "application/json" };
      return undefined;
    };
  });
  beforeEach(() => {
    s3.putStatus = 200;
  });
  after(async () => {
    for (const c of caches) await c.close();
    await s3?.close();
    await up?.close();
    await mc?.stop();
  });

  it("stores the body and answers 303 to a presigned GET that expires (X-Amz-Expires)", async () => {
    const h = createLambdaHandler(deps({ largeResponses: { bucket: "bkt", expiresInSeconds: 120, clientConfig: s3Config(s3.url) } }));
    for (const multi of [false, true]) {
      const r = await h(event("/items/big", "GET", multi), ctx);
      assert.equal(r.statusCode, 303);
      assert.equal(r.statusDescription, "303 See Other");
      assert.equal(r.isBase64Encoded, false);
      const loc = location(r);
      const u = new URL(loc);
      assert.equal(u.searchParams.get("X-Amz-Expires"), "120");
      assert.equal(u.searchParams.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
      assert.match(u.searchParams.get("X-Amz-Credential") ?? "", /^AKIDLARGE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
      assert.match(u.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
      assert.match(u.pathname, /^\/bkt\/large-responses\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/);
      const body = JSON.parse(r.body) as { redirect: { location: string; expiresInSeconds: number } };
      assert.equal(body.redirect.location, loc);
      assert.equal(body.redirect.expiresInSeconds, 120);
      const stored = s3.objects.get(u.pathname);
      assert.ok(stored);
      assert.equal(stored.body.toString(), BIG_TEXT);
      assert.equal(stored.headers["content-type"], "text/plain; charset=utf-8");
      const got = await fetch(loc);
      assert.equal(await got.text(), BIG_TEXT);
    }
  });

  it("a binary body that only base64 pushes over the limit is offloaded too, bytes intact", async () => {
    const h = createLambdaHandler(deps({ largeResponses: { bucket: "bkt", clientConfig: s3Config(s3.url) } }));
    const r = await h(event("/items/bin"), ctx);
    assert.equal(r.statusCode, 303);
    const stored = s3.objects.get(new URL(location(r)).pathname);
    assert.deepEqual(stored?.body, Buffer.from(BIG_BINARY, "latin1"));
    assert.equal(new URL(location(r)).searchParams.get("X-Amz-Expires"), "300");
  });

  it("small responses and HEAD never touch S3", async () => {
    const before = s3.objects.size;
    const h = createLambdaHandler(deps({ largeResponses: { bucket: "bkt", clientConfig: s3Config(s3.url) } }));
    assert.equal((await h(event("/items/small"), ctx)).statusCode, 200);
    const head = await h(event("/items/big", "HEAD"), ctx);
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, "");
    assert.equal(s3.objects.size, before);
  });

  it("the S3 client is created once and reused (one keep-alive connection for several uploads)", async () => {
    const h = createLambdaHandler(deps({ largeResponses: { bucket: "bkt", clientConfig: s3Config(s3.url) } }));
    const before = s3.connections;
    for (let i = 0; i < 3; i++) assert.equal((await h(event("/items/big"), ctx)).statusCode, 303);
    assert.equal(s3.connections - before, 1);
  });

  it("an injected client is used as is", async () => {
    const client = new S3Client(s3Config(s3.url));
    const store = createLargeResponseStore({ bucket: "inj", client });
    const h = createLambdaHandler(deps({ largeResponses: store }));
    const r = await h(event("/items/big"), ctx);
    assert.equal(r.statusCode, 303);
    assert.match(new URL(location(r)).pathname, /^\/inj\//);
    client.destroy();
  });

  it("S3 refusing the upload -> 502 large_response_failed (JSON), not a crash", async () => {
    s3.putStatus = 403;
    const logs: string[] = [];
    const h = createLambdaHandler(deps({ largeResponses: { bucket: "bkt", clientConfig: s3Config(s3.url) }, log: (_l, m) => logs.push(m) }));
    const r = await h(event("/items/big"), ctx);
    assert.equal(r.statusCode, 502);
    assert.equal(JSON.parse(r.body).error.code, "large_response_failed");
    assert.ok(logs.includes("large response store failed"));
  });

  it("S3 unreachable -> 502 quickly (two attempts at most)", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const h = createLambdaHandler(deps({ largeResponses: { bucket: "bkt", clientConfig: s3Config(dead) } }));
    const started = Date.now();
    const r = await h(event("/items/big"), ctx);
    assert.equal(r.statusCode, 502);
    assert.ok(Date.now() - started < 5000);
  });

  it("no bucket configured -> 500 response_too_large with a clear message", async () => {
    const h = createLambdaHandler(deps());
    const r = await h(event("/items/big"), ctx);
    assert.equal(r.statusCode, 500);
    const e = JSON.parse(r.body).error as { code: string; message: string };
    assert.equal(e.code, "response_too_large");
    assert.match(e.message, /1 MB/);
  });

  it("rejects a presigned lifetime outside 1..604800 s", () => {
    assert.throws(() => createLargeResponseStore({ bucket: "b", expiresInSeconds: 0 }), RangeError);
    assert.throws(() => createLargeResponseStore({ bucket: "b", expiresInSeconds: 604801 }), RangeError);
  });
});

describe("presigned URL lifetime (a URL dies with the credentials that signed it)", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  it("keeps the configured lifetime when the credentials outlive it, or their expiry is unknown", () => {
    assert.equal(presignedLifetime(300, now, now + 3_600_000), 300);
    assert.equal(presignedLifetime(300, now, undefined), 300);
    assert.equal(presignedLifetime(300, now, Number.NaN), 300);
  });
  it("cuts it to what the credentials have left, less the margin", () => {
    assert.equal(presignedLifetime(300, now, now + 120_000), 120 - CREDENTIAL_MARGIN_SECONDS);
  });
  it("never below 1 s (credentials about to expire: the SDK refreshes them for the next request)", () => {
    assert.equal(presignedLifetime(300, now, now + 10_000), 1);
    assert.equal(presignedLifetime(300, now, now - 10_000), 1);
  });
});
