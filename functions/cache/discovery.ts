import * as net from "node:net";
import * as tls from "node:tls";

/**
 * ElastiCache (memcached) Auto Discovery.
 *
 * `config get cluster` sent to the configuration endpoint (or any node) answers
 *
 *     CONFIG cluster 0 <bytes>\r\n
 *     <version>\n
 *     <host>|<ip>|<port> <host>|<ip>|<port> ...\n
 *     \r\n
 *     END\r\n
 *
 * (the version line ends in LF only; the IP may be empty). A plain memcached answers `ERROR\r\n`.
 * Parsing and the "apply this topology?" decision are pure; {@link queryClusterConfig} is the only I/O.
 */

/** One node as listed by the configuration endpoint. */
export interface ClusterNode {
  /** DNS name as listed. */
  host: string;
  /** Private IP as listed; may be empty. */
  ip: string;
  port: number;
  /** What we connect to: `ip` when present, else `host`. */
  address: string;
  /** "address:port", the node id used by the hash ring. */
  id: string;
}

export interface ClusterConfig {
  /** Configuration version; increases whenever nodes are added or removed. */
  version: number;
  nodes: ClusterNode[];
}

export type DiscoveryReply =
  /** Not a whole reply yet: read more bytes. */
  | { kind: "incomplete" }
  | { kind: "config"; config: ClusterConfig }
  /** The endpoint does not know the command (plain memcached: `ERROR`). */
  | { kind: "unsupported"; line: string }
  | { kind: "malformed"; reason: string };

const END_LINE = "END\r\n";

