/**
 * End to end through the private API as AWS documents it, down to the app as Pulumi serializes it:
 * the stage's routes (from the dev stack's registered resources) → what API Gateway sends over the
 * VPC link (stage in front of the path) → the ALB event → the API Lambda's archive, and the container
 * entry (app/main.ts as a child process) with the same environment, against a real memcached
 * and a real upstream on loopback. A negative control shows the harness catches the stage prefix.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import type { AlbResult } from "../../functions/platform/alb";
import { simulatePrivateApi, type ApiRoute, type SimulatedPrivateApi } from "../support/apiGateway";
import { startFakeS3, type FakeS3 } from "../support/fakeS3";
import { ExtractedLambda, extractLambdaArchive } from "../support/lambdaArchive";
import { MemcachedServer, startMemcached } from "../support/memcached";
import { REPO_ROOT, runProgram, type ProgramRun } from "../support/program";
import { Upstream, startUpstream } from "../support/upstream";

type Handler = (event: unknown, context?: unknown) => Promise<AlbResult>;

/** A multi-value ALB event (the Lambda target group has multi-value headers on) for a proxied request. */
function albEvent(route: Extract<ApiRoute, { kind: "http-proxy" }>): Record<string, unknown> {
  const query: Record<string, string[]> = {};
  for (const part of route.rawQuery.split("&").filter(Boolean)) {
    const i = part.indexOf("=");
    (query[i < 0 ? part : part.slice(0, i)] ??= []).push(i < 0 ? "" : part.slice(i + 1));
  }
  return {
    requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/svc-dev-fn/abc" } },
    httpMethod: route.method,
    path: route.backendPath,
    multiValueQueryStringParameters: query,
    multiValueHeaders: { host: [route.host], "x-amzn-apigateway-api-id": ["abc123"], "user-agent": ["AmazonAPIGateway_abc123"] },
    body: "",
    isBase64Encoded: false,
  };
}

function context(): Record<string, unknown> {
  const until = Date.now() + 8000;
  return { getRemainingTimeInMillis: () => until - Date.now(), awsRequestId: "req-1", functionName: "svc-dev-api" };
}

function header(r: AlbResult, name: string): string | undefined {
  return r.headers ? r.headers[name] : r.multiValueHeaders?.[name]?.[0];
}

