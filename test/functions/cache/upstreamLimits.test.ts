// fetchUpstream reads the upstream's body as a stream with a byte cap (issue 15, Low: "no cap on
// upstream response size"): an endless, an oversized, a declared-oversized or a compressed-bomb body
// is cut off and fails as a 502, without being buffered; a content type the app does not serve fails
// before the body is read. Against a REAL loopback HTTP server that counts what it managed to send.
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type * as net from "node:net";
import * as zlib from "node:zlib";
import { fetchUpstream, type UpstreamError } from "../../../functions/cache";

interface Sender {
  url: string;
  /** Body bytes written per request path, and whether the client hung up before the end. */
  sent: Map<string, { bytes: number; closedEarly: boolean }>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

async function startSender(): Promise<Sender> {
  const sockets = new Set<net.Socket>();
  const sent = new Map<string, { bytes: number; closedEarly: boolean }>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    const rec = { bytes: 0, closedEarly: false };
    sent.set(path, rec);
    res.on("close", () => { if (!res.writableFinished) rec.closedEarly = true; });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    /** Write up to `total` bytes (Infinity: until the client goes away), honouring back-pressure. */
    const pump = (total: number): void => {
      const step = (): void => {
        while (!res.destroyed && rec.bytes < total) {
          const n = Math.min(chunk.length, total - rec.bytes);
          rec.bytes += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", step);
        }
        if (!res.destroyed && rec.bytes >= total) res.end();
      };
      step();
    };
    if (path === "/endless") {
      res.writeHead(200, { "content-type": "application/json" });
      pump(Infinity);
    } else if (path === "/declared-huge") {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(100 * MiB) });
      // Slowly: whatever arrives after the headers should not be read at all.
      const t = setInterval(() => { if (res.destroyed) return clearInterval(t); rec.bytes += 1024; res.write(chunk.subarray(0, 1024)); }, 50);
      res.on("close", () => clearInterval(t));
    } else if (path === "/gzip-bomb") {
      const bomb = zlib.gzipSync(Buffer.alloc(50 * MiB, 0));
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": String(bomb.length) });
      rec.bytes = bomb.length;
      res.end(bomb);
    } else if (path.startsWith("/exact/")) {
      const n = Number(path.slice("/exact/".length));
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      pump(n);
    } else if (path === "/html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      pump(Infinity);
    } else if (path === "/redirect") {
      res.writeHead(302, { location: "/exact/10" });
      res.end();
    } else if (path === "/error-endless") {
      res.writeHead(500, { "content-type": "text/plain" });
      pump(Infinity);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    sent,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const waitFor = async (check: () => boolean, ms = 2000): Promise<void> => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("cache/upstream: the body is streamed with a byte cap (real loopback upstream)", function () {
  this.timeout(20_000);
  let up: Sender;
  before(async () => { up = await startSender(); });
  after(async () => { await up?.close(); });

  const tooLarge = (e: UpstreamError): boolean => e.name === "UpstreamError" && e.statusCode === 502 && e.invalidAnswer === "too-large";

  it("an endless body is cut at the cap: 502 too-large at once, the connection closed, memory not filled", async () => {
    const heapBefore = process.memoryUsage().arrayBuffers;
    const started = Date.now();
    await assert.rejects(fetchUpstream(`${up.url}/endless`, { timeoutMs: 10_000, maxBodyBytes: MiB }), tooLarge);
    const elapsed = Date.now() - started;
    await waitFor(() => up.sent.get("/endless")?.closedEarly === true);
    const sent = up.sent.get("/endless")!.bytes;
    // What the server got rid of before it saw the close: the cap plus what the kernel's socket buffers hold.
    assert.ok(sent < 32 * MiB, `the upstream wrote ${sent} bytes before the client hung up`);
    assert.ok(elapsed < 5000, `${elapsed} ms`);
    assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 16 * MiB, "no unbounded buffering");
    console.log(`      measured: cut after ${elapsed} ms; the upstream had sent ${(sent / MiB).toFixed(1)} MiB (cap 1 MiB, the rest sat in socket buffers)`);
  });

  it("a declared content-length over the cap fails as soon as the headers arrive", async () => {
    const started = Date.now();
    await assert.rejects(fetchUpstream(`${up.url}/declared-huge`, { timeoutMs: 10_000, maxBodyBytes: MiB }),
      (e: UpstreamError) => tooLarge(e) && /104857600 bytes/.test(e.message));
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    await waitFor(() => up.sent.get("/declared-huge")?.closedEarly === true);
  });

  it("a compressed bomb is counted as it inflates (50 MiB of zeros in ~50 KiB of gzip): cut at the cap", async () => {
    await assert.rejects(fetchUpstream(`${up.url}/gzip-bomb`, { timeoutMs: 10_000, maxBodyBytes: MiB }), tooLarge);
    assert.ok(up.sent.get("/gzip-bomb")!.bytes < MiB, "the compressed body itself was small");
  });

  it("exactly the cap is served; one byte more is a 502; the default cap is 5 MiB", async () => {
    const ok = await fetchUpstream(`${up.url}/exact/${MiB}`, { timeoutMs: 10_000, maxBodyBytes: MiB });
    assert.equal(ok.body.length, MiB);
    assert.equal(ok.contentType, "text/plain; charset=utf-8");
    await assert.rejects(fetchUpstream(`${up.url}/exact/${MiB + 1}`, { timeoutMs: 10_000, maxBodyBytes: MiB }), tooLarge);
    assert.equal((await fetchUpstream(`${up.url}/exact/${5 * MiB}`, { timeoutMs: 10_000 })).body.length, 5 * MiB);
    await assert.rejects(fetchUpstream(`${up.url}/exact/${5 * MiB + 1}`, { timeoutMs: 10_000 }), tooLarge);
  });

  it("a content type that is not allowed, or an error status, fails before the body is read (even an endless one)", async () => {
    await assert.rejects(fetchUpstream(`${up.url}/html`, { timeoutMs: 10_000, allowedContentTypes: ["application/json", "text/plain"] }),
      (e: UpstreamError) => e.statusCode === 502 && e.invalidAnswer === "content-type" && e.upstreamStatus === 200);
    await waitFor(() => up.sent.get("/html")?.closedEarly === true);
    await assert.rejects(fetchUpstream(`${up.url}/error-endless`, { timeoutMs: 10_000 }),
      (e: UpstreamError) => e.statusCode === 502 && e.upstreamStatus === 500 && e.invalidAnswer === undefined);
    await waitFor(() => up.sent.get("/error-endless")?.closedEarly === true);
  });

  it("redirects are not followed unless asked for (a 3xx could lead outside the checked base URL): 502 with the status", async () => {
    await assert.rejects(fetchUpstream(`${up.url}/redirect`, { timeoutMs: 5000 }), (e: UpstreamError) => e.statusCode === 502 && e.upstreamStatus === 302);
    assert.equal(up.sent.has("/exact/10"), false);
    assert.equal((await fetchUpstream(`${up.url}/redirect`, { timeoutMs: 5000, followRedirects: true })).body.length, 10);
  });
});
