/**
 * The invariants of this architecture, as Pulumi policies. `policy/index.ts` wraps them in a
 * PolicyPack for `pulumi preview --policy-pack policy`; this module has no side effects, so the unit
 * tests and the offline plan (`npm run plan`) run the same policies against the mock engine's
 * resources.
 *
 * Resources are linked through the engine's property dependencies (e.g. an ingress rule's
 * `securityGroupId` came from that security group), which are known at preview time even when the
 * ids are not. A policy that reads a value unknown at preview is skipped by the policy SDK, not
 * failed.
 */
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { LAMBDA_MAX_TIMEOUT_SECONDS, PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS } from "../config";

export type ArchitecturePolicy = ResourceValidationPolicy | StackValidationPolicy;

// Resource type tokens this pack inspects.
export const T = {
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  memcached: "aws:elasticache/cluster:Cluster",
  lambda: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  restApi: "aws:apigateway/restApi:RestApi",
  restApiPolicy: "aws:apigateway/restApiPolicy:RestApiPolicy",
  methodSettings: "aws:apigateway/methodSettings:MethodSettings",
  stage: "aws:apigateway/stage:Stage",
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketEncryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  natGateway: "aws:ec2/natGateway:NatGateway",
  subnet: "aws:ec2/subnet:Subnet",
} as const;

/** Tag that opts a function out of reserved concurrency; its value must say why. */
export const UNRESERVED_CONCURRENCY_TAG = "serverless-cache:unreserved-concurrency";
/** Ports an internet-facing ALB may open to the world. */
export const WORLD_OPEN_ALB_PORTS: readonly number[] = [80, 443];
const WORLD = new Set(["0.0.0.0/0", "::/0"]);

// ---- small readers over untyped property bags ------------------------------------------------------

type Props = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : undefined;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}
function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === "string");
}
function obj(v: unknown): Props {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Props) : {};
}

/** Resources whose property `prop` was computed from `target` (e.g. rules of a security group). */
function dependents(resources: PolicyResource[], type: string, prop: string, target: PolicyResource): PolicyResource[] {
  return resources.filter((r) => r.type === type && (r.propertyDependencies[prop] ?? []).some((d) => d.urn === target.urn));
}
/** The resources of `type` that property `prop` of `r` was computed from. */
function referenced(r: PolicyResource, prop: string, type: string): PolicyResource[] {
  return (r.propertyDependencies[prop] ?? []).filter((d) => d.type === type);
}
/** The stack name, from a resource URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOf(resources: PolicyResource[]): string | undefined {
  const urn = resources[0]?.urn;
  return urn ? /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] : undefined;
}

// ---- ingress ---------------------------------------------------------------------------------------

/** One ingress permission, whatever resource form declared it. */
export interface Ingress {
  /** The resource that declared it (an inline rule is reported on its security group). */
  declaredBy: PolicyResource;
  /** The security group it opens. */
  group?: PolicyResource;
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrs: string[];
  prefixLists: string[];
  /** Source is a security group (or the group itself). */
  fromSecurityGroup: boolean;
}

