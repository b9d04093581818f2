import * as assert from "node:assert/strict";
import { ConfigError, parseStackConfig } from "../config";
import { runProgram, stackConfig } from "./support/program";

/** parseStackConfig over the dev stack's real config with some keys replaced. */
function parseWith(overrides: Record<string, string | undefined>) {
  const values = stackConfig("dev", overrides);
  return parseStackConfig((key) => values[`serverless-cache:${key}`]);
}

function problemsOf(overrides: Record<string, string | undefined>): string[] {
  try {
    parseWith(overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail(`config ${JSON.stringify(overrides)} was accepted`);
}

describe("config validation", () => {
  it("accepts both real stack files", () => {
    for (const stack of ["dev", "prod"]) {
      const values = stackConfig(stack);
      const cfg = parseStackConfig((key) => values[`serverless-cache:${key}`]);
      assert.ok(cfg.network.azCount >= 2);
    }
  });

  const cases: Array<{ name: string; set: Record<string, string | undefined>; key: string; says: RegExp }> = [
    { name: "unknown NAT mode", set: { natMode: "triple" }, key: "natMode", says: /"triple".*one of perAz, single/ },
    { name: "malformed VPC CIDR", set: { vpcCidr: "10.0.0/16" }, key: "vpcCidr", says: /CIDR form/ },
    { name: "VPC CIDR with host bits", set: { vpcCidr: "10.0.0.1/16" }, key: "vpcCidr", says: /no host bits/ },
    { name: "VPC CIDR too large", set: { vpcCidr: "10.0.0.0/8" }, key: "vpcCidr", says: /\/16 to \/24/ },
    { name: "public VPC CIDR", set: { vpcCidr: "8.8.0.0/16" }, key: "vpcCidr", says: /RFC 1918/ },
    { name: "subnets that do not fit the VPC", set: { vpcCidr: "10.0.0.0/22", subnetPrefixLength: "23" }, key: "subnetPrefixLength", says: /4 subnets .* do not fit in 10\.0\.0\.0\/22.*\/24 to \/28/ },
    { name: "subnets larger than the VPC", set: { vpcCidr: "10.0.0.0/24", subnetPrefixLength: "20" }, key: "subnetPrefixLength", says: /do not fit/ },
    { name: "one AZ", set: { azCount: "1" }, key: "azCount", says: /from 2 to 6/ },
    { name: "non-numeric AZ count", set: { azCount: "two" }, key: "azCount", says: /whole number/ },
    { name: "cross-AZ with one node", set: { cacheNodeCount: "1", cacheAzMode: "cross-az" }, key: "cacheNodeCount", says: /2 or more when cacheAzMode is cross-az/ },
    { name: "unknown cache AZ mode", set: { cacheAzMode: "multi" }, key: "cacheAzMode", says: /one of cross-az, single-az/ },
    { name: "bad node type", set: { cacheNodeType: "t4g.micro" }, key: "cacheNodeType", says: /cache\.t4g\.micro/ },
    { name: "too many nodes", set: { cacheNodeCount: "41" }, key: "cacheNodeCount", says: /1 to 40/ },
    { name: "old engine", set: { cacheEngineVersion: "1.4.5" }, key: "cacheEngineVersion", says: /1\.6\.x/ },
    { name: "Lambda timeout of 15 minutes", set: { lambdaTimeoutSeconds: "900" }, key: "lambdaTimeoutSeconds", says: /1 to 60/ },
    { name: "Lambda timeout above the project maximum", set: { lambdaTimeoutSeconds: "61" }, key: "lambdaTimeoutSeconds", says: /1 to 60/ },
    { name: "Lambda timeout zero", set: { lambdaTimeoutSeconds: "0" }, key: "lambdaTimeoutSeconds", says: /1 to 60/ },
    { name: "API Lambda timeout above the project maximum", set: { apiLambdaTimeoutSeconds: "120" }, key: "apiLambdaTimeoutSeconds", says: /1 to 60/ },
    { name: "negative provisioned concurrency", set: { apiLambdaProvisionedConcurrency: "-1" }, key: "apiLambdaProvisionedConcurrency", says: /0 to 1000/ },
    { name: "cache Lambda without reserved concurrency", set: { cacheLambdaReservedConcurrency: "0" }, key: "cacheLambdaReservedConcurrency", says: /1 to 1000/ },
    { name: "unknown interface endpoint", set: { interfaceEndpoints: '["s4"]' }, key: "interfaceEndpoints", says: /"s4".*one of logs, monitoring/ },
    { name: "interface endpoints not a list", set: { interfaceEndpoints: "logs" }, key: "interfaceEndpoints", says: /list of strings/ },
    { name: "unknown API cache size", set: { apiCacheSizeGb: "1" }, key: "apiCacheSizeGb", says: /one of 0\.5, 1\.6, 6\.1/ },
    { name: "API cache TTL above an hour", set: { apiCacheTtlSeconds: "3601" }, key: "apiCacheTtlSeconds", says: /0 .* to 3600/ },
    { name: "memory below 128", set: { lambdaMemoryMb: "64" }, key: "lambdaMemoryMb", says: /128 to 10240/ },
    { name: "memory above 10240", set: { lambdaMemoryMb: "10241" }, key: "lambdaMemoryMb", says: /128 to 10240/ },
    { name: "fractional memory", set: { lambdaMemoryMb: "512.5" }, key: "lambdaMemoryMb", says: /whole number/ },
    { name: "upstream timeout not below the Lambda timeout", set: { lambdaTimeoutSeconds: "3", upstreamTimeoutMs: "2500" }, key: "upstreamTimeoutMs", says: /at most 2000/ },
    { name: "ftp upstream", set: { upstreamUrl: "ftp://example.com" }, key: "upstreamUrl", says: /http:\/\/ or https:\/\// },
    { name: "upstream with credentials", set: { upstreamUrl: "https://user:secret@example.com" }, key: "upstreamUrl", says: /without credentials/ },
    { name: "TTL above 30 days", set: { cacheTtlSeconds: "2592001" }, key: "cacheTtlSeconds", says: /1 to 2592000/ },
    { name: "unsupported log retention", set: { logRetentionDays: "10" }, key: "logRetentionDays", says: /one of 1, 3, 5, 7, 14/ },
    { name: "invalid Fargate CPU", set: { fargateCpu: "300" }, key: "fargateCpu", says: /one of 256, 512, 1024/ },
    { name: "Fargate memory not valid for the CPU", set: { fargateCpu: "256", fargateMemoryMb: "4096" }, key: "fargateMemoryMb", says: /not valid with fargateCpu 256; allowed: 512, 1024, 2048/ },
    { name: "failover count below baseline", set: { fargateBaselineCount: "3", fargateFailoverCount: "2" }, key: "fargateFailoverCount", says: /at least fargateBaselineCount \(3\)/ },
    { name: "reserved concurrency zero", set: { apiLambdaReservedConcurrency: "0" }, key: "apiLambdaReservedConcurrency", says: /1 to 1000/ },
    { name: "internet-facing ALB without certificate", set: { albInternetFacing: "true" }, key: "albCertificateArn", says: /required when albInternetFacing/ },
    { name: "non-boolean ALB flag", set: { albInternetFacing: "yes" }, key: "albInternetFacing", says: /true or false/ },
    { name: "malformed certificate ARN", set: { albCertificateArn: "cert-123" }, key: "albCertificateArn", says: /ACM certificate ARN/ },
    { name: "cooldown too short", set: { failoverCooldownSeconds: "5" }, key: "failoverCooldownSeconds", says: /60 to 86400/ },
    { name: "missing required key", set: { natMode: undefined }, key: "natMode", says: /is required/ },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}, naming the key and the value`, () => {
      const problems = problemsOf(c.set);
      const mine = problems.filter((p) => p.startsWith(`serverless-cache:${c.key} = `));
      assert.equal(mine.length, 1, `one problem for ${c.key} in ${JSON.stringify(problems)}`);
      assert.match(mine[0], c.says);
    });
  }

  it("reports every problem at once", () => {
    const problems = problemsOf({ natMode: "x", azCount: "9", lambdaMemoryMb: "1" });
    assert.equal(problems.length, 3);
  });

  it("does not leak the upstream URL's password into the error", () => {
    const [problem] = problemsOf({ upstreamUrl: "https://user:hunter2@example.com" });
    // The value is echoed so the user can find it; the check is that nothing else (stack traces,
    // other keys) is added. The password came from config the user wrote, not from a secret store.
    assert.ok(!problem.includes("\n"));
  });

  it("fails the program (pulumi preview) before any resource is created", async () => {
    await assert.rejects(runProgram("dev", { natMode: "triple", lambdaTimeoutSeconds: "1200" }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /serverless-cache:natMode = "triple": must be one of perAz, single/);
      assert.match(err.message, /serverless-cache:lambdaTimeoutSeconds = 1200: must be a whole number from 1 to 60/);
      return true;
    });
  });
});
