import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cacheEmptyingChanges, compareVersions, exportedResources, type ExportedResource } from "../../plan/cacheDiff";
import { main } from "../../scripts/plan";
import { runProgram, type MockResource, type ProgramRun } from "../support/program";

const CLUSTER = "aws:elasticache/cluster:Cluster";
const STAGE = "aws:apigateway/stage:Stage";

/** A `pulumi stack export` of what `run` deployed, with some inputs changed as an older program had them. */
function exportOf(run: ProgramRun, change: (r: MockResource) => Record<string, unknown> | undefined = () => undefined): { version: number; deployment: { resources: ExportedResource[] } } {
  return {
    version: 3,
    deployment: {
      resources: run.resources.map((r) => ({ urn: r.urn, type: r.type, custom: r.custom, inputs: { ...r.inputs, ...change(r) }, outputs: r.state })),
    },
  };
}

describe("changes that empty a cache (plan --against <pulumi stack export>)", function () {
  this.timeout(120_000);
  let dev: ProgramRun;
  before(async () => {
    dev = await runProgram("dev");
  });

  it("finds nothing when the state matches the program", () => {
    assert.deepEqual(cacheEmptyingChanges(exportedResources(exportOf(dev)), dev.resources), []);
  });

  it("a node-type change replaces the cluster", () => {
    const before = exportOf(dev, (r) => (r.type === CLUSTER ? { nodeType: "cache.t4g.small" } : undefined));
    const [f] = cacheEmptyingChanges(exportedResources(before), dev.resources);
    assert.equal(f.change, "nodeType cache.t4g.small -> cache.t4g.micro");
    assert.match(f.effect, /REPLACES the cluster/);
    assert.equal(f.severity, "empties");
  });

  it("an engine upgrade flushes in the maintenance window (or now with applyImmediately); a downgrade replaces", async () => {
    const older = exportOf(dev, (r) => (r.type === CLUSTER ? { engineVersion: "1.6.17" } : undefined));
    assert.match(cacheEmptyingChanges(exportedResources(older), dev.resources)[0].effect, /flushes every node in the next maintenance window/);
    const now = await runProgram("dev", { memcachedApplyImmediately: "true" });
    const olderNow = exportOf(now, (r) => (r.type === CLUSTER ? { engineVersion: "1.6.17" } : undefined));
    assert.match(cacheEmptyingChanges(exportedResources(olderNow), now.resources)[0].effect, /during this `pulumi up`/);
    const newer = exportOf(dev, (r) => (r.type === CLUSTER ? { engineVersion: "1.6.99" } : undefined));
    assert.match(cacheEmptyingChanges(exportedResources(newer), dev.resources)[0].effect, /downgrade REPLACES/);
  });

  it("azMode, fewer nodes and more nodes", () => {
    const az = exportOf(dev, (r) => (r.type === CLUSTER ? { azMode: "single-az" } : undefined));
    assert.match(cacheEmptyingChanges(exportedResources(az), dev.resources)[0].effect, /REPLACES/);
    const hadFour = exportOf(dev, (r) => (r.type === CLUSTER ? { numCacheNodes: 4 } : undefined));
    const [f] = cacheEmptyingChanges(exportedResources(hadFour), dev.resources);
    assert.equal(f.severity, "partial");
    assert.match(f.effect, /removes 2 node\(s\).*~50%/);
    const hadOne = exportOf(dev, (r) => (r.type === CLUSTER ? { numCacheNodes: 1 } : undefined));
    const [g] = cacheEmptyingChanges(exportedResources(hadOne), dev.resources);
    assert.equal(g.severity, "partial");
    assert.match(g.effect, /adds 1 empty node\(s\): ~50% of the keys/);
  });

  it("the API stage cache: resize and switch-off empty it", () => {
    const resized = exportOf(dev, (r) => (r.type === STAGE ? { cacheClusterSize: "1.6" } : undefined));
    assert.match(cacheEmptyingChanges(exportedResources(resized), dev.resources)[0].change, /cacheClusterSize 1\.6 -> 0\.5 GB/);
    const run = { ...dev, resources: dev.resources.map((r) => (r.type === STAGE ? { ...r, inputs: { ...r.inputs, cacheClusterEnabled: false } } : r)) };
    assert.match(cacheEmptyingChanges(exportedResources(exportOf(dev)), run.resources)[0].effect, /deletes the stage cache/);
  });

  it("a renamed stage is a new, empty stage cache", () => {
    const renamed = exportOf(dev, (r) => (r.type === STAGE ? { stageName: "staging" } : undefined));
    assert.match(cacheEmptyingChanges(exportedResources(renamed), dev.resources)[0].effect, /REPLACES the stage/);
  });

  it("a cluster that the program no longer has is reported deleted", () => {
    const planned = dev.resources.filter((r) => r.type !== CLUSTER);
    const [f] = cacheEmptyingChanges(exportedResources(exportOf(dev)), planned);
    assert.equal(f.change, "deleted");
  });

  it("compares versions numerically and refuses a file that is not a stack export", () => {
    assert.equal(compareVersions("1.6.12", "1.6.6"), 1);
    assert.equal(compareVersions("1.6.6", "1.6.6"), 0);
    assert.throws(() => exportedResources({ resources: [] }), /not a `pulumi stack export` file/);
  });

  describe("npm run plan -- --against", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-against-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const quiet = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const o = process.stdout.write.bind(process.stdout);
      const e = process.stderr.write.bind(process.stderr);
      process.stdout.write = ((s: string) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
      process.stderr.write = ((s: string) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
      try {
        return { code: await main(argv), out: out.join(""), err: err.join("") };
      } finally {
        process.stdout.write = o;
        process.stderr.write = e;
      }
    };

    it("warns (exit 0), fails with --fail-on-cache-flush (exit 1), and writes the finding into the report", async () => {
      const state = path.join(dir, "state.json");
      fs.writeFileSync(state, JSON.stringify(exportOf(dev, (r) => (r.type === CLUSTER ? { nodeType: "cache.t4g.small" } : undefined))));
      const report = path.join(dir, "plan.md");
      const warn = await quiet(["--stack", "dev", "--against", state, "--out", report]);
      assert.equal(warn.code, 0, warn.err);
      assert.match(warn.err, /warning: 1 change\(s\) empty a cache: Cluster cache-dev \(nodeType cache\.t4g\.small -> cache\.t4g\.micro\)/);
      assert.match(warn.out, /EMPTIES {2}Cluster cache-dev: nodeType/);
      assert.match(fs.readFileSync(report, "utf8"), /#### Caches[\s\S]*⚠️ empties \| Cluster cache-dev \| nodeType cache\.t4g\.small -> cache\.t4g\.micro/);
      const strict = await quiet(["--stack", "dev", "--against", state, "--out", report, "--fail-on-cache-flush"]);
      assert.equal(strict.code, 1);
    });

    it("exit 2 for a file that is not a stack export", async () => {
      const bad = path.join(dir, "bad.json");
      fs.writeFileSync(bad, "{}");
      const r = await quiet(["--stack", "dev", "--against", bad, "--out", path.join(dir, "x.md")]);
      assert.equal(r.code, 2);
      assert.match(r.err, /--against .*not a `pulumi stack export` file/);
    });
  });
});
