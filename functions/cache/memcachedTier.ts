import { Client, Server } from "memjs";
import type { Socket } from "node:net";
import { connectTls, parseHostPort, queryClusterConfig, shouldApplyConfig, nodeId, type MemcachedTlsOptions } from "./discovery";
import { availability, isEjected, recordFailure, recordSuccess, startProbe, type NodeHealth } from "./health";
import { buildRing, hash32, ringLookup, DEFAULT_VIRTUAL_NODES, type HashRing } from "./ring";
import { METRIC, type Telemetry } from "./telemetry";

/** memcached (L2) options. Give `configEndpoint` (ElastiCache) or `servers`, or both. */
export interface MemcachedOptions {
  /**
   * ElastiCache configuration endpoint, "host:port". The node list is read from it with
   * `config get cluster` (Auto Discovery) and refreshed in the background. When it answers `ERROR`
   * (plain memcached), `servers` is used, or the endpoint itself as the only node. Default: none.
   */
  configEndpoint?: string;
  /** Static node list ("host:port"); used when there is no `configEndpoint`, or as its fallback. Default: none. */
  servers?: readonly string[];
  /**
   * Per-operation timeout (ms) on an open connection. A timed-out operation is a miss. Keep it well
   * under the upstream timeout. Default 150.
   */
  opTimeoutMs?: number;
  /** Connect timeout (ms); the first operation on a new connection may take connect + op timeout. Default 200. */
  connectTimeoutMs?: number;
  /** Consecutive failures (errors/timeouts) after which a node is skipped. Default 2. */
  ejectAfterFailures?: number;
  /**
   * How long (ms) an ejected node is skipped; its keys go to its ring neighbours meanwhile. After
   * that one request probes it again. Default 5000.
   */
  retryFailedNodeAfterMs?: number;
  /** Virtual nodes per node on the hash ring. Default 160. */
  virtualNodes?: number;
  /**
   * memcached item size limit (bytes), i.e. the cluster's `max_item_size` (memcached `-I`). Larger
   * values are not cached (logged + `CacheValueTooLarge` metric). Default 1 MiB (1048576).
   */
  maxItemBytes?: number;
  /** How often (ms) the node list is re-read from `configEndpoint`, lazily on a request, never blocking it. Default 60000. */
  discoveryIntervalMs?: number;
  /** Shortest gap (ms) between refreshes triggered by node errors. Default 2000. */
  discoveryMinIntervalMs?: number;
  /** Timeout (ms) of one `config get cluster` round trip (runs in the background). Default 1000. */
  discoveryTimeoutMs?: number;
  /**
   * How long (ms) the very first cache operations wait for the first discovery to finish (it starts
   * when the cache is created, usually during the Lambda init phase). After that L2 is skipped
   * (miss) until it is known. Default 250.
   */
  initialDiscoveryWaitMs?: number;
  /** TCP keep-alive on memcached connections. Default true. */
  keepAlive?: boolean;
  /**
   * Speak TLS to every node and to the configuration endpoint (ElastiCache memcached created with
   * in-transit encryption, engine >= 1.6.12). `true`: Node's CA bundle, certificates checked against
   * the nodes' DNS names (from discovery) or the hosts given; or options (a private CA, a fixed name).
   * memjs has no TLS: each memjs Server's connect routine is replaced by one that opens a TLS socket
   * (memjs internals: `_socket`, `connected`, `connectCallbacks`, `responseHandler`, `error`). Default false.
   */
  tls?: boolean | MemcachedTlsOptions;
}

export const MEMCACHED_DEFAULTS = {
  opTimeoutMs: 150,
  connectTimeoutMs: 200,
  ejectAfterFailures: 2,
  retryFailedNodeAfterMs: 5000,
  virtualNodes: DEFAULT_VIRTUAL_NODES,
  maxItemBytes: 1024 * 1024,
  discoveryIntervalMs: 60_000,
  discoveryMinIntervalMs: 2000,
  discoveryTimeoutMs: 1000,
  initialDiscoveryWaitMs: 250,
  keepAlive: true,
} as const;

