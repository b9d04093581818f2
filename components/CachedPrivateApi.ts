import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ApiAuthorization, NormalizedRoute, RouteSpec } from "./apiRoutes";
import { createAccessPolicies } from "./api/access";
import { createBackendLink } from "./api/backendLink";
import { createEndpoint, createRestApi } from "./api/frontDoor";
import { createLargeResponseRoute } from "./api/largeResponseRoute";
import { createAlarms, createDashboard } from "./api/monitoring";
import { createRoutes } from "./api/routes";
import { resolveSettings, type ApiContext, type UnauthorizedCacheControlStrategy } from "./api/settings";
import { createDeployment, createMethodSettings, createStage } from "./api/stage";

export type { RouteSpec } from "./apiRoutes";
export { validateCacheSize, validateCacheTtl, validateThrottle, STACK_OUTPUT_KEYS } from "./apiRoutes";
export { deploymentHash } from "./api/deploymentHash";
export {
  DEFAULT_UNAUTHORIZED_CACHE_CONTROL_STRATEGY,
  INTEGRATION_TIMEOUT_MS,
  UNAUTHORIZED_CACHE_CONTROL_STRATEGIES,
  type UnauthorizedCacheControlStrategy,
} from "./api/settings";
export { LARGE_RESPONSE_FAILED_PATTERN, LARGE_RESPONSE_MISSING_PATTERN, LARGE_RESPONSE_PATH } from "./api/largeResponseRoute";
export { vpcLinkSubnets } from "./api/backendLink";

/**
 * The path prefix the backend sees in front of every route: over a private integration API Gateway
 * sends the stage in the path ("/dev/items/42"; API Gateway developer guide, "Private integrations for
 * REST APIs"). Give it to the backend (HybridLambdaFargateService `basePath`) so it strips it.
 */
export function backendBasePath(stageName: string): string {
  return `/${stageName}`;
}

/**
 * Arguments of {@link CachedPrivateApi}, following Pulumi's guidance for packaged components: plain data
 * only (no methods, no class instances), `Input<T>` wherever an Output can be given.
 *
 * Plain on purpose, checked when the component is built with an error naming the argument and what is
 * allowed: `routes` and `proxyFallback` (they generate the resource tree, methods and integrations),
 * `stageName`, `authorization`, `backend.listenerPort`/`protocol`/`timeoutMilliseconds`/
 * `largeResponseBucket.keyPrefix`, `cacheSizeGb`, `cacheTtlSeconds`, `throttleRateLimit`/`BurstLimit`,
 * `unauthorizedCacheControl` and `alarms` thresholds (all part of the deployment hash, the method
 * settings or alarm names/expressions), `privateDnsEnabled` (it decides `deleteBeforeReplace`),
 * `restrictEndpointToAccount`, `manageAccountCloudWatchRole`, `accessLogs` (whether resources exist),
 * `logRetentionDays`, and the lists `clientSecurityGroupIds`/`clientCidrBlocks` (their length is the
 * number of rules; their elements are Inputs). Everything else is an Input.
 */
