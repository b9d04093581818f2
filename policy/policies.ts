/**
 * The invariants of this architecture, as Pulumi policies. `policy/index.ts` wraps them in a
 * PolicyPack for `pulumi preview --policy-pack policy`; this module has no side effects, so the unit
 * tests and the offline plan (`npm run plan`) run the same policies against the mock engine's
 * resources.
 *
 * Written for real previews, where a resource that does not exist yet has unknown outputs:
 *   - Checks that need only one resource's inputs are resource policies (inputs are mostly known).
 *   - Stack policies link resources through the engine's property dependencies (a rule's
 *     `securityGroupId` came from that group), known even before ids exist, and read every value
 *     with `get`, which turns the policy SDK's "unknown during preview" error into UNKNOWN so one
 *     unknown field never silences a whole policy.
 *   - Provider-computed outputs are never taken as evidence that something is safe (a bucket's
 *     default encryption does not count); a group's `ingress` output is read, but unknown is skipped
 *     (after a refresh it also lists standalone rules, which can then be reported twice).
 */
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { FARGATE_ZONE_IDS, LAMBDA_VPC_UNSUPPORTED_ZONE_IDS, VPC_LINK_V2_ZONE_IDS, zoneIdPrefix } from "../components/awsAvailability";
import { LAMBDA_MAX_TIMEOUT_SECONDS, PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS } from "../config";

export type ArchitecturePolicy = ResourceValidationPolicy | StackValidationPolicy;

// Resource type tokens this pack inspects.
export const T = {
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  defaultSecurityGroup: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egressRule: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  managedPrefixList: "aws:ec2/managedPrefixList:ManagedPrefixList",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  memcached: "aws:elasticache/cluster:Cluster",
  lambda: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  restApi: "aws:apigateway/restApi:RestApi",
  restApiPolicy: "aws:apigateway/restApiPolicy:RestApiPolicy",
  methodSettings: "aws:apigateway/methodSettings:MethodSettings",
  stage: "aws:apigateway/stage:Stage",
  vpcEndpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  bucketAcl: "aws:s3/bucketAclV2:BucketAclV2",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketEncryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  natGateway: "aws:ec2/natGateway:NatGateway",
  subnet: "aws:ec2/subnet:Subnet",
  route: "aws:ec2/route:Route",
  routeTable: "aws:ec2/routeTable:RouteTable",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  vpcLink: "aws:apigatewayv2/vpcLink:VpcLink",
  ecsService: "aws:ecs/service:Service",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
  eventInvokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  lambdaAlias: "aws:lambda/alias:Alias",
  lambdaPermission: "aws:lambda/permission:Permission",
  iamPolicy: "aws:iam/policy:Policy",
  iamRole: "aws:iam/role:Role",
  iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
  iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
  iamGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iamUserPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  iamGroupPolicyAttachment: "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  iamPolicyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
} as const;

/** Tag that opts a function out of reserved concurrency; its value must say why. */
export const UNRESERVED_CONCURRENCY_TAG = "serverless-cache:unreserved-concurrency";
/** Ports an internet-facing ALB may open to the world. */
export const WORLD_OPEN_ALB_PORTS: readonly number[] = [80, 443];
/** Rules refer to groups without attaching them to anything. */
const RULE_TYPES: readonly string[] = [
  "aws:ec2/securityGroupRule:SecurityGroupRule",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
];
const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);

// ---- reading values that may be unknown at preview ------------------------------------------------

/** A value the engine cannot know during preview (it depends on a resource not created yet). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
type Unknown = typeof UNKNOWN;

function isUnknownValueError(err: unknown): boolean {
  // The policy SDK throws its (internal) UnknownValueError from the props proxy.
  return err instanceof Error && err.constructor.name === "UnknownValueError";
}

/** `o[key]`, or UNKNOWN when the value is unknown at preview, or undefined when `o` is not an object. */
export function get(o: unknown, key: string | number): unknown {
  if (o === UNKNOWN) return UNKNOWN;
  if (o === null || typeof o !== "object") return undefined;
  try {
    return (o as Record<string | number, unknown>)[key];
  } catch (err) {
    if (isUnknownValueError(err)) return UNKNOWN;
    throw err;
  }
}
/** `get` along a path. */
function at(o: unknown, ...path: Array<string | number>): unknown {
  return path.reduce<unknown>((cur, key) => (cur === UNKNOWN ? UNKNOWN : get(cur, key)), o);
}
/** The elements of a list value (a single value counts as a one-element list; UNKNOWN stays one unknown element). */
function items(v: unknown): unknown[] {
  if (v === UNKNOWN) return [UNKNOWN];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return [v];
  const length = get(v, "length");
  if (typeof length !== "number") return [UNKNOWN];
  return Array.from({ length }, (_, i) => get(v, i));
}
/** A value for a message: "unknown at preview" rather than the symbol. */
function show(v: unknown): string {
  return v === UNKNOWN ? "unknown at preview" : String(v);
}
function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : undefined;
}
function strings(v: unknown): string[] {
  return items(v).filter((x): x is string => typeof x === "string");
}

// ---- linking resources ---------------------------------------------------------------------------

/** Resources of `type` whose property `prop` was computed from `target` (e.g. the rules of a group). */
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

// ---- security group rules ------------------------------------------------------------------------

/** The port memcached listens on (ElastiCache's default, and MemcachedCluster's). */
export const MEMCACHED_PORT = 11211;
/** Default of no-open-egress's `allowedWorldEgressPorts`: HTTPS, for the upstream and AWS APIs through NAT. */
export const DEFAULT_ALLOWED_WORLD_EGRESS_PORTS: readonly number[] = [443];
const SECURITY_GROUP_TYPES: readonly string[] = [T.securityGroup, T.defaultSecurityGroup];
const MANAGED_PREFIX_LISTS_DOC = "https://docs.aws.amazon.com/vpc/latest/userguide/managed-prefix-lists.html";

/**
 * Whether a source CIDR means "the internet": 0.0.0.0/0 and ::/0, and any public range of /8 or
 * wider (IPv4) or /16 or wider (IPv6), such as 0.0.0.0/1. Private ranges (10/8, fc00::/7) are not.
 */
