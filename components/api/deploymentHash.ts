// The deployment hash: a new API Gateway Deployment exactly when what the stage serves changes
// (routes, integrations, cache keys and settings, throttling, policy), never on a no-op `pulumi up`.
import { createHash } from "node:crypto";
import {
  buildResourceTree,
  cacheKeyParameters,
  integrationRequestParameters,
  integrationUri,
  methodRequestParameters,
  methodSettingsPath,
  type ApiAuthorization,
  type NormalizedRoute,
} from "../apiRoutes";

/** JSON with object keys sorted at every level: equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`canonicalJson: ${value} is not representable`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** What a deployment (the snapshot a stage serves) is made of, plus the stage's cache settings. */
export interface DeploymentInputs {
  routes: readonly NormalizedRoute[];
  backend: {
    protocol: "http" | "https";
    host: string;
    port: number;
    loadBalancerArn: string;
    listenerArn: string;
    vpcLinkId: string;
    timeoutMilliseconds: number;
  };
  cache: {
    clusterEnabled: boolean;
    sizeGb: string;
    defaultTtlSeconds: number;
    dataEncrypted: boolean;
    requireAuthorizationForCacheControl: boolean;
    unauthorizedCacheControlHeaderStrategy: string;
  };
  throttle: { rateLimit: number; burstLimit: number };
  /** The resource policy JSON attached to the API. */
  policy: string;
  /** Anything else the deployment serves (e.g. the large-response route's integration). */
  extra?: Record<string, unknown>;
  /** Method authorization. Default "NONE". */
  authorization?: ApiAuthorization;
}

/** Everything the deployment hash covers, per route: method, integration, cache key, settings. */
export function deploymentSpec(inputs: DeploymentInputs): Record<string, unknown> {
  const b = inputs.backend;
  return {
    version: 1,
    resources: buildResourceTree(inputs.routes).map((n) => n.path),
    routes: inputs.routes.map((r) => ({
      key: r.key,
      method: { httpMethod: r.method, authorization: inputs.authorization ?? "NONE", requestParameters: methodRequestParameters(r) },
      integration: {
        type: "HTTP_PROXY",
        integrationHttpMethod: r.method,
        connectionType: "VPC_LINK",
        connectionId: b.vpcLinkId,
        integrationTarget: b.loadBalancerArn,
        uri: integrationUri(b.protocol, b.host, b.port, r),
        requestParameters: integrationRequestParameters(r),
        cacheKeyParameters: cacheKeyParameters(r),
        timeoutMilliseconds: b.timeoutMilliseconds,
      },
      settings: { cached: r.cached, ttlSeconds: r.ttlSeconds, methodPath: methodSettingsPath(r) },
    })),
    listenerArn: b.listenerArn,
    cache: inputs.cache,
    throttle: inputs.throttle,
    policy: inputs.policy,
    ...(inputs.extra ? { extra: inputs.extra } : {}),
  };
}

/** sha256 (hex) of the canonical JSON of {@link deploymentSpec}: the Deployment's `triggers.redeployment`. */
export function deploymentHash(inputs: DeploymentInputs): string {
  return createHash("sha256").update(canonicalJson(deploymentSpec(inputs))).digest("hex");
}
