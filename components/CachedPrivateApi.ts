import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  ACCESS_LOG_FORMAT,
  buildResourceTree,
  cacheKeyParameters,
  DEFAULT_CACHE_TTL_SECONDS,
  deploymentHash,
  flushPolicyDocument,
  integrationRequestParameters,
  integrationUri,
  invalidationPolicyDocument,
  invokePolicyDocument,
  methodRequestParameters,
  methodSettingsPath,
  normalizeRoutes,
  type NormalizedRoute,
  pathSlug,
  privateApiResourcePolicy,
  type RouteSpec,
  validateCacheSize,
  validateCacheTtl,
  validateStageName,
  validateThrottle,
  API_AUTHORIZATIONS,
  type ApiAuthorization,
} from "./apiRoutes";
import { VPC_LINK_V2_ZONE_IDS, zoneProblem } from "./awsAvailability";
import { DEFAULT_LARGE_RESPONSE_KEY_PREFIX } from "../functions/platform/largeResponse";

export type { RouteSpec } from "./apiRoutes";
export { validateCacheSize, validateCacheTtl, validateThrottle, deploymentHash, STACK_OUTPUT_KEYS } from "./apiRoutes";

/** What API Gateway does with `Cache-Control: max-age=0` from a caller that may not invalidate. */
export type UnauthorizedCacheControlStrategy = "FAIL_WITH_403" | "SUCCEED_WITH_RESPONSE_HEADER" | "SUCCEED_WITHOUT_RESPONSE_HEADER";
export const UNAUTHORIZED_CACHE_CONTROL_STRATEGIES: readonly UnauthorizedCacheControlStrategy[] = ["SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER", "FAIL_WITH_403"];
export const DEFAULT_UNAUTHORIZED_CACHE_CONTROL_STRATEGY: UnauthorizedCacheControlStrategy = "SUCCEED_WITH_RESPONSE_HEADER";
/** Path under which the API serves large responses straight from their bucket. */
export const LARGE_RESPONSE_PATH = "/_large";
/** S3 statuses (a regex on the integration's status) answered as the route's JSON 404. */
export const LARGE_RESPONSE_MISSING_PATTERN = "4\\d{2}";
/** S3 statuses answered as the route's JSON 502. */
export const LARGE_RESPONSE_FAILED_PATTERN = "5\\d{2}";
const LARGE_RESPONSE_MISSING_BODY = JSON.stringify({ error: { code: "large_response_gone", message: "the stored response has expired or never existed" } });
const LARGE_RESPONSE_FAILED_BODY = JSON.stringify({ error: { code: "large_response_unavailable", message: "the stored response could not be read; try again" } });

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

/** Settings derived from the args, validated before anything is registered. */
interface ResolvedSettings {
  routes: NormalizedRoute[];
  sizeGb: string;
  defaultTtl: number;
  throttle: { rateLimit: number; burstLimit: number };
  stageName: string;
  clusterEnabled: boolean;
  protocol: "http" | "https";
  timeoutMs: number;
  alarms: { minRatio: number; minCacheable: number; max5xx: number; min5xxRequests: number };
  logRetentionDays: number;
  unauthorizedCacheControl: UnauthorizedCacheControlStrategy;
  largeResponseKeyPrefix?: string;
  authorization: ApiAuthorization;
}

