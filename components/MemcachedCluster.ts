import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export const MEMCACHED_PORT = 11211;

/** How the cluster's nodes are placed. */
export type MemcachedAzMode = "cross-az" | "single-az";
export const MEMCACHED_AZ_MODES: readonly MemcachedAzMode[] = ["cross-az", "single-az"];
/** Nodes per memcached cluster ElastiCache allows (its default quota). */
export const MEMCACHED_NODE_COUNT_LIMITS = { min: 1, max: 40 } as const;
/** `azMode: "cross-az"` spreads nodes over AZs: it needs at least this many. */
export const MEMCACHED_CROSS_AZ_MIN_NODES = 2;

/**
 * The name the ingress rule for client `clientName` had when `MemcachedCluster.allowFrom` created it
 * (removed): `<cluster name>-from-<client name>`, a child of the cluster. Clients that now create their
 * own rule (CacheFunction `memcachedIngressRule`) keep this name and alias the cluster as the rule's
 * previous parent, so a deployed stack moves the rule in its state instead of replacing it.
 */
export function legacyClientRuleName(clusterName: string, clientName: string): string {
  return `${clusterName}-from-${clientName}`;
}

/**
 * Arguments of {@link MemcachedCluster}, following Pulumi's guidance for packaged components: plain
 * data only (no methods, no class instances), `Input<T>` wherever an Output can be given.
 *
 * Plain on purpose (they shape what is created, so they must be known when the component is built):
 * `allowedSecurityGroupIds` (a list: its length is the number of rules; its elements may be Outputs),
 * the keys of `parameters` (whether a parameter group exists), `transitEncryption` (clients branch on
 * it) and `protect` (a resource option). Every other argument is an Input: a plain value is checked
 * when the component is constructed, an Output when it resolves (at preview when it is known then).
 */
