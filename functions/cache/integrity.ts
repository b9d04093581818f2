/**
 * Authenticated memcached entries. memcached has no authentication here (ElastiCache memcached without
 * SASL, and memjs speaks no TLS), and every client security group can write any key; so nothing read
 * back from it is trusted unless it carries a valid MAC.
 *
 * Stored form of every value and of the namespace generation:
 *
 *   ~m1:<kid>:<mac>:<payload>
 *
 *   kid      8 characters: which key signed it (a hash of the namespace key, says nothing about it)
 *   mac      base64url HMAC-SHA256 (43 characters) over "serverless-cache entry v1\n" + memcached key +
 *            "\n" + payload, with the namespace key `kid` names
 *   payload  the envelope JSON (timestamps, generation, value; see freshness.ts), or the generation
 *
 * The memcached key is inside the MAC, so an entry copied to another key (another item, another
 * namespace) does not verify; the timestamps and the generation are inside the payload, so they cannot
 * be stretched. What a MAC cannot stop: a writer putting back, under the same key, an entry the app
 * itself wrote earlier (a replay) while it is still fresh and of the current generation.
 *
 * Keys: the master keys (one or more, >= 32 random bytes each) come from the runtime's key source
 * (SSM Parameter Store, see ssm.ts); each namespace gets its own key derived from each master key
 * (HMAC-SHA256(master, "serverless-cache/entry-mac/v1\0" + namespace)). The first master key signs,
 * every listed key verifies: a rotation lists two keys for a while (docs/cache.md, "Authenticated
 * entries").
 *
 * Pure, except for node:crypto. No key material ever goes into an error message or a log line.
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";

/** Marker and format version of a sealed entry. */
export const SEALED_PREFIX = "~m1:";
/** Length of a key id. */
export const KEY_ID_LENGTH = 8;
/** Length of a base64url HMAC-SHA256. */
const MAC_LENGTH = 43;
/** Where the payload of a sealed entry starts. */
const PAYLOAD_AT = SEALED_PREFIX.length + KEY_ID_LENGTH + 1 + MAC_LENGTH + 1;
/** Most master keys accepted at once (the signing key, plus keys still accepted during a rotation). */
export const MAX_MAC_KEYS = 4;
/** Shortest master key (bytes). */
export const MIN_MAC_KEY_BYTES = 32;
/** Longest master key (bytes). */
export const MAX_MAC_KEY_BYTES = 256;

const DERIVE_LABEL = "serverless-cache/entry-mac/v1\u0000";
const KID_LABEL = "serverless-cache/entry-mac-kid/v1\u0000";
const MAC_LABEL = "serverless-cache entry v1\n";

/** The keys of one namespace: the one that signs, and every one accepted. Immutable once built. */
export interface EntryKeyring {
  readonly namespace: string;
  /** Id of the signing key (the first master key). */
  readonly signId: string;
  /** KeyObjects: an HMAC with one costs ~1.5 µs less than with a Buffer (no key import per call). */
  readonly signKey: KeyObject;
  /** Every accepted key by id, the signing key included. */
  readonly keys: ReadonlyMap<string, KeyObject>;
}

/** Why a stored entry was not accepted. */
export type EntryRejectReason =
  /** No MAC at all: written by a client without keys, by an older release, or by anyone else. */
  | "unsigned"
  /** Looks sealed but is cut or garbled. */
  | "malformed"
  /** Signed with a key this environment does not accept (another stack, a key already rotated out). */
  | "unknown-key"
  /** The MAC does not match: the payload or the memcached key differs from what was signed. */
  | "bad-mac"
  /** Authentic envelope, but its value is not what this app serves (content type, shape). */
  | "value";

export type OpenResult = { ok: true; payload: string; keyId: string } | { ok: false; reason: EntryRejectReason };

/**
 * Parse the text form of the master keys: base64 or base64url strings separated by commas or
 * whitespace, each decoding to 32-256 bytes, at most 4, no duplicates. Throws an Error saying what is
 * wrong with which entry (by position, never by value).
 */
