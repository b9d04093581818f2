import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  buildInvalidationRequest,
  CliError,
  controlEvent,
  describeControl,
  extractApiOutputs,
  interpretControlResponse,
  interpretResponse,
  main,
  parseArgs,
  redact,
  sdkClientConfig,
  signRequest,
} from "../../scripts/invalidate";
import { createTwoTierCache, type TwoTierCache } from "../../functions/cache";
import { createDemoApiHandler as createApiHandler, createDemoLambdaHandler as createLambdaHandler } from "../../app/lambda";
import { startMemcached, type MemcachedServer } from "../support/memcached";
import { startUpstream, type Upstream } from "../support/upstream";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const ACCESS_KEY = "AKIDEXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const API_ID = "abc123defg";
const VPCE = "vpce-0123456789abcdef0";
const API_HOST = `${API_ID}-${VPCE}.execute-api.us-east-1.amazonaws.com`;
const OUTPUTS = {
  apiId: API_ID,
  apiStageName: "dev",
  apiInvokeUrl: `https://${API_HOST}/dev`,
  apiRegion: "us-east-1",
  apiInvalidationPolicyArn: "arn:aws:iam::123456789012:policy/api-dev-invalidate",
  apiFunctionName: "api-dev-fn",
  vpcId: "vpc-0123",
};
const INVOKE_PATH = "/2015-03-31/functions/api-dev-fn/invocations";

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body?: string;
}

interface Reply { status: number; body: string; headers?: Record<string, string> }

/**
 * A real HTTP server on loopback that records every request, in order, and answers with the next
 * queued response. Lambda invocations (POST /2015-03-31/functions/<name>/invocations: the Lambda
 * control-plane protocol) go to `onInvoke` when set: the tests run the real API handler there.
 */
class RecordingServer {
  readonly received: Received[] = [];
  onInvoke: ((payload: unknown) => Promise<Reply>) | undefined;
  private readonly server = http.createServer((req, res) => {
    const rec: Received = { method: req.method ?? "", url: req.url ?? "", headers: req.headers };
    this.received.push(rec);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      rec.body = Buffer.concat(chunks).toString("utf8");
      const invoke = /^\/2015-03-31\/functions\/[^/]+\/invocations/.test(rec.url);
      const queued = this.responses.shift();
      const reply = queued !== undefined || !invoke || !this.onInvoke
        ? Promise.resolve(queued ?? { status: 200, body: "{\"ok\":true}" })
        : this.onInvoke(JSON.parse(rec.body || "null"));
      reply.then((r) => {
        res.writeHead(r.status, { "content-type": "application/json", "x-amzn-requestid": "req-0001", ...r.headers });
        res.end(r.body);
      }, (e: unknown) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: String(e) }));
      });
    });
  });
  private responses: Reply[] = [];
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  respond(status: number, body = "", headers?: Record<string, string>): void {
    this.responses.push({ status, body, headers });
  }
  reset(): void {
    this.received.length = 0;
    this.responses = [];
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Independent SigV4 check (written from the AWS specification, not with the tool's signer): recompute
 * the signature of what the server received and compare.
 */
function verifySigV4(req: Received, secret: string, expect: { region: string; service: string }): void {
  const body = req.body ?? "";
  const auth = String(req.headers.authorization ?? "");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  assert.ok(m, `authorization header: ${auth}`);
  const [, , date, region, service, signedHeaders, signature] = m;
  assert.equal(region, expect.region);
  assert.equal(service, expect.service);
  const amzDate = String(req.headers["x-amz-date"]);
  assert.match(amzDate, /^\d{8}T\d{6}Z$/);
  assert.equal(amzDate.slice(0, 8), date);
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const [rawPath, rawQuery = ""] = req.url.split("?");
  const canonicalUri = expect.service === "s3" ? rawPath : rawPath.split("/").map(enc).join("/");
  const canonicalQuery = rawQuery === "" ? "" : rawQuery.split("&").map((p) => p.split("=").map((x) => enc(decodeURIComponent(x))))
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1)).map(([k, v = ""]) => `${k}=${v}`).join("&");
  const names = signedHeaders.split(";");
  assert.deepEqual([...names].sort(), names, "signed headers sorted");
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? createHash("sha256").update(body).digest("hex"));
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
  assert.equal(createHmac("sha256", key).update(stringToSign).digest("hex"), signature, "the signature verifies with the secret");
}

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function runInProcess(argv: string[], deps: Partial<Parameters<typeof main>[1]> = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), ...deps });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Run the script the way `npm run invalidate --` does. */
function runChild(argv: string[], env: NodeJS.ProcessEnv): Promise<Captured> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/invalidate.ts", ...argv], { cwd: REPO_ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }));
  });
}

