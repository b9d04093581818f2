import type * as pulumi from "@pulumi/pulumi";
import { MEMCACHED_PORT } from "./MemcachedCluster";

/**
 * What a client component (HybridLambdaFargateService, CacheFunction) needs from a memcached cluster:
 * plain data. A MemcachedCluster fits as it is (`memcached: cache`), and so does a literal for a
 * cluster managed elsewhere. The client admits its own security groups on the cluster's group.
 */
export interface MemcachedAccess {
  /** `host:port` of the configuration endpoint (auto discovery). */
  configurationEndpoint: pulumi.Input<string>;
  /** `host:port` of every node (static fallback of discovery). */
  nodeEndpoints: pulumi.Input<string[]>;
  /** The cluster's security group: the client adds an ingress rule on it for each of its security groups. */
  securityGroupId: pulumi.Input<string>;
  /**
   * The cluster speaks only TLS (MemcachedCluster `transitEncryption`): the clients then connect with
   * TLS and verify the nodes' certificates (MEMCACHED_TLS=on). Take it from the cluster object, so the
   * clients cannot drift from the cluster. Plain: it decides an environment variable.
   * @default false
   */
  transitEncryption?: boolean;
  /**
   * TCP port of the nodes: the only port the client's security rules open. Plain; must be the port the
   * endpoints name (checked when they are plain strings). @default 11211
   */
  port?: number;
  /**
   * HybridLambdaFargateService only (CacheFunction has `memcachedIngressRule`):
   * the cluster component's URN and name, for stacks deployed before the service created its own
   * ingress rules: the rules were then the cluster's children named `<cluster>-from-<service>-lambda`
   * and `-tasks`. Given both, the new rules alias those, so `pulumi up` moves them in the state
   * instead of replacing them (a replacement would drop memcached traffic for a moment). Optional:
   * without them new stacks are the same.
   */
  urn?: pulumi.Input<string>;
  /** See `urn`. */
  name?: string;
}

/**
 * The port a client's security rules open: `port` (default 11211), 1 to 65535, and the port the
 * endpoints name where they are plain strings (a mismatch would open the wrong port silently).
 */
export function memcachedPort(component: string, access: MemcachedAccess): number {
  const port = access.port ?? MEMCACHED_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${component}: memcached.port ${String(port)} must be a whole number from 1 to 65535`);
  }
  const endpoints = [access.configurationEndpoint, ...(Array.isArray(access.nodeEndpoints) ? access.nodeEndpoints : [])];
  for (const endpoint of endpoints) {
    const named = typeof endpoint === "string" ? /:(\d+)$/.exec(endpoint)?.[1] : undefined;
    if (named !== undefined && Number(named) !== port) {
      throw new Error(`${component}: memcached endpoint ${endpoint} names port ${named}, but memcached.port is ${port}: the security rules would open the wrong port`);
    }
  }
  return port;
}