function resolveSettings(name: string, args: CachedPrivateApiArgs): ResolvedSettings {
  const fail = (e: unknown): never => {
    throw new Error(`CachedPrivateApi ${name}: ${(e as Error).message}`);
  };
  try {
    const sizeGb = validateCacheSize(args.cacheSizeGb ?? "0.5", "cacheSizeGb");
    const defaultTtl = validateCacheTtl(args.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS, "cacheTtlSeconds");
    const throttle = validateThrottle(args.throttleRateLimit ?? 1000, args.throttleBurstLimit ?? 2000);
    const stageName = validateStageName(args.stageName ?? pulumi.getStack(), "stageName");
    const routes = normalizeRoutes(args.routes, { defaultTtlSeconds: defaultTtl, proxyFallback: args.proxyFallback ?? true });
    const port = args.backend?.listenerPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`backend.listenerPort = ${port}: must be a port number from 1 to 65535`);
    const protocol = args.backend.protocol ?? "http";
    if (protocol !== "http" && protocol !== "https") throw new Error(`backend.protocol = ${JSON.stringify(protocol)}: must be "http" or "https"`);
    if (protocol === "https" && !args.backend.serverName) {
      throw new Error("backend.serverName is required when backend.protocol is \"https\": API Gateway checks the ALB certificate against the integration URI's host, and no certificate covers the ALB's *.elb.amazonaws.com name");
    }
    const authorization = args.authorization ?? "NONE";
    if (!API_AUTHORIZATIONS.includes(authorization)) throw new Error(`authorization = ${JSON.stringify(authorization)}: must be one of ${API_AUTHORIZATIONS.join(", ")}`);
    const unauthorizedCacheControl = args.unauthorizedCacheControl ?? DEFAULT_UNAUTHORIZED_CACHE_CONTROL_STRATEGY;
    if (!UNAUTHORIZED_CACHE_CONTROL_STRATEGIES.includes(unauthorizedCacheControl)) {
      throw new Error(`unauthorizedCacheControl = ${JSON.stringify(unauthorizedCacheControl)}: must be one of ${UNAUTHORIZED_CACHE_CONTROL_STRATEGIES.join(", ")}`);
    }
    const large = args.backend.largeResponseBucket;
    const largeResponseKeyPrefix = large ? (large.keyPrefix ?? DEFAULT_LARGE_RESPONSE_KEY_PREFIX) : undefined;
    if (largeResponseKeyPrefix !== undefined && !/^([A-Za-z0-9_.-]+\/)*$/.test(largeResponseKeyPrefix)) {
      throw new Error(`backend.largeResponseBucket.keyPrefix = ${JSON.stringify(largeResponseKeyPrefix)}: must be empty or folders ending in "/" (letters, digits, _ . -)`);
    }
    if (large) {
      const clash = routes.find((r) => r.path === LARGE_RESPONSE_PATH || r.path.startsWith(`${LARGE_RESPONSE_PATH}/`));
      if (clash) throw new Error(`route ${clash.key}: ${LARGE_RESPONSE_PATH} is reserved for large responses (backend.largeResponseBucket)`);
    }
    const timeoutMs = args.backend.timeoutMilliseconds ?? 29000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 29000) {
      throw new Error(`backend.timeoutMilliseconds = ${timeoutMs}: must be a whole number from 50 to 29000`);
    }
    const a = args.alarms ?? {};
    const alarms = {
      minRatio: a.minCacheHitRatioPercent ?? 50,
      minCacheable: a.minCacheableRequests ?? 100,
      max5xx: a.max5xxPercent ?? 5,
      min5xxRequests: a.min5xxRequests ?? 20,
    };
    for (const [field, v] of [["alarms.minCacheHitRatioPercent", alarms.minRatio], ["alarms.max5xxPercent", alarms.max5xx]] as const) {
      if (typeof v !== "number" || !(v > 0 && v <= 100)) throw new Error(`${field} = ${v}: must be a percentage above 0 and at most 100`);
    }
    for (const [field, v] of [["alarms.minCacheableRequests", alarms.minCacheable], ["alarms.min5xxRequests", alarms.min5xxRequests]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${field} = ${v}: must be a whole number of requests, at least 1`);
    }
    const logRetentionDays = args.logRetentionDays ?? 14;
    if (!Number.isInteger(logRetentionDays) || logRetentionDays < 1) throw new Error(`logRetentionDays = ${logRetentionDays}: must be a CloudWatch retention in days (1, 3, 5, 7, 14, 30, ...)`);
    return {
      routes, sizeGb, defaultTtl, throttle, stageName, clusterEnabled: routes.some((r) => r.cached), protocol, timeoutMs, alarms, logRetentionDays,
      unauthorizedCacheControl, largeResponseKeyPrefix, authorization,
    };
  } catch (e) {
    return fail(e);
  }
}

/**
 * The subnets a VPC link V2 may use (pure): those in zone IDs where VPC links V2 are offered in
 * `region`. Throws naming the supported IDs when fewer than two remain (one AZ is not highly available).
 */
export function vpcLinkSubnets(name: string, region: string, subnetIds: string[], zoneIds: string[]): string[] {
  if (zoneIds.length !== subnetIds.length) {
    throw new Error(`CachedPrivateApi ${name}: privateSubnetZoneIds has ${zoneIds.length} entries for ${subnetIds.length} subnets`);
  }
  const usable = subnetIds.filter((_, i) => zoneProblem(region, zoneIds[i], "vpc-link-v2") === undefined);
  if (usable.length < 2) {
    throw new Error(`CachedPrivateApi ${name}: the VPC link needs subnets in at least two zones where VPC links V2 are offered; ` +
      `the subnets are in ${zoneIds.join(", ")} and ${region} offers them in ${(VPC_LINK_V2_ZONE_IDS[region] ?? []).join(", ") || "no zone"}`);
  }
  return usable;
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
    const child = { parent: this };
    const stack = pulumi.getStack();
    const tags = args.tags ?? {};
    const { stageName, routes } = settings;
    this.apiName = name.includes(stack) ? name : `${name}-${stack}`;

    const region = aws.getRegionOutput({}, child).region;
    const accountId = aws.getCallerIdentityOutput({}, child).accountId;
    const partition = aws.getPartitionOutput({}, child);

    // ---- Front door: the execute-api interface endpoint and its security group.
    const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoint-sg`, {
      vpcId: args.vpcId,
      description: `execute-api endpoint of ${this.apiName}: HTTPS from API clients only`,
      tags: { ...tags, Name: `${this.apiName}-endpoint` },
    }, child);
    this.endpointSecurityGroup = endpointSg;
    this.endpointSecurityGroupId = endpointSg.id;
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
    this.endpointIngressRules = [...sgRules, ...cidrRules];

    const endpointPolicy = (args.restrictEndpointToAccount ?? true)
      ? pulumi.all([partition.partition, region, accountId]).apply(([p, r, a]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Sid: "OnlyThisAccountsApis",
          Effect: "Allow",
          Principal: "*",
          Action: ["execute-api:Invoke", "execute-api:InvalidateCache"],
          Resource: `arn:${p}:execute-api:${r}:${a}:*`,
        }],
      }))
      : undefined;
    const endpoint = new aws.ec2.VpcEndpoint(`${name}-execute-api`, {
      vpcId: args.vpcId,
      serviceName: pulumi.interpolate`com.amazonaws.${region}.execute-api`,
      vpcEndpointType: "Interface",
      privateDnsEnabled: args.privateDnsEnabled ?? true,
      subnetIds: args.endpointSubnetIds ?? args.privateSubnetIds,
      securityGroupIds: [endpointSg.id],
      policy: endpointPolicy,
      tags: { ...tags, Name: `${this.apiName}-execute-api` },
    // With private DNS, a deleting endpoint still holds the execute-api name: a replacement must delete first.
    }, { parent: this, deleteBeforeReplace: args.privateDnsEnabled ?? true });
    this.vpcEndpoint = endpoint;
    this.vpcEndpointId = endpoint.id;

    // ---- The API: PRIVATE, associated with the endpoint (which creates the <apiId>-<vpceId> alias).
    const api = new aws.apigateway.RestApi(`${name}`, {
      name: this.apiName,
      description: `Private cached API of stack ${stack} (serverless-cache)`,
      endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: [endpoint.id] },
      tags,
    }, child);
    this.restApi = api;
    this.apiId = api.id;

    const policyJson = pulumi.all([api.executionArn, endpoint.id, partition.partition, accountId])
      .apply(([arn, vpce, p, account]) => JSON.stringify(privateApiResourcePolicy(arn, vpce, `arn:${p}:iam::${account}:root`, settings.authorization)));
    const resourcePolicy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: policyJson }, child);

    // ---- Backend path: VPC link V2 straight to the ALB (no NLB).
    const port = args.backend.listenerPort;
    const vpcLinkSg = new aws.ec2.SecurityGroup(`${name}-vpclink-sg`, {
      vpcId: args.vpcId,
      description: `VPC link of ${this.apiName}: to the ALB listener only`,
      tags: { ...tags, Name: `${this.apiName}-vpclink` },
    }, child);
    this.vpcLinkSecurityGroup = vpcLinkSg;
    this.vpcLinkSecurityGroupId = vpcLinkSg.id;
    new aws.vpc.SecurityGroupEgressRule(`${name}-vpclink-to-alb`, {
      securityGroupId: vpcLinkSg.id,
      referencedSecurityGroupId: args.backend.securityGroupId,
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: `VPC link to the ALB listener ${port}`,
    }, child);
    const albIngress = new aws.vpc.SecurityGroupIngressRule(`${name}-alb-from-vpclink`, {
      securityGroupId: args.backend.securityGroupId,
      referencedSecurityGroupId: vpcLinkSg.id,
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: `ALB listener ${port} from the VPC link of ${this.apiName}`,
    }, child);
    const vpcLinkSubnetIds = args.privateSubnetZoneIds === undefined
      ? pulumi.output(args.privateSubnetIds)
      : pulumi.all([region, pulumi.output(args.privateSubnetIds), pulumi.output(args.privateSubnetZoneIds)])
        .apply(([r, ids, zoneIds]) => vpcLinkSubnets(name, r, ids, zoneIds));
    const vpcLink = new aws.apigatewayv2.VpcLink(`${name}-vpclink`, {
      name: `${this.apiName}-alb`,
      subnetIds: vpcLinkSubnetIds,
      securityGroupIds: [vpcLinkSg.id],
      tags,
    }, child);
    this.vpcLink = vpcLink;
    this.vpcLinkId = vpcLink.id;

    // The integration URI's host: the ALB's name over HTTP; over HTTPS a name its certificate covers.
    const backendHost = pulumi.output(settings.protocol === "https" ? args.backend.serverName! : args.backend.loadBalancerDnsName);

    // ---- Resource tree, methods and integrations from the one route list.
    const resourceIds = new Map<string, pulumi.Output<string>>([["/", api.rootResourceId]]);
    for (const node of buildResourceTree(routes)) {
      const resource = new aws.apigateway.Resource(`${name}-res${pathSlug(node.path)}`, {
        restApi: api.id,
        parentId: resourceIds.get(node.parentPath)!,
        pathPart: node.pathPart,
      }, child);
      resourceIds.set(node.path, resource.id);
    }
    const methodsAndIntegrations: pulumi.Resource[] = [];
    for (const route of routes) {
      const resourceId = resourceIds.get(route.path)!;
      const slug = `${route.method}${pathSlug(route.path)}`;
      const method = new aws.apigateway.Method(`${name}-${slug}`, {
        restApi: api.id,
        resourceId,
        httpMethod: route.method,
        authorization: settings.authorization,
        requestParameters: methodRequestParameters(route),
      }, child);
      const integration = new aws.apigateway.Integration(`${name}-${slug}`, {
        restApi: api.id,
        resourceId,
        httpMethod: method.httpMethod,
        type: "HTTP_PROXY",
        integrationHttpMethod: route.method,
        connectionType: "VPC_LINK",
        connectionId: vpcLink.id,
        integrationTarget: args.backend.loadBalancerArn,
        uri: backendHost.apply((host) => integrationUri(settings.protocol, host, port, route)),
        requestParameters: integrationRequestParameters(route),
        cacheKeyParameters: cacheKeyParameters(route),
        timeoutMilliseconds: settings.timeoutMs,
      }, child);
      methodsAndIntegrations.push(method, integration);
    }

    // ---- Deployment: its trigger hashes every route, integration, cache setting and the policy.
    const cacheSettings = {
      clusterEnabled: settings.clusterEnabled,
      sizeGb: settings.sizeGb,
      defaultTtlSeconds: settings.defaultTtl,
      dataEncrypted: true,
      requireAuthorizationForCacheControl: true,
      unauthorizedCacheControlHeaderStrategy: settings.unauthorizedCacheControl,
    };
    const largeRoute = args.backend.largeResponseBucket
      ? this.createLargeResponseRoute(name, api, args.backend.largeResponseBucket, settings, { partition: partition.partition, region, accountId })
      : undefined;
    if (largeRoute) methodsAndIntegrations.push(...largeRoute.resources);
    this.deploymentHash = pulumi.all([
      backendHost, args.backend.loadBalancerArn, args.backend.listenerArn, vpcLink.id, policyJson, largeRoute?.spec ?? "",
    ]).apply(([host, lbArn, listenerArn, vpcLinkId, policy, largeSpec]) => deploymentHash({
      routes,
      backend: { protocol: settings.protocol, host, port, loadBalancerArn: lbArn, listenerArn, vpcLinkId, timeoutMilliseconds: settings.timeoutMs },
      cache: cacheSettings,
      throttle: settings.throttle,
      policy,
      authorization: settings.authorization,
      ...(largeSpec ? { extra: { largeResponses: largeSpec } } : {}),
    }));
    const deployment = new aws.apigateway.Deployment(`${name}-deployment`, {
      restApi: api.id,
      description: `${this.apiName}: ${routes.length} routes`,
      triggers: { redeployment: this.deploymentHash },
    }, { parent: this, dependsOn: [...methodsAndIntegrations, resourcePolicy, albIngress] });
    this.deployment = deployment;

    // ---- Stage: cache cluster, access logs; named after the stack.
    const accessLogs = (args.accessLogs ?? true)
      ? new aws.cloudwatch.LogGroup(`${name}-access-logs`, {
        name: `/aws/apigateway/${this.apiName}/${stageName}/access`,
        retentionInDays: settings.logRetentionDays,
        tags,
      }, child)
      : undefined;
    this.accessLogGroup = accessLogs;
    const stageDeps: pulumi.Resource[] = [];
    if (args.manageAccountCloudWatchRole) {
      // Account-wide: kept on destroy, or destroying this stack would reset the setting (provider >= 6)
      // and break access logs for every other stack of the account and Region.
      const keep = { parent: this, retainOnDelete: true };
      const role = new aws.iam.Role(`${name}-apigw-logs`, {
        description: "API Gateway account-wide role to write CloudWatch Logs",
        // The trust AWS documents, without conditions (checked 2026-11: "Set up CloudWatch logging for REST
        // APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html, and the
        // AWS::ApiGateway::Account example show no aws:SourceAccount/aws:SourceArn, and API Gateway has no
        // confused-deputy page listing keys it sends). A positive condition on a key the service does not
        // send never matches: UpdateAccount would refuse the role ("does not have required permissions") and
        // access logs would stop. API Gateway is reported NOT to send aws:SourceAccount when it assumes
        // integration roles (aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#479).
        // Add the condition only once AWS documents it for this role.
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        tags,
      }, keep);
      const attachment = new aws.iam.RolePolicyAttachment(`${name}-apigw-logs`, {
        role: role.name,
        policyArn: pulumi.interpolate`arn:${partition.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
      }, keep);
      const account = new aws.apigateway.Account(`${name}-account`, { cloudwatchRoleArn: role.arn }, { ...keep, dependsOn: [attachment] });
      this.accountCloudWatch = { role, attachment, account };
      stageDeps.push(account);
    }
    const stage = new aws.apigateway.Stage(`${name}-stage`, {
      restApi: api.id,
      stageName,
      deployment: deployment.id,
      description: `Stack ${stack}`,
      cacheClusterEnabled: settings.clusterEnabled,
      cacheClusterSize: settings.clusterEnabled ? settings.sizeGb : undefined,
      accessLogSettings: accessLogs ? { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT } : undefined,
      tags,
    }, { parent: this, dependsOn: stageDeps });
    this.stage = stage;
    this.stageName = stage.stageName;

    // ---- Method settings: the stage default (uncached, throttled, metrics on) and one per cached route.
    // Applied one after another: each is an UpdateStage call on the same stage.
    const baseSettings = {
      metricsEnabled: true,
      throttlingRateLimit: settings.throttle.rateLimit,
      throttlingBurstLimit: settings.throttle.burstLimit,
      cacheDataEncrypted: true,
      requireAuthorizationForCacheControl: true,
      unauthorizedCacheControlHeaderStrategy: settings.unauthorizedCacheControl,
    };
    let previous: pulumi.Resource = new aws.apigateway.MethodSettings(`${name}-settings-all`, {
      restApi: api.id,
      stageName: stage.stageName,
      methodPath: "*/*",
      settings: { ...baseSettings, cachingEnabled: false, cacheTtlInSeconds: settings.defaultTtl },
    }, child);
    for (const route of routes.filter((r) => r.cached)) {
      previous = new aws.apigateway.MethodSettings(`${name}-settings-${route.method}${pathSlug(route.path)}`, {
        restApi: api.id,
        stageName: stage.stageName,
        methodPath: methodSettingsPath(route),
        settings: { ...baseSettings, cachingEnabled: true, cacheTtlInSeconds: route.ttlSeconds },
      }, { parent: this, dependsOn: [previous] });
    }

    // ---- Invalidation rights, exported for the content writer (and flush rights for operators).
    const arnContext = pulumi.all([partition.partition, region, accountId, api.id, stage.stageName])
      .apply(([p, r, a, id, s]) => ({ partition: p, region: r, accountId: a, apiId: id, stageName: s }));
    const invalidationPolicy = new aws.iam.Policy(`${name}-invalidate`, {
      description: `Invalidate cached entries of ${this.apiName} stage ${stageName} (Cache-Control: max-age=0)`,
      policy: arnContext.apply((ctx) => JSON.stringify(invalidationPolicyDocument(ctx, routes, settings.authorization))),
      tags,
    }, child);
    this.invalidationPolicyArn = invalidationPolicy.arn;
    const invokePolicy = new aws.iam.Policy(`${name}-invoke`, {
      description: `Invoke every method of ${this.apiName} stage ${stageName} (SigV4; needed when authorization is AWS_IAM)`,
      policy: arnContext.apply((ctx) => JSON.stringify(invokePolicyDocument(ctx))),
      tags,
    }, child);
    this.invokePolicyArn = invokePolicy.arn;
    const flushPolicy = new aws.iam.Policy(`${name}-flush`, {
      description: `Flush the whole cache of ${this.apiName} stage ${stageName}`,
      policy: arnContext.apply((ctx) => JSON.stringify(flushPolicyDocument(ctx))),
      tags,
    }, child);
    this.flushPolicyArn = flushPolicy.arn;

    // ---- URLs.
    this.region = region;
    this.invokeUrl = pulumi.interpolate`https://${api.id}-${endpoint.id}.execute-api.${region}.${partition.dnsSuffix}/${stage.stageName}`;
    this.privateDnsInvokeUrl = pulumi.interpolate`https://${api.id}.execute-api.${region}.${partition.dnsSuffix}/${stage.stageName}`;

    // ---- Visibility: dashboard and alarms on the stage's metrics (dimensions ApiName + Stage).
    const dims = { ApiName: this.apiName, Stage: stageName };
    const metric = (m: string): string[] => ["AWS/ApiGateway", m, "ApiName", this.apiName, "Stage", stageName];
    const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, {
      dashboardName: `${this.apiName}-${stageName}`.replace(/[^A-Za-z0-9_-]/g, "-"),
      dashboardBody: region.apply((r) => JSON.stringify({
        widgets: [
          { type: "metric", x: 0, y: 0, width: 12, height: 6, properties: {
            title: "Cache hits / misses", region: r, stat: "Sum", period: 300, view: "timeSeries",
            metrics: [metric("CacheHitCount"), metric("CacheMissCount")],
          } },
          { type: "metric", x: 12, y: 0, width: 12, height: 6, properties: {
            title: "Cache hit ratio (%)", region: r, period: 300, view: "timeSeries", yAxis: { left: { min: 0, max: 100 } },
            metrics: [
              [{ expression: "100 * h / (h + m)", label: "hit ratio", id: "ratio" }],
              [...metric("CacheHitCount"), { id: "h", stat: "Sum", visible: false }],
              [...metric("CacheMissCount"), { id: "m", stat: "Sum", visible: false }],
            ],
          } },
          { type: "metric", x: 0, y: 6, width: 12, height: 6, properties: {
            title: "Latency (ms)", region: r, period: 300, view: "timeSeries",
            metrics: [
              [...metric("Latency"), { stat: "p50" }], [...metric("Latency"), { stat: "p99" }],
              [...metric("IntegrationLatency"), { stat: "p50" }], [...metric("IntegrationLatency"), { stat: "p99" }],
            ],
          } },
          { type: "metric", x: 12, y: 6, width: 12, height: 6, properties: {
            title: "Requests and errors", region: r, stat: "Sum", period: 300, view: "timeSeries",
            metrics: [metric("Count"), metric("4XXError"), metric("5XXError")],
          } },
        ],
      })),
    }, child);
    this.dashboard = dashboard;
    this.dashboardName = dashboard.dashboardName;

    const { minRatio, minCacheable, max5xx, min5xxRequests } = settings.alarms;
    const actions = args.alarms?.actions ?? [];
    const sum = (id: string, metricName: string) => ({
      id, returnData: false,
      metric: { namespace: "AWS/ApiGateway", metricName, dimensions: dims, period: 300, stat: "Sum" },
    });
    const hitRatioAlarm = new aws.cloudwatch.MetricAlarm(`${name}-cache-hit-ratio`, {
      name: `${this.apiName}-${stageName}-cache-hit-ratio-low`,
      alarmDescription: `Cache hit ratio of ${this.apiName}/${stageName} below ${minRatio}% with at least ${minCacheable} cacheable requests in 5 minutes: backend load is rising.`,
      comparisonOperator: "LessThanThreshold",
      threshold: minRatio,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: "notBreaching",
      metricQueries: [
        sum("hits", "CacheHitCount"),
        sum("misses", "CacheMissCount"),
        // Too little traffic yields 100 (never breaching): a handful of misses is not an incident.
        { id: "ratio", label: "cache hit ratio (%)", returnData: true, expression: `IF((hits + misses) >= ${minCacheable}, 100 * hits / (hits + misses), 100)` },
      ],
      alarmActions: actions,
      okActions: actions,
      tags,
    }, child);
    const errorAlarm = new aws.cloudwatch.MetricAlarm(`${name}-5xx-rate`, {
      name: `${this.apiName}-${stageName}-5xx-rate-high`,
      alarmDescription: `More than ${max5xx}% of requests to ${this.apiName}/${stageName} answered 5xx (at least ${min5xxRequests} requests in 5 minutes).`,
      comparisonOperator: "GreaterThanThreshold",
      threshold: max5xx,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: "notBreaching",
      metricQueries: [
        sum("errors", "5XXError"),
        sum("requests", "Count"),
        { id: "rate", label: "5xx rate (%)", returnData: true, expression: `IF(requests >= ${min5xxRequests}, 100 * errors / requests, 0)` },
      ],
      alarmActions: actions,
      okActions: actions,
      tags,
    }, child);
    this.hitRatioAlarm = hitRatioAlarm;
    this.errorRateAlarm = errorAlarm;
    this.alarmNames = pulumi.all([hitRatioAlarm.name, errorAlarm.name]);

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

  /**
   * `GET /_large/{key+}` served from the backend's large-response bucket by an S3 integration (no
   * backend involved): read-only role for API Gateway; S3's 4xx (a gone object) answered as a JSON 404,
   * its 5xx as a JSON 502.
   */
  private createLargeResponseRoute(
    name: string,
    api: aws.apigateway.RestApi,
    bucket: { name: pulumi.Input<string>; arn: pulumi.Input<string> },
    settings: ResolvedSettings,
    ctx: { partition: pulumi.Output<string>; region: pulumi.Output<string>; accountId: pulumi.Output<string> },
  ): { resources: pulumi.Resource[]; spec: pulumi.Output<string> } {
    const child = { parent: this };
    const keyPrefix = settings.largeResponseKeyPrefix ?? "";
    // No aws:SourceAccount condition: API Gateway does not send it when it assumes integration
    // credentials, and the role could never be assumed (reported with test-invoke-method). The role can
    // only read this bucket's prefix.
    const role = new aws.iam.Role(`${name}-large-read`, {
      description: `API Gateway reads large responses for ${this.apiName}`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    }, child);
    const read = new aws.iam.RolePolicy(`${name}-large-read`, {
      role: role.id,
      policy: pulumi.output(bucket.arn).apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "ReadLargeResponses", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${arn}/${keyPrefix}*` }],
      })),
    }, child);
    const folder = new aws.apigateway.Resource(`${name}-res${pathSlug(LARGE_RESPONSE_PATH)}`, {
      restApi: api.id,
      parentId: api.rootResourceId,
      pathPart: LARGE_RESPONSE_PATH.slice(1),
    }, child);
    const keyResource = new aws.apigateway.Resource(`${name}-res${pathSlug(`${LARGE_RESPONSE_PATH}/{key+}`)}`, {
      restApi: api.id,
      parentId: folder.id,
      pathPart: "{key+}",
    }, child);
    const slug = `GET${pathSlug(`${LARGE_RESPONSE_PATH}/{key+}`)}`;
    const method = new aws.apigateway.Method(`${name}-${slug}`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: "GET",
      authorization: settings.authorization,
      requestParameters: { "method.request.path.key": true },
    }, child);
    const uri = pulumi.interpolate`arn:${ctx.partition}:apigateway:${ctx.region}:s3:path/${bucket.name}/${keyPrefix}{key}`;
    const integration = new aws.apigateway.Integration(`${name}-${slug}`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      type: "AWS",
      integrationHttpMethod: "GET",
      uri,
      credentials: role.arn,
      requestParameters: { "integration.request.path.key": "method.request.path.key" },
      passthroughBehavior: "WHEN_NO_MATCH",
      timeoutMilliseconds: settings.timeoutMs,
    }, { parent: this, dependsOn: [read] });
    const headers = ["Content-Type", "Content-Encoding", "Cache-Control"];
    const ok = new aws.apigateway.MethodResponse(`${name}-${slug}-200`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      statusCode: "200",
      responseParameters: Object.fromEntries(headers.map((h) => [`method.response.header.${h}`, false])),
    }, child);
    const missing = new aws.apigateway.MethodResponse(`${name}-${slug}-404`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      statusCode: "404",
    }, child);
    const failed = new aws.apigateway.MethodResponse(`${name}-${slug}-502`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      statusCode: "502",
    }, child);
    const okMapping = new aws.apigateway.IntegrationResponse(`${name}-${slug}-200`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      statusCode: ok.statusCode,
      responseParameters: Object.fromEntries(headers.map((h) => [`method.response.header.${h}`, `integration.response.header.${h}`])),
    }, { parent: this, dependsOn: [integration] });
    // S3 answers 403 for a missing key when the reader may not list the bucket: both mean "gone".
    const missingMapping = new aws.apigateway.IntegrationResponse(`${name}-${slug}-404`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      statusCode: missing.statusCode,
      selectionPattern: LARGE_RESPONSE_MISSING_PATTERN,
      responseTemplates: { "application/json": LARGE_RESPONSE_MISSING_BODY },
    }, { parent: this, dependsOn: [integration] });
    // S3's own failures (500, 503 SlowDown) must not go out as 200 with S3's XML error body.
    const failedMapping = new aws.apigateway.IntegrationResponse(`${name}-${slug}-502`, {
      restApi: api.id,
      resourceId: keyResource.id,
      httpMethod: method.httpMethod,
      statusCode: failed.statusCode,
      selectionPattern: LARGE_RESPONSE_FAILED_PATTERN,
      responseTemplates: { "application/json": LARGE_RESPONSE_FAILED_BODY },
    }, { parent: this, dependsOn: [integration] });
    const spec = pulumi.all([uri, role.arn]).apply(([u, r]) => JSON.stringify({
      uri: u, role: r, keyPrefix, headers,
      responses: [
        { status: "200", pattern: null, headers },
        { status: "404", pattern: LARGE_RESPONSE_MISSING_PATTERN, body: LARGE_RESPONSE_MISSING_BODY },
        { status: "502", pattern: LARGE_RESPONSE_FAILED_PATTERN, body: LARGE_RESPONSE_FAILED_BODY },
      ],
    }));
    return { resources: [folder, keyResource, method, integration, ok, missing, failed, okMapping, missingMapping, failedMapping], spec };
  }
}