function assertNoSecrets(c: Captured): void {
  for (const text of [c.stdout, c.stderr]) {
    assert.ok(!text.includes(SECRET), "secret key never printed");
    assert.ok(!text.includes(ACCESS_KEY), "access key id never printed");
  }
}

describe("invalidate CLI: pure parts", () => {
  it("parses path mode, flush mode, --flag=value and repeated headers", () => {
    const o = parseArgs(["--stack", "dev", "--path", "/items/42?lang=de", "--header", "Accept-Language: de", "--header=X-Tenant: a", "--timeout-ms=500"]);
    assert.equal(o.stack, "dev");
    assert.equal(o.mode, "path");
    assert.equal(o.path, "/items/42?lang=de");
    assert.deepEqual(o.headers, [["Accept-Language", "de"], ["X-Tenant", "a"]]);
    assert.equal(o.timeoutMs, 500);
    const f = parseArgs(["--flush", "--stack=prod", "--outputs-file", "o.json", "--endpoint-url", "http://127.0.0.1:1"]);
    assert.equal(f.mode, "flush");
    assert.equal(f.outputsFile, "o.json");
    assert.equal(f.endpointUrl?.host, "127.0.0.1:1");
  });

  const bad: [string[], RegExp][] = [
    [[], /--stack is required/],
    [["--path", "/a"], /--stack is required/],
    [["--stack", "dev"], /give --path <\/path> \(one entry\) or --flush/],
    [["--stack", "dev", "--path", "/a", "--flush"], /either --path or --flush, not both/],
    [["--stack", "dev", "--flush", "--header", "A: b"], /--header applies to --path only/],
    [["--stack", "dev", "--path"], /--path needs a value/],
    [["--stack", "--path", "/a"], /--stack needs a value/],
    [["--stack", "dev", "--stack", "prod", "--flush"], /--stack given 2 times/],
    [["--stack", "dev", "--flush", "--force"], /unknown argument "--force"/],
    [["--stack", "dev", "--flush", "extra"], /unknown argument "extra"/],
    [["--stack", "dev", "--flush=yes"], /--flush takes no value/],
    [["--stack", "dev; rm -rf /", "--flush"], /is not a stack name/],
    [["--stack", "dev", "--path", "items/42"], /must start with "\/"/],
    [["--stack", "dev", "--path", "/items/a b"], /must be URL-encoded/],
    [["--stack", "dev", "--path", "/items/%zz"], /must be URL-encoded/],
    [["--stack", "dev", "--path", "/items/../admin"], /"\." or "\.\." segments/],
    [["--stack", "dev", "--path", "/items#x"], /fragment/],
    [["--stack", "dev", "--path", "/a", "--header", "NoColon"], /must look like 'Name: value'/],
    [["--stack", "dev", "--path", "/a", "--header", "Authorization: x"], /Authorization is set by the tool/],
    [["--stack", "dev", "--path", "/a", "--header", "Cache-Control: no-cache"], /Cache-Control is set by the tool/],
    [["--stack", "dev", "--path", "/a", "--timeout-ms", "0"], /--timeout-ms "0" must be a whole number/],
    [["--stack", "dev", "--flush", "--endpoint-url", "not a url"], /is not a URL/],
    [["--stack", "dev", "--flush", "--endpoint-url", "ftp://x"], /must be http\(s\)/],
    [["--stack", "dev", "--flush", "--endpoint-url", "https://u:p@x"], /must not contain credentials/],
    // Signed requests never travel in clear: http only to this machine.
    [["--stack", "dev", "--flush", "--endpoint-url", "http://example.com"], /--endpoint-url "http:\/\/example\.com": http is allowed only to a loopback address/],
    [["--stack", "dev", "--path", "/a", "--endpoint-url", "http://10.0.0.5:8080"], /--endpoint-url .*http is allowed only to a loopback address/],
    [["--stack", "dev", "--path", "/a", "--lambda-endpoint-url", "http://lambda.us-east-1.amazonaws.com"], /--lambda-endpoint-url .*http is allowed only to a loopback address/],
  ];

  const endpoints: [string, boolean][] = [
    ["https://abc123defg-vpce-1.execute-api.us-east-1.amazonaws.com", true],
    ["https://10.0.0.5:8443", true],
    ["http://127.0.0.1:1", true],
    ["http://127.255.255.254", true],
    ["http://127.1:9", true],
    ["http://localhost:8080", true],
    ["http://LOCALHOST", true],
    ["http://[::1]:9", true],
    ["http://10.0.0.5", false],
    ["http://example.com", false],
    ["http://169.254.169.254", false],
    ["http://0.0.0.0:8080", false],
    ["http://128.0.0.1", false],
    ["http://126.255.255.255", false],
    ["http://localhost.example.com", false],
    ["http://127.0.0.1.nip.io", false],
    ["http://[::2]", false],
    ["http://[::ffff:127.0.0.1]", false],
    ["http://[fe80::1]", false],
  ];
  for (const [url, allowed] of endpoints) {
    it(`--endpoint-url and --lambda-endpoint-url ${url}: ${allowed ? "allowed" : "exit 2 (signed requests in clear)"}`, () => {
      for (const flag of ["--endpoint-url", "--lambda-endpoint-url"]) {
        const argv = ["--stack", "dev", "--flush", flag, url];
        if (allowed) assert.equal(parseArgs(argv)[flag === "--endpoint-url" ? "endpointUrl" : "lambdaEndpointUrl"]?.href, new URL(url).href);
        else assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message.startsWith(`${flag} `) && /loopback/.test(e.message));
      }
    });
  }
  for (const [argv, message] of bad) {
    it(`rejects ${JSON.stringify(argv)}`, () => {
      assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof CliError && e.exitCode === 2 && message.test(e.message));
    });
  }

  it("reads the API outputs, with the region from the outputs or the invoke URL host", () => {
    const o = extractApiOutputs(OUTPUTS, "dev");
    assert.deepEqual([o.apiId, o.stageName, o.invokeUrl.href, o.region], [API_ID, "dev", `https://${API_HOST}/dev`, "us-east-1"]);
    const { apiRegion: _r, ...noRegion } = OUTPUTS;
    void _r;
    assert.equal(extractApiOutputs({ ...noRegion, apiInvokeUrl: `https://${API_ID}-${VPCE}.execute-api.eu-west-1.amazonaws.com/dev` }, "dev").region, "eu-west-1");
    assert.throws(() => extractApiOutputs({ vpcId: "vpc-1" }, "dev"), /stack dev has no CachedPrivateApi outputs \(missing apiId, apiStageName, apiInvokeUrl\)/);
    assert.throws(() => extractApiOutputs({ ...OUTPUTS, apiInvokeUrl: "nope" }, "dev"), /apiInvokeUrl is not a URL/);
    assert.throws(() => extractApiOutputs([], "dev"), /not a JSON object/);
  });

  it("refuses an invoke URL output that would send the signed invalidation in clear (http to another host)", () => {
    for (const url of ["http://192.0.2.10/dev", `http://${API_HOST}/dev`, "http://10.0.0.5:8080/dev", "ftp://x/dev"]) {
      assert.throws(() => extractApiOutputs({ ...OUTPUTS, apiInvokeUrl: url }, "dev"),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && /output apiInvokeUrl .* must be https \(http only to a loopback address\)/.test(e.message), url);
    }
    assert.throws(() => extractApiOutputs({ ...OUTPUTS, apiInvokeUrl: `https://user:pw@${API_HOST}/dev` }, "dev"), /must not contain credentials/);
    assert.equal(extractApiOutputs({ ...OUTPUTS, apiInvokeUrl: "http://127.0.0.1:8080/dev" }, "dev").invokeUrl.port, "8080");
  });

  it("the SDK clients ignore AWS_ENDPOINT_URL* (an http value there would bypass the https-or-loopback rule)", async () => {
    const { LambdaClient, InvokeCommand } = await import("@aws-sdk/client-lambda");
    const { APIGatewayClient, FlushStageCacheCommand } = await import("@aws-sdk/client-api-gateway");
    const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET };
    /** Where the client would send the request: captured after endpoint resolution, nothing is sent. */
    const target = async (client: InstanceType<typeof LambdaClient> | InstanceType<typeof APIGatewayClient>, command: unknown): Promise<string> => {
      let seen = "";
      client.middlewareStack.add((() => async (args: { request: { protocol: string; hostname: string; port?: number } }) => {
        seen = `${args.request.protocol}//${args.request.hostname}${args.request.port ? `:${args.request.port}` : ""}`;
        throw new Error("captured");
      }) as never, { step: "build" });
      await assert.rejects((client as { send(c: unknown): Promise<unknown> }).send(command), /captured/);
      client.destroy();
      return seen;
    };
    const saved = { all: process.env.AWS_ENDPOINT_URL, lambda: process.env.AWS_ENDPOINT_URL_LAMBDA };
    process.env.AWS_ENDPOINT_URL = "http://192.0.2.10:8080";
    process.env.AWS_ENDPOINT_URL_LAMBDA = "http://192.0.2.11:8080";
    try {
      const invoke = new InvokeCommand({ FunctionName: "api-dev-fn", Payload: new Uint8Array() });
      const flushCmd = new FlushStageCacheCommand({ restApiId: API_ID, stageName: "dev" });
      assert.equal(await target(new LambdaClient(sdkClientConfig("us-east-1", creds, undefined, 1000)), invoke), "https://lambda.us-east-1.amazonaws.com");
      assert.equal(await target(new APIGatewayClient(sdkClientConfig("us-east-1", creds, undefined, 1000)), flushCmd), "https://apigateway.us-east-1.amazonaws.com");
      // The flags still apply.
      assert.equal(await target(new LambdaClient(sdkClientConfig("us-east-1", creds, new URL("http://127.0.0.1:9"), 1000)), invoke), "http://127.0.0.1:9");
      // Control: the SDK's default would have taken the variables.
      assert.equal(await target(new LambdaClient({ ...sdkClientConfig("us-east-1", creds, undefined, 1000), ignoreConfiguredEndpointUrls: false }), invoke), "http://192.0.2.11:8080");
    } finally {
      if (saved.all === undefined) delete process.env.AWS_ENDPOINT_URL; else process.env.AWS_ENDPOINT_URL = saved.all;
      if (saved.lambda === undefined) delete process.env.AWS_ENDPOINT_URL_LAMBDA; else process.env.AWS_ENDPOINT_URL_LAMBDA = saved.lambda;
    }
  });

  it("builds GET <stage><path> to the API host with Cache-Control: max-age=0", () => {
    const req = buildInvalidationRequest(extractApiOutputs(OUTPUTS, "dev"), "/items/42?lang=de&a=1&a=0", [["Accept-Language", "de"]]);
    assert.equal(req.method, "GET");
    assert.equal(req.hostname, API_HOST);
    assert.equal(req.path, "/dev/items/42");
    assert.deepEqual(req.query, { lang: "de", a: ["1", "0"] });
    assert.deepEqual(req.headers, { host: API_HOST, "cache-control": "max-age=0", "accept-language": "de" });
  });

  it("signs with AWS4-HMAC-SHA256 for execute-api in the API's region", async () => {
    const req = buildInvalidationRequest(extractApiOutputs(OUTPUTS, "dev"), "/items/42");
    const signed = await signRequest(req, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET }, "us-east-1", new Date("2026-11-22T10:00:00Z"));
    assert.equal(signed.headers["x-amz-date"], "20261122T100000Z");
    const auth = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261122\/us-east-1\/execute-api\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(signed.headers.authorization);
    assert.ok(auth, signed.headers.authorization);
    for (const h of ["cache-control", "host", "x-amz-date"]) assert.ok(auth[1].split(";").includes(h), `${h} is signed`);
    verifySigV4({ method: signed.method, url: signed.path, headers: signed.headers }, SECRET, { region: "us-east-1", service: "execute-api" });
    const session = await signRequest(req, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET, sessionToken: "TOKEN123" }, "us-east-1");
    assert.equal(session.headers["x-amz-security-token"], "TOKEN123");
  });

  it("parses --no-wait and --lambda-endpoint-url", () => {
    const o = parseArgs(["--stack", "dev", "--path", "/items/1", "--no-wait", "--lambda-endpoint-url", "http://127.0.0.1:9"]);
    assert.equal(o.noWait, true);
    assert.equal(o.lambdaEndpointUrl?.host, "127.0.0.1:9");
    assert.equal(parseArgs(["--stack", "dev", "--flush"]).noWait, false);
    assert.throws(() => parseArgs(["--stack", "dev", "--flush", "--lambda-endpoint-url", "ftp://x"]), /--lambda-endpoint-url must be http\(s\)/);
    assert.throws(() => parseArgs(["--stack", "dev", "--flush", "--no-wait=1"]), /--no-wait takes no value/);
  });

  it("the control event and the reading of the function's answer", () => {
    assert.deepEqual(controlEvent({ mode: "path", path: "/items/1?lang=de" }), { serverlessCacheControl: { action: "invalidate", path: "/items/1?lang=de" } });
    assert.deepEqual(controlEvent({ mode: "flush" }), { serverlessCacheControl: { action: "flush" } });
    const ok = interpretControlResponse(JSON.stringify({ ok: true, action: "invalidate", path: "/items/1", nodes: [{ node: "a:1", result: "deleted" }, { node: "b:1", result: "missing" }], boundMs: 5000, settleMs: 3000 }), undefined, "fn");
    assert.equal(describeControl(ok), "memcached: /items/1 deleted from every node (1 deleted, 1 missing); every environment stops serving it within 5000 ms.");
    assert.throws(() => interpretControlResponse(JSON.stringify({ errorMessage: "Task timed out" }), "Unhandled", "fn"), /the API function fn failed \(Unhandled\): Task timed out/);
    assert.throws(() => interpretControlResponse(JSON.stringify({ statusCode: 400, body: "x" }), undefined, "fn"), /did not answer the control event/);
    assert.throws(() => interpretControlResponse(JSON.stringify({ ok: false, nodes: [], error: "memcached node(s) a:1 did not answer" }), undefined, "fn"), /could not invalidate: memcached node\(s\) a:1 did not answer/);
    assert.throws(() => interpretControlResponse("<html>", undefined, "fn"), /not JSON/);
    assert.equal(extractApiOutputs(OUTPUTS, "dev").functionName, "api-dev-fn");
    const { apiFunctionName: _f, ...noFn } = OUTPUTS;
    void _f;
    assert.equal(extractApiOutputs(noFn, "dev").functionName, undefined);
  });

  it("redacts secrets and access key ids from anything it prints", () => {
    const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET, sessionToken: "SESSIONTOKENVALUE" };
    assert.equal(redact(`a ${SECRET} b ${ACCESS_KEY} c SESSIONTOKENVALUE d AKIAIOSFODNN7EXAMPLE`, creds), "a *** b *** c *** d ***");
  });
});

