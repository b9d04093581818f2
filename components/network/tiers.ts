import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { NetworkContext } from "./settings";

/** The VPC (DNS on) and its default security group, locked: it admits all traffic between its members, and nothing should use it. */
export function createVpc({ name, args, child }: NetworkContext): { vpc: aws.ec2.Vpc; defaultSecurityGroup: aws.ec2.DefaultSecurityGroup } {
  const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
    cidrBlock: args.cidrBlock,
    enableDnsSupport: true,
    enableDnsHostnames: true,
    tags: { Name: `${name}-vpc` },
  }, child);
  const defaultSecurityGroup = new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: { Name: `${name}-default-locked` } }, child);
  return { vpc, defaultSecurityGroup };
}

export interface PublicTier {
  internetGateway: aws.ec2.InternetGateway;
  routeTable: aws.ec2.RouteTable;
  subnets: aws.ec2.Subnet[];
}

/** The Internet Gateway, the public route table (default route to it) and one public subnet per AZ. */
export function createPublicTier({ name, settings, child }: NetworkContext, vpc: aws.ec2.Vpc, zoneIdAt: (i: number) => pulumi.Output<string>): PublicTier {
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
  const subnets = settings.publicCidrs.map((cidr, i) => {
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
  return { internetGateway: igw, routeTable: publicRouteTable, subnets };
}

/** NAT gateways and their Elastic IPs: one per AZ (`perAz`) or one in the first AZ (`single`). */
export function createNatGateways({ name, settings, parent, child }: NetworkContext, publicTier: PublicTier): { natGateways: aws.ec2.NatGateway[]; natEips: aws.ec2.Eip[] } {
  const natCount = settings.natMode === "perAz" ? settings.azCount : 1;
  const natEips: aws.ec2.Eip[] = [];
  const natGateways = Array.from({ length: natCount }, (_, i) => {
    const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, child);
    natEips.push(eip);
    return new aws.ec2.NatGateway(`${name}-nat-${i}`, {
      subnetId: publicTier.subnets[i].id,
      allocationId: eip.id,
      connectivityType: "public",
      tags: { Name: `${name}-nat-${i}` },
    }, { parent, dependsOn: [publicTier.internetGateway] });
  });
  return { natGateways, natEips };
}

export interface PrivateTier {
  subnets: aws.ec2.Subnet[];
  /** One per private subnet, same order (default route to its NAT gateway). */
  routeTables: aws.ec2.RouteTable[];
}

/** One private subnet per AZ, each with its own route table whose default route goes to its AZ's NAT gateway (or the one). */
export function createPrivateTier({ name, settings, child }: NetworkContext, vpc: aws.ec2.Vpc, zoneIdAt: (i: number) => pulumi.Output<string>, natGateways: aws.ec2.NatGateway[]): PrivateTier {
  const subnets: aws.ec2.Subnet[] = [];
  const routeTables: aws.ec2.RouteTable[] = [];
  settings.privateCidrs.forEach((cidr, i) => {
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
      natGatewayId: natGateways[settings.natMode === "perAz" ? i : 0].id,
    }, child);
    new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, {
      subnetId: subnet.id,
      routeTableId: routeTable.id,
    }, child);
    subnets.push(subnet);
    routeTables.push(routeTable);
  });
  return { subnets, routeTables };
}
