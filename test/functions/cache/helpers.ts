// Shared helpers for the cache tests. Everything talks to REAL memcached processes; the only fake is
// a tiny TCP server that answers `config get cluster` the way ElastiCache does (discovery tests).
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { freePort } from "../../support/memcached";
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
  const waitListening = async (): Promise<void> => {
    const until = Date.now() + 5000;
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(port, "127.0.0.1");
        s.once("connect", () => { s.destroy(); r(true); });
        s.once("error", () => r(false));
      });
      if (ok) return;
      if (Date.now() > until) throw new Error("memcached did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
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
