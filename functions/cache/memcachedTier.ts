import { Client, Server } from "memjs";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
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
   * memjs 1.3.2 has no TLS and no public way to hand it a socket: with this option (and only then)
   * {@link useTls} replaces each node client's connect routine by one that opens a TLS socket; the memjs
   * internals it needs are listed there. Default false.
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

// ---- TLS transport: the ONLY place that touches memjs internals ------------------------------------

/**
 * The memjs 1.3.2 internals {@link useTls} needs (lib/memjs/server.js), and nothing else in this file
 * uses: the `sock(sasl, go)` method it replaces; the state that method shares with the rest of the
 * Server (`_socket`, `connected`, `timeoutSet`, `connectCallbacks`: memjs's write path, its response
 * timeout handler and `error()` read and reset them); `options.conntimeout/keepAlive/keepAliveDelay`;
 * and the methods the socket feeds (`responseHandler(data)`, `error(err)`, `onConnect(go)`).
 */
interface TlsServerInternals {
  connected?: boolean;
  _socket?: Socket;
  timeoutSet?: boolean;
  connectCallbacks?: ((socket: Socket) => void)[];
  options: { conntimeout: number; keepAlive: boolean; keepAliveDelay: number };
  responseHandler(data: Buffer): void;
  error(err: unknown): void;
  onConnect(go: (socket: Socket) => void): void;
  sock(sasl: boolean, go: (socket: Socket) => void): void;
}

/**
 * Make a node's memjs client connect over TLS. memjs 1.3.2 has neither a TLS option nor a socket
 * factory or hook (its Server constructor options are timeout, conntimeout, keepAlive, keepAliveDelay,
 * username, password), so this replaces `Server.prototype.sock` on the client's one Server
 * (`client.servers[0]`) by a copy of memjs's own that calls `tls.connect` instead of `net.connect`, with
 * the same state transitions otherwise (no SASL: ElastiCache memcached has none). The memjs version is
 * pinned (package.json); test/functions/cache/tls.test.ts runs this against a real TLS memcached.
 * (An in-process plaintext-to-TLS loopback proxy would avoid the internals but adds a hop to every
 * operation and an unauthenticated local listener per node.)
 */
function useTls(client: Client, host: string, port: number, tlsOptions: MemcachedTlsOptions, servername: string | undefined, onOpen: (socket: Socket) => void): void {
  const self = client.servers[0] as unknown as TlsServerInternals;
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
        onOpen(s);
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

// ---- node clients (memjs public API only) ----------------------------------------------------------

/**
 * Node's built-in diagnostics channel published by `net.connect` with `{ socket }` for every new TCP
 * client socket (Node ≥ 16, documented under diagnostics_channel "Built-in channels"). memjs 1.3.2
 * opens its connection with `net.connect` synchronously inside `get`/`set`/`add`/`delete` when it
 * has none, so a socket announced while we are inside such a call is that client's. If that ever
 * stops being true, nothing breaks: `socket` stays unknown, "connected" falls back to `warm`, writes
 * are not corked, and `close()` relies on memjs's `Client#close`.
 */
const NODE_SOCKETS = "net.client.socket";

/** The environment variables memjs takes SASL credentials from when a server has none. */
const SASL_ENV = ["MEMCACHIER_USERNAME", "MEMCACHE_USERNAME", "MEMCACHIER_PASSWORD", "MEMCACHE_PASSWORD"] as const;

/**
 * Run `create` with memjs's SASL fallback variables hidden: memjs reads them in its Server constructor
 * (synchronously), and ElastiCache memcached has no SASL, so credentials meant for something else
 * must not make it try. Restored before returning; nothing else runs in between.
 */
function withoutSaslEnv<T>(create: () => T): T {
  const saved = SASL_ENV.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string] as const);
  if (saved.length === 0) return create();
  for (const [k] of saved) delete process.env[k];
  try {
    return create();
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
}

