import * as assert from "node:assert/strict";
import * as path from "node:path";
import { CACHE_SIZES_GB } from "../../components/apiRoutes";
import {
  estimateMonthlyCost,
  loadAssumptions,
  loadPriceTable,
  PricingError,
  resolveAssumptions,
  scheduleInvocationsPerMonth,
  type CostEstimate,
  type PriceTable,
  type TrafficAssumptions,
} from "../../plan/cost";
import { REPO_ROOT, runProgram, type MockResource } from "../support/program";

const price = (usd: number): { usd: number; unit: string; source: string } => ({ usd, unit: "u", source: "test" });

/** A fixed copy of the us-east-1 prices (2026-11-27), so the expected sums below stay hand-computed. */
const PRICES: PriceTable = {
  region: "us-east-1", currency: "USD", asOf: "2026-11-27", hoursPerMonth: 730, source: "test fixture", notes: [],
  prices: {
    natGatewayHour: price(0.045), natGatewayDataGb: price(0.045), publicIpv4Hour: price(0.005),
    albHour: price(0.0225), albLcuHour: price(0.008), fargateVcpuHourArm: price(0.03238), fargateGbHourArm: price(0.00356),
    lambdaGbSecondArm: price(0.0000133334), lambdaRequestsMillion: price(0.2), lambdaProvisionedGbSecondArm: price(0.0000033334),
    lambdaProvisionedDurationGbSecondArm: price(0.0000077778), apiGatewayRestRequestsMillion: price(3.5),
    interfaceEndpointHour: price(0.01), interfaceEndpointDataGb: price(0.01), cloudwatchAlarmMonth: price(0.1),
    cloudwatchCustomMetricMonth: price(0.3), cloudwatchDashboardMonth: price(3), cloudwatchLogsIngestGb: price(0.5),
    cloudwatchLogsStorageGbMonth: price(0.03), ecrStorageGbMonth: price(0.1), s3StandardGbMonth: price(0.023),
    elasticacheNodeHour: { "cache.t4g.micro": price(0.016), "cache.t4g.small": price(0.032), "cache.m7g.large": price(0.158) },
    apiGatewayCacheHour: { "0.5": price(0.02), "1.6": price(0.038), "6.1": price(0.2) },
  },
};

const ASSUMPTIONS: TrafficAssumptions = {
  apiRequestsPerMonth: 10_000_000, apiCacheHitRatio: 0.8, avgResponseKb: 10, avgRequestKb: 1, lambdaShareOfBackend: 1, apiLambdaAvgDurationMs: 20,
  cacheHandlerInvocationsPerMonth: 0, cacheHandlerAvgDurationMs: 10, failoverAvgDurationMs: 100, natGbPerMonth: 100,
  interfaceEndpointGbPerMonth: 10, logsGbPerMonth: 2, flowLogGbPerMonth: 3, customMetrics: 5, containerInsightsMetricsPerService: 20, ecrImageGb: 0, s3GbStored: 0,
};