export type L2GetResult =
  | { kind: "hit"; raw: string; bytes: number }
  | { kind: "miss" }
  | { kind: "error"; reason: string };

export type L2AddResult = "stored" | "exists" | "error";

export type L2DeleteResult = "deleted" | "missing" | "error";

/** Where the node list came from. */
export interface TopologyInfo {
  source: "discovery" | "static";
  version: number;
  /** Node ids ("ip:port"), sorted. */
  nodes: string[];
}

/** The memcached tier. Every method resolves (never rejects) within its budget; any error is a miss/false. */
export interface MemcachedTier {
  get(key: string, budgetMs: number): Promise<L2GetResult>;
  set(key: string, value: string, exptime: number, budgetMs: number): Promise<boolean>;
  add(key: string, value: string, exptime: number, budgetMs: number): Promise<L2AddResult>;
  delete(key: string, budgetMs: number): Promise<boolean>;
  /** Node ids of the current topology (sorted; ejected ones included). Empty before the first discovery. */
  nodes(): string[];
  /** The operations above on one given node, whatever the ring says (invalidation and generations go to every node). */
  getFrom(node: string, key: string, budgetMs: number): Promise<L2GetResult>;
  setOn(node: string, key: string, value: string, exptime: number, budgetMs: number): Promise<boolean>;
  addOn(node: string, key: string, value: string, exptime: number, budgetMs: number): Promise<L2AddResult>;
  deleteFrom(node: string, key: string, budgetMs: number): Promise<L2DeleteResult>;
  /** Node id a key maps to right now (ejected nodes skipped), for diagnostics and tests. */
  nodeFor(key: string): string | undefined;
  /** Node id that owns a key on the ring, ejected or not (a miss is authoritative only from it). */
  ownerOf(key: string): string | undefined;
  /** Current topology, undefined before the first discovery finished. */
  topology(): TopologyInfo | undefined;
  /** memcached operations in flight right now (0 whenever getOrLoad has returned and nothing else runs). */
  pendingOps(): number;
  /** Node ids currently ejected (skipped, or waiting for a successful probe). */
  ejectedNodes(): string[];
  /** Run discovery now (normally it runs by itself); resolves when done. */
  refresh(): Promise<void>;
  /** Resolves once a topology is known (or immediately with static servers). */
  whenReady(): Promise<void>;
  readonly maxItemBytes: number;
  /** Wait for in-flight operations (bounded by their timeouts), then close every connection. Idempotent. */
  close(): Promise<void>;
}

/** memjs internals we rely on (not in its type definitions). */
interface ServerInternals {
  connected?: boolean;
  _socket?: Socket;
  username?: string;
  password?: string;
  timeoutSet?: boolean;
  connectCallbacks?: ((socket: Socket) => void)[];
  options: { conntimeout: number; keepAlive: boolean; keepAliveDelay: number };
  responseHandler(data: Buffer): void;
  error(err: unknown): void;
  onConnect(go: (socket: Socket) => void): void;
  sock(sasl: boolean, go: (socket: Socket) => void): void;
}

/**
 * Make a memjs Server connect over TLS: a replacement of memjs 1.3.2's `Server.prototype.sock`
 * (lib/memjs/server.js) with `tls.connect` instead of `net.connect`, the same state transitions
 * otherwise (no SASL: ElastiCache memcached has none). memjs offers no way to inject a socket, so this
 * depends on its private fields; test/functions/cache/tls.test.ts runs it against a real TLS memcached.
 */
