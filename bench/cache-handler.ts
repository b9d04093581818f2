/**
 * Latency of the serialized cache Lambda (the archive CallbackFunction produces for the dev stack),
 * invoked in-process against a real memcached and a local upstream on loopback:
 * MISS (upstream + store), HIT-L2 (memcached, from a second environment) and HIT-L1.
 * Run: npm run bench:handler   Writes bench/results/cache-handler.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { extractLambdaArchive } from "../test/support/lambdaArchive";
import { startMemcached } from "../test/support/memcached";
import { runProgram } from "../test/support/program";
import { startUpstream } from "../test/support/upstream";

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; headers: Record<string, string> }>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const N = Number(process.env.BENCH_N ?? 2000);
  const run = await runProgram("dev");
  const fn = run.one("aws:lambda/function:Function", "cache-handler");
  const lambda = await extractLambdaArchive(fn.inputs.code);
  const memcached = await startMemcached();
  const upstream = await startUpstream({ body: JSON.stringify({ id: 1, title: "x".repeat(900) }) });
  const env = fn.inputs.environment.variables as Record<string, string>;
  Object.assign(process.env, env, {
    MEMCACHED_SERVERS: memcached.address,
    MEMCACHED_CONFIG_ENDPOINT: memcached.address,
    UPSTREAM_URL: upstream.url,
    POWERTOOLS_METRICS_DISABLED: "true",
    POWERTOOLS_LOG_LEVEL: "ERROR",
  });
  const context = { getRemainingTimeInMillis: () => 10_000 };
  const first = lambda.load<Handler>();
  const second = lambda.load<Handler>(); // another execution environment: its own L1
  const time = async (h: Handler, i: number, expect: string): Promise<number> => {
    const t = process.hrtime.bigint();
    const res = await h({ httpMethod: "GET", path: `/items/${i}` }, context);
    const us = Number(process.hrtime.bigint() - t) / 1000;
    if (res.headers["x-cache"] !== expect) throw new Error(`expected ${expect}, got ${res.headers["x-cache"]}`);
    return us;
  };
  for (let i = 0; i < 200; i++) await time(first, 1_000_000 + i, "MISS"); // warm-up (JIT, connections)
  const results: Record<string, { p50: number; p99: number; n: number }> = {};
  const record = (label: string, samples: number[]): void => {
    const s = samples.sort((a, b) => a - b);
    results[label] = { p50: Math.round(percentile(s, 50)), p99: Math.round(percentile(s, 99)), n: s.length };
  };
  const miss: number[] = [];
  for (let i = 0; i < N; i++) miss.push(await time(first, i, "MISS"));
  record("MISS (upstream + memcached set)", miss);
  const l2: number[] = [];
  await time(second, 1_000_000, "HIT-L2");
  for (let i = 0; i < N; i++) l2.push(await time(second, i, "HIT-L2"));
  record("HIT-L2 (memcached)", l2);
  const l1: number[] = [];
  for (let i = 0; i < N; i++) l1.push(await time(first, N - 1 - (i % 500), "HIT-L1")); // the last 500 stored: inside L1's 1000-entry bound
  record("HIT-L1 (in-process)", l1);

  console.log(`serialized cache handler (dev archive), ${N} requests each, 940-byte JSON, loopback memcached + upstream`);
  console.log("| path | p50 µs | p99 µs |\n| --- | ---: | ---: |");
  for (const [label, r] of Object.entries(results)) console.log(`| ${label} | ${r.p50} | ${r.p99} |`);
  const out = path.join(__dirname, "results", "cache-handler.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2) + "\n");
  await memcached.stop();
  await upstream.close();
  lambda.remove();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
