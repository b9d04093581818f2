/**
 * What the offline plan shows: the resource tree grouped by component, a Mermaid diagram of the
 * topology, and the text (terminal) and Markdown (PR comment) renderings of a whole plan. Pure.
 */
import type { CacheFinding } from "./cacheDiff";
import { round, type CostEstimate } from "./cost";
import { componentLabel, topComponent, type MockResource } from "./engine";
import type { PolicyVerdict } from "./policyRunner";

export interface ComponentGroup {
  /** "name (Type)" of a top-level component, or "stack" for resources outside any component. */
  label: string;
  type: string;
  /** Resources inside it (nested components included), excluding itself. */
  total: number;
  /** Count per resource type, largest first. */
  byType: Array<[string, number]>;
}

export interface ResourceTree {
  total: number;
  groups: ComponentGroup[];
}

/** Resources grouped by their top-level component, with counts per type. */
export function resourceTree(resources: MockResource[]): ResourceTree {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const groups = new Map<string, { top?: MockResource; members: MockResource[] }>();
  for (const r of resources) {
    const top = topComponent(r, byUrn);
    if (!top && !r.custom) {
      if (!groups.has(r.urn)) groups.set(r.urn, { top: r, members: [] });
      continue;
    }
    const key = top?.urn ?? "stack";
    const group = groups.get(key) ?? { top, members: [] };
    group.members.push(r);
    groups.set(key, group);
  }
  const out: ComponentGroup[] = [...groups.values()].map(({ top, members }) => {
    const counts = new Map<string, number>();
    for (const m of members) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
    return {
      label: top ? componentLabel(top) : "stack",
      type: top?.type ?? "stack",
      total: members.length,
      byType: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    };
  });
  out.sort((a, b) => (a.label === "stack" ? 1 : b.label === "stack" ? -1 : 0));
  return { total: resources.length, groups: out };
}

// ---- topology diagram ------------------------------------------------------------------------------------

function ofType(resources: MockResource[], type: string): MockResource[] {
  return resources.filter((r) => r.type === type);
}
function label(...parts: Array<string | undefined>): string {
  return `"${parts.filter(Boolean).join("<br/>").replace(/"/g, "'")}"`;
}

