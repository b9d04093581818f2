// Every Lambda archive CallbackFunction builds for the dev stack holds exactly the npm packages its
// code loads (plus their run-time dependencies), the AWS SDK included: nothing types-only, nothing
// another function needs, and nothing left to the runtime. The API function's code is also the
// container's (one serialized closure for both runtimes, test/components/hybridArtifacts.test.ts):
// its container-only package, @hono/node-server (and its peer hono), is loaded lazily, only there. The expectation is
// computed here, independently of components/lambdaPackaging.ts, from what the serialized code
// requires and the installed tree.
//
// The Lambda runtime has its own /var/runtime/node_modules on NODE_PATH with an OLDER, PARTIAL AWS
// SDK. Here that is a stub runtime (test/support/lambdaArchive.ts createStubRuntimeSdk): every SDK
// package in it throws "runtime SDK 3.x (stub): ..." when loaded, and it has no
// @aws-sdk/s3-request-presigner. The archives are laid out in a temp dir outside the repository, so
// this repository's node_modules are out of reach: an SDK package missing from an archive fails.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { lambdaCodePathOptions } from "../../components/lambdaPackaging";
import { demoApp } from "../../app";
import { hybridEntry } from "../../functions/platform/entry";
import { createCacheHandler, lambdaTelemetry, settingsFromEnv } from "../../functions/cacheHandler";
import { createFailoverHandlerFromEnv } from "../../functions/failover/shell";
import {
  RUNTIME_SDK_STUB_ERROR,
  createStubRuntimeSdk,
  extractLambdaArchive,
  probeArchive,
  useNodePath,
  type ExtractedLambda,
  type StubRuntimeSdk,
} from "../support/lambdaArchive";
import { startMemcached, type MemcachedServer } from "../support/memcached";
import { REPO_ROOT, runProgram, type ProgramRun } from "../support/program";
import { startUpstream, type Upstream } from "../support/upstream";

const FUNCTION_TYPE = "aws:lambda/function:Function";
const ROOT_MODULES = path.join(REPO_ROOT, "node_modules");

/** What each function's code loads, by package (deep requires count as their package). All packaged. */
const FUNCTIONS = [
  {
    label: "cache handler",
    namePart: "cache-handler",
    packaged: ["got", "lru-cache", "memjs"],
  },
  {
    label: "API handler",
    namePart: "-api",
    // The platform (cache, large responses, the container's Node adapter) and the demo app (hono, got).
    packaged: ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner", "@hono/node-server", "got", "hono", "lru-cache", "memjs"],
  },
  {
    label: "failover handler",
    namePart: "-failover",
    packaged: ["@aws-sdk/client-cloudwatch", "@aws-sdk/client-ecs", "@aws-sdk/client-elastic-load-balancing-v2"],
  },
];
const [CACHE_FN, API_FN, FAILOVER_FN] = FUNCTIONS;

/** The packaging before AWS review item 14: every `@aws-sdk/*` dependency left to the runtime. */
const SDK_DEPENDENCIES = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies,
).filter((n) => n.startsWith("@aws-sdk/"));

/** Stand-ins for the failover variables the mocks leave unknown (names of remote components). */
const FAILOVER_STAND_INS = { FAILOVER_CLUSTER: "svc-dev", FAILOVER_SERVICE: "svc-dev-api", FAILOVER_ALARM_NAMES: "throttles", AWS_REGION: "us-east-1" };
/** Entry keys for the archives run here (>= 32 bytes, base64); the deployed ones come from SSM. */
const TEST_MAC_KEY = Buffer.alloc(32, 7).toString("base64");

/** Files a process loaded from outside the archive dir (the probe itself has no file). */
function loadedOutside(dir: string, files: string[]): string[] {
  return files.filter((f) => !f.startsWith(`${dir}${path.sep}`));
}

const BUILTIN = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

/** Packages the serialized code requires or imports by name (node built-ins left out). */
function packagesLoadedBy(source: string): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:require|import)\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
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
 * `dependencies`, transitively, resolved the way Node does (the AWS SDK like everything else);
 * types-only ones left out. Nested copies (node_modules/a/node_modules/b) travel inside their
 * parent's folder.
 */
