import * as assert from "node:assert/strict";
import { requestCacheKey } from "../../functions/cache";
import { statusDescription, statusText, errorJson, DEFAULT_LIMITS } from "../../functions/platform/http";
import {
  DEFAULT_ROUTE_OPTIONS,
  QueryMap,
  basePathProblem,
  itemCacheRequest,
  itemPathTemplateProblem,
  itemUpstreamUrl,
  stripBasePath,
  normalizeLang,
  parseQueryString,
  parseSlowMs,
  resolveRoute,
  validateItemId,
} from "../../app/routes";
import { logEnabled, slowFitsDeadline, upstreamFailure } from "../../app/app";
import { lambdaDeadline } from "../../functions/platform/lambda";
import { apiSettingsFromEnv } from "../../app/settings";
import { createApiLambdaHandler } from "../../app/lambda";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "../support/memcached";
import { runProgram } from "../support/program";

const q = (search: string): QueryMap => parseQueryString(search);

describe("api routes (pure)", () => {
  describe("resolveRoute: paths", () => {
    const ok: Array<[string, string, unknown]> = [
      ["/health", "", { kind: "health" }],
      ["/runtime", "", { kind: "runtime" }],
      ["/slow", "", { kind: "slow", ms: 1000 }],
      ["/slow", "?ms=250", { kind: "slow", ms: 250 }],
      ["/items/42", "", { kind: "item", id: "42", lang: "en" }],
      ["/items/42", "?lang=de", { kind: "item", id: "42", lang: "de" }],
      ["/items/A-1_b.2", "?lang=pt-br", { kind: "item", id: "A-1_b.2", lang: "pt-BR" }],
      ["/items/%41bc", "", { kind: "item", id: "Abc", lang: "en" }],
      // Unknown parameters are ignored.
      ["/items/42", "?lang=de&utm_source=x&lang2=zz", { kind: "item", id: "42", lang: "de" }],
      ["/health", "?verbose=1", { kind: "health" }],
    ];
    for (const [path, search, route] of ok) {
      it(`GET ${path}${search} -> ${JSON.stringify(route)}`, () => {
        assert.deepEqual(resolveRoute("GET", path, q(search)), { ok: true, route, head: false });
      });
    }

    const notFound = ["/", "/health/", "/HEALTH", "//health", "/items", "/items/", "/items/1/2", "/item/1", "/health/x", "/slow/1", "/runtime.json", "/items//1"];
    for (const path of notFound) {
      it(`${path} -> 404 not_found`, () => {
        const d = resolveRoute("GET", path, {});
        assert.equal(d.ok, false);
        if (!d.ok) {
          assert.equal(d.status, 404);
          assert.equal(d.code, "not_found");
        }
      });
    }

    it("a malformed percent-escape is 400 bad_path, not a throw", () => {
      for (const path of ["/items/%E0%A4%A", "/items/%zz", "/%"]) {
        const d = resolveRoute("GET", path, {});
        assert.ok(!d.ok && d.status === 400 && d.code === "bad_path", path);
      }
    });

    it("an encoded slash stays inside the id and is refused as an id", () => {
      const d = resolveRoute("GET", "/items/a%2Fb", {});
      assert.ok(!d.ok && d.status === 400 && d.code === "invalid_id");
    });

    it("a path longer than the limit is 414", () => {
      const d = resolveRoute("GET", `/items/${"a".repeat(DEFAULT_LIMITS.maxPathLength)}`, {});
      assert.ok(!d.ok && d.status === 414 && d.code === "uri_too_long");
    });

    it("a path without leading slash is 400", () => {
      const d = resolveRoute("GET", "health", {});
      assert.ok(!d.ok && d.status === 400);
    });
  });

  describe("resolveRoute: methods", () => {
    it("HEAD is allowed everywhere and flagged", () => {
      for (const path of ["/health", "/runtime", "/items/1", "/slow"]) {
        const d = resolveRoute("HEAD", path, {});
        assert.ok(d.ok && d.head, path);
      }
    });
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]) {
      it(`${method} on a known route -> 405 with allow`, () => {
        for (const path of ["/health", "/runtime", "/items/1", "/slow"]) {
          const d = resolveRoute(method, path, {});
          assert.ok(!d.ok);
          if (!d.ok) {
            assert.equal(d.status, 405);
            assert.equal(d.code, "method_not_allowed");
            assert.deepEqual(d.headers, { allow: "GET, HEAD" });
          }
        }
      });
    }
    it("an unknown path stays 404 whatever the method", () => {
      const d = resolveRoute("POST", "/nope", {});
      assert.ok(!d.ok && d.status === 404);
    });
    it("405 wins over bad parameters (method is judged first)", () => {
      const d = resolveRoute("POST", "/slow", q("?ms=abc"));
      assert.ok(!d.ok && d.status === 405);
    });
  });

  describe("item id", () => {
    const good = ["1", "42", "abc", "A-1_b.2", "x".repeat(64), "0.9", "a-"];
    const bad = ["", "-a", ".", "..", "_a", "a b", "a/b", "a$b", "x".repeat(65), "é", "a\u0000", "a?b"];
    for (const id of good) it(`accepts ${JSON.stringify(id)}`, () => assert.deepEqual(validateItemId(id), { ok: true, id }));
    for (const id of bad) {
      it(`refuses ${JSON.stringify(id.slice(0, 10))}`, () => {
        const d = validateItemId(id);
        assert.ok(!d.ok && d.status === 400 && d.code === "invalid_id");
      });
    }
  });

  describe("lang", () => {
    const table: Array<[string | undefined, string | null]> = [
      [undefined, "en"],
      ["en", "en"],
      ["EN", "en"],
      ["de", "de"],
      ["pt-br", "pt-BR"],
      ["PT-BR", "pt-BR"],
      ["es-419", "es-419"],
      ["gsw", "gsw"],
      ["", null],
      ["e", null],
      ["english", null],
      ["en_US", null],
      ["en-", null],
      ["en-USA", null],
      ["en-1", null],
      ["de-DE-x", null],
      [" en", null],
      ["en\n", null],
    ];
    for (const [raw, expected] of table) {
      it(`${JSON.stringify(raw)} -> ${expected ?? "400 invalid_lang"}`, () => {
        const d = normalizeLang(raw, "en");
        if (expected === null) assert.ok(!d.ok && d.status === 400 && d.code === "invalid_lang");
        else assert.deepEqual(d, { ok: true, lang: expected });
      });
    }
    it("a repeated lang is ambiguous: 400 invalid_query", () => {
      const d = resolveRoute("GET", "/items/1", q("?lang=en&lang=de"));
      assert.ok(!d.ok && d.status === 400 && d.code === "invalid_query");
    });
    it("an invalid lang through resolveRoute is 400 invalid_lang", () => {
      const d = resolveRoute("GET", "/items/1", q("?lang=xx_YY"));
      assert.ok(!d.ok && d.code === "invalid_lang");
    });
    it("an invalid id is reported before the lang", () => {
      const d = resolveRoute("GET", "/items/$", q("?lang=!!"));
      assert.ok(!d.ok && d.code === "invalid_id");
    });
  });

  describe("/slow ms", () => {
    const table: Array<[string | undefined, number | null]> = [
      [undefined, 1000],
      ["0", 0],
      ["1", 1],
      ["5000", 5000],
      ["0005", 5],
      ["5001", null],
      ["99999999", null],
      ["-1", null],
      ["1.5", null],
      ["1e3", null],
      ["0x10", null],
      ["abc", null],
      ["", null],
      [" 5", null],
      ["Infinity", null],
    ];
    for (const [raw, expected] of table) {
      it(`${JSON.stringify(raw)} -> ${expected ?? "400 invalid_ms"}`, () => {
        const d = parseSlowMs(raw, DEFAULT_ROUTE_OPTIONS);
        if (expected === null) assert.ok(!d.ok && d.status === 400 && d.code === "invalid_ms");
        else assert.deepEqual(d, { ok: true, ms: expected });
      });
    }
    it("honours a smaller configured cap", () => {
      const opts = { ...DEFAULT_ROUTE_OPTIONS, slowMaxMs: 100 };
      assert.ok(!parseSlowMs("101", opts).ok);
      assert.ok(parseSlowMs("100", opts).ok);
    });
    it("a repeated ms is 400", () => {
      const d = resolveRoute("GET", "/slow", q("?ms=1&ms=2"));
      assert.ok(!d.ok && d.code === "invalid_query");
    });
    it("slowFitsDeadline refuses a sleep that would outlive the deadline", () => {
      assert.equal(slowFitsDeadline(1000, 0, undefined), true);
      assert.equal(slowFitsDeadline(1000, 0, 1000), true);
      assert.equal(slowFitsDeadline(1001, 0, 1000), false);
    });
  });

  describe("parseQueryString", () => {
    it("decodes, keeps repeats in order, accepts a missing '?'", () => {
      assert.deepEqual({ ...q("?a=1&b=x%20y&a=2&c") }, { a: ["1", "2"], b: ["x y"], c: [""] });
      assert.deepEqual({ ...q("a=1") }, { a: ["1"] });
      assert.deepEqual({ ...q("") }, {});
      assert.deepEqual({ ...q("?") }, {});
    });
    it("'+' is a space, malformed escapes are kept literally, never throws", () => {
      assert.deepEqual({ ...q("?t=a+b&u=%zz&v=%") }, { t: ["a b"], u: ["%zz"], v: ["%"] });
    });
    it("prototype-named keys are plain own keys (no crash, no pollution)", () => {
      const m = q("?constructor=1&__proto__=2&toString=3&hasOwnProperty=4");
      assert.deepEqual(Object.keys(m).sort(), ["__proto__", "constructor", "hasOwnProperty", "toString"]);
      assert.deepEqual(m["__proto__"], ["2"]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      // And routing with them present works.
      assert.ok(resolveRoute("GET", "/items/1", m).ok);
      assert.ok(resolveRoute("GET", "/slow", q("?constructor=x&ms=1")).ok);
    });
    it("a key named like a route parameter but not own is not read from the prototype", () => {
      const d = resolveRoute("GET", "/slow", Object.create({ ms: ["9999999"] }) as QueryMap);
      assert.deepEqual(d, { ok: true, route: { kind: "slow", ms: 1000 }, head: false });
    });
  });

  describe("cache key and upstream URL", () => {
    const key = (path: string, search: string): string => {
      const d = resolveRoute("GET", path, q(search));
      assert.ok(d.ok && d.route.kind === "item");
      if (!d.ok || d.route.kind !== "item") throw new Error("unreachable");
      return requestCacheKey("api", itemCacheRequest(d.route.id, d.route.lang));
    };
    it("unknown query parameters are not part of the key", () => {
      assert.equal(key("/items/42", "?lang=de"), key("/items/42", "?lang=de&utm_source=x&z=1"));
    });
    it("the default lang and normalised forms share a key", () => {
      assert.equal(key("/items/42", ""), key("/items/42", "?lang=en"));
      assert.equal(key("/items/42", "?lang=EN"), key("/items/42", "?lang=en"));
      assert.equal(key("/items/42", "?lang=pt-br"), key("/items/42", "?lang=PT-BR"));
    });
    it("id and lang are part of the key", () => {
      assert.notEqual(key("/items/42", "?lang=de"), key("/items/42", "?lang=fr"));
      assert.notEqual(key("/items/42", "?lang=de"), key("/items/43", "?lang=de"));
      assert.notEqual(key("/items/a", ""), key("/items/A", ""));
    });
    it("itemUpstreamUrl joins without double slashes and encodes", () => {
      assert.equal(itemUpstreamUrl("http://u:1/base/", "42", "pt-BR"), "http://u:1/base/items/42?lang=pt-BR");
      assert.equal(itemUpstreamUrl("http://u:1", "a.b", "en"), "http://u:1/items/a.b?lang=en");
    });
    it("itemUpstreamUrl fills a configured item path; the id can never add a segment or a query", () => {
      assert.equal(itemUpstreamUrl("https://jsonplaceholder.typicode.com", "7", "en", "/todos/{id}"), "https://jsonplaceholder.typicode.com/todos/7?lang=en");
      assert.equal(itemUpstreamUrl("http://u:1/v2", "x", "de", "/things/{id}.json"), "http://u:1/v2/things/x.json?lang=de");
      assert.equal(itemUpstreamUrl("http://u:1", "a/../b?c", "en", "/todos/{id}"), "http://u:1/todos/a%2F..%2Fb%3Fc?lang=en");
    });
    it("item path templates: absolute, plain segments, {id} exactly once", () => {
      for (const ok of ["/items/{id}", "/todos/{id}", "/v2/things/{id}.json", "/{id}", "/a/b-{id}/c"]) assert.equal(itemPathTemplateProblem(ok), undefined, ok);
      for (const bad of ["items/{id}", "/items", "/items/{id}/{id}", "/items/{id}?x=1", "/items/{id}#f", "/items//{id}", "/it ems/{id}", "/items/{ID}", "/../{id}"]) {
        assert.match(itemPathTemplateProblem(bad) ?? "", /\{id\} exactly once/, bad);
      }
    });
  });

  describe("base path (the stage API Gateway puts in front of every backend path)", () => {
    const cases: Array<[string, string | undefined, string]> = [
      ["/dev/items/42", "/dev", "/items/42"],
      ["/dev/items/42?lang=de", "/dev", "/items/42?lang=de"],
      ["/dev", "/dev", "/"],
      ["/dev/", "/dev", "/"],
      ["/dev?x=1", "/dev", "/?x=1"],
      ["/items/42", "/dev", "/items/42"],
      ["/devices/1", "/dev", "/devices/1"],
      ["/prod/items/1", "/dev", "/prod/items/1"],
      ["/dev/dev/items", "/dev", "/dev/items"],
      ["/dev//items/42", "/dev", "/items/42"],
      ["/dev/items/42", undefined, "/dev/items/42"],
    ];
    for (const [target, base, want] of cases) {
      it(`${target} with base ${base ?? "(none)"} -> ${want}`, () => assert.equal(stripBasePath(target, base), want));
    }
    it("a base path is / and a stage name", () => {
      assert.equal(basePathProblem("/dev"), undefined);
      assert.equal(basePathProblem("/prod_2-a"), undefined);
      for (const bad of ["dev", "/", "/dev/", "/a/b", "/d.v", `/${"x".repeat(129)}`]) assert.ok(basePathProblem(bad), bad);
    });
    it("an item behind the stage resolves like one without it", () => {
      const strip = stripBasePath("/dev/items/42", "/dev");
      assert.deepEqual(resolveRoute("GET", strip, q("?lang=de")), resolveRoute("GET", "/items/42", q("?lang=de")));
    });
  });

  describe("status, errors, deadlines", () => {
    it("statusDescription is '<code> <reason>' for every status the API answers", () => {
      const expected: Record<number, string> = {
        200: "200 OK", 303: "303 See Other", 400: "400 Bad Request", 404: "404 Not Found", 405: "405 Method Not Allowed",
        413: "413 Content Too Large", 414: "414 URI Too Long", 431: "431 Request Header Fields Too Large",
        500: "500 Internal Server Error", 502: "502 Bad Gateway", 503: "503 Service Unavailable", 504: "504 Gateway Timeout",
      };
      for (const [code, text] of Object.entries(expected)) assert.equal(statusDescription(Number(code)), text);
      assert.equal(statusDescription(299), "299 Success");
      assert.equal(statusDescription(418), "418 Client Error");
      assert.equal(statusDescription(599), "599 Server Error");
      assert.equal(statusText(799), "");
    });
    it("errorJson has exactly { error: { code, message } }", () => {
      assert.deepEqual(JSON.parse(errorJson("x", "y")), { error: { code: "x", message: "y" } });
    });
    it("upstreamFailure maps the cache library's errors", () => {
      assert.equal(upstreamFailure(504).status, 504);
      assert.equal(upstreamFailure(504).code, "upstream_timeout");
      assert.deepEqual(upstreamFailure(502, 500), { status: 502, code: "upstream_error", message: "the upstream answered 500" });
      assert.equal(upstreamFailure(502).message, "the upstream could not be reached");
      assert.deepEqual(upstreamFailure(502, 404), { status: 404, code: "item_not_found", message: "the upstream has no such item" });
    });
    it("logEnabled: LOG_LEVEL threshold, default warn, unknown values fall back to warn", () => {
      assert.equal(logEnabled("info", undefined), false);
      assert.equal(logEnabled("warn", undefined), true);
      assert.equal(logEnabled("info", "INFO"), true);
      assert.equal(logEnabled("debug", "info"), false);
      assert.equal(logEnabled("warn", "error"), false);
      assert.equal(logEnabled("error", "silent"), false);
      assert.equal(logEnabled("info", "verbose"), false);
      assert.equal(logEnabled("error", "verbose"), true);
    });
    it("lambdaDeadline = now + remaining - margin, never before now, undefined without a context", () => {
      assert.equal(lambdaDeadline(1000, 5000, 500), 5500);
      assert.equal(lambdaDeadline(1000, 200, 500), 1000);
      assert.equal(lambdaDeadline(1000, undefined, 500), undefined);
      assert.equal(lambdaDeadline(1000, Number.NaN, 500), undefined);
    });
  });
});