export interface CachedPrivateApiArgs {
  /** VPC of the backend ALB; the execute-api endpoint and the VPC link live here. */
  vpcId: pulumi.Input<string>;
  /** The VPC's CIDR. Admitted to the endpoint on 443 when `clientCidrBlocks` is not given and no client SG is. */
  vpcCidrBlock: pulumi.Input<string>;
  /**
   * Private subnets (one per AZ) for the execute-api interface endpoint and the VPC link ENIs.
   * Two or more AZs keep the API reachable through an AZ outage. Each endpoint AZ costs
   * ~$0.01/hour (~$7.30/month) plus $0.01/GB processed (us-east-1, AWS PrivateLink pricing).
   */
  privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Zone IDs of `privateSubnetIds`, same order (MultiAzNetwork `availabilityZoneIds`). VPC links V2
   * exist only in some zone IDs per Region; given these, the VPC link gets only subnets in supported
   * zones, and the deploy fails (naming the supported IDs) when fewer than two remain. A VPC link
   * cannot be changed after creation: a new subnet set replaces it.
   * @default not checked (every subnet goes to the VPC link; AWS refuses unsupported ones)
   */
  privateSubnetZoneIds?: pulumi.Input<string[]>;
  /**
   * Subnets for the execute-api interface endpoint, when they differ from `privateSubnetIds` (the
   * endpoint service is not offered in every AZ: MultiAzNetwork `privateSubnetIdsOffering("execute-api")`).
   * @default privateSubnetIds
   */
  endpointSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** The backend: the internal ALB of the hybrid service. */
  backend: {
    /** ALB ARN: the VPC link V2 integration target. */
    loadBalancerArn: pulumi.Input<string>;
    /** ALB DNS name: host of the integration URI (API Gateway sends it as the Host header). */
    loadBalancerDnsName: pulumi.Input<string>;
    /** Listener ARN. Part of the deployment hash, so the stage redeploys if the listener is replaced. */
    listenerArn: pulumi.Input<string>;
    /** Listener port (the integration URI port and the port admitted from the VPC link). */
    listenerPort: number;
    /**
     * Scheme towards the listener. "https" needs `serverName`: API Gateway checks that the ALB's
     * certificate covers the integration URI's host, and the ALB's own `*.elb.amazonaws.com` name is
     * never on an ACM certificate.
     * @default "http"
     */
    protocol?: "http" | "https";
    /**
     * Host name of the integration URI (and so the Host header and TLS server name) when `protocol` is
     * "https": a name the ALB's certificate covers, e.g. "api.example.com". It need not resolve: the VPC
     * link routes to `loadBalancerArn`. Required for "https"; ignored for "http".
     */
    serverName?: pulumi.Input<string>;
    /**
     * The bucket where the backend puts responses too large for it to return (HybridLambdaFargateService
     * `largeResponseBucketName`/`Arn`). The API then serves `GET /_large/{key+}` straight from
     * `<bucket>/<keyPrefix><key>` (an S3 integration with a read-only role), so the backend can redirect
     * there instead of to a presigned URL that dies with its credentials. Bodies up to API Gateway's
     * 10 MB response limit, as text: the API declares no binary media types, so a body stored with
     * `Content-Encoding: gzip` (or other binary) would be mangled.
     * @default none (no /_large route)
     */
    largeResponseBucket?: { name: pulumi.Input<string>; arn: pulumi.Input<string>; keyPrefix?: string };
    /**
     * The ALB's security group. An ingress rule from the VPC link's group on `listenerPort` is added to it
     * (as a child of this component).
     */
    securityGroupId: pulumi.Input<string>;
    /**
     * Integration timeout, 50 to 29000 ms. (Private REST APIs can go higher after a Service Quotas
     * increase; this component does not allow it yet.)
     * @default 29000
     */
    timeoutMilliseconds?: number;
  };
  /**
   * Routes, declared once: the resource tree, methods, integrations, cache keys, method settings and
   * the invalidation policy are all generated from this list. Shared prefixes become one resource.
   * A GET route is cached unless `cached: false` or its TTL is 0; other methods are never cached.
   * @example [{ path: "/items/{id}", method: "GET", queryStrings: ["lang"] }, { path: "/items", method: "POST" }]
   */
  routes: RouteSpec[];
  /**
   * Add `ANY /{proxy+}`, uncached, that forwards every path no route declares to the ALB.
   * Declaring `/{proxy+}` yourself (e.g. a cached GET) keeps the ANY fallback for the other methods.
   * @default true
   */
  proxyFallback?: boolean;
  /**
   * Stage cache size in GB: one of 0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237 (number or string).
   * Billed per hour while the cache exists (us-east-1: 0.5 GB ~$0.02/h ≈ $14.60/month, 1.6 GB ~$0.038/h ≈ $27.74/month;
   * see docs/caching.md). Creating or resizing the cache takes minutes and empties it.
   * No cache cluster is created when no route ends up cached.
   * @default "0.5"
   */
  cacheSizeGb?: number | string;
  /**
   * Default TTL of cached routes, 0 to 3600 seconds; 0 turns caching off (routes may still set their own).
   * @default 300
   */
  cacheTtlSeconds?: number;
  /**
   * Steady-state request rate the stage accepts (requests/second, every method, cache hits included).
   * Bounded by the account's regional quota (10,000 by default).
   * @default 1000
   */
  throttleRateLimit?: number;
  /**
   * Burst capacity of the stage (requests). Bounded by the account's regional quota (5,000 by default).
   * @default 2000
   */
  throttleBurstLimit?: number;
  /**
   * Stage name.
   * @default the stack name (`pulumi.getStack()`), so every stack has its own API and stage
   */
  stageName?: string;
  /**
   * Security groups admitted to the execute-api endpoint on 443 (the BFFs' groups): one rule each, named
   * `<name>-endpoint-from-client-<i>`. A client declared after the API adds its own
   * `aws.vpc.SecurityGroupIngressRule` on `endpointSecurityGroupId` (tcp 443, `referencedSecurityGroupId`
   * = its group) instead. (The former `allowFrom(client, sg)` method is gone: component args and surface
   * are plain data.)
   * @default []
   */
  clientSecurityGroupIds?: pulumi.Input<string>[];
  /**
   * CIDR blocks admitted to the execute-api endpoint on 443.
   * @default [vpcCidrBlock] when `clientSecurityGroupIds` is empty, otherwise []
   */
  clientCidrBlocks?: pulumi.Input<string>[];
  /**
   * Private DNS on the execute-api endpoint: `<apiId>.execute-api.<region>.amazonaws.com` then resolves to
   * the endpoint inside the VPC. It also means this VPC can no longer reach *public* (regional/edge) APIs
   * by their default hostnames. Give at most one execute-api endpoint per VPC private DNS: AWS has been
   * reported to accept a second one, after which the name resolves to either endpoint at random and a
   * resource policy pinned to one `aws:SourceVpce` answers 403 intermittently.
   * @default true
   */
  privateDnsEnabled?: boolean;
  /**
   * Endpoint policy limiting the execute-api endpoint to APIs of this account (no calls to other accounts'
   * private APIs through it). With any endpoint policy other than the default, API Gateway evaluates the
   * `Authorization` header even on `authorization: NONE` methods: a client that sends a non-SigV4
   * `Authorization` (a bearer token meant for the backend) gets 403. Such clients must move the token to
   * another header, or set this to false.
   * @default true
   */
  restrictEndpointToAccount?: boolean;
  /**
   * CloudWatch Logs retention of the access logs, days (a CloudWatch retention value).
   * @default 14
   */
  logRetentionDays?: number;
  /**
   * Create the account-wide API Gateway CloudWatch Logs role and set it on the account
   * (`aws.apigateway.Account`). Access logging fails without one ("CloudWatch Logs role ARN must be set in
   * account settings"). It is ONE setting per account and Region: the role, its policy attachment and the
   * account setting are kept when the stack is destroyed (`retainOnDelete`; the provider would otherwise
   * reset the setting and break logging for every other stack). Two stacks that both manage it each set
   * their own role (both work; the last `up` wins). `npm run doctor` says whether the account has one.
   * @default false
   */
  manageAccountCloudWatchRole?: boolean;
  /**
   * Stage access logs (JSON, one line per request) in CloudWatch Logs. Needs the account's API Gateway
   * CloudWatch role (`manageAccountCloudWatchRole`, or one the account already has).
   * @default true
   */
  accessLogs?: boolean;
  /**
   * How callers are authorised on every method (the routes and `/_large`):
   * - `"NONE"`: anyone who reaches the API's VPC endpoint may call it (the endpoint's security group and
   *   the resource policy's `aws:SourceVpce` are the boundary).
   * - `"AWS_IAM"`: callers sign requests with SigV4 (service `execute-api`); the resource policy admits
   *   this account's principals through the endpoint, and the exported `invokePolicyArn` grants exactly
   *   `execute-api:Invoke` on this stage. Unsigned or unauthorised callers get 403, so VPC workloads
   *   cannot drive load into the service unless they were given the right.
   * @default "NONE"
   */
  authorization?: ApiAuthorization;
  /**
   * What a caller without `execute-api:InvalidateCache` gets when it sends `Cache-Control: max-age=0`
   * (a browser reload forwarded by a BFF, a client library's default):
   * - `"SUCCEED_WITH_RESPONSE_HEADER"`: served from the cache as usual, with a header saying the
   *   invalidation was ignored. Nobody without the right can empty an entry, and nobody is refused.
   * - `"SUCCEED_WITHOUT_RESPONSE_HEADER"`: the same, silently.
   * - `"FAIL_WITH_403"`: the request fails; clients must never send the header unless they may invalidate.
   * @default "SUCCEED_WITH_RESPONSE_HEADER"
   */
  unauthorizedCacheControl?: UnauthorizedCacheControlStrategy;
  /** Alarm thresholds and actions. */
  alarms?: {
    /**
     * Alarm when hits / (hits + misses) falls below this percentage...
     * @default 50
     */
    minCacheHitRatioPercent?: number;
    /**
     * ...in a 5-minute period with at least this many cacheable requests (less traffic never alarms).
     * @default 100
     */
    minCacheableRequests?: number;
    /**
     * Alarm when 5xx responses exceed this percentage of requests...
     * @default 5
     */
    max5xxPercent?: number;
    /**
     * ...in a 5-minute period with at least this many requests.
     * @default 20
     */
    min5xxRequests?: number;
    /** SNS topic ARNs notified on ALARM and OK. @default [] */
    actions?: pulumi.Input<string>[];
  };
  /** Tags for every taggable child (keys plain, values Inputs). */
  tags?: Record<string, pulumi.Input<string>>;
}