function expectedTopLevel(direct: string[]): string[] {
  const top = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string, fromDir: string): void => {
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
  let runtime: StubRuntimeSdk;
  const archives = new Map<string, ExtractedLambda>();

  before(async () => {
    runtime = createStubRuntimeSdk();
    run = await runProgram("dev");
    for (const f of FUNCTIONS) archives.set(f.label, await extractLambdaArchive(run.one(FUNCTION_TYPE, f.namePart).inputs.code));
    for (const a of archives.values()) {
      // Outside the repository: nothing but the archive itself and NODE_PATH can satisfy a require.
      assert.ok(!a.dir.startsWith(REPO_ROOT), a.dir);
      for (let d = path.dirname(a.dir); ; d = path.dirname(d)) {
        assert.ok(!fs.existsSync(path.join(d, "node_modules")), `${d}/node_modules would be reachable from the archive`);
        if (path.dirname(d) === d) break;
      }
    }
  });

  after(() => {
    for (const a of archives.values()) a.remove();
    runtime?.remove();
  });

  for (const f of FUNCTIONS) {
    it(`${f.label}: the serialized code loads the packages listed here, no others`, () => {
      assert.deepEqual(packagesLoadedBy(archives.get(f.label)!.source), [...f.packaged].sort());
    });

    it(`${f.label}: the archive holds exactly those packages and their run-time dependencies`, () => {
      const lambda = archives.get(f.label)!;
      assert.deepEqual(packagingErrors(lambda, f.packaged), []);
      assert.deepEqual(archivedPackages(lambda), expectedTopLevel(f.packaged));
    });
  }

  it("ships every @aws-sdk package a function imports, with @smithy/* and the rest of its run-time tree", () => {
    for (const f of FUNCTIONS) {
      const pkgs = archivedPackages(archives.get(f.label)!);
      for (const sdk of f.packaged.filter((p) => p.startsWith("@aws-sdk/"))) assert.ok(pkgs.includes(sdk), `${f.label}: ${sdk} missing`);
    }
    for (const label of ["API handler", "failover handler"]) {
      const pkgs = archivedPackages(archives.get(label)!);
      for (const p of ["@aws-sdk/core", "@aws-sdk/credential-provider-node", "@smithy/core", "@smithy/node-http-handler", "tslib"]) {
        assert.ok(pkgs.includes(p), `${label}: ${p} missing from ${pkgs.join(", ")}`);
      }
    }
  });

  it("ships nothing types-only, the container's adapter only with the API, no SDK client another function uses", () => {
    for (const [label, lambda] of archives) {
      const pkgs = archivedPackages(lambda);
      for (const banned of ["@pulumi/", "@types/", "type-fest", ...(label === "API handler" ? [] : ["@hono/node-server"])]) {
        assert.ok(!pkgs.some((p) => p.startsWith(banned)), `${label}: ${banned} in ${pkgs.join(", ")}`);
      }
    }
    const cache = archivedPackages(archives.get("cache handler")!);
    assert.ok(!cache.includes("hono"), "the cache handler does not use hono");
    assert.ok(!cache.some((p) => /^@(aws-sdk|smithy)\//.test(p)), `the cache handler uses no AWS SDK: ${cache.join(", ")}`);
    const api = archivedPackages(archives.get("API handler")!);
    for (const [label, pkgs] of [["cache handler", cache], ["API handler", api], ["failover handler", archivedPackages(archives.get("failover handler")!)]] as const) {
      assert.ok(!pkgs.some((p) => p.startsWith("@aws-lambda-powertools/")), `${label}: logs with the shared JSON-lines logger, no Powertools`);
    }
    for (const p of FAILOVER_FN.packaged) assert.ok(!api.includes(p), `the API handler does not use ${p}`);
    const failover = archivedPackages(archives.get("failover handler")!);
    for (const p of [...API_FN.packaged, ...CACHE_FN.packaged]) assert.ok(!failover.includes(p), `the failover handler does not use ${p}`);
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

    let restoreNodePath: (() => void) | undefined;

    before(async () => {
      mc = await startMemcached();
      up = await startUpstream({ body: '{"id":"7","name":"Widget"}' });
      // In-process loads below see the runtime's (stub) SDK on NODE_PATH too.
      restoreNodePath = useNodePath(runtime.nodePath);
    });

    afterEach(() => {
      assert.deepEqual(runtime.loads(), [], "a function loaded a package from the runtime's SDK");
    });

    after(async () => {
      restoreNodePath?.();
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
        // The deployed functions read their entry keys from SSM (CACHE_MAC_KEY_PARAMETER); unreachable
        // here, so the keys are given directly (they take precedence over the parameter).
        CACHE_MAC_KEYS: TEST_MAC_KEY,
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
            NODE_PATH: runtime.nodePath,
            ...(fn.inputs.environment.variables as Record<string, string>),
            MEMCACHED_SERVERS: mc.address,
            MEMCACHED_CONFIG_ENDPOINT: mc.address,
            UPSTREAM_URL: up.url,
            CACHE_METRICS: "off",
            CACHE_MAC_KEYS: TEST_MAC_KEY,
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
        ["lru-cache", "memjs"],
        "a cold hit loads the cache client only (telemetry is in the handler's code), no HTTP client",
      );
    });

    it("failover handler: loads and creates its handler from its own SDK, never the runtime's", async () => {
      const lambda = archives.get("failover handler")!;
      const fn = run.one(FUNCTION_TYPE, "-failover");
      // A fresh process, NODE_PATH = the stub runtime: as the Lambda runtime's init.
      const probe = await probeArchive(lambda, {
        nodePath: runtime.nodePath,
        // Names of remote components stay unknown under mocks.
        env: { ...(fn.inputs.environment.variables as Record<string, string>), ...FAILOVER_STAND_INS },
        resolve: FAILOVER_FN.packaged,
      });
      assert.equal(probe.error, undefined);
      assert.equal(probe.handler, "function");
      for (const sdk of FAILOVER_FN.packaged) {
        assert.ok(probe.resolved[sdk]?.startsWith(path.join(lambda.dir, "node_modules", sdk) + path.sep), `${sdk} resolved to ${probe.resolved[sdk]}`);
      }
      assert.ok(probe.loadedFiles.some((f) => f.startsWith(path.join(lambda.dir, "node_modules", "@aws-sdk", "client-ecs") + path.sep)), "client-ecs was loaded at init");
      assert.deepEqual(loadedOutside(lambda.dir, probe.loadedFiles), [], "loaded from outside the archive");
    });

    it("API handler: the large-response path's client-s3 and presigner resolve and load from the archive", async () => {
      const lambda = archives.get("API handler")!;
      const fn = run.one(FUNCTION_TYPE, "-api");
      const probe = await probeArchive(lambda, {
        nodePath: runtime.nodePath,
        env: { ...(fn.inputs.environment.variables as Record<string, string>), MEMCACHED_SERVERS: mc.address, MEMCACHED_CONFIG_ENDPOINT: mc.address, UPSTREAM_URL: up.url, AWS_REGION: "us-east-1" },
        resolve: API_FN.packaged.filter((p) => p.startsWith("@aws-sdk/")),
        require: API_FN.packaged.filter((p) => p.startsWith("@aws-sdk/")),
      });
      assert.equal(probe.error, undefined);
      assert.equal(probe.handler, "function");
      for (const sdk of ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"]) {
        assert.ok(probe.resolved[sdk]?.startsWith(path.join(lambda.dir, "node_modules", sdk) + path.sep), `${sdk} resolved to ${probe.resolved[sdk]}`);
        assert.equal(probe.required[sdk], "ok", sdk);
      }
      assert.deepEqual(loadedOutside(lambda.dir, probe.loadedFiles), [], "loaded from outside the archive");
    });
  });
});

