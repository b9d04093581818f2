/**
 * Monthly cost estimate of a stack, computed from the resources the program registers (what would be
 * deployed) and a dated price table, plus traffic assumptions for the usage-based lines. Pure: no
 * I/O except the two loaders at the bottom.
 */
import * as fs from "node:fs";
import { componentLabel, topComponent, type MockResource } from "./engine";

export interface Price {
  usd: number;
  unit: string;
  source: string;
  checked?: string;
}

/** Prices that are one number; the two keyed tables follow. */
export const SCALAR_PRICES = [
  "natGatewayHour", "natGatewayDataGb", "publicIpv4Hour", "albHour", "albLcuHour", "fargateVcpuHourArm", "fargateGbHourArm",
  "lambdaGbSecondArm", "lambdaRequestsMillion", "lambdaProvisionedGbSecondArm", "lambdaProvisionedDurationGbSecondArm",
  "apiGatewayRestRequestsMillion", "interfaceEndpointHour", "interfaceEndpointDataGb", "cloudwatchAlarmMonth",
  "cloudwatchCustomMetricMonth", "cloudwatchDashboardMonth", "cloudwatchLogsIngestGb", "cloudwatchLogsStorageGbMonth",
  "ecrStorageGbMonth", "s3StandardGbMonth",
] as const;
export type ScalarPrice = (typeof SCALAR_PRICES)[number];

export interface PriceTable {
  region: string;
  currency: string;
  /** Date the prices were read. */
  asOf: string;
  hoursPerMonth: number;
  source: string;
  notes: string[];
  prices: Record<ScalarPrice, Price> & {
    /** Per ElastiCache node type. */
    elasticacheNodeHour: Record<string, Price>;
    /** Per API Gateway cache size in GB ("0.5", "1.6", ...). */
    apiGatewayCacheHour: Record<string, Price>;
  };
}

/** Traffic behind the usage-based lines (monthly). See pricing/assumptions.json. */
export interface TrafficAssumptions {
  /** Requests reaching the private REST API. */
  apiRequestsPerMonth: number;
  /** Share answered by the API Gateway stage cache (0..1); the rest reaches the ALB. */
  apiCacheHitRatio: number;
  /** Average response size, KB (ALB processed bytes, execute-api endpoint bytes). */
  avgResponseKb: number;
  /** Average request size, KB (ALB processed bytes, execute-api endpoint bytes): both directions are billed. */
  avgRequestKb: number;
  /** Share of ALB requests served by the Lambda target (0..1); the rest by Fargate. */
  lambdaShareOfBackend: number;
  apiLambdaAvgDurationMs: number;
  cacheHandlerInvocationsPerMonth: number;
  cacheHandlerAvgDurationMs: number;
  failoverAvgDurationMs: number;
  /** GB processed by the NAT gateways (upstream fetches, image pulls and AWS APIs without endpoints). */
  natGbPerMonth: number;
  /** GB through interface endpoints of AWS APIs (logs, ECR, ...); the execute-api endpoint's bytes come from the API traffic. */
  interfaceEndpointGbPerMonth: number;
  /** GB ingested by CloudWatch Logs. */
  logsGbPerMonth: number;
  /** GB of VPC flow log records delivered to CloudWatch Logs (vended logs), when the stack has flow logs. */
  flowLogGbPerMonth: number;
  /** Custom (EMF) metrics the functions publish. */
  customMetrics: number;
  /** Metrics standard Container Insights publishes per ECS service (cluster- and service-level); check the ECS/ContainerInsights namespace. */
  containerInsightsMetricsPerService: number;
  /** GB of images kept in ECR. */
  ecrImageGb: number;
  /** GB kept in the large-response bucket (its lifecycle rule expires objects). */
  s3GbStored: number;
}

export const ASSUMPTION_KEYS: readonly (keyof TrafficAssumptions)[] = [
  "apiRequestsPerMonth", "apiCacheHitRatio", "avgResponseKb", "avgRequestKb", "lambdaShareOfBackend", "apiLambdaAvgDurationMs",
  "cacheHandlerInvocationsPerMonth", "cacheHandlerAvgDurationMs", "failoverAvgDurationMs", "natGbPerMonth",
  "interfaceEndpointGbPerMonth", "logsGbPerMonth", "flowLogGbPerMonth", "customMetrics", "containerInsightsMetricsPerService", "ecrImageGb", "s3GbStored",
];
const RATIOS = new Set<keyof TrafficAssumptions>(["apiCacheHitRatio", "lambdaShareOfBackend"]);