export function isWorldLike(cidr: string): boolean {
  const [address, lengthText] = cidr.trim().split("/");
  const length = Number(lengthText);
  if (!address || !Number.isInteger(length) || length < 0) return false;
  if (length === 0) return true;
  if (address.includes(":")) {
    if (length > 16) return false;
    // The network of the first 16 bits, as AWS canonicalises it (e.g. fd00::/1 is ::/1).
    const first = parseInt(address.split(":")[0] || "0", 16) & (0xffff << (16 - length)) & 0xffff;
    return !((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80);
  }
  if (length > 8) return false;
  // The network AWS stores is the masked address: 10.0.0.0/1 is 0.0.0.0/1, half the internet.
  const first = Number(address.split(".")[0]) & (0xff << (8 - length)) & 0xff;
  return first !== 10 && first !== 127;
}

/** Ranges no internet host is in: RFC 1918, CGNAT (RFC 6598 100.64/10), link-local, loopback. [network, prefix length] */
const NON_PUBLIC_V4: ReadonlyArray<readonly [number, number]> = [
  [0x0a000000, 8], [0xac100000, 12], [0xc0a80000, 16], [0x64400000, 10], [0xa9fe0000, 16], [0x7f000000, 8],
];

function parseIpv4(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** The eight 16-bit groups of an IPv6 address (no embedded IPv4), or undefined. */
function parseIpv6(address: string): number[] | undefined {
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return undefined;
  const all = [...head, ...Array<string>(fill).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

/**
 * Whether a CIDR holds any public (internet-routable) address, whatever its length: anything but
 * RFC 1918 (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10), link-local (169.254/16) and loopback
 * (127/8); for IPv6 anything but unique-local (fc00::/7), link-local (fe80::/10) and ::1. A range that
 * spills out of those (10.0.0.0/7) is public. Unparseable text is not (AWS refuses it).
 */
export function isPublicCidr(cidr: string): boolean {
  const [address, lengthText, extra] = cidr.trim().split("/");
  if (!address || extra !== undefined || !/^\d{1,3}$/.test(lengthText ?? "")) return false;
  const length = Number(lengthText);
  if (address.includes(":")) {
    const g = parseIpv6(address);
    if (!g || length > 128) return false;
    if (length >= 7 && (g[0] & 0xfe00) === 0xfc00) return false;
    if (length >= 10 && (g[0] & 0xffc0) === 0xfe80) return false;
    return !(length === 128 && g.slice(0, 7).every((x) => x === 0) && g[7] === 1);
  }
  const a = parseIpv4(address);
  if (a === undefined || length > 32) return false;
  return !NON_PUBLIC_V4.some(([net, bits]) => length >= bits && Math.floor(a / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)));
}

/** One security group permission (ingress or egress), whatever resource form declared it. Values may be UNKNOWN at preview. */
export interface SecurityGroupPermission {
  direction: "ingress" | "egress";
  /** The resource that declared it (an inline rule is reported on its security group). */
  declaredBy: PolicyResource | undefined;
  /** The security group it belongs to, when the stack holds it (by property dependency or by id). */
  group?: PolicyResource;
  /** The security group id a standalone rule names (`securityGroupId`), as written. */
  groupId?: unknown;
  protocol: unknown;
  fromPort: unknown;
  toPort: unknown;
  /** Peer CIDRs (IPv4 and IPv6): sources of ingress, destinations of egress; UNKNOWN for one not known yet. */
  cidrs: Array<string | Unknown>;
  /** Peer managed prefix lists. */
  prefixLists: unknown[];
  /** The property of `declaredBy` the prefix lists were read from (its property dependencies say where they came from). */
  prefixListProp: string;
  /** The peer is a security group (or the group itself). */
  fromSecurityGroup: boolean;
}
/** One ingress permission (kept for readers of the earlier name). */
export type Ingress = SecurityGroupPermission;

/** Permissions of one direction declared by one resource's props (inline blocks of a group, or a standalone rule). */
export function permissionsOf(direction: "ingress" | "egress", type: string, props: unknown, self?: PolicyResource, group?: PolicyResource): SecurityGroupPermission[] {
  const cidrsOf = (...values: unknown[]): Array<string | Unknown> => values.flatMap(items).filter((c): c is string | Unknown => typeof c === "string" || c === UNKNOWN);
  const base = { direction, declaredBy: self };
  if (type === T.securityGroup || type === T.defaultSecurityGroup) {
    // Only declared rules count: for a group with no inline rules the provider computes them, unknown at preview.
    return items(get(props, direction)).filter((rule) => rule !== UNKNOWN).map((rule) => ({
      ...base, group: self, protocol: get(rule, "protocol"), fromPort: get(rule, "fromPort"), toPort: get(rule, "toPort"),
      cidrs: cidrsOf(get(rule, "cidrBlocks"), get(rule, "ipv6CidrBlocks")),
      prefixLists: items(get(rule, "prefixListIds")), prefixListProp: direction,
      fromSecurityGroup: items(get(rule, "securityGroups")).length > 0 || get(rule, "self") === true,
    }));
  }
  if (type === T.securityGroupRule && get(props, "type") === direction) {
    return [{
      ...base, group, groupId: get(props, "securityGroupId"), protocol: get(props, "protocol"), fromPort: get(props, "fromPort"), toPort: get(props, "toPort"),
      cidrs: cidrsOf(get(props, "cidrBlocks"), get(props, "ipv6CidrBlocks")),
      prefixLists: items(get(props, "prefixListIds")), prefixListProp: "prefixListIds",
      fromSecurityGroup: get(props, "sourceSecurityGroupId") !== undefined || get(props, "self") === true,
    }];
  }
  if (type === (direction === "ingress" ? T.ingressRule : T.egressRule)) {
    const sourcePrefixList = items(get(props, "sourcePrefixListId")); // not an aws.vpc input today; read in case a provider adds it
    return [{
      ...base, group, groupId: get(props, "securityGroupId"), protocol: get(props, "ipProtocol"), fromPort: get(props, "fromPort"), toPort: get(props, "toPort"),
      cidrs: cidrsOf(get(props, "cidrIpv4"), get(props, "cidrIpv6")),
      prefixLists: [...items(get(props, "prefixListId")), ...sourcePrefixList], prefixListProp: sourcePrefixList.length > 0 ? "sourcePrefixListId" : "prefixListId",
      fromSecurityGroup: get(props, "referencedSecurityGroupId") !== undefined,
    }];
  }
  return [];
}

/** Ingress permissions of one resource's props. */
export function ingressOf(type: string, props: unknown, self?: PolicyResource, group?: PolicyResource): Ingress[] {
  return permissionsOf("ingress", type, props, self, group);
}

/**
 * The security group a standalone rule belongs to: the group its `securityGroupId` was computed from,
 * or else the group of the stack whose id it names literally (`securityGroupId: "sg-0123..."`).
 */
function groupOfRule(resources: PolicyResource[], rule: PolicyResource): PolicyResource | undefined {
  const linked = (rule.propertyDependencies.securityGroupId ?? []).find((d) => SECURITY_GROUP_TYPES.includes(d.type));
  if (linked) return linked;
  const id = str(get(rule.props, "securityGroupId"));
  return id === undefined ? undefined : resources.find((g) => SECURITY_GROUP_TYPES.includes(g.type) && str(get(g.props, "id")) === id);
}

/** Every permission of one direction in the stack, linked to the group it belongs to where the stack holds it. */
function stackPermissions(resources: PolicyResource[], direction: "ingress" | "egress"): SecurityGroupPermission[] {
  return resources.flatMap((r) => {
    const group = SECURITY_GROUP_TYPES.includes(r.type) ? r : groupOfRule(resources, r);
    return permissionsOf(direction, r.type, r.props, r, group);
  });
}

/** "all", "tcp", "udp", "icmp", ... (protocol numbers 6, 17, 1 by name), or UNKNOWN. */
function protocolOf(i: SecurityGroupPermission): string | Unknown {
  if (i.protocol === UNKNOWN) return UNKNOWN;
  const p = String(i.protocol).toLowerCase();
  return p === "-1" || p === "all" ? "all" : ({ "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" } as Record<string, string>)[p] ?? p;
}

function portText(i: SecurityGroupPermission): string {
  if (protocolOf(i) === "all") return "all ports";
  const from = i.fromPort === UNKNOWN ? "?" : String(i.fromPort);
  const to = i.toPort === UNKNOWN ? "?" : String(i.toPort);
  return from === to ? `port ${from}` : `ports ${from}-${to}`;
}

/** A single web port an internet-facing ALB may open (tcp 80 or 443). */
function isWebPort(i: SecurityGroupPermission): boolean {
  const from = num(i.fromPort);
  return protocolOf(i) === "tcp" && from !== undefined && from === num(i.toPort) && WORLD_OPEN_ALB_PORTS.includes(from);
}

/** Whether the permission reaches `port` (any protocol, or tcp/udp with the port in its range); false when unknown. */
function coversPort(i: SecurityGroupPermission, port: number): boolean {
  const protocol = protocolOf(i);
  if (protocol === "all") return true;
  const from = num(i.fromPort);
  const to = num(i.toPort);
  return (protocol === "tcp" || protocol === "udp") && from !== undefined && to !== undefined && from <= port && port <= to;
}

/** Whether a tcp permission opens only ports from `allowed`; UNKNOWN when its protocol or ports are not known yet. */
function onlyPorts(i: SecurityGroupPermission, allowed: readonly number[]): boolean | Unknown {
  const protocol = protocolOf(i);
  if (protocol === UNKNOWN || (protocol !== "all" && (i.fromPort === UNKNOWN || i.toPort === UNKNOWN))) return UNKNOWN;
  const from = num(i.fromPort);
  const to = num(i.toPort);
  if (protocol !== "tcp" || from === undefined || to === undefined || from > to || to - from + 1 > allowed.length) return false;
  for (let p = from; p <= to; p++) if (!allowed.includes(p)) return false;
  return true;
}

function worldSources(i: SecurityGroupPermission): string[] {
  return i.cidrs.filter((c): c is string => c !== UNKNOWN && isWorldLike(c));
}

function prefixListText(lists: unknown[]): string {
  return lists.map((p) => `prefix list ${p === UNKNOWN ? "(unknown at preview)" : String(p)}`).join(", ");
}

export const noWorldIngress: ResourceValidationPolicy = {
  name: "no-world-ingress",
  description: "No security group rule admits the internet (0.0.0.0/0, ::/0 or any public /8-or-wider range), except tcp 80/443 (checked by world-web-ingress-only-on-internet-facing-alb); "
    + `no rule admits a managed prefix list on any other port (its entries live outside the rule and can hold any range); and nothing public of any length (not even a /32) reaches the memcached port ${MEMCACHED_PORT}. `
    + `${MANAGED_PREFIX_LISTS_DOC} ; https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html`,
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps: "Admit traffic from a security group or the VPC CIDR instead; only an internet-facing ALB may open 80/443 to the world (or to a prefix list such as CloudFront's origin-facing one). "
    + "Memcached has no authentication: admit its clients' security groups: an aws.vpc.SecurityGroupIngressRule on the cluster's group per client (CacheFunction and HybridLambdaFargateService create theirs; MemcachedCluster `allowedSecurityGroupIds` for clients known up front). https://docs.aws.amazon.com/AmazonElastiCache/latest/mem-ug/accessing-elasticache.html",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    for (const i of ingressOf(args.type, args.props)) {
      const world = worldSources(i);
      const protocol = `protocol ${show(i.protocol)}`;
      if (world.length > 0 && !isWebPort(i)) {
        report(`opens ${portText(i)} (${protocol}) to ${world.join(" and ")}; only an internet-facing ALB may be reached from the internet, and only on tcp ${WORLD_OPEN_ALB_PORTS.join("/")}`);
      }
      if (coversPort(i, MEMCACHED_PORT)) {
        const publicSources = i.cidrs.filter((c): c is string => c !== UNKNOWN && isPublicCidr(c) && !world.includes(c));
        if (publicSources.length > 0) {
          report(`opens ${portText(i)} (${protocol}), which includes the memcached port ${MEMCACHED_PORT}, to public range(s) ${publicSources.join(" and ")}; `
            + "memcached has no authentication, so no public address of any prefix length (not even a /32) may reach it; admit the clients' security groups instead");
        }
      }
      if (i.prefixLists.length > 0 && !isWebPort(i)) {
        report(`admits ${prefixListText(i.prefixLists)} on ${portText(i)} (${protocol}); a prefix list's entries are managed outside this rule and may hold any range, 0.0.0.0/0 included, `
          + `so only tcp ${WORLD_OPEN_ALB_PORTS.join("/")} may come from one (e.g. CloudFront's origin-facing list on an internet-facing ALB); admit a security group instead`);
      }
    }
  },
};

/**
 * Resources a security group is attached to: every resource with a property computed from the group
 * (load balancers, tasks, functions, endpoints, ENI attachments, launch templates, ...), except rules
 * and other groups, which only refer to it as a source or target.
 */
function attachmentsOf(resources: PolicyResource[], group: PolicyResource): PolicyResource[] {
  return resources.filter((r) => r !== group && !RULE_TYPES.includes(r.type) && r.type !== T.securityGroup
    && Object.values(r.propertyDependencies).some((deps) => deps.some((d) => d.urn === group.urn)));
}

function isInternetFacingAlb(r: PolicyResource): boolean {
  // `internal` unset means internet-facing (AWS's default).
  return r.type === T.loadBalancer && get(r.props, "internal") !== true && get(r.props, "internal") !== UNKNOWN
    && (get(r.props, "loadBalancerType") ?? "application") === "application";
}

export const worldWebIngressOnlyOnAlb: StackValidationPolicy = {
  name: "world-web-ingress-only-on-internet-facing-alb",
  description: "A security group that admits the internet on tcp 80/443 (a world range, or a managed prefix list, whose entries may hold 0.0.0.0/0) is attached to internet-facing "
    + "Application Load Balancers only (no task, function, endpoint or internal load balancer shares it).",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    for (const i of stackPermissions(args.resources, "ingress")) {
      // no-world-ingress lets a prefix list through on 80/443 only for this check: it is as open as the world.
      const world = [...worldSources(i), ...(i.prefixLists.length > 0 ? [prefixListText(i.prefixLists)] : [])];
      if (world.length === 0 || !isWebPort(i)) continue;
      const where = i.group ? `security group ${i.group.name}` : "a security group outside this stack";
      const attached = i.group ? attachmentsOf(args.resources, i.group) : [];
      const others = attached.filter((r) => !isInternetFacingAlb(r));
      if (attached.length === 0 || others.length > 0) {
        const why = attached.length === 0 ? "is attached to no internet-facing ALB" : `is also attached to ${others.map((r) => r.name).join(", ")}`;
        report(`${i.declaredBy?.name ?? "a rule"} opens ${portText(i)} of ${where} to ${world.join(" and ")}, and the group ${why}`, i.declaredBy?.urn);
      }
    }
  },
};

export const memcachedIngressFromSecurityGroups: StackValidationPolicy = {
  name: "memcached-ingress-from-security-groups-only",
  description: "A memcached cluster has its own security groups (of this stack), and they admit traffic only from other security groups (never CIDRs or prefix lists, private ones included). "
    + "Rules are matched to the cluster's groups by property dependency and by literal id (securityGroupId: \"sg-...\"). https://docs.aws.amazon.com/AmazonElastiCache/latest/mem-ug/accessing-elasticache.html",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Admit each client by its security group (an aws.vpc.SecurityGroupIngressRule with referencedSecurityGroupId on the cluster's group; CacheFunction and HybridLambdaFargateService create theirs; MemcachedCluster `allowedSecurityGroupIds`) instead of CIDR or prefix-list rules; give the cluster a security group created in this stack.",
  validateStack: (args, report) => {
    const ingress = stackPermissions(args.resources, "ingress");
    for (const cluster of args.resources.filter((r) => r.type === T.memcached && get(r.props, "engine") === "memcached")) {
      const literalIds = strings(get(cluster.props, "securityGroupIds"));
      const groups = new Set([
        ...referenced(cluster, "securityGroupIds", T.securityGroup),
        ...args.resources.filter((g) => g.type === T.securityGroup && literalIds.includes(str(get(g.props, "id")) ?? "")),
      ]);
      if (groups.size === 0) {
        report(literalIds.length === 0
          ? `memcached cluster ${cluster.name} has no security group of its own (securityGroupIds), so it gets the VPC default group`
          : `memcached cluster ${cluster.name} uses security group(s) ${literalIds.join(", ")} that are not security groups of this stack, so no policy can see whom they admit; create the cluster's group in this stack`, cluster.urn);
        if (literalIds.length === 0) continue;
      }
      const ids = new Set([...literalIds, ...[...groups].map((g) => str(get(g.props, "id"))).filter((id): id is string => id !== undefined)]);
      const ofCluster = (i: SecurityGroupPermission): boolean => (i.group !== undefined && groups.has(i.group)) || (typeof i.groupId === "string" && ids.has(i.groupId));
      for (const i of ingress.filter(ofCluster)) {
        if (i.cidrs.length > 0 || i.prefixLists.length > 0 || !i.fromSecurityGroup) {
          const sources = [...i.cidrs.map((c) => (c === UNKNOWN ? "a CIDR (unknown at preview)" : c)), ...i.prefixLists.map((p) => `prefix list ${p === UNKNOWN ? "?" : String(p)}`)];
          report(`${i.declaredBy?.name ?? "a rule"} admits ${sources.join(", ") || "no security group"} into memcached cluster ${cluster.name} (${portText(i)}); only security groups are allowed`, i.declaredBy?.urn);
        }
      }
    }
  },
};

// ---- egress ---------------------------------------------------------------------------------------

export interface EgressConfig {
  /** TCP ports security groups may open to the world (0.0.0.0/0, ::/0, public /8-or-wider ranges). */
  allowedWorldEgressPorts: number[];
  /** Ids of AWS-managed service prefix lists (e.g. from aws.ec2.getPrefixList) egress may reach on any port. */
  awsManagedPrefixListIds: string[];
}

/**
 * Whether an egress prefix list is an AWS-managed service list (a gateway endpoint's `prefixListId`,
 * or an id the config names), a customer-managed one (a ManagedPrefixList, or an id nothing vouches
 * for), or not known yet.
 */
function prefixListKind(resources: PolicyResource[], e: SecurityGroupPermission, value: unknown, configured: readonly string[]): "aws" | "customer" | "unknown" {
  const id = str(value);
  if (id !== undefined) {
    if (configured.includes(id)) return "aws";
    if (resources.some((r) => r.type === T.vpcEndpoint && str(get(r.props, "prefixListId")) === id)) return "aws";
    if (resources.some((r) => r.type === T.managedPrefixList && str(get(r.props, "id")) === id)) return "customer";
  }
  const deps = e.declaredBy?.propertyDependencies[e.prefixListProp] ?? [];
  if (deps.some((d) => d.type === T.managedPrefixList)) return "customer";
  if (deps.some((d) => d.type === T.vpcEndpoint)) return "aws";
  return id === undefined ? "unknown" : "customer";
}

function configuredPorts(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((p): p is number => Number.isInteger(p)) : [...DEFAULT_ALLOWED_WORLD_EGRESS_PORTS];
}

export const noOpenEgress: StackValidationPolicy = {
  name: "no-open-egress",
  description: `No security group sends traffic to the world (0.0.0.0/0, ::/0, public /8-or-wider ranges) except on the tcp ports of allowedWorldEgressPorts (config, default ${DEFAULT_ALLOWED_WORLD_EGRESS_PORTS.join(", ")}: `
    + "the upstream and AWS APIs through NAT), never with all protocols (-1); a managed prefix list on any other port must be an AWS-managed service list (a gateway endpoint's prefixListId, or awsManagedPrefixListIds), "
    + `not a customer-managed one whose entries change outside the rule. https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html ; ${MANAGED_PREFIX_LISTS_DOC}`,
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Send traffic to a security group, the VPC CIDR or the narrow range of the host it needs; open a world port only for what must leave through NAT "
    + "(an http:// upstream or another port: add it to allowedWorldEgressPorts in the policy config); reach S3 and DynamoDB through their gateway endpoint's prefix list.",
  configSchema: {
    properties: {
      allowedWorldEgressPorts: { type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, default: [...DEFAULT_ALLOWED_WORLD_EGRESS_PORTS] },
      awsManagedPrefixListIds: { type: "array", items: { type: "string" }, default: [] },
    },
  },
  validateStack: (args, report) => {
    const config = args.getConfig<Partial<EgressConfig>>();
    const ports = configuredPorts(config.allowedWorldEgressPorts);
    const awsLists = Array.isArray(config.awsManagedPrefixListIds) ? config.awsManagedPrefixListIds.filter((x): x is string => typeof x === "string") : [];
    const allowedText = ports.length > 0 ? `tcp ${ports.join("/")}` : "nothing";
    for (const e of stackPermissions(args.resources, "egress")) {
      const who = `${e.declaredBy?.name ?? "a rule"}${e.group && e.group !== e.declaredBy ? ` (security group ${e.group.name})` : ""}`;
      const protocol = `protocol ${show(e.protocol)}`;
      const world = worldSources(e);
      const within = onlyPorts(e, ports);
      if (world.length > 0 && protocolOf(e) === "all") {
        report(`${who} sends all protocols and ports (${protocol}) to ${world.join(" and ")}; world egress is allowed only on ${allowedText} (config allowedWorldEgressPorts), never all protocols`, e.declaredBy?.urn);
      } else if (world.length > 0 && within === false) {
        report(`${who} opens ${portText(e)} (${protocol}) to ${world.join(" and ")}; world egress is allowed only on ${allowedText} (config allowedWorldEgressPorts); `
          + "send it to a security group or the host's own range instead, or allow the port in the policy config if it must reach the internet", e.declaredBy?.urn);
      }
      if (within !== false) continue;
      for (const list of e.prefixLists) {
        if (prefixListKind(args.resources, e, list, awsLists) !== "customer") continue;
        report(`${who} opens ${portText(e)} (${protocol}) to ${prefixListText([list])}, which is not an AWS-managed service prefix list (a gateway endpoint's prefixListId, or config awsManagedPrefixListIds); `
          + `a customer-managed list's entries change outside this rule and may hold 0.0.0.0/0; outside ${allowedText} egress may reach only security groups, CIDRs and AWS-managed service lists`, e.declaredBy?.urn);
      }
    }
  },
};

// ---- IAM ------------------------------------------------------------------------------------------

/** An action/resource pair iam-no-wildcards allows, with why. */
export interface IamWildcardException {
  /** IAM action; may use * and ? (matched case-insensitively against the action as the statement writes it). */
  action: string;
  /** Resource as the statement writes it; may use * and ? ("*" here matches every resource value, "*" included). */
  resource: string;
  /** Why the pair is needed (documentation only). */
  reason?: string;
}

export interface IamWildcardConfig {
  /** Action/resource pairs allowed despite a wildcard (replaces the defaults: copy the ones still needed). */
  allowedWildcards: IamWildcardException[];
  /** AWS-managed policies allowed although their names say they grant whole services (…FullAccess, …Administrator…). */
  allowedManagedPolicyArns: string[];
}

/**
 * What this program needs on every resource: actions AWS cannot scope to a resource (the Service
 * Authorization Reference lists no resource type for them), all read-only.
 */
export const DEFAULT_IAM_WILDCARD_EXCEPTIONS: readonly IamWildcardException[] = [
  {
    action: "elasticloadbalancing:DescribeListeners", resource: "*",
    reason: "failover reads the listener's default action (functions/failover/iam.ts); ELBv2 Describe* actions support no resource-level permissions "
      + "(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html)",
  },
  {
    action: "elasticloadbalancing:DescribeTargetHealth", resource: "*",
    reason: "failover reads the Lambda and Fargate target groups' health (functions/failover/iam.ts); no resource-level permissions, as above",
  },
  {
    action: "cloudwatch:DescribeAlarms", resource: "*",
    reason: "failover reads its alarms' state; failoverIamStatements grants it on * when it is not given the alarm ARNs (read-only; a wrong narrowing would deny every invocation)",
  },
  {
    action: "cloudwatch:GetMetricData", resource: "*",
    reason: "the failover's failback reads the ALB's demand (RequestCount, TargetResponseTime; functions/failover/iam.ts, limited to the stack's region by aws:RequestedRegion); "
      + "GetMetricData supports no resource-level permissions "
      + "(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html)",
  },
  {
    action: "logs:DescribeLogGroups", resource: "*",
    reason: "the VPC flow-log delivery role (components/MultiAzNetwork.ts flowLogDeliveryPolicy): part of the minimum the VPC guide lists "
      + "(https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html); DescribeLogGroups supports no resource-level permissions "
      + "(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html)",
  },
];

/** Services where an action wildcard other than a read-only one (Describe…, Get…, List…) can change permissions, credentials or keys. */
const IAM_SENSITIVE_SERVICES: readonly string[] = ["iam", "sts", "kms", "organizations"];
const READ_ONLY_ACTION = /^(Describe|Get|List|BatchGet)/i;
/** AWS-managed policies that grant whole services or administrator access: AdministratorAccess, PowerUserAccess, AmazonS3FullAccess, job-function/NetworkAdministrator, ... */
const BROAD_MANAGED_POLICY = /^arn:aws[a-z-]*:iam::aws:policy\/(?:[^/]+\/)*[^/]*(?:Administrator|PowerUser|FullAccess)[^/]*$/i;
const IAM_DOCUMENT_TYPES: Record<string, string> = {
  [T.iamPolicy]: "IAM policy", [T.iamRolePolicy]: "role policy", [T.iamUserPolicy]: "user policy", [T.iamGroupPolicy]: "group policy",
};
const IAM_ATTACHMENT_TYPES: readonly string[] = [T.iamRolePolicyAttachment, T.iamUserPolicyAttachment, T.iamGroupPolicyAttachment, T.iamPolicyAttachment];
const LEAST_PRIVILEGE_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege";

/** IAM-style wildcard match (* any run, ? one character). */
function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, ignoreCase ? "is" : "s").test(value);
}

