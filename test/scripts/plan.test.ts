import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, UsageError } from "../../scripts/plan";
import { REPO_ROOT, runProgram } from "../support/program";

/** Runs `npm run plan -- <args>` the way a user (or CI) does, with no AWS credentials in the environment. */
function plan(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("AWS_") || key.startsWith("PULUMI_")) delete env[key];
  env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent";
  env.AWS_CONFIG_FILE = "/nonexistent";
  const res = spawnSync("npm", ["run", "-s", "plan", "--", ...args], { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 120_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe("npm run plan", function () {
  this.timeout(180_000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-")); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("plans dev without credentials: tree, verdicts, cost; writes the Markdown report; exit 0", async () => {
    const expected = (await runProgram("dev")).resources.length;
    const out = path.join(dir, "dev.md");
    const json = path.join(dir, "dev.json");
    const res = plan(["--stack", "dev", "--out", out, "--json", json]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`Offline plan of stack dev: ${expected} resources`));
    assert.match(res.stdout, /Policies\n {2}pass/);
    assert.match(res.stdout, /TOTAL per month +\$\d/);
    assert.match(fs.readFileSync(out, "utf8"), /```mermaid/);
    const parsed = JSON.parse(fs.readFileSync(json, "utf8")) as { resourceCount: number; cost: { totalUsd: number }; verdicts: unknown[] };
    assert.equal(parsed.resourceCount, expected);
    assert.ok(parsed.cost.totalUsd > 0);
  });

  it("exits 0 for the same plan when the policy config makes that policy advisory", () => {
    const policyConfig = path.join(dir, "advisory.json");
    fs.writeFileSync(policyConfig, JSON.stringify({ "production-multi-az": "advisory" }));
    const res = plan(["--stack", "prod", "--config", "networkNatMode=single", "--policy-config", policyConfig, "--out", path.join(dir, "adv.md")]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /FAIL {2}production-multi-az \(advisory\)/);
  });

  it("exits 1 when a mandatory policy fails (prod with a single NAT gateway), still writing the report", () => {
    const out = path.join(dir, "prod-single.md");
    const res = plan(["--stack", "prod", "--config", "networkNatMode=single", "--out", out]);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /1 mandatory policy failed: production-multi-az/);
    assert.match(fs.readFileSync(out, "utf8"), /❌ \| `production-multi-az`/);
  });

  it("exits 2 with a clear message for a bad stack, bad config or bad argument", () => {
    const unknown = plan(["--stack", "staging"]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown stack "staging".*allowed: dev, prod/);
    const badConfig = plan(["--stack", "dev", "--config", "memcachedNodeCount=1", "--out", path.join(dir, "x.md")]);
    assert.equal(badConfig.status, 2);
    assert.match(badConfig.stderr, /serverless-cache:memcachedNodeCount = 1/);
    const policyConfig = path.join(dir, "policy-config.json");
    fs.writeFileSync(policyConfig, JSON.stringify({ "lambda-timeout-within-project-maximum": { maxTimeoutSeconds: 0 } }));
    const badPolicyConfig = plan(["--stack", "dev", "--policy-config", policyConfig]);
    assert.equal(badPolicyConfig.status, 2);
    assert.match(badPolicyConfig.stderr, /maxTimeoutSeconds = 0: must be integer from 1 to 899/);
    const badArg = plan(["--stak", "dev"]);
    assert.equal(badArg.status, 2);
    assert.match(badArg.stderr, /unknown argument "--stak"[\s\S]*usage: npm run plan/);
  });

  describe("arguments", () => {
    it("parses the stack, defaults and repeated --config", () => {
      const o = parseArgs(["--stack=prod", "--config", "networkNatMode=single", "--config", "networkAzCount=2"]);
      assert.ok(o !== "help");
      assert.equal(o.stack, "prod");
      assert.equal(o.out, path.join("out", "plan-prod.md"));
      assert.deepEqual(o.overrides, { networkNatMode: "single", networkAzCount: "2" });
      assert.equal(parseArgs(["-h"]), "help");
    });
    it("rejects a missing stack, a missing value, a repeated --stack and an undeclared config key", () => {
      assert.throws(() => parseArgs([]), (e: Error) => e instanceof UsageError && /--stack is required; allowed: dev, prod/.test(e.message));
      assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
      assert.throws(() => parseArgs(["--stack", "dev", "--stack", "prod"]), /given 2 times/);
      assert.throws(() => parseArgs(["--stack", "dev", "--config", "networkNatMod=single"]), /networkNatMod: not a config key of this project; allowed: networkVpcCidr/);
      assert.throws(() => parseArgs(["--stack", "dev", "--config", "networkNatMode"]), /expected <key>=<value>/);
    });
  });
});
