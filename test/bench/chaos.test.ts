/**
 * bench/chaos.ts (`npm run chaos`) checks itself: the verdicts on synthetic numbers (each one can
 * fail), the chart is well-formed XML, and short real runs: the real server through every phase
 * (every phase ran, one line per second, JSON and SVG written, exit code = verdicts), a deliberately
 * broken server (bench/chaos/broken-server.ts) that fails a must-not-fail rule in two ways (5xx on
 * cached keys, unanswered requests) and so exits 1, Ctrl-C in the middle of a frozen memcached, and
 * a bad flag. No timing is asserted: the machine is shared, the numbers are the run's business.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  DEFAULT_TARGETS,
  MissRecord,
  PHASES,
  PhaseCore,
  PhaseName,
  PhaseSummary,
  SecondSample,
  breakerView,
  exitCodeFor,
  judge,
  newKindCounts,
  percentile,
  phaseSpec,
  summarizeKind,
  withRatios,
  countAnswer,
} from "../../bench/chaos/model";
import { escapeXml, niceMax, renderChart } from "../../bench/chaos/svg";
import { LINE_HEADER, bulkheadLimit, parseChaosArgs } from "../../bench/chaos";

const REPO = path.resolve(__dirname, "..", "..");

// ---------------------------------------------------------------------------------------------
// A strict XML well-formedness check (no XML parser in the dependencies): one root, tags nested and
// closed, attributes quoted and not repeated, no raw "<" or stray "&" in text or attribute values.

function assertWellFormedXml(xml: string): { elements: Map<string, number>; ids: Set<string> } {
  const elements = new Map<string, number>();
  const ids = new Set<string>();
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  const entity = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
  const checkText = (text: string, where: number): void => {
    for (let k = 0; k < text.length; k++) {
      if (text[k] === "<") throw new Error(`raw < at ${where + k}`);
      if (text[k] === "&" && !entity.test(text.slice(k))) throw new Error(`stray & at ${where + k}: ${text.slice(k, k + 12)}`);
    }
  };
  if (xml.startsWith("<?xml")) i = xml.indexOf("?>") + 2;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim() !== "") throw new Error(`text outside the root at ${i}`);
    checkText(text, i);
    if (lt < 0) break;
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt);
      if (end < 0) throw new Error("unclosed comment");
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf(">", lt);
    if (gt < 0) throw new Error(`unclosed tag at ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at ${lt}`);
    } else {
      const selfClosing = tag.endsWith("/");
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w.:-]*)([\s\S]*)$/.exec(body);
      if (!m) throw new Error(`bad tag <${tag.slice(0, 30)}> at ${lt}`);
      const name = m[1];
      let rest = m[2];
      const seen = new Set<string>();
      const attr = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/;
      for (;;) {
        const a = attr.exec(rest);
        if (!a) break;
        if (seen.has(a[1])) throw new Error(`attribute ${a[1]} repeated in <${name}> at ${lt}`);
        seen.add(a[1]);
        const value = a[3] ?? a[4] ?? "";
        checkText(value, lt);
        if (a[1] === "id") {
          if (ids.has(value)) throw new Error(`id ${value} repeated`);
          ids.add(value);
        }
        rest = rest.slice(a[0].length);
      }
      if (rest.trim() !== "") throw new Error(`junk in <${name}>: ${rest.slice(0, 40)}`);
      if (stack.length === 0) roots += 1;
      elements.set(name, (elements.get(name) ?? 0) + 1);
      if (!selfClosing) stack.push(name);
    }
    i = gt + 1;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join("><")}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return { elements, ids };
}

// ---------------------------------------------------------------------------------------------
// Synthetic phases.

function kind(over: Partial<ReturnType<typeof summarizeKind>> = {}): ReturnType<typeof summarizeKind> {
  return { ...summarizeKind(newKindCounts(), 1), responses: 1000, "2xx": 1000, okPerSec: 1000, perSec: 1000, p50Ms: 2, p99Ms: 10, maxMs: 20, byStatus: { 200: 1000 }, ...over };
}

function phase(name: PhaseName, over: Partial<PhaseSummary> = {}): PhaseCore {
  const spec = phaseSpec(name);
  return {
    name,
    label: spec.label,
    group: spec.group,
    startS: 0,
    endS: 1,
    durationS: 1,
    actions: [],
    cached: kind(),
    miss: kind({ responses: 50, "2xx": 50, okPerSec: 50, perSec: 50, byStatus: { 200: 50 } }),
    clientErrors: 0,
    clientTimeouts: 0,
    upstream: { requests: 50, peakConcurrent: 3 },
    serverCpuCores: 0.5,
    loaderCpuCores: 0.3,
    breaker: { openedAfterMs: null, afterOpen: { misses: 0, breakerShare: null, breakerP99Ms: null, p99Ms: null, unanswered: 0 }, allOkFromMs: 0 },
    failuresInLaterFault: 0,
    ...over,
  };
}

/** A run that meets every target: the breaker opens at once and answers misses fast. */
function goodRun(): Array<PhaseCore> {
  const open = { openedAfterMs: 30, afterOpen: { misses: 400, breakerShare: 1, breakerP99Ms: 3, p99Ms: 3, unanswered: 0 }, allOkFromMs: null };
  const shed = kind({ responses: 400, "2xx": 0, "5xx": 400, okPerSec: 0, byStatus: { 503: 400 }, breakerAnswers: 400, p99Ms: 3 });
  return PHASES.map((p) => {
    if (p.name === "upstream-fail" || p.name === "upstream-hang") return phase(p.name, { miss: shed, breaker: open });
    if (p.name === "recovery") return phase(p.name, { breaker: { ...open, allOkFromMs: 1200 } });
    return phase(p.name);
  });
}

