/**
 * One artifact for both runtimes (issue 14, item 2), proven on what would be deployed:
 *   - the dev stack runs under mocks; the API Lambda's archive (CallbackFunction) and the container's
 *     generated build context (the awsx.ecr.Image `context`) come from one serialized closure:
 *     byte-identical `__index.js`, the same node_modules;
 *   - the context is laid out outside the repository and started as Fargate would (`node __index.js`,
 *     the task's environment, SERVERLESS_CACHE_RUNTIME=container), the archive's handler is loaded in
 *     this process with the same environment; both get the same battery of ALB events (single- and
 *     multi-value forms) against one real memcached and one real upstream, and must answer alike;
 *   - a second, hand-written app (no framework, test/fixtures/apps/echoApp.ts) goes through the same
 *     component under mocks: its archive runs and answers, and its container answers the same.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AlbResult } from "../../functions/platform/alb";
import { extractLambdaArchive, type ExtractedLambda } from "../support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "../support/memcached";
import { runProgram as runAnyProgram } from "../../plan/engine";
import { REPO_ROOT, runProgram, type ProgramRun } from "../support/program";
import { startUpstream, type Upstream } from "../support/upstream";
import { Answer, StartedContainer, fromAlb, httpExchange, httpRequestOf, layoutContext, startContextServer, startFakeS3, topLevelPackages } from "../support/hybrid";

const FUNCTION_TYPE = "aws:lambda/function:Function";
const IMAGE_TYPE = "awsx:ecr:Image";
type Form = "single" | "multi";
type Handler = (event: unknown, context?: unknown) => Promise<AlbResult>;
const TEST_MAC_KEY = Buffer.alloc(32, 9).toString("base64");
/** Both runtimes get this budget: REQUEST_TIMEOUT_MS in the container, remaining time − DEADLINE_MARGIN_MS (500) in Lambda. */
const BUDGET_MS = 2000;

interface Probe {
  label: string;
  method: string;
  path: string;
  query?: Array<[string, string]>;
  headers?: Array<[string, string]>;
  body?: string;
  base64?: boolean;
  /** The single-value form drops repeated keys/headers: compare the multi form only. */
  multiOnly?: boolean;
  /** The error message carries timing or a runtime's own wording: compare status and error code. */
  codeOnly?: boolean;
}

const BASE_HEADERS: Array<[string, string]> = [["host", "internal-alb.example"], ["user-agent", "parity/1.0"], ["x-amzn-trace-id", "Root=1-abc"]];

function albEvent(form: Form, p: Probe): Record<string, unknown> {
  const headers = [...BASE_HEADERS, ...(p.headers ?? [])];
  const ev: Record<string, unknown> = {
    requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/svc-fn/abc" } },
    httpMethod: p.method,
    path: p.path,
    body: p.body ?? "",
    isBase64Encoded: p.base64 ?? false,
  };
  if (form === "single") {
    const q: Record<string, string> = {};
    for (const [k, v] of p.query ?? []) q[k] = v;
    const h: Record<string, string> = {};
    for (const [k, v] of headers) h[k] = v;
    ev.queryStringParameters = q;
    ev.headers = h;
  } else {
    const q: Record<string, string[]> = {};
    for (const [k, v] of p.query ?? []) (q[k] ??= []).push(v);
    const h: Record<string, string[]> = {};
    for (const [k, v] of headers) (h[k] ??= []).push(v);
    ev.multiValueQueryStringParameters = q;
    ev.multiValueHeaders = h;
  }
  return ev;
}

function lambdaContext(): Record<string, unknown> {
  const until = Date.now() + BUDGET_MS + 500;
  return { getRemainingTimeInMillis: () => until - Date.now(), awsRequestId: "0b7c1f7e-parity", functionName: "svc-api", functionVersion: "$LATEST", memoryLimitInMB: "512" };
}

const COMPARED_HEADERS = ["content-type", "x-cache", "cache-control", "allow", "retry-after", "x-content-type-options", "set-cookie", "x-multi", "location"];

