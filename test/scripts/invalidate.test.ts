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
  extractApiOutputs,
  interpretResponse,
  main,
  parseArgs,
  redact,
  signRequest,
} from "../../scripts/invalidate";

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
  vpcId: "vpc-0123",
};

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A real HTTP server on loopback that records every request and answers with the next queued response. */
class RecordingServer {
  readonly received: Received[] = [];
  private readonly server = http.createServer((req, res) => {
    this.received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => {
      const next = this.responses.shift() ?? { status: 200, body: "{\"ok\":true}" };
      res.writeHead(next.status, { "content-type": "application/json", "x-amzn-requestid": "req-0001" });
      res.end(next.body);
    });
  });
  private responses: { status: number; body: string }[] = [];
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  respond(status: number, body = ""): void {
    this.responses.push({ status, body });
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
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? createHash("sha256").update("").digest("hex"));
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
    [["--stack", "dev", "--stack", "prod", "--flush"], /--stack given more than once/],
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
  ];
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

  before(async () => {
    await server.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "invalidate-test-"));
    outputsFile = path.join(dir, "outputs.json");
    fs.writeFileSync(outputsFile, JSON.stringify(OUTPUTS));
    for (const [k, v] of Object.entries(ENV)) {
      saved[k] = process.env[k];
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => server.reset());

  const pathArgs = (p = "/items/42"): string[] => ["--stack", "dev", "--path", p, "--outputs-file", outputsFile, "--endpoint-url", server.url];

  it("sends a signed GET with Cache-Control: max-age=0 for the stage path, Host naming the API", async () => {
    const c = await runInProcess([...pathArgs("/items/42?lang=de"), "--header", "Accept-Language: de"]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^Invalidated GET \/dev\/items\/42\?lang=de: HTTP 200 \(request id req-0001\)/);
    assert.equal(server.received.length, 1);
    const [r] = server.received;
    assert.equal(r.method, "GET");
    assert.equal(r.url, "/dev/items/42?lang=de");
    assert.equal(r.headers.host, API_HOST);
    assert.equal(r.headers["cache-control"], "max-age=0");
    assert.equal(r.headers["accept-language"], "de");
    assert.match(String(r.headers["x-amz-date"]), /^\d{8}T\d{6}Z$/);
    assert.match(String(r.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=accept-language;cache-control;host;x-amz-content-sha256;x-amz-date, /);
    verifySigV4(r, SECRET, { region: "us-east-1", service: "execute-api" });
    assertNoSecrets(c);
  });

  it("the npm script path works: node -r ts-node/register/transpile-only scripts/invalidate.ts", async () => {
    const env = { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: path.join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none") };
    const c = await runChild(pathArgs("/items/7"), env);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /Invalidated GET \/dev\/items\/7: HTTP 200/);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0].url, "/dev/items/7");
    verifySigV4(server.received[0], SECRET, { region: "us-east-1", service: "execute-api" });
    assertNoSecrets(c);
  });

  it("exits 2 naming execute-api:InvalidateCache when the server answers 403, printing no credential", async () => {
    server.respond(403, JSON.stringify({ message: `User: arn:aws:iam::123456789012:user/x is not authorized; echo ${SECRET} ${ACCESS_KEY}` }));
    const c = await runInProcess(pathArgs("/items/42"));
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^invalidate: HTTP 403 \(request id req-0001\): the caller lacks execute-api:InvalidateCache on arn:aws:execute-api:us-east-1:<account>:abc123defg\/dev\/GET\/items\/42\. Attach the stack's invalidation policy \(output apiInvalidationPolicyArn\)/);
    assert.equal(c.stdout, "");
    assertNoSecrets(c);
  });

  it("exits 2 on any other non-2xx answer", async () => {
    server.respond(500, "{\"message\":\"Internal server error\"}");
    const c = await runInProcess(pathArgs());
    assert.equal(c.code, 2);
    assert.match(c.stderr, /HTTP 500 \(request id req-0001\): the invalidation request failed\. Response: \{"message":"Internal server error"\}/);
  });

  it("exits 2 with a clear message when the API cannot be reached", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", outputsFile, "--endpoint-url", `http://127.0.0.1:${port}`]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /could not reach 127\.0\.0\.1:\d+: .*ECONNREFUSED.*run this from inside its VPC/);
  });

  it("flushes the whole stage with a signed FlushStageCache (DELETE /restapis/<id>/stages/<stage>/cache/data)", async () => {
    server.respond(202, "");
    const c = await runInProcess(["--stack", "dev", "--flush", "--outputs-file", outputsFile, "--endpoint-url", server.url]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^Flushed the whole cache of stage dev \(API abc123defg\): HTTP 202.*empties the cache asynchronously/);
    assert.equal(server.received.length, 1);
    const [r] = server.received;
    assert.equal(r.method, "DELETE");
    assert.equal(r.url, `/restapis/${API_ID}/stages/dev/cache/data`);
    verifySigV4(r, SECRET, { region: "us-east-1", service: "apigateway" });
    assertNoSecrets(c);
  });

  it("a 2xx with a Warning header (API Gateway ignored an unauthorised invalidation) exits 2 naming the policy", () => {
    const ctx = { apiId: "abc123defg", stageName: "dev", region: "us-east-1", path: "/items/42" };
    assert.throws(() => interpretResponse({ status: 200, body: "{}", headers: { warning: '199 - "cache invalidation ignored"' } }, ctx),
      /HTTP 200 with Warning: .*ignored the invalidation.*apiInvalidationPolicyArn/);
    assert.match(interpretResponse({ status: 200, body: "{}", headers: {} }, ctx), /^Invalidated GET \/dev\/items\/42: HTTP 200/);
  });

  it("exits 2 naming apigateway:DELETE and the flush policy when FlushStageCache is refused", async () => {
    server.respond(403, JSON.stringify({ message: "User is not authorized to perform: apigateway:DELETE" }));
    const c = await runInProcess(["--stack", "dev", "--flush", "--outputs-file", outputsFile, "--endpoint-url", server.url]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /HTTP 403.*lacks apigateway:DELETE on arn:aws:apigateway:us-east-1::\/restapis\/abc123defg\/stages\/dev\/cache\/data\. Attach the stack's flush policy/);
    assertNoSecrets(c);
  });

  it("exits 2 on bad arguments, printing the usage, and 0 on --help", async () => {
    const c = await runInProcess(["--stack", "dev"]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^invalidate: give --path/);
    assert.match(c.stderr, /Usage:/);
    assert.equal(server.received.length, 0);
    const h = await runInProcess(["--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /npm run invalidate -- --stack <stack> --flush/);
  });

  it("exits 2 when the stack has no API outputs, the outputs file is missing, or the pulumi CLI is absent", async () => {
    const other = path.join(dir, "other.json");
    fs.writeFileSync(other, JSON.stringify({ vpcId: "vpc-1", cacheConfigurationEndpoint: "x:11211" }));
    const a = await runInProcess(["--stack", "dev", "--path", "/a", "--outputs-file", other]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /stack dev has no CachedPrivateApi outputs \(missing apiId, apiStageName, apiInvokeUrl\)/);
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