export interface CostLine {
  /** What is paid for, e.g. "NAT gateway hours". */
  driver: string;
  /** The component it belongs to ("net-dev (MultiAzNetwork)"), or "stack". */
  component: string;
  quantity: number;
  unit: string;
  unitUsd: number;
  monthlyUsd: number;
  /** "resources": fixed by what is deployed; "assumption": scales with the traffic assumptions. */
  basis: "resources" | "assumption";
  detail?: string;
}

export interface CostEstimate {
  region: string;
  currency: string;
  asOf: string;
  lines: CostLine[];
  /** Lines fixed by the deployed resources (paid at zero traffic). */
  fixedUsd: number;
  /** Lines that scale with traffic. */
  usageUsd: number;
  totalUsd: number;
  assumptions: TrafficAssumptions;
  /** Trade-offs worth a look, e.g. the traffic at which an interface endpoint beats NAT processing. */
  notes: string[];
  /** What the price table cannot price (e.g. x86 functions); the total leaves these out. */
  unpriced: string[];
}

export class PricingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PricingError";
  }
}

const T = {
  nat: "aws:ec2/natGateway:NatGateway",
  eip: "aws:ec2/eip:Eip",
  cache: "aws:elasticache/cluster:Cluster",
  lb: "aws:lb/loadBalancer:LoadBalancer",
  ecsService: "aws:ecs/service:Service",
  ecsCluster: "aws:ecs/cluster:Cluster",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  stage: "aws:apigateway/stage:Stage",
  restApi: "aws:apigateway/restApi:RestApi",
  method: "aws:apigateway/method:Method",
  methodSettings: "aws:apigateway/methodSettings:MethodSettings",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  flowLog: "aws:ec2/flowLog:FlowLog",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  lambda: "aws:lambda/function:Function",
  provisioned: "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
  eventRule: "aws:cloudwatch/eventRule:EventRule",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  ecr: "aws:ecr/repository:Repository",
  bucket: "aws:s3/bucket:Bucket",
} as const;

const SECONDS_PER_HOUR = 3600;
/**
 * ALB LCU dimensions (per LCU): new connections/s, GB/h processed for instance/IP targets and for Lambda targets.
 * "Processed bytes: the number of bytes processed by the load balancer in GB for HTTP(S) requests and
 * responses" (https://aws.amazon.com/elasticloadbalancing/pricing/): request and response bytes both count.
 */
export const LCU = { newConnectionsPerSecond: 25, gbPerHour: 1, lambdaGbPerHour: 0.4 } as const;

/**
 * Metrics API Gateway publishes per method × stage (dimensions ApiName, Method, Resource, Stage) once detailed
 * CloudWatch metrics (`metricsEnabled`) are on. Those are billed as CloudWatch custom metrics; the ApiName and
 * ApiName+Stage metrics stay free. Source: API Gateway developer guide, "Amazon API Gateway dimensions and
 * metrics" (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html):
 * "API Gateway will not send these metrics unless you have explicitly enabled detailed CloudWatch metrics ...
 * Enabling such metrics will incur additional charges to your account" (CloudWatch pricing: custom metrics).
 */
export const API_GATEWAY_DETAILED_METRICS = ["Count", "4XXError", "5XXError", "Latency", "IntegrationLatency", "CacheHitCount", "CacheMissCount"] as const;

function num(v: unknown, fallback = 0): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

/** Invocations per month of a schedule expression, e.g. rate(1 minute) -> 43,800 at 730 h. */
export function scheduleInvocationsPerMonth(expression: string, hoursPerMonth: number): number {
  const m = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!m) return 0; // cron(...) expressions are not expanded; none here
  const every = Number(m[1]);
  const perHour = m[2].startsWith("minute") ? 60 / every : m[2].startsWith("hour") ? 1 / every : 1 / (24 * every);
  return perHour * hoursPerMonth;
}