/** A Mermaid flowchart of what the stack deploys, drawn from the registered resources. */
export function topologyMermaid(resources: MockResource[]): string {
  const lines = ["flowchart LR"];
  const vpc = ofType(resources, "aws:ec2/vpc:Vpc")[0];
  const azs = new Set(ofType(resources, "aws:ec2/subnet:Subnet").map((s) => String(s.inputs.availabilityZone)));
  const nats = ofType(resources, "aws:ec2/natGateway:NatGateway");
  const api = ofType(resources, "aws:apigateway/restApi:RestApi")[0];
  const stage = ofType(resources, "aws:apigateway/stage:Stage")[0];
  const executeApi = ofType(resources, "aws:ec2/vpcEndpoint:VpcEndpoint").find((e) => String(e.inputs.serviceName).endsWith(".execute-api"));
  const otherEndpoints = ofType(resources, "aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e !== executeApi);
  const alb = ofType(resources, "aws:lb/loadBalancer:LoadBalancer")[0];
  const listener = ofType(resources, "aws:lb/listener:Listener").find((l) => (l.inputs.defaultActions as unknown[] | undefined)?.length);
  const groups = ofType(resources, "aws:lb/targetGroup:TargetGroup");
  const weights = new Map<string, number>();
  for (const action of (listener?.inputs.defaultActions as Array<{ forward?: { targetGroups?: Array<{ arn: string; weight?: number }> } }> | undefined) ?? []) {
    for (const tg of action.forward?.targetGroups ?? []) weights.set(tg.arn, tg.weight ?? 1);
  }
  const weightOf = (targetType: string): string => {
    const tg = groups.find((g) => g.inputs.targetType === targetType);
    const w = tg ? weights.get(String(tg.state.arn)) : undefined;
    return w === undefined ? "" : `|"weight ${w}"|`;
  };
  const functions = ofType(resources, "aws:lambda/function:Function");
  const apiFn = functions.find((f) => f.parent?.includes(":HybridLambdaFargateService::") && !String(f.inputs.name ?? f.name).includes("failover"));
  const failoverFn = functions.find((f) => String(f.inputs.name ?? f.name).includes("failover"));
  const cacheFns = functions.filter((f) => f.parent?.includes("CacheFunction"));
  const service = ofType(resources, "aws:ecs/service:Service")[0];
  const taskDef = ofType(resources, "aws:ecs/taskDefinition:TaskDefinition")[0];
  const memcached = ofType(resources, "aws:elasticache/cluster:Cluster")[0];
  const alarms = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm");
  const provisioned = ofType(resources, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")[0];

  lines.push(`  clients([Clients in the VPC])`);
  lines.push(`  subgraph vpc[${label(`VPC ${vpc?.inputs.cidrBlock ?? ""}`, `${azs.size} AZs`)}]`);
  lines.push("    direction LR");
  if (executeApi) lines.push(`    vpce${"[" + label("execute-api endpoint", `${(executeApi.inputs.subnetIds as unknown[] | undefined)?.length ?? 0} AZs`) + "]"}`);
  if (alb) lines.push(`    alb${"[" + label(`ALB ${alb.name}`, alb.inputs.internal === false ? "internet-facing" : "internal") + "]"}`);
  if (apiFn) {
    lines.push(`    lambda${"[" + label(`Lambda ${apiFn.inputs.name ?? apiFn.name}`, `${apiFn.inputs.memorySize ?? 128} MB, reserved ${apiFn.inputs.reservedConcurrentExecutions ?? "none"}`,
      provisioned ? `provisioned ${provisioned.inputs.provisionedConcurrentExecutions}` : undefined) + "]"}`);
  }
  if (service) lines.push(`    fargate${"[" + label(`Fargate ${service.name}`, `${service.inputs.desiredCount ?? 1} task(s) at baseline`, taskDef ? `${taskDef.inputs.cpu} CPU / ${taskDef.inputs.memory} MB` : undefined) + "]"}`);
  for (const [i, f] of cacheFns.entries()) lines.push(`    cachefn${i}${"[" + label(`Lambda ${f.inputs.name ?? f.name}`, `${f.inputs.memorySize ?? 128} MB, reserved ${f.inputs.reservedConcurrentExecutions ?? "none"}`) + "]"}`);
  if (memcached) lines.push(`    mc${"[(" + label(`memcached ${memcached.name}`, `${memcached.inputs.numCacheNodes} × ${memcached.inputs.nodeType}`, String(memcached.inputs.azMode ?? "single-az")) + ")]"}`);
  if (nats.length > 0) lines.push(`    nat${"[" + label(`NAT gateway × ${nats.length}`) + "]"}`);
  if (otherEndpoints.length > 0) {
    const names = otherEndpoints.map((e) => `${String(e.inputs.serviceName).split(".").slice(3).join(".")} (${e.inputs.vpcEndpointType})`);
    lines.push(`    endpoints${"[" + label("VPC endpoints", ...names) + "]"}`);
  }
  lines.push("  end");
  if (api) lines.push(`  api${"[" + label(`REST API ${api.name} (PRIVATE)`, stage?.inputs.cacheClusterEnabled ? `stage cache ${stage.inputs.cacheClusterSize} GB` : "no stage cache") + "]"}`);
  lines.push("  upstream([Upstream HTTP API])");
  if (executeApi && api) lines.push("  clients --> vpce --> api");
  if (api && alb) lines.push("  api -->|VPC link| alb");
  if (alb && apiFn) lines.push(`  alb -->${weightOf("lambda")} lambda`);
  if (alb && service) lines.push(`  alb -->${weightOf("ip")} fargate`);
  const callers = [apiFn ? "lambda" : "", service ? "fargate" : "", ...cacheFns.map((_, i) => `cachefn${i}`)].filter(Boolean);
  if (memcached) for (const c of callers) lines.push(`  ${c} -->|11211| mc`);
  if (nats.length > 0) {
    for (const c of callers) lines.push(`  ${c} --> nat`);
    lines.push("  nat --> upstream");
  }
  if (failoverFn && alarms.length > 0) {
    lines.push(`  alarms${"[" + label(`CloudWatch alarms × ${alarms.length}`) + "]"} --> eb[EventBridge rules] --> failover${"[" + label(`Lambda ${failoverFn.inputs.name ?? failoverFn.name}`) + "]"}`);
    if (alb) lines.push("  failover -.->|weights| alb");
    if (service) lines.push("  failover -.->|desired count| fargate");
  }
  return lines.join("\n");
}

// ---- renderings -----------------------------------------------------------------------------------------

export interface Plan {
  stack: string;
  resources: MockResource[];
  verdicts: PolicyVerdict[];
  cost: CostEstimate;
  /** Wall time of the plan, ms. */
  elapsedMs: number;
  /**
   * Changes against the stack's current state that empty a cache (`--against <pulumi stack export>`);
   * undefined when no state was given.
   */
  cacheFindings?: CacheFinding[];
}

export function usd(n: number): string {
  return `$${round(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function quantity(n: number): string {
  return round(n, n < 10 ? 3 : 1).toLocaleString("en-US");
}

const STATUS = { pass: "pass", fail: "FAIL", "not-applicable": "n/a", "cannot-check": "?", disabled: "off" } as const;

/** Plain text for the terminal. */
export function renderText(plan: Plan): string {
  const tree = resourceTree(plan.resources);
  const out: string[] = [];
  out.push(`Offline plan of stack ${plan.stack}: ${tree.total} resources (mock engine, no credentials, ${(plan.elapsedMs / 1000).toFixed(1)} s)`, "");
  out.push("Resources by component");
  for (const g of tree.groups) {
    out.push(`  ${g.label}: ${g.total}`);
    for (const [type, n] of g.byType) out.push(`    ${String(n).padStart(3)}  ${type}`);
  }
  out.push("", "Policies");
  for (const v of plan.verdicts) {
    out.push(`  ${STATUS[v.status].padEnd(4)}  ${v.policy}${v.status !== "fail" && v.reason ? ` (${v.reason})` : ""}${v.status === "fail" && v.enforcementLevel !== "mandatory" ? ` (${v.enforcementLevel})` : ""}`);
    for (const x of v.violations) out.push(`          - ${x.message}`);
  }
  const c = plan.cost;
  out.push("", `Monthly cost estimate (${c.region}, prices as of ${c.asOf}, ${c.currency})`);
  const width = Math.max(...c.lines.map((l) => l.driver.length));
  for (const l of c.lines) {
    out.push(`  ${l.driver.padEnd(width)}  ${usd(l.monthlyUsd).padStart(10)}  ${quantity(l.quantity)} ${l.unit} × $${l.unitUsd}${l.basis === "assumption" ? "  [traffic]" : ""}`);
  }
  out.push(`  ${"fixed (paid at zero traffic)".padEnd(width)}  ${usd(c.fixedUsd).padStart(10)}`);
  out.push(`  ${"usage (traffic assumptions)".padEnd(width)}  ${usd(c.usageUsd).padStart(10)}`);
  out.push(`  ${"TOTAL per month".padEnd(width)}  ${usd(c.totalUsd).padStart(10)}`);
  if (c.unpriced.length > 0) out.push("", "NOT PRICED (left out of the total)", ...c.unpriced.map((n) => `  - ${n}`));
  if (c.notes.length > 0) out.push("", "Notes", ...c.notes.map((n) => `  - ${n}`));
  if (plan.cacheFindings) {
    out.push("", plan.cacheFindings.length === 0 ? "Caches: no change against the current state empties a cache" : "CHANGES THAT EMPTY A CACHE (against the current state)");
    for (const f of plan.cacheFindings) out.push(`  ${f.severity === "empties" ? "EMPTIES" : "PARTIAL"}  ${f.resource}: ${f.change}: ${f.effect}`);
  }
  return out.join("\n");
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** Markdown for a pull-request comment. */
export function renderMarkdown(plan: Plan): string {
  const tree = resourceTree(plan.resources);
  const c = plan.cost;
  const failed = plan.verdicts.filter((v) => v.status === "fail");
  const out: string[] = [];
  out.push(`### Offline plan: stack \`${plan.stack}\``, "");
  out.push(`**${tree.total} resources** · policies: ${failed.length === 0 ? "all pass" : `**${failed.length} failing**`} · estimated **${usd(c.totalUsd)}/month** `
    + `(${usd(c.fixedUsd)} fixed + ${usd(c.usageUsd)} from traffic assumptions; ${c.region} prices as of ${c.asOf})`, "");
  out.push("```mermaid", topologyMermaid(plan.resources), "```", "");
  out.push("#### Policies", "", "| | policy | result |", "| --- | --- | --- |");
  for (const v of plan.verdicts) {
    const icon = v.status === "pass" ? "✅" : v.status === "fail" ? (v.enforcementLevel === "mandatory" ? "❌" : "⚠️") : "➖";
    const detail = v.status === "fail" ? v.violations.map((x) => cell(x.message)).join("<br/>")
      : v.status === "pass" ? "pass" : cell(v.reason ?? v.status);
    out.push(`| ${icon} | \`${v.policy}\` | ${detail} |`);
  }
  out.push("", "#### Monthly cost estimate", "", "| driver | component | quantity | unit price | per month |", "| --- | --- | ---: | ---: | ---: |");
  for (const l of c.lines) {
    out.push(`| ${cell(l.driver)}${l.basis === "assumption" ? " ¹" : ""} | ${cell(l.component)} | ${quantity(l.quantity)} ${cell(l.unit)} | $${l.unitUsd} | ${usd(l.monthlyUsd)} |`);
  }
  out.push(`| **total** | | | | **${usd(c.totalUsd)}** |`, "");
  out.push(`¹ from traffic assumptions: ${Object.entries(c.assumptions).map(([k, v]) => `${k} ${v.toLocaleString("en-US")}`).join(", ")}.`, "");
  if (c.unpriced.length > 0) out.push(`> **Not priced, left out of the total:** ${c.unpriced.map(cell).join("; ")}`, "");
  if (c.notes.length > 0) out.push(...c.notes.map((n) => `- ${n}`), "");
  if (plan.cacheFindings) {
    out.push("#### Caches", "");
    if (plan.cacheFindings.length === 0) {
      out.push("No change against the current state empties a cache.", "");
    } else {
      out.push("> [!WARNING]", "> These changes empty a cache: expect a cold start on the upstream.", "", "| | resource | change | effect |", "| --- | --- | --- | --- |");
      for (const f of plan.cacheFindings) out.push(`| ${f.severity === "empties" ? "⚠️ empties" : "partial"} | ${cell(f.resource)} | ${cell(f.change)} | ${cell(f.effect)} |`);
      out.push("");
    }
  }
  out.push("<details><summary>Resources by component</summary>", "");
  for (const g of tree.groups) {
    out.push(`- **${cell(g.label)}**: ${g.total}`);
    for (const [type, n] of g.byType) out.push(`  - ${n} × \`${type}\``);
  }
  out.push("", "</details>", "");
  out.push(`<sub>Generated by \`npm run plan -- --stack ${plan.stack}\` under the Pulumi mock engine in ${(plan.elapsedMs / 1000).toFixed(1)} s; no cloud credentials used. `
    + "A real `pulumi preview` may differ in computed values.</sub>");
  return out.join("\n") + "\n";
}
