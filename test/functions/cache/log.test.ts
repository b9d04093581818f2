/** The project's one JSON-lines logger (functions/cache/log.ts) and the EMF writer the cache Lambda uses. */
import * as assert from "node:assert/strict";
import { createJsonLog, logEnabled, logThreshold } from "../../../functions/cache/log";
import { METRIC, createEmfMetrics } from "../../../functions/cache/telemetry";
import { lambdaTelemetry } from "../../../functions/cacheHandler";

describe("shared JSON-lines logger", () => {
  const saved = { ...process.env };
  const consoleSaved = { log: console.log, warn: console.warn, error: console.error };
  let out: { via: string; line: string }[] = [];
  beforeEach(() => {
    out = [];
    console.log = (l: string) => { out.push({ via: "log", line: l }); };
    console.warn = (l: string) => { out.push({ via: "warn", line: l }); };
    console.error = (l: string) => { out.push({ via: "error", line: l }); };
  });
  afterEach(() => {
    Object.assign(console, consoleSaved);
    process.env = { ...saved };
  });

  it("writes {level, message, timestamp, service, ...fields} with the level's console method", () => {
    delete process.env.AWS_LAMBDA_LOG_LEVEL;
    process.env.LOG_LEVEL = "debug";
    const log = createJsonLog("svc");
    log("info", "hello", { a: 1 });
    log("warn", "careful");
    log("error", "boom");
    assert.deepEqual(out.map((o) => o.via), ["log", "warn", "error"]);
    const first = JSON.parse(out[0].line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(first), ["level", "message", "timestamp", "service", "a"]);
    assert.equal(first.level, "INFO");
    assert.equal(first.service, "svc");
    assert.ok(!Number.isNaN(Date.parse(first.timestamp as string)));
  });

  it("threshold: the stricter of AWS_LAMBDA_LOG_LEVEL and LOG_LEVEL, default warn", () => {
    assert.equal(logThreshold({}), undefined);
    assert.equal(logThreshold({ AWS_LAMBDA_LOG_LEVEL: "INFO" }), "info");
    assert.equal(logThreshold({ AWS_LAMBDA_LOG_LEVEL: "INFO", LOG_LEVEL: "silent" }), "silent");
    assert.equal(logThreshold({ AWS_LAMBDA_LOG_LEVEL: "WARN", LOG_LEVEL: "debug" }), "warn");
    assert.equal(logThreshold({ AWS_LAMBDA_LOG_LEVEL: "bogus", LOG_LEVEL: "error" }), "error");
    assert.equal(logEnabled("info", logThreshold({ AWS_LAMBDA_LOG_LEVEL: "TRACE" })), true);
    delete process.env.LOG_LEVEL;
    process.env.AWS_LAMBDA_LOG_LEVEL = "WARN";
    const log = createJsonLog("svc");
    log("info", "dropped");
    log("warn", "kept");
    assert.equal(out.length, 1);
  });

  it("EMF: counts are summed, other units keep every value; Infinity interval writes only on flush", () => {
    const lines: string[] = [];
    const emf = createEmfMetrics({ namespace: "ServerlessCache", dimensions: { service: "cache-handler" }, names: Object.values(METRIC), intervalMs: Number.POSITIVE_INFINITY, write: (l) => lines.push(l), clock: () => 5 });
    emf.addMetric(METRIC.miss, "Count", 1);
    emf.addMetric(METRIC.miss, "Count", 1);
    emf.addMetric(METRIC.upstreamLatency, "Milliseconds", 10);
    emf.addMetric(METRIC.upstreamLatency, "Milliseconds", 30);
    assert.equal(lines.length, 0);
    emf.flush();
    const line = JSON.parse(lines[0]) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } };
    assert.equal(line._aws.CloudWatchMetrics[0].Namespace, "ServerlessCache");
    assert.deepEqual(line._aws.CloudWatchMetrics[0].Dimensions, [["service"]]);
    assert.equal(line.service, "cache-handler");
    assert.equal(line[METRIC.miss], 2);
    assert.deepEqual(line[METRIC.upstreamLatency], [10, 30]);
  });

  it("lambdaTelemetry: CACHE_METRICS=off leaves metrics out", () => {
    assert.equal(lambdaTelemetry("cache-handler", { CACHE_METRICS: "off" }).metrics, undefined);
    assert.ok(lambdaTelemetry("cache-handler", {}).metrics);
  });
});