export interface MemcachedClusterArgs {
  /** VPC the cluster's security group lives in. */
  vpcId: pulumi.Input<string>;
  /** Private subnets (one per AZ) for the subnet group. Never public subnets. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** AZs of the network, in order; nodes are spread round-robin over them when `azMode` is "cross-az". */
  availabilityZones: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Security groups allowed to reach memcached on TCP 11211, for clients known when the cluster is
   * declared. Nothing else is admitted: no CIDR, no world. Clients declared after the cluster (they need
   * its endpoints) create their own ingress rule on `securityGroupId` instead: CacheFunction and
   * HybridLambdaFargateService do, from the `securityGroupId` they are given.
   * @default []
   */
  allowedSecurityGroupIds?: pulumi.Input<string>[];
  /**
   * Node type. Small burstable nodes (cache.t4g.micro, ~$12/month) suit dev; memory-optimised or
   * general-purpose nodes (cache.m7g.large, cache.r7g.large) suit prod. Current generation only (config.ts
   * `MEMCACHED_NODE_TYPES`). A change REPLACES the cluster: the provider cannot resize memcached in place,
   * so a new, empty cluster with new endpoints is created before the old one is deleted.
   * @default "cache.t4g.micro"
   */
  nodeType?: pulumi.Input<string>;
  /**
   * Number of nodes, a whole number from 1 to 40. Clients hash keys over all nodes; losing one node
   * loses only its share of keys.
   * @default 2
   */
  nodeCount?: pulumi.Input<number>;
  /**
   * - `"cross-az"`: nodes spread over `availabilityZones` (survives an AZ outage with the other nodes); needs 2+ nodes.
   * - `"single-az"`: all nodes in the first AZ (no cross-AZ traffic cost, no AZ resilience).
   * A change REPLACES the cluster (empty cache): ElastiCache refuses single-az for nodes already spread,
   * and cross-az would move only new nodes. Existing nodes never change AZ; adding nodes places them
   * round-robin after the existing ones.
   * @default "cross-az"
   */
  azMode?: pulumi.Input<MemcachedAzMode>;
  /**
   * memcached engine version (ElastiCache offers 1.6.6, 1.6.12, 1.6.17, 1.6.22 in the 1.6 family).
   * An upgrade is in place but ALWAYS empties every node; it waits for `maintenanceWindow` unless
   * `applyImmediately`. A downgrade replaces the cluster.
   * @default "1.6.22"
   */
  engineVersion?: pulumi.Input<string>;
  /**
   * memcached parameters (e.g. `{ max_item_size: "2097152" }`). When set, a parameter group of family
   * memcached1.6 is created; otherwise the engine default group is used. The keys are plain, the values Inputs.
   * @default undefined
   */
  parameters?: Record<string, pulumi.Input<string>>;
  /**
   * Weekly maintenance window (UTC), `ddd:hh24:mi-ddd:hh24:mi`, at least 60 minutes.
   * @default "sun:05:00-sun:06:00"
   */
  maintenanceWindow?: pulumi.Input<string>;
  /**
   * Apply modifications during `pulumi up` instead of the maintenance window. Off by default because
   * the modification that waits is the one that hurts: an engine upgrade flushes every node.
   * Everything waits, node-count changes included: set it for the `up` that adds nodes when they are
   * needed before the next window (config `cacheApplyImmediately`).
   * @default false
   */
  applyImmediately?: pulumi.Input<boolean>;
  /**
   * In-transit encryption (TLS) between clients and nodes (`transitEncryptionEnabled`). ElastiCache
   * offers it for memcached 1.6.12 and later on some node families only (config.ts checks both) and
   * sets it ONLY when the cluster is created: a change REPLACES the cluster (the provider forces a new
   * resource; new endpoints, every entry gone once). Every client must then speak TLS: pass the same
   * value to CacheFunction and HybridLambdaFargateService (`MEMCACHED_TLS=on`), or they read nothing.
   * Plain (not an Input): clients decide their configuration from it when they are declared.
   * No extra charge. See docs/cache.md "In-transit encryption".
   * @default false
   */
  transitEncryption?: boolean;
  /**
   * Protect the cluster resource (Pulumi's `protect` option on `aws.elasticache.Cluster` only): while set,
   * `pulumi destroy` and any change that would delete or replace the cluster (node type, AZ mode, TLS)
   * fail instead of emptying the cache. Turn it off in its own `up` before such a change. The subnet
   * group and security group cannot be deleted while the cluster exists anyway. Config `cacheProtect`
   * (true in prod). When unset, the component's own `protect` option (inherited by children) applies.
   * @default undefined (inherit from the component's options; false)
   */
  protect?: boolean;
  /**
   * Not used: the cluster has no alarms of its own (node-level metrics are on the dashboard of docs/cache.md).
   * @deprecated has no effect; kept so existing callers still compile.
   */
  alarmActions?: pulumi.Input<string>[];
}

function checkNodes(name: string, nodeCount: unknown, azMode: unknown): void {
  const { min, max } = MEMCACHED_NODE_COUNT_LIMITS;
  if (typeof nodeCount !== "number" || !Number.isInteger(nodeCount) || nodeCount < min || nodeCount > max) {
    throw new Error(`MemcachedCluster ${name}: nodeCount ${String(nodeCount)} must be a whole number from ${min} to ${max}`);
  }
  if (!MEMCACHED_AZ_MODES.includes(azMode as MemcachedAzMode)) {
    throw new Error(`MemcachedCluster ${name}: azMode ${JSON.stringify(azMode)} must be one of ${MEMCACHED_AZ_MODES.join(", ")}`);
  }
  if (azMode === "cross-az" && nodeCount < MEMCACHED_CROSS_AZ_MIN_NODES) {
    throw new Error(`MemcachedCluster ${name}: azMode "cross-az" needs nodeCount >= ${MEMCACHED_CROSS_AZ_MIN_NODES} (got ${nodeCount})`);
  }
}

const isPlain = <T>(v: pulumi.Input<T>): v is T => !pulumi.Output.isInstance(v) && !(v instanceof Promise);