/** "*", or an ARN whose resource part is nothing but wildcards (arn:aws:s3:::*, arn:aws:logs:*:*:*). */
export function isEveryResource(resource: string): boolean {
  const r = resource.trim();
  if (/^[*?]+$/.test(r)) return true;
  const parts = r.split(":");
  return parts.length >= 6 && parts[0] === "arn" && /^[*?/:]+$/.test(parts.slice(5).join(":"));
}

/** A policy document as data: JSON text parsed, an object as given; undefined when there is nothing to read (AWS refuses invalid JSON itself). */
function policyDocument(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

function quoted(values: unknown[]): string {
  return values.map((v) => (v === UNKNOWN ? "(unknown at preview)" : JSON.stringify(v))).join(", ");
}

/**
 * What in an IAM policy document grants more than named actions on named resources: Allow statements
 * with Action "*", a whole service ("s3:*"), a non-read wildcard in iam/sts/kms/organizations
 * ("iam:Put*"), NotAction or NotResource, or actions on every resource (Resource "*" or arn:...:*)
 * that `allowed` does not list. Values unknown at preview are skipped, never taken as safe or unsafe.
 */
export function iamWildcardProblems(document: unknown, allowed: readonly IamWildcardException[] = DEFAULT_IAM_WILDCARD_EXCEPTIONS): string[] {
  const problems: string[] = [];
  items(get(policyDocument(document), "Statement")).forEach((s, index) => {
    if (get(s, "Effect") !== "Allow") return;
    const label = `statement ${str(get(s, "Sid")) || `#${index + 1}`}`;
    const notAction = get(s, "NotAction");
    if (notAction !== undefined) {
      problems.push(`${label}: Allow with NotAction ${quoted(items(notAction))} grants every other action of every service (iam:* included); list the actions it needs in Action`);
    }
    const notResource = get(s, "NotResource");
    if (notResource !== undefined) {
      problems.push(`${label}: Allow with NotResource ${quoted(items(notResource))} grants its actions on every other resource; list the resources in Resource`);
    }
    const resourceItems = notResource !== undefined ? [] : items(get(s, "Resource"));
    const resources = resourceItems.filter((r): r is string => typeof r === "string");
    const resourcesKnown = resources.length > 0 && resources.length === resourceItems.length;
    const exempt = (action: string, resource: string): boolean => allowed.some((e) => globMatches(e.action, action, true) && globMatches(e.resource, resource, false));
    const exemptEverywhere = (action: string): boolean => resourcesKnown && resources.every((r) => exempt(action, r));
    const everyResource = resources.filter(isEveryResource);
    const onEvery: string[] = [];
    for (const action of strings(get(s, "Action"))) {
      const colon = action.indexOf(":");
      const service = (colon < 0 ? action : action.slice(0, colon)).trim().toLowerCase();
      const name = colon < 0 ? "" : action.slice(colon + 1).trim();
      if (/^[*?]+$/.test(action.trim())) {
        if (!exemptEverywhere(action)) problems.push(`${label}: Action ${JSON.stringify(action)} grants every action of every service, IAM included (administrator access); list the actions it needs`);
      } else if (/^[*?]+$/.test(name)) {
        if (!exemptEverywhere(action)) {
          const sensitive = IAM_SENSITIVE_SERVICES.includes(service) ? ", including changes to permissions, credentials or keys" : "";
          problems.push(`${label}: Action ${JSON.stringify(action)} grants every ${service} action${sensitive}; list the actions it needs`);
        }
      } else if (IAM_SENSITIVE_SERVICES.includes(service) && /[*?]/.test(name) && !READ_ONLY_ACTION.test(name)) {
        if (!exemptEverywhere(action)) {
          problems.push(`${label}: Action ${JSON.stringify(action)} is a wildcard over ${service} actions that can change permissions, credentials or keys; list the actions it needs (only Describe*/Get*/List* wildcards are allowed in ${IAM_SENSITIVE_SERVICES.join(", ")})`);
        }
      } else if (everyResource.some((r) => !exempt(action, r))) {
        onEvery.push(action);
      }
    }
    if (onEvery.length > 0) {
      const writes = onEvery.filter((a) => !READ_ONLY_ACTION.test(a.slice(a.indexOf(":") + 1)));
      const everywhere = allowed.filter((e) => e.resource === "*").map((e) => e.action);
      problems.push(`${label}: Resource ${quoted(everyResource)} (every resource) with ${writes.length > 0 ? `write action(s) ${writes.join(", ")}` : ""}`
        + `${writes.length > 0 && writes.length < onEvery.length ? " and " : ""}${writes.length < onEvery.length ? `read action(s) ${onEvery.filter((a) => !writes.includes(a)).join(", ")}` : ""}; `
        + `allowed on every resource: ${everywhere.join(", ") || "nothing"} (config allowedWildcards); scope Resource to the ARNs these actions act on `
        + "(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html lists each action's resource types)");
    }
  });
  return problems;
}

function configuredExceptions(v: unknown): IamWildcardException[] {
  if (!Array.isArray(v)) return [...DEFAULT_IAM_WILDCARD_EXCEPTIONS];
  return v.filter((e): e is IamWildcardException => typeof get(e, "action") === "string" && typeof get(e, "resource") === "string");
}

export const iamNoWildcards: ResourceValidationPolicy = {
  name: "iam-no-wildcards",
  description: "IAM policy documents (aws.iam.Policy, role/user/group policies, a role's inlinePolicies) grant named actions on named resources: no Action \"*\", no whole service (\"iam:*\", \"s3:*\"), "
    + "no non-read wildcard in iam/sts/kms/organizations, no Allow with NotAction or NotResource, and Resource \"*\" only for the action/resource pairs in allowedWildcards "
    + `(config; defaults: read-only ${DEFAULT_IAM_WILDCARD_EXCEPTIONS.map((e) => e.action).join(", ")}, which support no resource-level permissions); `
    + `no AWS-managed …FullAccess, PowerUserAccess or …Administrator… policy is attached. ${LEAST_PRIVILEGE_DOC}`,
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "List the actions the code calls and scope Resource to their ARNs (functions/failover/iam.ts shows how); for an action that supports no resource-level permissions, "
    + "add {action, resource: \"*\", reason} to allowedWildcards in the policy config (the list replaces the defaults). "
    + "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
  configSchema: {
    properties: {
      allowedWildcards: {
        type: "array",
        items: {
          type: "object",
          properties: { action: { type: "string" }, resource: { type: "string" }, reason: { type: "string" } },
          required: ["action", "resource"],
        },
        default: DEFAULT_IAM_WILDCARD_EXCEPTIONS.map((e) => ({ ...e })),
      },
      allowedManagedPolicyArns: { type: "array", items: { type: "string" }, default: [] },
    },
  },
  validateResource: (args, report) => {
    const config = args.getConfig<Partial<IamWildcardConfig>>();
    const documents: Array<{ where: string; doc: unknown }> = [];
    const arns: unknown[] = [];
    if (args.type in IAM_DOCUMENT_TYPES) documents.push({ where: `${IAM_DOCUMENT_TYPES[args.type]} ${args.name}`, doc: get(args.props, "policy") });
    if (args.type === T.iamRole) {
      items(get(args.props, "inlinePolicies")).forEach((p, i) => documents.push({ where: `role ${args.name}, inline policy ${str(get(p, "name")) ?? `#${i + 1}`}`, doc: get(p, "policy") }));
      arns.push(...items(get(args.props, "managedPolicyArns")));
    }
    if (IAM_ATTACHMENT_TYPES.includes(args.type)) arns.push(get(args.props, "policyArn"));
    if (documents.length === 0 && arns.length === 0) return;
    const allowed = configuredExceptions(config.allowedWildcards);
    for (const { where, doc } of documents) {
      for (const problem of iamWildcardProblems(doc, allowed)) report(`${where}: ${problem}`);
    }
    const allowedArns = Array.isArray(config.allowedManagedPolicyArns) ? config.allowedManagedPolicyArns : [];
    for (const arn of arns) {
      if (typeof arn !== "string" || !BROAD_MANAGED_POLICY.test(arn) || allowedArns.includes(arn)) continue;
      report(`${args.type === T.iamRole ? "role" : "attachment"} ${args.name}: attaches AWS-managed policy ${arn}, which grants whole services or administrator access on every resource; `
        + "write a policy with the actions and resources the role needs, or list the ARN in allowedManagedPolicyArns (config)");
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
  validateResource: (args, report) => {
    if (args.type !== T.lambda) return;
    const configured = args.getConfig<LambdaTimeoutConfig>().maxTimeoutSeconds;
    const max = Math.min(Number.isInteger(configured) ? configured : PROJECT_MAX_LAMBDA_TIMEOUT_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS - 1);
    const raw = get(args.props, "timeout");
    const timeout = raw === undefined ? 3 : num(raw); // Lambda's default when unset
    if (timeout === undefined) {
      report(`timeout = ${raw === UNKNOWN ? "unknown at preview" : JSON.stringify(raw)}; set a literal timeout of 1..${max} s`);
    } else if (timeout >= LAMBDA_MAX_TIMEOUT_SECONDS || timeout > max) {
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
    const raw = get(args.props, "reservedConcurrentExecutions");
    const reserved = num(raw);
    if (raw === UNKNOWN || (reserved !== undefined && reserved >= 0)) return;
    const reason = str(at(args.props, "tags", UNRESERVED_CONCURRENCY_TAG));
    if (reason && reason.trim() !== "") return;
    report(`reservedConcurrentExecutions = ${reserved ?? "unset"}; set 0 or more, or tag the function ${UNRESERVED_CONCURRENCY_TAG}=<why it needs none>`);
  },
};

/** What a service principal's sourceArn names, for messages. */
const SOURCE_ARN_OF: Record<string, string> = {
  elasticloadbalancing: "target group", events: "EventBridge rule", apigateway: "API (execute-api ARN, e.g. arn:aws:execute-api:<region>:<account>:<api-id>/*)",
  s3: "bucket", sns: "topic", sqs: "queue", logs: "log group",
};

function isServicePrincipal(p: string): boolean {
  return /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/i.test(p.trim());
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && v.trim() === "");
}

export const lambdaPermissionSourceArn: ResourceValidationPolicy = {
  name: "lambda-permission-source-arn",
  description: "Every Lambda permission for an AWS service principal (elasticloadbalancing, events, apigateway, s3, sns: any *.amazonaws.com) sets sourceArn to the resource that invokes the function, "
    + "with the account named in the ARN (or sourceAccount set), and sourceAccount too for s3.amazonaws.com (bucket ARNs name no account); without them any resource of that service, in any AWS account, "
    + "can invoke the function (confused deputy). Principal \"*\" needs sourceArn, sourceAccount or principalOrgId. "
    + "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html ; https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "new aws.lambda.Permission(name, { function: fn.name, action: \"lambda:InvokeFunction\", principal: \"events.amazonaws.com\", sourceArn: rule.arn }); "
    + "for s3.amazonaws.com also sourceAccount: the bucket owner's account id.",
  validateResource: (args, report) => {
    if (args.type !== T.lambdaPermission) return;
    const principal = get(args.props, "principal");
    if (typeof principal === "string" && principal.trim() === "*") {
      // Principal "*" lets every AWS account (and, with a function URL, anyone) invoke unless a condition narrows it.
      if (blank(get(args.props, "sourceArn")) && blank(get(args.props, "sourceAccount")) && blank(get(args.props, "principalOrgId"))) {
        report(`permission ${args.name} lets principal "*" invoke function ${show(get(args.props, "function") ?? "?")} with no sourceArn, sourceAccount or principalOrgId: `
          + "anyone with AWS credentials can invoke it; name the service principal (and sourceArn) or the account that calls it");
      }
      return;
    }
    if (typeof principal !== "string" || !isServicePrincipal(principal)) return;
    const service = principal.trim().split(".")[0].toLowerCase();
    const what = SOURCE_ARN_OF[service] ?? `${service} resource`;
    const subject = `permission ${args.name} lets ${principal} invoke function ${show(get(args.props, "function") ?? "?")}`;
    const sourceArn = get(args.props, "sourceArn");
    if (blank(sourceArn)) {
      report(`${subject} with sourceArn = unset, so any ${service} resource in any AWS account can invoke it; set sourceArn to the ARN of the ${what} that invokes it`);
    } else if (typeof sourceArn === "string" && isEveryResource(sourceArn)) {
      report(`${subject} with sourceArn = ${sourceArn}, which matches every resource; set sourceArn to the ARN of the ${what} that invokes it`);
    } else if (typeof sourceArn === "string" && service !== "s3" && /[*?]/.test(sourceArn.split(":")[4] ?? "") && blank(get(args.props, "sourceAccount"))) {
      // arn:aws:events:us-east-1:*:rule/x matches that rule name in every account: the confused deputy again.
      report(`${subject} with sourceArn = ${sourceArn}, whose account field is a wildcard, so a ${what} of that name in any AWS account can invoke it; `
        + "name the account in the ARN, or set sourceAccount");
    }
    if (service === "s3" && blank(get(args.props, "sourceAccount"))) {
      report(`${subject} with sourceAccount = unset; a bucket ARN names no account, so a bucket of that name in another account (e.g. re-created after yours is deleted) could invoke it; `
        + "set sourceAccount to the bucket owner's account id");
    }
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
      const raw = get(g.props, "retentionInDays");
      const days = num(raw);
      if (raw !== UNKNOWN && (days === undefined || days <= 0)) report(`log group ${g.name} keeps logs forever (retentionInDays = ${days ?? "unset"}); set a retention`, g.urn);
    }
    for (const fn of args.resources.filter((r) => r.type === T.lambda)) {
      const managed = referenced(fn, "loggingConfig", T.logGroup).length > 0;
      const fnName = str(get(fn.props, "name"));
      const byName = fnName !== undefined && args.resources.some((g) => g.type === T.logGroup && str(get(g.props, "name")) === `/aws/lambda/${fnName}`);
      if (!managed && !byName) {
        report(`function ${fn.name} logs to a log group Lambda creates on first use, with no retention; set loggingConfig.logGroup to a managed LogGroup`, fn.urn);
      }
    }
  },
};

// ---- API Gateway -------------------------------------------------------------------------------------

interface PolicyStatement {
  Effect?: string;
  Resource?: string | string[];
  Action?: string | string[];
  NotAction?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

function isPrivate(api: PolicyResource): boolean {
  return items(at(api.props, "endpointConfiguration", "types")).includes("PRIVATE");
}

/**
 * Why a private API's resource policy does not confine it to VPC endpoints, or undefined if it does.
 * `allowedEndpoints`, when known, are the endpoint ids the aws:SourceVpce conditions must name.
 */
export function privatePolicyProblem(policyJson: string | undefined, allowedEndpoints?: string[]): string | undefined {
  if (!policyJson) return "has no resource policy, so no one (or, with a broad endpoint policy, anyone in the Region) can invoke it";
  let doc: { Statement?: PolicyStatement | PolicyStatement[] };
  try {
    doc = JSON.parse(policyJson) as typeof doc;
  } catch {
    return "has a resource policy that is not valid JSON";
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : []) as PolicyStatement[];
  const names = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  // IAM action names are case-insensitive and may use * and ? wildcards.
  const matchesInvoke = (pattern: string): boolean =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test("execute-api:Invoke");
  // NotAction grants everything not listed, so it may include Invoke.
  const invokes = (s: PolicyStatement): boolean => s.NotAction !== undefined
    ? !names(s.NotAction).some(matchesInvoke)
    : names(s.Action).some(matchesInvoke);
  // The Deny must cover the whole API (".../*" or "*"), not one method or path.
  const coversWholeApi = (s: PolicyStatement): boolean =>
    names(s.Resource).some((r) => r === "*" || /^(arn:[^:]+:execute-api:[^:]*:[^:]*:[^/]+|execute-api:)\/\*$/.test(r));
  const vpceValues = (s: PolicyStatement, op: string): string[] | undefined => {
    const block = s.Condition?.[op];
    if (!block) return undefined;
    const key = Object.keys(block).find((k) => k.toLowerCase() === "aws:sourcevpce");
    return key === undefined ? undefined : names(block[key]);
  };
  const allows = statements.filter((s) => s.Effect === "Allow" && invokes(s));
  if (allows.length === 0) return "has a resource policy that allows no execute-api:Invoke";
  if (allows.some((s) => vpceValues(s, "StringEquals") === undefined)) return "allows execute-api:Invoke without a StringEquals aws:SourceVpce condition";
  if (allowedEndpoints) {
    const foreign = allows.flatMap((s) => vpceValues(s, "StringEquals") ?? []).filter((v) => !allowedEndpoints.includes(v));
    if (foreign.length > 0) return `allows invocation through VPC endpoint(s) ${foreign.join(", ")} that are not this stack's execute-api endpoint`;
  }
  if (!statements.some((s) => s.Effect === "Deny" && invokes(s) && vpceValues(s, "StringNotEquals") !== undefined && coversWholeApi(s))) {
    return "does not deny execute-api:Invoke on the whole API (Resource .../*) from other sources (Deny with StringNotEquals aws:SourceVpce)";
  }
  return undefined;
}

export const privateApiRestrictedToEndpoint: StackValidationPolicy = {
  name: "private-api-restricted-to-vpc-endpoint",
  description: "A PRIVATE REST API's resource policy allows execute-api:Invoke only through this stack's execute-api VPC endpoint (aws:SourceVpce) and denies everything else.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    for (const api of args.resources.filter((r) => r.type === T.restApi && isPrivate(r))) {
      const attached = dependents(args.resources, T.restApiPolicy, "restApiId", api);
      // An attached RestApiPolicy is authoritative; the API's own `policy` output mirrors it (or is "" before it exists).
      const documents = attached.length > 0
        ? attached.map((p) => ({ json: get(p.props, "policy"), endpoints: referenced(p, "policy", T.vpcEndpoint) }))
        : [{ json: get(api.props, "policy"), endpoints: referenced(api, "policy", T.vpcEndpoint) }];
      for (const { json, endpoints } of documents) {
        const executeApi = endpoints.filter((e) => String(get(e.props, "serviceName") ?? "").endsWith(".execute-api"));
        if (json !== UNKNOWN && !str(json)) {
          report(`private REST API ${api.name} ${privatePolicyProblem(undefined)}`, api.urn);
          continue;
        }
        // Known even before the JSON is (a first deploy): the policy must be built from this stack's endpoint.
        if (executeApi.length === 0) {
          report(`private REST API ${api.name}: its resource policy is not built from this stack's execute-api VPC endpoint`, api.urn);
          continue;
        }
        if (json === UNKNOWN) continue;
        const ids = executeApi.map((e) => get(e.props, "id")).filter((v): v is string => typeof v === "string");
        const problem = privatePolicyProblem(str(json), ids.length > 0 ? ids : undefined);
        if (problem) report(`private REST API ${api.name} ${problem}`, api.urn);
      }
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
    const s = get(args.props, "settings");
    if (get(s, "cachingEnabled") === true && get(s, "cacheDataEncrypted") !== true) {
      report(`methodPath ${show(get(args.props, "methodPath") ?? "?")} caches responses with cacheDataEncrypted = ${show(get(s, "cacheDataEncrypted") ?? "unset")}; set it to true`);
    }
  },
};

export const stageCacheDefaultEncrypted: StackValidationPolicy = {
  name: "api-stage-cache-default-encrypted",
  description: "A stage with a cache cluster has stage-wide method settings (*/*) that encrypt cache data, so a method that starts caching later is encrypted too.",
  enforcementLevel: "mandatory",
  severity: "medium",
  validateStack: (args, report) => {
    for (const stage of args.resources.filter((r) => r.type === T.stage && get(r.props, "cacheClusterEnabled") === true)) {
      const defaults = dependents(args.resources, T.methodSettings, "stageName", stage).filter((m) => get(m.props, "methodPath") === "*/*");
      if (!defaults.some((m) => at(m.props, "settings", "cacheDataEncrypted") === true)) {
        report(`stage ${stage.name} has a cache cluster but no */* method settings with cacheDataEncrypted = true`, stage.urn);
      }
    }
  },
};

/** What API Gateway may do with an unauthorized `Cache-Control: max-age=0`; none of them flushes the entry. */
const CACHE_CONTROL_STRATEGIES: readonly string[] = ["FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER"];

export const cacheInvalidationAuthorized: ResourceValidationPolicy = {
  name: "api-cache-invalidation-authorized",
  description: "Cached methods require IAM authorization (execute-api:InvalidateCache) for Cache-Control: max-age=0, so an unauthorized caller is refused (FAIL_WITH_403) or served from the cache (SUCCEED_WITH/WITHOUT_RESPONSE_HEADER) but never flushes an entry. "
    + "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html#invalidate-method-caching",
  enforcementLevel: "mandatory",
  severity: "medium",
  validateResource: (args, report) => {
    if (args.type !== T.methodSettings) return;
    const s = get(args.props, "settings");
    if (get(s, "cachingEnabled") !== true) return;
    const required = get(s, "requireAuthorizationForCacheControl");
    const strategy = get(s, "unauthorizedCacheControlHeaderStrategy");
    if (required !== true) {
      report(`methodPath ${show(get(args.props, "methodPath") ?? "?")}: requireAuthorizationForCacheControl = ${show(required ?? "unset")}; required: true, `
        + "or any client can flush entries and send every request to the backend");
    }
    if (typeof strategy === "string" && !CACHE_CONTROL_STRATEGIES.includes(strategy)) {
      report(`methodPath ${show(get(args.props, "methodPath") ?? "?")}: unauthorizedCacheControlHeaderStrategy = ${strategy}; allowed: ${CACHE_CONTROL_STRATEGIES.join(", ")}`);
    }
  },
};

// ---- S3 -----------------------------------------------------------------------------------------------

export const s3NoPublicAcl: ResourceValidationPolicy = {
  name: "s3-no-public-acl",
  description: "No bucket or bucket ACL grants a canned public ACL (public-read, public-read-write, authenticated-read).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    if (args.type !== T.bucket && args.type !== T.bucketV2 && args.type !== T.bucketAcl) return;
    const acl = get(args.props, "acl");
    if (typeof acl === "string" && PUBLIC_ACLS.has(acl)) report(`acl = ${acl}; buckets stay private (serve objects through presigned URLs)`);
  },
};

export const s3PrivateAndEncrypted: StackValidationPolicy = {
  name: "s3-private-and-encrypted",
  description: "Every S3 bucket has its own public access block with all four settings on, and a default-encryption configuration the program declares.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    for (const bucket of args.resources.filter((r) => r.type === T.bucket || r.type === T.bucketV2)) {
      const blocks = dependents(args.resources, T.publicAccessBlock, "bucket", bucket);
      const fullBlock = blocks.some((b) => ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every((k) => get(b.props, k) === true));
      if (!fullBlock) report(`bucket ${bucket.name} has no BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true`, bucket.urn);
      // The bucket's own serverSideEncryptionConfiguration output is always filled in by S3 (SSE-S3 by
      // default), so only a declared configuration counts.
      const encryption = [...dependents(args.resources, T.bucketEncryption, "bucket", bucket), ...dependents(args.resources, T.bucketEncryptionV2, "bucket", bucket)];
      if (encryption.length === 0) report(`bucket ${bucket.name} has no BucketServerSideEncryptionConfiguration of its own`, bucket.urn);
    }
  },
};

// ---- production resilience ----------------------------------------------------------------------------

export interface ProductionConfig {
  productionStacks: string[];
}

/**
 * A subnet's AZ for comparing subnets and NAT gateways: its zone ID (an input, so known even in a first
 * preview), or its AZ name when only that is known. All subnets of a stack are placed the same way
 * (subnets-by-zone-id), so the two kinds are not mixed in one comparison.
 */
function azOfSubnet(subnet: PolicyResource | undefined): string | undefined {
  return subnet ? str(get(subnet.props, "availabilityZoneId")) ?? str(get(subnet.props, "availabilityZone")) : undefined;
}

export const productionResilience: StackValidationPolicy = {
  name: "production-multi-az",
  description: "A production stack has a NAT gateway in each AZ that has subnets, each private subnet routes to the internet through its own AZ's NAT gateway, and memcached runs 2+ nodes in cross-AZ mode over 2+ AZs.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: {
    properties: { productionStacks: { type: "array", items: { type: "string" }, default: ["prod"] } },
  },
  validateStack: (args, report) => {
    const stack = stackOf(args.resources);
    const configured: unknown = args.getConfig<ProductionConfig>().productionStacks;
    const production = Array.isArray(configured) ? configured.map(String) : typeof configured === "string" ? [configured] : ["prod"];
    if (!stack || !production.includes(stack)) args.notApplicable(`stack ${stack ?? "?"} is not a production stack (${production.join(", ")})`);

    const subnetAzs = new Set(args.resources.filter((r) => r.type === T.subnet).map(azOfSubnet).filter((z): z is string => z !== undefined));
    const nats = args.resources.filter((r) => r.type === T.natGateway && get(r.props, "connectivityType") !== "private");
    const natAz = new Map<string, string>();
    for (const nat of nats) natAz.set(nat.urn, azOfSubnet(referenced(nat, "subnetId", T.subnet)[0]) ?? "unknown AZ");
    const missing = [...subnetAzs].filter((az) => ![...natAz.values()].includes(az)).sort();
    if (missing.length > 0) {
      report(`stack ${stack} has ${nats.length} NAT gateway(s) for ${subnetAzs.size} AZs; no NAT gateway in ${missing.join(", ")} `
        + "(an AZ outage would cut the others off the internet; set natMode: perAz)");
    }
    // Each subnet whose default route goes through a NAT gateway must use its own AZ's.
    for (const assoc of args.resources.filter((r) => r.type === T.routeTableAssociation)) {
      const subnet = referenced(assoc, "subnetId", T.subnet)[0];
      const table = referenced(assoc, "routeTableId", T.routeTable)[0];
      if (!subnet || !table) continue;
      const defaultRoutes = dependents(args.resources, T.route, "routeTableId", table).filter((r) => get(r.props, "destinationCidrBlock") === "0.0.0.0/0");
      const inline = items(get(table.props, "routes")).filter((r) => get(r, "cidrBlock") === "0.0.0.0/0");
      const viaNat = [
        ...defaultRoutes.flatMap((r) => referenced(r, "natGatewayId", T.natGateway)),
        ...(inline.some((r) => get(r, "natGatewayId") !== undefined) ? referenced(table, "routes", T.natGateway) : []),
      ];
      for (const nat of viaNat) {
        const subnetAz = azOfSubnet(subnet);
        if (subnetAz && natAz.get(nat.urn) !== subnetAz) {
          report(`subnet ${subnet.name} (${subnetAz}) reaches the internet through NAT gateway ${nat.name} in ${natAz.get(nat.urn)}; an outage of that AZ cuts it off`, assoc.urn);
        }
      }
    }
    for (const cluster of args.resources.filter((r) => r.type === T.memcached && get(r.props, "engine") === "memcached")) {
      const nodes = num(get(cluster.props, "numCacheNodes")) ?? 1;
      const azMode = get(cluster.props, "azMode");
      // The preferred AZs come from the subnets' AZ names, unknown before the subnets exist: then only azMode and the node count are checked.
      const preferred = items(get(cluster.props, "preferredAvailabilityZones"));
      const azsUnknown = preferred.includes(UNKNOWN);
      const azs = new Set(strings(preferred));
      if (azMode !== "cross-az" || nodes < 2 || (azs.size < 2 && !azsUnknown)) {
        report(`memcached cluster ${cluster.name}: azMode = ${show(azMode ?? "single-az")}, numCacheNodes = ${nodes}, preferred AZs = ${azsUnknown && azs.size < 2 ? "unknown at preview" : azs.size}; `
          + "production needs cross-az with 2+ nodes over 2+ AZs", cluster.urn);
      }
    }
  },
};

// ---- Availability Zones: subnets chosen by zone ID, in zones the services offer --------------------------
// Zone IDs (use1-az1) are the same physical zone in every account and globally unique; AZ names
// (us-east-1a) map to different zones per account. Tables: components/awsAvailability.ts.

/** Fargate on ARM64 (Graviton) is reported missing from these zone IDs (third-party report; AWS lists none). */
export const FARGATE_ARM64_UNSUPPORTED_ZONE_IDS: readonly string[] = ["use1-az3"];
/** Every zone ID, of any Region, where API Gateway offers VPC links V2. */
const VPC_LINK_ZONE_IDS = new Set(Object.values(VPC_LINK_V2_ZONE_IDS).flat());
const TABLE_REGIONS = [...new Set([...Object.keys(VPC_LINK_V2_ZONE_IDS), ...Object.keys(FARGATE_ZONE_IDS)])];
const BY_NAME_HINT = "choose subnets by zone ID (availabilityZoneId): names map to different zones per account";

/** The Region of a zone ID the tables know ("use1-az3" -> us-east-1). */
function regionOfZoneId(zoneId: string): string | undefined {
  const prefix = /^(.+)-az\d+$/.exec(zoneId)?.[1];
  return prefix ? TABLE_REGIONS.find((r) => zoneIdPrefix(r) === prefix) : undefined;
}
/** The Region of an AZ name ("us-east-1a" -> us-east-1). */
function regionOfAzName(name: string): string | undefined {
  return /^([a-z]{2}(?:-gov)?-[a-z]+-\d+)[a-z]$/.exec(name)?.[1];
}

/**
 * Where a subnet is, as far as the stack says: its zone ID; or only its AZ name (set by name, the ID
 * unknown until AWS creates it); or nothing known yet (both unknown at preview).
 */
type Placement = { zoneId: string } | { byName: string; zoneIdValue: unknown } | undefined;
function placementOf(subnet: PolicyResource): Placement {
  const zoneId = get(subnet.props, "availabilityZoneId");
  if (typeof zoneId === "string" && zoneId !== "") return { zoneId };
  const name = get(subnet.props, "availabilityZone");
  return typeof name === "string" && name !== "" ? { byName: name, zoneIdValue: zoneId } : undefined;
}
function byNameText(subnet: PolicyResource, p: { byName: string; zoneIdValue: unknown }): string {
  return `subnet ${subnet.name} is placed by AZ name (${p.byName}; availabilityZoneId ${p.zoneIdValue === UNKNOWN ? "unknown at preview" : "unset"}); ${BY_NAME_HINT}`;
}

/**
 * The stack's subnets that property `prop` of `r` lists: those it was computed from (property
 * dependencies, known even before ids exist), and those whose id is among `ids` (when known).
 * Subnets outside the stack cannot be placed and are not reported.
 */
function subnetsOf(resources: PolicyResource[], r: PolicyResource, prop: string, ids: unknown[]): PolicyResource[] {
  const found = new Map(referenced(r, prop, T.subnet).map((s) => [s.urn, s]));
  const known = new Set(ids.filter((x): x is string => typeof x === "string"));
  for (const s of resources) {
    const id = s.type === T.subnet ? str(get(s.props, "id")) : undefined;
    if (id !== undefined && known.has(id)) found.set(s.urn, s);
  }
  return [...found.values()];
}

/** "use1-az1, use1-az2 (us-east-1)", or what to say when the zone's Region has no VPC link V2. */
function vpcLinkZonesText(zoneId: string): string {
  const region = regionOfZoneId(zoneId);
  const allowed = region ? VPC_LINK_V2_ZONE_IDS[region] : undefined;
  return allowed ? `${allowed.join(", ")} (${region})` : `the zone IDs API Gateway lists, and in none of ${region ?? "this zone's Region"}`;
}

export const vpcLinkSubnetsInSupportedZones: StackValidationPolicy = {
  name: "vpc-link-subnets-in-supported-zones",
  description: "Every API Gateway VPC link V2 uses only subnets whose zone ID is one API Gateway offers VPC links V2 in (e.g. us-east-1: use1-az1, az2, az4, az5, az6; not use1-az3), placed by zone ID rather than AZ name. "
    + "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-vpc-links-v2.html (Availability by Region)",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Pin the network's zone IDs to ones in VPC_LINK_V2_ZONE_IDS (components/awsAvailability.ts) and create subnets with availabilityZoneId; "
    + "a VPC link V2 cannot change its subnets later (it is replaced).",
  validateStack: (args, report) => {
    for (const link of args.resources.filter((r) => r.type === T.vpcLink)) {
      for (const subnet of subnetsOf(args.resources, link, "subnetIds", items(get(link.props, "subnetIds")))) {
        const p = placementOf(subnet);
        if (p && "byName" in p) {
          report(`VPC link ${link.name}: ${byNameText(subnet, p)}`, link.urn);
        } else if (p && !VPC_LINK_ZONE_IDS.has(p.zoneId)) {
          report(`VPC link ${link.name}: subnet ${subnet.name} is in ${p.zoneId}; VPC links V2 exist only in ${vpcLinkZonesText(p.zoneId)}`, link.urn);
        }
      }
    }
  },
};

/** Whether an ECS service runs on Fargate (launch type, capacity providers, or the task definition when neither is set). */
function isFargate(service: PolicyResource, task: PolicyResource | undefined): boolean {
  const launchType = get(service.props, "launchType");
  const providers = items(get(service.props, "capacityProviderStrategies")).map((s) => get(s, "capacityProvider"));
  if (launchType === "FARGATE" || providers.some((c) => typeof c === "string" && c.startsWith("FARGATE"))) return true;
  return launchType === undefined && providers.length === 0 && items(get(task?.props, "requiresCompatibilities")).includes("FARGATE");
}

/** The task definition an ECS service runs, when the stack holds it. */
function taskDefinitionOf(resources: PolicyResource[], service: PolicyResource): PolicyResource | undefined {
  const arn = str(get(service.props, "taskDefinition"));
  return referenced(service, "taskDefinition", T.taskDefinition)[0]
    ?? (arn === undefined ? undefined : resources.find((r) => r.type === T.taskDefinition && str(get(r.props, "arn")) === arn));
}

export const lambdaSubnetsInSupportedZones: StackValidationPolicy = {
  name: "lambda-subnets-in-supported-zones",
  description: `Lambda functions attach to VPC subnets only outside the zone IDs Lambda refuses (${LAMBDA_VPC_UNSUPPORTED_ZONE_IDS.join(", ")}), and Fargate services run only in zone IDs Fargate offers `
    + `(ARM64 tasks not in ${FARGATE_ARM64_UNSUPPORTED_ZONE_IDS.join(", ")}; ${Object.keys(FARGATE_ZONE_IDS).join(", ")} only in their listed zone IDs), with subnets placed by zone ID. `
    + "Lambda: \"The provided subnets contain availability zone Lambda doesn't support\" (InvalidParameterValueException); "
    + "Fargate: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Pin the network's zone IDs (components/awsAvailability.ts chooses supported ones) and create subnets with availabilityZoneId.",
  validateStack: (args, report) => {
    for (const fn of args.resources.filter((r) => r.type === T.lambda)) {
      const ids = items(get(get(fn.props, "vpcConfig"), "subnetIds"));
      for (const subnet of subnetsOf(args.resources, fn, "vpcConfig", ids)) {
        const p = placementOf(subnet);
        if (p && "byName" in p) {
          const region = regionOfAzName(p.byName);
          const constrained = region === undefined || LAMBDA_VPC_UNSUPPORTED_ZONE_IDS.some((z) => regionOfZoneId(z) === region);
          if (constrained) report(`function ${fn.name}: ${byNameText(subnet, p)}`, fn.urn);
        } else if (p && LAMBDA_VPC_UNSUPPORTED_ZONE_IDS.includes(p.zoneId)) {
          report(`function ${fn.name}: subnet ${subnet.name} is in ${p.zoneId}, where Lambda refuses VPC subnets; allowed: any zone ID except ${LAMBDA_VPC_UNSUPPORTED_ZONE_IDS.join(", ")}`, fn.urn);
        }
      }
    }
    for (const service of args.resources.filter((r) => r.type === T.ecsService)) {
      const task = taskDefinitionOf(args.resources, service);
      if (!isFargate(service, task)) continue;
      const arm64 = at(task?.props, "runtimePlatform", "cpuArchitecture") === "ARM64";
      const ids = items(get(get(service.props, "networkConfiguration"), "subnets"));
      for (const subnet of subnetsOf(args.resources, service, "networkConfiguration", ids)) {
        const p = placementOf(subnet);
        if (p && "byName" in p) {
          const region = regionOfAzName(p.byName);
          const constrained = region === undefined || FARGATE_ZONE_IDS[region] !== undefined || (arm64 && FARGATE_ARM64_UNSUPPORTED_ZONE_IDS.some((z) => regionOfZoneId(z) === region));
          if (constrained) report(`ECS service ${service.name}: ${byNameText(subnet, p)}`, service.urn);
          continue;
        }
        if (!p) continue;
        const region = regionOfZoneId(p.zoneId);
        const offered = region ? FARGATE_ZONE_IDS[region] : undefined;
        if (offered && !offered.includes(p.zoneId)) {
          report(`ECS service ${service.name}: subnet ${subnet.name} is in ${p.zoneId}; Fargate is offered in ${region} only in ${offered.join(", ")}`, service.urn);
        }
        if (arm64 && FARGATE_ARM64_UNSUPPORTED_ZONE_IDS.includes(p.zoneId)) {
          report(`ECS service ${service.name}: subnet ${subnet.name} is in ${p.zoneId}, where Fargate has no ARM64 capacity (task definition ${task?.name} is ARM64); allowed: any zone ID except ${FARGATE_ARM64_UNSUPPORTED_ZONE_IDS.join(", ")}`, service.urn);
        }
      }
    }
  },
};

export const subnetsByZoneId: ResourceValidationPolicy = {
  name: "subnets-by-zone-id",
  description: "Every subnet is placed by zone ID (availabilityZoneId), never by AZ name (availabilityZone): names map to different physical zones in each account, so a name says nothing about what the zone offers, "
    + "and either property forces a replacement when it changes. https://repost.aws/knowledge-center/interface-endpoint-availability-zone (AZ names differ per account; AZ IDs do not)",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps: "Create the subnet with availabilityZoneId (e.g. use1-az1) and no availabilityZone; MultiAzNetwork does this from the pinned availabilityZoneIds.",
  validateResource: (args, report) => {
    if (args.type !== T.subnet) return;
    const zoneId = get(args.props, "availabilityZoneId");
    const name = get(args.props, "availabilityZone");
    if (name !== undefined) {
      report(`subnet ${args.name}: availabilityZone = ${show(name)}; set availabilityZoneId instead (${BY_NAME_HINT})`);
    } else if (zoneId === undefined) {
      report(`subnet ${args.name}: neither availabilityZoneId nor availabilityZone is set, so AWS picks the zone; set availabilityZoneId`);
    }
  },
};

export const albSubnetsLargeEnough: StackValidationPolicy = {
  name: "alb-subnets-large-enough",
  description: "Every subnet of an Application Load Balancer is /27 or larger (an ALB needs at least a /27 with 8 free addresses per subnet to place and scale its nodes). "
    + "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html (Subnets for your load balancer)",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps: "Give the network a subnetPrefixLength of 27 or less (26 or less recommended for private subnets, which also hold Lambda, Fargate, endpoint and VPC link interfaces).",
  validateStack: (args, report) => {
    for (const lb of args.resources.filter((r) => r.type === T.loadBalancer && (get(r.props, "loadBalancerType") ?? "application") === "application")) {
      const mapped = items(get(lb.props, "subnetMappings")).map((m) => get(m, "subnetId"));
      const subnets = [...subnetsOf(args.resources, lb, "subnets", items(get(lb.props, "subnets"))), ...subnetsOf(args.resources, lb, "subnetMappings", mapped)];
      for (const subnet of new Set(subnets)) {
        const cidr = str(get(subnet.props, "cidrBlock"));
        const prefix = cidr === undefined ? undefined : Number(cidr.split("/")[1]);
        if (prefix !== undefined && Number.isInteger(prefix) && prefix > 27) {
          report(`ALB ${lb.name}: subnet ${subnet.name} is ${cidr} (/${prefix}); an Application Load Balancer needs /27 or larger in every subnet`, lb.urn);
        }
      }
    }
  },
};

// ---- alarms and asynchronous invocations -----------------------------------------------------------------

export const alarmsNotifySomeone: ResourceValidationPolicy = {
  name: "alarms-notify-someone",
  description: "Every CloudWatch metric alarm has alarm actions (e.g. an SNS topic), enabled: an alarm without them changes state and tells no one. "
    + "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html (alarm actions)",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps: "Set alarmActions (and okActions) to the stack's alarm topic; keep actionsEnabled unset or true.",
  validateResource: (args, report) => {
    if (args.type !== T.metricAlarm) return;
    const raw = get(args.props, "alarmActions");
    const actions = items(raw);
    if (actions.includes(UNKNOWN)) return; // e.g. a topic ARN not known before the topic exists
    if (!actions.some((a) => typeof a === "string" && a.trim() !== "")) {
      report(`alarm ${args.name}: alarmActions = ${raw === undefined ? "unset" : JSON.stringify(raw)}; at least one action (an SNS topic ARN) is required`);
    } else if (get(args.props, "actionsEnabled") === false) {
      report(`alarm ${args.name}: actionsEnabled = false, so its ${actions.length} alarm action(s) never run; remove it or set true`);
    }
  },
};

/** Lambda's limits for FunctionEventInvokeConfig that this pack allows. */
export const ASYNC_MAX_RETRY_ATTEMPTS = 2;
export const ASYNC_MAX_EVENT_AGE_SECONDS = 300;

/** A function an event target invokes asynchronously, with the qualifier it invokes (undefined: unqualified). */
interface AsyncTarget {
  fn: PolicyResource;
  qualifier: unknown;
}

function asyncTargetsOf(resources: PolicyResource[], target: PolicyResource): AsyncTarget[] {
  const out: AsyncTarget[] = referenced(target, "arn", T.lambda).map((fn) => ({ fn, qualifier: undefined }));
  for (const alias of referenced(target, "arn", T.lambdaAlias)) {
    for (const fn of functionsNamedBy(resources, alias, "functionName")) out.push({ fn, qualifier: get(alias.props, "name") });
  }
  const arn = str(get(target.props, "arn"));
  if (arn !== undefined) {
    for (const fn of resources.filter((r) => r.type === T.lambda && str(get(r.props, "arn")) === arn)) {
      if (!out.some((t) => t.fn === fn)) out.push({ fn, qualifier: undefined });
    }
  }
  return out;
}

/** The functions property `prop` of `r` names: by property dependency, or by name or ARN. */
function functionsNamedBy(resources: PolicyResource[], r: PolicyResource, prop: string): PolicyResource[] {
  const value = str(get(r.props, prop));
  const found = new Set(referenced(r, prop, T.lambda));
  if (value !== undefined) {
    for (const fn of resources.filter((x) => x.type === T.lambda)) {
      if (value === str(get(fn.props, "name")) || value === str(get(fn.props, "arn"))) found.add(fn);
    }
  }
  return [...found];
}

/** Whether an invoke config with `configQualifier` applies to invocations of `targetQualifier`. */
function qualifierApplies(configQualifier: unknown, targetQualifier: unknown): boolean {
  if (configQualifier === UNKNOWN || targetQualifier === UNKNOWN) return true;
  if (targetQualifier === undefined) return configQualifier === undefined || configQualifier === "$LATEST";
  return configQualifier === targetQualifier;
}

export const asyncInvocationsBounded: StackValidationPolicy = {
  name: "async-invocations-bounded",
  description: `Every Lambda function an EventBridge target invokes (asynchronously) has a FunctionEventInvokeConfig with maximumRetryAttempts 0..${ASYNC_MAX_RETRY_ATTEMPTS} `
    + `and maximumEventAgeInSeconds <= ${ASYNC_MAX_EVENT_AGE_SECONDS}; otherwise Lambda retries errors twice and keeps throttled events queued for up to 6 hours, and stale events run late. `
    + "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps: "new aws.lambda.FunctionEventInvokeConfig(name, { functionName: fn.name, maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 }). "
    + "The EventBridge target's retryPolicy bounds only EventBridge's delivery, not Lambda's own queue.",
  validateStack: (args, report) => {
    const configs = args.resources.filter((r) => r.type === T.eventInvokeConfig);
    const seen = new Map<string, { target: AsyncTarget; by: string[] }>();
    for (const target of args.resources.filter((r) => r.type === T.eventTarget)) {
      for (const t of asyncTargetsOf(args.resources, target)) {
        const key = `${t.fn.urn}:${String(t.qualifier)}`;
        const entry = seen.get(key) ?? { target: t, by: [] };
        entry.by.push(target.name);
        seen.set(key, entry);
      }
    }
    for (const { target: { fn, qualifier }, by } of seen.values()) {
      const invoked = `function ${fn.name}${typeof qualifier === "string" ? `:${qualifier}` : ""}`;
      const own = configs.filter((c) => functionsNamedBy(args.resources, c, "functionName").includes(fn) && qualifierApplies(get(c.props, "qualifier"), qualifier));
      if (own.length === 0) {
        report(`${invoked} is invoked asynchronously by event target(s) ${by.join(", ")} but has no FunctionEventInvokeConfig; `
          + `set maximumRetryAttempts 0..${ASYNC_MAX_RETRY_ATTEMPTS} and maximumEventAgeInSeconds <= ${ASYNC_MAX_EVENT_AGE_SECONDS} (defaults: 2 retries, 6 hours)`, fn.urn);
        continue;
      }
      for (const config of own) {
        const retriesRaw = get(config.props, "maximumRetryAttempts");
        const ageRaw = get(config.props, "maximumEventAgeInSeconds");
        const retries = num(retriesRaw);
        const age = num(ageRaw);
        if (retriesRaw !== UNKNOWN && (retries === undefined || retries < 0 || retries > ASYNC_MAX_RETRY_ATTEMPTS)) {
          report(`FunctionEventInvokeConfig ${config.name} of ${invoked}: maximumRetryAttempts = ${retries ?? "unset (Lambda's default 2)"}; allowed: 0..${ASYNC_MAX_RETRY_ATTEMPTS}, set explicitly`, config.urn);
        }
        if (ageRaw !== UNKNOWN && (age === undefined || age > ASYNC_MAX_EVENT_AGE_SECONDS)) {
          report(`FunctionEventInvokeConfig ${config.name} of ${invoked}: maximumEventAgeInSeconds = ${age ?? "unset (Lambda's default 21600 = 6 hours)"}; allowed: 60..${ASYNC_MAX_EVENT_AGE_SECONDS}`, config.urn);
        }
      }
    }
  },
};

// ---- memcached changes ------------------------------------------------------------------------------------

export const memcachedChangesInMaintenanceWindow: ResourceValidationPolicy = {
  name: "memcached-changes-in-maintenance-window",
  description: "A memcached cluster does not set applyImmediately: true: changes then wait for the maintenance window instead of applying at deploy time, when an engine upgrade flushes every node "
    + "(\"Memcached engine version upgrades are always a disruptive process that clears all cache data\"). Advisory by default. "
    + "https://docs.aws.amazon.com/AmazonElastiCache/latest/mem-ug/VersionManagement.html ; https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ModifyCacheCluster.html (ApplyImmediately)",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps: "Set applyImmediately: false and a maintenanceWindow; apply an urgent change with a one-off `pulumi up` that sets it true, knowing the cache empties.",
  validateResource: (args, report) => {
    if (args.type !== T.memcached) return;
    const engine = get(args.props, "engine");
    if (typeof engine === "string" && engine !== "memcached") return;
    if (get(args.props, "applyImmediately") === true) {
      report(`memcached cluster ${args.name}: applyImmediately = true; every change applies at deploy time (engine ${show(get(args.props, "engineVersion") ?? "default")}: an upgrade flushes every node), `
        + `not in the maintenance window (${show(get(args.props, "maintenanceWindow") ?? "AWS-chosen")}); set applyImmediately: false`);
    }
  },
};

// ---- interface endpoints --------------------------------------------------------------------------------

export interface EndpointReplaceConfig {
  /** Fail when the engine does not say deleteBeforeReplace is true (a real preview says nothing when the program does not set it). */
  failWhenUndeclared: boolean;
}

/**
 * Default of `failWhenUndeclared`. A real preview reports `deleteBeforeReplace` only when the program
 * sets it, so "not reported" means create-before-delete; the offline plan's runner passes the options
 * the mock engine recorded the same way (plan/policyRunner.ts).
 */
export const FAIL_WHEN_DELETE_BEFORE_REPLACE_UNDECLARED = true;

export const interfaceEndpointsDeleteBeforeReplace: ResourceValidationPolicy = {
  name: "interface-endpoints-delete-before-replace",
  description: "Every interface VPC endpoint with private DNS is replaced delete-before-replace (resource option deleteBeforeReplace: true): only one endpoint per VPC may own a service's private DNS name, "
    + "and one still deleting keeps it, so a create-before-delete replacement fails. "
    + "Error text: \"private-dns-enabled cannot be set because there is already a conflicting DNS domain\"; https://www.pulumi.com/docs/iac/concepts/options/deletebeforereplace/",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps: "Create the endpoint with { deleteBeforeReplace: true } (MultiAzNetwork and CachedPrivateApi do).",
  configSchema: {
    properties: { failWhenUndeclared: { type: "boolean", default: FAIL_WHEN_DELETE_BEFORE_REPLACE_UNDECLARED } },
  },
  validateResource: (args, report) => {
    if (args.type !== T.vpcEndpoint || get(args.props, "privateDnsEnabled") !== true) return;
    const declared = args.opts?.deleteBeforeReplace;
    if (declared === true) return;
    const configured: unknown = args.getConfig<EndpointReplaceConfig>().failWhenUndeclared;
    const strict = typeof configured === "boolean" ? configured : FAIL_WHEN_DELETE_BEFORE_REPLACE_UNDECLARED;
    if (declared === false || strict) {
      report(`endpoint ${args.name} (${show(get(args.props, "serviceName") ?? "?")}, privateDnsEnabled = true): deleteBeforeReplace = ${declared === false ? "false" : "not set"}; `
        + "required: true, or a replacement fails while the old endpoint still owns the private DNS name");
      return;
    }
    args.notApplicable(`endpoint ${args.name}: the engine did not report deleteBeforeReplace (set failWhenUndeclared to treat that as unset)`);
  },
};

// ---- S3 gateway endpoint ----------------------------------------------------------------------------

const S3_ACCOUNT_KEYS = ["aws:resourceaccount", "s3:resourceaccount"];

/**
 * Why an S3 gateway endpoint's policy lets the VPC reach buckets of any account, or undefined. Allow
 * statements must name buckets (no "*", arn:aws:s3:::*) or carry a StringEquals aws:ResourceAccount /
 * s3:ResourceAccount condition; no Allow with NotResource; a missing policy is AWS's full-access default.
 */
export function s3EndpointPolicyProblems(policy: unknown): string[] {
  if (policy === UNKNOWN) return [];
  if (blank(policy)) return ["has no endpoint policy, so AWS applies full access: anything in the VPC can read and write any bucket of any account through it, without passing the NAT"];
  const doc = policyDocument(policy);
  if (doc === undefined) return ["has an endpoint policy that is not valid JSON"];
  const problems: string[] = [];
  items(get(doc, "Statement")).forEach((st, index) => {
    if (get(st, "Effect") !== "Allow") return;
    const label = `statement ${str(get(st, "Sid")) || `#${index + 1}`}`;
    if (get(st, "NotResource") !== undefined) {
      problems.push(`${label}: Allow with NotResource reaches every other bucket, in any account`);
      return;
    }
    const every = items(get(st, "Resource")).filter((r): r is string => typeof r === "string" && (isEveryResource(r) || /^arn:[^:]+:s3:::[*?]/.test(r)));
    if (every.length === 0) return;
    const equals = get(get(st, "Condition"), "StringEquals");
    const keys = equals !== undefined && equals !== UNKNOWN && typeof equals === "object" && equals !== null ? Object.keys(equals).map((k) => k.toLowerCase()) : [];
    if (!keys.some((k) => S3_ACCOUNT_KEYS.includes(k))) {
      problems.push(`${label}: Resource ${quoted(every)} without a StringEquals aws:ResourceAccount (or s3:ResourceAccount) condition reaches buckets of every account`);
    }
  });
  return problems;
}

export const s3GatewayEndpointScoped: ResourceValidationPolicy = {
  name: "s3-gateway-endpoint-scoped",
  description: "An S3 gateway endpoint has an endpoint policy that reaches only named buckets or buckets of named accounts (aws:ResourceAccount / s3:ResourceAccount), not AWS's full-access default: "
    + "otherwise the endpoint is an exfiltration path to any bucket that skips the NAT. Allowing ECR's layer bucket (prod-<region>-starport-layer-bucket) by name is fine. "
    + "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html ; https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps: "MultiAzNetwork sets this policy unless restrictS3EndpointToAccount is false (components/MultiAzNetwork.ts s3EndpointPolicy); keep ECR's layer bucket allowed for Fargate image pulls.",
  validateResource: (args, report) => {
    if (args.type !== T.vpcEndpoint) return;
    const type = get(args.props, "vpcEndpointType");
    const service = get(args.props, "serviceName");
    if (type !== "Gateway" || typeof service !== "string" || !/\.s3$/.test(service)) return;
    for (const problem of s3EndpointPolicyProblems(get(args.props, "policy"))) report(`endpoint ${args.name} (${service}) ${problem}`);
  },
};

/** Every policy of the pack, in the order they are reported. */
export const policies: ArchitecturePolicy[] = [
  noWorldIngress,
  worldWebIngressOnlyOnAlb,
  memcachedIngressFromSecurityGroups,
  noOpenEgress,
  s3GatewayEndpointScoped,
  iamNoWildcards,
  lambdaPermissionSourceArn,
  lambdaTimeout,
  lambdaReservedConcurrency,
  logRetention,
  privateApiRestrictedToEndpoint,
  stageCacheEncrypted,
  stageCacheDefaultEncrypted,
  cacheInvalidationAuthorized,
  s3NoPublicAcl,
  s3PrivateAndEncrypted,
  productionResilience,
  vpcLinkSubnetsInSupportedZones,
  lambdaSubnetsInSupportedZones,
  subnetsByZoneId,
  albSubnetsLargeEnough,
  alarmsNotifySomeone,
  asyncInvocationsBounded,
  memcachedChangesInMaintenanceWindow,
  interfaceEndpointsDeleteBeforeReplace,
];
