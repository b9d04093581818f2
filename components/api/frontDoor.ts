import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { privateApiResourcePolicy } from "./iamDocuments";
import type { ApiContext } from "./settings";

export interface ApiEndpoint {
  securityGroup: aws.ec2.SecurityGroup;
  /** Client security groups, then client CIDRs. */
  ingressRules: aws.vpc.SecurityGroupIngressRule[];
  endpoint: aws.ec2.VpcEndpoint;
}

/** Front door: the execute-api interface endpoint and its security group (HTTPS from the clients only). */
export function createEndpoint(ctx: ApiContext): ApiEndpoint {
  const { name, args, apiName, tags, parent, child } = ctx;
  const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoint-sg`, {
    vpcId: args.vpcId,
    description: `execute-api endpoint of ${apiName}: HTTPS from API clients only`,
    tags: { ...tags, Name: `${apiName}-endpoint` },
  }, child);
  const ingressRules = createEndpointIngress(ctx, endpointSg);
  const endpoint = new aws.ec2.VpcEndpoint(`${name}-execute-api`, {
    vpcId: args.vpcId,
    serviceName: pulumi.interpolate`com.amazonaws.${ctx.region}.execute-api`,
    vpcEndpointType: "Interface",
    privateDnsEnabled: args.privateDnsEnabled ?? true,
    subnetIds: args.endpointSubnetIds ?? args.privateSubnetIds,
    securityGroupIds: [endpointSg.id],
    policy: endpointPolicy(ctx),
    tags: { ...tags, Name: `${apiName}-execute-api` },
  // With private DNS, a deleting endpoint still holds the execute-api name: a replacement must delete first.
  }, { parent, deleteBeforeReplace: args.privateDnsEnabled ?? true });
  return { securityGroup: endpointSg, ingressRules, endpoint };
}

function createEndpointIngress({ name, args, child }: ApiContext, endpointSg: aws.ec2.SecurityGroup): aws.vpc.SecurityGroupIngressRule[] {
  const clientSgs = args.clientSecurityGroupIds ?? [];
  // Names kept from the former allowFrom(`client-${i}`): unchanged in existing stacks.
  const sgRules = clientSgs.map((sg, i) => new aws.vpc.SecurityGroupIngressRule(`${name}-endpoint-from-client-${i}`, {
    securityGroupId: endpointSg.id,
    referencedSecurityGroupId: sg,
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
    description: `HTTPS to the private API from client-${i}`,
  }, child));
  const clientCidrs = args.clientCidrBlocks ?? (clientSgs.length === 0 ? [args.vpcCidrBlock] : []);
  const cidrRules = clientCidrs.map((cidr, i) => new aws.vpc.SecurityGroupIngressRule(`${name}-endpoint-from-cidr-${i}`, {
    securityGroupId: endpointSg.id,
    cidrIpv4: cidr,
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
    description: "HTTPS to the private API from inside the network",
  }, child));
  return [...sgRules, ...cidrRules];
}

/** The endpoint's own policy: only this account's APIs (when `restrictEndpointToAccount`). */
function endpointPolicy({ args, partition, region, accountId }: ApiContext): pulumi.Output<string> | undefined {
  if (!(args.restrictEndpointToAccount ?? true)) return undefined;
  return pulumi.all([partition.partition, region, accountId]).apply(([p, r, a]) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Sid: "OnlyThisAccountsApis",
      Effect: "Allow",
      Principal: "*",
      Action: ["execute-api:Invoke", "execute-api:InvalidateCache"],
      Resource: `arn:${p}:execute-api:${r}:${a}:*`,
    }],
  }));
}

export interface PrivateRestApi {
  api: aws.apigateway.RestApi;
  /** The resource policy's JSON (part of the deployment hash). */
  policyJson: pulumi.Output<string>;
  resourcePolicy: aws.apigateway.RestApiPolicy;
}

/** The API: PRIVATE, associated with the endpoint (which creates the <apiId>-<vpceId> alias), reachable only through it. */
export function createRestApi({ name, settings, apiName, stack, tags, child, partition, accountId }: ApiContext, endpoint: aws.ec2.VpcEndpoint): PrivateRestApi {
  const api = new aws.apigateway.RestApi(`${name}`, {
    name: apiName,
    description: `Private cached API of stack ${stack} (serverless-cache)`,
    endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: [endpoint.id] },
    tags,
  }, child);
  const policyJson = pulumi.all([api.executionArn, endpoint.id, partition.partition, accountId])
    .apply(([arn, vpce, p, account]) => JSON.stringify(privateApiResourcePolicy(arn, vpce, `arn:${p}:iam::${account}:root`, settings.authorization)));
  const resourcePolicy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: policyJson }, child);
  return { api, policyJson, resourcePolicy };
}