/**
 * ElastiCache for memcached across AZs in private subnets, reachable on 11211 only from the
 * security groups of the functions and services that use it.
 *
 * In-transit TLS is off unless `transitEncryption` is set (the clients then connect with TLS through
 * functions/cache/memcachedTier.ts, since memjs itself has none). Either way traffic stays inside the
 * VPC between security groups that admit only each other.
 *
 * Clients get in with their own `aws.vpc.SecurityGroupIngressRule` on {@link securityGroupId} (port
 * {@link port}, `referencedSecurityGroupId` = the client's group), or through `allowedSecurityGroupIds`.
 *
 * Escape hatches: the children are exposed as readonly fields (`cluster`, `securityGroup`,
 * `subnetGroup`, `parameterGroup`, `ingressRules`) for reading any of their outputs; to CHANGE a child's
 * inputs or options, pass `transforms` in the component's options (Pulumi runs them on every child, e.g.
 * set the cluster's `snapshotRetentionLimit` or a tag) rather than forking the component.
 */
export class MemcachedCluster extends pulumi.ComponentResource {
  /** Configuration endpoint, "host:port"; answers `config get cluster` (auto discovery). */
  readonly configurationEndpoint: pulumi.Output<string>;
  /** Configuration endpoint host name, without the port. */
  readonly configurationEndpointHost: pulumi.Output<string>;
  readonly port: number;
  /** Every node, "host:port", for clients without auto discovery. */
  readonly nodeEndpoints: pulumi.Output<string[]>;
  /** The cluster's security group: clients add their ingress rule (TCP {@link port}) to it. */
  readonly securityGroupId: pulumi.Output<string>;
  readonly clusterId: pulumi.Output<string>;
  /** Whether the nodes speak only TLS: clients must set MEMCACHED_TLS=on exactly when this is true. */
  readonly transitEncryption: boolean;
  /** The `aws.elasticache.Cluster` (memcached). */
  readonly cluster: aws.elasticache.Cluster;
  /** The cluster's security group (no inline rules; no egress). */
  readonly securityGroup: aws.ec2.SecurityGroup;
  /** The subnet group on the private subnets. */
  readonly subnetGroup: aws.elasticache.SubnetGroup;
  /** The parameter group, when `parameters` is given. */
  readonly parameterGroup?: aws.elasticache.ParameterGroup;
  /** The ingress rules created for `allowedSecurityGroupIds`, in order. */
  readonly ingressRules: aws.vpc.SecurityGroupIngressRule[];

  constructor(name: string, args: MemcachedClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("serverless-cache:cache:MemcachedCluster", name, {}, opts);
    const nodeCount = args.nodeCount ?? 2;
    const azMode = args.azMode ?? "cross-az";
    // Plain values fail here, at construction; Outputs fail when they resolve (at preview when known).
    if (isPlain(nodeCount) && isPlain(azMode)) checkNodes(name, nodeCount, azMode);
    this.port = MEMCACHED_PORT;
    this.transitEncryption = args.transitEncryption ?? false;

    const { securityGroup, ingressRules } = this.createSecurityGroup(name, args);
    this.securityGroup = securityGroup;
    this.securityGroupId = securityGroup.id;
    this.ingressRules = ingressRules;
    this.subnetGroup = new aws.elasticache.SubnetGroup(`${name}-subnets`, {
      subnetIds: args.subnetIds,
      description: `Private subnets of memcached ${name}`,
    }, { parent: this });
    this.parameterGroup = args.parameters ? this.createParameterGroup(name, args.parameters) : undefined;
    const cluster = this.cluster = this.createCluster(name, args, placement(name, args.availabilityZones, nodeCount, azMode));

    this.clusterId = cluster.clusterId;
    this.configurationEndpointHost = cluster.clusterAddress;
    this.configurationEndpoint = pulumi.interpolate`${cluster.clusterAddress}:${MEMCACHED_PORT}`;
    this.nodeEndpoints = cluster.cacheNodes.apply((nodes) => (nodes ?? []).map((n) => `${n.address}:${n.port}`));
    this.registerOutputs({
      configurationEndpoint: this.configurationEndpoint,
      nodeEndpoints: this.nodeEndpoints,
      securityGroupId: this.securityGroupId,
      clusterId: this.clusterId,
    });
  }