/** Every ingress permission in the stack: inline `ingress` blocks and both standalone rule types. */
export function ingressPermissions(resources: PolicyResource[]): Ingress[] {
  const out: Ingress[] = [];
  for (const r of resources) {
    const p = r.props as Props;
    if (r.type === T.securityGroup) {
      for (const rule of list(p.ingress).map(obj)) {
        out.push({
          declaredBy: r, group: r, protocol: String(rule.protocol ?? ""), fromPort: num(rule.fromPort), toPort: num(rule.toPort),
          cidrs: [...strings(rule.cidrBlocks), ...strings(rule.ipv6CidrBlocks)],
          prefixLists: strings(rule.prefixListIds),
          fromSecurityGroup: strings(rule.securityGroups).length > 0 || rule.self === true,
        });
      }
    } else if (r.type === T.securityGroupRule && p.type === "ingress") {
      out.push({
        declaredBy: r, group: referenced(r, "securityGroupId", T.securityGroup)[0], protocol: String(p.protocol ?? ""),
        fromPort: num(p.fromPort), toPort: num(p.toPort),
        cidrs: [...strings(p.cidrBlocks), ...strings(p.ipv6CidrBlocks)],
        prefixLists: strings(p.prefixListIds),
        fromSecurityGroup: str(p.sourceSecurityGroupId) !== undefined || p.self === true
          || (r.propertyDependencies.sourceSecurityGroupId ?? []).length > 0,
      });
    } else if (r.type === T.ingressRule) {
      out.push({
        declaredBy: r, group: referenced(r, "securityGroupId", T.securityGroup)[0], protocol: String(p.ipProtocol ?? ""),
        fromPort: num(p.fromPort), toPort: num(p.toPort),
        cidrs: [str(p.cidrIpv4), str(p.cidrIpv6)].filter((c): c is string => c !== undefined),
        prefixLists: strings(p.prefixListId),
        fromSecurityGroup: str(p.referencedSecurityGroupId) !== undefined || (r.propertyDependencies.referencedSecurityGroupId ?? []).length > 0,
      });
    }
  }
  return out;
}

function portText(i: Ingress): string {
  if (i.protocol === "-1" || i.protocol === "all") return "all ports";
  return i.fromPort === i.toPort ? `port ${i.fromPort}` : `ports ${i.fromPort}-${i.toPort}`;
}

/** Whether `group` is attached to an internet-facing Application Load Balancer. */
function onInternetFacingAlb(resources: PolicyResource[], group: PolicyResource | undefined): boolean {
  if (!group) return false;
  return dependents(resources, T.loadBalancer, "securityGroups", group).some((lb) => {
    const p = lb.props as Props;
    return p.internal === false && (p.loadBalancerType ?? "application") === "application";
  });
}

export const noWorldIngress: StackValidationPolicy = {
  name: "no-world-ingress",
  description: "No security group admits 0.0.0.0/0 or ::/0, except an internet-facing ALB on ports 80 and 443.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps: "Admit traffic from a security group or the VPC CIDR instead; only an internet-facing ALB may open 80/443 to the world.",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    for (const i of ingressPermissions(args.resources)) {
      const world = i.cidrs.filter((c) => WORLD.has(c));
      if (world.length === 0) continue;
      const webPort = i.protocol === "tcp" && i.fromPort !== undefined && i.fromPort === i.toPort && WORLD_OPEN_ALB_PORTS.includes(i.fromPort);
      if (webPort && onInternetFacingAlb(args.resources, i.group)) continue;
      const where = i.group ? `security group ${i.group.name}` : "a security group";
      report(`${i.declaredBy.name} opens ${portText(i)} of ${where} to ${world.join(" and ")}; `
        + `allowed only for an internet-facing ALB on tcp ${WORLD_OPEN_ALB_PORTS.join("/")}`, i.declaredBy.urn);
    }
  },
};

export const memcachedIngressFromSecurityGroups: StackValidationPolicy = {
  name: "memcached-ingress-from-security-groups-only",
  description: "A memcached cluster has its own security groups, and they admit traffic only from other security groups (never CIDRs or prefix lists).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Use MemcachedCluster.allowFrom(name, securityGroupId) for each client instead of CIDR rules.",
  validateStack: (args, report) => {
    const ingress = ingressPermissions(args.resources);
    for (const cluster of args.resources.filter((r) => r.type === T.memcached)) {
      if ((cluster.props as Props).engine !== "memcached") continue;
      const groups = referenced(cluster, "securityGroupIds", T.securityGroup);
      if (groups.length === 0) {
        report(`memcached cluster ${cluster.name} has no security group of its own (securityGroupIds), so it gets the VPC default group`, cluster.urn);
        continue;
      }
      for (const i of ingress.filter((x) => x.group && groups.some((g) => g.urn === x.group?.urn))) {
        if (i.cidrs.length > 0 || i.prefixLists.length > 0 || !i.fromSecurityGroup) {
          const source = [...i.cidrs, ...i.prefixLists].join(", ") || "no security group";
          report(`${i.declaredBy.name} admits ${source} into memcached cluster ${cluster.name} (${portText(i)}); only security groups are allowed`, i.declaredBy.urn);
        }
      }
    }
  },
};

