/**
 * A real memcached node for the chaos run that can be killed, restarted (on the same port, empty, as
 * a replaced node would be), frozen (SIGSTOP) and resumed (SIGCONT). test/support/memcached does not
 * expose the process, so the chaos run has its own small launcher.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { freePort } from "../../test/support/memcached";

export interface ChaosMemcached {
  readonly name: string;
  readonly port: number;
  /** "127.0.0.1:port" */
  readonly address: string;
  /** pid of the running process (undefined while killed). */
  pid(): number | undefined;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Start again on the same port (empty). */
  restart(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  freeze(): void;
  /** SIGCONT. */
  resume(): void;
  readonly frozen: boolean;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of running) {
    try {
      p.kill("SIGCONT");
      p.kill("SIGKILL");
    } catch {
      // best effort
    }
  }
});

export { freePort };

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

export async function startChaosMemcached(name: string, memoryMb = 64): Promise<ChaosMemcached> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let frozen = false;
  const launch = async (): Promise<void> => {
    const userArgs = process.getuid && process.getuid() === 0 ? ["-u", "root"] : [];
    const child = spawn("memcached", ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", String(memoryMb), "-c", "4096", ...userArgs], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc = child;
    running.add(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.once("exit", () => running.delete(child));
    child.once("error", () => undefined);
    const until = Date.now() + 5000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`memcached ${name} exited early (${child.exitCode}): ${stderr}`);
      if (await connects(port)) return;
      if (Date.now() > until) throw new Error(`memcached ${name} did not listen on ${port} within 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await launch();
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    pid: () => proc?.pid,
    get frozen() {
      return frozen;
    },
    async kill() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        if (frozen) p.kill("SIGCONT");
        frozen = false;
        p.kill("SIGKILL");
      });
    },
    async restart() {
      if (proc) return;
      await launch();
    },
    freeze() {
      if (proc && !frozen) {
        proc.kill("SIGSTOP");
        frozen = true;
      }
    },
    resume() {
      if (proc && frozen) {
        proc.kill("SIGCONT");
        frozen = false;
      }
    },
  };
}
