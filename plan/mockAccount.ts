/**
 * A mock AWS account that behaves like a real one where our mocks used to hold our own beliefs:
 * - its AZ *names* map to zone IDs in an order of its own (us-east-1a is not use1-az1), and it has
 *   enabled Local and Wavelength Zones, which DescribeAvailabilityZones lists (sorted first by name)
 *   unless filtered out;
 * - it refuses what AWS refuses at create time: Lambda VPC subnets and VPC links V2 in zones those
 *   services do not offer, subnets in unknown zones, reserved concurrency that leaves fewer than 100
 *   unreserved, more Elastic IPs than the quota, memcached versions and node types ElastiCache does
 *   not offer, a stage with access logs while the account has no API Gateway CloudWatch role.
 * Every rule cites its source in docs/aws-constraints.md. The engine (plan/engine.ts) calls
 * {@link MockAccount.create} for each resource and {@link MockAccount.call} for each data source.
 */
import { LAMBDA_VPC_UNSUPPORTED_ZONE_IDS, VPC_LINK_V2_ZONE_IDS } from "../components/awsAvailability";

/*
 * What ElastiCache offers for memcached, as the account sees it. The same facts as config.ts's
 * MEMCACHED_ENGINE_VERSIONS / MEMCACHED_NODE_TYPES (test/plan/mockAccount.test.ts checks that they
 * agree), kept here because this module ships in `serverless-cache/testing` and must not load this
 * repository's program config (config.ts and what it imports). The copy is on purpose: the account must
 * not take the program's word for what AWS offers: a change to one list alone fails that test.
 */
/** memcached 1.6 versions ElastiCache offers ("Supported ElastiCache for Memcached versions", checked 2026-11-29). */
export const ELASTICACHE_MEMCACHED_VERSIONS: readonly string[] = ["1.6.6", "1.6.12", "1.6.17", "1.6.22"];
/** Current-generation node types that run memcached ("Supported node types", checked 2026-11-29). */
export const ELASTICACHE_MEMCACHED_NODE_TYPES: readonly string[] = [
  ...["micro", "small", "medium"].flatMap((size) => [`cache.t4g.${size}`, `cache.t3.${size}`]),
  ...["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"].flatMap((size) =>
    ["m7g", "m6g", "r7g", "r6g"].map((family) => `cache.${family}.${size}`)),
  ...["large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"].flatMap((size) => [`cache.m5.${size}`, `cache.r5.${size}`]),
  ...["large", "xlarge", "2xlarge", "4xlarge", "10xlarge"].map((size) => `cache.m4.${size}`),
  ...["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"].map((size) => `cache.r4.${size}`),
];

/** One zone of the mock account, as DescribeAvailabilityZones describes it. */
export interface MockZone {
  name: string;
  zoneId: string;
  zoneType: "availability-zone" | "local-zone" | "wavelength-zone";
  optInStatus: "opt-in-not-required" | "opted-in" | "not-opted-in";
  groupName: string;
  state: "available" | "information" | "impaired" | "unavailable";
}

export interface MockAccountOptions {
  accountId?: string;
  region?: string;
  /** Every zone the account can see (AZs, Local and Wavelength Zones). */
  zones?: MockZone[];
  /** Lambda ConcurrentExecutions quota. */
  lambdaConcurrencyQuota?: number;
  /** Elastic IP quota per Region (L-0263D0A3) and addresses already allocated by others. */
  elasticIpQuota?: number;
  elasticIpsInUse?: number;
  /** The API Gateway account's CloudWatch role before this program runs (undefined = a fresh account). */
  apiGatewayCloudWatchRoleArn?: string;
  /** Interface endpoint services missing from these AZ names (default: the AZ of use1-az3). */
  endpointServiceMissingAzNames?: string[];
}

const AZ = (name: string, zoneId: string, state: MockZone["state"] = "available"): MockZone =>
  ({ name, zoneId, zoneType: "availability-zone", optInStatus: "opt-in-not-required", groupName: "us-east-1", state });

