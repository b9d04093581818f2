/**
 * Changes that empty a cache, found by comparing what the stack has now (a `pulumi stack export`
 * file) with what the program would deploy (the mock run). Pulumi's own preview shows these only as
 * an ordinary "update" or "replace"; the cost (a cold cache, every request on the upstream) is ours
 * to point out. Pure: data in, findings out.
 *
 * What empties which cache (sources in docs/aws-constraints.md):
 * - ElastiCache memcached: a node-type change replaces the cluster (the provider cannot resize
 *   memcached); an engine upgrade is in place but flushes every node (in the maintenance window
 *   unless applyImmediately); a downgrade, an engine, port, network-type or in-transit-encryption
 *   change replaces it; an azMode change replaces it (replaceOnChanges); fewer nodes drop the keys of
 *   the removed nodes, more nodes take over a share of the keys empty; deleting the cluster drops
 *   everything.
 * - API Gateway stage cache: resizing, disabling it or renaming the stage (a replacement) leaves it
 *   empty (recreating a cache cluster takes minutes).
 */
import type { MockResource } from "./engine";

export const MEMCACHED_CLUSTER = "aws:elasticache/cluster:Cluster";
export const API_STAGE = "aws:apigateway/stage:Stage";

/** One resource of a `pulumi stack export` (checkpoint version 3). */
export interface ExportedResource {
  urn: string;
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  custom?: boolean;
}

export interface CacheFinding {
  /** The resource as the plan names it (type and logical name). */
  resource: string;
  urn: string;
  /** What changes, e.g. `nodeType cache.t4g.micro -> cache.t4g.small`. */
  change: string;
  /** What it does to the cache. */
  effect: string;
  /** "empties": every entry is gone; "partial": some entries are gone. */
  severity: "empties" | "partial";
}

/** The resources of a `pulumi stack export` file's JSON. Throws when it is not one. */
export function exportedResources(exported: unknown): ExportedResource[] {
  const deployment = (exported as { deployment?: { resources?: unknown } } | null)?.deployment;
  const resources = deployment?.resources;
  if (!Array.isArray(resources)) throw new Error("not a `pulumi stack export` file: no deployment.resources list");
  return resources.filter((r): r is ExportedResource =>
    typeof r === "object" && r !== null && typeof (r as ExportedResource).urn === "string" && typeof (r as ExportedResource).type === "string");
}

function logicalName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

function show(v: unknown): string {
  return v === undefined ? "(unset)" : typeof v === "string" ? v : JSON.stringify(v);
}

/** -1, 0, 1 comparing dotted versions ("1.6.12" > "1.6.6"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function clusterFindings(before: Record<string, unknown>, after: Record<string, unknown>, label: string, urn: string): CacheFinding[] {
  const out: CacheFinding[] = [];
  const add = (change: string, effect: string, severity: CacheFinding["severity"] = "empties"): void => {
    out.push({ resource: label, urn, change, effect, severity });
  };
  const changed = (key: string): boolean => before[key] !== undefined && after[key] !== undefined && JSON.stringify(before[key]) !== JSON.stringify(after[key]);
  for (const key of ["nodeType", "engine", "port", "networkType", "transitEncryptionEnabled"]) {
    if (changed(key)) {
      add(`${key} ${show(before[key])} -> ${show(after[key])}`,
        "REPLACES the cluster: a new, empty cluster with new endpoints is created, then the old one is deleted");
    }
  }
  if (changed("azMode")) add(`azMode ${show(before.azMode)} -> ${show(after.azMode)}`, "REPLACES the cluster (replaceOnChanges): every node starts empty");
  if (changed("engineVersion")) {
    const from = String(before.engineVersion);
    const to = String(after.engineVersion);
    if (compareVersions(to, from) < 0) {
      add(`engineVersion ${from} -> ${to}`, "a downgrade REPLACES the cluster: every node starts empty");
    } else {
      const when = after.applyImmediately === true ? "during this `pulumi up` (applyImmediately)" : "in the next maintenance window";
      add(`engineVersion ${from} -> ${to}`, `flushes every node ${when}: memcached upgrades are always disruptive`);
    }
  }
  const n0 = Number(before.numCacheNodes);
  const n1 = Number(after.numCacheNodes);
  if (Number.isFinite(n0) && Number.isFinite(n1) && n1 < n0) {
    add(`numCacheNodes ${n0} -> ${n1}`, `removes ${n0 - n1} node(s): their share of the keys (~${Math.round((100 * (n0 - n1)) / n0)}%) is lost`, "partial");
  } else if (Number.isFinite(n0) && Number.isFinite(n1) && n1 > n0 && n0 > 0) {
    // Consistent hashing moves about k/(n+k) of the keys onto the new, empty nodes: misses until refilled.
    add(`numCacheNodes ${n0} -> ${n1}`, `adds ${n1 - n0} empty node(s): ~${Math.round((100 * (n1 - n0)) / n1)}% of the keys now map to them and miss until refilled`, "partial");
  }
  return out;
}

function stageFindings(before: Record<string, unknown>, after: Record<string, unknown>, label: string, urn: string): CacheFinding[] {
  const wasOn = before.cacheClusterEnabled === true;
  const isOn = after.cacheClusterEnabled === true;
  if (wasOn && before.stageName !== undefined && after.stageName !== undefined && before.stageName !== after.stageName) {
    return [{ resource: label, urn, change: `stageName ${show(before.stageName)} -> ${show(after.stageName)}`, effect: "REPLACES the stage: the new stage's cache starts empty (and its URL changes)", severity: "empties" }];
  }
  if (wasOn && !isOn) return [{ resource: label, urn, change: "cacheClusterEnabled true -> false", effect: "deletes the stage cache: every cached response is gone", severity: "empties" }];
  if (wasOn && isOn && before.cacheClusterSize !== undefined && after.cacheClusterSize !== undefined && String(before.cacheClusterSize) !== String(after.cacheClusterSize)) {
    return [{
      resource: label,
      urn,
      change: `cacheClusterSize ${show(before.cacheClusterSize)} -> ${show(after.cacheClusterSize)} GB`,
      effect: "recreates the stage cache (takes minutes): it is empty afterwards",
      severity: "empties",
    }];
  }
  return [];
}

/**
 * Every change between `current` (the stack's exported state) and `planned` (the mock run of the
 * program) that empties a cache, in a stable order. Resources are matched by URN, then by type and
 * logical name (a URN changes when a parent is renamed, and an alias keeps the resource).
 */
export function cacheEmptyingChanges(current: readonly ExportedResource[], planned: readonly MockResource[]): CacheFinding[] {
  const findings: CacheFinding[] = [];
  for (const type of [MEMCACHED_CLUSTER, API_STAGE]) {
    const now = planned.filter((r) => r.type === type);
    for (const old of current.filter((r) => r.type === type)) {
      const label = `${type.split(":").pop()} ${logicalName(old.urn)}`;
      const match = now.find((r) => r.urn === old.urn) ?? now.find((r) => r.name === logicalName(old.urn));
      if (!match) {
        findings.push({ resource: label, urn: old.urn, change: "deleted", effect: "the cache and everything in it is gone", severity: "empties" });
        continue;
      }
      const before = old.inputs ?? {};
      findings.push(...(type === MEMCACHED_CLUSTER
        ? clusterFindings(before, match.inputs, label, old.urn)
        : stageFindings(before, match.inputs, label, old.urn)));
    }
  }
  return findings.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : a.change < b.change ? -1 : a.change > b.change ? 1 : 0));
}
