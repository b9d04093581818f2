// Shared helpers for the cache tests. Everything talks to REAL memcached processes; the only fake is
// a tiny TCP server that answers `config get cluster` the way ElastiCache does (discovery tests).
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { freePort, waitForPort } from "../../support/memcached";
import type { CacheLogger, CacheMetrics } from "../../../functions/cache";

/** One text-protocol request to a memcached node; resolves with the raw reply up to `terminator`. */
export function memcachedText(address: string, command: string, terminator: RegExp, timeoutMs = 2000): Promise<string> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    let buf = "";
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no reply to ${command.trim()} from ${address}`)); }, timeoutMs);
    s.on("connect", () => s.write(command));
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      if (terminator.test(buf)) { clearTimeout(timer); s.destroy(); resolve(buf); }
    });
    s.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

/** `stats` of one node as a map. */
export async function memcachedStats(address: string): Promise<Record<string, string>> {
  const text = await memcachedText(address, "stats\r\n", /END\r\n$/);
  const out: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const m = /^STAT (\S+) (.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

export async function currItems(address: string): Promise<number> {
  return Number((await memcachedStats(address)).curr_items);
}

/** Whether `key` is stored on this very node. */
export async function nodeHasKey(address: string, key: string): Promise<boolean> {
  const text = await memcachedText(address, `get ${key}\r\n`, /END\r\n$/);
  return text.startsWith("VALUE ");
}

/** ElastiCache `config get cluster` reply body for a list of nodes. */
export function configReply(version: number, nodes: { host: string; ip: string; port: number }[]): string {
  const body = `${version}\n${nodes.map((n) => `${n.host}|${n.ip}|${n.port}`).join(" ")}\n`;
  return `CONFIG cluster 0 ${Buffer.byteLength(body, "latin1")}\r\n${body}\r\nEND\r\n`;
}

export interface FakeConfigEndpoint {
  readonly address: string;
  /** What the next `config get cluster` gets back (whole reply). */
  reply: string;
  /** Delay before replying, ms. */
  delayMs: number;
  /** Number of `config get cluster` requests seen. */
  requests: number;
  close(): Promise<void>;
}

/** A TCP server that only speaks `config get cluster` (the data path always goes to real memcached). */
export async function startFakeConfigEndpoint(reply: string): Promise<FakeConfigEndpoint> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state: FakeConfigEndpoint = {
    address: "",
    reply,
    delayMs: 0,
    requests: 0,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined);
    let buf = "";
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      while (buf.includes("\r\n")) {
        const line = buf.slice(0, buf.indexOf("\r\n"));
        buf = buf.slice(buf.indexOf("\r\n") + 2);
        const answer = line === "config get cluster" ? state.reply : "ERROR\r\n";
        if (line === "config get cluster") state.requests++;
        const send = (): void => { if (!sock.destroyed) sock.write(answer); };
        if (state.delayMs > 0) {
          const t = setTimeout(() => { timers.delete(t); send(); }, state.delayMs);
          timers.add(t);
        } else send();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  (state as { address: string }).address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}

/**
 * A real memcached whose process we own, for signals the shared helper does not offer
 * (SIGTERM = graceful close of every connection, SIGSTOP = a hung node).
 */
export interface OwnedMemcached {
  readonly address: string;
  readonly port: number;
  signal(sig: NodeJS.Signals): void;
  /** SIGSTOP, then wait until the kernel reports the process stopped (delivery is asynchronous). */
  pause(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

// Every memcached spawned here dies with the test process (even a SIGSTOPped one, even on --exit).
const spawned = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of spawned) {
    p.kill("SIGKILL");
  }
});

export async function spawnMemcached(extraArgs: string[] = []): Promise<OwnedMemcached> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const waitListening = (): Promise<void> => waitForPort(port, 5000);
  const owned: OwnedMemcached = {
    address: `127.0.0.1:${port}`,
    port,
    signal(sig) { if (proc?.pid) process.kill(proc.pid, sig); },
    async pause() {
      const pid = proc?.pid;
      if (!pid) throw new Error("memcached not running");
      process.kill(pid, "SIGSTOP");
      const until = Date.now() + 2000;
      // Every thread must be stopped (state T), or a request may still be answered.
      const stopped = (): boolean => {
        try {
          return fs.readdirSync(`/proc/${pid}/task`).every((tid) => / [Tt] /.test(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").replace(/^.*\)/, "")));
        } catch {
          return false;
        }
      };
      while (!stopped()) {
        if (Date.now() > until) throw new Error("memcached did not stop");
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((r) => {
        p.once("exit", () => r());
        p.kill("SIGKILL");
        try { process.kill(p.pid as number, "SIGCONT"); } catch { /* gone */ }
      });
    },
    async start() {
      if (proc && (proc.exitCode !== null || proc.signalCode !== null)) proc = undefined;
      if (proc) {
        // Still shutting down (e.g. after SIGTERM): wait for it to go.
        const p = proc;
        await new Promise<void>((r) => { if (p.exitCode !== null || p.signalCode !== null) r(); else p.once("exit", () => r()); });
        proc = undefined;
      }
      const userArgs = process.getuid && process.getuid() === 0 ? ["-u", "root"] : [];
      proc = spawn("memcached", ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", ...userArgs, ...extraArgs], { stdio: "ignore" });
      const p = proc;
      spawned.add(p);
      p.once("exit", () => { spawned.delete(p); if (proc === p) proc = undefined; });
      await waitListening();
    },
  };
  await owned.start();
  return owned;
}

/** Logger/metrics that record what the library emits. */
export function recorder(): { logger: CacheLogger; metrics: CacheMetrics; logs: { level: string; message: string; extra?: unknown }[]; metricsSeen: { name: string; unit: string; value: number }[]; count(name: string): number } {
  const logs: { level: string; message: string; extra?: unknown }[] = [];
  const metricsSeen: { name: string; unit: string; value: number }[] = [];
  const mk = (level: string) => (message: string, ...extra: unknown[]) => { logs.push({ level, message, extra: extra[0] }); };
  return {
    logger: { debug: mk("debug"), info: mk("info"), warn: mk("warn"), error: mk("error") },
    metrics: { addMetric: (name, unit, value) => { metricsSeen.push({ name, unit, value }); } },
    logs,
    metricsSeen,
    count: (name) => metricsSeen.filter((m) => m.name === name).reduce((a, m) => a + m.value, 0),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the fault-injection upstream does with the next requests. */
export type UpstreamMode = "ok" | "fail" | "hang" | "not-found" | { slowMs: number };

/**
 * A real HTTP upstream on loopback whose behaviour a test switches at will, and which measures what
 * the system under test does to it: requests seen, requests in flight, the most ever in flight.
 * "hang" keeps requests open (never answers) until the mode changes or the client gives up.
 */
export interface FaultyUpstream {
  readonly url: string;
  mode: UpstreamMode;
  readonly requests: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Forget counters (not the requests still hanging). */
  reset(): void;
  /** Answer every hanging request with 200 now. */
  release(): void;
  close(): Promise<void>;
}

export async function startFaultyUpstream(): Promise<FaultyUpstream> {
  const http = await import("node:http");
  const sockets = new Set<net.Socket>();
  const hanging = new Set<import("node:http").ServerResponse>();
  const st = { mode: "ok" as UpstreamMode, requests: 0, inFlight: 0, maxInFlight: 0 };
  const answer = (res: import("node:http").ServerResponse, status: number, body: string): void => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    st.requests++;
    st.inFlight++;
    st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
    let done = false;
    const finish = (): void => { if (!done) { done = true; st.inFlight--; hanging.delete(res); } };
    res.on("close", finish);
    const m = st.mode;
    const body = JSON.stringify({ path: req.url, n: st.requests });
    if (m === "ok") answer(res, 200, body);
    else if (m === "fail") answer(res, 500, '{"error":"boom"}');
    else if (m === "not-found") answer(res, 404, '{"error":"no such item"}');
    else if (m === "hang") hanging.add(res);
    else setTimeout(() => answer(res, 200, body), m.slowMs);
  });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    get mode() { return st.mode; },
    set mode(m: UpstreamMode) { st.mode = m; },
    get requests() { return st.requests; },
    get inFlight() { return st.inFlight; },
    get maxInFlight() { return st.maxInFlight; },
    reset() { st.requests = 0; st.maxInFlight = st.inFlight; },
    release() { for (const res of [...hanging]) answer(res, 200, '{"released":true}'); },
    async close() {
      for (const res of hanging) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** p-quantile (0..1) of a list of numbers (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** A request the fake SSM endpoint received, and what it decided. */
export interface SsmCall {
  target: string;
  name?: string;
  accessKeyId?: string;
  sessionToken?: string;
  /** The SigV4 signature matched the one @smithy/signature-v4 computes for the same request. */
  signatureValid: boolean;
  status: number;
}

export interface FakeSsm {
  readonly url: string;
  /** Parameter values by name (and by ARN: give both when a test uses ARNs). */
  readonly parameters: Map<string, string>;
  readonly calls: SsmCall[];
  /** Answer the next N GetParameter calls with a ThrottlingException (HTTP 400). */
  throttleNext: number;
  /** Delay before every answer, ms. */
  delayMs: number;
  /** The only access key id allowed (others get AccessDeniedException). */
  allowedAccessKeyId: string;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for SSM Parameter Store's JSON 1.1 API (`AmazonSSM.GetParameter` only). Every
 * request's SigV4 signature is recomputed with @smithy/signature-v4 (the AWS SDK's signer) from the
 * headers it says it signed: a request whose signature differs is refused (InvalidSignatureException),
 * as SSM would.
 */
export async function startFakeSsm(parameters: Record<string, string>, credentials: { accessKeyId: string; secretAccessKey: string }): Promise<FakeSsm> {
  const http = await import("node:http");
  const { SignatureV4 } = await import("@smithy/signature-v4");
  const { Sha256 } = await import("@aws-crypto/sha256-js");
  const { HttpRequest } = await import("@smithy/protocol-http");
  const sockets = new Set<net.Socket>();
  const state: FakeSsm = {
    url: "",
    parameters: new Map(Object.entries(parameters)),
    calls: [],
    throttleNext: 0,
    delayMs: 0,
    allowedAccessKeyId: credentials.accessKeyId,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const auth = String(req.headers.authorization ?? "");
        const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
        const call: SsmCall = { target: String(req.headers["x-amz-target"] ?? ""), signatureValid: false, status: 0, ...(m ? { accessKeyId: m[1] } : {}) };
        if (req.headers["x-amz-security-token"]) call.sessionToken = String(req.headers["x-amz-security-token"]);
        if (m) {
          const signed: Record<string, string> = {};
          for (const h of m[5].split(";")) signed[h] = String(req.headers[h] ?? "");
          const amzDate = String(req.headers["x-amz-date"] ?? "");
          const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
          const signer = new SignatureV4({ credentials: { ...credentials, ...(call.sessionToken ? { sessionToken: call.sessionToken } : {}) }, region: m[3], service: m[4], sha256: Sha256, applyChecksum: false });
          const expected = await signer.sign(new HttpRequest({ method: req.method, protocol: "http:", hostname: "x", path: req.url ?? "/", headers: signed, body }), { signingDate: date });
          call.signatureValid = expected.headers.authorization === auth && m[1] === state.allowedAccessKeyId;
        }
        let name: string | undefined;
        try { name = (JSON.parse(body) as { Name?: string }).Name; } catch { /* not JSON */ }
        if (name !== undefined) call.name = name;
        const answer = (status: number, json: unknown): void => {
          call.status = status;
          state.calls.push(call);
          const send = (): void => { if (!res.destroyed) { res.writeHead(status, { "content-type": "application/x-amz-json-1.1" }); res.end(JSON.stringify(json)); } };
          if (state.delayMs > 0) setTimeout(send, state.delayMs); else send();
        };
        if (!m || !call.signatureValid) return answer(400, { __type: m && m[1] !== state.allowedAccessKeyId ? "UnrecognizedClientException" : "InvalidSignatureException", message: "The request signature we calculated does not match the signature you provided." });
        if (call.target !== "AmazonSSM.GetParameter") return answer(400, { __type: "UnknownOperationException" });
        if (state.throttleNext > 0) {
          state.throttleNext--;
          return answer(400, { __type: "com.amazonaws.ssm#ThrottlingException", message: "Rate exceeded" });
        }
        const value = name === undefined ? undefined : state.parameters.get(name);
        if (value === undefined) return answer(400, { __type: "ParameterNotFound" });
        answer(200, { Parameter: { Name: name, Type: "SecureString", Value: value, Version: 1 } });
      })();
    });
  });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  (state as { url: string }).url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}

/** Test credentials (AWS's documentation example pair) the fake SSM accepts. */
export const TEST_CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } as const;

/** Environment variables that make a runtime read `parameter` from a fake SSM with the test credentials. */
export function ssmEnv(ssm: FakeSsm, parameter: string): Record<string, string> {
  return {
    CACHE_MAC_KEY_PARAMETER: parameter,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: "test-session-token",
  };
}

/** A fresh random master key in the text form the caches take. */
export function newMacKey(): string {
  return (require("node:crypto") as typeof import("node:crypto")).randomBytes(32).toString("base64url");
}