/**
 * A private REST API (endpoint type PRIVATE) with a stage cache in front of the hybrid service's
 * internal ALB, reached through a VPC link V2 (no NLB).
 *
 * - Reachable only through its own execute-api interface endpoint (resource policy on `aws:SourceVpce`,
 *   explicit Deny otherwise); the endpoint admits 443 from the client security groups / CIDRs.
 * - Routes are declared once; resources, methods, integrations, cache keys (path params + declared query
 *   strings / headers) and per-method cache settings are generated. Unknown paths go to `ANY /{proxy+}`.
 * - The deployment's trigger is a hash of everything it serves, so any change redeploys the stage.
 * - Cache invalidation requires `execute-api:InvalidateCache` (403 otherwise); `invalidationPolicyArn` grants
 *   exactly that on this stage's cached routes. `scripts/invalidate.ts` sends signed invalidations / flushes.
 * - One API, endpoint and stage (named after the stack) per stack; a dashboard and two alarms.
 *
 * Escape hatches: the main children are exposed as readonly fields (`restApi`, `stage`, `deployment`,
 * `vpcEndpoint`, `endpointSecurityGroup`, `vpcLink`, `vpcLinkSecurityGroup`, `accessLogGroup`,
 * `accountCloudWatch`, `dashboard`, `hitRatioAlarm`, `errorRateAlarm`) for reading any of their outputs;
 * to CHANGE a child's inputs or options, pass `transforms` in the component's options (Pulumi runs them
 * on every child, e.g. set the stage's `xrayTracingEnabled`) rather than forking the component.
 */