/** A hand-built stack: resources linked by URN the way the engine records them. */
function stack(): MockResource[] {
  const urn = (type: string, name: string): string => `urn:pulumi:t::p::${type}::${name}`;
  const list: MockResource[] = [];
  const add = (type: string, name: string, inputs: Record<string, unknown>, links: Record<string, MockResource[]> = {}, parent?: MockResource): MockResource => {
    const r: MockResource = {
      type, name, id: `${name}-id`, inputs, state: { ...inputs, arn: `arn:${name}` }, custom: !type.startsWith("serverless-cache:"),
      parent: parent?.urn, dependencies: [], propertyDependencies: Object.fromEntries(Object.entries(links).map(([k, v]) => [k, v.map((x) => x.urn)])),
      urn: urn(type, name),
    };
    list.push(r);
    return r;
  };
  const net = add("serverless-cache:network:MultiAzNetwork", "net", {});
  const subnetA = add("aws:ec2/subnet:Subnet", "a", { availabilityZone: "us-east-1a" }, {}, net);
  add("aws:ec2/subnet:Subnet", "b", { availabilityZone: "us-east-1b" }, {}, net);
  for (const i of [0, 1]) {
    add("aws:ec2/eip:Eip", `eip-${i}`, {}, {}, net);
    add("aws:ec2/natGateway:NatGateway", `nat-${i}`, { subnetId: "a-id" }, { subnetId: [subnetA] }, net);
  }
  add("aws:ec2/vpcEndpoint:VpcEndpoint", "logs", { vpcEndpointType: "Interface", serviceName: "com.amazonaws.us-east-1.logs", subnetIds: ["a-id", "b-id"] }, {}, net);
  add("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", { vpcEndpointType: "Gateway", serviceName: "com.amazonaws.us-east-1.s3" }, {}, net);
  add("aws:elasticache/cluster:Cluster", "mc", { engine: "memcached", nodeType: "cache.t4g.small", numCacheNodes: 3 });
  const svc = add("serverless-cache:service:HybridLambdaFargateService", "svc", {});
  add("aws:lb/loadBalancer:LoadBalancer", "alb", { internal: true, subnets: ["a-id", "b-id"] }, {}, svc);
  const td = add("aws:ecs/taskDefinition:TaskDefinition", "td", { cpu: "1024", memory: "2048", runtimePlatform: { cpuArchitecture: "ARM64" } }, {}, svc);
  const cluster = add("aws:ecs/cluster:Cluster", "cluster", { settings: [{ name: "containerInsights", value: "enabled" }] }, {}, svc);
  add("aws:ecs/service:Service", "ecs", { desiredCount: 2 }, { taskDefinition: [td], cluster: [cluster] }, svc);
  const api = add("aws:lambda/function:Function", "api", { architectures: ["arm64"], memorySize: 1024 }, {}, svc);
  add("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "pc", { provisionedConcurrentExecutions: 1 }, { functionName: [api] }, svc);
  const failover = add("aws:lambda/function:Function", "failover", { architectures: ["arm64"] }, {}, svc);
  const tick = add("aws:cloudwatch/eventRule:EventRule", "tick", { scheduleExpression: "rate(5 minutes)" }, {}, svc);
  add("aws:cloudwatch/eventTarget:EventTarget", "tick-target", {}, { arn: [failover], rule: [tick] }, svc);
  add("aws:cloudwatch/metricAlarm:MetricAlarm", "simple", { metricName: "Errors" });
  add("aws:cloudwatch/metricAlarm:MetricAlarm", "ratio", { metricQueries: [{ id: "m1", metric: {} }, { id: "m2", metric: {} }, { id: "e1", expression: "m1/m2" }] });
  add("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 14 });
  const rest = add("aws:apigateway/restApi:RestApi", "rest", {});
  for (const [name, httpMethod] of [["GET-items", "GET"], ["ANY-proxy", "ANY"], ["GET-health", "GET"]]) {
    add("aws:apigateway/method:Method", name, { restApi: "rest-id", httpMethod }, { restApi: [rest] });
  }
  const stage = add("aws:apigateway/stage:Stage", "stage", { restApi: "rest-id", stageName: "live", cacheClusterEnabled: true, cacheClusterSize: "6.1" }, { restApi: [rest] });
  // Detailed metrics on every method ("*/*"); the cached route's own settings keep them on (no extra method).
  add("aws:apigateway/methodSettings:MethodSettings", "settings-all", { restApi: "rest-id", stageName: "live", methodPath: "*/*", settings: { metricsEnabled: true } }, { restApi: [rest], stageName: [stage] });
  add("aws:apigateway/methodSettings:MethodSettings", "settings-items", { restApi: "rest-id", stageName: "live", methodPath: "items/GET", settings: { metricsEnabled: true, cachingEnabled: true } }, { restApi: [rest], stageName: [stage] });
  return list;
}

function line(est: CostEstimate, driver: string): number {
  const found = est.lines.filter((l) => l.driver === driver);
  assert.equal(found.length, 1, `one line "${driver}" in ${JSON.stringify(est.lines.map((l) => l.driver))}`);
  return found[0].monthlyUsd;
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`);
}

describe("cost estimate", () => {
  describe("against a hand-computed example", () => {
    const est = estimateMonthlyCost(stack(), PRICES, ASSUMPTIONS);
    // Every expected value below was computed by hand from the fixture prices and assumptions.
    const expected: Array<[string, number]> = [
      ["NAT gateway hours", 65.70], //              2 NAT × 730 h × 0.045
      ["NAT gateway data processing", 4.50], //    100 GB × 0.045
      ["Public IPv4 addresses", 7.30], //          2 EIP × 730 h × 0.005 (internal ALB: none)
      ["Interface endpoint logs", 14.60], //       2 AZ × 730 h × 0.01 (the S3 gateway endpoint is free)
      ["Interface endpoint data processing (AWS APIs)", 0.10], // 10 GB × 0.01
      ["ElastiCache cache.t4g.small node hours", 70.08], // 3 nodes × 730 h × 0.032
      ["API Gateway cache 6.1 GB", 146.00], //     730 h × 0.20
      ["API Gateway REST requests", 35.00], //     10 M × 3.50
      ["ALB hours", 16.425], //                    730 h × 0.0225
      // backend = 10 M × (1 − 0.8) = 2 M; processed bytes are request + response: 2 M × (1 + 10) KB
      // = 22,000,000 KB / 1,048,576 = 20.98083 GB / 730 h = 0.0287409 GB/h; Lambda target: / 0.4
      // = 0.0718522 LCU (beats 0.761 req/s / 25 = 0.0304); × 730 h × 0.008 = 0.41961669921875
      // (the response bytes alone gave 0.38147: 10 KB instead of 11 KB)
      ["ALB capacity units (LCU)", 0.41961669921875],
      // detailed metrics ("*/*" metricsEnabled) on 3 methods × 1 stage × 7 metrics (Count, 4XXError, 5XXError,
      // Latency, IntegrationLatency, CacheHitCount, CacheMissCount) = 21 custom metrics × 0.30
      ["API Gateway detailed metrics (stage live)", 6.30],
      ["Fargate vCPU hours", 47.2748], //          2 tasks × 1 vCPU × 730 h × 0.03238
      ["Fargate memory GB-hours", 10.3952], //     2 tasks × 2 GB × 730 h × 0.00356
      ["ECS Container Insights metrics (enabled)", 6.00], // 1 service × 20 metrics × 0.30
      ["Lambda api requests", 0.40], //            2 M × 0.20 / M
      // 2 M × 0.020 s × 1 GB = 40,000 GB-s; average concurrency 2 M × 0.02 s / 2,628,000 s = 0.015 fits in
      // the 1 provisioned environment, so all of it pays the provisioned rate 0.0000077778
      ["Lambda api duration (provisioned)", 0.311112],
      ["Lambda api provisioned concurrency", 8.7601752], // 1 × 1 GB × 730 h × 3600 s × 0.0000033334
      ["Lambda failover requests", 0.001752], //   rate(5 minutes): 12/h × 730 h = 8,760 × 0.20 / M
      ["Lambda failover duration", 0.00146001], // 8,760 × 0.1 s × 0.125 GB (128 MB default) = 109.5 GB-s × 0.0000133334
      ["CloudWatch alarms", 0.30], //              1 + 2 metrics (the expression is free) × 0.10
      ["CloudWatch Logs ingestion", 1.00], //      2 GB × 0.50
      ["CloudWatch Logs storage", 0.028], //       2 GB × 14 d / 30 × 0.03
      ["CloudWatch custom metrics (EMF)", 1.50], // 5 × 0.30
    ];
    for (const [driver, usd] of expected) {
      it(`${driver}: $${usd}`, () => close(line(est, driver), usd, driver));
    }
    it("has exactly those lines (no ECR, S3 or dashboard line without such resources)", () => {
      assert.deepEqual(est.lines.map((l) => l.driver).sort(), expected.map(([d]) => d).sort());
    });
    it("fixed $399.1369272 + usage $43.26018898 = total $442.39711618 (scheduled failover requests are fixed)", () => {
      // fixed: 392.8369272 before detailed metrics + 6.30 (21 metrics × 0.30) = 399.1369272
      // usage: 43.22204201 with response-only LCU bytes − 0.3814697265625 + 0.41961669921875 = 43.26018898265625
      close(est.fixedUsd, 399.1369272, "fixed");
      close(est.usageUsd, 43.26018898265625, "usage");
      close(est.totalUsd, 442.39711618265625, "total");
      assert.deepEqual(est.unpriced, []);
    });
    it("splits duration above provisioned concurrency: average concurrency 4 with 1 provisioned", () => {
      // 2,628,000,000 API requests × 0.2 reach the Lambda = 525.6 M × 0.02 s = 10,512,000 GB-s at 1 GB;
      // average concurrency 10,512,000 s / 2,628,000 s = 4, so 1/4 fits in the provisioned environment.
      const busy = estimateMonthlyCost(stack(), PRICES, { ...ASSUMPTIONS, apiRequestsPerMonth: 2_628_000_000 });
      close(line(busy, "Lambda api duration (provisioned)"), 2_628_000 * 0.0000077778, "provisioned share");
      close(line(busy, "Lambda api duration (on-demand overflow)"), 7_884_000 * 0.0000133334, "overflow");
    });
    it("lists x86 functions as not priced instead of failing the plan", () => {
      const x86 = stack().map((r) => (r.name === "failover" ? { ...r, inputs: { ...r.inputs, architectures: ["x86_64"] } } : r));
      const e = estimateMonthlyCost(x86, PRICES, ASSUMPTIONS);
      assert.deepEqual(e.unpriced, ["Lambda failover: architecture x86_64 (the table has arm64 Lambda prices)"]);
      assert.ok(!e.lines.some((l) => l.driver.startsWith("Lambda failover")));
    });
    it("counts an internet-facing ALB's addresses (internal unset is internet-facing)", () => {
      const open = stack().map((r) => (r.name === "alb" ? { ...r, inputs: { subnets: ["a-id", "b-id"] } } : r));
      close(line(estimateMonthlyCost(open, PRICES, ASSUMPTIONS), "Public IPv4 addresses"), 4 * 730 * 0.005, "2 EIPs + 2 ALB addresses");
    });
    it("notes when an interface endpoint beats NAT: 2 AZ × 730 h × 0.01 / (0.045 − 0.01) = 417 GB/month", () => {
      assert.equal(est.notes.length, 1);
      assert.match(est.notes[0], /Interface endpoint logs \(2 AZs\) pays for itself only above 417 GB\/month/);
    });
    it("a stage-cache hit ratio of 0 sends every request to the ALB and the Lambda", () => {
      const noHits = estimateMonthlyCost(stack(), PRICES, { ...ASSUMPTIONS, apiCacheHitRatio: 0 });
      close(line(noHits, "Lambda api requests"), 2.0, "10 M × 0.20 / M");
    });
  });

  describe("the real stacks", () => {
    it("prices the VPC flow logs from flowLogGbPerMonth: 3 GB × $0.50 (REJECT in dev)", async () => {
      const run = await runProgram("dev");
      const est = estimateMonthlyCost(run.resources, PRICES, ASSUMPTIONS);
      close(line(est, "VPC flow logs (vended logs ingestion)"), 3 * 0.5, "3 GB × 0.50");
      const off = await runProgram("dev", { networkFlowLogs: "off" });
      assert.ok(!estimateMonthlyCost(off.resources, PRICES, ASSUMPTIONS).lines.some((l) => l.driver.startsWith("VPC flow logs")));
    });
    it("derives the execute-api endpoint's bytes from the API traffic: 10 M × 11 KB", async () => {
      const run = await runProgram("dev");
      const est = estimateMonthlyCost(run.resources, PRICES, ASSUMPTIONS);
      close(line(est, "execute-api endpoint data processing"), ((10_000_000 * 11) / (1024 * 1024)) * 0.01, "104.9 GB × 0.01");
    });
    it("dev: fixed cost is $126.59376 by hand", async () => {
      const run = await runProgram("dev");
      const est = estimateMonthlyCost(run.resources, PRICES, ASSUMPTIONS);
      // NAT 1×730×0.045 = 32.85; EIP 730×0.005 = 3.65; execute-api endpoint 2 AZ×730×0.01 = 14.60;
      // 2 × cache.t4g.micro × 730 × 0.016 = 23.36; API cache 0.5 GB 730×0.02 = 14.60; ALB 16.425;
      // Fargate baseline 0 tasks = 0; Container Insights 1 service × 20 × 0.30 = 6.00; failover tick
      // rate(1 minute) = 43,800 requests × 0.20 / M = 0.00876; 16 alarm metrics × 0.10 = 1.60 (throttles,
      // concurrency, 3 × p99 duration, failover errors: 1 each; ALB 5xx rate, Lambda target errors,
      // failover throttled/dropped events: 2 each; API cache hit ratio, API 5xx rate: 2 each); 1 dashboard = 3.00.
      // API Gateway detailed metrics ("*/*" metricsEnabled): 5 methods (GET /health, GET /runtime, ANY /{proxy+},
      // GET /items/{id}, GET /_large/{key+}) × 1 stage × 7 metrics = 35 custom metrics × 0.30 = 10.50.
      close(est.fixedUsd, 32.85 + 3.65 + 14.60 + 23.36 + 14.60 + 16.425 + 6.00 + 0.00876 + 1.60 + 3.00 + 10.50, "dev fixed");
      close(line(est, "Fargate vCPU hours"), 0, "dev runs no Fargate task at baseline");
    });
    it("prod: fixed cost is $640.33 by hand, and costs more than dev at the same traffic", async () => {
      const run = await runProgram("prod");
      const est = estimateMonthlyCost(run.resources, PRICES, ASSUMPTIONS);
      const fixed = 3 * 730 * 0.045 //  NAT per AZ
        + 3 * 730 * 0.005 //             their Elastic IPs
        + 4 * 3 * 730 * 0.01 //          ecr.api, ecr.dkr, logs, execute-api endpoints in 3 AZs
        + 3 * 730 * 0.158 //             3 × cache.m7g.large
        + 730 * 0.038 //                 API cache 1.6 GB
        + 730 * 0.0225 //                ALB
        + 1 * 0.5 * 730 * 0.03238 //     1 task × 0.5 vCPU
        + 1 * 1 * 730 * 0.00356 //       1 task × 1 GB
        + 2 * 1 * 730 * 3600 * 0.0000033334 // 2 provisioned environments × 1 GB
        + 1 * 20 * 0.3 //               Container Insights, 1 service
        + (43_800 / 1e6) * 0.2 //        failover tick requests
        + 16 * 0.1 + 3 //                alarm metrics (as dev), dashboard
        + 5 * 7 * 0.3; //                API Gateway detailed metrics: 5 methods × 7 metrics (as dev)
      close(est.fixedUsd, fixed, "prod fixed");
      const dev = estimateMonthlyCost((await runProgram("dev")).resources, PRICES, ASSUMPTIONS);
      assert.ok(est.totalUsd > dev.totalUsd);
    });
    it("names the node type and the priced types when a node type has no price", async () => {
      const run = await runProgram("dev", { memcachedNodeType: "cache.r5.large" });
      assert.throws(() => estimateMonthlyCost(run.resources, PRICES, ASSUMPTIONS),
        (err: Error) => err instanceof PricingError && /node type cache\.r5\.large .* priced types: cache\.t4g\.micro/.test(err.message));
    });
  });

  // Issue 13: two fixes found by an independent hand computation.
  describe("issue 13: ALB processed bytes and API Gateway detailed metrics", () => {
    it("ALB LCU bytes count request and response bytes (Lambda and Fargate targets)", () => {
      // ELB pricing: "Processed bytes: the number of bytes processed by the load balancer in GB for HTTP(S)
      // requests and responses". 10 M requests × (1 − 0.8) = 2 M reach the ALB, each 9 KB in + 1 KB out:
      // 2 M × 10 KB = 20,000,000 KB / 1,048,576 = 19.0735 GB / 730 h = 0.0261281 GB/h;
      // half to Lambda (÷ 0.4), half to Fargate (÷ 1): 0.0261281 × (0.5 / 0.4 + 0.5) = 0.0457241 LCU,
      // more than 2 M / 2,628,000 s / 25 = 0.0304414 LCU of new connections; × 730 h × 0.008 = 0.26702880859375.
      // Response bytes alone (2 M × 1 KB) gave 0.0045724 LCU, so the connections won: 0.0304414 × 730 × 0.008 = 0.17778.
      const est = estimateMonthlyCost(stack(), PRICES, { ...ASSUMPTIONS, avgRequestKb: 9, avgResponseKb: 1, lambdaShareOfBackend: 0.5 });
      close(line(est, "ALB capacity units (LCU)"), 0.26702880859375, "LCU from 10 KB per request");
      assert.match(est.lines.find((l) => l.driver === "ALB capacity units (LCU)")!.detail ?? "", /avgRequestKb \+ avgResponseKb/);
    });
    it("bills 7 custom metrics per method × stage with detailed metrics on", () => {
      // 3 methods × 1 stage × 7 metrics = 21 metrics × 0.30 = 6.30 a month, paid whatever the traffic assumptions.
      const est = estimateMonthlyCost(stack(), PRICES, { ...ASSUMPTIONS, apiRequestsPerMonth: 0 });
      const l = est.lines.find((x) => x.driver === "API Gateway detailed metrics (stage live)")!;
      assert.equal(l.quantity, 21);
      assert.equal(l.basis, "resources");
      close(l.monthlyUsd, 6.30, "21 × 0.30");
    });
    it("counts the methods a method-specific setting turns off, or only those turned on without */*", () => {
      const edit = (fn: (r: MockResource) => MockResource): MockResource[] => stack().map(fn);
      const setting = (r: MockResource, name: string, metricsEnabled: boolean): MockResource =>
        r.name === name ? { ...r, inputs: { ...r.inputs, settings: { ...(r.inputs.settings as object), metricsEnabled } } } : r;
      // "*/*" on, items/GET off: 2 methods × 7 = 14 metrics × 0.30 = 4.20
      close(line(estimateMonthlyCost(edit((r) => setting(r, "settings-items", false)), PRICES, ASSUMPTIONS), "API Gateway detailed metrics (stage live)"), 4.20, "2 methods");
      // "*/*" off, items/GET on: 1 method × 7 = 7 metrics × 0.30 = 2.10
      close(line(estimateMonthlyCost(edit((r) => setting(r, "settings-all", false)), PRICES, ASSUMPTIONS), "API Gateway detailed metrics (stage live)"), 2.10, "1 method");
      // both off: no line
      const off = estimateMonthlyCost(edit((r) => setting(setting(r, "settings-all", false), "settings-items", false)), PRICES, ASSUMPTIONS);
      assert.ok(!off.lines.some((l) => l.driver.startsWith("API Gateway detailed metrics")));
    });
    it("the real stacks pay for 35 detailed metrics each (5 methods × 7)", async () => {
      for (const stackName of ["dev", "prod"]) {
        const est = estimateMonthlyCost((await runProgram(stackName)).resources, PRICES, ASSUMPTIONS);
        const l = est.lines.find((x) => x.driver.startsWith("API Gateway detailed metrics"))!;
        assert.ok(l, `${stackName} has a detailed-metrics line`);
        assert.equal(l.quantity, 35, stackName);
        close(l.monthlyUsd, 10.50, `${stackName}: 35 × 0.30`);
      }
    });
  });

  describe("the checked-in price table and assumptions", () => {
    const table = loadPriceTable(path.join(REPO_ROOT, "pricing", "us-east-1.json"));
    it("is dated, names its source, and prices every API cache size the config allows", () => {
      assert.match(table.asOf, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(table.source.length > 10);
      for (const size of CACHE_SIZES_GB) assert.ok(table.prices.apiGatewayCacheHour[size], `cache size ${size}`);
    });
    it("prices the node types both stacks use; each price names its source page", async () => {
      for (const stackName of ["dev", "prod"]) {
        const run = await runProgram(stackName);
        const est = estimateMonthlyCost(run.resources, table, loadAssumptions(path.join(REPO_ROOT, "pricing", "assumptions.json"), stackName));
        assert.ok(est.totalUsd > 0);
      }
      for (const p of Object.values(table.prices.elasticacheNodeHour)) assert.match(p.source, /^https:\/\/aws\.amazon\.com\//);
    });
    it("rejects a table with a missing price, naming it", () => {
      assert.throws(() => loadPriceTable(path.join(REPO_ROOT, "package.json")), /prices\.natGatewayHour must be/);
      assert.throws(() => loadPriceTable("/nonexistent/prices.json"), (err: Error) => err instanceof PricingError && /cannot read price table/.test(err.message));
    });
  });

  describe("assumptions", () => {
    it("overlays a stack's values on the defaults", () => {
      const a = resolveAssumptions({ defaults: { ...ASSUMPTIONS }, stacks: { prod: { apiRequestsPerMonth: 5 } } }, "prod");
      assert.equal(a.apiRequestsPerMonth, 5);
      assert.equal(a.natGbPerMonth, 100);
    });
    it("names the key and the allowed range of a bad value, and unknown keys", () => {
      assert.throws(() => resolveAssumptions({ defaults: { ...ASSUMPTIONS, apiCacheHitRatio: 1.5 } }, "dev"), /apiCacheHitRatio = 1\.5: must be a number from 0 to 1/);
      assert.throws(() => resolveAssumptions({ defaults: { ...ASSUMPTIONS, natGbPerMonth: "lots" } }, "dev"), /natGbPerMonth = "lots"/);
      assert.throws(() => resolveAssumptions({ defaults: { ...ASSUMPTIONS, requestsPerDay: 1 } }, "dev"), /requestsPerDay: unknown key/);
    });
  });

  it("counts schedule invocations", () => {
    assert.equal(scheduleInvocationsPerMonth("rate(1 minute)", 730), 43_800);
    assert.equal(scheduleInvocationsPerMonth("rate(2 hours)", 730), 365);
    assert.equal(scheduleInvocationsPerMonth("rate(1 day)", 720), 30);
    assert.equal(scheduleInvocationsPerMonth("cron(0 12 * * ? *)", 730), 0);
  });
});
