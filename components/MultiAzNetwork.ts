import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { chooseZones, ZONE_REQUIREMENTS, type ZoneRequirement } from "./awsAvailability";
import { nthSubnet, parseCidr } from "./cidr";

export type NatMode = "perAz" | "single";
export type FlowLogMode = "off" | "reject" | "all";
export const FLOW_LOG_MODES: readonly FlowLogMode[] = ["off", "reject", "all"];
export const NAT_MODES: readonly NatMode[] = ["perAz", "single"];

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
 * Policy of the S3 gateway endpoint (pure): any action on buckets of this account, and reads of the
 * bucket ECR stores image layers in (`prod-<region>-starport-layer-bucket`, ECR user guide: the S3
 * gateway endpoint's policy must allow it, or Fargate cannot pull images through it).
 */
export function s3EndpointPolicy(partition: string, region: string, accountId: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ThisAccountsBuckets",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:*",
        Resource: "*",
        Condition: { StringEquals: { "aws:ResourceAccount": accountId } },
      },
      {
        Sid: "EcrImageLayers",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: `arn:${partition}:s3:::prod-${region}-starport-layer-bucket/*`,
      },
    ],
  };
}

/**
 * Permissions of the flow-log delivery role (pure): the VPC guide's minimum ("IAM role for publishing flow
 * logs to CloudWatch Logs": CreateLogGroup, CreateLogStream, PutLogEvents, DescribeLogGroups,
 * DescribeLogStreams) scoped to the one log group, except DescribeLogGroups, which supports no
 * resource-level permissions (Service Authorization Reference, CloudWatch Logs) and so needs "*" (an
 * exception the policy pack lists). CreateLogGroup is left out on purpose: the group is managed here with a
 * retention, and a group the service re-created after a deletion would keep records forever.
 */