// ---- Lambda -----------------------------------------------------------------------------------------

export interface LambdaTimeoutConfig {
  maxTimeoutSeconds: number;
}

export const lambdaTimeout: ResourceValidationPolicy = {
  name: "lambda-timeout-within-project-maximum",
  description: `Every Lambda function sets a timeout below Lambda's ${LAMBDA_MAX_TIMEOUT_SECONDS} s and within the project maximum (default ${PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS} s).`,
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: {
    properties: {
      maxTimeoutSeconds: { type: "integer", minimum: 1, maximum: LAMBDA_MAX_TIMEOUT_SECONDS - 1, default: PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS },
    },
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== T.lambda) return;
    const max = Math.min(args.getConfig<LambdaTimeoutConfig>().maxTimeoutSeconds ?? PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS - 1);
    const timeout = num(args.props.timeout) ?? 3; // Lambda's default when unset
    if (timeout >= LAMBDA_MAX_TIMEOUT_SECONDS || timeout > max) {
      report(`timeout = ${timeout} s; allowed: 1..${max} s (project maximum; Lambda's hard limit is ${LAMBDA_MAX_TIMEOUT_SECONDS} s)`);
    }
  },
};

export const lambdaReservedConcurrency: ResourceValidationPolicy = {
  name: "lambda-reserved-concurrency",
  description: `Every Lambda function reserves concurrency (a cost and blast-radius cap), or opts out with a tag ${UNRESERVED_CONCURRENCY_TAG}=<reason>.`,
  enforcementLevel: "mandatory",
  severity: "medium",
  validateResource: (args, report) => {
    if (args.type !== T.lambda) return;
    const reserved = num(args.props.reservedConcurrentExecutions);
    if (reserved !== undefined && reserved >= 0) return;
    const reason = str(obj(args.props.tags)[UNRESERVED_CONCURRENCY_TAG]);
    if (reason && reason.trim() !== "") return;
    report(`reservedConcurrentExecutions = ${reserved ?? "unset"}; set 0 or more, or tag the function ${UNRESERVED_CONCURRENCY_TAG}=<why it needs none>`);
  },
};

// ---- logs -------------------------------------------------------------------------------------------

export const logRetention: StackValidationPolicy = {
  name: "log-retention-set",
  description: "Every log group sets a retention, and every Lambda function logs to a log group the stack manages (not an auto-created one kept forever).",
  enforcementLevel: "mandatory",
  severity: "medium",
  validateStack: (args, report) => {
    for (const g of args.resources.filter((r) => r.type === T.logGroup)) {
      const days = num((g.props as Props).retentionInDays);
      if (days === undefined || days <= 0) report(`log group ${g.name} keeps logs forever (retentionInDays = ${days ?? "unset"}); set a retention`, g.urn);
    }
    for (const fn of args.resources.filter((r) => r.type === T.lambda)) {
      const managed = referenced(fn, "loggingConfig", T.logGroup).length > 0;
      const fnName = str((fn.props as Props).name);
      const byName = fnName !== undefined && args.resources.some((g) => g.type === T.logGroup && str((g.props as Props).name) === `/aws/lambda/${fnName}`);
      if (!managed && !byName) {
        report(`function ${fn.name} logs to a log group Lambda creates on first use, with no retention; set loggingConfig.logGroup to a managed LogGroup`, fn.urn);
      }
    }
  },
};

// ---- API Gateway -------------------------------------------------------------------------------------

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

function isPrivate(api: PolicyResource): boolean {
  const types = list(obj((api.props as Props).endpointConfiguration).types);
  return types.includes("PRIVATE");
}

