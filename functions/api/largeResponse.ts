/**
 * Responses too large for the ALB (1 MB of Lambda response JSON): the body goes to a private S3
 * bucket and the client gets a 303 to a short-lived presigned GET URL.
 *
 * The S3 SDK is loaded lazily with `require` on the first large response: it is provided by the
 * Lambda runtime (excluded from the archive), and most invocations never need it, so it must not
 * cost every cold start. Tests inject a client (`client`) or point `clientConfig` at a local
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
  /** An S3 client to use (tests); otherwise one is created on first use from `clientConfig`. */
  client?: S3Client;
  /** Config of the lazily created client (region, endpoint, forcePathStyle, credentials...). */
  clientConfig?: S3ClientConfig;
}

export interface StoredResponse {
  bucket: string;
  key: string;
  url: string;
  expiresInSeconds: number;
}

export interface LargeResponseStore {
  /** Put `body` as an object and presign a GET for it. Rejects when S3 does. */
  store(body: Uint8Array, meta: { contentType: string; contentEncoding?: string }): Promise<StoredResponse>;
}

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
      expiresInSeconds: stored.expiresInSeconds,
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

/** A store writing to `options.bucket`. The S3 client is created once, on first use, and kept. */
export function createLargeResponseStore(options: LargeResponseOptions): LargeResponseStore {
  const prefix = options.keyPrefix ?? "large-responses/";
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
      // eslint-disable-next-line @typescript-eslint/no-require-imports
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
      const url = await presigner.getSignedUrl(client, new s3.GetObjectCommand({ Bucket: options.bucket, Key: key }), { expiresIn: expiresInSeconds });
      return { bucket: options.bucket, key, url, expiresInSeconds };
    },
  };
}