/** One memcached node: its own memjs Client (one Server, one connection), created and closed by us. */
interface NodeClient {
  readonly id: string;
  readonly client: Client;
  /**
   * The client's connection, as observed from outside memjs: Node's public `net.client.socket`
   * diagnostics channel announces every socket `net.connect` creates, and memjs creates its socket
   * synchronously inside the operation call we make (see {@link NODE_SOCKETS}); with TLS, our own
   * transport hands it over once the handshake is done. Used for Node's socket API only (`readyState`,
   * `cork`, `destroy`); undefined until seen.
   */
  socket?: Socket;
  /**
   * An answer came back on this client (the fallback for "connected" while `socket` is unknown). A
   * client whose connection failed is replaced, never reused.
   */
  warm: boolean;
  /** Operations in flight on it. */
  pending: number;
  /** Replaced or removed from the topology: closed once `pending` is 0. */
  retired: boolean;
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
 * Create the memcached tier: one memjs Client per node (memjs's public API: `Client.create`, `get`,
 * `set`, `add`, `delete`, `close`), routed by our own consistent-hash ring, fed by Auto Discovery or a
 * static list. Node health, ejection and replacement of failed connections are ours too.
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
    /** clients[i] is the client of ring.nodes[i]; swapped together with the ring. */
    clients: [] as NodeClient[],
    clientById: new Map<string, NodeClient>(),
    addressById: new Map<string, { host: string; port: number; servername?: string }>(),
    health: new Map<string, NodeHealth>(),
    /** Replaced or removed clients still running operations (closed when the last one settles). */
    retired: new Set<NodeClient>(),
    inflight: 0,
    drainWaiters: [] as (() => void)[],
    topology: undefined as TopologyInfo | undefined,
    refreshing: undefined as Promise<void> | undefined,
    lastRefreshAt: 0,
    discoverySocket: undefined as Socket | undefined,
    /** The client whose operation call is running right now (sockets announced meanwhile are its). */
    calling: undefined as NodeClient | undefined,
    readyResolve: undefined as (() => void) | undefined,
    ready: undefined as Promise<void> | undefined,
  };
  st.ready = new Promise<void>((resolve) => { st.readyResolve = resolve; });

  const clientOptions = {
    retries: 1, // memjs retries nothing: we decide (a failed op is a miss)
    failover: false, // one server per client: ejection is ours (ring-aware)
    expires: 0,
    logger: { log: (...args: unknown[]) => telemetry.log("debug", "memjs", { detail: args.map(String).join(" ") }) },
    // Server options (memjs takes them in seconds).
    timeout: o.opTimeoutMs / 1000,
    conntimeout: o.connectTimeoutMs / 1000,
    keepAlive: o.keepAlive,
    keepAliveDelay: 30,
  };

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

  const onNodeSocket = (message: unknown): void => {
    const node = st.calling;
    const socket = (message as { socket?: Socket } | undefined)?.socket;
    if (node && socket && !node.retired) node.socket = socket;
  };
  subscribe(NODE_SOCKETS, onNodeSocket);

  /** The node's connection is open (an operation on it needs no connect time). */
  function isOpen(node: NodeClient): boolean {
    const s = node.socket;
    return s ? !s.destroyed && s.readyState === "open" : node.warm;
  }

  function createClient(id: string): NodeClient {
    const addr = st.addressById.get(id) as { host: string; port: number; servername?: string };
    const client = withoutSaslEnv(() => addr.host.includes(":")
      // Client.create parses "host:port" by splitting on ":", so an IPv6 node gets memjs's exported
      // Server and Client constructors (what Client.create calls) instead.
      ? new Client([new Server(addr.host, addr.port, undefined, undefined, clientOptions)], clientOptions)
      : Client.create(`${addr.host}:${addr.port}`, clientOptions));
    const node: NodeClient = { id, client, warm: false, pending: 0, retired: false };
    if (tlsOptions) useTls(client, addr.host, addr.port, tlsOptions, addr.servername, (socket) => { if (!node.retired) node.socket = socket; });
    return node;
  }

  function closeClient(node: NodeClient): void {
    try {
      node.client.close(); // memjs Client#close: ends its connection
      node.socket?.destroy(); // and do not wait for a hung node's FIN
    } catch {
      // already gone
    }
  }

  /** Stop using a node's client; it is closed once its in-flight operations are settled. */
  function retire(node: NodeClient): void {
    node.retired = true;
    if (node.pending === 0) {
      st.retired.delete(node);
      closeClient(node);
    } else {
      st.retired.add(node);
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
    // A node that stays keeps its client (and connection); a new node gets one; a removed node's is closed.
    const clientById = new Map<string, NodeClient>();
    const clients = ring.nodes.map((id) => {
      const c = st.clientById.get(id) ?? createClient(id);
      clientById.set(id, c);
      return c;
    });
    for (const [id, c] of st.clientById) {
      if (!keep.has(id)) {
        retire(c);
        st.health.delete(id);
        st.addressById.delete(id);
      }
    }
    // Swap everything in one synchronous step: a lookup always sees a matching ring/clients pair.
    st.ring = ring;
    st.clients = clients;
    st.clientById = clientById;
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

  function onNodeFailure(id: string, node: NodeClient, err: unknown): void {
    if (st.clientById.get(id) !== node) return; // a failure of a client we already replaced
    const now = clock();
    const { health, ejected } = recordFailure(st.health.get(id), now, policy);
    st.health.set(id, health);
    // Start over with a fresh client: memjs's socket state after errors/timeouts is not to be trusted
    // (memjs issues #117, #162), and an orphaned request there would never call back.
    const fresh = createClient(id);
    const idx = st.clients.indexOf(node);
    if (idx >= 0) st.clients[idx] = fresh;
    st.clientById.set(id, fresh);
    retire(node);
    if (ejected) {
      telemetry.log("warn", "memcached node ejected", { node: id, failures: health.failures, retryAfterMs: policy.retryAfterMs, error: errorText(err) });
      telemetry.metric(METRIC.nodeEjected);
    } else {
      telemetry.log("debug", "memcached node failure", { node: id, failures: health.failures, error: errorText(err) });
    }
    maybeRefresh(now, true);
  }

  function onNodeSuccess(id: string, node: NodeClient): void {
    if (st.clientById.get(id) !== node) return;
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
   * Run one memjs operation on the client of the node owning `key` (or `forceNode`), bounded by
   * `budget` ms; `map` turns the outcome into the method's result. Never rejects. One promise per
   * operation on the hot path.
   */
  function run<R, T>(key: string, budget: number, start: (client: Client, cb: (err: unknown, value?: R) => void) => void, map: (o: OpOutcome<R>) => T, forceNode?: string): Promise<T> {
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
    const node = st.clients[idx];
    const open = isOpen(node);
    const fullMs = o.opTimeoutMs + (open ? 0 : o.connectTimeoutMs);
    const timerMs = Math.min(budget, fullMs);
    const concurrent = node.pending;
    node.pending++;
    opStarted();

    return new Promise<T>((resolve) => {
      let done = false;
      // Declared before use: Pulumi's closure serializer rejects a closure using a later `const`.
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: OpOutcome<R>, err?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        node.pending--;
        if (node.pending === 0 && st.retired.delete(node)) closeClient(node);
        if (outcome.ok) onNodeSuccess(id, node);
        else if (outcome.nodeFailure) onNodeFailure(id, node, err);
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
      // Under concurrency, batch the writes of one tick into one syscall: cork the open socket,
      // uncork on nextTick. A lone request (the Lambda case) is written at once.
      const sock = open && concurrent > 0 ? node.socket : undefined;
      if (sock && !sock.destroyed && sock.writableCorked === 0) {
        sock.cork();
        process.nextTick(() => sock.uncork());
      }
      st.calling = node;
      try {
        start(node.client, (err, value) => {
          if (err && !isProtocolStatusError(err)) {
            settle({ ok: false, reason: errorText(err), nodeFailure: true }, err);
            return;
          }
          node.warm = true; // the node answered (a status such as "value too large" is an answer too)
          if (err) settle({ ok: false, reason: errorText(err), nodeFailure: false }, err);
          else settle({ ok: true, value: value as R });
        });
      } catch (err) {
        settle({ ok: false, reason: errorText(err), nodeFailure: false }, err);
      } finally {
        st.calling = undefined;
      }
    });
  }

  // Kick off discovery right away (Lambda init phase), or install the static list.
  if (endpoint) void refresh();
  else applyNodes(staticNodes, "static", -1);

  function get(key: string, budget: number, node?: string): Promise<L2GetResult> {
    return run<Buffer | null, L2GetResult>(key, budget, (client, cb) => client.get(key, (err, value) => cb(err, value)), (out) => {
      if (!out.ok) return { kind: "error", reason: out.reason };
      if (!out.value) return { kind: "miss" };
      return { kind: "hit", raw: out.value.toString("utf8"), bytes: out.value.length };
    }, node);
  }

  function set(key: string, value: string, exptime: number, budget: number, node?: string): Promise<boolean> {
    return run<boolean | null, boolean>(key, budget, (client, cb) => client.set(key, value, { expires: exptime }, (err, ok) => cb(err, ok)), (out) => out.ok && out.value === true, node);
  }

  function add(key: string, value: string, exptime: number, budget: number, node?: string): Promise<L2AddResult> {
    return run<boolean | null, L2AddResult>(key, budget, (client, cb) => client.add(key, value, { expires: exptime }, (err, ok) => cb(err, ok)), (out) => {
      if (!out.ok) return "error";
      return out.value ? "stored" : "exists";
    }, node);
  }

  function del(key: string, budget: number, node?: string): Promise<L2DeleteResult> {
    return run<boolean | null, L2DeleteResult>(key, budget, (client, cb) => client.delete(key, (err, ok) => cb(err, ok)), (out) => {
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
      unsubscribe(NODE_SOCKETS, onNodeSocket);
      st.discoverySocket?.destroy();
      // Never quit() under in-flight requests (memjs: quit races them); they are bounded by our timers.
      await drained();
      for (const c of [...st.clients, ...st.retired]) closeClient(c);
      st.retired.clear();
      st.readyResolve?.();
    },
  };
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