export function flowLogDeliveryPolicy(logGroupArn: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriteFlowLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [logGroupArn, `${logGroupArn}:*`],
      },
      {
        Sid: "FindLogGroup",
        Effect: "Allow",
        Action: ["logs:DescribeLogGroups"],
        Resource: "*",
      },
    ],
  };
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
    const azCount = args.azCount ?? 2;
    const prefix = args.subnetPrefixLength ?? 20;
    const natMode: NatMode = args.natMode ?? "perAz";
    if (typeof args.cidrBlock !== "string") {
      throw new Error(`MultiAzNetwork ${name}: cidrBlock must be a plain string such as "10.0.0.0/16" (the subnets are carved from it when the component is built), not an Output`);
    }
    const vpcRange = parseCidr(args.cidrBlock);
    if (!vpcRange) throw new Error(`MultiAzNetwork ${name}: cidrBlock ${JSON.stringify(args.cidrBlock)} is not an IPv4 CIDR`);
    if (!Number.isInteger(azCount) || azCount < 2 || azCount > 6) {
      throw new Error(`MultiAzNetwork ${name}: azCount ${azCount} must be a whole number from 2 to 6`);
    }
    if (!NAT_MODES.includes(natMode)) throw new Error(`MultiAzNetwork ${name}: natMode ${JSON.stringify(natMode)} must be one of ${NAT_MODES.join(", ")}`);
    if (!Number.isInteger(prefix) || prefix < 16 || prefix > 28) {
      throw new Error(`MultiAzNetwork ${name}: subnetPrefixLength ${prefix} must be a whole number from 16 to 28 (AWS subnets are /16 to /28)`);
    }
    const carve = (i: number): string => {
      try {
        return nthSubnet(vpcRange, prefix, i);
      } catch (e) {
        throw new Error(`MultiAzNetwork ${name}: subnetPrefixLength ${prefix}: ${2 * azCount} subnets (public + private in ${azCount} AZs) do not fit in cidrBlock ${args.cidrBlock} (${(e as Error).message})`);
      }
    };
    const publicCidrs = Array.from({ length: azCount }, (_, i) => carve(i));
    const privateCidrs = Array.from({ length: azCount }, (_, i) => carve(azCount + i));
    const child = { parent: this };

    const region = aws.getRegionOutput({}, child).region;
    // Real Availability Zones only: an account's enabled Local and Wavelength Zones are listed too (and
    // sort first by name). No `state` filter: an AZ that is impaired today must not shift the others.
    const zones = aws.getAvailabilityZonesOutput({
      filters: [
        { name: "zone-type", values: ["availability-zone"] },
        { name: "opt-in-status", values: ["opt-in-not-required"] },
      ],
    }, child);
    const checkRequirements = (reqs: readonly string[]): void => {
      const unknown = reqs.filter((r) => !ZONE_REQUIREMENTS.includes(r as ZoneRequirement));
      if (unknown.length > 0) {
        throw new Error(`MultiAzNetwork ${name}: zoneRequirements ${JSON.stringify(unknown)}: each must be one of ${ZONE_REQUIREMENTS.join(", ")}`);
      }
    };
    const requirementsInput = args.zoneRequirements ?? ["lambda-vpc"];
    if (Array.isArray(requirementsInput)) checkRequirements(requirementsInput);
    const choice = pulumi.all([region, zones.names, zones.zoneIds, pulumi.output(args.availabilityZoneIds ?? []), pulumi.output(requirementsInput)])
      .apply(([r, names, ids, pinned, requirements]) => {
        checkRequirements(requirements);
        try {
          return chooseZones({
            region: r,
            zones: ids.map((zoneId, i) => ({ zoneId, name: names[i] })),
            count: azCount,
            pinned,
            requirements,
          });
        } catch (e) {
          throw new Error(`MultiAzNetwork ${name}: availabilityZoneIds: ${(e as Error).message}`);
        }
      });
    const zoneIdAt = (i: number): pulumi.Output<string> => choice.apply((c) => c.zoneIds[i]);

    const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
      cidrBlock: args.cidrBlock,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: { Name: `${name}-vpc` },
    }, child);
    this.vpc = vpc;

    // The default security group admits all traffic between its members; nothing should use it.
    this.defaultSecurityGroup = new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: { Name: `${name}-default-locked` } }, child);

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${name}-igw` } }, child);
    const publicRouteTable = new aws.ec2.RouteTable(`${name}-public-rt`, {
      vpcId: vpc.id,
      tags: { Name: `${name}-public` },
    }, child);
    new aws.ec2.Route(`${name}-public-default`, {
      routeTableId: publicRouteTable.id,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: igw.id,
    }, child);
    this.internetGateway = igw;
    this.publicRouteTable = publicRouteTable;

    const publicSubnets = publicCidrs.map((cidr, i) => {
      const subnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZoneId: zoneIdAt(i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-public-${i}`, "serverless-cache:tier": "public" },
      }, child);
      new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, {
        subnetId: subnet.id,
        routeTableId: publicRouteTable.id,
      }, child);
      return subnet;
    });

    const natCount = natMode === "perAz" ? azCount : 1;
    this.natEips = [];
    const natGateways = Array.from({ length: natCount }, (_, i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, child);
      this.natEips.push(eip);
      return new aws.ec2.NatGateway(`${name}-nat-${i}`, {
        subnetId: publicSubnets[i].id,
        allocationId: eip.id,
        connectivityType: "public",
        tags: { Name: `${name}-nat-${i}` },
      }, { parent: this, dependsOn: [igw] });
    });

    const privateSubnets: aws.ec2.Subnet[] = [];
    const privateRouteTables: aws.ec2.RouteTable[] = [];
    privateCidrs.forEach((cidr, i) => {
      const subnet = new aws.ec2.Subnet(`${name}-private-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZoneId: zoneIdAt(i),
        tags: { Name: `${name}-private-${i}`, "serverless-cache:tier": "private" },
      }, child);
      const routeTable = new aws.ec2.RouteTable(`${name}-private-rt-${i}`, {
        vpcId: vpc.id,
        tags: { Name: `${name}-private-${i}` },
      }, child);
      new aws.ec2.Route(`${name}-private-default-${i}`, {
        routeTableId: routeTable.id,
        destinationCidrBlock: "0.0.0.0/0",
        natGatewayId: natGateways[natMode === "perAz" ? i : 0].id,
      }, child);
      new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, {
        subnetId: subnet.id,
        routeTableId: routeTable.id,
      }, child);
      privateSubnets.push(subnet);
      privateRouteTables.push(routeTable);
    });

    // Gateway endpoints are free; S3 traffic through them skips NAT data processing (~$0.045/GB).
    const accountId = aws.getCallerIdentityOutput({}, child).accountId;
    const partition = aws.getPartitionOutput({}, child).partition;
    const s3Endpoint = new aws.ec2.VpcEndpoint(`${name}-s3`, {
      vpcId: vpc.id,
      serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: privateRouteTables.map((rt) => rt.id),
      policy: (args.restrictS3EndpointToAccount ?? true)
        ? pulumi.all([partition, region, accountId]).apply(([p, r, a]) => JSON.stringify(s3EndpointPolicy(p, r, a)))
        : undefined,
      tags: { Name: `${name}-s3` },
    }, child);

    const flowLogs = args.flowLogs ?? "reject";
    if (!FLOW_LOG_MODES.includes(flowLogs)) throw new Error(`MultiAzNetwork ${name}: flowLogs ${JSON.stringify(flowLogs)} must be one of ${FLOW_LOG_MODES.join(", ")}`);
    this.interfaceEndpoints = {};
    if (flowLogs !== "off") {
      const logGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, { retentionInDays: args.flowLogRetentionDays ?? 14 }, child);
      // Delivery role for the flow-logs service, limited to this account's flow logs (confused deputy).
      const role = new aws.iam.Role(`${name}-flow-logs`, {
        description: `VPC flow logs of ${name} to CloudWatch Logs`,
        assumeRolePolicy: pulumi.all([partition, region, accountId]).apply(([p, r, a]) => JSON.stringify({
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": a },
              ArnLike: { "aws:SourceArn": `arn:${p}:ec2:${r}:${a}:vpc-flow-log/*` },
            },
          }],
        })),
      }, child);
      const delivery = new aws.iam.RolePolicy(`${name}-flow-logs`, {
        role: role.id,
        policy: logGroup.arn.apply((arn) => JSON.stringify(flowLogDeliveryPolicy(arn))),
      }, child);
      // CreateFlowLogs checks that the role may deliver to the group ("Access Denied for LogDestination"),
      // so the role's permissions must exist first; the flow log's inputs alone (role.arn) do not order it.
      this.flowLogGroup = logGroup;
      this.flowLog = new aws.ec2.FlowLog(`${name}-flow-logs`, {
        vpcId: vpc.id,
        trafficType: flowLogs === "all" ? "ALL" : "REJECT",
        logDestinationType: "cloud-watch-logs",
        logDestination: logGroup.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 600,
        tags: { Name: `${name}-flow-logs` },
      }, { parent: this, dependsOn: [delivery] });
      this.flowLogGroupName = logGroup.name;
    }

    // Set before the interface endpoints, which choose their subnets from them.
    this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
    // From the zone choice, not the subnets' computed outputs: known at preview, so a zone problem (an
    // endpoint service offered nowhere) fails `pulumi preview`, not an `up` halfway through.
    this.availabilityZones = choice.apply((c) => c.names);

    const interfaceEndpoints = args.interfaceEndpoints ?? [];
    if (interfaceEndpoints.length > 0) {
      const endpointSg = this.interfaceEndpointSecurityGroup = new aws.ec2.SecurityGroup(`${name}-endpoints-sg`, {
        vpcId: vpc.id,
        description: `Interface endpoints of ${name}: HTTPS from inside the VPC`,
        tags: { Name: `${name}-endpoints` },
      }, child);
      new aws.vpc.SecurityGroupIngressRule(`${name}-endpoints-https`, {
        securityGroupId: endpointSg.id,
        cidrIpv4: vpc.cidrBlock,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        description: "HTTPS to AWS APIs from inside the VPC",
      }, child);
      for (const service of interfaceEndpoints) {
        this.interfaceEndpoints[service] = new aws.ec2.VpcEndpoint(`${name}-${service.replace(/\./g, "-")}`, {
          vpcId: vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: this.privateSubnetIdsOffering(service),
          securityGroupIds: [endpointSg.id],
          tags: { Name: `${name}-${service}` },
        // One private-DNS endpoint per service and VPC, and a deleting one still holds the name:
        // a replacement must delete the old endpoint first.
        }, { parent: this, deleteBeforeReplace: true });
      }
    }

    this.publicSubnets = publicSubnets;
    this.privateSubnets = privateSubnets;
    this.privateRouteTables = privateRouteTables;
    this.natGateways = natGateways;
    this.s3Endpoint = s3Endpoint;
    this.vpcId = vpc.id;
    this.vpcCidrBlock = vpc.cidrBlock;
    this.availabilityZoneIds = choice.apply((c) => c.zoneIds);
    this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
    this.privateRouteTableIds = pulumi.all(privateRouteTables.map((rt) => rt.id));
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
