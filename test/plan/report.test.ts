import * as assert from "node:assert/strict";
import * as path from "node:path";
import { estimateMonthlyCost, loadAssumptions, loadPriceTable } from "../../plan/cost";
import { runPolicies } from "../../plan/policyRunner";
import { renderMarkdown, renderText, resourceTree, topologyMermaid, type Plan } from "../../plan/report";
import { policies } from "../../policy/policies";
import { REPO_ROOT, runProgram, type ProgramRun } from "../support/program";

describe("plan report", function () {
  this.timeout(60_000);
  let dev: ProgramRun;
  let plan: Plan;
  before(async () => {
    dev = await runProgram("dev");
    plan = {
      stack: "dev",
      resources: dev.resources,
      verdicts: await runPolicies(dev.resources, policies),
      cost: estimateMonthlyCost(dev.resources, loadPriceTable(path.join(REPO_ROOT, "pricing", "us-east-1.json")), loadAssumptions(path.join(REPO_ROOT, "pricing", "assumptions.json"), "dev")),
      elapsedMs: 1234,
    };
  });

  it("groups every resource under its top-level component, counts adding up", () => {
    const tree = resourceTree(dev.resources);
    const labels = tree.groups.map((g) => g.label);
    assert.deepEqual(labels, ["net-dev (MultiAzNetwork)", "cache-dev (MemcachedCluster)", "cache-handler-dev (CacheFunction)", "svc-dev (HybridLambdaFargateService)", "api-dev (CachedPrivateApi)", "stack"]);
    // Each group counts its members but not itself: the 5 components are the difference.
    assert.equal(tree.groups.reduce((n, g) => n + g.total, 0), dev.resources.length - 5);
    for (const g of tree.groups) assert.equal(g.byType.reduce((n, [, c]) => n + c, 0), g.total);
    const net = tree.groups[0];
    assert.deepEqual(net.byType.find(([t]) => t === "aws:ec2/natGateway:NatGateway"), ["aws:ec2/natGateway:NatGateway", 1]);
    assert.ok(tree.groups[3].byType.some(([t]) => t === "awsx:ecr:Image"), "nested component counted in its parent");
  });

  it("draws the topology from the resources: weights, node counts, NATs", async () => {
    const mermaid = topologyMermaid(dev.resources);
    assert.match(mermaid, /^flowchart LR/);
    assert.match(mermaid, /alb -->\|"weight 1"\| lambda/);
    assert.match(mermaid, /alb -->\|"weight 0"\| fargate/);
    assert.match(mermaid, /2 × cache\.t4g\.micro/);
    assert.match(mermaid, /NAT gateway × 1/);
    assert.match(mermaid, /stage cache 0\.5 GB/);
    const prod = topologyMermaid((await runProgram("prod")).resources);
    assert.match(prod, /NAT gateway × 3/);
    assert.match(prod, /provisioned 2/);
    assert.match(prod, /ecr\.api \(Interface\)/);
  });

  it("renders text with each section and the total", () => {
    const text = renderText(plan);
    assert.match(text, new RegExp(`^Offline plan of stack dev: ${dev.resources.length} resources`));
    assert.match(text, /Resources by component\n {2}net-dev \(MultiAzNetwork\): 24/);
    assert.match(text, /pass {2}no-world-ingress/);
    assert.match(text, /n\/a {3}production-multi-az/);
    assert.match(text, /NAT gateway hours +\$32\.85/);
    assert.match(text, /TOTAL per month +\$\d+\.\d\d/);
  });

  it("renders Markdown for a PR comment: summary, mermaid, policy and cost tables", () => {
    const md = renderMarkdown(plan);
    assert.match(md, /^### Offline plan: stack `dev`/);
    assert.match(md, /\*\*\d+ resources\*\* · policies: all pass · estimated \*\*\$\d+\.\d\d\/month\*\*/);
    assert.match(md, /```mermaid\nflowchart LR/);
    assert.match(md, /\| ✅ \| `no-world-ingress` \| pass \|/);
    assert.match(md, /\| NAT gateway hours \| net-dev \(MultiAzNetwork\) \| 730 NAT gateway-hours \| \$0\.045 \| \$32\.85 \|/);
    assert.match(md, /¹ from traffic assumptions: apiRequestsPerMonth 1,000,000/);
  });

  it("shows failures with their messages, escaping table pipes", () => {
    const failing: Plan = { ...plan, verdicts: [{ policy: "p", description: "d", enforcementLevel: "mandatory", status: "fail", violations: [{ message: "a | b" }] }] };
    const md = renderMarkdown(failing);
    assert.match(md, /policies: \*\*1 failing\*\*/);
    assert.match(md, /\| ❌ \| `p` \| a \\\| b \|/);
    assert.match(renderText(failing), /FAIL {2}p\n {10}- a \| b/);
  });
});
