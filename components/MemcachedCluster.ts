import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export const MEMCACHED_PORT = 11211;

export interface MemcachedClusterArgs {
  /** VPC the cluster's security group lives in. */
  vpcId: pulumi.Input<string>;
  /** Private subnets (one per AZ) for the subnet group. Never public subnets. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** AZs of the network, in order; nodes are spread round-robin over them when `azMode` is "cross-az". */
  availabilityZones: pulumi.Input<string[]>;
  /**
   * Security groups allowed to reach memcached on TCP 11211 (the functions' and services' groups).
   * Nothing else is admitted: no CIDR, no world. More can be added later with {@link MemcachedCluster.allowFrom}.
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
   * Number of nodes, 1 to 40. Clients hash keys over all nodes; losing one node loses only its share of keys.
   * @default 2
   */
  nodeCount?: number;
  /**
   * - `"cross-az"`: nodes spread over `availabilityZones` (survives an AZ outage with the other nodes); needs 2+ nodes.
   * - `"single-az"`: all nodes in the first AZ (no cross-AZ traffic cost, no AZ resilience).
   * A change REPLACES the cluster (empty cache): ElastiCache refuses single-az for nodes already spread,
   * and cross-az would move only new nodes. Existing nodes never change AZ; adding nodes places them
   * round-robin after the existing ones.
   * @default "cross-az"
   */
  azMode?: "cross-az" | "single-az";
  /**
   * memcached engine version (ElastiCache offers 1.6.6, 1.6.12, 1.6.17, 1.6.22 in the 1.6 family).
   * An upgrade is in place but ALWAYS empties every node; it waits for `maintenanceWindow` unless
   * `applyImmediately`. A downgrade replaces the cluster.
   * @default "1.6.22"
   */
  engineVersion?: pulumi.Input<string>;
  /**
   * memcached parameters (e.g. `{ max_item_size: "2097152" }`). When set, a parameter group of family
   * memcached1.6 is created; otherwise the engine default group is used.
   * @default undefined
   */
  parameters?: Record<string, string>;
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
  applyImmediately?: boolean;
  /**
   * In-transit encryption (TLS) between clients and nodes (`transitEncryptionEnabled`). ElastiCache
   * offers it for memcached 1.6.12 and later on some node families only (config.ts checks both) and
   * sets it ONLY when the cluster is created: a change REPLACES the cluster (the provider forces a new
   * resource; new endpoints, every entry gone once). Every client must then speak TLS: pass the same
   * value to CacheFunction and HybridLambdaFargateService (`MEMCACHED_TLS=on`), or they read nothing.
   * No extra charge. See docs/cache.md "In-transit encryption".
   * @default false
   */
  transitEncryption?: boolean;
  /**
   * SNS topic ARNs notified by the cluster's alarms.
   * @default []
   */
  alarmActions?: pulumi.Input<string>[];
}

/**
 * ElastiCache for memcached across AZs in private subnets, reachable on 11211 only from the
 * security groups of the functions and services that use it.
 *
 * In-transit TLS is off unless `transitEncryption` is set (the clients then connect with TLS through
 * functions/cache/memcachedTier.ts, since memjs itself has none). Either way traffic stays inside the
 * VPC between security groups that admit only each other.
 */
export class MemcachedCluster extends pulumi.ComponentResource {
  /** Configuration endpoint, "host:port"; answers `config get cluster` (auto discovery). */
  readonly configurationEndpoint: pulumi.Output<string>;
  /** Configuration endpoint host name, without the port. */
  readonly configurationEndpointHost: pulumi.Output<string>;
  readonly port: number;
  /** Every node, "host:port", for clients without auto discovery. */
  readonly nodeEndpoints: pulumi.Output<string[]>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly clusterId: pulumi.Output<string>;
  /** Whether the nodes speak only TLS: clients must set MEMCACHED_TLS=on exactly when this is true. */
  readonly transitEncryption: boolean;
  private readonly name: string;

  constructor(name: string, args: MemcachedClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("serverless-cache:cache:MemcachedCluster", name, {}, opts);
    const nodeCount = args.nodeCount ?? 2;
    const azMode = args.azMode ?? "cross-az";
    if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 40) {
      throw new Error(`MemcachedCluster ${name}: nodeCount ${nodeCount} must be a whole number from 1 to 40`);
    }
    if (azMode === "cross-az" && nodeCount < 2) {
      throw new Error(`MemcachedCluster ${name}: azMode "cross-az" needs nodeCount >= 2 (got ${nodeCount})`);
    }
    this.name = name;
    this.port = MEMCACHED_PORT;
    this.transitEncryption = args.transitEncryption ?? false;
    const child = { parent: this };

    // No inline rules: the provider then removes AWS's default allow-all egress (memcached never
    // initiates connections), and ingress comes only from SecurityGroupIngressRule resources below.
    const securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `memcached ${name}: TCP ${MEMCACHED_PORT} from client security groups only`,
      tags: { Name: `${name}-memcached` },
    }, child);
    this.securityGroupId = securityGroup.id;
    (args.allowedSecurityGroupIds ?? []).forEach((sg, i) => this.allowFrom(`client-${i}`, sg));

    const subnetGroup = new aws.elasticache.SubnetGroup(`${name}-subnets`, {
      subnetIds: args.subnetIds,
      description: `Private subnets of memcached ${name}`,
    }, child);

    const parameterGroup = args.parameters
      ? new aws.elasticache.ParameterGroup(`${name}-params`, {
        family: "memcached1.6",
        description: `Parameters of memcached ${name}`,
        parameters: Object.entries(args.parameters).map(([pname, value]) => ({ name: pname, value })),
      }, child)
      : undefined;

    const preferredAzs = pulumi.output(args.availabilityZones).apply((azs) => {
      if (azs.length === 0) throw new Error(`MemcachedCluster ${name}: availabilityZones is empty`);
      return azMode === "cross-az"
        ? Array.from({ length: nodeCount }, (_, i) => azs[i % azs.length])
        : Array.from({ length: nodeCount }, () => azs[0]);
    });

    const cluster = new aws.elasticache.Cluster(`${name}`, {
      engine: "memcached",
      engineVersion: args.engineVersion ?? "1.6.22",
      nodeType: args.nodeType ?? "cache.t4g.micro",
      numCacheNodes: nodeCount,
      azMode,
      preferredAvailabilityZones: preferredAzs,
      port: MEMCACHED_PORT,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [securityGroup.id],
      parameterGroupName: parameterGroup?.name,
      networkType: "ipv4",
      // Only at creation; a change is a replacement (the provider's ForceNew).
      transitEncryptionEnabled: this.transitEncryption,
      maintenanceWindow: args.maintenanceWindow ?? "sun:05:00-sun:06:00",
      applyImmediately: args.applyImmediately ?? false,
    // An in-place azMode change is refused (single-az) or moves nothing (cross-az): make it a visible replace.
    }, { parent: this, replaceOnChanges: ["azMode"] });

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
   * Admit TCP 11211 from one more security group (a function or service that uses the cache).
   * The rule is a child of this component, named after `clientName`.
   */
  allowFrom(clientName: string, sourceSecurityGroupId: pulumi.Input<string>): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(`${this.name}-from-${clientName}`, {
      securityGroupId: this.securityGroupId,
      referencedSecurityGroupId: sourceSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: MEMCACHED_PORT,
      toPort: MEMCACHED_PORT,
      description: `memcached from ${clientName}`,
    }, { parent: this });
  }
}