describe("test routes (/slow, /runtime) only when enabled: API_DEBUG_ROUTES, off in prod", function () {
  this.timeout(60_000);
  const REPO = path.join(__dirname, "..", "..");
  const off = { ...DEFAULT_ROUTE_OPTIONS, debugRoutes: false };
  const unknown = (method: string, options = off) => resolveRoute(method, "/nope", {}, options);

  it("enabled by default (DEFAULT_ROUTE_OPTIONS, and options without the flag)", () => {
    assert.equal(DEFAULT_ROUTE_OPTIONS.debugRoutes, true);
    const { debugRoutes: _omitted, ...withoutFlag } = DEFAULT_ROUTE_OPTIONS;
    assert.deepEqual(resolveRoute("GET", "/runtime", {}, withoutFlag), { ok: true, route: { kind: "runtime" }, head: false });
    assert.deepEqual(resolveRoute("GET", "/slow", q("?ms=5"), withoutFlag), { ok: true, route: { kind: "slow", ms: 5 }, head: false });
  });

  it("disabled: /slow and /runtime answer exactly what an unknown path answers, whatever the method or parameters", () => {
    for (const method of ["GET", "HEAD", "POST", "DELETE"]) {
      for (const [p, search] of [["/slow", "?ms=5000"], ["/slow", ""], ["/slow", "?ms=abc"], ["/slow", "?ms=1&ms=2"], ["/runtime", ""], ["/runtime", "?x=1"], ["/%72untime", ""]]) {
        assert.deepEqual(resolveRoute(method, p, q(search), off), unknown(method), `${method} ${p}${search}`);
      }
    }
    const d = unknown("GET");
    assert.ok(!d.ok && d.status === 404 && d.code === "not_found");
    assert.ok(!d.ok && !/slow|runtime/.test(d.message), "the 404 does not advertise the disabled routes");
    assert.deepEqual(resolveRoute("GET", "/health", {}, off), { ok: true, route: { kind: "health" }, head: false });
    assert.deepEqual(resolveRoute("GET", "/items/42", q("?lang=de"), off), { ok: true, route: { kind: "item", id: "42", lang: "de" }, head: false });
  });

  it("API_DEBUG_ROUTES: on by default; on|off|true|false|1|0 in any case; anything else fails naming the variable", () => {
    const env = (v?: string) => apiSettingsFromEnv({ UPSTREAM_URL: "http://u", MEMCACHED_SERVERS: "a:1", ...(v === undefined ? {} : { API_DEBUG_ROUTES: v }) });
    assert.equal(env().debugRoutes, true);
    assert.equal(env("").debugRoutes, true);
    for (const v of ["on", "ON", "true", "1"]) assert.equal(env(v).debugRoutes, true, v);
    for (const v of ["off", "Off", "false", "FALSE", "0", " off "]) assert.equal(env(v).debugRoutes, false, v);
    for (const v of ["no", "disabled", "2", "of"]) assert.throws(() => env(v), /API_DEBUG_ROUTES=.* must be on or off/, v);
  });

  it("Lambda runtime (lambdaEntry from the environment): 404 like an unknown route when off, served when on", async () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "alb", "get-item.single.json"), "utf8")) as Record<string, unknown>;
    const event = (p: string, query: Record<string, string> = {}) => ({ ...fixture, httpMethod: "GET", path: p, queryStringParameters: query, body: "", isBase64Encoded: false });
    const context = { getRemainingTimeInMillis: () => 10_000 };
    const base = { UPSTREAM_URL: "http://127.0.0.1:9", MEMCACHED_SERVERS: "127.0.0.1:9", CACHE_METRICS: "off", LOG_LEVEL: "error" };
    type Res = { statusCode: number; body: string };
    const offHandler = createApiLambdaHandler({ ...base, API_DEBUG_ROUTES: "off" });
    const nope = (await offHandler(event("/nope"), context)) as Res;
    assert.equal(nope.statusCode, 404);
    const started = Date.now();
    for (const [p, query] of [["/slow", { ms: "5000" }], ["/runtime", {}]] as const) {
      const res = (await offHandler(event(p, query), context)) as Res;
      assert.equal(res.statusCode, 404, p);
      assert.equal(res.body, nope.body, `${p}: the same body as an unknown path`);
    }
    assert.ok(Date.now() - started < 1000, "/slow?ms=5000 did not sleep");
    const onHandler = createApiLambdaHandler(base);
    assert.equal(((await onHandler(event("/runtime"), context)) as Res).statusCode, 200);
    assert.deepEqual(JSON.parse(((await onHandler(event("/slow", { ms: "1" }), context)) as Res).body), { sleptMs: 1 });
  });

  describe("container runtime (main.ts as a process)", () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      child = undefined;
    });
    const launch = async (extra: Record<string, string>): Promise<string> => {
      const port = await freePort();
      const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "app/main.ts"], {
        cwd: REPO,
        env: { PATH: process.env.PATH ?? "", UPSTREAM_URL: "http://127.0.0.1:9", MEMCACHED_SERVERS: "127.0.0.1:9", CACHE_METRICS: "off", PORT: String(port), ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      let out = "";
      proc.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
      proc.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
      return new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = /"message":"listening".*?"url":"([^"]+)"/.exec(out);
          if (m) { clearInterval(timer); resolve(m[1]); }
        }, 20);
        proc.once("exit", (code) => { clearInterval(timer); reject(new Error(`main.ts exited ${code}: ${out}`)); });
      });
    };

    it("API_DEBUG_ROUTES=off: /slow?ms=5000 and /runtime are 404 with an unknown path's body, at once", async () => {
      const url = await launch({ API_DEBUG_ROUTES: "off" });
      const nope = await fetch(`${url}/nope`);
      const nopeBody = await nope.text();
      assert.equal(nope.status, 404);
      const started = Date.now();
      for (const p of ["/slow?ms=5000", "/runtime"]) {
        const res = await fetch(`${url}${p}`);
        assert.equal(res.status, 404, p);
        assert.equal(await res.text(), nopeBody, p);
      }
      assert.ok(Date.now() - started < 1000, "/slow?ms=5000 did not sleep");
      assert.equal((await fetch(`${url}/health`)).status, 200);
    });

    it("default: served", async () => {
      const url = await launch({});
      assert.equal((await fetch(`${url}/runtime`)).status, 200);
    });
  });

  it("the stacks: prod sets API_DEBUG_ROUTES=off for both runtimes, dev keeps them on", async () => {
    for (const [stack, want] of [["prod", "off"], ["dev", "on"]] as const) {
      const run = await runProgram(stack);
      const fn = run.one("aws:lambda/function:Function", `svc-${stack}-api`);
      assert.equal(fn.inputs.environment.variables.API_DEBUG_ROUTES, want, `${stack} Lambda`);
      const [container] = JSON.parse(run.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions) as Array<{ environment: Array<{ name: string; value: string }> }>;
      assert.equal(container.environment.find((e) => e.name === "API_DEBUG_ROUTES")?.value, want, `${stack} Fargate task`);
    }
  });
});
