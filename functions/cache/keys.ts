import { createHash } from "node:crypto";

/**
 * Key derivation. Everything here is pure (no I/O) and deterministic.
 *
 * memcached keys must be at most 250 bytes and contain no spaces or control characters. Callers'
 * keys are arbitrary strings (URLs with unicode, user input, ...), so the library never sends them
 * as they are: the memcached key is `<namespace>:v<format>:<base64url(sha256(key))>`, always ASCII,
 * always short (namespace <= 64 chars -> key <= 115 bytes), whatever the input.
 */

/**
 * Bump when the stored envelope format changes: old entries are then simply never read again (and
 * old and new releases running side by side during a deploy never read each other's entries).
 * 2: entries are sealed with a MAC (integrity.ts).
 */
export const KEY_FORMAT_VERSION = 2;

/** Allowed namespaces: 1-64 characters of `[A-Za-z0-9_.-]`. */
const NAMESPACE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Longest key memcached accepts. */
export const MEMCACHED_MAX_KEY_BYTES = 250;

/** Throw a TypeError unless `namespace` is 1-64 characters of `[A-Za-z0-9_.-]`. */
export function assertNamespace(namespace: string): void {
  if (typeof namespace !== "string" || !NAMESPACE_RE.test(namespace)) {
    throw new TypeError(`cache namespace must match ${NAMESPACE_RE} (got ${JSON.stringify(namespace)})`);
  }
}

/** sha256 of a UTF-8 string as base64url (43 ASCII characters). */
export function sha256Base64Url(input: string): string {
  return createHash("sha256").update(input, "utf8").digest("base64url");
}

/** The memcached (and L1) key for a caller key: `<namespace>:v2:<sha256 base64url>`. */
export function storageKey(namespace: string, key: string): string {
  return `${namespace}:v${KEY_FORMAT_VERSION}:${sha256Base64Url(key)}`;
}

/** The key of the stampede lease (lock) belonging to a storage key. */
export function leaseKey(storage: string): string {
  return `${storage}:lease`;
}

/** True when `key` is a valid memcached key: 1-250 bytes, no spaces, no control characters (ASCII 0x21-0x7e only). */
export function isSafeMemcachedKey(key: string): boolean {
  if (key.length === 0 || key.length > MEMCACHED_MAX_KEY_BYTES) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** What identifies a request for caching purposes. */
export interface RequestIdentity {
  /** HTTP method; compared case-insensitively. */
  method: string;
  /** URL path as received (not normalised: `/a` and `/a/` are different keys). */
  path: string;
  /** Query parameters; keys are sorted, the order of repeated values is kept, `undefined` values are dropped. */
  query?: Record<string, string | string[] | undefined>;
  /** Request headers (any case). Only the ones named in `varyHeaders` take part in the key. */
  headers?: Record<string, string | undefined>;
  /** Header names (any case) whose values make responses differ, e.g. `["accept", "accept-language"]`. Default: none. */
  varyHeaders?: string[];
}

/**
 * Canonical, unambiguous text form of a request identity (JSON of sorted parts). Exposed for tests and
 * debugging; {@link requestCacheKey} hashes it.
 */
export function canonicalRequest(namespace: string, req: RequestIdentity): string {
  const query: [string, string[]][] = [];
  for (const name of Object.keys(req.query ?? {}).sort()) {
    const raw = req.query?.[name];
    if (raw === undefined) continue;
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== undefined && v !== null).map(String);
    query.push([name, values]);
  }
  const lowerHeaders = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (value !== undefined && value !== null) lowerHeaders.set(name.toLowerCase(), String(value));
  }
  const vary = Array.from(new Set((req.varyHeaders ?? []).map((h) => h.toLowerCase()))).sort();
  // A missing header (null) and an empty one ("") are different identities.
  const headers = vary.map((h) => [h, lowerHeaders.has(h) ? (lowerHeaders.get(h) as string) : null]);
  return JSON.stringify([KEY_FORMAT_VERSION, namespace, String(req.method).toUpperCase(), String(req.path), query, headers]);
}

/**
 * Cache key of an HTTP request: `<namespace>:<base64url(sha256(canonical request))>`, always a safe,
 * short ASCII string (and hashed again into the memcached key by the cache).
 * Throws a TypeError for an invalid namespace (see {@link assertNamespace}).
 */
export function requestCacheKey(
  namespace: string,
  req: RequestIdentity,
): string {
  assertNamespace(namespace);
  return `${namespace}:${sha256Base64Url(canonicalRequest(namespace, req))}`;
}
