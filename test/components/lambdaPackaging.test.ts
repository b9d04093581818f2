// Every Lambda archive CallbackFunction builds for the dev stack holds exactly the npm packages its
// code loads (plus their run-time dependencies): nothing the runtime provides, nothing types-only,
// nothing another function or the container needs. The expectation is computed here, independently
// of components/lambdaPackaging.ts, from what the serialized code requires and the installed tree.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { lambdaCodePathOptions, runtimeProvidedPackages } from "../../components/lambdaPackaging";
import { createCacheHandler, powertoolsTelemetry, settingsFromEnv } from "../../functions/cacheHandler";
import { extractLambdaArchive, type ExtractedLambda } from "../support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "../support/memcached";
import { REPO_ROOT, runProgram, type ProgramRun } from "../support/program";
import { startUpstream, type Upstream } from "../support/upstream";

const FUNCTION_TYPE = "aws:lambda/function:Function";
const ROOT_MODULES = path.join(REPO_ROOT, "node_modules");

/** What each function's code loads, by package (deep requires count as their package). */
const FUNCTIONS = [
  {
    label: "cache handler",
    namePart: "cache-handler",
    packaged: ["@aws-lambda-powertools/logger", "@aws-lambda-powertools/metrics", "got", "lru-cache", "memjs"],
    fromRuntime: [] as string[],
  },
  {
    label: "API handler",
    namePart: "-api",
    packaged: ["got", "hono", "lru-cache", "memjs"],
    fromRuntime: ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"],
  },
  {
    label: "failover handler",
    namePart: "-failover",
    packaged: [] as string[],
    fromRuntime: ["@aws-sdk/client-cloudwatch", "@aws-sdk/client-ecs", "@aws-sdk/client-elastic-load-balancing-v2"],
  },
];

const BUILTIN = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

/** Packages the serialized code requires or imports by name (node built-ins left out). */
function packagesLoadedBy(source: string): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:require|import)\(\s*["']([^"'.\/][^"']*)["']\s*\)/g)) {
    const spec = m[1].replace(/^node:/, "");
    const parts = spec.split("/");
    const name = spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
    if (!BUILTIN.has(name)) names.add(name);
  }
  return [...names].sort();
}

/** A package nothing could `require`: no main, no exports map, no index.js (type-fest, @types/*). */
function typesOnly(dir: string): boolean {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { main?: string; exports?: unknown };
  return !pkg.main && pkg.exports === undefined && !fs.existsSync(path.join(dir, "index.js"));
}

/**
 * Top-level node_modules entries an archive must hold for `direct`: the packages and their
 * `dependencies`, transitively, resolved the way Node does; runtime-provided and types-only ones
 * left out. Nested copies (node_modules/a/node_modules/b) travel inside their parent's folder.
 */
