/**
 * Responses too large for the ALB (1 MB of Lambda response JSON): the body goes to a private S3
 * bucket and the client gets a 303 to where it can be read:
 * - behind the private API (`locationPrefix` set, e.g. "/dev/_large/"): a path of the API itself,
 *   which CachedPrivateApi serves straight from the bucket. The URL does not expire with the
 *   Lambda's credentials, is reachable by exactly the clients that reach the API, and stays valid
 *   (the object lives a day) for longer than any stage-cache TTL (at most 1 h) that may keep the 303.
 * - otherwise: a presigned GET URL. Such a URL dies when the credentials that signed it expire, so
 *   its lifetime is capped at what the credentials have left.
 *
 * The S3 SDK is loaded lazily with `require` on the first large response: it ships in the archive,
 * but most invocations never need it, so it must not cost every cold start. Tests inject a client (`client`) or point `clientConfig` at a local
 * S3-compatible server.
 */
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { JSON_CONTENT_TYPE } from "./http";
import type { ResponseParts } from "./alb";

/** The ALB's limit on a Lambda response (the whole JSON), with a margin for the MB/MiB ambiguity. */
export const ALB_MAX_RESPONSE_BYTES = 1_000_000;

export interface LargeResponseOptions {
  /** Private bucket for oversized bodies (env LARGE_RESPONSE_BUCKET). */
  bucket: string;
  /** Object key prefix. Default "large-responses/". */
  keyPrefix?: string;
  /** Lifetime of the presigned URL, s (1 to 604800). Default 300. */
  expiresInSeconds?: number;
  /**
   * Serve the body through the front door instead of a presigned URL: the Location is this prefix
   * plus the key below `keyPrefix` (e.g. "/dev/_large/" -> "/dev/_large/2026-11-29/<uuid>").
   */
  locationPrefix?: string;
  /** An S3 client to use (tests); otherwise one is created on first use from `clientConfig`. */
  client?: S3Client;
  /** Config of the lazily created client (region, endpoint, forcePathStyle, credentials...). */
  clientConfig?: S3ClientConfig;
}

export interface StoredResponse {
  bucket: string;
  key: string;
  url: string;
  /** How long `url` stays valid, s; undefined for a path of the API (valid while the object lives). */
  expiresInSeconds?: number;
}

export interface LargeResponseStore {
  /** Put `body` as an object and presign a GET for it. Rejects when S3 does. */
  store(body: Uint8Array, meta: { contentType: string; contentEncoding?: string }): Promise<StoredResponse>;
}

/** Where large bodies go in the bucket unless configured otherwise (CachedPrivateApi reads the same prefix). */
export const DEFAULT_LARGE_RESPONSE_KEY_PREFIX = "large-responses/";

/** Whether a response must leave through S3 (pure). */
export function mustOffload(albResultBytes: number, maxResponseBytes: number = ALB_MAX_RESPONSE_BYTES): boolean {
  return albResultBytes > maxResponseBytes;
}

/** The object key for an oversized body: `<prefix><yyyy-mm-dd>/<uuid>` (pure apart from the arguments). */
export function largeResponseKey(prefix: string, now: number, id: string): string {
  const day = new Date(now).toISOString().slice(0, 10);
  return `${prefix}${day}/${id}`;
}

/** The 303 answer pointing at a stored body (pure). */
export function redirectParts(stored: StoredResponse): ResponseParts {
  const body = JSON.stringify({
    redirect: {
      location: stored.url,
      ...(stored.expiresInSeconds === undefined ? {} : { expiresInSeconds: stored.expiresInSeconds }),
      reason: "the response is larger than the 1 MB a load balancer Lambda target may return",
    },
  });
  return {
    status: 303,
    headers: [
      ["location", stored.url],
      ["content-type", JSON_CONTENT_TYPE],
      ["cache-control", "no-store"],
    ],
    body: Buffer.from(body, "utf8"),
  };
}

/** Seconds kept between a presigned URL's end and its credentials' end. */
export const CREDENTIAL_MARGIN_SECONDS = 30;

/**
 * Lifetime of a presigned URL (pure): the configured one, cut to what the signing credentials have
 * left (less a margin) when their expiry is known, and never below 1 s.
 */
export function presignedLifetime(configuredSeconds: number, now: number, credentialsExpireAt?: number): number {
  if (credentialsExpireAt === undefined || !Number.isFinite(credentialsExpireAt)) return configuredSeconds;
  const left = Math.floor((credentialsExpireAt - now) / 1000) - CREDENTIAL_MARGIN_SECONDS;
  return Math.max(1, Math.min(configuredSeconds, left));
}

/** A store writing to `options.bucket`. The S3 client is created once, on first use, and kept. */
export function createLargeResponseStore(options: LargeResponseOptions): LargeResponseStore {
  const prefix = options.keyPrefix ?? DEFAULT_LARGE_RESPONSE_KEY_PREFIX;
  const expiresInSeconds = options.expiresInSeconds ?? 300;
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > 604800) {
    throw new RangeError(`expiresInSeconds must be an integer from 1 to 604800 (got ${expiresInSeconds})`);
  }
  // Created at run time inside the factory: keeps its identity across warm invocations.
  const held: { client?: S3Client } = { client: options.client };
  return {
    async store(body, meta) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see file comment)
      const s3 = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see file comment)
      const presigner = require("@aws-sdk/s3-request-presigner") as typeof import("@aws-sdk/s3-request-presigner");
      // Two attempts at most: a third would mostly run into the Lambda deadline.
      const client = (held.client ??= new s3.S3Client({ maxAttempts: 2, ...options.clientConfig }));
      const key = largeResponseKey(prefix, Date.now(), randomUUID());
      await client.send(new s3.PutObjectCommand({
        Bucket: options.bucket,
        Key: key,
        Body: body,
        ContentType: meta.contentType,
        ContentEncoding: meta.contentEncoding,
        CacheControl: "private, no-store",
      }));
      if (options.locationPrefix !== undefined) {
        return { bucket: options.bucket, key, url: `${options.locationPrefix}${key.slice(prefix.length)}` };
      }
      const credentials = await client.config.credentials();
      const expiresIn = presignedLifetime(expiresInSeconds, Date.now(), credentials.expiration?.getTime());
      const url = await presigner.getSignedUrl(client, new s3.GetObjectCommand({ Bucket: options.bucket, Key: key }), { expiresIn });
      return { bucket: options.bucket, key, url, expiresInSeconds: expiresIn };
    },
  };
}
