import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { policies } from "../../policy/policies";
import { REPO_ROOT, runProgram, type MockResource, type ProgramRun } from "../support/program";
import { firstPreview } from "../support/resources";

/**
 * The policy pack as `pulumi preview --policy-pack policy` runs it: policy/index.ts started by
 * @pulumi/pulumi's own policy-pack runner (ts-node with type checking, in policy/), serving the
 * analyzer gRPC API; this test plays the engine and sends it the resources the program registers.
 * Only the Pulumi CLI itself is missing.
 */

// The generated gRPC stubs of @pulumi/pulumi (CommonJS, no typings for these members).
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any -- protobuf builders are untyped */
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb") as any;
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as any;
const emptyPb = require("google-protobuf/google/protobuf/empty_pb") as any;
/* eslint-enable @typescript-eslint/no-require-imports */

interface Diagnostic {
  policy: string;
  message: string;
  /** 0 advisory, 1 mandatory (EnforcementLevel enum). */
  level: number;
  urn: string;
}

/** Plain JSON of a resource's props: what the engine would marshal (archives and promises dropped). */
function plain(props: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(props, (_key, v: unknown) => (v instanceof Promise || typeof v === "function" ? undefined : v))) as Record<string, unknown>;
}

function options(parent?: string): unknown {
  const o = new analyzerPb.AnalyzerResourceOptions();
  o.setProtect(false);
  if (parent) o.setParent(parent);
  return o;
}

function analyzerResource(r: MockResource, props: Record<string, unknown>): unknown {
  const a = new analyzerPb.AnalyzerResource();
  a.setType(r.type);
  a.setName(r.name);
  a.setUrn(r.urn);
  a.setProperties(Struct.fromJavaScript(plain(props) as never));
  a.setOptions(options(r.parent));
  if (r.parent) a.setParent(r.parent);
  a.setDependenciesList(r.dependencies);
  const map = a.getPropertydependenciesMap();
  for (const [key, urns] of Object.entries(r.propertyDependencies)) {
    const deps = new analyzerPb.AnalyzerPropertyDependencies();
    deps.setUrnsList(urns);
    map.set(key, deps);
  }
  return a;
}

function diagnostics(response: any): Diagnostic[] {
  return response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), level: d.getEnforcementlevel(), urn: d.getUrn() }));
}

class Engine {
  private constructor(private readonly child: ChildProcess, private readonly client: any) {}

  static async start(): Promise<Engine> {
    const runner = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
    const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: path.join(REPO_ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`policy pack exited with ${code} before serving: ${stderr}`)));
    });
    const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new Engine(child, client);
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => this.client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
  }

  async info(): Promise<{ name: string; policies: string[] }> {
    const res: any = await this.call("getAnalyzerInfo", new emptyPb.Empty());
    return { name: res.getName(), policies: res.getPoliciesList().map((p: any) => p.getName()) };
  }

  /** Analyze (every resource, inputs) + AnalyzeStack (all resources, state): what a preview does. */
  async preview(resources: MockResource[]): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    for (const r of resources) {
      const req = new analyzerPb.AnalyzeRequest();
      req.setType(r.type);
      req.setName(r.name);
      req.setUrn(r.urn);
      req.setProperties(Struct.fromJavaScript(plain(r.inputs) as never));
      req.setOptions(options(r.parent));
      // A resource diagnostic carries no URN: the engine attributes it to the resource it asked about.
      out.push(...diagnostics(await this.call("analyze", req)).map((d) => ({ ...d, urn: d.urn || r.urn })));
    }
    const stackReq = new analyzerPb.AnalyzeStackRequest();
    stackReq.setResourcesList(resources.map((r) => analyzerResource(r, r.state)));
    out.push(...diagnostics(await this.call("analyzeStack", stackReq)));
    return out;
  }

  stop(): void {
    this.client.close();
    this.child.kill("SIGKILL");
  }
}

const MANDATORY = 1;

describe("policy pack under the real analyzer server (policy/index.ts in its own process)", function () {
  this.timeout(120_000);
  let engine: Engine;
  let dev: ProgramRun;
  let prod: ProgramRun;
  before(async () => {
    const starting = Engine.start(); // its type check takes a while: run the programs meanwhile (one at a time: the mock engine is global)
    dev = await runProgram("dev");
    prod = await runProgram("prod");
    engine = await starting;
  });
  after(() => engine?.stop());

  it("loads as a policy pack (type-checked by Pulumi's runner) and offers every policy", async () => {
    const info = await engine.info();
    assert.equal(info.name, "serverless-cache");
    assert.deepEqual(info.policies.sort(), policies.map((p) => p.name).sort());
  });

  for (const stack of ["dev", "prod"] as const) {
    it(`${stack}: a preview gets no diagnostics`, async () => {
      const diags = await engine.preview((stack === "dev" ? dev : prod).resources);
      assert.deepEqual(diags, []);
    });
  }

  it("a first preview (ids, computed outputs and dependent inputs unknown) gets no diagnostics either: no policy is skipped", async () => {
    for (const run of [dev, prod]) {
      const unknown = firstPreview(run.resources);
      const diags = await engine.preview(unknown);
      // A policy the SDK could not run would show up here as an advisory "can't run ... during preview".
      assert.deepEqual(diags, [], `${run.stack}: ${JSON.stringify(diags)}`);
    }
  });

  it("reports mandatory violations with the resource's URN", async () => {
    const rule = dev.resources.find((r) => r.name === "cache-dev-from-cache-handler")!;
    const bad = dev.resources.map((r) => (r === rule
      ? { ...r, inputs: { ...r.inputs, referencedSecurityGroupId: undefined, cidrIpv4: "0.0.0.0/0" }, state: { ...r.state, referencedSecurityGroupId: undefined, cidrIpv4: "0.0.0.0/0" }, propertyDependencies: { ...r.propertyDependencies, referencedSecurityGroupId: [] } }
      : r));
    const diags = await engine.preview(bad);
    const byPolicy = new Map(diags.map((d) => [d.policy, d]));
    assert.equal(byPolicy.get("no-world-ingress")?.level, MANDATORY);
    assert.equal(byPolicy.get("no-world-ingress")?.urn, rule.urn);
    assert.match(byPolicy.get("memcached-ingress-from-security-groups-only")?.message ?? "", /admits 0\.0\.0\.0\/0 into memcached cluster cache-dev/);
    assert.deepEqual([...byPolicy.keys()].sort(), ["memcached-ingress-from-security-groups-only", "no-world-ingress"]);
  });

  it("reports the production policy for prod with a single NAT gateway", async () => {
    const single = await runProgram("prod", { natMode: "single" });
    const diags = await engine.preview(single.resources);
    assert.deepEqual([...new Set(diags.map((d) => d.policy))], ["production-multi-az"]);
    assert.ok(diags.every((d) => d.level === MANDATORY));
  });
});