describe("through the private API to the app (stage prefix, routes, large responses)", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  let api: SimulatedPrivateApi;
  let archive: ExtractedLambda;
  let mc: MemcachedServer;
  let upstream: Upstream;
  let s3: FakeS3;
  let env: Record<string, string>;
  const saved = { ...process.env };
  const bigBody = JSON.stringify({ id: "big", blob: "x".repeat(1_200_000) });

  before(async () => {
    run = await runProgram("dev");
    api = simulatePrivateApi(run);
    const fn = run.one("aws:lambda/function:Function", "-api");
    archive = await extractLambdaArchive(fn.inputs.code);
    mc = await startMemcached();
    s3 = await startFakeS3();
    upstream = await startUpstream();
    upstream.handler = (req) => {
      const m = /^\/todos\/([^?]+)/.exec(req.url ?? "");
      if (!m) return { status: 404, body: '{"error":"no such path"}' };
      if (m[1] === "big") return { status: 200, body: bigBody };
      return { status: 200, body: JSON.stringify({ id: m[1], title: `todo ${m[1]}` }) };
    };
    env = {
      ...(fn.inputs.environment.variables as Record<string, string>),
      MEMCACHED_SERVERS: mc.address,
      MEMCACHED_CONFIG_ENDPOINT: mc.address,
      UPSTREAM_URL: upstream.url,
      CACHE_NAMESPACE: `apipath-${Date.now()}`,
      LOG_LEVEL: "error",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      AWS_ENDPOINT_URL_S3: s3.url,
    };
    Object.assign(process.env, env);
  });

  after(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    archive?.remove();
    await upstream?.close();
    await s3?.close();
    await mc?.stop();
  });

  it("the dev stack's API sends /dev/<path> to the ALB, and tells the app to expect it", () => {
    const r = api.route("GET", "/dev/items/42", "lang=de");
    assert.equal(r.kind, "http-proxy");
    assert.equal((r as Extract<ApiRoute, { kind: "http-proxy" }>).backendPath, "/dev/items/42");
    assert.equal(env.API_BASE_PATH, "/dev", "the service is told the stage prefix");
    assert.equal(env.UPSTREAM_ITEM_PATH, "/todos/{id}", "the demo's default upstream serves items at /todos/{id}");
  });

  for (const [path, query, status, what] of [
    ["/dev/items/42", "lang=de", 200, "an item"],
    ["/dev/health", "", 200, "the health route"],
    ["/dev/runtime", "", 200, "the runtime route"],
    ["/dev/nope", "", 404, "an unknown path (through ANY /{proxy+})"],
  ] as const) {
    it(`Lambda runtime: ${what} through the API answers ${status}`, async () => {
      const route = api.route("GET", path, query);
      assert.equal(route.kind, "http-proxy", JSON.stringify(route));
      const result = await archive.load<Handler>()(albEvent(route as Extract<ApiRoute, { kind: "http-proxy" }>), context());
      assert.equal(result.statusCode, status, result.body);
    });
  }

  it("the upstream is asked for the configured item path, with lang", async () => {
    const before = upstream.requests.length;
    const route = api.route("GET", "/dev/items/77", "lang=pt-BR") as Extract<ApiRoute, { kind: "http-proxy" }>;
    const result = await archive.load<Handler>()(albEvent(route), context());
    assert.equal(result.statusCode, 200, result.body);
    assert.deepEqual(upstream.requests.slice(before).map((r) => r.url), ["/todos/77?lang=pt-BR"]);
  });

  it("negative control: without the base path the same request is a 404 (the bug the review found)", async () => {
    delete process.env.API_BASE_PATH;
    try {
      const route = api.route("GET", "/dev/items/42", "lang=de") as Extract<ApiRoute, { kind: "http-proxy" }>;
      const result = await archive.load<Handler>()(albEvent(route), context());
      assert.equal(result.statusCode, 404);
    } finally {
      process.env.API_BASE_PATH = env.API_BASE_PATH;
    }
  });

  it("a response over 1 MB: the Lambda redirects to /dev/_large/..., which the API serves from the object the Lambda stored", async () => {
    const route = api.route("GET", "/dev/items/big", "") as Extract<ApiRoute, { kind: "http-proxy" }>;
    const result = await archive.load<Handler>()(albEvent(route), context());
    assert.equal(result.statusCode, 303, result.body);
    const location = header(result, "location") ?? "";
    assert.match(location, /^\/dev\/_large\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/, "a path of the API, not a presigned URL");
    const follow = api.route("GET", location);
    assert.equal(follow.kind, "s3", JSON.stringify(follow));
    const { bucket, key } = follow as Extract<ApiRoute, { kind: "s3" }>;
    assert.equal(bucket, env.LARGE_RESPONSE_BUCKET);
    const stored = s3.objects.get(`/${bucket}/${key}`)?.body;
    assert.ok(stored, `the object the API would read (${bucket}/${key}) is the one the Lambda stored: ${[...s3.objects.keys()].join(", ")}`);
    assert.equal(stored.toString("utf8"), bigBody);
  });

  describe("container runtime (app/main.ts with the same environment)", () => {
    let child: ChildProcess;
    let base: string;

    before(async () => {
      child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(REPO_ROOT, "app", "main.ts")], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, PORT: "0", AWS_LAMBDA_RUNTIME_API: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      base = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const line = out.split("\n").find((l) => l.includes('"listening"'));
          if (line) resolve((JSON.parse(line) as { url: string }).url);
        });
        child.once("exit", (code) => reject(new Error(`container exited ${code}: ${out}`)));
      });
    });

    after(() => {
      child?.kill("SIGTERM");
    });

    for (const [path, query, status] of [["/dev/items/42", "lang=de", 200], ["/dev/health", "", 200], ["/dev/nope", "", 404]] as const) {
      it(`${path}${query ? `?${query}` : ""} through the API answers ${status}`, async () => {
        const route = api.route("GET", path, query) as Extract<ApiRoute, { kind: "http-proxy" }>;
        const res = await fetch(`${base}${route.backendPath}${route.rawQuery ? `?${route.rawQuery}` : ""}`);
        assert.equal(res.status, status, await res.text());
      });
    }
  });
});
