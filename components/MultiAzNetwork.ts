import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ZoneRequirement } from "./awsAvailability";
import { createInterfaceEndpoints, createS3Endpoint } from "./network/endpoints";
import { createFlowLog } from "./network/flowLogs";
import { resolveNetworkSettings, type AccountInfo, type FlowLogMode, type NatMode, type NetworkContext } from "./network/settings";
import { createNatGateways, createPrivateTier, createPublicTier, createVpc } from "./network/tiers";
import { chooseNetworkZones } from "./network/zones";

export { AZ_COUNT_LIMITS, FLOW_LOG_MODES, NAT_MODES, SUBNET_PREFIX_LENGTH_LIMITS, type FlowLogMode, type NatMode } from "./network/settings";
export { s3EndpointPolicy } from "./network/endpoints";
export { flowLogDeliveryPolicy } from "./network/flowLogs";

/**
 * Arguments of {@link MultiAzNetwork}, following Pulumi's guidance for packaged components: plain data
 * only (no methods, no class instances), `Input<T>` wherever an Output can be given.
 *
 * Plain on purpose (they decide how many resources exist and how the range is carved, so they must be
 * known when the component is built; each is checked then, with an error naming it and what is allowed):
 * `cidrBlock`, `azCount`, `subnetPrefixLength`, `natMode`, `interfaceEndpoints`, `flowLogs`, and
 * `restrictS3EndpointToAccount` (whether the endpoint has a policy at all). Every
 * other argument is an Input, checked when it resolves (at preview when it is known then).
 */
export interface MultiAzNetworkArgs {
  /**
   * IPv4 range of the VPC, /16 to /24, in an RFC 1918 range. Plain: the subnets' ranges are carved from it.
   * @example "10.0.0.0/16"
   */
  cidrBlock: string;
  /**
   * How many Availability Zones to span (2 to 6). Each AZ gets one public and one private subnet.
   * More AZs = more resilience; with `natMode: "perAz"` each AZ also adds a NAT gateway (~$33/month + data).
   * @default 2
   */
  azCount?: number;
  /**
   * Prefix length of each subnet. Public subnets take the first `azCount` blocks of the VPC range,
   * private subnets the next `azCount`.
   * @default 20 (4096 addresses per subnet)
   */
  subnetPrefixLength?: number;
  /**
   * NAT gateways for the private subnets' egress.
   * - `"perAz"`: one NAT gateway (and Elastic IP) per AZ; each private route table uses its own AZ's NAT,
   *   so losing an AZ never cuts egress in the others and no cross-AZ data charges apply. Production.
   * - `"single"`: one NAT gateway in the first AZ for all private subnets. Cheapest; that AZ is a single
   *   point of failure for egress, and other AZs pay cross-AZ data transfer. Development.
   * @default "perAz"
   */
  natMode?: NatMode;
  /**
   * Zone IDs (e.g. `["use1-az1", "use1-az2"]`), exactly `azCount` of them, in subnet order. Pin them per
   * stack: AZ *names* map to different physical zones in each account, and a subnet whose AZ changes is
   * replaced, taking the NAT gateways, the cache's subnet group, every Lambda's VPC config, the ALB and
   * the VPC link with it. Each ID must be a real Availability Zone (not a Local Zone) of the Region that
   * offers every service in `zoneRequirements`; otherwise the deploy fails naming the usable IDs.
   * @default the `azCount` lowest zone IDs of the Region that meet `zoneRequirements` (the same zones in every account)
   */
  availabilityZoneIds?: pulumi.Input<string[]>;
  /**
   * Services every AZ must offer, because they get subnets of this network: `"lambda-vpc"` (VPC Lambdas),
   * `"vpc-link-v2"` (API Gateway private integrations), `"fargate"`. Zone support per Region is in
   * components/awsAvailability.ts (copied from the AWS docs, dated).
   * @default ["lambda-vpc"]
   */
  zoneRequirements?: pulumi.Input<ZoneRequirement[]>;
  /**
   * AWS services (short names such as "logs", "ecr.api", "ecr.dkr") to reach through interface
   * endpoints in the private subnets instead of NAT. Each costs ~$0.01/hour per AZ (~$7.30/month)
   * plus $0.01/GB, against NAT's $0.045/GB: worth it above roughly 7.30 x AZs / 0.035 GB per month
   * of that service's traffic (e.g. ECR image pulls of a scaling Fargate service).
   * @default []
   */
  interfaceEndpoints?: string[];
  /**
   * VPC flow logs to CloudWatch Logs (a log group with `flowLogRetentionDays`):
   * - `"reject"`: only rejected traffic: what security groups and NACLs stopped (probes, misconfiguration); small.
   * - `"all"`: every accepted and rejected flow: who talked to whom (incident response); billed as vended logs,
   *   ~$0.50/GB ingested in us-east-1, and busy services produce GBs a day.
   * - `"off"`: none.
   * @default "reject"
   */
  flowLogs?: FlowLogMode;
  /**
   * Retention of the flow log group, days (a CloudWatch Logs retention value).
   * @default 14
   */
  flowLogRetentionDays?: pulumi.Input<number>;
  /**
   * Endpoint policy on the S3 gateway endpoint: from this VPC, only buckets of this account (and the
   * bucket ECR keeps image layers in, so Fargate can still pull). Without it the endpoint lets anything in
   * the VPC read and write any bucket of any account, an exfiltration path that skips the NAT.
   * @default true
   */
  restrictS3EndpointToAccount?: boolean;
}