export class CachedPrivateApi extends pulumi.ComponentResource {
  readonly apiId: pulumi.Output<string>;
  /** API name (includes the stack name); the `ApiName` dimension of its CloudWatch metrics. */
  readonly apiName: string;
  readonly stageName: pulumi.Output<string>;
  /** Base URL through the endpoint's Route 53 alias: `https://<apiId>-<vpceId>.execute-api.<region>.amazonaws.com/<stage>`. */
  readonly invokeUrl: pulumi.Output<string>;
  /** Base URL through private DNS (inside the VPC, when `privateDnsEnabled`): `https://<apiId>.execute-api.<region>.amazonaws.com/<stage>`. */
  readonly privateDnsInvokeUrl: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  readonly vpcEndpointId: pulumi.Output<string>;
  readonly endpointSecurityGroupId: pulumi.Output<string>;
  readonly vpcLinkId: pulumi.Output<string>;
  readonly vpcLinkSecurityGroupId: pulumi.Output<string>;
  /** Managed policy: `execute-api:InvalidateCache` on this stage's cached GET routes. Attach to the content writer. */
  readonly invalidationPolicyArn: pulumi.Output<string>;
  /** Managed policy: `execute-api:Invoke` on this stage. Attach to callers when `authorization` is "AWS_IAM". */
  readonly invokePolicyArn: pulumi.Output<string>;
  /** Managed policy: FlushStageCache (`apigateway:DELETE` on this stage's cache) for operators. */
  readonly flushPolicyArn: pulumi.Output<string>;
  /** sha256 of the deployment spec (the Deployment's trigger). */
  readonly deploymentHash: pulumi.Output<string>;
  readonly dashboardName: pulumi.Output<string>;
  readonly alarmNames: pulumi.Output<string[]>;
  /** The validated routes with defaults resolved (fallback included). */
  readonly routes: readonly NormalizedRoute[];
  /** The PRIVATE REST API. */
  readonly restApi: aws.apigateway.RestApi;
  /** The stage (cache cluster, access logs), named after the stack by default. */
  readonly stage: aws.apigateway.Stage;
  /** The deployment (redeployed when `deploymentHash` changes). */
  readonly deployment: aws.apigateway.Deployment;
  /** The execute-api interface endpoint. */
  readonly vpcEndpoint: aws.ec2.VpcEndpoint;
  /** The endpoint's security group (443 from the clients only). */
  readonly endpointSecurityGroup: aws.ec2.SecurityGroup;
  /** The ingress rules on the endpoint's group: client security groups, then client CIDRs. */
  readonly endpointIngressRules: aws.vpc.SecurityGroupIngressRule[];
  /** The VPC link V2 to the ALB. */
  readonly vpcLink: aws.apigatewayv2.VpcLink;
  /** The VPC link's security group. */
  readonly vpcLinkSecurityGroup: aws.ec2.SecurityGroup;
  /** The access log group, when `accessLogs`. */
  readonly accessLogGroup?: aws.cloudwatch.LogGroup;
  /**
   * The account-wide API Gateway CloudWatch role, its policy attachment and the `aws.apigateway.Account`
   * setting, when `manageAccountCloudWatchRole` (all three `retainOnDelete`).
   */
  readonly accountCloudWatch?: { role: aws.iam.Role; attachment: aws.iam.RolePolicyAttachment; account: aws.apigateway.Account };
  /** The CloudWatch dashboard. */
  readonly dashboard: aws.cloudwatch.Dashboard;
  /** The cache hit ratio alarm. */
  readonly hitRatioAlarm: aws.cloudwatch.MetricAlarm;
  /** The 5xx rate alarm. */
  readonly errorRateAlarm: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: CachedPrivateApiArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate everything before registering anything: bad args throw without leaving a half-built component.
    const settings = resolveSettings(name, args);
    super("serverless-cache:api:CachedPrivateApi", name, {}, opts);
    this.routes = settings.routes;
    const stack = pulumi.getStack();
    this.apiName = name.includes(stack) ? name : `${name}-${stack}`;
    const child = { parent: this };
    const ctx: ApiContext = {
      name, args, settings, apiName: this.apiName, stack, tags: args.tags ?? {}, parent: this, child,
      region: aws.getRegionOutput({}, child).region,
      accountId: aws.getCallerIdentityOutput({}, child).accountId,
      partition: aws.getPartitionOutput({}, child),
    };

