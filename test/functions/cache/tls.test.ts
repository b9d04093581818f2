// TLS to memcached (issue 15, item 4: "decide on in-transit encryption"). memjs 1.3.2 has no TLS and
// no way to hand it a socket; the tier replaces each memjs Server's connect routine with one that opens
// a TLS socket (memcachedTier.ts, `tls` option). Here against a REAL memcached serving TLS (Debian's
// build has -Z) with a throwaway self-signed certificate, next to a plain listener of the same process:
// it works, it verifies the certificate (wrong CA, wrong name: a miss, never a plaintext fallback), and
// what it costs per operation and per connection, measured side by side in one run.
import * as assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createTwoTierCache, METRIC, type TwoTierCache, type TwoTierCacheOptions } from "../../../functions/cache";
import { freePort, waitForPort } from "../../support/memcached";
import { quantile, recorder } from "./helpers";

function memcachedHasTls(): boolean {
  try {
    return /enable-ssl/.test(execFileSync("memcached", ["-h"], { encoding: "utf8" }));
  } catch {
    return false;
  }
}

const listening = (port: number, until: number): Promise<void> => waitForPort(port, Math.max(0, until - Date.now()));

describe("cache/memcached over TLS (real memcached -Z, self-signed certificate)", function () {
  this.timeout(60_000);
  let dir = "";
  let proc: ChildProcess | undefined;
  let plainPort = 0;
  let tlsPort = 0;
  let ca = "";
  let otherCa = "";
  const caches: TwoTierCache[] = [];
  const mk = (namespace: string, server: string, extra: Partial<TwoTierCacheOptions> = {}, memcached: Partial<NonNullable<TwoTierCacheOptions["memcached"]>> = {}): TwoTierCache => {
    const c = createTwoTierCache({
      namespace,
      l1: { maxEntries: 0 },
      upstream: { bulkhead: false },
      ...extra,
      memcached: { servers: [server], opTimeoutMs: 500, connectTimeoutMs: 1000, ...memcached },
    });
    caches.push(c);
    return c;
  };

  before(async function () {
    if (!memcachedHasTls()) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "memcached-tls-"));
    const cert = (name: string): void => {
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-keyout", path.join(dir, `${name}.key`), "-out", path.join(dir, `${name}.pem`), "-subj", "/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], { stdio: "ignore" });
    };
    cert("server");
    cert("other");
    ca = fs.readFileSync(path.join(dir, "server.pem"), "utf8");
    otherCa = fs.readFileSync(path.join(dir, "other.pem"), "utf8");
    plainPort = await freePort();
    tlsPort = await freePort();
    const userArgs = process.getuid && process.getuid() === 0 ? ["-u", "root"] : [];
    proc = spawn("memcached", [
      "-l", `notls:127.0.0.1:${plainPort}`, "-l", `127.0.0.1:${tlsPort}`, "-Z",
      "-o", `ssl_chain_cert=${path.join(dir, "server.pem")},ssl_key=${path.join(dir, "server.key")}`,
      "-U", "0", "-m", "64", ...userArgs,
    ], { stdio: "ignore" });
    const until = Date.now() + 5000;
    await listening(plainPort, until);
    await listening(tlsPort, until);
  });

  after(async () => {
    await Promise.all(caches.map((c) => c.close()));
    if (proc && proc.exitCode === null) {
      const p = proc;
      await new Promise<void>((r) => { p.once("exit", () => r()); p.kill("SIGKILL"); });
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads and writes over TLS; the same items are there for a plain client of the same process", async () => {
    const a = mk("tls-rw", `127.0.0.1:${tlsPort}`, {}, { tls: { ca } });
    assert.equal((await a.getOrLoad("k", async () => "v1")).source, "MISS");
    const b = mk("tls-rw", `127.0.0.1:${tlsPort}`, {}, { tls: { ca } });
    const hit = await b.getOrLoad("k", async () => "other");
    assert.equal(hit.source, "HIT-L2");
    assert.equal(hit.value, "v1");
    const plain = mk("tls-rw", `127.0.0.1:${plainPort}`);
    assert.equal((await plain.getOrLoad("k", async () => "other")).source, "HIT-L2", "one memcached, two listeners");
    // The socket memjs uses really is TLS.
    const internals = (a.memcached as unknown as { nodes(): string[] });
    assert.deepEqual(internals.nodes(), [`127.0.0.1:${tlsPort}`]);
  });

  it("verifies the certificate: another CA, or a name the certificate does not carry, is a miss, never a fallback to plaintext", async () => {
    for (const tls of [{ ca: otherCa }, { ca, servername: "memcached.evil.example" }, {}]) {
      const rec = recorder();
      const c = mk(`tls-bad-${Math.random().toString(36).slice(2)}`, `127.0.0.1:${tlsPort}`, rec, { tls });
      let loads = 0;
      const r = await c.getOrLoad("k", async () => { loads++; return "v"; });
      assert.equal(r.source, "MISS");
      assert.equal(loads, 1);
      assert.ok(rec.count(METRIC.error) >= 1, `memcached errors counted (${JSON.stringify(tls).slice(0, 40)})`);
    }
    // And a plain client talking to the TLS port gets nowhere either (a miss, within its timeout).
    const rec = recorder();
    const plainToTls = mk("tls-plain-to-tls", `127.0.0.1:${tlsPort}`, rec);
    const started = Date.now();
    assert.equal((await plainToTls.getOrLoad("k", async () => "v")).source, "MISS");
    assert.ok(Date.now() - started < 3000);
  });

  it("discovery speaks TLS to the configuration endpoint too (plain memcached answers ERROR: the endpoint becomes the node)", async () => {
    const c = createTwoTierCache({ namespace: "tls-disc", l1: { maxEntries: 0 }, memcached: { configEndpoint: `localhost:${tlsPort}`, tls: { ca }, opTimeoutMs: 500, connectTimeoutMs: 1000 } });
    caches.push(c);
    await c.memcached!.whenReady();
    assert.deepEqual(c.memcached!.topology(), { source: "static", version: -1, nodes: [`localhost:${tlsPort}`] });
    assert.equal((await c.getOrLoad("d", async () => "v")).source, "MISS");
    const d = createTwoTierCache({ namespace: "tls-disc", l1: { maxEntries: 0 }, memcached: { configEndpoint: `localhost:${tlsPort}`, tls: { ca } } });
    caches.push(d);
    assert.equal((await d.getOrLoad("d", async () => "other")).source, "HIT-L2", "certificate checked against the host name");
  });

  it("measured: TLS vs plain side by side: per operation on an open connection, per L2 hit, and per new connection", async function () {
    const value = JSON.stringify({ id: "42", name: "Widget", text: "x".repeat(850) });
    const plain = mk("tls-cost", `127.0.0.1:${plainPort}`);
    const tls = mk("tls-cost", `127.0.0.1:${tlsPort}`, {}, { tls: { ca } });
    await plain.getOrLoad("v", async () => value);
    const skey = plain.storageKey("v");
    const t = { plain: plain.memcached!, tls: tls.memcached! };
    const getUs = async (which: "plain" | "tls"): Promise<number> => {
      const s = performance.now();
      const r = await t[which].get(skey, 1000);
      const us = (performance.now() - s) * 1000;
      assert.equal(r.kind, "hit");
      return us;
    };
    const hitUs = async (cache: TwoTierCache): Promise<number> => {
      const s = performance.now();
      const r = await cache.getOrLoad("v", async () => { throw new Error("miss"); });
      assert.equal(r.source, "HIT-L2");
      return (performance.now() - s) * 1000;
    };
    for (let i = 0; i < 300; i++) { await getUs("plain"); await getUs("tls"); await hitUs(plain); await hitUs(tls); }
    const raw = { plain: [] as number[], tls: [] as number[], diff: [] as number[] };
    const hit = { plain: [] as number[], tls: [] as number[], diff: [] as number[] };
    for (let i = 0; i < 3000; i++) {
      const first = i % 2 === 0 ? "plain" : "tls";
      const a = await getUs(first);
      const b = await getUs(first === "plain" ? "tls" : "plain");
      const [p, s] = first === "plain" ? [a, b] : [b, a];
      raw.plain.push(p); raw.tls.push(s); raw.diff.push(s - p);
      const c = first === "plain" ? await hitUs(plain) : await hitUs(tls);
      const d = first === "plain" ? await hitUs(tls) : await hitUs(plain);
      const [hp, hs] = first === "plain" ? [c, d] : [d, c];
      hit.plain.push(hp); hit.tls.push(hs); hit.diff.push(hs - hp);
    }
    // Throughput: 64 callers, one key each, on one connection each way.
    const throughput = async (which: "plain" | "tls"): Promise<number> => {
      let ops = 0;
      const until = performance.now() + 1000;
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (performance.now() < until) { await t[which].get(skey, 1000); ops++; }
      }));
      return ops;
    };
    const tp = { plain: await throughput("plain"), tls: await throughput("tls") };
    // A new connection: first operation of a fresh tier (TCP connect, and for TLS the handshake).
    const connect = { plain: [] as number[], tls: [] as number[] };
    for (let i = 0; i < 30; i++) {
      for (const which of (i % 2 === 0 ? ["plain", "tls"] : ["tls", "plain"]) as ("plain" | "tls")[]) {
        const c = createTwoTierCache({ namespace: "tls-cost", l1: { maxEntries: 0 }, memcached: { servers: [`127.0.0.1:${which === "plain" ? plainPort : tlsPort}`], opTimeoutMs: 1000, connectTimeoutMs: 1000, ...(which === "tls" ? { tls: { ca } } : {}) } });
        const s = performance.now();
        const r = await c.memcached!.get(skey, 2000);
        connect[which].push((performance.now() - s) * 1000);
        assert.equal(r.kind, "hit");
        await c.close();
      }
    }
    const q = (xs: number[], p: number): string => quantile(xs, p).toFixed(1);
    console.log(`      measured (one run, interleaved, 940-byte value, loopback): raw get p50/p99 plain ${q(raw.plain, 0.5)}/${q(raw.plain, 0.99)} µs, TLS ${q(raw.tls, 0.5)}/${q(raw.tls, 0.99)} µs (median paired difference ${q(raw.diff, 0.5)} µs); `
      + `getOrLoad L2 hit p50/p99 plain ${q(hit.plain, 0.5)}/${q(hit.plain, 0.99)} µs, TLS ${q(hit.tls, 0.5)}/${q(hit.tls, 0.99)} µs (difference ${q(hit.diff, 0.5)} µs); `
      + `64 concurrent gets/s plain ${tp.plain}, TLS ${tp.tls} (${(tp.tls / tp.plain).toFixed(2)}×); `
      + `new connection + first get p50 plain ${q(connect.plain, 0.5)} µs, TLS ${q(connect.tls, 0.5)} µs`);
  });
});