function useTls(server: Server, host: string, port: number, tlsOptions: MemcachedTlsOptions, servername: string | undefined): void {
  const self = server as unknown as ServerInternals;
  self.sock = (sasl, go) => {
    if (!self._socket) {
      self.connected = false;
      // Declared before use: the handshake callback reaches the socket through this holder.
      const holder: { socket?: Socket } = {};
      const socket = connectTls(host, port, tlsOptions, servername, () => {
        const s = holder.socket as Socket;
        if (self._socket !== s) return;
        self.connected = true;
        s.setTimeout(0); // the connect timeout is over
        self.timeoutSet = false;
        go(s);
        const waiting = self.connectCallbacks ?? [];
        self.connectCallbacks = [];
        for (const cb of waiting) cb(s);
      });
      holder.socket = socket;
      self._socket = socket;
      socket.on("data", (data: Buffer) => self.responseHandler(data));
      socket.on("error", (err) => self.error(err));
      socket.on("close", () => {
        if (self._socket !== socket) return;
        self.connected = false;
        if (self.timeoutSet) {
          socket.setTimeout(0);
          self.timeoutSet = false;
        }
        self._socket = undefined;
      });
      self.timeoutSet = true;
      socket.setTimeout(self.options.conntimeout * 1000, () => {
        self.timeoutSet = false;
        if (!self.connected && self._socket === socket) {
          socket.destroy();
          self._socket = undefined;
          self.error(new Error("socket timed out connecting to server."));
        }
      });
      socket.setKeepAlive(self.options.keepAlive, self.options.keepAliveDelay * 1000);
    } else if (!self.connected && !sasl) {
      self.onConnect(go);
    } else {
      go(self._socket);
    }
  };
}

type OpOutcome<R> = { ok: true; value: R } | { ok: false; reason: string; nodeFailure: boolean };

/** An error of memjs's own status handling ("MemJS SET: Value too large"): the node is fine. */
function isProtocolStatusError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("MemJS ");
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Create the memcached tier: one memjs Client whose `getServer` is replaced by a consistent-hash
 * ring lookup, fed by Auto Discovery or a static list.
 */
