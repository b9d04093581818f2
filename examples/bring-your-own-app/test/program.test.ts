/**
 * Unit tests of the program (index.ts) under Pulumi's mocks, with `serverless-cache/testing`: no AWS
 * account, no Pulumi CLI. The mock account behaves like a real one where it matters to these
 * components (AZ names map to zone IDs of its own, Local Zones are listed, quotas and offerings are
 * enforced), and every child resource of the components is visible with its inputs and parent.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runProgram, ProgramError, type ProgramRun } from "serverless-cache/testing";
import { devRun } from "./devRun";

const PROGRAM = path.join(__dirname, "..", "index.ts");
const FUNCTION = "aws:lambda/function:Function";

describe("bring-your-own-app under the mock engine", function () {
  this.timeout(120_000);
  let run: ProgramRun;

  before(async () => {
    run = await devRun();
  });

  it("builds the five components, each with its children visible", () => {
    const components = run.resources.filter((r) => !r.custom && r.type.startsWith("serverless-cache:"));
    assert.deepEqual(components.map((c) => c.type).sort(), [
      "serverless-cache:api:CachedPrivateApi",
      "serverless-cache:cache:MemcachedCluster",
      "serverless-cache:functions:CacheFunction",
      "serverless-cache:network:MultiAzNetwork",
      "serverless-cache:service:HybridLambdaFargateService",
    ]);
    for (const c of components) assert.ok(run.childrenOf(c).length > 0, `${c.name} has children`);
    const service = run.one("serverless-cache:service:HybridLambdaFargateService");
    const inService = run.descendantsOf(service).map((r) => r.type);
    for (const t of [FUNCTION, "aws:ecs/service:Service", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"]) {
      assert.ok(inService.includes(t), `the service holds a ${t}`);
    }
  });

  it("takes the project's config from Pulumi.yaml and Pulumi.dev.yaml", () => {
    const api = run.one(FUNCTION, "catalog-dev-api");
    const env = api.inputs.environment.variables as Record<string, string>;
    assert.equal(env.UPSTREAM_URL, "https://catalog.internal.example.com");
    assert.equal(env.CATALOG_CURRENCY, "EUR");
    assert.equal(env.CACHE_NAMESPACE, "catalog");
    assert.equal(env.API_BASE_PATH, "/dev");
    assert.equal(run.ofType("aws:ec2/natGateway:NatGateway").length, 1, "networkNatMode single: one NAT gateway");
  });

  it("places the subnets by zone ID in AZs that offer the VPC link, whatever the account calls them", () => {
    // In the mock account us-east-1a is use1-az3, which has no VPC link V2 and no VPC Lambdas.
    const zoneIds = run.outputs.availabilityZoneIds as string[];
    assert.equal(zoneIds.length, 2);
    assert.ok(!zoneIds.includes("use1-az3"), zoneIds.join(","));
    for (const s of run.ofType("aws:ec2/subnet:Subnet")) assert.ok(zoneIds.includes(s.state.availabilityZoneId), s.name);
  });

  it("declares the app's routes on the private API, the page query string in the category cache key", () => {
    const paths = run.ofType("aws:apigateway/resource:Resource").map((r) => r.inputs.pathPart as string).sort();
    for (const part of ["products", "{sku}", "categories", "{id}", "rates"]) assert.ok(paths.includes(part), part);
    const categoryIntegration = run.ofType("aws:apigateway/integration:Integration")
      .find((i) => JSON.stringify(i.inputs.cacheKeyParameters ?? []).includes("querystring.page"));
    assert.ok(categoryIntegration, "an integration keys its cache on ?page");
  });

  it("fails on missing config before any resource is created", async () => {
    await assert.rejects(
      runProgram({ program: PROGRAM, stack: "dev", overrides: { upstreamUrl: undefined } }),
      /Missing required configuration variable 'bring-your-own-app:upstreamUrl'/,
    );
  });
  it("refuses what AWS would: a Lambda concurrency quota that the reserved concurrency would exhaust", async () => {
    // 20 (API) + 5 (prices) reserved would leave fewer than 100 unreserved in an account with a quota of 120.
    await assert.rejects(
      runProgram({ program: PROGRAM, stack: "dev", account: { lambdaConcurrencyQuota: 120 } }),
      (e: Error) => e instanceof ProgramError && /UnreservedConcurrentExecution below its minimum value of \[100\]/.test(e.message),
    );
  });
});