    // Front door: the execute-api endpoint and the PRIVATE API reachable only through it.
    const front = createEndpoint(ctx);
    const { api, policyJson, resourcePolicy } = createRestApi(ctx, front.endpoint);
    // Backend: VPC link V2 to the ALB; the routes' methods and integrations through it.
    const backend = createBackendLink(ctx);
    // The integration URI's host: the ALB's name over HTTP; over HTTPS a name its certificate covers.
    const backendHost = pulumi.output(settings.protocol === "https" ? args.backend.serverName! : args.backend.loadBalancerDnsName);
    const methodsAndIntegrations = createRoutes(ctx, api, backend.vpcLink, backendHost);
    const largeRoute = args.backend.largeResponseBucket ? createLargeResponseRoute(ctx, api, args.backend.largeResponseBucket) : undefined;
    // Serving: deployment, stage, method settings (cache and throttling).
    const { deployment, hash } = createDeployment(ctx, {
      api, backendHost, vpcLink: backend.vpcLink, policyJson, largeResponseSpec: largeRoute?.spec,
      dependsOn: [...methodsAndIntegrations, ...(largeRoute?.resources ?? []), resourcePolicy, backend.albIngress],
    });
    const { stage, accessLogs, accountCloudWatch } = createStage(ctx, api, deployment);
    createMethodSettings(ctx, api, stage);
    // Rights and visibility.
    const policies = createAccessPolicies(ctx, api, stage);
    const dashboard = createDashboard(ctx);
    const { hitRatioAlarm, errorRateAlarm } = createAlarms(ctx);

