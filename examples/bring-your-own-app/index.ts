/**
 * bring-your-own-app: a product catalogue API built from the serverless-cache components.
 *
 *   private REST API (stage cache)  ->  internal ALB  ->  Lambda | Fargate (the same catalogApp)  ->  memcached
 *                                                                                             \-> catalogue service
 *
 * The app (app.ts) is ours; the network, the cache cluster, the hybrid Lambda/Fargate service with its
 * failover, and the private API are the library's. A small cache Lambda (CacheFunction) serves the
 * price feed to other VPC clients by direct invocation.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  backendBasePath,
  CacheFunction,
  CachedPrivateApi,
  HybridLambdaFargateService,
  MemcachedCluster,
  MultiAzNetwork,
  type NatMode,
} from "serverless-cache";
import { CATALOG_APP_PACKAGES, catalogApp } from "./app";

const config = new pulumi.Config();
const stack = pulumi.getStack();
const upstreamUrl = config.require("upstreamUrl");
const stageName = stack;

const network = new MultiAzNetwork(`catalog-${stack}`, {
  cidrBlock: "10.40.0.0/16",
  azCount: config.getNumber("networkAzCount") ?? 2,
  natMode: (config.get("networkNatMode") ?? "single") as NatMode,
  // Every AZ must offer what the stack uses: VPC link V2 (private API), VPC Lambdas, Fargate.
  zoneRequirements: ["vpc-link-v2", "lambda-vpc", "fargate"],
});

const cache = new MemcachedCluster(`catalog-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  availabilityZones: network.availabilityZones,
  nodeType: config.get("memcachedNodeType") ?? "cache.t4g.micro",
  nodeCount: 2,
});

const service = new HybridLambdaFargateService(`catalog-${stack}`, {
  vpcId: network.vpcId,
  vpcCidrBlock: network.vpcCidrBlock,
  privateSubnetIds: network.privateSubnetIds,
  publicSubnetIds: network.publicSubnetIds,
  memcached: cache, // the cluster itself is the MemcachedAccess the service needs
  app: catalogApp,
  appPackages: CATALOG_APP_PACKAGES,
  appEnvironment: { CATALOG_CURRENCY: "EUR", CACHE_NAMESPACE: "catalog" },
  upstreamUrl,
  basePath: backendBasePath(stageName),
  lambda: { reservedConcurrency: 20, memorySize: 512, timeoutSeconds: 10 },
  fargate: { cpu: 256, memory: 512, baselineCount: 0, failoverCount: 2 },
  alb: { admitVpcCidr: false },
});

const prices = new CacheFunction(`catalog-prices-${stack}`, {
  vpcId: network.vpcId,
  subnetIds: network.privateSubnetIds,
  memcached: cache,
  upstreamUrl,
  ttlSeconds: 60,
  reservedConcurrency: 5,
});

const api = new CachedPrivateApi(`catalog-${stack}`, {
  vpcId: network.vpcId,
  vpcCidrBlock: network.vpcCidrBlock,
  privateSubnetIds: network.privateSubnetIds,
  privateSubnetZoneIds: network.availabilityZoneIds,
  stageName,
  backend: {
    loadBalancerArn: service.albArn,
    loadBalancerDnsName: service.albDnsName,
    listenerArn: service.listenerArn,
    listenerPort: 80,
    securityGroupId: service.albSecurityGroupId,
  },
  routes: [
    { path: "/products/{sku}", method: "GET", ttlSeconds: 300 },
    { path: "/categories/{id}/products", method: "GET", queryStrings: ["page"], ttlSeconds: 60 },
    { path: "/rates", method: "GET", ttlSeconds: 30 },
    { path: "/stats", method: "GET", cached: false },
  ],
  cacheSizeGb: "0.5",
  cacheTtlSeconds: 60,
  // Access logs need the account-wide API Gateway CloudWatch role: this stack sets it (a fresh
  // account has none; the mock account refuses the stage without it, as API Gateway does).
  manageAccountCloudWatchRole: true,
});

export const vpcId = network.vpcId;
export const availabilityZoneIds = network.availabilityZoneIds;
export const cacheNodeEndpoints = cache.nodeEndpoints;
export const albDnsName = service.albDnsName;
export const apiFunctionName = service.apiFunctionName;
export const pricesFunctionName = prices.functionName;
export const apiInvokeUrl = api.invokeUrl;
export const apiStageName = api.stageName;
