/**
 * The chaos run's timeline as an SVG, written by hand (polylines, rectangles, text; no chart
 * library). Three panels over the same time axis:
 *
 *   1. throughput: cached-key 2xx/s and miss answers/s; a dashed line at the target share of the
 *      baseline's cached throughput; red ticks under the panel mark seconds with a must-not-fail
 *      failure (a 5xx on a cached key, a client error or timeout);
 *   2. p99 latency (log scale) of cached keys and of misses, with the 50 ms / 20 ms targets;
 *   3. failures per second, stacked: cached-key 5xx, miss 503 (breaker), other miss 5xx, client
 *      errors + timeouts.
 *
 * Phases are shaded (green: every judged target met, red: one violated, grey: nothing judged) and
 * labelled with a ✓ / ✗. Every element carries a <title> a browser shows on hover. Pure function.
 */
import type { PhaseSummary, SecondSample, Targets, Verdict } from "./model";

export interface ChartInput {
  date: string;
  machine?: { cpus?: number; busy?: boolean; loadAvg1m?: { start: number; end: number } };
  settings: { connections: number; warmKeys: number; missRatio: number; phaseSeconds: number; server: string };
  targets: Targets;
  series: SecondSample[];
  phases: PhaseSummary[];
  verdicts: Verdict[];
  events: Array<{ t: number; phase: string; what: string }>;
  result: string;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

const W = 1120;
const H = 700;
const L = 72; // plot left
const R = 900; // plot right
const COLORS = {
  cached: "#1f6fb4",
  miss: "#e8780c",
  cached5xx: "#d0201c",
  breaker: "#8e5bc2",
  miss5xx: "#9a5b2b",
  errors: "#111111",
  pass: "#e3f4e1",
  fail: "#fbe0de",
  none: "#f0f0f0",
  grid: "#d9d9d9",
  text: "#222222",
  muted: "#666666",
};

const f = (x: number): string => (Math.round(x * 10) / 10).toString();

/** A "nice" upper bound for an axis: 1, 2, 2.5, 5 × 10^k at or above `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function polyline(points: Array<[number, number] | null>, color: string, width: number, dash?: string, title?: string): string {
  // Split at gaps (null) so a missing value does not draw a line across it.
  const runs: string[] = [];
  let cur: string[] = [];
  for (const p of points) {
    if (p === null) {
      if (cur.length) runs.push(cur.join(" "));
      cur = [];
    } else cur.push(`${f(p[0])},${f(p[1])}`);
  }
  if (cur.length) runs.push(cur.join(" "));
  return runs
    .map((pts) => {
      const single = !pts.includes(" ");
      if (single) {
        const [x, y] = pts.split(",");
        return `<circle cx="${x}" cy="${y}" r="2" fill="${color}">${title ? `<title>${escapeXml(title)}</title>` : ""}</circle>`;
      }
      return `<polyline fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${pts}">${title ? `<title>${escapeXml(title)}</title>` : ""}</polyline>`;
    })
    .join("\n");
}

export function renderChart(input: ChartInput): string {
  const series = input.series;
  const tMax = Math.max(1, series.length);
  const x = (t: number): number => L + ((R - L) * t) / tMax;
  const mid = (t: number): number => x(t + 0.5);
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="11" id="chaos-timeline">`);
  const failed = input.verdicts.filter((v) => v.pass === false).length;
  out.push(`<title>npm run chaos: timeline (${escapeXml(input.date)})</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${L}" y="22" font-size="15" font-weight="bold" fill="${COLORS.text}">npm run chaos: container server, 2 memcached nodes, ${input.settings.connections} connections, ${input.settings.warmKeys.toLocaleString("en-US")} warm keys + ${Math.round(input.settings.missRatio * 1000) / 10} % misses</text>`);
  const failedIds = input.verdicts.filter((v) => v.pass === false).map((v) => v.id).join(", ");
  const resultText = failed ? `${failed} target(s) violated: ${failedIds.length > 150 ? `${failedIds.slice(0, 147)}...` : failedIds}` : "every judged target met";
  out.push(`<text x="${L}" y="40" fill="${failed ? COLORS.cached5xx : "#2a7a2a"}" font-weight="bold" id="result">${escapeXml(resultText)}</text>`);


  // Panels.
  const P1 = { top: 88, bottom: 268 };
  const P2 = { top: 300, bottom: 480 };
  const P3 = { top: 512, bottom: 632 };

  // Phase shading and labels.
  out.push(`<g id="phases">`);
  input.phases.forEach((p, i) => {
    const t0 = series.findIndex((s) => s.phase === p.name);
    if (t0 < 0) return;
    let t1 = t0;
    while (t1 + 1 < series.length && series[t1 + 1].phase === p.name) t1++;
    const vs = input.verdicts.filter((v) => v.phase === p.name);
    const broke = p.cached["5xx"] > 0 || p.clientErrors + p.clientTimeouts + p.cached.unanswered + p.miss.unanswered > 0;
    const state = vs.some((v) => v.pass === false) || broke ? "fail" : vs.some((v) => v.pass === true) ? "pass" : "none";
    const mark = state === "fail" ? "✗" : state === "pass" ? "✓" : "";
    const x0 = x(t0);
    const x1 = x(t1 + 1);
    const tip = [`${p.label} (${p.name}), ${p.durationS} s`, ...p.actions, ...vs.map((v) => `${v.pass === true ? "PASS" : v.pass === false ? "FAIL" : "n/a"} ${v.id}: ${v.measured}`)].join("\n");
    out.push(`<g class="phase" data-phase="${p.name}" data-state="${state}"><title>${escapeXml(tip)}</title>`);
    for (const panel of [P1, P2, P3]) out.push(`<rect x="${f(x0)}" y="${panel.top}" width="${f(x1 - x0)}" height="${panel.bottom - panel.top}" fill="${COLORS[state]}"/>`);
    out.push(`<line x1="${f(x0)}" y1="${P1.top - (i % 2 ? 26 : 14)}" x2="${f(x0)}" y2="${P3.bottom}" stroke="#9a9a9a" stroke-width="0.8"/>`);
    out.push(`<text x="${f(x0 + 3)}" y="${P1.top - (i % 2 ? 16 : 4)}" font-size="10.5" fill="${state === "fail" ? COLORS.cached5xx : COLORS.text}">${escapeXml(`${mark} ${p.label}`.trim())}</text>`);
    out.push(`</g>`);
  });
  out.push(`</g>`);

  // Panel 1: throughput.
  const base = input.phases.find((p) => p.name === "baseline");
  const yMax1 = niceMax(Math.max(1, ...series.map((s) => Math.max(s.cached["2xx"], s.miss.responses))));
  const y1 = (v: number): number => P1.bottom - ((P1.bottom - P1.top) * Math.min(v, yMax1)) / yMax1;
  out.push(`<g id="panel-throughput">`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax1 * i) / 4;
    out.push(`<line x1="${L}" y1="${f(y1(v))}" x2="${R}" y2="${f(y1(v))}" stroke="${COLORS.grid}" stroke-width="0.6"/>`);
    out.push(`<text x="${L - 6}" y="${f(y1(v) + 4)}" text-anchor="end" fill="${COLORS.muted}">${Math.round(v).toLocaleString("en-US")}</text>`);
  }
  out.push(`<text x="14" y="${(P1.top + P1.bottom) / 2}" transform="rotate(-90 14 ${(P1.top + P1.bottom) / 2})" text-anchor="middle" fill="${COLORS.text}">answers per second</text>`);
  const reference = base ? base.cachedPerSecond?.median ?? base.cached.okPerSec : 0;
  if (base && reference > 0) {
    const target = reference * input.targets.cachedThroughputRatio;
    out.push(`<line x1="${L}" y1="${f(y1(target))}" x2="${R}" y2="${f(y1(target))}" stroke="${COLORS.cached}" stroke-width="1" stroke-dasharray="5 4" opacity="0.8"><title>${escapeXml(`${Math.round(input.targets.cachedThroughputRatio * 100)} % of the baseline's median second of cached throughput (${Math.round(target)}/s): the target while the upstream fails or hangs`)}</title></line>`);
    out.push(`<text x="${R - 4}" y="${f(y1(target) - 4)}" text-anchor="end" font-size="10" fill="${COLORS.cached}">${Math.round(input.targets.cachedThroughputRatio * 100)} % of baseline</text>`);
  }
  out.push(`<g id="series-cached-throughput" data-series="cached 2xx/s">` + polyline(series.map((s) => [mid(s.t), y1(s.cached["2xx"])]), COLORS.cached, 2, undefined, "cached keys: 2xx answers per second") + `</g>`);
  out.push(`<g id="series-miss-throughput" data-series="miss answers/s">` + polyline(series.map((s) => [mid(s.t), y1(s.miss.responses)]), COLORS.miss, 1.6, undefined, "misses: answers per second (any status)") + `</g>`);
  // Must-not-fail marks.
  out.push(`<g id="marks-failures">`);
  for (const s of series) {
    const bad = s.cached["5xx"] + s.clientErrors + s.clientTimeouts + s.cached.unanswered + s.miss.unanswered;
    if (bad > 0) {
      const cx = mid(s.t);
      out.push(`<path d="M ${f(cx)} ${P1.bottom - 1} l -4.5 9 l 9 0 z" fill="${COLORS.cached5xx}" class="failure-mark"><title>${escapeXml(`t=${s.t}s ${s.phase}: ${s.cached["5xx"]} cached-key 5xx, ${s.clientErrors} client errors, ${s.clientTimeouts} timeouts, ${s.cached.unanswered + s.miss.unanswered} unanswered`)}</title></path>`);
    }
  }
  out.push(`</g>`);
  out.push(`<rect x="${L}" y="${P1.top}" width="${R - L}" height="${P1.bottom - P1.top}" fill="none" stroke="#888" stroke-width="0.8"/>`);
  out.push(`</g>`);

  // Panel 2: p99 latency, log scale 0.1 ms .. 10 s.
  const lo = Math.log10(0.5);
  const hi = Math.log10(10000);
  const y2 = (ms: number): number => P2.bottom - ((P2.bottom - P2.top) * (Math.log10(Math.min(Math.max(ms, 0.5), 10000)) - lo)) / (hi - lo);
  out.push(`<g id="panel-latency">`);
  for (const v of [1, 10, 100, 1000, 10000]) {
    out.push(`<line x1="${L}" y1="${f(y2(v))}" x2="${R}" y2="${f(y2(v))}" stroke="${COLORS.grid}" stroke-width="0.6"/>`);
    out.push(`<text x="${L - 6}" y="${f(y2(v) + 4)}" text-anchor="end" fill="${COLORS.muted}">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  out.push(`<text x="14" y="${(P2.top + P2.bottom) / 2}" transform="rotate(-90 14 ${(P2.top + P2.bottom) / 2})" text-anchor="middle" fill="${COLORS.text}">p99 latency (log)</text>`);
  out.push(`<line x1="${L}" y1="${f(y2(input.targets.cachedP99Ms))}" x2="${R}" y2="${f(y2(input.targets.cachedP99Ms))}" stroke="${COLORS.cached}" stroke-dasharray="5 4" stroke-width="1"><title>cached-key p99 target during upstream faults: ${input.targets.cachedP99Ms} ms</title></line>`);
  out.push(`<text x="${R - 4}" y="${f(y2(input.targets.cachedP99Ms) - 4)}" text-anchor="end" font-size="10" fill="${COLORS.cached}">${input.targets.cachedP99Ms} ms cached target</text>`);
  out.push(`<line x1="${L}" y1="${f(y2(input.targets.openMissP99Ms))}" x2="${R}" y2="${f(y2(input.targets.openMissP99Ms))}" stroke="${COLORS.miss}" stroke-dasharray="2 3" stroke-width="1"><title>miss p99 target once the breaker is open: ${input.targets.openMissP99Ms} ms</title></line>`);
  out.push(`<text x="${R - 4}" y="${f(y2(input.targets.openMissP99Ms) + 12)}" text-anchor="end" font-size="10" fill="${COLORS.miss}">${input.targets.openMissP99Ms} ms open-breaker miss target</text>`);
  out.push(`<g id="series-cached-p99" data-series="cached p99">` + polyline(series.map((s) => (s.cached.p99Ms === null ? null : [mid(s.t), y2(s.cached.p99Ms)])), COLORS.cached, 2, undefined, "cached keys: p99 latency per second") + `</g>`);
  out.push(`<g id="series-miss-p99" data-series="miss p99">` + polyline(series.map((s) => (s.miss.p99Ms === null ? null : [mid(s.t), y2(s.miss.p99Ms)])), COLORS.miss, 1.6, undefined, "misses: p99 latency per second") + `</g>`);
  out.push(`<rect x="${L}" y="${P2.top}" width="${R - L}" height="${P2.bottom - P2.top}" fill="none" stroke="#888" stroke-width="0.8"/>`);
  out.push(`</g>`);

  // Panel 3: failures per second, stacked bars.
  const parts = (s: SecondSample): Array<[number, string, string]> => {
    const m503 = s.miss.byStatus["503"] ?? 0;
    return [
      [s.cached["5xx"], COLORS.cached5xx, "cached-key 5xx"],
      [m503, COLORS.breaker, "miss 503"],
      [s.miss["5xx"] - m503, COLORS.miss5xx, "miss 5xx other than 503"],
      [s.clientErrors + s.clientTimeouts + s.cached.unanswered + s.miss.unanswered, COLORS.errors, "client errors, timeouts, unanswered"],
    ];
  };
  const yMax3 = niceMax(Math.max(1, ...series.map((s) => parts(s).reduce((n, [v]) => n + v, 0))));
  const y3 = (v: number): number => P3.bottom - ((P3.bottom - P3.top) * v) / yMax3;
  out.push(`<g id="panel-failures">`);
  for (let i = 0; i <= 2; i++) {
    const v = (yMax3 * i) / 2;
    out.push(`<line x1="${L}" y1="${f(y3(v))}" x2="${R}" y2="${f(y3(v))}" stroke="${COLORS.grid}" stroke-width="0.6"/>`);
    out.push(`<text x="${L - 6}" y="${f(y3(v) + 4)}" text-anchor="end" fill="${COLORS.muted}">${Math.round(v).toLocaleString("en-US")}</text>`);
  }
  out.push(`<text x="14" y="${(P3.top + P3.bottom) / 2}" transform="rotate(-90 14 ${(P3.top + P3.bottom) / 2})" text-anchor="middle" fill="${COLORS.text}">non-2xx, errors / s</text>`);
  out.push(`<g id="series-failures" data-series="failures per second">`);
  const bw = Math.max(1, ((R - L) / tMax) * 0.8);
  for (const s of series) {
    let acc = 0;
    for (const [v, color, name] of parts(s)) {
      if (v <= 0) continue;
      const yTop = y3(acc + v);
      const yBot = y3(acc);
      out.push(`<rect x="${f(mid(s.t) - bw / 2)}" y="${f(yTop)}" width="${f(bw)}" height="${f(Math.max(0.8, yBot - yTop))}" fill="${color}"><title>${escapeXml(`t=${s.t}s ${s.phase}: ${v} ${name}`)}</title></rect>`);
      acc += v;
    }
  }
  out.push(`</g>`);
  out.push(`<rect x="${L}" y="${P3.top}" width="${R - L}" height="${P3.bottom - P3.top}" fill="none" stroke="#888" stroke-width="0.8"/>`);
  out.push(`</g>`);

  // Time axis.
  const step = tMax > 120 ? 20 : tMax > 40 ? 10 : tMax > 15 ? 5 : 1;
  out.push(`<g id="time-axis">`);
  for (let t = 0; t <= tMax; t += step) {
    out.push(`<line x1="${f(x(t))}" y1="${P3.bottom}" x2="${f(x(t))}" y2="${P3.bottom + 5}" stroke="#888"/>`);
    out.push(`<text x="${f(x(t))}" y="${P3.bottom + 17}" text-anchor="middle" fill="${COLORS.muted}">${t}</text>`);
  }
  out.push(`<text x="${(L + R) / 2}" y="${P3.bottom + 34}" text-anchor="middle" fill="${COLORS.text}">seconds since the load started (answers counted in the second they arrived)</text>`);
  const busy = input.machine?.busy ? ` · machine busy (load average ${input.machine.loadAvg1m?.start ?? "?"} → ${input.machine.loadAvg1m?.end ?? "?"} on ${input.machine.cpus ?? "?"} CPUs): numbers noisier than usual` : "";
  out.push(`<text x="${L}" y="${H - 8}" font-size="10" fill="${COLORS.muted}">${escapeXml(`${input.date} · server ${input.settings.server} · ${input.settings.phaseSeconds} s per phase · closed loop: each connection waits for its answer${busy}`)}</text>`);
  out.push(`</g>`);

  // Server events (breaker / bulkhead log lines), as diamonds on the latency panel's top edge.
  const evs = input.events.filter((e) => e.what.startsWith("server:"));
  if (evs.length) {
    out.push(`<g id="events">`);
    for (const e of evs.slice(0, 200)) {
      const cx = x(Math.min(e.t, tMax));
      out.push(`<path d="M ${f(cx)} ${P2.top - 5} l 4 5 l -4 5 l -4 -5 z" fill="#444"><title>${escapeXml(`t≈${e.t}s ${e.what}`)}</title></path>`);
    }
    out.push(`</g>`);
  }

  // Legend.
  const lx = R + 18;
  let ly = P1.top + 6;
  const legend = (draw: string, text: string): void => {
    out.push(`<g transform="translate(${lx} ${ly})">${draw}<text x="28" y="4" fill="${COLORS.text}">${escapeXml(text)}</text></g>`);
    ly += 18;
  };
  out.push(`<g id="legend">`);
  legend(`<line x1="0" y1="0" x2="22" y2="0" stroke="${COLORS.cached}" stroke-width="2"/>`, "cached keys");
  legend(`<line x1="0" y1="0" x2="22" y2="0" stroke="${COLORS.miss}" stroke-width="1.6"/>`, "misses (never-seen keys)");
  legend(`<line x1="0" y1="0" x2="22" y2="0" stroke="${COLORS.cached}" stroke-dasharray="5 4"/>`, "targets");
  ly += 6;
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.cached5xx}"/>`, "cached-key 5xx");
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.breaker}"/>`, "miss 503 (breaker)");
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.miss5xx}"/>`, "miss 502/504/500");
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.errors}"/>`, "client errors/timeouts");
  legend(`<path d="M 11 -5 l -5 10 l 10 0 z" fill="${COLORS.cached5xx}"/>`, "must-not-fail failure");
  ly += 6;
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.pass}" stroke="#bbb"/>`, "phase: targets met");
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.fail}" stroke="#bbb"/>`, "phase: target violated");
  legend(`<rect x="0" y="-6" width="22" height="12" fill="${COLORS.none}" stroke="#bbb"/>`, "phase: not judged");
  out.push(`</g>`);

  // Per-phase verdict list under the legend.
  ly += 10;
  out.push(`<g id="verdict-list" font-size="10">`);
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold" fill="${COLORS.text}">verdicts</text>`);
  ly += 14;
  const judged = input.verdicts.filter((v) => v.pass !== null);
  for (const v of judged) {
    if (ly > H - 24) break;
    const mark = v.pass === true ? "✓" : v.pass === false ? "✗" : "–";
    const color = v.pass === true ? "#2a7a2a" : v.pass === false ? COLORS.cached5xx : COLORS.muted;
    out.push(`<text x="${lx}" y="${ly}" fill="${color}">${mark} ${escapeXml(v.id)}<title>${escapeXml(`${v.target}\n${v.measured}`)}</title></text>`);
    ly += 13;
  }
  const informational = input.verdicts.filter((v) => v.pass === null);
  if (informational.length) {
    out.push(`<text x="${lx}" y="${ly}" fill="${COLORS.muted}">– ${informational.length} reported, not judged<title>${escapeXml(informational.map((v) => `${v.id}: ${v.measured}`).join("\n"))}</title></text>`);
  }
  out.push(`</g>`);

  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
