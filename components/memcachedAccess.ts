import type * as pulumi from "@pulumi/pulumi";

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
  /** TCP port of the nodes: the only port the client's security rules open. Plain. @default 11211 */
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