// ElastiCache's shape of a TLS cluster (issue 15 item 4 review): nodes named `0001.<cluster>.<id>.<region>.cache.amazonaws.com`
// (in TLS clusters the node number comes first: memcache-plus PR #111 by an ElastiCache engineer), certificates
// issued by a CA rather than self-signed, and, per awslabs/aws-elasticache-cluster-client-memcached-for-java
// issue #44, a wildcard over the cluster's suffix. A loopback TLS "configuration endpoint" answers
// `config get cluster` with such a name and the real memcached's IP: the client connects to the IP and checks
// the certificate against the discovered name.
describe("cache/memcached over TLS: ElastiCache-shaped discovery (CA-issued wildcard certificate, node names from discovery)", function () {
  this.timeout(60_000);
  const SUFFIX = "mycluster.abc123.use1.cache.amazonaws.com";
  let dir = "";
  let proc: ChildProcess | undefined;
  let nodePort = 0;
  let caPem = "";
  const servers: import("node:tls").Server[] = [];
  const caches: TwoTierCache[] = [];

  before(async function () {
    if (!memcachedHasTls()) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "memcached-tls-ec-"));
    const f = (n: string): string => path.join(dir, n);
    const run = (args: string[]): void => { execFileSync("openssl", args, { stdio: "ignore" }); };
    run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-keyout", f("ca.key"), "-out", f("ca.pem"),
      "-subj", "/CN=test root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
    const leaf = (name: string, san: string): void => {
      run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${name}`]);
      fs.writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\n`);
      run(["x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-out", f(`${name}.pem`), "-extfile", f(`${name}.ext`)]);
    };
    leaf("node", `DNS:*.${SUFFIX}`); // no IP entry: only the discovered name can match
    leaf("cfg", "IP:127.0.0.1");
    caPem = fs.readFileSync(f("ca.pem"), "utf8");
    nodePort = await freePort();
    const userArgs = process.getuid && process.getuid() === 0 ? ["-u", "root"] : [];
    proc = spawn("memcached", ["-l", `127.0.0.1:${nodePort}`, "-Z", "-o", `ssl_chain_cert=${f("node.pem")},ssl_key=${f("node.key")}`, "-U", "0", "-m", "16", ...userArgs], { stdio: "ignore" });
    await listening(nodePort, Date.now() + 5000);
  });

  after(async () => {
    await Promise.all(caches.map((c) => c.close()));
    for (const s of servers) s.close();
    if (proc && proc.exitCode === null) {
      const p = proc;
      await new Promise<void>((r) => { p.once("exit", () => r()); p.kill("SIGKILL"); });
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A TLS configuration endpoint on loopback answering `config get cluster` with `entries`. */
  async function configEndpoint(entries: string): Promise<number> {
    const tlsMod = await import("node:tls");
    const port = await freePort();
    const body = `1\n${entries}\n\r\n`;
    const server = tlsMod.createServer({ key: fs.readFileSync(path.join(dir, "cfg.key")), cert: fs.readFileSync(path.join(dir, "cfg.pem")) }, (s) => {
      s.on("data", (d: Buffer) => { if (d.toString().startsWith("config get cluster")) s.write(`CONFIG cluster 0 ${Buffer.byteLength(body)}\r\n${body}END\r\n`); });
      s.on("error", () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    return port;
  }

  const mk = (namespace: string, cfgPort: number): TwoTierCache => {
    const c = createTwoTierCache({ namespace, l1: { maxEntries: 0 }, upstream: { bulkhead: false },
      memcached: { configEndpoint: `127.0.0.1:${cfgPort}`, tls: { ca: caPem }, opTimeoutMs: 500, connectTimeoutMs: 1000 } });
    caches.push(c);
    return c;
  };

  it("parses a node name that starts with its number and verifies the node's wildcard certificate against it while connecting to the IP", async () => {
    const cfg = await configEndpoint(`0001.${SUFFIX}|127.0.0.1|${nodePort}`);
    const a = mk("ec-tls", cfg);
    await a.memcached!.whenReady();
    assert.deepEqual(a.memcached!.topology(), { source: "discovery", version: 1, nodes: [`127.0.0.1:${nodePort}`] });
    assert.equal((await a.getOrLoad("k", async () => "v1")).source, "MISS");
    const b = mk("ec-tls", cfg);
    const hit = await b.getOrLoad("k", async () => "other");
    assert.equal(hit.source, "HIT-L2", "written and read over TLS, certificate accepted for 0001.<suffix>");
  });

  it("a discovered name the node's certificate does not cover is a miss (no plaintext, no unchecked TLS)", async () => {
    const cfg = await configEndpoint(`0001.othercluster.abc123.use1.cache.amazonaws.com|127.0.0.1|${nodePort}`);
    const rec = recorder();
    const c = createTwoTierCache({ namespace: "ec-tls", l1: { maxEntries: 0 }, upstream: { bulkhead: false }, logger: rec.logger, metrics: rec.metrics,
      memcached: { configEndpoint: `127.0.0.1:${cfg}`, tls: { ca: caPem }, opTimeoutMs: 500, connectTimeoutMs: 1000 } });
    caches.push(c);
    await c.memcached!.whenReady();
    let loads = 0;
    assert.equal((await c.getOrLoad("k", async () => { loads++; return "v"; })).source, "MISS");
    assert.equal(loads, 1);
    assert.ok(rec.count(METRIC.error) >= 1);
  });
});