    this.endpointSecurityGroup = front.securityGroup;
    this.endpointSecurityGroupId = front.securityGroup.id;
    this.endpointIngressRules = front.ingressRules;
    this.vpcEndpoint = front.endpoint;
    this.vpcEndpointId = front.endpoint.id;
    this.restApi = api;
    this.apiId = api.id;
    this.vpcLinkSecurityGroup = backend.securityGroup;
    this.vpcLinkSecurityGroupId = backend.securityGroup.id;
    this.vpcLink = backend.vpcLink;
    this.vpcLinkId = backend.vpcLink.id;
    this.deploymentHash = hash;
    this.deployment = deployment;
    this.accessLogGroup = accessLogs;
    this.accountCloudWatch = accountCloudWatch;
    this.stage = stage;
    this.stageName = stage.stageName;
    this.invalidationPolicyArn = policies.invalidation.arn;
    this.invokePolicyArn = policies.invoke.arn;
    this.flushPolicyArn = policies.flush.arn;
    this.region = ctx.region;
    this.invokeUrl = pulumi.interpolate`https://${api.id}-${front.endpoint.id}.execute-api.${ctx.region}.${ctx.partition.dnsSuffix}/${stage.stageName}`;
    this.privateDnsInvokeUrl = pulumi.interpolate`https://${api.id}.execute-api.${ctx.region}.${ctx.partition.dnsSuffix}/${stage.stageName}`;
    this.dashboard = dashboard;
    this.dashboardName = dashboard.dashboardName;
    this.hitRatioAlarm = hitRatioAlarm;
    this.errorRateAlarm = errorRateAlarm;
    this.alarmNames = pulumi.all([hitRatioAlarm.name, errorRateAlarm.name]);

    this.registerOutputs({
      apiId: this.apiId,
      apiName: this.apiName,
      stageName: this.stageName,
      invokeUrl: this.invokeUrl,
      privateDnsInvokeUrl: this.privateDnsInvokeUrl,
      region: this.region,
      vpcEndpointId: this.vpcEndpointId,
      endpointSecurityGroupId: this.endpointSecurityGroupId,
      vpcLinkId: this.vpcLinkId,
      vpcLinkSecurityGroupId: this.vpcLinkSecurityGroupId,
      invalidationPolicyArn: this.invalidationPolicyArn,
      invokePolicyArn: this.invokePolicyArn,
      flushPolicyArn: this.flushPolicyArn,
      deploymentHash: this.deploymentHash,
      dashboardName: this.dashboardName,
      alarmNames: this.alarmNames,
    });
  }
}