describe("lambda packaging: the check catches an unneeded or a missing package", function () {
  this.timeout(120_000);
  const built: ExtractedLambda[] = [];
  let runtime: StubRuntimeSdk;

  before(() => {
    runtime = createStubRuntimeSdk();
  });

  after(() => {
    for (const l of built) l.remove();
    runtime?.remove();
  });

  /** A function's factory, as its component passes it, serialized with the given codePathOptions. */
  async function archiveOf(callbackFactory: () => unknown, codePathOptions: pulumi.runtime.CodePathOptions): Promise<ExtractedLambda> {
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
    const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
    new aws.lambda.CallbackFunction(`packaging-check-${built.length}`, {
      role: "arn:aws:iam::123456789012:role/t",
      callbackFactory: callbackFactory as () => (event: unknown, context: unknown) => Promise<unknown>,
      codePathOptions,
    });
    for (let i = 0; i < 1200 && code === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(code !== undefined, "the mocked function never received its code");
    const lambda = await extractLambdaArchive(code);
    built.push(lambda);
    return lambda;
  }

  const cacheNeeds = CACHE_FN.packaged;
  const cacheFactory = (): unknown => createCacheHandler(settingsFromEnv(process.env), lambdaTelemetry());

  it("an extra package in `uses` (hono for the cache handler) is reported as unneeded", async () => {
    const lambda = await archiveOf(cacheFactory, lambdaCodePathOptions({ uses: [...cacheNeeds, "hono"] }));
    assert.deepEqual(packagingErrors(lambda, cacheNeeds), ["unneeded package in the archive: hono"]);
  });

  it("the first packaging (every dependency but the AWS SDK) is reported package by package", async () => {
    const lambda = await archiveOf(cacheFactory, { extraExcludePackages: SDK_DEPENDENCIES });
    const errors = packagingErrors(lambda, cacheNeeds);
    for (const p of ["hono", "@hono/node-server", "type-fest", "@types/http-cache-semantics"]) {
      assert.ok(errors.includes(`unneeded package in the archive: ${p}`), `${p} reported: ${errors.join("; ")}`);
    }
  });

  it("the failover handler with the SDK left to the runtime (the packaging before review item 14): missing packages, and it fails on the runtime's SDK", async () => {
    const trimmed = lambdaCodePathOptions({ uses: FAILOVER_FN.packaged }).extraExcludePackages ?? [];
    const lambda = await archiveOf(() => createFailoverHandlerFromEnv(process.env), { extraExcludePackages: [...new Set([...trimmed, ...SDK_DEPENDENCIES])] });
    assert.deepEqual(lambda.entries, ["__index.js"]);
    const errors = packagingErrors(lambda, FAILOVER_FN.packaged);
    for (const p of [...FAILOVER_FN.packaged, "@aws-sdk/core", "@smithy/core"]) assert.ok(errors.includes(`missing package: ${p}`), `${p} reported: ${errors.join("; ")}`);
    const probe = await probeArchive(lambda, {
      nodePath: runtime.nodePath,
      env: {
        FAILOVER_LISTENER_ARN: "arn:listener", FAILOVER_LAMBDA_TG_ARN: "arn:tg-l", FAILOVER_FARGATE_TG_ARN: "arn:tg-f", ...FAILOVER_STAND_INS,
        FAILOVER_BASELINE_COUNT: "1", FAILOVER_DESIRED_COUNT: "2", FAILOVER_COOLDOWN_SECONDS: "60", FAILOVER_SHIFT_BACK_DELAY_SECONDS: "60",
      },
      resolve: ["@aws-sdk/client-ecs"],
    });
    assert.ok(probe.error?.includes(RUNTIME_SDK_STUB_ERROR), `expected the stub runtime's error, got ${probe.error}`);
    assert.ok(probe.resolved["@aws-sdk/client-ecs"]?.startsWith(runtime.nodePath + path.sep), `resolved to ${probe.resolved["@aws-sdk/client-ecs"]}`);
    assert.ok(runtime.loads().length > 0);
  });

  it("the API handler without the presigner in `uses`: reported missing, and the runtime does not have it either", async () => {
    const uses = API_FN.packaged.filter((p) => p !== "@aws-sdk/s3-request-presigner");
    const lambda = await archiveOf(hybridEntry(demoApp), lambdaCodePathOptions({ uses }));
    assert.deepEqual(packagingErrors(lambda, API_FN.packaged), ["missing package: @aws-sdk/s3-request-presigner"]);
    const probe = await probeArchive(lambda, {
      nodePath: runtime.nodePath,
      env: { MEMCACHED_SERVERS: "127.0.0.1:1", UPSTREAM_URL: "http://127.0.0.1:1", LARGE_RESPONSE_BUCKET: "b", AWS_REGION: "us-east-1" },
      resolve: ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"],
      require: ["@aws-sdk/s3-request-presigner"],
    });
    // The handler loads (the S3 SDK is lazy); its first large response would fail.
    assert.equal(probe.handler, "function");
    assert.ok(probe.resolved["@aws-sdk/client-s3"]?.startsWith(lambda.dir + path.sep));
    assert.equal(probe.resolved["@aws-sdk/s3-request-presigner"], null);
    assert.match(probe.required["@aws-sdk/s3-request-presigner"], /Cannot find module '@aws-sdk\/s3-request-presigner'/);
  });

  it("lambdaCodePathOptions refuses a package that is not a runtime dependency", () => {
    assert.throws(() => lambdaCodePathOptions({ uses: ["mocha"] }), /mocha not in the dependencies/);
  });
});