function expectedTopLevel(direct: string[]): string[] {
  const top = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string, fromDir: string): void => {
    if (name.startsWith("@aws-sdk/")) return;
    let dir = fromDir;
    let found: string | undefined;
    for (;;) {
      const candidate = path.join(dir, "node_modules", name);
      if (fs.existsSync(path.join(candidate, "package.json"))) { found = candidate; break; }
      if (dir === REPO_ROOT || path.dirname(dir) === dir) break;
      dir = path.dirname(dir);
    }
    assert.ok(found, `${name} (from ${fromDir}) is not installed`);
    if (seen.has(found)) return;
    seen.add(found);
    if (typesOnly(found)) return;
    if (found === path.join(ROOT_MODULES, name)) top.add(name);
    const pkg = JSON.parse(fs.readFileSync(path.join(found, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, found);
  };
  for (const name of direct) visit(name, REPO_ROOT);
  return [...top].sort();
}

/** The packages at the top of an archive's node_modules. */
function archivedPackages(lambda: ExtractedLambda): string[] {
  return lambda.entries.filter((e) => e.startsWith("node_modules/")).map((e) => e.slice("node_modules/".length)).sort();
}

/** Differences between an archive and what its code needs; empty when it is exact. */
function packagingErrors(lambda: ExtractedLambda, direct: string[]): string[] {
  const want = expectedTopLevel(direct);
  const have = archivedPackages(lambda);
  return [
    ...have.filter((p) => !want.includes(p)).map((p) => `unneeded package in the archive: ${p}`),
    ...want.filter((p) => !have.includes(p)).map((p) => `missing package: ${p}`),
  ];
}

describe("lambda packaging: each dev-stack archive holds exactly what its function loads", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  const archives = new Map<string, ExtractedLambda>();

  before(async () => {
    run = await runProgram("dev");
    for (const f of FUNCTIONS) archives.set(f.label, await extractLambdaArchive(run.one(FUNCTION_TYPE, f.namePart).inputs.code));
  });

  after(() => {
    for (const a of archives.values()) a.remove();
  });

  for (const f of FUNCTIONS) {
    it(`${f.label}: the serialized code loads the packages listed here, no others`, () => {
      assert.deepEqual(packagesLoadedBy(archives.get(f.label)!.source), [...f.packaged, ...f.fromRuntime].sort());
    });

    it(`${f.label}: the archive holds exactly those packages and their run-time dependencies`, () => {
      const lambda = archives.get(f.label)!;
      assert.deepEqual(packagingErrors(lambda, f.packaged), []);
      assert.deepEqual(archivedPackages(lambda), expectedTopLevel(f.packaged));
    });
  }

  it("ships nothing the runtime provides, nothing types-only, nothing only the container uses", () => {
    for (const [label, lambda] of archives) {
      const pkgs = archivedPackages(lambda);
      for (const banned of ["@aws-sdk/", "@smithy/", "@pulumi/", "@types/", "type-fest", "@hono/node-server"]) {
        assert.ok(!pkgs.some((p) => p.startsWith(banned)), `${label}: ${banned} in ${pkgs.join(", ")}`);
      }
    }
    assert.ok(!archivedPackages(archives.get("cache handler")!).includes("hono"), "the cache handler does not use hono");
    assert.ok(!archivedPackages(archives.get("API handler")!).some((p) => p.startsWith("@aws-lambda-powertools/")), "the API handler does not use Powertools");
    assert.deepEqual(archives.get("failover handler")!.entries, ["__index.js"], "the failover handler needs only the AWS SDK, which the runtime provides");
  });

  describe("the slimmed archives still run (nothing needed was dropped)", () => {
    let mc: MemcachedServer;
    let up: Upstream;
    const saved: Record<string, string | undefined> = {};
    const setEnv = (vars: Record<string, string>): void => {
      for (const [k, v] of Object.entries(vars)) {
        if (!(k in saved)) saved[k] = process.env[k];
        process.env[k] = v;
      }
    };

    before(async () => {
      mc = await startMemcached();
      up = await startUpstream({ body: '{"id":"7","name":"Widget"}' });
    });

    after(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await up?.close();
      await mc?.stop();
    });

    it("API handler: MISS through got, then HIT-L2 in a fresh environment", async () => {
      const fn = run.one(FUNCTION_TYPE, "-api");
      setEnv({
        ...(fn.inputs.environment.variables as Record<string, string>),
        MEMCACHED_SERVERS: mc.address,
        MEMCACHED_CONFIG_ENDPOINT: mc.address,
        UPSTREAM_URL: up.url,
        CACHE_NAMESPACE: "packaging-test",
        LOG_LEVEL: "error",
      });
      type Alb = (e: unknown, c: unknown) => Promise<{ statusCode: number; headers: Record<string, string> }>;
      const event = { httpMethod: "GET", path: "/items/7", queryStringParameters: {}, headers: { host: "x" }, body: "", isBase64Encoded: false };
      const ctx = { getRemainingTimeInMillis: () => 5000 };
      const lambda = archives.get("API handler")!;
      const first = await lambda.load<Alb>()(event, ctx);
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers["x-cache"], "MISS");
      const second = await lambda.load<Alb>()(event, ctx);
      assert.equal(second.headers["x-cache"], "HIT-L2");
    });

    it("cache handler: a cold start that hits loads no HTTP client; the first miss loads got", async () => {
      const fn = run.one(FUNCTION_TYPE, "cache-handler");
      const lambda = archives.get("cache handler")!;
      /** A fresh process (bench/cold-start/runner.cjs) answering one request; the packages it loaded. */
      const coldStart = (requestPath: string): Promise<{ xcache: string; packages: string[] }> => new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, "bench", "cold-start", "runner.cjs"), path.join(lambda.dir, "__index.js"), "invoke"], {
          env: {
            PATH: process.env.PATH ?? "",
            ...(fn.inputs.environment.variables as Record<string, string>),
            MEMCACHED_SERVERS: mc.address,
            MEMCACHED_CONFIG_ENDPOINT: mc.address,
            UPSTREAM_URL: up.url,
            POWERTOOLS_METRICS_DISABLED: "true",
            COLD_EVENT: JSON.stringify({ httpMethod: "GET", path: requestPath }),
            COLD_TRACE: "1",
          },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
        child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
        child.once("error", reject);
        child.once("exit", () => {
          const line = out.split("\n").find((l) => l.startsWith("@@COLD-START@@"));
          if (!line) return reject(new Error(`no result from the cold start: ${out}`));
          const r = JSON.parse(line.slice("@@COLD-START@@".length)) as { xcache?: string; error?: string; trace?: { packages: string[] } };
          if (r.error || !r.trace || !r.xcache) return reject(new Error(r.error ?? out));
          resolve({ xcache: r.xcache, packages: r.trace.packages });
        });
      });
      const miss = await coldStart("/items/packaging-cold");
      assert.equal(miss.xcache, "MISS");
      assert.ok(miss.packages.includes("got"), `got loaded on the miss: ${miss.packages.join(", ")}`);
      const hit = await coldStart("/items/packaging-cold");
      assert.equal(hit.xcache, "HIT-L2");
      assert.deepEqual(
        hit.packages,
        ["@aws-lambda-powertools/commons", "@aws-lambda-powertools/logger", "@aws-lambda-powertools/metrics", "@aws/lambda-invoke-store", "lru-cache", "memjs"],
        "a cold hit loads the cache client and telemetry, no HTTP client",
      );
    });

    it("failover handler: loads and creates its handler with the SDK from the runtime only", () => {
      const lambda = archives.get("failover handler")!;
      // The runtime's /var/runtime/node_modules: the AWS SDK and nothing else.
      fs.mkdirSync(path.join(lambda.dir, "node_modules"), { recursive: true });
      fs.symlinkSync(path.join(ROOT_MODULES, "@aws-sdk"), path.join(lambda.dir, "node_modules", "@aws-sdk"), "dir");
      const fn = run.one(FUNCTION_TYPE, "-failover");
      const vars = { ...(fn.inputs.environment.variables as Record<string, string>) };
      // Names of remote components stay unknown under mocks.
      setEnv({ ...vars, FAILOVER_CLUSTER: "svc-dev", FAILOVER_SERVICE: "svc-dev-api", FAILOVER_ALARM_NAMES: "throttles", AWS_REGION: "us-east-1" });
      assert.equal(typeof lambda.load("handler"), "function");
    });
  });
});