/** Format a host/port pair as a node id; IPv6 addresses get brackets. */
export function nodeId(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parse "host", "host:port", "[v6]:port" or "[v6]". Default port 11211. Throws a TypeError for
 * anything else (empty host, bad port).
 */
export function parseHostPort(spec: string, defaultPort = 11211): { host: string; port: number } {
  const s = String(spec).trim();
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else {
    const parts = s.split(":");
    if (parts.length > 2) throw new TypeError(`invalid host:port ${JSON.stringify(spec)} (bracket IPv6 addresses)`);
    host = parts[0];
    portText = parts[1];
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!host || !/^[A-Za-z0-9._:%-]+$/.test(host)) throw new TypeError(`invalid host in ${JSON.stringify(spec)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || (portText !== undefined && !/^\d+$/.test(portText))) {
    throw new TypeError(`invalid port in ${JSON.stringify(spec)}`);
  }
  return { host, port };
}

/** Parse one `host|ip|port` entry; undefined when malformed. */
export function parseNodeEntry(entry: string): ClusterNode | undefined {
  const parts = entry.split("|");
  if (parts.length !== 3) return undefined;
  const [host, ip, portText] = parts;
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (!host && !ip) return undefined;
  const okName = /^[A-Za-z0-9._:%-]*$/;
  if (!okName.test(host) || !okName.test(ip)) return undefined;
  const address = ip || host;
  return { host: host || ip, ip, port, address, id: nodeId(address, port) };
}

/**
 * Parse what the endpoint sent so far (decode the bytes as latin1 so one char = one byte).
 * Pure; call it again with more data while it answers `incomplete`.
 */
export function parseDiscoveryReply(text: string): DiscoveryReply {
  const firstLineEnd = text.indexOf("\n");
  if (firstLineEnd < 0) {
    // Not even one line. Anything that cannot become "CONFIG " / an error line is already malformed.
    const candidates = ["CONFIG ", "ERROR", "CLIENT_ERROR", "SERVER_ERROR"];
    if (text.length > 1024) return { kind: "malformed", reason: "first line too long" };
    return candidates.some((c) => c.startsWith(text) || text.startsWith(c))
      ? { kind: "incomplete" }
      : { kind: "malformed", reason: `unexpected reply ${JSON.stringify(text.slice(0, 40))}` };
  }
  const firstLine = text.slice(0, firstLineEnd).replace(/\r$/, "");
  if (/^(ERROR|CLIENT_ERROR|SERVER_ERROR)\b/.test(firstLine)) return { kind: "unsupported", line: firstLine };
  const header = /^CONFIG cluster (\d+) (\d+)$/.exec(firstLine);
  if (!header) return { kind: "malformed", reason: `unexpected header ${JSON.stringify(firstLine.slice(0, 60))}` };
  const declared = Number(header[2]);
  const bodyStart = firstLineEnd + 1;
  // The reply ends with an END line. Hostnames cannot contain "END\r\n" at a line start, so look for
  // it after the declared body when we can, else anywhere after the header.
  let endAt = -1;
  const afterBody = bodyStart + declared;
  if (text.startsWith("\r\n" + END_LINE, afterBody)) endAt = afterBody + 2;
  else if (text.startsWith(END_LINE, afterBody)) endAt = afterBody;
  else {
    const idx = text.indexOf("\n" + END_LINE, bodyStart - 1);
    if (idx >= 0) endAt = idx + 1;
  }
  if (endAt < 0) {
    if (text.length > bodyStart + declared + 1024 * 1024) return { kind: "malformed", reason: "no END line" };
    return { kind: "incomplete" };
  }
  if (text.length > endAt + END_LINE.length) {
    return { kind: "malformed", reason: "trailing bytes after END" };
  }
  const lines = text.slice(bodyStart, endAt).split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");
  if (lines.length !== 2) return { kind: "malformed", reason: `expected a version line and a node line, got ${lines.length} lines` };
  if (!/^\d+$/.test(lines[0].trim())) return { kind: "malformed", reason: `bad version ${JSON.stringify(lines[0].slice(0, 20))}` };
  const version = Number(lines[0].trim());
  const entries = lines[1].trim().split(/ +/);
  const nodes: ClusterNode[] = [];
  for (const entry of entries) {
    const node = parseNodeEntry(entry);
    if (!node) return { kind: "malformed", reason: `bad node entry ${JSON.stringify(entry.slice(0, 80))}` };
    if (!nodes.some((n) => n.id === node.id)) nodes.push(node);
  }
  return { kind: "config", config: { version, nodes } };
}

/** What to do with a freshly parsed configuration. Pure. */
export function shouldApplyConfig(
  current: { version: number; nodeIds: readonly string[] } | undefined,
  next: ClusterConfig,
): boolean {
  if (next.nodes.length === 0) return false;
  if (!current) return true;
  // An older version can come from a node that has not caught up yet: never go back.
  if (next.version < current.version) return false;
  const a = [...current.nodeIds].sort().join(",");
  const b = next.nodes.map((n) => n.id).sort().join(",");
  return a !== b;
}

/** Outcome of one `config get cluster` round trip. */
export type DiscoveryOutcome =
  | { kind: "config"; config: ClusterConfig }
  | { kind: "unsupported"; line: string }
  | { kind: "malformed"; reason: string }
  | { kind: "failed"; error: Error };

/** TLS to memcached (ElastiCache in-transit encryption): extra CAs (PEM), and a name to check instead of the host's. */
export interface MemcachedTlsOptions {
  /** CA certificates to trust instead of Node's bundle (a private CA; tests). Default: Node's bundle (ElastiCache certificates chain to Amazon's public roots). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Name the certificate must carry, for every connection. Default: the host's DNS name (an IP address is checked against the certificate's IP entries). */
  servername?: string;
}

/**
 * Open a TLS connection that verifies the server's certificate against `servername` (or `host`).
 * `onReady` runs once the handshake is done (where a plain socket would emit "connect").
 */
export function connectTls(host: string, port: number, options: MemcachedTlsOptions, servername: string | undefined, onReady: () => void): tls.TLSSocket {
  const name = options.servername ?? servername ?? (net.isIP(host) ? undefined : host);
  return tls.connect({
    host,
    port,
    ...(name ? { servername: name } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    // Always verify: a memcached that cannot show a certificate for its name is not ours.
    rejectUnauthorized: true,
    // The identity check uses the DNS name from discovery even when connecting to the IP.
    ...(name ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(name, cert) } : {}),
  }, onReady);
}

/** Longest reply accepted (a cluster has at most a few dozen nodes). */
const MAX_REPLY_BYTES = 256 * 1024;

/**
 * Send `config get cluster` to `host:port` and parse the reply. Never rejects; resolves within
 * `timeoutMs` (connect + reply). `track` receives the socket so an owner can destroy it on close.
 */
export function queryClusterConfig(
  host: string,
  port: number,
  timeoutMs: number,
  track?: (socket: net.Socket | undefined) => void,
  tlsOptions?: MemcachedTlsOptions,
): Promise<DiscoveryOutcome> {
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    // Declared before use: Pulumi's closure serializer rejects a closure using a later `const`.
    let timer: NodeJS.Timeout | undefined;
    // Declared before use (see above): the handshake callback reaches the socket through this holder.
    const holder: { socket?: net.Socket } = {};
    const ask = (): void => { holder.socket?.write("config get cluster\r\n"); };
    const socket: net.Socket = tlsOptions ? connectTls(host, port, tlsOptions, undefined, ask) : net.connect({ host, port });
    holder.socket = socket;
    track?.(socket);
    const finish = (outcome: DiscoveryOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      track?.(undefined);
      resolve(outcome);
    };
    timer = setTimeout(() => finish({ kind: "failed", error: new Error(`config get cluster timed out after ${timeoutMs} ms`) }), timeoutMs);
    socket.setNoDelay(true);
    if (!tlsOptions) socket.on("connect", ask);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.length > MAX_REPLY_BYTES) return finish({ kind: "malformed", reason: "reply too large" });
      const reply = parseDiscoveryReply(text);
      if (reply.kind !== "incomplete") finish(reply);
    });
    socket.on("error", (error) => finish({ kind: "failed", error }));
    socket.on("close", () => finish({ kind: "failed", error: new Error("connection closed before a complete reply") }));
  });
}
