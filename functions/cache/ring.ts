import { createHash } from "node:crypto";

/**
 * Consistent hashing (a hash ring with virtual nodes), pure functions only.
 *
 * Every node gets `virtualNodes` points on a 32-bit circle (ketama style: 4 points per md5 of
 * `"<node>-<i>"`); a key belongs to the first point at or after its hash. Removing a node therefore
 * moves only the keys that node owned (to the next points clockwise), and adding one takes about
 * 1/N of the keys, all of them to the new node.
 */
export interface HashRing {
  /** Node ids ("ip:port"), sorted and de-duplicated; `owners` index into this array. */
  readonly nodes: readonly string[];
  /** Sorted point positions. */
  readonly points: Uint32Array;
  /** owners[i] = index in `nodes` of the node that owns points[i]. */
  readonly owners: Uint32Array;
}

/** Default virtual nodes per node: 160 keeps the spread within a few % for 2-10 nodes. */
export const DEFAULT_VIRTUAL_NODES = 160;

/** Build a ring. Node order does not matter (the ring is the same for any permutation). */
export function buildRing(nodes: readonly string[], virtualNodes: number = DEFAULT_VIRTUAL_NODES): HashRing {
  const unique = Array.from(new Set(nodes)).sort();
  const perNode = Math.max(4, Math.ceil(virtualNodes / 4) * 4);
  const entries: { point: number; owner: number }[] = [];
  unique.forEach((node, owner) => {
    for (let i = 0; i < perNode / 4; i++) {
      const digest = createHash("md5").update(`${node}-${i}`).digest();
      for (let j = 0; j < 4; j++) entries.push({ point: digest.readUInt32LE(j * 4), owner });
    }
  });
  // Ties (astronomically rare) are broken by node id so the ring never depends on input order.
  entries.sort((a, b) => a.point - b.point || (unique[a.owner] < unique[b.owner] ? -1 : 1));
  const points = new Uint32Array(entries.length);
  const owners = new Uint32Array(entries.length);
  entries.forEach((e, i) => { points[i] = e.point; owners[i] = e.owner; });
  return { nodes: unique, points, owners };
}

/**
 * 32-bit hash of a key: FNV-1a over UTF-16 code units followed by the murmur3 finaliser (good
 * avalanche, ~0.3 µs for a 60-character key; cryptographic strength is not needed since keys are
 * already sha256 digests).
 */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Index of the first point >= hash (wrapping to 0). */
function firstPointAtOrAfter(points: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid] < hash) lo = mid + 1; else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

/**
 * Owner (index into `ring.nodes`) of `hash`, skipping nodes for which `isAvailable` returns false
 * (walking clockwise, so an ejected node's keys spread over its ring neighbours). -1 when the ring
 * is empty or no node is available.
 */
export function ringLookup(ring: HashRing, hash: number, isAvailable?: (nodeIndex: number) => boolean): number {
  const n = ring.points.length;
  if (n === 0) return -1;
  let i = firstPointAtOrAfter(ring.points, hash);
  if (!isAvailable) return ring.owners[i];
  const tried = new Set<number>();
  for (let steps = 0; steps < n; steps++) {
    const owner = ring.owners[i];
    if (!tried.has(owner)) {
      if (isAvailable(owner)) return owner;
      tried.add(owner);
      if (tried.size === ring.nodes.length) return -1;
    }
    i = i + 1 === n ? 0 : i + 1;
  }
  return -1;
}

/** Node id owning `key` (see {@link ringLookup}), or undefined. */
export function nodeForKey(ring: HashRing, key: string, isAvailable?: (node: string) => boolean): string | undefined {
  const idx = ringLookup(ring, hash32(key), isAvailable ? (i) => isAvailable(ring.nodes[i]) : undefined);
  return idx < 0 ? undefined : ring.nodes[idx];
}