/** What the ALB would hand on for the container's header values in `form` (single: joined, set-cookie: the last). */
function asForm(values: string[] | undefined, name: string, form: Form): string[] | undefined {
  if (values === undefined || form === "multi") return values;
  return name === "set-cookie" ? [values[values.length - 1]] : [values.join(", ")];
}

function errorCode(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString("utf8")) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function assertSame(label: string, form: Form, lambda: Answer, container: Answer, codeOnly = false): void {
  assert.equal(lambda.status, container.status, `${label} (${form}): Lambda ${lambda.status} ${lambda.body.toString().slice(0, 200)} vs container ${container.status} ${container.body.toString().slice(0, 200)}`);
  if (codeOnly) assert.equal(errorCode(lambda.body), errorCode(container.body), `${label} (${form}): error code`);
  else assert.ok(lambda.body.equals(container.body), `${label} (${form}): body ${lambda.body.toString().slice(0, 200)} vs ${container.body.toString().slice(0, 200)}`);
  for (const name of COMPARED_HEADERS) {
    if (codeOnly && name !== "content-type") continue;
    // The ALB needs a non-empty header map: the adapter adds a content-type where the app set none.
    const want = name === "content-type" && container.headers[name] === undefined
      ? [container.body.length > 0 ? "application/octet-stream" : "text/plain; charset=utf-8"]
      : asForm(container.headers[name], name, form);
    assert.deepEqual(lambda.headers[name], want, `${label} (${form}): header ${name}`);
  }
  assert.deepEqual(lambda.headers["x-served-by"], ["lambda"], `${label}: x-served-by`);
  assert.deepEqual(container.headers["x-served-by"], ["container"], `${label}: x-served-by`);
}

