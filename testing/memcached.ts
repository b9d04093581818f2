/**
 * A real memcached on loopback for runtime tests (never a mock): the `memcached` binary must be on the
 * PATH (Debian/Ubuntu: `apt-get install memcached`; macOS: `brew install memcached`).
 */
import { spawn, ChildProcess } from "node:child_process";
import * as net from "node:net";

/** A real memcached process on a free loopback port, owned by one test. */
export interface MemcachedServer {
  readonly host: string;
  readonly port: number;
  /** "host:port", the form memjs and our config take. */
  readonly address: string;
  stop(): Promise<void>;
  /** Restart on the same port (after stop), empty as a real node replacement would be. */
  start(): Promise<void>;
}

// Safety net: every memcached a test (or bench) started dies with this process, even when a test
// forgets stop() or mocha exits with --exit.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

/** Ask the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolve once something accepts TCP connections on loopback `port`; throw after `deadlineMs`. */
export async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`memcached did not listen on ${port} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Start `memcached` (installed from Debian by .ci/run) on a free loopback port.
 * `extraArgs` passes options such as `-I 2m` (item size limit).
 */
export async function startMemcached(extraArgs: string[] = []): Promise<MemcachedServer> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    // memcached refuses to run as root unless told which user to drop to.
    const userArgs = process.getuid && process.getuid() === 0 ? ["-u", "root"] : [];
    proc = spawn("memcached", ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", ...userArgs, ...extraArgs], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const child = proc;
    running.add(child);
    child.once("exit", () => running.delete(child));
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<never>((_, reject) =>
      proc?.once("exit", (code) => reject(new Error(`memcached exited early (${code}): ${stderr}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 5000), exited]);
  };
  const server: MemcachedServer = {
    host: "127.0.0.1",
    port,
    address: `127.0.0.1:${port}`,
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((resolve) => { p.once("exit", () => resolve()); p.kill("SIGKILL"); });
    },
    async start() {
      if (proc) return;
      await launch();
    },
  };
  await launch();
  return server;
}