/** Why a private API's resource policy does not confine it to VPC endpoints, or undefined if it does. */
export function privatePolicyProblem(policyJson: string | undefined): string | undefined {
  if (!policyJson) return "has no resource policy, so no one (or, with a broad endpoint policy, anyone in the Region) can invoke it";
  let doc: { Statement?: PolicyStatement | PolicyStatement[] };
  try {
    doc = JSON.parse(policyJson) as typeof doc;
  } catch {
    return "has a resource policy that is not valid JSON";
  }
  const statements = list(doc.Statement).map((s) => obj(s) as PolicyStatement);
  const invokes = (s: PolicyStatement): boolean => strings(s.Action).some((a) => a === "execute-api:Invoke" || a === "execute-api:*" || a === "*");
  const vpce = (s: PolicyStatement, op: string): boolean => Object.keys(obj(obj(s.Condition)[op])).some((k) => k.toLowerCase() === "aws:sourcevpce");
  const allows = statements.filter((s) => s.Effect === "Allow" && invokes(s));
  if (allows.length === 0) return "has a resource policy that allows no execute-api:Invoke";
  const open = allows.filter((s) => !vpce(s, "StringEquals"));
  if (open.length > 0) return "allows execute-api:Invoke without a StringEquals aws:SourceVpce condition";
  if (!statements.some((s) => s.Effect === "Deny" && invokes(s) && vpce(s, "StringNotEquals"))) {
    return "does not deny execute-api:Invoke from other sources (Deny with StringNotEquals aws:SourceVpce)";
  }
  return undefined;
}

export const privateApiRestrictedToEndpoint: StackValidationPolicy = {
  name: "private-api-restricted-to-vpc-endpoint",
  description: "A PRIVATE REST API's resource policy allows execute-api:Invoke only through a VPC endpoint (aws:SourceVpce) and denies everything else.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    for (const api of args.resources.filter((r) => r.type === T.restApi && isPrivate(r))) {
      const attached = dependents(args.resources, T.restApiPolicy, "restApiId", api).map((p) => str((p.props as Props).policy));
      const inline = str((api.props as Props).policy);
      const candidates = [inline, ...attached].filter((p): p is string => p !== undefined);
      const problems = candidates.length === 0 ? [privatePolicyProblem(undefined)] : candidates.map(privatePolicyProblem);
      for (const problem of problems) if (problem) report(`private REST API ${api.name} ${problem}`, api.urn);
    }
  },
};

export const stageCacheEncrypted: ResourceValidationPolicy = {
  name: "api-stage-cache-encrypted",
  description: "Method settings that enable caching also encrypt the cache data.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    if (args.type !== T.methodSettings) return;
    const s = obj(args.props.settings);
    if (s.cachingEnabled === true && s.cacheDataEncrypted !== true) {
      report(`methodPath ${str(args.props.methodPath) ?? "?"} caches responses with cacheDataEncrypted = ${String(s.cacheDataEncrypted ?? "unset")}; set it to true`);
    }
  },
};

export const cacheInvalidationAuthorized: ResourceValidationPolicy = {
  name: "api-cache-invalidation-authorized",
  description: "Cached methods require IAM authorization for Cache-Control: max-age=0 and reject unauthorized invalidation with 403.",
  enforcementLevel: "mandatory",
  severity: "medium",
  validateResource: (args, report) => {
    if (args.type !== T.methodSettings) return;
    const s = obj(args.props.settings);
    if (s.cachingEnabled !== true) return;
    if (s.requireAuthorizationForCacheControl !== true || s.unauthorizedCacheControlHeaderStrategy !== "FAIL_WITH_403") {
      report(`methodPath ${str(args.props.methodPath) ?? "?"}: requireAuthorizationForCacheControl = ${String(s.requireAuthorizationForCacheControl ?? "unset")}, `
        + `unauthorizedCacheControlHeaderStrategy = ${String(s.unauthorizedCacheControlHeaderStrategy ?? "unset")}; required: true and FAIL_WITH_403, `
        + "or any client can flush entries and send every request to the backend");
    }
  },
};

// ---- S3 -----------------------------------------------------------------------------------------------