describe("lambda packaging: the check catches an unneeded package", function () {
  this.timeout(120_000);
  const built: ExtractedLambda[] = [];

  after(() => {
    for (const l of built) l.remove();
  });

  /** The cache handler's factory, serialized with the given codePathOptions. */
  async function cacheArchive(codePathOptions: pulumi.runtime.CodePathOptions): Promise<ExtractedLambda> {
    let code: unknown;
    await pulumi.runtime.setMocks({
      newResource(args) {
        if (args.type === FUNCTION_TYPE) code = args.inputs.code;
        return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:lambda:us-east-1:123456789012:function:${args.name}` } };
      },
      call(args) {
        return args.inputs;
      },
    }, "serverless-cache", "packaging-check", false);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
    new aws.lambda.CallbackFunction(`packaging-check-${built.length}`, {
      role: "arn:aws:iam::123456789012:role/t",
      callbackFactory: () => createCacheHandler(settingsFromEnv(process.env), powertoolsTelemetry()),
      codePathOptions,
    });
    for (let i = 0; i < 1200 && code === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(code !== undefined, "the mocked function never received its code");
    const lambda = await extractLambdaArchive(code);
    built.push(lambda);
    return lambda;
  }

  const cacheNeeds = FUNCTIONS[0].packaged;

  it("an extra package in `uses` (hono for the cache handler) is reported as unneeded", async () => {
    const lambda = await cacheArchive(lambdaCodePathOptions({ uses: [...cacheNeeds, "hono"] }));
    assert.deepEqual(packagingErrors(lambda, cacheNeeds), ["unneeded package in the archive: hono"]);
  });

  it("the old packaging (every dependency but the AWS SDK) is reported package by package", async () => {
    const lambda = await cacheArchive({ extraExcludePackages: runtimeProvidedPackages() });
    const errors = packagingErrors(lambda, cacheNeeds);
    for (const p of ["hono", "@hono/node-server", "type-fest", "@types/http-cache-semantics"]) {
      assert.ok(errors.includes(`unneeded package in the archive: ${p}`), `${p} reported: ${errors.join("; ")}`);
    }
  });

  it("lambdaCodePathOptions refuses a package that is not a runtime dependency", () => {
    assert.throws(() => lambdaCodePathOptions({ uses: ["mocha"] }), /mocha not in the dependencies/);
  });
});