/** Resource lookups shared by the line builders. */
class Graph {
  private readonly byUrn = new Map<string, MockResource>();
  constructor(readonly resources: MockResource[]) {
    for (const r of resources) this.byUrn.set(r.urn, r);
  }
  ofType(type: string): MockResource[] {
    return this.resources.filter((r) => r.type === type);
  }
  /** Resources of `type` that `r`'s property `prop` came from. */
  referenced(r: MockResource, prop: string, type: string): MockResource[] {
    return (r.propertyDependencies[prop] ?? []).map((u) => this.byUrn.get(u)).filter((x): x is MockResource => x?.type === type);
  }
  /** Resources of `type` whose property `prop` came from `target`. */
  dependents(type: string, prop: string, target: MockResource): MockResource[] {
    return this.ofType(type).filter((r) => (r.propertyDependencies[prop] ?? []).includes(target.urn));
  }
  /** The outermost component that contains `r`, as "name (Type)". */
  component(r: MockResource): string {
    const top = topComponent(r, this.byUrn);
    return top ? componentLabel(top) : "stack";
  }
  parentType(r: MockResource): string | undefined {
    return r.parent ? this.byUrn.get(r.parent)?.type : undefined;
  }
}

/** Estimated monthly cost of `resources` at `prices`, with usage lines from `assumptions`. */
export function estimateMonthlyCost(resources: MockResource[], prices: PriceTable, assumptions: TrafficAssumptions): CostEstimate {
  const g = new Graph(resources);
  const H = prices.hoursPerMonth;
  const p = prices.prices;
  const a = assumptions;
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const add = (line: Omit<CostLine, "monthlyUsd">): void => {
    lines.push({ ...line, monthlyUsd: line.quantity * line.unitUsd });
  };

  // ---- network
  const nats = g.ofType(T.nat).filter((n) => n.inputs.connectivityType !== "private");
  if (nats.length > 0) {
    add({ driver: "NAT gateway hours", component: g.component(nats[0]), quantity: nats.length * H, unit: "NAT gateway-hours", unitUsd: p.natGatewayHour.usd, basis: "resources", detail: `${nats.length} NAT gateway(s) × ${H} h` });
    add({ driver: "NAT gateway data processing", component: g.component(nats[0]), quantity: a.natGbPerMonth, unit: "GB", unitUsd: p.natGatewayDataGb.usd, basis: "assumption", detail: "natGbPerMonth" });
  }
  const eips = g.ofType(T.eip).length;
  // `internal` unset means internet-facing (AWS's default): one public address per subnet (AZ) at least.
  const publicLbIps = g.ofType(T.lb).filter((lb) => lb.inputs.internal !== true).reduce((n, lb) => n + ((lb.inputs.subnets as unknown[] | undefined)?.length ?? 0), 0);
  if (eips + publicLbIps > 0) {
    add({ driver: "Public IPv4 addresses", component: "stack", quantity: (eips + publicLbIps) * H, unit: "address-hours", unitUsd: p.publicIpv4Hour.usd, basis: "resources", detail: `${eips} Elastic IP(s) + ${publicLbIps} internet-facing ALB address(es)` });
  }
  const interfaceEndpoints = g.ofType(T.endpoint).filter((e) => e.inputs.vpcEndpointType === "Interface");
  const notes: string[] = [];
  const natSaving = p.natGatewayDataGb.usd - p.interfaceEndpointDataGb.usd;
  for (const e of interfaceEndpoints) {
    const azs = (e.inputs.subnetIds as unknown[] | undefined)?.length ?? 0;
    const serviceName = String(e.inputs.serviceName ?? e.name);
    const service = serviceName.split(".").slice(3).join(".") || e.name;
    const monthly = azs * H * p.interfaceEndpointHour.usd;
    add({ driver: `Interface endpoint ${service}`, component: g.component(e), quantity: azs * H, unit: "endpoint-AZ-hours", unitUsd: p.interfaceEndpointHour.usd, basis: "resources", detail: `${azs} AZ(s) × ${H} h` });
    // execute-api is required by the private API, not an alternative to NAT.
    if (!serviceName.endsWith(".execute-api") && natSaving > 0) {
      notes.push(`Interface endpoint ${service} (${azs} AZs) pays for itself only above ${Math.round(monthly / natSaving).toLocaleString("en-US")} GB/month of ${service} traffic `
        + `that would otherwise cross NAT (saves $${round(natSaving, 3)}/GB, costs ${usdText(monthly)}/month); below that it buys privacy and independence from NAT, not savings.`);
    }
  }
  const executeApiEndpoints = interfaceEndpoints.filter((e) => String(e.inputs.serviceName).endsWith(".execute-api"));
  if (executeApiEndpoints.length > 0) {
    const gb = (a.apiRequestsPerMonth * (a.avgRequestKb + a.avgResponseKb)) / (1024 * 1024);
    add({ driver: "execute-api endpoint data processing", component: g.component(executeApiEndpoints[0]), quantity: gb, unit: "GB", unitUsd: p.interfaceEndpointDataGb.usd, basis: "assumption", detail: "apiRequestsPerMonth × (avgRequestKb + avgResponseKb)" });
  }
  if (interfaceEndpoints.length > executeApiEndpoints.length) {
    add({ driver: "Interface endpoint data processing (AWS APIs)", component: "stack", quantity: a.interfaceEndpointGbPerMonth, unit: "GB", unitUsd: p.interfaceEndpointDataGb.usd, basis: "assumption", detail: "interfaceEndpointGbPerMonth" });
  }

  // ---- cache
  for (const c of g.ofType(T.cache)) {
    const nodeType = String(c.inputs.nodeType);
    const price = p.elasticacheNodeHour[nodeType];
    if (!price) {
      throw new PricingError(`no ElastiCache price for node type ${nodeType} (cluster ${c.name}) in the ${prices.region} price table; priced types: ${Object.keys(p.elasticacheNodeHour).join(", ")}`);
    }
    const nodes = num(c.inputs.numCacheNodes, 1);
    add({ driver: `ElastiCache ${nodeType} node hours`, component: g.component(c), quantity: nodes * H, unit: "node-hours", unitUsd: price.usd, basis: "resources", detail: `${nodes} node(s) × ${H} h` });
  }

  // ---- API Gateway
  const stages = g.ofType(T.stage);
  const stageCached = stages.some((s) => s.inputs.cacheClusterEnabled === true);
  for (const s of stages.filter((x) => x.inputs.cacheClusterEnabled === true)) {
    const size = String(s.inputs.cacheClusterSize ?? "0.5");
    const price = p.apiGatewayCacheHour[size];
    if (!price) throw new PricingError(`no API Gateway cache price for size ${size} GB (stage ${s.name}); priced sizes: ${Object.keys(p.apiGatewayCacheHour).join(", ")}`);
    add({ driver: `API Gateway cache ${size} GB`, component: g.component(s), quantity: H, unit: "cache-hours", unitUsd: price.usd, basis: "resources" });
  }
  const restApis = g.ofType(T.restApi);
  if (restApis.length > 0) {
    add({ driver: "API Gateway REST requests", component: g.component(restApis[0]), quantity: a.apiRequestsPerMonth / 1e6, unit: "million requests", unitUsd: p.apiGatewayRestRequestsMillion.usd, basis: "assumption", detail: "apiRequestsPerMonth (stage cache hits are billed requests too)" });
  }
  const backendRequests = a.apiRequestsPerMonth * (restApis.length > 0 && stageCached ? 1 - a.apiCacheHitRatio : 1);
  for (const s of stages) {
    const metered = detailedMetricMethods(g, s);
    if (metered.methods === 0) continue;
    const perMethod = API_GATEWAY_DETAILED_METRICS.length;
    add({
      driver: `API Gateway detailed metrics (stage ${String(s.inputs.stageName ?? s.name)})`, component: g.component(s), quantity: metered.methods * perMethod, unit: "metrics",
      unitUsd: p.cloudwatchCustomMetricMonth.usd, basis: "resources",
      detail: `${metered.methods} method(s) with metricsEnabled (${metered.how}) × ${perMethod} metrics (${API_GATEWAY_DETAILED_METRICS.join(", ")}), billed as custom metrics; `
        + "an hour in which a method gets no request is not billed",
    });
  }

  // ---- ALB
  for (const lb of g.ofType(T.lb)) {
    add({ driver: "ALB hours", component: g.component(lb), quantity: H, unit: "ALB-hours", unitUsd: p.albHour.usd, basis: "resources" });
    const perSecond = backendRequests / (H * SECONDS_PER_HOUR);
    // Processed bytes count both directions: the request the ALB forwards and the response it returns.
    const gbPerHour = (backendRequests * (a.avgRequestKb + a.avgResponseKb)) / (1024 * 1024) / H;
    const connectionLcu = perSecond / LCU.newConnectionsPerSecond;
    const bytesLcu = (gbPerHour * a.lambdaShareOfBackend) / LCU.lambdaGbPerHour + (gbPerHour * (1 - a.lambdaShareOfBackend)) / LCU.gbPerHour;
    const lcu = Math.max(connectionLcu, bytesLcu);
    add({
      driver: "ALB capacity units (LCU)", component: g.component(lb), quantity: lcu * H, unit: "LCU-hours", unitUsd: p.albLcuHour.usd, basis: "assumption",
      detail: `${round(perSecond, 2)} req/s (one new connection each), ${round(gbPerHour, 4)} GB/h (avgRequestKb + avgResponseKb) → ${round(lcu, 4)} LCU`,
    });
  }

  // ---- Fargate (baseline count: what runs when nothing fails over)
  for (const svc of g.ofType(T.ecsService)) {
    const td = g.referenced(svc, "taskDefinition", T.taskDefinition)[0];
    if (!td) {
      unpriced.push(`ECS service ${svc.name}: its task definition is not in the stack`);
      continue;
    }
    const arch = String((td.inputs.runtimePlatform as Record<string, unknown> | undefined)?.cpuArchitecture ?? "X86_64");
    if (arch !== "ARM64") {
      unpriced.push(`Fargate service ${svc.name}: cpuArchitecture ${arch} (the table has ARM64 Fargate prices)`);
      continue;
    }
    const count = num(svc.inputs.desiredCount, 1);
    const vcpu = num(td.inputs.cpu) / 1024;
    const gb = num(td.inputs.memory) / 1024;
    const detail = `baseline desiredCount ${count} × ${vcpu} vCPU / ${gb} GB × ${H} h (failover capacity is paid only while it runs)`;
    add({ driver: "Fargate vCPU hours", component: g.component(svc), quantity: count * vcpu * H, unit: "vCPU-hours", unitUsd: p.fargateVcpuHourArm.usd, basis: "resources", detail });
    add({ driver: "Fargate memory GB-hours", component: g.component(svc), quantity: count * gb * H, unit: "GB-hours", unitUsd: p.fargateGbHourArm.usd, basis: "resources", detail });
  }

  // Container Insights publishes per-service metrics: a fixed monthly cost while the service exists.
  for (const cluster of g.ofType(T.ecsCluster)) {
    const mode = ((cluster.inputs.settings as Array<{ name?: string; value?: string }> | undefined) ?? []).find((x) => x.name === "containerInsights")?.value;
    if (mode !== "enabled" && mode !== "enhanced") continue;
    const services = g.dependents(T.ecsService, "cluster", cluster).length;
    add({
      driver: `ECS Container Insights metrics (${mode})`, component: g.component(cluster), quantity: services * a.containerInsightsMetricsPerService, unit: "metrics",
      unitUsd: p.cloudwatchCustomMetricMonth.usd, basis: "resources",
      detail: `${services} service(s) × containerInsightsMetricsPerService ${a.containerInsightsMetricsPerService}${mode === "enhanced" ? " (enhanced adds per-task and per-container metrics: more)" : ""}; its performance log events count in logsGbPerMonth`,
    });
  }

  // ---- Lambda
  for (const fn of g.ofType(T.lambda)) {
    const arch = ((fn.inputs.architectures as string[] | undefined) ?? ["x86_64"])[0];
    if (arch !== "arm64") {
      unpriced.push(`Lambda ${fn.name}: architecture ${arch} (the table has arm64 Lambda prices)`);
      continue;
    }
    const memoryGb = num(fn.inputs.memorySize, 128) / 1024;
    const name = String(fn.inputs.name ?? fn.name);
    const component = g.component(fn);
    const scheduled = g.dependents(T.eventTarget, "arn", fn)
      .flatMap((t) => g.referenced(t, "rule", T.eventRule))
      .reduce((n, rule) => n + scheduleInvocationsPerMonth(String(rule.inputs.scheduleExpression ?? ""), H), 0);
    let invocations: number;
    let durationMs: number;
    let source: string;
    if (scheduled > 0) {
      invocations = scheduled; durationMs = a.failoverAvgDurationMs; source = "schedule rule(s) targeting it; failoverAvgDurationMs";
    } else if (g.parentType(fn)?.endsWith(":HybridLambdaFargateService")) {
      invocations = backendRequests * a.lambdaShareOfBackend; durationMs = a.apiLambdaAvgDurationMs;
      source = "apiRequestsPerMonth × (1 − apiCacheHitRatio) × lambdaShareOfBackend; apiLambdaAvgDurationMs";
    } else if (g.parentType(fn)?.endsWith(":CacheFunction")) {
      invocations = a.cacheHandlerInvocationsPerMonth; durationMs = a.cacheHandlerAvgDurationMs; source = "cacheHandlerInvocationsPerMonth; cacheHandlerAvgDurationMs";
    } else {
      invocations = 0; durationMs = 0; source = "no traffic assumption for this function";
    }
    const provisioned = g.dependents(T.provisioned, "functionName", fn).reduce((n, pc) => n + num(pc.inputs.provisionedConcurrentExecutions), 0);
    add({
      driver: `Lambda ${name} requests`, component, quantity: invocations / 1e6, unit: "million requests", unitUsd: p.lambdaRequestsMillion.usd,
      basis: scheduled > 0 ? "resources" : "assumption", detail: source,
    });
    const gbSeconds = invocations * (durationMs / 1000) * memoryGb;
    // With provisioned concurrency, invocations that fit in it pay the lower provisioned duration rate;
    // the overflow pays on-demand. Traffic is taken as uniform over the month (peaks overflow more).
    const averageConcurrency = (invocations * (durationMs / 1000)) / (H * SECONDS_PER_HOUR);
    const provisionedShare = provisioned > 0 ? Math.min(1, averageConcurrency > 0 ? provisioned / averageConcurrency : 1) : 0;
    const detail = `${Math.round(invocations).toLocaleString("en-US")} × ${durationMs} ms × ${memoryGb} GB`;
    if (provisionedShare > 0) {
      add({
        driver: `Lambda ${name} duration (provisioned)`, component, quantity: gbSeconds * provisionedShare, unit: "GB-seconds",
        unitUsd: p.lambdaProvisionedDurationGbSecondArm.usd, basis: "assumption",
        detail: `${detail}; average concurrency ${round(averageConcurrency, 3)} within the ${provisioned} provisioned${provisionedShare < 1 ? ` for ${round(provisionedShare * 100, 1)}%` : ""}`,
      });
    }
    if (provisionedShare < 1) {
      add({
        driver: provisioned > 0 ? `Lambda ${name} duration (on-demand overflow)` : `Lambda ${name} duration`, component, quantity: gbSeconds * (1 - provisionedShare),
        unit: "GB-seconds", unitUsd: p.lambdaGbSecondArm.usd, basis: "assumption", detail,
      });
    }
    if (provisioned > 0) {
      add({
        driver: `Lambda ${name} provisioned concurrency`, component, quantity: provisioned * memoryGb * H * SECONDS_PER_HOUR, unit: "GB-seconds",
        unitUsd: p.lambdaProvisionedGbSecondArm.usd, basis: "resources", detail: `${provisioned} environment(s) × ${memoryGb} GB × ${H} h`,
      });
    }
  }

  // ---- observability, images, storage
  const alarmMetrics = g.ofType(T.alarm).reduce((n, al) => {
    const queries = (al.inputs.metricQueries as Array<Record<string, unknown>> | undefined) ?? [];
    return n + (queries.length > 0 ? queries.filter((q) => q.metric !== undefined).length : 1);
  }, 0);
  if (alarmMetrics > 0) {
    add({ driver: "CloudWatch alarms", component: "stack", quantity: alarmMetrics, unit: "alarm metrics", unitUsd: p.cloudwatchAlarmMonth.usd, basis: "resources", detail: `${g.ofType(T.alarm).length} alarm(s); metric-math alarms pay per metric` });
  }
  const dashboards = g.ofType(T.dashboard).length;
  if (dashboards > 0) add({ driver: "CloudWatch dashboards", component: "stack", quantity: dashboards, unit: "dashboards", unitUsd: p.cloudwatchDashboardMonth.usd, basis: "resources" });
  const logGroups = g.ofType(T.logGroup);
  if (logGroups.length > 0) {
    add({ driver: "CloudWatch Logs ingestion", component: "stack", quantity: a.logsGbPerMonth, unit: "GB", unitUsd: p.cloudwatchLogsIngestGb.usd, basis: "assumption", detail: "logsGbPerMonth" });
    const retention = Math.max(...logGroups.map((l) => num(l.inputs.retentionInDays, 3653)));
    add({
      driver: "CloudWatch Logs storage", component: "stack", quantity: a.logsGbPerMonth * (retention / 30), unit: "GB-months", unitUsd: p.cloudwatchLogsStorageGbMonth.usd, basis: "assumption",
      detail: `steady state: logsGbPerMonth × ${retention} days retention / 30 (uncompressed, an upper bound)`,
    });
  }
  const flowLogs = g.ofType(T.flowLog);
  if (flowLogs.length > 0) {
    const modes = [...new Set(flowLogs.map((f) => String(f.inputs.trafficType ?? "ALL")))].join(", ");
    add({
      driver: "VPC flow logs (vended logs ingestion)", component: g.component(flowLogs[0]), quantity: a.flowLogGbPerMonth, unit: "GB", unitUsd: p.cloudwatchLogsIngestGb.usd, basis: "assumption",
      detail: `flowLogGbPerMonth; traffic ${modes} (REJECT is usually a small fraction of ALL); vended-log volume tiers ignored (first tier)`,
    });
    // "Data ingestion and archival charges for vended logs apply" (VPC guide, flow-logs-cwl): the records stay
    // for the destination group's retention, which the general storage line (logsGbPerMonth) does not count.
    const groups = flowLogs.flatMap((f) => g.referenced(f, "logDestination", T.logGroup));
    const retention = groups.length > 0 ? Math.max(...groups.map((l) => num(l.inputs.retentionInDays, 3653))) : 3653;
    add({
      driver: "VPC flow logs storage", component: g.component(flowLogs[0]), quantity: a.flowLogGbPerMonth * (retention / 30), unit: "GB-months", unitUsd: p.cloudwatchLogsStorageGbMonth.usd, basis: "assumption",
      detail: `steady state: flowLogGbPerMonth × ${retention} days retention / 30 (uncompressed, an upper bound)${groups.length > 0 ? "" : "; destination log group not found, 10 years assumed"}`,
    });
  }
  if (a.customMetrics > 0 && g.ofType(T.lambda).length > 0) {
    add({ driver: "CloudWatch custom metrics (EMF)", component: "stack", quantity: a.customMetrics, unit: "metrics", unitUsd: p.cloudwatchCustomMetricMonth.usd, basis: "assumption", detail: "customMetrics" });
  }
  if (g.ofType(T.ecr).length > 0) {
    add({ driver: "ECR image storage", component: g.component(g.ofType(T.ecr)[0]), quantity: a.ecrImageGb, unit: "GB-months", unitUsd: p.ecrStorageGbMonth.usd, basis: "assumption", detail: "ecrImageGb" });
  }
  if (g.ofType(T.bucket).length > 0) {
    add({ driver: "S3 storage (large responses)", component: g.component(g.ofType(T.bucket)[0]), quantity: a.s3GbStored, unit: "GB-months", unitUsd: p.s3StandardGbMonth.usd, basis: "assumption", detail: "s3GbStored" });
  }

  const sum = (xs: CostLine[]): number => xs.reduce((n, l) => n + l.monthlyUsd, 0);
  const fixedUsd = sum(lines.filter((l) => l.basis === "resources"));
  const usageUsd = sum(lines.filter((l) => l.basis === "assumption"));
  return { region: prices.region, currency: prices.currency, asOf: prices.asOf, lines, fixedUsd, usageUsd, totalUsd: fixedUsd + usageUsd, assumptions, notes, unpriced };
}