export const s3PrivateAndEncrypted: StackValidationPolicy = {
  name: "s3-private-and-encrypted",
  description: "Every S3 bucket has a public access block with all four settings on, default encryption, and no public ACL.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    for (const bucket of args.resources.filter((r) => r.type === T.bucket || r.type === T.bucketV2)) {
      const p = bucket.props as Props;
      if (p.acl === "public-read" || p.acl === "public-read-write") report(`bucket ${bucket.name} has acl ${String(p.acl)}`, bucket.urn);
      const blocks = dependents(args.resources, T.publicAccessBlock, "bucket", bucket);
      const fullBlock = blocks.some((b) => {
        const bp = b.props as Props;
        return bp.blockPublicAcls === true && bp.blockPublicPolicy === true && bp.ignorePublicAcls === true && bp.restrictPublicBuckets === true;
      });
      if (!fullBlock) report(`bucket ${bucket.name} has no BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true`, bucket.urn);
      const encryption = [...dependents(args.resources, T.bucketEncryption, "bucket", bucket), ...dependents(args.resources, T.bucketEncryptionV2, "bucket", bucket)];
      const inline = Object.keys(obj(p.serverSideEncryptionConfiguration)).length > 0;
      if (encryption.length === 0 && !inline) report(`bucket ${bucket.name} has no default encryption (BucketServerSideEncryptionConfiguration)`, bucket.urn);
    }
  },
};

// ---- production resilience ----------------------------------------------------------------------------

export interface ProductionConfig {
  productionStacks: string[];
}

function azOfSubnet(subnet: PolicyResource | undefined): string | undefined {
  return subnet ? str((subnet.props as Props).availabilityZone) : undefined;
}

export const productionResilience: StackValidationPolicy = {
  name: "production-multi-az",
  description: "A production stack has one NAT gateway in each AZ that has subnets, and memcached clusters of 2+ nodes in cross-AZ mode over 2+ AZs.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: {
    properties: { productionStacks: { type: "array", items: { type: "string" }, default: ["prod"] } },
  },
  validateStack: (args, report) => {
    const stack = stackOf(args.resources);
    const production = args.getConfig<ProductionConfig>().productionStacks ?? ["prod"];
    if (!stack || !production.includes(stack)) args.notApplicable(`stack ${stack ?? "?"} is not a production stack (${production.join(", ")})`);

    const subnetAzs = new Set(args.resources.filter((r) => r.type === T.subnet).map(azOfSubnet).filter((z): z is string => z !== undefined));
    const nats = args.resources.filter((r) => r.type === T.natGateway && (r.props as Props).connectivityType !== "private");
    const natAzs = new Map<string, string[]>();
    for (const nat of nats) {
      const az = azOfSubnet(referenced(nat, "subnetId", T.subnet)[0]) ?? "unknown AZ";
      natAzs.set(az, [...(natAzs.get(az) ?? []), nat.name]);
    }
    const missing = [...subnetAzs].filter((az) => !natAzs.has(az)).sort();
    if (missing.length > 0) {
      report(`stack ${stack} has ${nats.length} NAT gateway(s) for ${subnetAzs.size} AZs; no NAT gateway in ${missing.join(", ")} `
        + "(an AZ outage would cut the others off the internet; set natMode: perAz)");
    }
    for (const cluster of args.resources.filter((r) => r.type === T.memcached && (r.props as Props).engine === "memcached")) {
      const p = cluster.props as Props;
      const nodes = num(p.numCacheNodes) ?? 1;
      const azs = new Set(strings(p.preferredAvailabilityZones));
      if (p.azMode !== "cross-az" || nodes < 2 || azs.size < 2) {
        report(`memcached cluster ${cluster.name}: azMode = ${String(p.azMode ?? "single-az")}, numCacheNodes = ${nodes}, preferred AZs = ${azs.size}; `
          + "production needs cross-az with 2+ nodes over 2+ AZs", cluster.urn);
      }
    }
  },
};

/** Every policy of the pack, in the order they are reported. */
export const policies: ArchitecturePolicy[] = [
  noWorldIngress,
  memcachedIngressFromSecurityGroups,
  lambdaTimeout,
  lambdaReservedConcurrency,
  logRetention,
  privateApiRestrictedToEndpoint,
  stageCacheEncrypted,
  cacheInvalidationAuthorized,
  s3PrivateAndEncrypted,
  productionResilience,
];
