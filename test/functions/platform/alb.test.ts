import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Hono } from "hono";
import {
  AlbResult,
  albError,
  albFormOf,
  albResultBytes,
  needsBase64,
  parseAlbEvent,
  shapeAlbResult,
} from "../../../functions/platform/alb";
import { DEFAULT_LIMITS } from "../../../functions/platform/http";
import {
  ALB_MAX_RESPONSE_BYTES,
  StoredResponse,
  largeResponseKey,
  mustOffload,
  redirectParts,
} from "../../../functions/platform/largeResponse";

const FIXTURES = path.join(__dirname, "..", "..", "fixtures", "alb");
const fixture = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8")) as Record<string, unknown>;
const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8");

/** Every shaped result must satisfy what the ALB accepts. */
function assertValidAlbResult(r: AlbResult, form: "single" | "multi"): void {
  assert.equal(typeof r.statusCode, "number");
  assert.match(r.statusDescription, /^\d{3} \S.*$/);
  assert.ok(r.statusDescription.startsWith(`${r.statusCode} `));
  assert.equal(typeof r.body, "string");
  assert.equal(typeof r.isBase64Encoded, "boolean");
  if (form === "single") {
    assert.ok(r.headers && Object.keys(r.headers).length > 0, "headers must not be empty");
    assert.equal(r.multiValueHeaders, undefined);
    for (const v of Object.values(r.headers)) assert.equal(typeof v, "string");
  } else {
    assert.ok(r.multiValueHeaders && Object.keys(r.multiValueHeaders).length > 0, "multiValueHeaders must not be empty");
    assert.equal(r.headers, undefined);
    for (const v of Object.values(r.multiValueHeaders)) assert.ok(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"));
  }
  // The JSON round trip is what the ALB sees.
  assert.deepEqual(JSON.parse(JSON.stringify(r)), { ...r });
}

describe("ALB translation (pure)", () => {
  describe("fixtures", () => {
    it("every fixture is a well-formed ALB event that parses", () => {
      const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".json"));
      assert.ok(files.length >= 6);
      for (const f of files) {
        const ev = fixture(f);
        const form = f.includes(".multi.") ? "multi" : "single";
        assert.equal(albFormOf(ev), form, f);
        assert.ok((ev.requestContext as { elb?: unknown }).elb, f);
        const p = parseAlbEvent(ev);
        assert.ok(p.ok, `${f}: ${JSON.stringify(p)}`);
      }
    });
  });

  describe("parseAlbEvent", () => {
    it("single-value form: method, path, raw query, lower-case headers", () => {
      const p = parseAlbEvent(fixture("get-item.single.json"));
      assert.ok(p.ok);
      if (!p.ok) return;
      assert.equal(p.form, "single");
      assert.equal(p.method, "GET");
      assert.equal(p.path, "/items/42");
      assert.equal(p.rawQuery, "lang=de&utm_source=newsletter");
      assert.deepEqual(p.headers.find(([n]) => n === "x-forwarded-for"), ["x-forwarded-for", "203.0.113.24"]);
      assert.equal(p.body, undefined);
    });

    it("multi-value form: repeated headers and query values are all kept", () => {
      const ev = fixture("get-item.multi.json");
      (ev.multiValueQueryStringParameters as Record<string, string[]>).tag = ["a", "b"];
      const p = parseAlbEvent(ev);
      assert.ok(p.ok);
      if (!p.ok) return;
      assert.equal(p.form, "multi");
      assert.equal(p.rawQuery, "lang=de&utm_source=newsletter&tag=a&tag=b");
      assert.deepEqual(p.headers.filter(([n]) => n === "cookie").map(([, v]) => v), ["session=abc123", "theme=dark"]);
    });

    it("keeps the query raw (the ALB does not decode it) and protects '#'", () => {
      const p = parseAlbEvent(fixture("encoded-query.single.json"));
      assert.ok(p.ok);
      if (!p.ok) return;
      assert.equal(p.rawQuery, "lang=pt%2Dbr&q=caf%C3%A9%20au%20lait&tag=a+b");
      const ev = fixture("health-check.single.json");
      ev.queryStringParameters = { x: "a#b" };
      const p2 = parseAlbEvent(ev);
      assert.ok(p2.ok && p2.rawQuery === "x=a%23b");
    });

    it("decodes a base64 body", () => {
      const p = parseAlbEvent(fixture("post-binary.multi.json"));
      assert.ok(p.ok);
      if (!p.ok) return;
      assert.deepEqual(Buffer.from(p.body ?? []), Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0xfd, 0xff]));
      const ev = fixture("health-check.single.json");
      ev.body = "héllo";
      const p2 = parseAlbEvent(ev);
      assert.ok(p2.ok && Buffer.from(p2.body ?? []).toString("utf8") === "héllo");
    });

    it("non-latin1 header text reaches the app as Node would show its UTF-8 bytes", () => {
      const ev = fixture("health-check.single.json");
      (ev.headers as Record<string, string>)["x-name"] = "Zoë ☃";
      const p = parseAlbEvent(ev);
      assert.ok(p.ok);
      if (!p.ok) return;
      const v = p.headers.find(([n]) => n === "x-name")?.[1] ?? "";
      assert.equal(v, Buffer.from("Zoë ☃", "utf8").toString("latin1"));
      assert.doesNotThrow(() => new Headers([["x-name", v]]));
    });

    const malformed: Array<[string, unknown, number, string]> = [
      ["null", null, 400, "malformed_event"],
      ["a string", "GET /", 400, "malformed_event"],
      ["an array", [], 400, "malformed_event"],
      ["an empty object", {}, 400, "malformed_event"],
      ["no path", { httpMethod: "GET" }, 400, "malformed_event"],
      ["a relative path", { httpMethod: "GET", path: "health" }, 400, "malformed_event"],
      ["a lower-case method", { httpMethod: "get", path: "/health" }, 400, "malformed_event"],
      ["a numeric method", { httpMethod: 1, path: "/health" }, 400, "malformed_event"],
      ["a path with a space", { httpMethod: "GET", path: "/he alth" }, 400, "bad_path"],
      ["a path with CR", { httpMethod: "GET", path: "/health\r" }, 400, "bad_path"],
      ["headers as an array", { httpMethod: "GET", path: "/", headers: ["a"] }, 400, "malformed_event"],
      ["a non-string header", { httpMethod: "GET", path: "/", headers: { a: 1 } }, 400, "malformed_event"],
      ["a header with CRLF", { httpMethod: "GET", path: "/", headers: { a: "x\r\nInjected: 1" } }, 400, "bad_header"],
      ["a header name with a space", { httpMethod: "GET", path: "/", headers: { "a b": "x" } }, 400, "bad_header"],
      ["multiValueHeaders with a string", { httpMethod: "GET", path: "/", multiValueHeaders: { a: "x" } }, 400, "malformed_event"],
      ["multiValueHeaders with a number", { httpMethod: "GET", path: "/", multiValueHeaders: { a: [1] } }, 400, "malformed_event"],
      ["a non-string query value", { httpMethod: "GET", path: "/", queryStringParameters: { a: 1 } }, 400, "malformed_event"],
      ["a multi query that is not an array", { httpMethod: "GET", path: "/", multiValueQueryStringParameters: { a: "x" } }, 400, "malformed_event"],
      ["a numeric body", { httpMethod: "POST", path: "/", body: 12 }, 400, "malformed_event"],
      ["a string isBase64Encoded", { httpMethod: "POST", path: "/", body: "x", isBase64Encoded: "true" }, 400, "malformed_event"],
    ];
    for (const [what, ev, status, code] of malformed) {
      it(`${what} -> ${status} ${code}`, () => {
        const p = parseAlbEvent(ev);
        assert.ok(!p.ok);
        if (p.ok) return;
        assert.equal(p.status, status);
        assert.equal(p.code, code);
      });
    }

    it("null headers/query/body are accepted (some producers send null)", () => {
      const p = parseAlbEvent({ httpMethod: "GET", path: "/health", headers: null, queryStringParameters: null, body: null });
      assert.ok(p.ok);
    });

    it("a body over 1 MB is 413 (plain, base64, and declared by content-length)", () => {
      const max = DEFAULT_LIMITS.maxBodyBytes;
      const base = fixture("post-binary.multi.json");
      const plain = { ...base, isBase64Encoded: false, body: "x".repeat(max + 1) };
      const b64 = { ...base, isBase64Encoded: true, body: Buffer.alloc(max + 1).toString("base64") };
      const declared = { ...base, isBase64Encoded: false, body: "", multiValueHeaders: { "content-length": [String(max + 1)] } };
      for (const ev of [plain, b64, declared]) {
        const p = parseAlbEvent(ev);
        assert.ok(!p.ok && p.status === 413 && p.code === "body_too_large");
        assert.match(p.ok ? "" : p.message, /1 MB/);
      }
      const atLimit = parseAlbEvent({ ...base, isBase64Encoded: true, body: Buffer.alloc(max).toString("base64") });
      assert.ok(atLimit.ok && atLimit.body?.length === max);
    });

    it("headers beyond the limit are 431, in both forms", () => {
      const big = "v".repeat(8000);
      const single = fixture("health-check.single.json");
      const multi = fixture("health-check.multi.json");
      for (let i = 0; i < 5; i++) {
        (single.headers as Record<string, string>)[`x-big-${i}`] = big;
        (multi.multiValueHeaders as Record<string, string[]>)[`x-big-${i}`] = [big];
      }
      for (const ev of [single, multi]) {
        const p = parseAlbEvent(ev);
        assert.ok(!p.ok && p.status === 431 && p.code === "headers_too_large");
      }
      // Three of them (24 KB) are fine.
      const fine = fixture("health-check.single.json");
      for (let i = 0; i < 3; i++) (fine.headers as Record<string, string>)[`x-big-${i}`] = big;
      assert.ok(parseAlbEvent(fine).ok);
    });

    it("a long query string is 414", () => {
      const ev = fixture("health-check.single.json");
      ev.queryStringParameters = { q: "x".repeat(DEFAULT_LIMITS.maxQueryLength) };
      const p = parseAlbEvent(ev);
      assert.ok(!p.ok && p.status === 414);
    });
  });

  describe("shapeAlbResult", () => {
    const json = (body: string, status = 200): { status: number; headers: Array<[string, string]>; body: Uint8Array } => ({
      status,
      headers: [["content-type", "application/json; charset=utf-8"], ["x-cache", "MISS"]],
      body: bytes(body),
    });

    it("single form: headers map, statusDescription, text body", () => {
      const r = shapeAlbResult(json('{"a":1}'), "single");
      assertValidAlbResult(r, "single");
      assert.deepEqual(r, {
        statusCode: 200,
        statusDescription: "200 OK",
        headers: { "content-type": "application/json; charset=utf-8", "x-cache": "MISS" },
        body: '{"a":1}',
        isBase64Encoded: false,
      });
    });

    it("multi form: multiValueHeaders only, arrays of values", () => {
      const r = shapeAlbResult({ ...json("{}"), headers: [["content-type", "application/json"], ["vary", "accept"], ["vary", "accept-language"]] }, "multi");
      assertValidAlbResult(r, "multi");
      assert.deepEqual(r.multiValueHeaders, { "content-type": ["application/json"], vary: ["accept", "accept-language"] });
    });

    it("single form joins repeated headers; set-cookie keeps the last", () => {
      const r = shapeAlbResult({
        status: 200,
        headers: [["Vary", "accept"], ["vary", "accept-language"], ["set-cookie", "a=1"], ["set-cookie", "b=2"], ["content-type", "text/plain"]],
        body: bytes("x"),
      }, "single");
      assert.equal(r.headers?.vary, "accept, accept-language");
      assert.equal(r.headers?.["set-cookie"], "b=2");
      const m = shapeAlbResult({ status: 200, headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]], body: bytes("") }, "multi");
      assert.deepEqual(m.multiValueHeaders?.["set-cookie"], ["a=1", "b=2"]);
    });

    it("never empty headers: a response without any header gets a content-type (both forms)", () => {
      for (const form of ["single", "multi"] as const) {
        const empty = shapeAlbResult({ status: 204, headers: [], body: new Uint8Array(0) }, form);
        assertValidAlbResult(empty, form);
        assert.equal(empty.body, "");
        assert.equal(empty.statusDescription, "204 No Content");
        const withBody = shapeAlbResult({ status: 200, headers: [], body: Buffer.from([1, 2, 3]) }, form);
        assertValidAlbResult(withBody, form);
        assert.equal(withBody.isBase64Encoded, true);
        assert.equal(withBody.body, "AQID");
        // Only hop-by-hop headers: still not empty after they are dropped.
        const hop = shapeAlbResult({ status: 200, headers: [["connection", "keep-alive"], ["transfer-encoding", "chunked"], ["content-length", "2"]], body: bytes("ok") }, form);
        assertValidAlbResult(hop, form);
        const names = Object.keys(form === "single" ? hop.headers ?? {} : hop.multiValueHeaders ?? {});
        assert.deepEqual(names, ["content-type"]);
      }
    });

    it("body is never null: empty and HEAD bodies are ''", () => {
      const head = shapeAlbResult(json('{"big":true}'), "single", { head: true });
      assert.equal(head.body, "");
      assert.equal(head.isBase64Encoded, false);
      assert.equal(head.headers?.["content-type"], "application/json; charset=utf-8");
    });

    it("binary bodies are base64 and decode back to the same bytes", () => {
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]);
      for (const form of ["single", "multi"] as const) {
        const r = shapeAlbResult({ status: 200, headers: [["content-type", "image/png"]], body: png }, form);
        assertValidAlbResult(r, form);
        assert.equal(r.isBase64Encoded, true);
        assert.deepEqual(Buffer.from(r.body, "base64"), png);
      }
      // A Uint8Array view into a bigger buffer: only the view is encoded.
      const backing = Buffer.from("xxxxABCDxxxx");
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, 4);
      const r = shapeAlbResult({ status: 200, headers: [["content-type", "application/octet-stream"]], body: view }, "single");
      assert.equal(Buffer.from(r.body, "base64").toString(), "ABCD");
    });

    const base64Table: Array<[string | undefined, string | undefined, Uint8Array, boolean]> = [
      ["application/json", undefined, bytes('{"a":"é"}'), false],
      ["application/json; charset=utf-8", undefined, bytes("{}"), false],
      ["text/plain", undefined, bytes("hello"), false],
      ["text/html; charset=UTF-8", undefined, bytes("<p>"), false],
      ["application/problem+json", undefined, bytes("{}"), false],
      ["application/vnd.api+json", undefined, bytes("{}"), false],
      ["application/xml", undefined, bytes("<a/>"), false],
      ["application/javascript", undefined, bytes("1"), false],
      ["image/png", undefined, bytes("x"), true],
      ["application/octet-stream", undefined, bytes("x"), true],
      ["application/pdf", undefined, bytes("x"), true],
      [undefined, undefined, bytes("x"), true],
      ["application/json", "gzip", bytes("x"), true],
      ["application/json", "identity", bytes("{}"), false],
      ["text/plain; charset=iso-8859-1", undefined, Buffer.from([0xe9]), true],
      ["text/plain", undefined, Buffer.from([0xc3, 0x28]), true],
      ["application/json", undefined, new Uint8Array(0), false],
      ["application/jsonp", undefined, bytes("x"), true],
    ];
    for (const [ct, ce, body, expected] of base64Table) {
      it(`needsBase64(${ct}, ${ce}, ${body.length} bytes) = ${expected}`, () => {
        assert.equal(needsBase64(ct, ce, body), expected);
      });
    }

    it("albError gives the JSON error body, no-store, extra headers", () => {
      for (const form of ["single", "multi"] as const) {
        const r = albError({ status: 405, code: "method_not_allowed", message: "no", headers: { allow: "GET, HEAD" } }, form);
        assertValidAlbResult(r, form);
        assert.equal(r.statusDescription, "405 Method Not Allowed");
        assert.deepEqual(JSON.parse(r.body), { error: { code: "method_not_allowed", message: "no" } });
        const h = form === "single" ? r.headers ?? {} : Object.fromEntries(Object.entries(r.multiValueHeaders ?? {}).map(([k, v]) => [k, v[0]]));
        assert.equal(h.allow, "GET, HEAD");
        assert.equal(h["cache-control"], "no-store");
        assert.equal(h["content-type"], "application/json; charset=utf-8");
      }
    });
  });

  describe("1 MB decisions", () => {
    it("albResultBytes measures the JSON the ALB receives (escapes and base64 included)", () => {
      const r = shapeAlbResult({ status: 200, headers: [["content-type", "text/plain"]], body: bytes('"\n') }, "single");
      assert.equal(albResultBytes(r), Buffer.byteLength(JSON.stringify(r)));
      assert.ok(JSON.stringify(r).includes('\\"\\n'));
    });

    it("offloads strictly above the limit", () => {
      assert.equal(ALB_MAX_RESPONSE_BYTES, 1_000_000);
      assert.equal(mustOffload(ALB_MAX_RESPONSE_BYTES), false);
      assert.equal(mustOffload(ALB_MAX_RESPONSE_BYTES + 1), true);
      assert.equal(mustOffload(10, 5), true);
    });

    it("a body just under the limit as text fits, the same bytes as binary (base64 +33%) do not", () => {
      const n = 900_000;
      const text = shapeAlbResult({ status: 200, headers: [["content-type", "text/plain"]], body: Buffer.alloc(n, 0x61) }, "single");
      const bin = shapeAlbResult({ status: 200, headers: [["content-type", "application/octet-stream"]], body: Buffer.alloc(n, 0x61) }, "single");
      assert.equal(mustOffload(albResultBytes(text)), false);
      assert.equal(mustOffload(albResultBytes(bin)), true);
    });

    it("JSON escaping counts: 600 KB of quotes is over the limit once escaped", () => {
      const r = shapeAlbResult({ status: 200, headers: [["content-type", "text/plain"]], body: Buffer.alloc(600_000, 0x22) }, "single");
      assert.equal(mustOffload(albResultBytes(r)), true);
    });

    it("largeResponseKey is prefix/day/id", () => {
      assert.equal(largeResponseKey("large-responses/", Date.UTC(2026, 10, 22, 23, 59), "abc"), "large-responses/2026-11-22/abc");
    });

    it("redirectParts is a 303 with location, JSON body and no-store", () => {
      const stored: StoredResponse = { bucket: "b", key: "k", url: "https://b.s3.amazonaws.com/k?X-Amz-Expires=300", expiresInSeconds: 300 };
      const parts = redirectParts(stored);
      const r = shapeAlbResult(parts, "multi");
      assertValidAlbResult(r, "multi");
      assert.equal(r.statusCode, 303);
      assert.equal(r.statusDescription, "303 See Other");
      assert.deepEqual(r.multiValueHeaders?.location, [stored.url]);
      assert.deepEqual(r.multiValueHeaders?.["cache-control"], ["no-store"]);
      assert.equal(JSON.parse(r.body).redirect.location, stored.url);
    });
  });

  describe("why not hono/aws-lambda (re-check on Hono upgrades)", () => {
    // These document the gaps that made us write our own adapter. If one starts failing, Hono fixed it.
    // `hono/aws-lambda` is deprecated (to be removed in Hono 5): without it these are skipped.
    type Handle = (app: Hono) => (ev: unknown, ctx?: unknown) => Promise<Record<string, unknown>>;
    let handle: Handle;
    let honoHandler: (ev: unknown, ctx?: unknown) => Promise<Record<string, unknown>>;
    before(function () {
      try {
        handle = (require("hono/aws-lambda") as { handle: Handle }).handle;
      } catch {
        this.skip();
      }
      const app = new Hono();
      app.get("/empty", () => new Response(null, { status: 204 }));
      app.get("/ok", (c) => c.json({ ok: true }));
      honoHandler = handle(app);
    });

    it("answers without statusDescription", async () => {
      const r = await honoHandler(fixture("health-check.single.json"));
      assert.equal(r.statusDescription, undefined);
    });

    it("answers an empty headers map for a response without headers (the ALB answers 502 to that)", async () => {
      const ev = { ...fixture("health-check.single.json"), path: "/empty" };
      const r = await honoHandler(ev);
      assert.deepEqual(r.headers, {});
    });

    it("joins multi-value request headers with '; ' (so X-Forwarded-For becomes '198.51.100.7; 10.0.1.15')", async () => {
      const seen: string[] = [];
      const app2 = new Hono();
      app2.all("*", (c) => {
        seen.push(c.req.header("x-forwarded-for") ?? "");
        return c.text("ok");
      });
      await handle(app2)(fixture("post-binary.multi.json"));
      assert.deepEqual(seen, ["198.51.100.7; 10.0.1.15"]);
    });

    it("throws on a null event instead of answering 400", async () => {
      await assert.rejects(honoHandler(null));
    });
  });
});