/**
 * Methods of `stage` that publish detailed metrics: every method of its REST API when a `*\/*` method
 * setting has `metricsEnabled` (less those a method-specific setting turns off), else one per
 * method-specific setting that turns them on.
 */
function detailedMetricMethods(g: Graph, stage: MockResource): { methods: number; how: string } {
  const settings = g.dependents(T.methodSettings, "stageName", stage);
  const enabled = (m: MockResource): boolean | undefined => (m.inputs.settings as Record<string, unknown> | undefined)?.metricsEnabled as boolean | undefined;
  const all = settings.find((m) => m.inputs.methodPath === "*/*");
  const specific = settings.filter((m) => m !== all);
  const api = g.referenced(stage, "restApi", T.restApi)[0];
  if (all && enabled(all) === true) {
    const methods = api ? g.dependents(T.method, "restApi", api).length : 0;
    const off = specific.filter((m) => enabled(m) === false).length;
    return { methods: Math.max(0, methods - off), how: `"*/*" on ${methods} method(s) of the API${off > 0 ? `, ${off} turned off` : ""}` };
  }
  const on = new Set(specific.filter((m) => enabled(m) === true).map((m) => String(m.inputs.methodPath)));
  return { methods: on.size, how: "method-specific settings" };
}

function usdText(n: number): string {
  return `$${round(n).toFixed(2)}`;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---- loaders (the only I/O) --------------------------------------------------------------------------

/** Reads and checks a price table: every price present, a positive number with a unit and a source. */
/** Reads a JSON file; an unreadable or invalid file throws `makeError` with a message naming it. */
export function readJsonFile<T>(file: string, what: string, makeError: (message: string) => Error = (m) => new PricingError(m)): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw makeError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw makeError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

export function loadPriceTable(file: string): PriceTable {
  const table = readJsonFile<PriceTable>(file, "price table");
  const problems: string[] = [];
  const check = (key: string, price: Price | undefined): void => {
    if (!price || typeof price.usd !== "number" || !(price.usd >= 0) || !price.unit || !price.source) problems.push(`prices.${key} must be { usd: number >= 0, unit, source }`);
  };
  for (const key of SCALAR_PRICES) check(key, table.prices?.[key]);
  for (const key of ["elasticacheNodeHour", "apiGatewayCacheHour"] as const) {
    const group = table.prices?.[key];
    if (!group || Object.keys(group).length === 0) problems.push(`prices.${key} must map each type/size to a price`);
    else for (const [k, v] of Object.entries(group)) check(`${key}.${k}`, v);
  }
  if (!(table.hoursPerMonth > 0)) problems.push("hoursPerMonth must be a positive number");
  if (!table.asOf || !table.source || !table.region) problems.push("region, asOf and source are required");
  if (problems.length > 0) throw new PricingError(`price table ${file} is invalid:\n  - ${problems.join("\n  - ")}`);
  return table;
}

export interface AssumptionsFile {
  defaults: Record<string, unknown>;
  stacks?: Record<string, Partial<Record<string, unknown>>>;
}

/** Defaults overlaid with the stack's values; each value checked (ratios 0..1, others >= 0). */
export function resolveAssumptions(file: AssumptionsFile, stack: string, source = "assumptions"): TrafficAssumptions {
  const merged: Record<string, unknown> = { ...file.defaults, ...(file.stacks?.[stack] ?? {}) };
  const problems: string[] = [];
  for (const key of Object.keys(merged)) {
    if (!(ASSUMPTION_KEYS as readonly string[]).includes(key)) problems.push(`${key}: unknown key; allowed: ${ASSUMPTION_KEYS.join(", ")}`);
  }
  const out: Partial<TrafficAssumptions> = {};
  for (const key of ASSUMPTION_KEYS) {
    const v = merged[key];
    const max = RATIOS.has(key) ? 1 : Number.MAX_SAFE_INTEGER;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > max) {
      problems.push(`${key} = ${JSON.stringify(v)}: must be a number from 0 to ${RATIOS.has(key) ? "1" : "any"}`);
    } else {
      out[key] = v;
    }
  }
  if (problems.length > 0) throw new PricingError(`${source} for stack ${stack} are invalid:\n  - ${problems.join("\n  - ")}`);
  return out as TrafficAssumptions;
}

export function loadAssumptions(file: string, stack: string): TrafficAssumptions {
  const parsed = readJsonFile<AssumptionsFile>(file, "traffic assumptions");
  if (!parsed || typeof parsed.defaults !== "object") throw new PricingError(`traffic assumptions ${file} need a "defaults" object`);
  return resolveAssumptions(parsed, stack, file);
}