/**
 * A VPC over 2+ AZs: public and private subnets per AZ, one Internet Gateway, NAT per AZ (or one),
 * a private route table per AZ, and an S3 gateway endpoint so S3 traffic skips NAT data charges.
 * Built from `@pulumi/aws` primitives (not awsx.ec2.Vpc) so every child is visible and testable.
 *
 * Escape hatches: the children are exposed as readonly fields (`vpc`, `publicSubnets`, `privateSubnets`,
 * `natGateways`, `natEips`, `internetGateway`, `publicRouteTable`, `privateRouteTables`, `s3Endpoint`,
 * `interfaceEndpoints`, `flowLog`, ...) for reading any of their outputs; to CHANGE a child's inputs or
 * options, pass `transforms` in the component's options (Pulumi runs them on every child, e.g. tag the
 * subnets for a load-balancer controller) rather than forking the component.
 */
export class MultiAzNetwork extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidrBlock: pulumi.Output<string>;
  /** AZ names in subnet order (index i = AZ of publicSubnetIds[i] and privateSubnetIds[i]), as this account names them. */
  readonly availabilityZones: pulumi.Output<string[]>;
  /** Zone IDs in subnet order: the same physical zones in every account. */
  readonly availabilityZoneIds: pulumi.Output<string[]>;
  readonly publicSubnetIds: pulumi.Output<string[]>;
  readonly privateSubnetIds: pulumi.Output<string[]>;
  readonly privateRouteTableIds: pulumi.Output<string[]>;
  readonly natGatewayIds: pulumi.Output<string[]>;
  readonly s3EndpointId: pulumi.Output<string>;
  /**
   * Id of the AWS-managed S3 prefix list (`com.amazonaws.<region>.s3`) the S3 gateway endpoint routes: a
   * security-group egress rule to it (`prefixListId`, tcp 443) reaches S3 without opening 443 to 0.0.0.0/0.
   * Its weight against the rules-per-group quota is 1 (VPC guide, AWS-managed prefix lists). Allowed on any
   * port by the policy `no-open-egress` (a gateway endpoint's list is AWS-managed).
   */
  readonly s3PrefixListId: pulumi.Output<string>;
  /** Flow log group name, when `flowLogs` is not "off". */
  readonly flowLogGroupName?: pulumi.Output<string>;
  /** The VPC. */
  readonly vpc: aws.ec2.Vpc;
  /** Public subnets, one per AZ, in AZ order. */
  readonly publicSubnets: aws.ec2.Subnet[];
  /** Private subnets, one per AZ, in AZ order. */
  readonly privateSubnets: aws.ec2.Subnet[];
  /** The Internet Gateway. */
  readonly internetGateway: aws.ec2.InternetGateway;
  /** The route table of the public subnets (default route to the IGW). */
  readonly publicRouteTable: aws.ec2.RouteTable;
  /** One route table per private subnet, in AZ order (default route to its NAT gateway). */
  readonly privateRouteTables: aws.ec2.RouteTable[];
  /** NAT gateways: one per AZ (`perAz`) or one in the first AZ (`single`). */
  readonly natGateways: aws.ec2.NatGateway[];
  /** The NAT gateways' Elastic IPs, same order. */
  readonly natEips: aws.ec2.Eip[];
  /** The S3 gateway endpoint on the private route tables. */
  readonly s3Endpoint: aws.ec2.VpcEndpoint;
  /** The VPC's default security group, locked (no rules). */
  readonly defaultSecurityGroup: aws.ec2.DefaultSecurityGroup;
  /** Interface endpoints by service short name ("logs", "ecr.api"), when `interfaceEndpoints` is given. */
  readonly interfaceEndpoints: Record<string, aws.ec2.VpcEndpoint>;
  /** The interface endpoints' security group, when there are any. */
  readonly interfaceEndpointSecurityGroup?: aws.ec2.SecurityGroup;
  /** The VPC flow log, when `flowLogs` is not "off". */
  readonly flowLog?: aws.ec2.FlowLog;
  /** The flow log group, when `flowLogs` is not "off". */
  readonly flowLogGroup?: aws.cloudwatch.LogGroup;

  constructor(name: string, args: MultiAzNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("serverless-cache:network:MultiAzNetwork", name, {}, opts);
    const settings = resolveNetworkSettings(name, args);
    const child = { parent: this };
    const ctx: NetworkContext = { name, args, settings, parent: this, child, region: aws.getRegionOutput({}, child).region };
    const choice = chooseNetworkZones(ctx);
    const zoneIdAt = (i: number): pulumi.Output<string> => choice.apply((c) => c.zoneIds[i]);

    // The VPC, its locked default security group, then the tiers: public subnets, NAT, private subnets.
    const { vpc, defaultSecurityGroup } = createVpc(ctx);
    const publicTier = createPublicTier(ctx, vpc, zoneIdAt);
    const { natGateways, natEips } = createNatGateways(ctx, publicTier);
    const privateTier = createPrivateTier(ctx, vpc, zoneIdAt, natGateways);
    // Endpoints that keep traffic off NAT, and flow logs.
    const account: AccountInfo = { accountId: aws.getCallerIdentityOutput({}, child).accountId, partition: aws.getPartitionOutput({}, child).partition };
    const s3Endpoint = createS3Endpoint(ctx, vpc, privateTier.routeTables, account);
    const flowLog = settings.flowLogs !== "off" ? createFlowLog(ctx, vpc, account) : undefined;
    // Set before the interface endpoints, which choose their subnets from them.
    this.privateSubnetIds = pulumi.all(privateTier.subnets.map((s) => s.id));
    // From the zone choice, not the subnets' computed outputs: known at preview, so a zone problem (an
    // endpoint service offered nowhere) fails `pulumi preview`, not an `up` halfway through.
    this.availabilityZones = choice.apply((c) => c.names);
    const interfaceEndpoints = createInterfaceEndpoints(ctx, vpc, (service) => this.privateSubnetIdsOffering(service));

    this.vpc = vpc;
    this.defaultSecurityGroup = defaultSecurityGroup;
    this.internetGateway = publicTier.internetGateway;
    this.publicRouteTable = publicTier.routeTable;
    this.natEips = natEips;
    this.flowLogGroup = flowLog?.logGroup;
    this.flowLog = flowLog?.flowLog;
    this.flowLogGroupName = flowLog?.logGroup.name;
    this.interfaceEndpointSecurityGroup = interfaceEndpoints.securityGroup;
    this.interfaceEndpoints = interfaceEndpoints.endpoints;
    this.publicSubnets = publicTier.subnets;
    this.privateSubnets = privateTier.subnets;
    this.privateRouteTables = privateTier.routeTables;
    this.natGateways = natGateways;
    this.s3Endpoint = s3Endpoint;
    this.vpcId = vpc.id;
    this.vpcCidrBlock = vpc.cidrBlock;
    this.availabilityZoneIds = choice.apply((c) => c.zoneIds);
    this.publicSubnetIds = pulumi.all(publicTier.subnets.map((s) => s.id));
    this.privateRouteTableIds = pulumi.all(privateTier.routeTables.map((rt) => rt.id));
    this.natGatewayIds = pulumi.all(natGateways.map((n) => n.id));
    this.s3EndpointId = s3Endpoint.id;
    this.s3PrefixListId = s3Endpoint.prefixListId;
    this.registerOutputs({
      vpcId: this.vpcId,
      vpcCidrBlock: this.vpcCidrBlock,
      availabilityZones: this.availabilityZones,
      availabilityZoneIds: this.availabilityZoneIds,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      privateRouteTableIds: this.privateRouteTableIds,
      natGatewayIds: this.natGatewayIds,
      s3EndpointId: this.s3EndpointId,
      s3PrefixListId: this.s3PrefixListId,
      flowLogGroupName: this.flowLogGroupName,
    });
  }

  /**
   * The private subnets in AZs where the interface endpoint service `service` (e.g. "execute-api",
   * "logs") is offered: an endpoint service need not exist in every AZ, and CreateVpcEndpoint fails
   * for a subnet outside them. Fails the deploy when the service is offered in none of them.
   */
  privateSubnetIdsOffering(service: string): pulumi.Output<string[]> {
    const offered = aws.ec2.getVpcEndpointServiceOutput({ service, serviceType: "Interface" }, { parent: this }).availabilityZones;
    // Which subnets (by index) from names and the service's zones alone, so this fails at preview.
    const keep = pulumi.all([this.availabilityZones, offered]).apply(([azs, offeredAzs]) => {
      const indices = azs.map((az, i) => (offeredAzs.includes(az) ? i : -1)).filter((i) => i >= 0);
      if (indices.length === 0) {
        throw new Error(`MultiAzNetwork: the ${service} endpoint service is offered in ${offeredAzs.join(", ") || "no AZ"}, none of this network's AZs (${azs.join(", ")})`);
      }
      return indices;
    });
    return pulumi.all([this.privateSubnetIds, keep]).apply(([ids, indices]) => indices.map((i) => ids[i]));
  }
}