/**
 * us-east-1 as one real account sees it: names shuffled against IDs (here "a" is use1-az3, the zone
 * VPC links V2 and VPC Lambdas do not support), two enabled Local Zones and a Wavelength Zone that
 * sort before the AZs by name, and a Local Zone the account has not opted into.
 */
export const DEFAULT_ZONES: readonly MockZone[] = [
  AZ("us-east-1a", "use1-az3"),
  AZ("us-east-1b", "use1-az6"),
  AZ("us-east-1c", "use1-az1"),
  AZ("us-east-1d", "use1-az4"),
  AZ("us-east-1e", "use1-az2"),
  AZ("us-east-1f", "use1-az5"),
  { name: "us-east-1-bos-1a", zoneId: "use1-bos1-az1", zoneType: "local-zone", optInStatus: "opted-in", groupName: "us-east-1-bos-1", state: "available" },
  { name: "us-east-1-atl-1a", zoneId: "use1-atl1-az1", zoneType: "local-zone", optInStatus: "opted-in", groupName: "us-east-1-atl-1", state: "available" },
  { name: "us-east-1-wl1-bos-wlz-1", zoneId: "use1-wl1-bos-wlz1", zoneType: "wavelength-zone", optInStatus: "opted-in", groupName: "us-east-1-wl1", state: "available" },
  { name: "us-east-1-mia-1a", zoneId: "use1-mia1-az1", zoneType: "local-zone", optInStatus: "not-opted-in", groupName: "us-east-1-mia-1", state: "available" },
];

/** Interface endpoint services this Region offers (the ones the project may ask for). */
const KNOWN_ENDPOINT_SERVICES = ["execute-api", "logs", "monitoring", "ecr.api", "ecr.dkr", "elasticloadbalancing", "ecs", "sts", "lambda", "s3"];

/** AWS refused the request, as the provider would report it. */
export class MockAwsError extends Error {
  constructor(readonly resource: string, message: string) {
    super(`${resource}: ${message}`);
    this.name = "MockAwsError";
  }
}

type Inputs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON by nature

interface Filter {
  name?: string;
  values?: string[];
}

function filterValue(zone: MockZone, name: string): string | undefined {
  switch (name) {
    case "zone-type": return zone.zoneType;
    case "opt-in-status": return zone.optInStatus;
    case "zone-id": return zone.zoneId;
    case "zone-name": return zone.name;
    case "group-name": return zone.groupName;
    case "state": return zone.state;
    case "region-name": return "us-east-1";
    default: return undefined;
  }
}

export class MockAccount {
  readonly accountId: string;
  readonly region: string;
  readonly zones: readonly MockZone[];
  private readonly concurrencyQuota: number;
  private readonly eipQuota: number;
  private eipsInUse: number;
  private reservedConcurrency = 0;
  private cloudWatchRoleArn: string | undefined;
  private readonly endpointMissing: string[];
  /** Subnet id -> zone, for the rules that look at where a resource's subnets are. */
  private readonly subnetZones = new Map<string, MockZone>();

  constructor(options: MockAccountOptions = {}) {
    this.accountId = options.accountId ?? "123456789012";
    this.region = options.region ?? "us-east-1";
    this.zones = options.zones ?? DEFAULT_ZONES;
    this.concurrencyQuota = options.lambdaConcurrencyQuota ?? 1000;
    this.eipQuota = options.elasticIpQuota ?? 5;
    this.eipsInUse = options.elasticIpsInUse ?? 0;
    this.cloudWatchRoleArn = options.apiGatewayCloudWatchRoleArn;
    const az3 = this.zones.find((z) => z.zoneId === "use1-az3")?.name;
    this.endpointMissing = options.endpointServiceMissingAzNames ?? (az3 ? [az3] : []);
  }

