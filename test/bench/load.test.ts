/**
 * bench/load.ts (`npm run load`) end to end, kept short: it starts its own memcached, upstream and
 * server, prints the table, writes the JSON and exits 0; on SIGINT it stops everything it started
 * and exits 130. No timing is asserted (the machine is shared): only shape, exit codes and cleanup.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const REPO = path.resolve(__dirname, "..", "..");

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function runLoad(args: string[], opts: { interruptWhen?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "bench/load.ts", ...args], {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: "error" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    proc.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    proc.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (opts.interruptWhen && !interrupted && opts.interruptWhen.test(stderr)) {
        interrupted = true;
        proc.kill("SIGINT");
      }
    });
    const guard = setTimeout(() => proc.kill("SIGKILL"), 25000);
    proc.once("error", reject);
    proc.once("exit", (code, signal) => { clearTimeout(guard); resolve({ code, signal, stdout, stderr }); });
  });
}

/** The ports of what load.ts said it started. */
function startedPorts(stderr: string): number[] {
  const m = /started: memcached [\d.]+:(\d+), upstream http:\/\/[\d.]+:(\d+), server http:\/\/[\d.]+:(\d+)/.exec(stderr);
  assert.ok(m, `no "started:" line in:\n${stderr}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

describe("bench/load.ts (npm run load)", function () {
  this.timeout(30000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "load-test-")); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("starts the local stack, loads it for 1 s, prints the table, writes the JSON, stops everything and exits 0", async () => {
    const out = path.join(dir, "load.json");
    const r = await runLoad(["--duration", "1", "--connections", "10", "--keys", "10", "--out", out]);
    assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /\| run\s+\| req\/s\s+\| p50 ms\s+\| p90 ms\s+\| p99 ms\s+\| max ms\s+\| responses\s+\| errors\s+\| timeouts\s+\| non-2xx\s+\|/);
    assert.match(r.stdout, /\| mix\s+\|\s+[\d,]+\s+\|/);
    assert.match(r.stdout, /\| items\s+\|/);
    const json = JSON.parse(fs.readFileSync(out, "utf8")) as {
      result: { responses: number; errors: number; non2xx: number; perRoute: Record<string, { responses: number }>; xCache: Record<string, number> };
    };
    assert.ok(json.result.responses > 0);
    assert.equal(json.result.errors, 0);
    assert.equal(json.result.non2xx, 0);
    for (const route of ["items", "health"]) assert.ok(json.result.perRoute[route].responses > 0, route);
    // The key set was warmed before the run: the load is answered from the cache.
    assert.ok((json.result.xCache["HIT-L1"] ?? 0) > 0);
    for (const port of startedPorts(r.stderr)) assert.equal(await listening(port), false, `port ${port} still listening`);
  });

  it("on Ctrl-C (SIGINT) stops what it started and exits 130", async () => {
    const r = await runLoad(["--duration", "30", "--keys", "5", "--out", path.join(dir, "interrupted.json")], { interruptWhen: /loading http/ });
    assert.equal(r.code, 130, `exit ${r.code}\nstderr:\n${r.stderr}`);
    for (const port of startedPorts(r.stderr)) assert.equal(await listening(port), false, `port ${port} still listening`);
    assert.equal(fs.existsSync(path.join(dir, "interrupted.json")), false);
  });

  it("refuses an unknown flag with exit code 2 (bad input), starting nothing", async () => {
    const r = await runLoad(["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown argument "--bogus"/);
    assert.doesNotMatch(r.stderr, /started:/);
  });
});