  /**
   * The cluster's security group and the rules for `allowedSecurityGroupIds`. No inline rules: the provider
   * then removes AWS's default allow-all egress (memcached never initiates connections), and ingress comes
   * only from SecurityGroupIngressRule resources.
   */
  private createSecurityGroup(name: string, args: MemcachedClusterArgs): { securityGroup: aws.ec2.SecurityGroup; ingressRules: aws.vpc.SecurityGroupIngressRule[] } {
    const child = { parent: this };
    const securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `memcached ${name}: TCP ${MEMCACHED_PORT} from client security groups only`,
      tags: { Name: `${name}-memcached` },
    }, child);
    // Names kept from the former allowFrom(`client-${i}`): unchanged in existing stacks.
    const ingressRules = (args.allowedSecurityGroupIds ?? []).map((sg, i) => new aws.vpc.SecurityGroupIngressRule(
      legacyClientRuleName(name, `client-${i}`), {
        securityGroupId: securityGroup.id,
        referencedSecurityGroupId: sg,
        ipProtocol: "tcp",
        fromPort: MEMCACHED_PORT,
        toPort: MEMCACHED_PORT,
        description: `memcached from client-${i}`,
      }, child));
    return { securityGroup, ingressRules };
  }

  private createParameterGroup(name: string, parameters: NonNullable<MemcachedClusterArgs["parameters"]>): aws.elasticache.ParameterGroup {
    return new aws.elasticache.ParameterGroup(`${name}-params`, {
      family: "memcached1.6",
      description: `Parameters of memcached ${name}`,
      parameters: Object.entries(parameters).map(([pname, value]) => ({ name: pname, value })),
    }, { parent: this });
  }

  private createCluster(name: string, args: MemcachedClusterArgs, nodes: pulumi.Output<Placement>): aws.elasticache.Cluster {
    return new aws.elasticache.Cluster(`${name}`, {
      engine: "memcached",
      engineVersion: args.engineVersion ?? "1.6.22",
      nodeType: args.nodeType ?? "cache.t4g.micro",
      numCacheNodes: nodes.count,
      azMode: nodes.mode,
      preferredAvailabilityZones: nodes.preferred,
      port: MEMCACHED_PORT,
      subnetGroupName: this.subnetGroup.name,
      securityGroupIds: [this.securityGroup.id],
      parameterGroupName: this.parameterGroup?.name,
      networkType: "ipv4",
      // Only at creation; a change is a replacement (the provider's ForceNew).
      transitEncryptionEnabled: this.transitEncryption,
      maintenanceWindow: args.maintenanceWindow ?? "sun:05:00-sun:06:00",
      applyImmediately: args.applyImmediately ?? false,
    // An in-place azMode change is refused (single-az) or moves nothing (cross-az): make it a visible replace.
    // `protect` undefined keeps the component's own (inherited) value.
    }, { parent: this, replaceOnChanges: ["azMode"], ...(args.protect !== undefined ? { protect: args.protect } : {}) });
  }
}

/** Node count, AZ mode and each node's preferred AZ (round-robin over the AZs when cross-az). */
interface Placement {
  count: number;
  mode: MemcachedAzMode;
  preferred: string[];
}

function placement(name: string, availabilityZones: MemcachedClusterArgs["availabilityZones"], nodeCount: pulumi.Input<number>, azMode: pulumi.Input<MemcachedAzMode>): pulumi.Output<Placement> {
  return pulumi.all([pulumi.output(availabilityZones), nodeCount, azMode]).apply(([azs, count, mode]) => {
    checkNodes(name, count, mode);
    if (azs.length === 0) throw new Error(`MemcachedCluster ${name}: availabilityZones is empty`);
    const preferred = mode === "cross-az"
      ? Array.from({ length: count }, (_, i) => azs[i % azs.length])
      : Array.from({ length: count }, () => azs[0]);
    return { count, mode, preferred };
  });
}
