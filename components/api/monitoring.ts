import * as aws from "@pulumi/aws";
import { sumOf, sumsAlarm } from "../alarms";
import type { ApiContext } from "./settings";

/** Dashboard on the stage's metrics (dimensions ApiName + Stage): cache, latency, requests and errors. */
export function createDashboard({ name, settings: { stageName }, apiName, child, region }: ApiContext): aws.cloudwatch.Dashboard {
  const metric = (m: string): string[] => ["AWS/ApiGateway", m, "ApiName", apiName, "Stage", stageName];
  return new aws.cloudwatch.Dashboard(`${name}-dashboard`, {
    dashboardName: `${apiName}-${stageName}`.replace(/[^A-Za-z0-9_-]/g, "-"),
    dashboardBody: region.apply((r) => JSON.stringify({
      widgets: [
        { type: "metric", x: 0, y: 0, width: 12, height: 6, properties: {
          title: "Cache hits / misses", region: r, stat: "Sum", period: 300, view: "timeSeries",
          metrics: [metric("CacheHitCount"), metric("CacheMissCount")],
        } },
        { type: "metric", x: 12, y: 0, width: 12, height: 6, properties: {
          title: "Cache hit ratio (%)", region: r, period: 300, view: "timeSeries", yAxis: { left: { min: 0, max: 100 } },
          metrics: [
            [{ expression: "100 * h / (h + m)", label: "hit ratio", id: "ratio" }],
            [...metric("CacheHitCount"), { id: "h", stat: "Sum", visible: false }],
            [...metric("CacheMissCount"), { id: "m", stat: "Sum", visible: false }],
          ],
        } },
        { type: "metric", x: 0, y: 6, width: 12, height: 6, properties: {
          title: "Latency (ms)", region: r, period: 300, view: "timeSeries",
          metrics: [
            [...metric("Latency"), { stat: "p50" }], [...metric("Latency"), { stat: "p99" }],
            [...metric("IntegrationLatency"), { stat: "p50" }], [...metric("IntegrationLatency"), { stat: "p99" }],
          ],
        } },
        { type: "metric", x: 12, y: 6, width: 12, height: 6, properties: {
          title: "Requests and errors", region: r, stat: "Sum", period: 300, view: "timeSeries",
          metrics: [metric("Count"), metric("4XXError"), metric("5XXError")],
        } },
      ],
    })),
  }, child);
}

/** Alarms on the stage's metrics: cache hit ratio too low, 5xx rate too high (each with a traffic floor). */
export function createAlarms({ name, args, settings, apiName, tags, child }: ApiContext): { hitRatioAlarm: aws.cloudwatch.MetricAlarm; errorRateAlarm: aws.cloudwatch.MetricAlarm } {
  const { stageName } = settings;
  const dims = { ApiName: apiName, Stage: stageName };
  const { minRatio, minCacheable, max5xx, min5xxRequests } = settings.alarms;
  const actions = args.alarms?.actions ?? [];
  const sum = (id: string, metricName: string) => sumOf(id, "AWS/ApiGateway", metricName, dims, 300);
  const hitRatioAlarm = sumsAlarm(`${name}-cache-hit-ratio`, {
    alarmName: `${apiName}-${stageName}-cache-hit-ratio-low`,
    description: `Cache hit ratio of ${apiName}/${stageName} below ${minRatio}% with at least ${minCacheable} cacheable requests in 5 minutes: backend load is rising.`,
    when: { op: "<", threshold: minRatio, datapoints: 3, periods: 3 },
    sums: [sum("hits", "CacheHitCount"), sum("misses", "CacheMissCount")],
    // Too little traffic yields 100 (never breaching): a handful of misses is not an incident. A zero
    // count may go unreported (a cold cache has no hits): FILL reads it as 0, not as no data.
    result: { id: "ratio", label: "cache hit ratio (%)", expression: `IF((FILL(hits, 0) + FILL(misses, 0)) >= ${minCacheable}, 100 * FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0)), 100)` },
    alarmActions: actions,
    tags,
  }, child);
  const errorRateAlarm = sumsAlarm(`${name}-5xx-rate`, {
    alarmName: `${apiName}-${stageName}-5xx-rate-high`,
    description: `More than ${max5xx}% of requests to ${apiName}/${stageName} answered 5xx (at least ${min5xxRequests} requests in 5 minutes).`,
    when: { op: ">", threshold: max5xx, datapoints: 2, periods: 2 },
    sums: [sum("errors", "5XXError"), sum("requests", "Count")],
    result: { id: "rate", label: "5xx rate (%)", expression: `IF(FILL(requests, 0) >= ${min5xxRequests}, 100 * FILL(errors, 0) / FILL(requests, 0), 0)` },
    alarmActions: actions,
    tags,
  }, child);
  return { hitRatioAlarm, errorRateAlarm };
}