describe("invalidate CLI against a real loopback server", function () {
  this.timeout(60_000);
  const server = new RecordingServer();
  let dir: string;
  let outputsFile: string;
  const saved: Record<string, string | undefined> = {};
  const ENV = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, AWS_EC2_METADATA_DISABLED: "true" };
  // The function behind the Lambda endpoint: the real API handler, real memcached, real upstream.
  let mc: MemcachedServer;
  let up: Upstream;
  const caches: TwoTierCache[] = [];
  const NAMESPACE = `cli${process.pid}`;
  const BOUND_MS = 150;
  const UPSTREAM_TIMEOUT_MS = 200;
  const mkCache = (): TwoTierCache => {
    const c = createTwoTierCache({ namespace: NAMESPACE, memcached: { servers: [mc.address] }, l1: { maxAgeMs: BOUND_MS }, defaults: { loaderTimeoutMs: UPSTREAM_TIMEOUT_MS } });
    caches.push(c);
    return c;
  };
  const quiet = (): void => undefined;
  let fn: ReturnType<typeof createApiHandler>;
  /** An ALB GET of `path` through another execution environment of the same function. */
  let otherEnv: ReturnType<typeof createLambdaHandler>;
  const albGet = (p: string, q: Record<string, string> = {}): Record<string, unknown> => ({
    requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/abc" } },
    httpMethod: "GET", path: p, queryStringParameters: q, headers: { host: "alb" }, body: "", isBase64Encoded: false,
  });

  before(async () => {
    await server.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "invalidate-test-"));
    outputsFile = path.join(dir, "outputs.json");
    fs.writeFileSync(outputsFile, JSON.stringify(OUTPUTS));
    for (const [k, v] of Object.entries(ENV)) {
      saved[k] = process.env[k];
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    mc = await startMemcached();
    up = await startUpstream();
    const deps = { upstreamUrl: up.url, namespace: NAMESPACE, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, log: quiet };
    fn = createApiHandler({ ...deps, cache: mkCache() });
    otherEnv = createLambdaHandler({ ...deps, cache: mkCache() });
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    await server.stop();
    for (const c of caches) await c.close();
    await up?.close();
    await mc?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.reset();
    server.onInvoke = async (payload) => ({ status: 200, body: JSON.stringify(await fn(payload)) });
    up.behaviour = { status: 200, body: '{"v":"old"}', contentType: "application/json", delayMs: 0 };
    up.requests.length = 0;
  });

  const pathArgs = (p = "/items/42"): string[] => ["--stack", "dev", "--path", p, "--outputs-file", outputsFile, "--endpoint-url", server.url, "--lambda-endpoint-url", server.url];
  const flushArgs = (): string[] => ["--stack", "dev", "--flush", "--outputs-file", outputsFile, "--endpoint-url", server.url, "--lambda-endpoint-url", server.url];
  /** Waits the CLI asked for, without waiting. */
  const noSleep = (): { sleep: (ms: number) => Promise<void>; waits: number[] } => {
    const waits: number[] = [];
    return { waits, sleep: async (ms: number) => { waits.push(ms); } };
  };
  const invocations = (): Received[] => server.received.filter((r) => r.url === INVOKE_PATH);

  it("one command through every layer: deletes the key from memcached (twice, around the loader timeout), waits the L1 bound, then the signed API Gateway invalidation", async () => {
    // Seed: the item is cached in memcached and in another environment's memory.
    assert.equal((await otherEnv(albGet("/items/42", { lang: "de" }))).headers?.["x-cache"], "MISS");
    assert.equal((await otherEnv(albGet("/items/42", { lang: "de" }))).headers?.["x-cache"], "HIT-L1");
    up.behaviour.body = '{"v":"new"}';
    const t0 = Date.now();
    const c = await runInProcess([...pathArgs("/items/42?lang=de"), "--header", "Accept-Language: de"]);
    const took = Date.now() - t0;
    assert.equal(c.code, 0, c.stderr);
    const lines = c.stdout.split("\n");
    assert.match(lines[0], /^memcached: \/items\/42\?lang=de deleted from every node \(1 deleted\); every environment stops serving it within 150 ms\.$/);
    assert.match(lines[1], /^waiting 300 ms for loads that started before the deletion, then deleting again$/);
    assert.match(lines[2], /^memcached: \/items\/42\?lang=de deleted from every node \(1 missing\)/);
    assert.match(lines[3], /^waiting 250 ms until no environment can serve the old value from memory$/);
    assert.match(lines[4], /^Invalidated GET \/dev\/items\/42\?lang=de: HTTP 200 \(request id req-0001\)/);
    assert.ok(took >= 550, `the waits happened (${took} ms)`);
    // Order on the wire: invoke, invoke, then the stage cache.
    assert.deepEqual(server.received.map((r) => `${r.method} ${r.url}`), [`POST ${INVOKE_PATH}`, `POST ${INVOKE_PATH}`, "GET /dev/items/42?lang=de"]);
    const [inv] = invocations();
    assert.deepEqual(JSON.parse(inv.body ?? ""), { serverlessCacheControl: { action: "invalidate", path: "/items/42?lang=de" } });
    verifySigV4(inv, SECRET, { region: "us-east-1", service: "lambda" });
    const [, , r] = server.received;
    assert.equal(r.headers.host, API_HOST);
    assert.equal(r.headers["cache-control"], "max-age=0");
    assert.equal(r.headers["accept-language"], "de");
    assert.match(String(r.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=accept-language;cache-control;host;x-amz-content-sha256;x-amz-date, /);
    verifySigV4(r, SECRET, { region: "us-east-1", service: "execute-api" });
    // By the time the stage cache refetches, no environment serves the old value.
    const after = await otherEnv(albGet("/items/42", { lang: "de" }));
    assert.equal(after.headers?.["x-cache"], "MISS");
    assert.equal(after.body, '{"v":"new"}');
    assertNoSecrets(c);
  });

  it("--no-wait: one deletion, no waits", async () => {
    const s = noSleep();
    const c = await runInProcess([...pathArgs("/items/7"), "--no-wait"], { sleep: s.sleep });
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(s.waits, []);
    assert.equal(invocations().length, 1);
  });

  it("the npm script path works: node -r ts-node/register/transpile-only scripts/invalidate.ts", async () => {
    const env = { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: path.join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none") };
    const c = await runChild(pathArgs("/items/7"), env);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /memcached: \/items\/7 deleted from every node/);
    assert.match(c.stdout, /Invalidated GET \/dev\/items\/7: HTTP 200/);
    const gw = server.received.filter((r) => r.url === "/dev/items/7");
    assert.equal(gw.length, 1);
    verifySigV4(gw[0], SECRET, { region: "us-east-1", service: "execute-api" });
    assertNoSecrets(c);
  });

  it("exits 2 naming lambda:InvokeFunction when the invocation is refused; the stage cache is not touched", async () => {
    server.respond(403, JSON.stringify({ Type: "User", message: `User: arn:aws:iam::123456789012:user/x is not authorized to perform: lambda:InvokeFunction ${SECRET}` }), { "x-amzn-errortype": "AccessDeniedException" });
    const c = await runInProcess(pathArgs("/items/42"), { sleep: noSleep().sleep });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /HTTP 403 \(request id req-0001\): the caller lacks lambda:InvokeFunction on arn:aws:lambda:us-east-1:<account>:function:api-dev-fn/);
    assert.equal(server.received.length, 1, "nothing after the refused invocation");
    assertNoSecrets(c);
  });

  it("exits 2 when the function fails, or when a memcached node did not answer; the stage cache is not touched", async () => {
    server.respond(200, JSON.stringify({ errorType: "Error", errorMessage: "boom" }), { "x-amz-function-error": "Unhandled" });
    const a = await runInProcess(pathArgs(), { sleep: noSleep().sleep });
    assert.equal(a.code, 2);
    assert.match(a.stderr, /the API function api-dev-fn failed \(Unhandled\): boom/);
    server.reset();
    server.onInvoke = async () => ({ status: 200, body: JSON.stringify({ ok: false, action: "invalidate", nodes: [{ node: "10.0.1.5:11211", result: "error" }], boundMs: 5000, settleMs: 3000, error: "memcached node(s) 10.0.1.5:11211 did not answer: entries there may still be served once they are reachable again; retry" }) });
    const b = await runInProcess(pathArgs(), { sleep: noSleep().sleep });
    assert.equal(b.code, 2);
    assert.match(b.stderr, /could not invalidate: memcached node\(s\) 10\.0\.1\.5:11211 did not answer/);
    assert.equal(server.received.filter((r) => r.method === "GET").length, 0);
  });

  it("exits 2 naming execute-api:InvalidateCache when the stage answers 403, printing no credential", async () => {
    const s = noSleep();
    server.onInvoke = undefined;
    server.respond(200, JSON.stringify({ ok: true, action: "invalidate", path: "/items/42", nodes: [], boundMs: 10, settleMs: 10 }));
    server.respond(200, JSON.stringify({ ok: true, action: "invalidate", path: "/items/42", nodes: [], boundMs: 10, settleMs: 10 }));
    server.respond(403, JSON.stringify({ message: `User: arn:aws:iam::123456789012:user/x is not authorized; echo ${SECRET} ${ACCESS_KEY}` }));
    const c = await runInProcess(pathArgs("/items/42"), { sleep: s.sleep });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^invalidate: HTTP 403 \(request id req-0001\): the caller lacks execute-api:InvalidateCache on arn:aws:execute-api:us-east-1:<account>:abc123defg\/dev\/GET\/items\/42\. Attach the stack's invalidation policy \(output apiInvalidationPolicyArn\)/);
    assert.deepEqual(s.waits, [110, 110]);
    assertNoSecrets(c);
  });

  it("exits 2 on any other non-2xx answer of the stage", async () => {
    server.onInvoke = undefined;
    server.respond(200, JSON.stringify({ ok: true, action: "invalidate", nodes: [], boundMs: 0, settleMs: 0 }));
    server.respond(500, "{\"message\":\"Internal server error\"}");
    const c = await runInProcess([...pathArgs(), "--no-wait"]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /HTTP 500 \(request id req-0001\): the invalidation request failed\. Response: \{"message":"Internal server error"\}/);
  });

  it("exits 2 with a clear message when the function or the API cannot be reached", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = `http://127.0.0.1:${port}`;
    const a = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", outputsFile, "--endpoint-url", dead, "--lambda-endpoint-url", dead]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /invoking api-dev-fn failed.*ECONNREFUSED|invoking api-dev-fn failed/);
    const b = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", outputsFile, "--endpoint-url", dead, "--lambda-endpoint-url", server.url, "--no-wait"]);
    assert.equal(b.code, 2);
    assert.match(b.stdout, /^memcached: \/a: no such route.*: not cached by this function, nothing to delete here\.$/);
    assert.match(b.stderr, /could not reach 127\.0\.0\.1:\d+: .*ECONNREFUSED.*run this from inside its VPC/);
  });

  it("--flush: bumps the namespace generation through the function, waits the bound, then FlushStageCache", async () => {
    assert.equal((await otherEnv(albGet("/items/9"))).headers?.["x-cache"], "MISS");
    up.behaviour.body = '{"v":"new"}';
    const s = noSleep();
    server.onInvoke = async (payload) => {
      const r = await fn(payload);
      server.respond(202, ""); // then FlushStageCache
      return { status: 200, body: JSON.stringify(r) };
    };
    const c = await runInProcess(flushArgs(), { sleep: s.sleep });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^memcached: namespace generation \d+ stored on every node \(1 stored\); every environment stops serving older entries within 150 ms\./);
    assert.match(c.stdout, /Flushed the whole cache of stage dev \(API abc123defg\): HTTP 202.*empties the cache asynchronously/);
    assert.deepEqual(s.waits, [BOUND_MS + 100]);
    assert.deepEqual(server.received.map((r) => `${r.method} ${r.url}`), [`POST ${INVOKE_PATH}`, `DELETE /restapis/${API_ID}/stages/dev/cache/data`]);
    verifySigV4(server.received[1], SECRET, { region: "us-east-1", service: "apigateway" });
    await new Promise((r) => setTimeout(r, BOUND_MS + 10));
    const after = await otherEnv(albGet("/items/9"));
    assert.equal(after.body, '{"v":"new"}', "the other environment moved to the new generation within the bound");
    assertNoSecrets(c);
  });

  it("a 2xx with a Warning header (API Gateway ignored an unauthorised invalidation) exits 2 naming the policy", () => {
    const ctx = { apiId: "abc123defg", stageName: "dev", region: "us-east-1", path: "/items/42" };
    assert.throws(() => interpretResponse({ status: 200, body: "{}", headers: { warning: '199 - "cache invalidation ignored"' } }, ctx),
      /HTTP 200 with Warning: .*ignored the invalidation.*apiInvalidationPolicyArn/);
    assert.match(interpretResponse({ status: 200, body: "{}", headers: {} }, ctx), /^Invalidated GET \/dev\/items\/42: HTTP 200/);
  });

  it("exits 2 naming apigateway:DELETE and the flush policy when FlushStageCache is refused", async () => {
    server.onInvoke = async (payload) => {
      const r = await fn(payload);
      server.respond(403, JSON.stringify({ message: "User is not authorized to perform: apigateway:DELETE" }));
      return { status: 200, body: JSON.stringify(r) };
    };
    const c = await runInProcess(flushArgs(), { sleep: noSleep().sleep });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /HTTP 403.*lacks apigateway:DELETE on arn:aws:apigateway:us-east-1::\/restapis\/abc123defg\/stages\/dev\/cache\/data\. Attach the stack's flush policy/);
    assertNoSecrets(c);
  });

  it("exits 2 on bad arguments, printing the usage, and 0 on --help", async () => {
    const c = await runInProcess(["--stack", "dev"]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^invalidate: give --path/);
    assert.match(c.stderr, /usage: npm run invalidate/);
    assert.equal(server.received.length, 0);
    const h = await runInProcess(["--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /npm run invalidate -- --stack <stack> --flush/);
    assert.match(h.stdout, /lambda:InvokeFunction on the API function/);
  });

  it("exits 2 naming --endpoint-url when it is http to a host other than this machine; nothing is sent", async () => {
    const before = server.received.length;
    const c = await runInProcess(["--stack", "dev", "--path", "/items/42", "--outputs-file", outputsFile, "--endpoint-url", "http://192.0.2.10:8080", "--lambda-endpoint-url", server.url]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^invalidate: --endpoint-url "http:\/\/192\.0\.2\.10:8080": http is allowed only to a loopback address .*use https/);
    assert.equal(server.received.length, before, "no request, signed or not, left the tool");
  });

  it("exits 2 when the invoke URL output is http to another host, before anything is invoked or sent", async () => {
    const clear = path.join(dir, "clear.json");
    fs.writeFileSync(clear, JSON.stringify({ ...OUTPUTS, apiInvokeUrl: "http://192.0.2.10:8080/dev" }));
    const c = await runInProcess(["--stack", "dev", "--path", "/items/42", "--outputs-file", clear, "--lambda-endpoint-url", server.url]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^invalidate: stack dev: output apiInvokeUrl "http:\/\/192\.0\.2\.10:8080\/dev" must be https/);
    assert.equal(server.received.length, 0, "not even the memcached invocation");
  });

  it("exits 2 when the stack has no API outputs or no API function, the outputs file is missing, or the pulumi CLI is absent", async () => {
    const other = path.join(dir, "other.json");
    fs.writeFileSync(other, JSON.stringify({ vpcId: "vpc-1", cacheConfigurationEndpoint: "x:11211" }));
    const a = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", other]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /stack dev has no CachedPrivateApi outputs \(missing apiId, apiStageName, apiInvokeUrl\)/);
    const noFn = path.join(dir, "nofn.json");
    const { apiFunctionName: _f, ...withoutFn } = OUTPUTS;
    void _f;
    fs.writeFileSync(noFn, JSON.stringify(withoutFn));
    const f = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", noFn, "--endpoint-url", server.url]);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /the stack has no apiFunctionName output: the memcached layer cannot be invalidated/);
    const b = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", path.join(dir, "absent.json")]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--outputs-file .*absent\.json: no such file/);
    const injected = await runInProcess(["--stack", "prod", "--path", "/a"], { readStackOutputs: async (stack) => (stack === "prod" ? {} : OUTPUTS) });
    assert.equal(injected.code, 2);
    assert.match(injected.stderr, /stack prod has no CachedPrivateApi outputs/);
    const savedPath = process.env.PATH;
    process.env.PATH = path.join(dir, "empty-bin");
    try {
      const d = await runInProcess(["--stack", "dev", "--path", "/a"]);
      assert.equal(d.code, 2);
      assert.match(d.stderr, /the pulumi CLI is not on the PATH: install it, or pass --outputs-file/);
    } finally {
      process.env.PATH = savedPath;
    }
    assert.equal(server.received.length, 0);
  });

  it("exits 2 when no credentials can be found (child process, empty credential chain)", async () => {
    const env = { PATH: process.env.PATH, HOME: dir, AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: path.join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none") };
    const c = await runChild(pathArgs(), env);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /invalidate: no AWS credentials found \(.*\): set AWS_PROFILE/);
    assert.equal(server.received.length, 0, "nothing is sent unsigned");
  });
});
