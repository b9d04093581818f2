import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ProgramError, SecretConfigError, settleProgram, transpileCounts, runProgram as runAnyProgram } from "../../plan/engine";
import { runProgram } from "../support/program";

const KIT_PROGRAM = path.join(__dirname, "kit-program", "index.ts");

describe("mock engine (plan/engine.ts)", function () {
  this.timeout(60_000);

  it("fails the run with a ProgramError when an apply() throws, instead of hanging", async () => {
    await assert.rejects(
      settleProgram("t", () => ({ broken: pulumi.output(1).apply(() => { throw new Error("boom inside apply"); }) }), () => 0),
      (e: Error) => e instanceof ProgramError && /the program failed for stack t: boom inside apply/.test(e.message),
    );
  });

  it("resolves the exports of a healthy program", async () => {
    const outputs = await settleProgram("t", () => ({ a: pulumi.output(2).apply((x) => x * 21), b: "plain" }), () => 0);
    assert.deepEqual(outputs, { a: 42, b: "plain" });
  });

  it("plans every networkAzCount the Region can serve: 5 in us-east-1 (use1-az3 has no VPC link V2), 6 is refused by name", async () => {
    const run = await runProgram("prod", { networkAzCount: "5", networkAvailabilityZoneIds: "[]" });
    assert.equal(run.ofType("aws:ec2/natGateway:NatGateway").length, 5);
    assert.deepEqual(run.outputs.availabilityZoneIds, ["use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"]);
    await assert.rejects(runProgram("prod", { networkAzCount: "6", networkAvailabilityZoneIds: "[]" }),
      /serverless-cache:networkAzCount = 6: must be at most 5 in us-east-1: the private API's VPC link is offered only in use1-az1, use1-az2, use1-az4, use1-az5, use1-az6/);
  });

  it("records parents and property dependencies", async () => {
    const run = await runProgram("dev");
    const nat = run.one("aws:ec2/natGateway:NatGateway");
    assert.match(nat.parent ?? "", /serverless-cache:network:MultiAzNetwork::net-dev$/);
    assert.ok(run.byUrn(nat.propertyDependencies.subnetId[0])?.type === "aws:ec2/subnet:Subnet");
  });

  describe("speed without changing what a run sees", () => {
    it("keeps the stack of Pulumi's tracked promises, formatted only when read (the leak report)", async () => {
      await runAnyProgram({ project: "inline", stack: "t", program: () => ({}) });
      const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise(p: Promise<unknown>, ctx: string): Promise<unknown>; promiseDebugString(p: Promise<unknown>): string };
      const p = Promise.resolve(7);
      const createdHere = (): Promise<unknown> => debuggable.debuggablePromise(p, "probe");
      assert.equal(await createdHere(), 7);
      const report = debuggable.promiseDebugString(p);
      assert.match(report, /CONTEXT\(\d+\): probe/);
      // The creating frame, mapped back to this TypeScript file by source-map-support.
      assert.match(report, /createdHere .*engine\.test\.ts:\d+:\d+/);
    });

    it("transpiles a program module once per source text, and again when the text changes", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-transpile-"));
      try {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: transpiled\nruntime: nodejs\n");
        const program = path.join(dir, "index.ts");
        const write = (n: number): void => fs.writeFileSync(program, `const n: number = ${n};\nexport const value = n;\n(globalThis as Record<string, unknown>).__evaluations = ((globalThis as Record<string, number>).__evaluations ?? 0) + 1;\n`);
        const evaluations = (): number => ((globalThis as Record<string, unknown>).__evaluations as number | undefined) ?? 0;
        write(1);
        const before = evaluations();
        assert.deepEqual((await runAnyProgram({ program })).outputs, { value: 1 });
        const first = { ...transpileCounts };
        assert.deepEqual((await runAnyProgram({ program })).outputs, { value: 1 });
        assert.equal(evaluations() - before, 2, "each run evaluates the module afresh");
        assert.deepEqual(transpileCounts, { compiled: first.compiled, reused: first.reused + 1 }, "the second run reuses the first run's JavaScript");
        write(2);
        assert.deepEqual((await runAnyProgram({ program })).outputs, { value: 2 }, "a changed file is transpiled again");
        assert.equal(transpileCounts.compiled, first.compiled + 1);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("any program (serverless-cache/testing's runProgram)", () => {
    it("runs a program module: Pulumi.yaml defaults and values, the stack file, overrides, the project's URNs", async () => {
      const run = await runAnyProgram({ program: KIT_PROGRAM, stack: "ci", overrides: { token: "s3cr3t", greeting: "hi" } });
      assert.equal(run.project, "kit-program");
      assert.equal(run.stack, "ci");
      const buckets = run.ofType("aws:s3/bucket:Bucket");
      assert.equal(buckets.length, 2, "buckets: 2 from Pulumi.ci.yaml over the default 1");
      assert.deepEqual(buckets.map((b) => b.inputs.tags.greeting), ["hi", "hi"]);
      assert.match(buckets[0].urn, /^urn:pulumi:ci::kit-program::kit:index:Shelf\$aws:s3\/bucket:Bucket::shelf-0$/);
      assert.deepEqual(run.outputs.labels, { team: "platform" }, "structured config arrives as JSON");
      assert.equal(run.outputs.token, "s3cr3t");
      assert.deepEqual(run.outputs.bucketNames, ["shelf-0-bucket", "shelf-1-bucket"], "Outputs nested in the exports are resolved");
    });

    it("gives the data sources the mock account's answers (Local Zones filtered here, AZ names mapped to its own zone IDs)", async () => {
      const run = await runAnyProgram({ program: KIT_PROGRAM, stack: "ci", overrides: { token: "x" } });
      assert.deepEqual(run.outputs.firstZone, { name: "us-east-1a", id: "use1-az3" });
      const other = await runAnyProgram({
        program: KIT_PROGRAM, stack: "ci", overrides: { token: "x" },
        account: { zones: [{ name: "us-east-1a", zoneId: "use1-az6", zoneType: "availability-zone", optInStatus: "opt-in-not-required", groupName: "us-east-1", state: "available" }] },
      });
      assert.deepEqual(other.outputs.firstZone, { name: "us-east-1a", id: "use1-az6" });
    });

    it("shows a component's children and their children", async () => {
      const run = await runAnyProgram({ program: KIT_PROGRAM, stack: "ci", overrides: { token: "x" } });
      const shelf = run.one("kit:index:Shelf");
      assert.equal(shelf.custom, false);
      assert.deepEqual(run.childrenOf(shelf).map((r) => r.name).sort(), ["shelf-0", "shelf-1"]);
      assert.deepEqual(run.descendantsOf(shelf).map((r) => r.name).sort(), ["shelf-0", "shelf-0-block", "shelf-1"]);
      assert.equal(run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").parent, run.one("aws:s3/bucket:Bucket", "shelf-0").urn);
    });

    it("refuses a stack file's secret it cannot decrypt unless its plaintext is given", async () => {
      await assert.rejects(runAnyProgram({ program: KIT_PROGRAM, stack: "ci" }), (e: Error) => e instanceof SecretConfigError && e.key === "kit-program:token");
    });

    it("takes config as an object instead of a stack file (Pulumi.yaml defaults still apply)", async () => {
      const run = await runAnyProgram({ program: KIT_PROGRAM, stack: "other", config: { buckets: 3 } });
      assert.equal(run.ofType("aws:s3/bucket:Bucket").length, 3);
      assert.equal(run.outputs.greeting, "hello");
      assert.equal(run.outputs.token, undefined);
    });

    it("runs a program given as a function, under any project name", async () => {
      const run = await runAnyProgram({
        project: "inline",
        stack: "t",
        program: () => {
          const b = new aws.s3.Bucket("inline-bucket");
          return { name: b.bucket, region: aws.getRegionOutput().name };
        },
      });
      assert.deepEqual(run.outputs, { name: "inline-bucket-bucket", region: "us-east-1" });
      assert.match(run.one("aws:s3/bucket:Bucket").urn, /^urn:pulumi:t::inline::/);
    });

    it("lets a test add the state a provider would compute for types the account does not model", async () => {
      const run = await runAnyProgram({
        project: "inline",
        program: () => ({ arn: new aws.sns.Topic("t").arn }),
        state: (type, name) => (type === "aws:sns/topic:Topic" ? { arn: `arn:aws:sns:us-east-1:123456789012:${name}` } : undefined),
      });
      assert.equal(run.outputs.arn, "arn:aws:sns:us-east-1:123456789012:t");
    });
  });
});

