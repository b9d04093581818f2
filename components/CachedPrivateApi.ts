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
} from "./apiRoutes";

export type { RouteSpec } from "./apiRoutes";
export { validateCacheSize, validateCacheTtl, validateThrottle, deploymentHash, STACK_OUTPUT_KEYS } from "./apiRoutes";

export const UNAUTHORIZED_CACHE_CONTROL_STRATEGY = "FAIL_WITH_403";

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
     * Scheme towards the listener. "https" needs a certificate on the ALB valid for `loadBalancerDnsName`.
     * @default "http"
     */
    protocol?: "http" | "https";
    /**
     * The ALB's security group. An ingress rule from the VPC link's group on `listenerPort` is added to it
     * (as a child of this component).
     */
    securityGroupId: pulumi.Input<string>;
    /**
     * Integration timeout, 50 to 29000 ms (more needs a quota increase).
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
   * Security groups admitted to the execute-api endpoint on 443 (the BFFs' groups).
   * More can be added later with {@link CachedPrivateApi.allowFrom}.
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
   * by their default hostnames, and only one execute-api endpoint per VPC may have it.
   * @default true
   */
  privateDnsEnabled?: boolean;
  /**
   * Endpoint policy limiting the execute-api endpoint to APIs of this account (no calls to other accounts'
   * private APIs through it).
   * @default true
   */
  restrictEndpointToAccount?: boolean;
  /**
   * CloudWatch Logs retention of the access logs, days (a CloudWatch retention value).
   * @default 14
   */
  logRetentionDays?: number;
  /**
   * Create the account-wide API Gateway CloudWatch Logs role (`aws.apigateway.Account`). Access logging
   * fails without it. It is ONE setting per account and region: enable this in exactly one stack (or
   * a bootstrap stack); two stacks managing it overwrite each other and a destroy breaks the other.
   * @default false
   */
  manageAccountCloudWatchRole?: boolean;
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
  /** Tags for every taggable child. */
  tags?: Record<string, string>;
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
    return { routes, sizeGb, defaultTtl, throttle, stageName, clusterEnabled: routes.some((r) => r.cached), protocol, timeoutMs, alarms, logRetentionDays };
  } catch (e) {
    return fail(e);
  }
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
  /** Managed policy: FlushStageCache (`apigateway:DELETE` on this stage's cache) for operators. */
  readonly flushPolicyArn: pulumi.Output<string>;
  /** sha256 of the deployment spec (the Deployment's trigger). */
  readonly deploymentHash: pulumi.Output<string>;
  readonly dashboardName: pulumi.Output<string>;
  readonly alarmNames: pulumi.Output<string[]>;
  /** The validated routes with defaults resolved (fallback included). */
  readonly routes: readonly NormalizedRoute[];
  private readonly name: string;

  constructor(name: string, args: CachedPrivateApiArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate everything before registering anything: bad args throw without leaving a half-built component.
    const settings = resolveSettings(name, args);
    super("serverless-cache:api:CachedPrivateApi", name, {}, opts);
    this.name = name;
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
    this.endpointSecurityGroupId = endpointSg.id;
    const clientSgs = args.clientSecurityGroupIds ?? [];
    clientSgs.forEach((sg, i) => this.allowFrom(`client-${i}`, sg));
    const clientCidrs = args.clientCidrBlocks ?? (clientSgs.length === 0 ? [args.vpcCidrBlock] : []);
    clientCidrs.forEach((cidr, i) => new aws.vpc.SecurityGroupIngressRule(`${name}-endpoint-from-cidr-${i}`, {
      securityGroupId: endpointSg.id,
      cidrIpv4: cidr,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      description: "HTTPS to the private API from inside the network",
    }, child));

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
      subnetIds: args.privateSubnetIds,
      securityGroupIds: [endpointSg.id],
      policy: endpointPolicy,
      tags: { ...tags, Name: `${this.apiName}-execute-api` },
    }, child);
    this.vpcEndpointId = endpoint.id;

    // ---- The API: PRIVATE, associated with the endpoint (which creates the <apiId>-<vpceId> alias).
    const api = new aws.apigateway.RestApi(`${name}`, {
      name: this.apiName,
      description: `Private cached API of stack ${stack} (serverless-cache)`,
      endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: [endpoint.id] },
      tags,
    }, child);
    this.apiId = api.id;

    const policyJson = pulumi.all([api.executionArn, endpoint.id])
      .apply(([arn, vpce]) => JSON.stringify(privateApiResourcePolicy(arn, vpce)));
    const resourcePolicy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: policyJson }, child);

    // ---- Backend path: VPC link V2 straight to the ALB (no NLB).
    const port = args.backend.listenerPort;
    const vpcLinkSg = new aws.ec2.SecurityGroup(`${name}-vpclink-sg`, {
      vpcId: args.vpcId,
      description: `VPC link of ${this.apiName}: to the ALB listener only`,
      tags: { ...tags, Name: `${this.apiName}-vpclink` },
    }, child);
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
    const vpcLink = new aws.apigatewayv2.VpcLink(`${name}-vpclink`, {
      name: `${this.apiName}-alb`,
      subnetIds: args.privateSubnetIds,
      securityGroupIds: [vpcLinkSg.id],
      tags,
    }, child);
    this.vpcLinkId = vpcLink.id;

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
        authorization: "NONE",
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
        uri: pulumi.output(args.backend.loadBalancerDnsName).apply((host) => integrationUri(settings.protocol, host, port, route)),
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
      unauthorizedCacheControlHeaderStrategy: UNAUTHORIZED_CACHE_CONTROL_STRATEGY,
    };
    this.deploymentHash = pulumi.all([
      args.backend.loadBalancerDnsName, args.backend.loadBalancerArn, args.backend.listenerArn, vpcLink.id, policyJson,
    ]).apply(([host, lbArn, listenerArn, vpcLinkId, policy]) => deploymentHash({
      routes,
      backend: { protocol: settings.protocol, host, port, loadBalancerArn: lbArn, listenerArn, vpcLinkId, timeoutMilliseconds: settings.timeoutMs },
      cache: cacheSettings,
      throttle: settings.throttle,
      policy,
    }));
    const deployment = new aws.apigateway.Deployment(`${name}-deployment`, {
      restApi: api.id,
      description: `${this.apiName}: ${routes.length} routes`,
      triggers: { redeployment: this.deploymentHash },
    }, { parent: this, dependsOn: [...methodsAndIntegrations, resourcePolicy, albIngress] });

    // ---- Stage: cache cluster, access logs; named after the stack.
    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-access-logs`, {
      name: `/aws/apigateway/${this.apiName}/${stageName}/access`,
      retentionInDays: settings.logRetentionDays,
      tags,
    }, child);
    const stageDeps: pulumi.Resource[] = [];
    if (args.manageAccountCloudWatchRole) {
      const role = new aws.iam.Role(`${name}-apigw-logs`, {
        description: "API Gateway account-wide role to write CloudWatch Logs",
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        tags,
      }, child);
      const attachment = new aws.iam.RolePolicyAttachment(`${name}-apigw-logs`, {
        role: role.name,
        policyArn: pulumi.interpolate`arn:${partition.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
      }, child);
      stageDeps.push(new aws.apigateway.Account(`${name}-account`, { cloudwatchRoleArn: role.arn }, { parent: this, dependsOn: [attachment] }));
    }
    const stage = new aws.apigateway.Stage(`${name}-stage`, {
      restApi: api.id,
      stageName,
      deployment: deployment.id,
      description: `Stack ${stack}`,
      cacheClusterEnabled: settings.clusterEnabled,
      cacheClusterSize: settings.clusterEnabled ? settings.sizeGb : undefined,
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
      tags,
    }, { parent: this, dependsOn: stageDeps });
    this.stageName = stage.stageName;

    // ---- Method settings: the stage default (uncached, throttled, metrics on) and one per cached route.
    // Applied one after another: each is an UpdateStage call on the same stage.
    const baseSettings = {
      metricsEnabled: true,
      throttlingRateLimit: settings.throttle.rateLimit,
      throttlingBurstLimit: settings.throttle.burstLimit,
      cacheDataEncrypted: true,
      requireAuthorizationForCacheControl: true,
      unauthorizedCacheControlHeaderStrategy: UNAUTHORIZED_CACHE_CONTROL_STRATEGY,
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
      policy: arnContext.apply((ctx) => JSON.stringify(invalidationPolicyDocument(ctx, routes))),
      tags,
    }, child);
    this.invalidationPolicyArn = invalidationPolicy.arn;
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
      flushPolicyArn: this.flushPolicyArn,
      deploymentHash: this.deploymentHash,
      dashboardName: this.dashboardName,
      alarmNames: this.alarmNames,
    });
  }

  /**
   * Admit HTTPS (443) to the execute-api endpoint from one more security group (a BFF).
   * The rule is a child of this component, named after `clientName`.
   */
  allowFrom(clientName: string, sourceSecurityGroupId: pulumi.Input<string>): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(`${this.name}-endpoint-from-${clientName}`, {
      securityGroupId: this.endpointSecurityGroupId,
      referencedSecurityGroupId: sourceSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      description: `HTTPS to the private API from ${clientName}`,
    }, { parent: this });
  }
}