export function parseMacKeys(text: string): Buffer[] {
  if (typeof text !== "string") throw new Error("the cache entry keys are not text");
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error("no cache entry key given");
  if (parts.length > MAX_MAC_KEYS) throw new Error(`${parts.length} cache entry keys given; at most ${MAX_MAC_KEYS} (the signing key first, then the keys still accepted)`);
  const keys: Buffer[] = [];
  parts.forEach((p, i) => {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(p)) throw new Error(`cache entry key #${i + 1} is not base64`);
    const key = Buffer.from(p.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (key.length < MIN_MAC_KEY_BYTES || key.length > MAX_MAC_KEY_BYTES) {
      throw new Error(`cache entry key #${i + 1} has ${key.length} bytes; it needs ${MIN_MAC_KEY_BYTES} to ${MAX_MAC_KEY_BYTES} random bytes`);
    }
    if (keys.some((k) => k.equals(key))) throw new Error(`cache entry key #${i + 1} is listed twice`);
    keys.push(key);
  });
  return keys;
}

/** The key of `namespace` derived from one master key. */
export function deriveNamespaceKey(master: Buffer, namespace: string): Buffer {
  return createHmac("sha256", master).update(DERIVE_LABEL).update(namespace, "utf8").digest();
}

/** Public id of a namespace key (8 base64url characters of a hash of it). */
export function keyId(namespaceKey: Buffer): string {
  return createHash("sha256").update(KID_LABEL).update(namespaceKey).digest("base64url").slice(0, KEY_ID_LENGTH);
}

/** Build the keyring of a namespace from master keys (the first signs). Throws on an empty list. */
export function namespaceKeyring(masters: readonly Buffer[], namespace: string): EntryKeyring {
  if (masters.length === 0) throw new Error("no cache entry key given");
  const keys = new Map<string, KeyObject>();
  let signId = "";
  let signKey: KeyObject | undefined;
  for (const master of masters) {
    const derived = deriveNamespaceKey(master, namespace);
    const id = keyId(derived);
    if (keys.has(id)) throw new Error("two cache entry keys have the same key id; generate new keys");
    const key = createSecretKey(derived);
    keys.set(id, key);
    if (!signKey) {
      signKey = key;
      signId = id;
    }
  }
  return { namespace, signId, signKey: signKey as KeyObject, keys };
}

function macOf(key: KeyObject, storageKey: string, payload: string): Buffer {
  // One update of one string: cheaper than four (the key name holds no newline: memcached keys are 0x21-0x7e).
  return createHmac("sha256", key).update(`${MAC_LABEL}${storageKey}\n${payload}`, "utf8").digest();
}

/** The stored form of `payload` under memcached key `storageKey`. */
export function sealEntry(ring: EntryKeyring, storageKey: string, payload: string): string {
  return `${SEALED_PREFIX}${ring.signId}:${macOf(ring.signKey, storageKey, payload).toString("base64url")}:${payload}`;
}

/** Bytes sealing adds to a payload. */
export const SEAL_OVERHEAD_BYTES = PAYLOAD_AT;

/**
 * Verify a stored entry read under `storageKey`; the payload when its MAC is valid for one of the
 * accepted keys. Constant-time comparison of the MAC.
 */
export function openEntry(ring: EntryKeyring, storageKey: string, raw: string): OpenResult {
  if (!raw.startsWith(SEALED_PREFIX)) return { ok: false, reason: "unsigned" };
  if (raw.length < PAYLOAD_AT || raw.charCodeAt(PAYLOAD_AT - MAC_LENGTH - 2) !== 0x3a || raw.charCodeAt(PAYLOAD_AT - 1) !== 0x3a) {
    return { ok: false, reason: "malformed" };
  }
  const kid = raw.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + KEY_ID_LENGTH);
  const key = ring.keys.get(kid);
  if (!key) return { ok: false, reason: "unknown-key" };
  const given = Buffer.from(raw.slice(PAYLOAD_AT - MAC_LENGTH - 1, PAYLOAD_AT - 1), "base64url");
  if (given.length !== 32) return { ok: false, reason: "malformed" };
  const payload = raw.slice(PAYLOAD_AT);
  if (!timingSafeEqual(macOf(key, storageKey, payload), given)) return { ok: false, reason: "bad-mac" };
  return { ok: true, payload, keyId: kid };
}