  /** DescribeAvailabilityZones as the provider's data source returns it (sorted by name). */
  describeZones(args: Inputs): { names: string[]; zoneIds: string[]; groupNames: string[] } {
    const filters: Filter[] = args.filters ?? [];
    const excludeIds: string[] = args.excludeZoneIds ?? [];
    const excludeNames: string[] = args.excludeNames ?? [];
    const zones = this.zones
      .filter((z) => args.allAvailabilityZones === true || z.optInStatus !== "not-opted-in")
      .filter((z) => args.state === undefined || z.state === args.state)
      .filter((z) => filters.every((f) => f.name === undefined || (f.values ?? []).includes(filterValue(z, f.name) ?? "\u0000")))
      .filter((z) => !excludeIds.includes(z.zoneId) && !excludeNames.includes(z.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { names: zones.map((z) => z.name), zoneIds: zones.map((z) => z.zoneId), groupNames: zones.map((z) => z.groupName) };
  }

  /** Data sources. Returns undefined for tokens this account does not model. */
  call(token: string, args: Inputs): Record<string, unknown> | undefined {
    switch (token) {
      case "aws:index/getAvailabilityZones:getAvailabilityZones":
        return { ...this.describeZones(args), id: this.region };
      case "aws:index/getRegion:getRegion":
        return { name: this.region, region: this.region, id: this.region };
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: this.accountId, arn: `arn:aws:iam::${this.accountId}:user/test`, userId: "test" };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com" };
      case "aws:ec2/getVpcEndpointService:getVpcEndpointService": {
        const service = String(args.service ?? String(args.serviceName ?? "").replace(`com.amazonaws.${this.region}.`, ""));
        if (!KNOWN_ENDPOINT_SERVICES.includes(service)) throw new MockAwsError(token, `no matching VPC Endpoint Service found for ${service}`);
        const azs = this.zones.filter((z) => z.zoneType === "availability-zone" && !this.endpointMissing.includes(z.name)).map((z) => z.name).sort();
        return {
          service,
          serviceName: args.serviceName ?? `com.amazonaws.${this.region}.${args.service}`,
          serviceType: args.serviceType ?? "Interface",
          availabilityZones: azs,
          acceptanceRequired: false,
          privateDnsName: `${service}.${this.region}.amazonaws.com`,
          id: `${service}-service`,
        };
      }
      default:
        return undefined;
    }
  }

  private zoneOfSubnets(type: string, subnetIds: unknown): MockZone[] {
    const ids = Array.isArray(subnetIds) ? subnetIds.map(String) : [];
    return ids.map((id) => {
      const zone = this.subnetZones.get(id);
      if (!zone) throw new MockAwsError(type, `subnet ${id} does not exist`);
      return zone;
    });
  }

  /**
   * Check a resource as the AWS API would on create, and return the state AWS adds (or throw a
   * {@link MockAwsError} with AWS's refusal). `id` is the id the engine gives the resource.
   */
  create(type: string, id: string, inputs: Inputs): Record<string, unknown> {
    switch (type) {
      case "aws:ec2/subnet:Subnet": {
        if (inputs.availabilityZoneId !== undefined && inputs.availabilityZone !== undefined) {
          throw new MockAwsError(type, "\"availability_zone\": conflicts with availability_zone_id");
        }
        const byId = inputs.availabilityZoneId !== undefined ? this.zones.find((z) => z.zoneId === inputs.availabilityZoneId) : undefined;
        const byName = inputs.availabilityZone !== undefined ? this.zones.find((z) => z.name === inputs.availabilityZone) : undefined;
        const zone = byId ?? byName;
        if (!zone || zone.optInStatus === "not-opted-in") {
          throw new MockAwsError(type, `Value (${inputs.availabilityZoneId ?? inputs.availabilityZone}) for parameter availabilityZone is invalid`);
        }
        this.subnetZones.set(id, zone);
        return { availabilityZone: zone.name, availabilityZoneId: zone.zoneId };
      }
      case "aws:lambda/function:Function": {
        const zones = this.zoneOfSubnets(type, inputs.vpcConfig?.subnetIds);
        const refused = zones.filter((z) => z.zoneType !== "availability-zone" || LAMBDA_VPC_UNSUPPORTED_ZONE_IDS.includes(z.zoneId));
        if (refused.length > 0) {
          throw new MockAwsError(type, `InvalidParameterValueException: The provided subnets contain availability zone Lambda doesn't support (${refused.map((z) => z.zoneId).join(", ")})`);
        }
        const reserved = Number(inputs.reservedConcurrentExecutions ?? -1);
        if (reserved > 0) {
          if (this.concurrencyQuota - this.reservedConcurrency - reserved < 100) {
            throw new MockAwsError(type, `InvalidParameterValueException: Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100] (quota ${this.concurrencyQuota}, already reserved ${this.reservedConcurrency})`);
          }
          this.reservedConcurrency += reserved;
        }
        return {};
      }
      case "aws:apigatewayv2/vpcLink:VpcLink": {
        const allowed = VPC_LINK_V2_ZONE_IDS[this.region] ?? [];
        const refused = this.zoneOfSubnets(type, inputs.subnetIds).filter((z) => !allowed.includes(z.zoneId));
        if (refused.length > 0) throw new MockAwsError(type, `BadRequestException: VPC link V2 is not supported in ${refused.map((z) => z.zoneId).join(", ")}`);
        return {};
      }
      case "aws:ec2/vpcEndpoint:VpcEndpoint": {
        if (inputs.vpcEndpointType !== "Interface") return {};
        const missing = this.zoneOfSubnets(type, inputs.subnetIds).filter((z) => this.endpointMissing.includes(z.name));
        if (missing.length > 0) throw new MockAwsError(type, `InvalidParameter: The VPC endpoint service ${inputs.serviceName} does not support the Availability Zone of the subnet (${missing.map((z) => z.name).join(", ")})`);
        return {};
      }
      case "aws:ec2/eip:Eip": {
        if (this.eipsInUse >= this.eipQuota) throw new MockAwsError(type, `AddressLimitExceeded: The maximum number of addresses (${this.eipQuota}) has been reached`);
        this.eipsInUse += 1;
        return {};
      }
      case "aws:elasticache/cluster:Cluster": {
        if (inputs.engine === "memcached" && inputs.engineVersion !== undefined && !ELASTICACHE_MEMCACHED_VERSIONS.includes(inputs.engineVersion)) {
          throw new MockAwsError(type, `InvalidParameterCombination: Cannot find version ${inputs.engineVersion} for memcached`);
        }
        if (inputs.nodeType !== undefined && !ELASTICACHE_MEMCACHED_NODE_TYPES.includes(inputs.nodeType)) {
          throw new MockAwsError(type, `InvalidParameterValue: Invalid or previous-generation node type ${inputs.nodeType}`);
        }
        const known = new Set(this.zones.filter((z) => z.zoneType === "availability-zone").map((z) => z.name));
        const bad = ((inputs.preferredAvailabilityZones ?? []) as string[]).filter((n) => !known.has(n));
        if (bad.length > 0) throw new MockAwsError(type, `InvalidParameterValue: unknown Availability Zone(s) ${bad.join(", ")}`);
        return {};
      }
      case "aws:apigateway/account:Account":
        this.cloudWatchRoleArn = inputs.cloudwatchRoleArn;
        return { cloudwatchRoleArn: inputs.cloudwatchRoleArn };
      case "aws:apigateway/stage:Stage":
        if (inputs.accessLogSettings && !this.cloudWatchRoleArn) {
          throw new MockAwsError(type, "BadRequestException: CloudWatch Logs role ARN must be set in account settings to enable logging");
        }
        return {};
      default:
        return {};
    }
  }
}