/** Sets process.env for the in-process Lambda loads; restores it afterwards. */
function envScope(): { set(vars: Record<string, string | undefined>): void; restore(): void } {
  const saved = new Map<string, string | undefined>();
  return {
    set(vars) {
      for (const [k, v] of Object.entries(vars)) {
        if (!saved.has(k)) saved.set(k, process.env[k]);
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
    restore() {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

/** The Lambda's deployed environment (as the mocks resolved it), pointed at the local servers. */
function localEnvironment(fn: { inputs: Record<string, any> }, local: Record<string, string>): Record<string, string> { // eslint-disable-line @typescript-eslint/no-explicit-any -- mocked resource inputs are untyped JSON
  const deployed = (fn.inputs.environment?.variables ?? {}) as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(deployed)) if (typeof v === "string") env[k] = v;
  // No SSM, no ElastiCache here: the keys themselves, the local memcached.
  delete env.CACHE_MAC_KEY_PARAMETER;
  delete env.MEMCACHED_CONFIG_ENDPOINT;
  return { ...env, ...local };
}

describe("hybrid service artifacts: one serialized closure, two runtimes, the same answers", function () {
  this.timeout(240_000);
  let mc: MemcachedServer;
  let up: Upstream;
  let s3: Awaited<ReturnType<typeof startFakeS3>>;
  let run: ProgramRun;
  let archive: ExtractedLambda;
  let context: ReturnType<typeof layoutContext>;
  let container: StartedContainer;
  let env: Record<string, string>;
  const scope = envScope();
  const HUGE = "z".repeat(1_500_000);

  before(async () => {
    mc = await startMemcached();
    up = await startUpstream();
    up.handler = (req) => {
      // The dev stack's UPSTREAM_ITEM_PATH is /todos/{id}: match on the id.
      const id = /^\/[a-z]+\/([^/?]+)/.exec(req.url ?? "")?.[1];
      if (id === "missing") return { status: 404, body: '{"message":"no such item"}' };
      if (id === "boom") return { status: 500, body: "internal upstream trouble at 10.1.2.3" };
      if (id === "sleepy") return { delayMs: 5000 }; // well past UPSTREAM_TIMEOUT_MS: a 504
      if (id === "huge") return { body: HUGE, contentType: "text/plain; charset=utf-8" };
      return { body: JSON.stringify({ upstreamUrl: req.url, name: "Widget" }), contentType: "application/json; charset=utf-8" };
    };
    s3 = await startFakeS3();
    run = await runProgram("dev");
    const fn = run.one(FUNCTION_TYPE, "svc-dev-api");
    archive = await extractLambdaArchive(fn.inputs.code);
    context = layoutContext(run.one(IMAGE_TYPE).inputs.context as string);
    env = localEnvironment(fn, {
      UPSTREAM_URL: up.url,
      MEMCACHED_SERVERS: mc.address,
      CACHE_MAC_KEYS: TEST_MAC_KEY,
      UPSTREAM_TIMEOUT_MS: "2000", // generous: a loaded 2-core machine must not turn a healthy miss into a 504
      CACHE_L1_MAX_AGE_MS: "600000", // x-cache is compared: no L1 entry may age out between two probes on a slow machine
      CACHE_METRICS: "off",
      REQUEST_TIMEOUT_MS: String(BUDGET_MS),
      LARGE_RESPONSE_BUCKET: "svc-large",
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      LOG_LEVEL: "silent",
    });
    container = await startContextServer(context.dir, { ...env, PORT: "0", CACHE_NAMESPACE: "hybrid-container" });
  });

  after(async () => {
    scope.restore();
    const code = await container?.stop();
    // Drained and exited cleanly on SIGTERM, as ECS stops a task.
    assert.equal(code, 0, container?.output());
    context?.remove();
    archive?.remove();
    await s3?.close();
    await up?.close();
    await mc?.stop();
  });

  /** A cold start of the archive's handler in this process, with the container's environment. */
  const coldStart = (namespace: string): Handler => {
    scope.set({ ...env, CACHE_NAMESPACE: namespace });
    return archive.load<Handler>();
  };

  it("the Lambda archive and the container context hold the same __index.js, byte for byte, and the same packages", () => {
    const contextIndex = fs.readFileSync(path.join(context.dir, "__index.js"));
    assert.ok(contextIndex.equals(Buffer.from(archive.source, "utf8")), "__index.js differs between the archive and the context");
    const archived = archive.entries.filter((e) => e.startsWith("node_modules/")).map((e) => e.slice("node_modules/".length)).sort();
    assert.deepEqual(topLevelPackages(path.join(context.dir, "node_modules")), archived);
    // The serialized code is the app with the platform around it, not a build of functions/api.
    assert.match(archive.source, /require\("hono"\)/);
    assert.ok(!fs.existsSync(path.join(context.dir, "dist")) && !fs.existsSync(path.join(context.dir, "functions")));
  });

  it("the context's Dockerfile is the generic one: no compile, no install, runs __index.js as node in container mode", () => {
    const dockerfile = fs.readFileSync(path.join(context.dir, "Dockerfile"), "utf8");
    assert.equal(dockerfile, fs.readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8"));
    const instructions = dockerfile.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    assert.ok(!instructions.some((l) => /^RUN\b/.test(l)), `nothing is built or installed in the image: ${instructions.join(" | ")}`);
    assert.deepEqual(instructions.filter((l) => /^COPY\b/.test(l)), ["COPY node_modules ./node_modules", "COPY __index.js ./"]);
    assert.match(dockerfile, /^FROM node:22-slim@sha256:[0-9a-f]{64}$/m);
    assert.match(dockerfile, /SERVERLESS_CACHE_RUNTIME=container/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^CMD \["node", "__index.js"\]$/m);
    const image = run.one(IMAGE_TYPE);
    assert.equal(image.inputs.dockerfile, path.join(image.inputs.context, "Dockerfile"));
    assert.ok(path.resolve(image.inputs.context).startsWith(path.join(REPO_ROOT, ".serverless-cache", "containers", "dev") + path.sep), image.inputs.context);
  });

  it("the task definition sets the same variables as the Lambda, plus PORT and the container switch", () => {
    const fn = run.one(FUNCTION_TYPE, "svc-dev-api");
    const [def] = JSON.parse(run.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions) as Array<{ environment: Array<{ name: string; value: string }> }>;
    const names = def.environment.map((e) => e.name).sort();
    assert.deepEqual(names, [...Object.keys(fn.inputs.environment.variables), "PORT", "SERVERLESS_CACHE_RUNTIME"].sort());
    assert.equal(def.environment.find((e) => e.name === "SERVERLESS_CACHE_RUNTIME")?.value, "container");
    assert.equal(fn.inputs.environment.variables.SERVERLESS_CACHE_RUNTIME, undefined, "the Lambda never runs in container mode");
  });

  const DEMO_PROBES: Probe[] = [
    { label: "health", method: "GET", path: "/health" },
    { label: "health HEAD", method: "HEAD", path: "/health" },
    { label: "health behind the stage", method: "GET", path: "/dev/health" },
    { label: "health POST with a base64 body", method: "POST", path: "/health", body: Buffer.from([0, 1, 2, 250]).toString("base64"), base64: true, headers: [["content-type", "application/octet-stream"]] },
    { label: "item miss", method: "GET", path: "/items/42", query: [["lang", "de"]] },
    { label: "item hit behind the stage", method: "GET", path: "/dev/items/42", query: [["lang", "de"]] },
    { label: "item HEAD", method: "HEAD", path: "/items/42", query: [["lang", "de"]] },
    { label: "item, encoded query", method: "GET", path: "/items/43", query: [["lang", "pt%2Dbr"], ["q", "caf%C3%A9"]] },
    { label: "repeated query key", method: "GET", path: "/items/42", query: [["lang", "en"], ["lang", "de"]], multiOnly: true },
    { label: "multi-value request headers", method: "GET", path: "/items/44", headers: [["x-forwarded-for", "10.0.0.1"], ["x-forwarded-for", "10.0.0.2"], ["accept", "application/json"], ["accept", "text/plain"]], multiOnly: true },
    { label: "upstream 404", method: "GET", path: "/items/missing", query: [["lang", "en"]] },
    { label: "upstream 500", method: "GET", path: "/items/boom" },
    { label: "upstream too slow", method: "GET", path: "/items/sleepy" },
    { label: "bad id", method: "GET", path: "/items/bad$id" },
    { label: "unknown path", method: "GET", path: "/nope" },
    { label: "unknown path behind the stage", method: "GET", path: "/dev/nope" },
    { label: "DELETE", method: "DELETE", path: "/items/1" },
    { label: "POST with a JSON body", method: "POST", path: "/items/1", body: '{"a":1}', headers: [["content-type", "application/json"]] },
    { label: "body over the request limit", method: "POST", path: "/items/1", body: "b".repeat(1024 * 1024 + 1), headers: [["content-type", "text/plain"]] },
    { label: "path over the limit", method: "GET", path: `/items/${"p".repeat(2100)}` },
    { label: "query over the limit", method: "GET", path: "/items/1", query: [["q", "x".repeat(4100)]] },
    { label: "slow within the deadline", method: "GET", path: "/slow", query: [["ms", "20"]] },
    { label: "slow past the deadline", method: "GET", path: "/slow", query: [["ms", "3000"]], codeOnly: true },
    { label: "header block over the limit", method: "GET", path: "/items/1", headers: [["x-big", "h".repeat(40 * 1024)]], codeOnly: true },
  ];

  it("the demo app answers the same from the container process and the archive's handler (single- and multi-value events)", async () => {
    const multi = coldStart("hybrid-multi");
    const single = coldStart("hybrid-single");
    const statuses = new Set<number>();
    for (const p of DEMO_PROBES) {
      const c = await httpExchange(container.url, httpRequestOf(albEvent("multi", p)));
      const m = fromAlb(await multi(albEvent("multi", p), lambdaContext()));
      assertSame(p.label, "multi", m, c, p.codeOnly);
      if (!p.multiOnly) assertSame(p.label, "single", fromAlb(await single(albEvent("single", p), lambdaContext())), c, p.codeOnly);
      statuses.add(c.status);
    }
    // The battery covers success, every client-error class, the upstream errors and the deadline.
    for (const s of [200, 400, 404, 405, 413, 414, 431, 502, 503, 504]) assert.ok(statuses.has(s), `no probe answered ${s}: ${[...statuses].join(", ")}`);
    const codes = await httpExchange(container.url, httpRequestOf(albEvent("multi", DEMO_PROBES.find((p) => p.label === "slow past the deadline")!)));
    assert.equal(errorCode(codes.body), "deadline_too_short");
  });

  it("a response over 1 MB: the archive's handler stores it in S3 and answers 303; the container answers the same bytes directly", async () => {
    const h = coldStart("hybrid-huge");
    const direct = await httpExchange(container.url, httpRequestOf(albEvent("multi", { label: "huge", method: "GET", path: "/dev/items/huge" })));
    assert.equal(direct.status, 200);
    for (const form of ["single", "multi"] as Form[]) {
      const r = fromAlb(await h(albEvent(form, { label: "huge", method: "GET", path: "/dev/items/huge" }), lambdaContext()));
      assert.equal(r.status, 303, r.body.toString().slice(0, 300));
      const location = r.headers.location?.[0] ?? "";
      // The dev stack serves large bodies through the private API: a path of the stage, not a presigned URL.
      assert.match(location, /^\/dev\/_large\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/);
      const stored = s3.objects.get(`/svc-large/large-responses/${location.slice("/dev/_large/".length)}`);
      assert.ok(stored, `nothing stored for ${location}: ${[...s3.objects.keys()].join(", ")}`);
      assert.ok(stored.body.equals(direct.body), "the stored body is the one the container serves");
    }
  });

  describe("a hand-written app (no Hono) through HybridLambdaFargateService", () => {
    let echoRun: ProgramRun;
    let echoArchive: ExtractedLambda;
    let echoContext: ReturnType<typeof layoutContext>;
    let echoContainer: StartedContainer;
    let echoEnv: Record<string, string>;

    before(async () => {
      echoRun = await runAnyProgram({
        project: "serverless-cache",
        stack: "echo",
        config: { "aws:region": "us-east-1" },
        program: () => {
          const { HybridLambdaFargateService } = require("../../components/HybridLambdaFargateService") as typeof import("../../components/HybridLambdaFargateService");
          const { echoApp } = require("../fixtures/apps/echoApp") as typeof import("../fixtures/apps/echoApp");
          const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
          // A user's own network and cache, declared with primitives: nothing from this repository's program.
          const vpc = new aws.ec2.Vpc("echo-vpc", { cidrBlock: "10.9.0.0/16" });
          const subnet = (n: string, cidr: string, az: string): InstanceType<typeof aws.ec2.Subnet> => new aws.ec2.Subnet(n, { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: az });
          const priv = [subnet("echo-a", "10.9.0.0/24", "us-east-1b"), subnet("echo-b", "10.9.1.0/24", "us-east-1c")];
          const pub = [subnet("echo-c", "10.9.2.0/24", "us-east-1b"), subnet("echo-d", "10.9.3.0/24", "us-east-1c")];
          const mcSg = new aws.ec2.SecurityGroup("echo-mc", { vpcId: vpc.id });
          const svc = new HybridLambdaFargateService("svc-echo", {
            vpcId: vpc.id,
            vpcCidrBlock: vpc.cidrBlock,
            privateSubnetIds: priv.map((x) => x.id),
            publicSubnetIds: pub.map((x) => x.id),
            memcached: { configurationEndpoint: "mc.example:11211", nodeEndpoints: ["mc-1.example:11211"], securityGroupId: mcSg.id },
            upstreamUrl: "https://api.example.com",
            app: echoApp,
            appEnvironment: { ECHO_GREETING: "bonjour" },
          });
          return { apiFunctionName: svc.apiFunctionName };
        },
      });
      const fn = echoRun.one(FUNCTION_TYPE, "svc-echo-api");
      echoArchive = await extractLambdaArchive(fn.inputs.code);
      echoContext = layoutContext(echoRun.one(IMAGE_TYPE).inputs.context as string);
      echoEnv = localEnvironment(fn, { CACHE_METRICS: "off", MEMCACHED_SERVERS: mc.address, CACHE_MAC_KEYS: TEST_MAC_KEY, REQUEST_TIMEOUT_MS: String(BUDGET_MS), LOG_LEVEL: "silent" });
      echoContainer = await startContextServer(echoContext.dir, { ...echoEnv, PORT: "0", CACHE_NAMESPACE: "echo-container" });
    });

    after(async () => {
      await echoContainer?.stop();
      echoContext?.remove();
      echoArchive?.remove();
    });

    it("ships only the platform's packages (the app declared none), and one __index.js for both runtimes", () => {
      assert.ok(fs.readFileSync(path.join(echoContext.dir, "__index.js")).equals(Buffer.from(echoArchive.source, "utf8")));
      // The app's code loads no framework; hono is there only as the container adapter's peer.
      assert.doesNotMatch(echoArchive.source, /require\("hono"\)/);
      assert.ok(!echoArchive.entries.includes("node_modules/got"), "got is the demo app's, not the platform's");
      const archived = echoArchive.entries.filter((e) => e.startsWith("node_modules/")).map((e) => e.slice("node_modules/".length)).sort();
      assert.deepEqual(topLevelPackages(path.join(echoContext.dir, "node_modules")), archived);
      assert.ok(archived.includes("memjs") && archived.includes("@hono/node-server"));
    });

    it("its archive runs and answers, and its container answers the same (errors, limits, deadline, binary, multi-value)", async () => {
      for (const form of ["single", "multi"] as Form[]) {
        scope.set({ ...echoEnv, CACHE_NAMESPACE: `echo-${form}` });
        const h = echoArchive.load<Handler>();
        const probes: Probe[] = [
          { label: "echo GET", method: "GET", path: "/echo", query: [["q", "1"], ["q", "2"]], headers: [["x-multi", "a"], ["x-multi", "b"]], multiOnly: true },
          { label: "echo GET (single)", method: "GET", path: "/echo", query: [["q", "1"]], headers: [["x-multi", "a"]] },
          { label: "echo POST base64 body", method: "POST", path: "/echo", body: Buffer.from([0, 159, 146, 150, 255]).toString("base64"), base64: true, headers: [["content-type", "application/octet-stream"]] },
          { label: "echo POST text body", method: "POST", path: "/echo", body: "héllo", headers: [["content-type", "text/plain; charset=utf-8"]] },
          { label: "echo HEAD", method: "HEAD", path: "/echo" },
          { label: "binary answer", method: "GET", path: "/bin" },
          { label: "204", method: "GET", path: "/empty" },
          { label: "health (platform)", method: "GET", path: "/health" },
          { label: "cached miss", method: "GET", path: `/cached/${form}` },
          { label: "cached hit", method: "GET", path: `/cached/${form}` },
          { label: "unknown", method: "GET", path: "/nope" },
          { label: "app error", method: "GET", path: "/boom" },
          { label: "app ignores its deadline", method: "GET", path: "/hang" },
          { label: "body over the limit", method: "PUT", path: "/echo", body: "q".repeat(1024 * 1024 + 5) },
        ];
        for (const p of probes) {
          if (form === "single" && p.multiOnly) continue;
          const c = await httpExchange(echoContainer.url, httpRequestOf(albEvent(form, p)));
          const l = fromAlb(await h(albEvent(form, p), lambdaContext()));
          assertSame(`echo app: ${p.label}`, form, l, c, p.codeOnly);
          if (p.label === "app error") assert.deepEqual([l.status, errorCode(l.body)], [500, "internal_error"]);
          if (p.label === "app ignores its deadline") assert.deepEqual([l.status, errorCode(l.body)], [504, "deadline_exceeded"]);
          if (p.label === "cached hit") assert.deepEqual(l.headers["x-cache"], ["HIT-L1"]);
          if (p.label.startsWith("echo GET")) {
            const body = JSON.parse(l.body.toString()) as Record<string, unknown>;
            assert.equal(body.greeting, "bonjour", "appEnvironment reaches the app");
            assert.deepEqual([body.runtimeMatches, body.deadlineAhead, body.hasRequestId], [true, true, true]);
          }
        }
        // Over 1 MB: redirected by the platform; without a bucket reachable here the store fails cleanly.
        const big = fromAlb(await h(albEvent(form, { label: "big", method: "GET", path: "/big" }), lambdaContext()));
        assert.ok([303, 502].includes(big.status), `${big.status} ${big.body.toString().slice(0, 200)}`);
        assert.ok(big.body.length < 10_000);
      }
      const big = await httpExchange(echoContainer.url, { method: "GET", target: "/big", headers: [] });
      assert.equal(big.body.length, 1_200_000);
    });
  });
});