export function createMemcachedTier(options: MemcachedOptions, telemetry: Telemetry, clock: () => number = Date.now): MemcachedTier {
  const o = { ...MEMCACHED_DEFAULTS, ...stripUndefined(options) };
  const endpoint = options.configEndpoint ? parseHostPort(options.configEndpoint) : undefined;
  const staticNodes = (options.servers ?? []).map((s) => parseHostPort(s));
  if (!endpoint && staticNodes.length === 0) throw new TypeError("memcached: give configEndpoint or servers");
  const policy = { ejectAfterFailures: o.ejectAfterFailures, retryAfterMs: o.retryFailedNodeAfterMs };
  const tlsOptions: MemcachedTlsOptions | undefined = options.tls === true ? {} : options.tls ? options.tls : undefined;

  // All mutable state lives in this one object (mutated, never reassigned), see docs/cache.md.
  const st = {
    closed: false,
    ring: buildRing([], o.virtualNodes) as HashRing,
    servers: [] as Server[],
    serverById: new Map<string, Server>(),
    addressById: new Map<string, { host: string; port: number; servername?: string }>(),
    health: new Map<string, NodeHealth>(),
    pending: new Map<Server, number>(),
    retired: new Set<Server>(),
    inflight: 0,
    drainWaiters: [] as (() => void)[],
    topology: undefined as TopologyInfo | undefined,
    refreshing: undefined as Promise<void> | undefined,
    lastRefreshAt: 0,
    discoverySocket: undefined as Socket | undefined,
    routedKey: undefined as string | undefined,
    routedIdx: -1,
    readyResolve: undefined as (() => void) | undefined,
    ready: undefined as Promise<void> | undefined,
  };
  st.ready = new Promise<void>((resolve) => { st.readyResolve = resolve; });

  const client = new Client([], {
    retries: 1, // memjs retries nothing: we decide (a failed op is a miss)
    failover: false, // ejection is ours (ring-aware), not memjs's "next index" walk
    expires: 0,
    logger: { log: (...args: unknown[]) => telemetry.log("debug", "memjs", { detail: args.map(String).join(" ") }) },
  });
  // memjs >= 1.3.1: getServer(key) must return an index into client.servers (the .d.ts says string; the code uses it as an index).
  (client as unknown as { getServer: (key: string) => number }).getServer = (key: string) =>
    key === st.routedKey ? st.routedIdx : route(key, false);

  /**
   * Ring lookup skipping ejected nodes. With `claimProbe`, a node whose retry time is over is
   * probed by this request only (others keep skipping it until the probe settles).
   */
  function route(key: string, claimProbe: boolean): number {
    const now = clock();
    return ringLookup(st.ring, hash32(key), (i) => {
      const id = st.ring.nodes[i];
      const h = st.health.get(id);
      const a = availability(h, now);
      if (a === "probe" && claimProbe && h) st.health.set(id, startProbe(h, now, o.opTimeoutMs + o.connectTimeoutMs + 50));
      return a !== "down";
    });
  }

  function createServer(id: string): Server {
    const addr = st.addressById.get(id) as { host: string; port: number; servername?: string };
    const server = new Server(addr.host, addr.port, undefined, undefined, {
      timeout: o.opTimeoutMs / 1000,
      conntimeout: o.connectTimeoutMs / 1000,
      keepAlive: o.keepAlive,
      keepAliveDelay: 30,
    });
    // memjs falls back to MEMCACHIER_* env credentials for SASL; ElastiCache memcached has no SASL.
    (server as unknown as ServerInternals).username = undefined;
    (server as unknown as ServerInternals).password = undefined;
    if (tlsOptions) useTls(server, addr.host, addr.port, tlsOptions, addr.servername);
    return server;
  }

  function destroyServer(server: Server): void {
    const internals = server as unknown as ServerInternals;
    try {
      internals._socket?.destroy();
    } catch {
      // already gone
    }
  }

  /** Stop using a Server object; its socket is destroyed once its in-flight operations are settled. */
  function retire(server: Server): void {
    if ((st.pending.get(server) ?? 0) === 0) {
      st.pending.delete(server);
      destroyServer(server);
    } else {
      st.retired.add(server);
    }
  }

  function applyNodes(nodes: { host: string; port: number; servername?: string }[], source: TopologyInfo["source"], version: number): void {
    const ids: string[] = [];
    for (const n of nodes) {
      const id = nodeId(n.host, n.port);
      if (!st.addressById.has(id)) st.addressById.set(id, { host: n.host, port: n.port, ...(n.servername ? { servername: n.servername } : {}) });
      ids.push(id);
    }
    const ring = buildRing(ids, o.virtualNodes);
    const keep = new Set(ring.nodes);
    const serverById = new Map<string, Server>();
    const servers = ring.nodes.map((id) => {
      const s = st.serverById.get(id) ?? createServer(id);
      serverById.set(id, s);
      return s;
    });
    for (const [id, s] of st.serverById) {
      if (!keep.has(id)) {
        retire(s);
        st.health.delete(id);
        st.addressById.delete(id);
      }
    }
    // Swap everything in one synchronous step: getServer always sees a matching ring/servers pair.
    st.ring = ring;
    st.servers = servers;
    st.serverById = serverById;
    (client as unknown as { servers: Server[] }).servers = servers;
    st.topology = { source, version, nodes: [...ring.nodes] };
    telemetry.log("info", "memcached topology", { source, version, nodes: ring.nodes });
    st.readyResolve?.();
  }

  function applyStaticFallback(reason: string): void {
    const nodes = staticNodes.length > 0 ? staticNodes : endpoint ? [endpoint] : [];
    const ids = nodes.map((n) => nodeId(n.host, n.port)).sort().join(",");
    if (st.topology?.source === "static" && st.topology.nodes.join(",") === ids) return;
    telemetry.log("info", "memcached: using static node list", { reason });
    applyNodes(nodes, "static", -1);
  }

  function refresh(): Promise<void> {
    if (!endpoint || st.closed) return Promise.resolve();
    if (st.refreshing) return st.refreshing;
    st.lastRefreshAt = clock();
    const ep = endpoint;
    const run = (async () => {
      const out = await queryClusterConfig(ep.host, ep.port, o.discoveryTimeoutMs, (s) => { st.discoverySocket = s; }, tlsOptions);
      if (st.closed) return;
      if (out.kind === "config") {
        const current = st.topology?.source === "discovery" ? { version: st.topology.version, nodeIds: st.topology.nodes } : undefined;
        if (shouldApplyConfig(current, out.config)) {
          // Connect to the IP, check the certificate against the DNS name (when the node has one).
          applyNodes(out.config.nodes.map((n) => ({ host: n.address, port: n.port, ...(n.host !== n.address ? { servername: n.host } : {}) })), "discovery", out.config.version);
        } else if (st.topology?.source === "discovery" && out.config.version > st.topology.version) {
          st.topology.version = out.config.version;
        }
      } else if (out.kind === "unsupported") {
        applyStaticFallback(`configuration endpoint answered ${out.line}`);
      } else {
        const reason = out.kind === "malformed" ? out.reason : errorText(out.error);
        telemetry.log("warn", "memcached discovery failed", { reason });
        telemetry.metric(METRIC.error);
        if (!st.topology) applyStaticFallback(`discovery failed: ${reason}`);
      }
    })().catch((err: unknown) => {
      telemetry.log("warn", "memcached discovery error", { reason: errorText(err) });
    }).finally(() => { st.refreshing = undefined; });
    st.refreshing = run;
    return run;
  }

  function maybeRefresh(now: number, afterError: boolean): void {
    if (!endpoint || st.refreshing || st.closed) return;
    const gap = now - st.lastRefreshAt;
    if (gap >= o.discoveryIntervalMs || (afterError && gap >= o.discoveryMinIntervalMs)) void refresh();
  }

  function onNodeFailure(id: string, server: Server, err: unknown): void {
    if (st.serverById.get(id) !== server) return; // a failure of a connection we already replaced
    const now = clock();
    const { health, ejected } = recordFailure(st.health.get(id), now, policy);
    st.health.set(id, health);
    // Start over on a fresh connection: memjs's socket state after errors/timeouts is not to be trusted
    // (memjs issues #117, #162), and an orphaned request there would never call back.
    const fresh = createServer(id);
    const idx = st.servers.indexOf(server);
    if (idx >= 0) st.servers[idx] = fresh;
    st.serverById.set(id, fresh);
    retire(server);
    if (ejected) {
      telemetry.log("warn", "memcached node ejected", { node: id, failures: health.failures, retryAfterMs: policy.retryAfterMs, error: errorText(err) });
      telemetry.metric(METRIC.nodeEjected);
    } else {
      telemetry.log("debug", "memcached node failure", { node: id, failures: health.failures, error: errorText(err) });
    }
    maybeRefresh(now, true);
  }

  function onNodeSuccess(id: string, server: Server): void {
    if (st.serverById.get(id) !== server) return;
    const h = st.health.get(id);
    if (h && (h.failures > 0 || isEjected(h))) {
      if (isEjected(h)) telemetry.log("info", "memcached node back", { node: id });
      st.health.set(id, recordSuccess());
    }
  }

  async function waitForTopology(budget: number): Promise<boolean> {
    if (st.topology) return true;
    const wait = Math.min(budget, o.initialDiscoveryWaitMs);
    if (wait <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([st.ready, new Promise<void>((r) => { timer = setTimeout(r, wait); })]);
    clearTimeout(timer);
    return st.topology !== undefined;
  }

  /** Count of operations in flight (close() waits for them) and who waits for zero. */
  function opStarted(): void {
    st.inflight++;
  }
  function opEnded(): void {
    st.inflight--;
    if (st.inflight === 0 && st.drainWaiters.length > 0) for (const w of st.drainWaiters.splice(0)) w();
  }
  function drained(): Promise<void> {
    return st.inflight === 0 ? Promise.resolve() : new Promise((resolve) => { st.drainWaiters.push(resolve); });
  }

  /**
   * Run one memjs operation on the node owning `key`, bounded by `budget` ms; `map` turns the
   * outcome into the method's result. Never rejects. `start` must call memjs synchronously (so
   * getServer sees the same routing decision). One promise per operation on the hot path.
   */
  function run<R, T>(key: string, budget: number, start: (cb: (err: unknown, value?: R) => void) => void, map: (o: OpOutcome<R>) => T, forceNode?: string): Promise<T> {
    if (st.closed) return Promise.resolve(map({ ok: false, reason: "closed", nodeFailure: false }));
    const t0 = clock();
    maybeRefresh(t0, false);
    if (!st.topology) {
      // Only the first operations of a process, while the first discovery is still running.
      opStarted();
      return waitForTopology(budget).then((ready) => {
        opEnded();
        if (!ready) return map({ ok: false, reason: "no topology yet", nodeFailure: false });
        return run(key, budget - (clock() - t0), start, map, forceNode);
      });
    }
    if (budget <= 0) return Promise.resolve(map({ ok: false, reason: "no time left", nodeFailure: false }));
    // A forced node is tried even when ejected here: invalidations must reach every node that may hold the key.
    const idx = forceNode === undefined ? route(key, true) : st.ring.nodes.indexOf(forceNode);
    if (idx < 0) return Promise.resolve(map({ ok: false, reason: forceNode === undefined ? "no memcached node available" : `unknown node ${forceNode}`, nodeFailure: false }));
    const id = st.ring.nodes[idx];
    const server = st.servers[idx];
    const connected = (server as unknown as ServerInternals).connected === true;
    const fullMs = o.opTimeoutMs + (connected ? 0 : o.connectTimeoutMs);
    const timerMs = Math.min(budget, fullMs);
    const concurrent = st.pending.get(server) ?? 0;
    st.pending.set(server, concurrent + 1);
    opStarted();

    return new Promise<T>((resolve) => {
      let done = false;
      // Declared before use: Pulumi's closure serializer rejects a closure using a later `const`.
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: OpOutcome<R>, err?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const left = (st.pending.get(server) ?? 1) - 1;
        if (left > 0) st.pending.set(server, left);
        else {
          st.pending.delete(server);
          if (st.retired.delete(server)) destroyServer(server);
        }
        if (outcome.ok) onNodeSuccess(id, server);
        else if (outcome.nodeFailure) onNodeFailure(id, server, err);
        opEnded();
        let result: T;
        try {
          result = map(outcome);
        } catch (e) {
          result = map({ ok: false, reason: errorText(e), nodeFailure: false });
        }
        resolve(result);
      };
      // Our own timer, not unref'd: memjs can lose a request when a server closes the connection
      // (the request then never calls back and nothing keeps the event loop alive, memjs #162).
      timer = setTimeout(() => {
        // Only a timeout of the full length says something about the node; one cut short by the
        // caller's deadline does not.
        settle({ ok: false, reason: `timeout after ${timerMs} ms`, nodeFailure: timerMs >= fullMs }, new Error(`memcached op timed out after ${timerMs} ms`));
      }, timerMs);
      st.routedKey = key;
      st.routedIdx = idx;
      // Under concurrency, batch the writes of one tick into one syscall: cork the connected socket,
      // uncork on nextTick. A lone request (the Lambda case) is written at once.
      const sock = connected && concurrent > 0 ? (server as unknown as ServerInternals)._socket : undefined;
      if (sock && !sock.destroyed && sock.writableCorked === 0) {
        sock.cork();
        process.nextTick(() => sock.uncork());
      }
      try {
        start((err, value) => {
          if (err) settle({ ok: false, reason: errorText(err), nodeFailure: !isProtocolStatusError(err) }, err);
          else settle({ ok: true, value: value as R });
        });
      } catch (err) {
        settle({ ok: false, reason: errorText(err), nodeFailure: false }, err);
      } finally {
        st.routedKey = undefined;
        st.routedIdx = -1;
      }
    });
  }

  // Kick off discovery right away (Lambda init phase), or install the static list.
  if (endpoint) void refresh();
  else applyNodes(staticNodes, "static", -1);

  function get(key: string, budget: number, node?: string): Promise<L2GetResult> {
    return run<Buffer | null, L2GetResult>(key, budget, (cb) => client.get(key, (err, value) => cb(err, value)), (out) => {
      if (!out.ok) return { kind: "error", reason: out.reason };
      if (!out.value) return { kind: "miss" };
      return { kind: "hit", raw: out.value.toString("utf8"), bytes: out.value.length };
    }, node);
  }

  function set(key: string, value: string, exptime: number, budget: number, node?: string): Promise<boolean> {
    return run<boolean | null, boolean>(key, budget, (cb) => client.set(key, value, { expires: exptime }, (err, ok) => cb(err, ok)), (out) => out.ok && out.value === true, node);
  }

  function add(key: string, value: string, exptime: number, budget: number, node?: string): Promise<L2AddResult> {
    return run<boolean | null, L2AddResult>(key, budget, (cb) => client.add(key, value, { expires: exptime }, (err, ok) => cb(err, ok)), (out) => {
      if (!out.ok) return "error";
      return out.value ? "stored" : "exists";
    }, node);
  }

  function del(key: string, budget: number, node?: string): Promise<L2DeleteResult> {
    return run<boolean | null, L2DeleteResult>(key, budget, (cb) => client.delete(key, (err, ok) => cb(err, ok)), (out) => {
      if (!out.ok) return "error";
      return out.value === true ? "deleted" : "missing";
    }, node);
  }

  return {
    maxItemBytes: o.maxItemBytes,

    get: (key, budget) => get(key, budget),
    set: (key, value, exptime, budget) => set(key, value, exptime, budget),
    add: (key, value, exptime, budget) => add(key, value, exptime, budget),
    delete: async (key, budget) => (await del(key, budget)) === "deleted",
    nodes: () => [...st.ring.nodes],
    getFrom: (node, key, budget) => get(key, budget, node),
    setOn: (node, key, value, exptime, budget) => set(key, value, exptime, budget, node),
    addOn: (node, key, value, exptime, budget) => add(key, value, exptime, budget, node),
    deleteFrom: (node, key, budget) => del(key, budget, node),

    nodeFor(key) {
      const idx = route(key, false);
      return idx < 0 ? undefined : st.ring.nodes[idx];
    },

    ownerOf(key) {
      const idx = ringLookup(st.ring, hash32(key));
      return idx < 0 ? undefined : st.ring.nodes[idx];
    },

    topology() {
      return st.topology ? { ...st.topology, nodes: [...st.topology.nodes] } : undefined;
    },

    pendingOps() {
      return st.inflight;
    },

    ejectedNodes() {
      return [...st.health.entries()].filter(([, h]) => isEjected(h)).map(([id]) => id).sort();
    },

    refresh,

    async whenReady() {
      await st.ready;
    },

    async close() {
      if (st.closed) {
        await drained();
        return;
      }
      st.closed = true;
      st.discoverySocket?.destroy();
      // Never quit() under in-flight requests (memjs: quit races them); they are bounded by our timers.
      await drained();
      for (const s of [...st.servers, ...st.retired]) destroyServer(s);
      st.retired.clear();
      st.pending.clear();
      st.readyResolve?.();
    },
  };
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
