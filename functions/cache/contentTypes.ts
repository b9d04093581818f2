/**
 * Which upstream answers may be served: only the media types the app produces (JSON, plain text and
 * application/octet-stream by default, configurable), with no parameter but `charset`. Checked twice: when the upstream answers
 * (anything else is a 502, never stored) and when an answer is read back from memcached (anything
 * else is rejected as a miss, even with a valid MAC: defence in depth). A stored `text/html` answer,
 * or a content type carrying header injection, is therefore never served. Pure.
 */

/**
 * Served by default: what the upstream API of this project answers (JSON, plain text), and
 * application/octet-stream, which fetchUpstream reports when an upstream sends no content type (inert
 * in browsers: downloaded, never rendered; the handlers add `x-content-type-options: nosniff`).
 */
export const DEFAULT_ALLOWED_CONTENT_TYPES: readonly string[] = ["application/json", "text/plain", "application/octet-stream"];

/** A media type: `type/subtype`, RFC 7230 token characters. */
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;
/** A whole content-type value: the media type, then at most a charset parameter (token or quoted token). */
const CONTENT_TYPE = /^[ \t]*([A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+)[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*("?)([A-Za-z0-9_.:+-]{1,40})\2[ \t]*)?$/i;
/** Longest content-type value accepted. */
const MAX_CONTENT_TYPE_LENGTH = 128;

/**
 * Parse a comma-separated allow list ("application/json, text/plain"). Lower-cases; throws an Error
 * naming the entry that is not a plain media type (no wildcards, no parameters).
 */
export function parseAllowedContentTypes(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(",")) {
    const t = raw.trim().toLowerCase();
    if (t === "") continue;
    if (!MEDIA_TYPE.test(t)) throw new Error(`${JSON.stringify(raw.trim())} is not a media type (type/subtype, no wildcards or parameters)`);
    if (!out.includes(t)) out.push(t);
  }
  if (out.length === 0) throw new Error("the list of allowed content types is empty");
  return out;
}

/** The media type of a content-type value (lower case), or undefined when the value is not one this module accepts. */
export function mediaTypeOf(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > MAX_CONTENT_TYPE_LENGTH) return undefined;
  const m = CONTENT_TYPE.exec(value);
  return m ? m[1].toLowerCase() : undefined;
}

/** True when `value` is a well-formed content type whose media type is in `allowed`. */
export function isAllowedContentType(value: unknown, allowed: readonly string[]): boolean {
  const media = mediaTypeOf(value);
  return media !== undefined && allowed.includes(media);
}

/** The shape of an upstream answer as the handlers cache and serve it. */
export interface ServableAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * True when a cached value is an answer the handlers may serve: a 2xx status, an allowed content type,
 * a string body. Use it as getOrLoad's `accept`.
 */
export function isServableAnswer(value: unknown, allowed: readonly string[]): value is ServableAnswer {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<ServableAnswer>;
  return typeof v.status === "number" && Number.isInteger(v.status) && v.status >= 200 && v.status <= 299
    && typeof v.body === "string"
    && isAllowedContentType(v.contentType, allowed);
}

/** getOrLoad's `accept` for answers of the given content types. */
export function servableAnswerCheck(allowed: readonly string[]): (value: unknown) => boolean {
  const list = [...allowed];
  return (value) => isServableAnswer(value, list);
}