const verdictOf = (vs: ReturnType<typeof judge>, id: string): ReturnType<typeof judge>[number] => {
  const v = vs.find((x) => x.id === id);
  assert.ok(v, `no verdict ${id} in ${vs.map((x) => x.id).join(", ")}`);
  return v;
};

describe("bench/chaos model: verdicts against issue 12's targets", () => {
  it("a run that meets every target passes, with exit code 0", () => {
    const vs = judge(withRatios(goodRun()), { ...DEFAULT_TARGETS, upstreamConcurrencyLimit: 32 });
    assert.deepEqual(vs.filter((v) => v.pass === false), []);
    assert.equal(exitCodeFor(vs), 0);
    for (const id of ["no-client-errors", "no-5xx-cached", "memcached-zero-failed:mc-kill", "cached-throughput:upstream-hang", "breaker-fast-miss:upstream-fail", "breaker-closes:recovery", "upstream-concurrency"]) {
      assert.equal(verdictOf(vs, id).pass, true, id);
    }
  });

  it("each must-not-fail rule can fail, and then the exit code is 1", () => {
    const cases: Array<[string, (run: Array<PhaseCore>) => void, string[]]> = [
      ["a cached-key 5xx", (run) => { run[1].cached = kind({ "2xx": 999, "5xx": 1, byStatus: { 200: 999, 502: 1 } }); }, ["no-5xx-cached"]],
      ["a client timeout", (run) => { run[0].clientTimeouts = 1; }, ["no-client-errors", "healthy-zero-failed:baseline"]],
      ["a request never answered", (run) => { run[7].miss = kind({ unanswered: 1 }); }, ["no-client-errors", "memcached-zero-failed:mc-freeze"]],
      ["a miss failing while memcached is down", (run) => { run[5].miss = kind({ "2xx": 999, "5xx": 1, byStatus: { 200: 999, 502: 1 } }); }, ["memcached-zero-failed:mc-kill"]],
      ["cached throughput at 79 % while the upstream hangs", (run) => { run[3].cached = kind({ okPerSec: 790 }); }, ["cached-throughput:upstream-hang"]],
      ["cached p99 of 50 ms while the upstream fails", (run) => { run[1].cached = kind({ p99Ms: 50 }); }, ["cached-p99:upstream-fail"]],
      ["a breaker that never opens", (run) => { run[3].breaker = { openedAfterMs: null, afterOpen: { misses: 0, breakerShare: null, breakerP99Ms: null, p99Ms: null, unanswered: 0 }, allOkFromMs: null }; }, ["breaker-fast-miss:upstream-hang"]],
      ["open-breaker answers at p99 20 ms", (run) => { run[1].breaker = { openedAfterMs: 5, afterOpen: { misses: 100, breakerShare: 1, breakerP99Ms: 20, p99Ms: 20, unanswered: 0 }, allOkFromMs: null }; }, ["breaker-fast-miss:upstream-fail"]],
      ["only 98 % of the misses answered by the open breaker", (run) => { run[1].breaker = { openedAfterMs: 5, afterOpen: { misses: 100, breakerShare: 0.98, breakerP99Ms: 2, p99Ms: 3000, unanswered: 0 }, allOkFromMs: null }; }, ["breaker-fast-miss:upstream-fail"]],
      ["a miss timing out after the breaker opened", (run) => { run[3].breaker = { openedAfterMs: 5, afterOpen: { misses: 100, breakerShare: 1, breakerP99Ms: 2, p99Ms: 2, unanswered: 1 }, allOkFromMs: null }; }, ["breaker-fast-miss:upstream-hang"]],
      ["a crash answer (500) to a miss", (run) => { run[1].miss = kind({ "2xx": 0, "5xx": 10, unclean: 10, byStatus: { 500: 10 } }); }, ["miss-clean:upstream-fail"]],
      ["a breaker still open 6 s after recovery", (run) => { run[4].breaker = { ...run[4].breaker, allOkFromMs: 6000 }; }, ["breaker-closes:recovery"]],
      ["the upstream seeing 33 concurrent requests with a limit of 32", (run) => { run[3].upstream = { requests: 33, peakConcurrent: 33 }; }, ["upstream-concurrency"]],
    ];
    for (const [what, mutate, expected] of cases) {
      const run = goodRun();
      mutate(run);
      const vs = judge(withRatios(run), { ...DEFAULT_TARGETS, upstreamConcurrencyLimit: 32 });
      const failed = vs.filter((v) => v.pass === false).map((v) => v.id).sort();
      assert.deepEqual(failed, [...expected].sort(), what);
      assert.equal(exitCodeFor(vs), 1, what);
    }
    assert.equal(verdictOf(judge(withRatios(goodRun()), DEFAULT_TARGETS, "code 1, signal null"), "server-alive").pass, false);
  });

  it("a failure of a request sent before the upstream fault began is charged to the fault, not to the healthy phase", () => {
    const run = goodRun();
    run[0].miss = kind({ responses: 50, "2xx": 48, "5xx": 2, byStatus: { 200: 48, 502: 2 } });
    run[0].failuresInLaterFault = 2;
    assert.equal(verdictOf(judge(withRatios(run), DEFAULT_TARGETS), "healthy-zero-failed:baseline").pass, true);
    run[0].failuresInLaterFault = 1;
    assert.equal(verdictOf(judge(withRatios(run), DEFAULT_TARGETS), "healthy-zero-failed:baseline").pass, false);
  });

  it("throughput is judged on the median second: a stall followed by a catch-up burst does not average out to a pass", () => {
    const run = goodRun();
    const sample = (t: number, name: PhaseName, ok: number): SecondSample => ({
      t, phase: name, cached: kind({ "2xx": ok }), miss: kind(), clientErrors: 0, clientTimeouts: 0, upstream: { requests: 0, peakConcurrent: 0 }, serverCpuCores: null, loaderCpuCores: null,
    });
    const series = [
      ...[1000, 1100, 900, 1000].map((ok, i) => sample(i, "baseline", ok)),
      ...[0, 0, 0, 0, 3000, 3000].map((ok, i) => sample(10 + i, "upstream-hang", ok)),
      ...[850, 820, 900].map((ok, i) => sample(20 + i, "upstream-fail", ok)),
    ];
    const phases = withRatios(run, series);
    const hang = phases.find((p) => p.name === "upstream-hang");
    assert.equal(hang?.cachedThroughputRatioMean, 1, "the phase means see no loss");
    assert.equal(hang?.cachedThroughputRatio, 0);
    assert.deepEqual(hang?.cachedPerSecond, { median: 0, worst: 0, seconds: 6 });
    const vs = judge(phases, DEFAULT_TARGETS);
    assert.equal(verdictOf(vs, "cached-throughput:upstream-hang").pass, false);
    assert.equal(verdictOf(vs, "cached-throughput:upstream-fail").pass, true, "850 of a 1000 median: 85 %");
  });

  it("throughput is a ratio within the run; without a bulkhead limit or a baseline nothing is made up", () => {
    const run = goodRun().filter((p) => p.name !== "baseline");
    const vs = judge(withRatios(run), DEFAULT_TARGETS);
    assert.equal(verdictOf(vs, "cached-throughput:upstream-hang").pass, null);
    assert.equal(verdictOf(vs, "upstream-concurrency").pass, null);
    assert.equal(verdictOf(vs, "cached-throughput:upstream-slow").pass, null);
  });

  it("breakerView: opening time, share and p99 of the misses sent after it; when every miss succeeds again", () => {
    const misses: MissRecord[] = [
      { sentMs: 0, latencyMs: 3000, status: 504, breaker: false, ok: false },
      { sentMs: 10, latencyMs: 3000, status: 504, breaker: false, ok: false },
      { sentMs: 3100, latencyMs: 2, status: 503, breaker: true, ok: false },
      { sentMs: 3200, latencyMs: 4, status: 503, breaker: true, ok: false },
      { sentMs: 4000, latencyMs: 3000, status: 504, breaker: false, ok: false },
      { sentMs: 5000, latencyMs: 30, status: 200, breaker: false, ok: true },
    ];
    const b = breakerView(misses, () => 0);
    assert.equal(b.openedAfterMs, 3102); // the first breaker answer came back at 3100 + 2
    assert.equal(b.afterOpen.misses, 3);
    assert.equal(b.afterOpen.breakerShare, 0.3333);
    assert.equal(b.afterOpen.breakerP99Ms, 4);
    assert.equal(b.afterOpen.p99Ms, 3000);
    assert.equal(b.allOkFromMs, 5000);
    assert.equal(breakerView(misses.slice(0, 5), () => 0).allOkFromMs, null);
    assert.equal(breakerView([], () => 0).openedAfterMs, null);
  });

  it("breakerView: a miss that waited for the breaker to open (queued behind hung calls) does not count as answered once it was open", () => {
    const misses: MissRecord[] = [
      // Sent 1 ms into the hang, answered by the breaker only when it opened, 1 s later.
      { sentMs: 1, latencyMs: 1010, status: 503, breaker: true, ok: false },
      { sentMs: 500, latencyMs: 511, status: 503, breaker: true, ok: false },
      { sentMs: 1020, latencyMs: 3, status: 503, breaker: true, ok: false },
      { sentMs: 1100, latencyMs: 5, status: 503, breaker: true, ok: false },
    ];
    const b = breakerView(misses, () => 0);
    assert.equal(b.openedAfterMs, 1011);
    assert.equal(b.afterOpen.misses, 2);
    assert.equal(b.afterOpen.breakerP99Ms, 5);
  });

  it("counts answers: breaker answers are 503 + Retry-After or STALE; unclean = non-2xx without our JSON error", () => {
    const c = newKindCounts();
    countAnswer(c, { kind: "miss", status: 503, latencyMs: 1, retryAfter: true, jsonError: true });
    countAnswer(c, { kind: "miss", status: 503, latencyMs: 1, retryAfter: false, jsonError: true });
    countAnswer(c, { kind: "miss", status: 200, latencyMs: 1, xCache: "STALE", retryAfter: false, jsonError: false });
    countAnswer(c, { kind: "miss", status: 500, latencyMs: 1, retryAfter: false, jsonError: true });
    countAnswer(c, { kind: "miss", status: 502, latencyMs: 1, retryAfter: false, jsonError: false });
    assert.equal(c.breakerAnswers, 2);
    assert.equal(c.unclean, 2);
    assert.equal(c["5xx"], 4);
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
    assert.ok(Number.isNaN(percentile([], 99)));
  });

  it("the chart of a synthetic run is well-formed XML with every series, phase and a failure mark", () => {
    const phases = withRatios(goodRun());
    const series: SecondSample[] = phases.map((p, t) => ({
      t,
      phase: p.name,
      cached: kind({ "5xx": t === 1 ? 3 : 0 }),
      miss: kind({ byStatus: { 200: 40, 503: 10 }, "5xx": 10 }),
      clientErrors: 0,
      clientTimeouts: t === 2 ? 1 : 0,
      upstream: { requests: 10, peakConcurrent: 2 },
      serverCpuCores: 0.5,
      loaderCpuCores: 0.3,
    }));
    const vs = judge(phases, DEFAULT_TARGETS);
    const svg = renderChart({
      date: "2026-01-01T00:00:00Z",
      settings: { connections: 8, warmKeys: 100, missRatio: 0.05, phaseSeconds: 1, server: "app/main.ts <&>" },
      targets: DEFAULT_TARGETS,
      series,
      phases,
      verdicts: vs,
      events: [{ t: 3, phase: "upstream-hang", what: "server: breaker opened & <shed>" }],
      result: "fail",
    });
    const { elements, ids } = assertWellFormedXml(svg);
    for (const id of ["series-cached-throughput", "series-miss-throughput", "series-cached-p99", "series-miss-p99", "series-failures", "phases", "marks-failures", "legend", "events"]) assert.ok(ids.has(id), id);
    for (const p of PHASES) assert.match(svg, new RegExp(`data-phase="${p.name}"`));
    assert.equal((svg.match(/class="failure-mark"/g) ?? []).length, 2);
    assert.ok((elements.get("polyline") ?? 0) >= 4);
    assert.equal(escapeXml(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    assert.equal(niceMax(7758), 10000);
    assert.equal(niceMax(420), 500);
  });

  it("the XML check itself rejects what is not well-formed", () => {
    assert.throws(() => assertWellFormedXml("<a><b></a></b>"));
    assert.throws(() => assertWellFormedXml("<a x='1' x='2'/>"));
    assert.throws(() => assertWellFormedXml("<a>1 & 2</a>"));
    assert.throws(() => assertWellFormedXml("<a/><b/>"));
    assertWellFormedXml(`<?xml version="1.0"?><a x="&amp;"><b/>t&lt;</a>`);
  });

  it("parses flags; refuses unknown ones and unknown phases", () => {
    const a = parseChaosArgs(["--duration", "3", "--connections=4", "--phases", "mc-kill,baseline", "--server-env", "A=b=c", "--upstream-limit", "8"]);
    assert.equal(a.duration, 3);
    assert.equal(a.connections, 4);
    assert.deepEqual(a.phases, ["baseline", "mc-kill"]);
    assert.deepEqual(a.serverEnv, { A: "b=c" });
    assert.equal(a.upstreamLimit, 8);
    assert.throws(() => parseChaosArgs(["--bogus"]), /unknown argument "--bogus"/);
    assert.throws(() => parseChaosArgs(["--phases", "baseline,nope"]), /unknown phase nope/);
    assert.throws(() => parseChaosArgs(["--miss-ratio", "2"]), /--miss-ratio/);
    assert.throws(() => parseChaosArgs(["--client-timeout", "0.5"]), /--client-timeout/);
  });

  it("the bulkhead limit judged: the flag wins; a server without a cache library next to it is not judged", () => {
    assert.deepEqual(bulkheadLimit(7, {}, "app/main.ts"), { limit: 7, source: "--upstream-limit" });
    assert.equal(bulkheadLimit(undefined, {}, "bench/chaos/broken-server.ts").limit, undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// Real runs (started together in before(): together they take about as long as the longest).

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function runChaos(args: string[], opts: { interruptWhen?: RegExp; killAfterMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "bench/chaos.ts", ...args], {
      cwd: REPO,
      env: { ...process.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    const maybeInterrupt = (): void => {
      if (opts.interruptWhen && !interrupted && opts.interruptWhen.test(stdout + stderr)) {
        interrupted = true;
        proc.kill("SIGINT");
      }
    };
    proc.stdout.on("data", (d: Buffer) => { stdout += d.toString(); maybeInterrupt(); });
    proc.stderr.on("data", (d: Buffer) => { stderr += d.toString(); maybeInterrupt(); });
    const guard = setTimeout(() => proc.kill("SIGKILL"), opts.killAfterMs ?? 80000);
    proc.once("error", reject);
    proc.once("exit", (code, signal) => { clearTimeout(guard); resolve({ code, signal, stdout, stderr }); });
  });
}

interface Started { ports: number[]; pids: number[] }

function started(stderr: string): Started {
  const m = /started: memcached A [\d.]+:(\d+) \(pid (\d+)\), memcached B [\d.]+:(\d+) \(pid (\d+)\), upstream http:\/\/[\d.]+:(\d+), server http:\/\/[\d.]+:(\d+) \(pid (\d+)\)/.exec(stderr);
  assert.ok(m, `no "started:" line in:\n${stderr}`);
  return { ports: [m[1], m[3], m[5], m[6]].map(Number), pids: [m[2], m[4], m[7]].map(Number) };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function assertNothingLeft(run: Run): Promise<void> {
  const s = started(run.stderr);
  for (const port of s.ports) assert.equal(await listening(port), false, `port ${port} still listening`);
  for (const pid of s.pids) assert.equal(alive(pid), false, `pid ${pid} still running`);
}

interface ChaosJson {
  series: SecondSample[];
  phases: PhaseSummary[];
  verdicts: Array<{ id: string; pass: boolean | null; measured: string }>;
  exitCode: number;
  result: string;
  settings: { phases: string[] };
}

describe("bench/chaos.ts (npm run chaos), short real runs", function () {
  this.timeout(90000);
  let dir: string;
  let real: Promise<Run>;
  let broken5xx: Promise<Run>;
  let brokenHang: Promise<Run>;
  let interrupted: Promise<Run>;
  let badFlag: Promise<Run>;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-test-"));
    real = runChaos(["--duration", "2", "--connections", "8", "--keys", "50", "--out", path.join(dir, "real.json")]);
    const brokenArgs = ["--server", "bench/chaos/broken-server.ts", "--phases", "baseline,mc-kill", "--duration", "2", "--connections", "4", "--keys", "10"];
    broken5xx = runChaos([...brokenArgs, "--out", path.join(dir, "broken-5xx.json")]);
    brokenHang = runChaos([...brokenArgs, "--server-env", "BROKEN_MODE=hang", "--client-timeout", "1", "--out", path.join(dir, "broken-hang.json")]);
    interrupted = runChaos(["--phases", "mc-freeze", "--duration", "30", "--connections", "4", "--keys", "10", "--out", path.join(dir, "interrupted.json")], { interruptWhen: /memcached B frozen/ });
    badFlag = runChaos(["--bogus"]);
  });
  after(async () => {
    await Promise.allSettled([real, broken5xx, brokenHang, interrupted, badFlag]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the real server: every phase runs, one line per second, JSON + SVG written, exit code = verdicts, nothing left running", async () => {
    const r = await real;
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "real.json"), "utf8")) as ChaosJson;
    // Every phase ran, in order, after the lead-in.
    assert.deepEqual(json.phases.map((p) => p.name), ["lead-in", ...PHASES.map((p) => p.name)]);
    assert.deepEqual(json.settings.phases, PHASES.map((p) => p.name));
    // Per-second series: consecutive seconds, each phase at least its duration, load in each.
    assert.deepEqual(json.series.map((s) => s.t), json.series.map((_, i) => i));
    for (const p of json.phases) {
      const seconds = json.series.filter((s) => s.phase === p.name);
      assert.ok(seconds.length >= 2, `${p.name}: ${seconds.length} seconds`);
      assert.ok(p.cached.responses + p.miss.responses > 0, `${p.name}: no requests`);
      for (const s of seconds) {
        for (const k of ["cached", "miss"] as const) for (const f of ["responses", "2xx", "4xx", "5xx", "p99Ms"] as const) assert.ok(f in s[k], `${p.name} t=${s.t} ${k}.${f}`);
        assert.equal(typeof s.clientErrors, "number");
        assert.equal(typeof s.upstream.peakConcurrent, "number");
      }
    }
    assert.equal(json.phases.find((p) => p.name === "recovery")?.durationS !== undefined, true);
    // The printed timeline: the header and one line per second.
    assert.ok(r.stdout.includes(LINE_HEADER));
    const lines = r.stdout.split("\n").filter((l) => /^\s+\d+ (lead-in|baseline|upstream-|recovery|mc-)/.test(l));
    assert.equal(lines.length, json.series.length);
    assert.match(r.stdout, /memcached A killed \(SIGKILL pid \d+\)/);
    assert.match(r.stdout, /memcached B frozen \(SIGSTOP pid \d+\)/);
    assert.match(r.stdout, /upstream hanging/);
    // Verdicts and exit code agree.
    for (const id of ["no-client-errors", "no-5xx-cached", "memcached-zero-failed:mc-kill", "memcached-zero-failed:mc-freeze", "cached-throughput:upstream-hang", "breaker-fast-miss:upstream-fail", "breaker-closes:recovery"]) {
      assert.ok(json.verdicts.some((v) => v.id === id), id);
    }
    const anyFailed = json.verdicts.some((v) => v.pass === false);
    assert.equal(json.exitCode, anyFailed ? 1 : 0);
    assert.equal(r.code, json.exitCode);
    // The chart.
    const svg = fs.readFileSync(path.join(dir, "real.svg"), "utf8");
    const { ids } = assertWellFormedXml(svg);
    for (const id of ["series-cached-throughput", "series-miss-throughput", "series-cached-p99", "series-miss-p99", "series-failures", "phases"]) assert.ok(ids.has(id), id);
    for (const p of json.phases) assert.match(svg, new RegExp(`data-phase="${p.name}"`));
    await assertNothingLeft(r);
  });

  it("a broken server answering 500 once memcached is down: the must-not-fail verdicts fail and it exits 1", async () => {
    const r = await broken5xx;
    assert.equal(r.code, 1, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "broken-5xx.json"), "utf8")) as ChaosJson;
    const pass = (id: string): boolean | null | undefined => json.verdicts.find((v) => v.id === id)?.pass;
    assert.equal(pass("healthy-zero-failed:baseline"), true, "the broken server behaves while memcached is up");
    assert.equal(pass("memcached-zero-failed:mc-kill"), false);
    assert.equal(pass("no-5xx-cached"), false);
    assert.ok((json.phases.find((p) => p.name === "mc-kill")?.cached["5xx"] ?? 0) > 0);
    assert.match(r.stdout, /FAIL\s+no-5xx-cached/);
    assert.ok(fs.existsSync(path.join(dir, "broken-5xx.svg")));
    await assertNothingLeft(r);
  });

  it("a broken server that stops answering: timeouts are counted as unanswered requests and it exits 1", async () => {
    const r = await brokenHang;
    assert.equal(r.code, 1, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "broken-hang.json"), "utf8")) as ChaosJson;
    const kill = json.phases.find((p) => p.name === "mc-kill");
    assert.ok(kill);
    assert.ok(kill.clientTimeouts > 0, "timeouts");
    assert.ok(kill.cached.unanswered + kill.miss.unanswered > 0, "unanswered");
    assert.equal(json.verdicts.find((v) => v.id === "no-client-errors")?.pass, false);
    assert.equal(json.verdicts.find((v) => v.id === "memcached-zero-failed:mc-kill")?.pass, false);
    await assertNothingLeft(r);
  });

  it("Ctrl-C while a memcached node is frozen: everything started is stopped (the frozen node too), exit 130", async () => {
    const r = await interrupted;
    assert.equal(r.code, 130, `exit ${r.code}\nstderr:\n${r.stderr}`);
    await assertNothingLeft(r);
    assert.equal(fs.existsSync(path.join(dir, "interrupted.json")), false);
  });

  it("an unknown flag: exit 2, nothing started", async () => {
    const r = await badFlag;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown argument "--bogus"/);
    assert.doesNotMatch(r.stderr, /started:/);
  });
});
