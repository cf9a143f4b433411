// startChatServer: the HTTP/websocket front, authentication, frame handling, commands, heartbeats, metrics and drain.
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  encodeServerFrame,
  ErrorCode,
  parseServerCommand,
  redisKeys,
  UpgradeRefusal,
  type CommandAck,
  type DrainRoute,
  type RedisKeys,
  type ServerCommand,
} from '@chatfleet/protocol';
import { mintTicket, withToken } from '@chatfleet/protocol/tickets';
import { Bus, RedisLink, removeServer } from '@chatfleet/redis';
import { AbuseCounters } from './abuse.js';
import { CommandAcks } from './command-acks.js';
import type { ChatServerConfig } from './config.js';
import type { ClientConnection } from './client-connection.js';
import { Connection, type ConnectionHost } from './connection.js';
import { drainTargets, readPeers, spreadClients } from './control.js';
import { Durability } from './durability.js';
import { OwnerWatch } from './owner-watch.js';
import { FallbackTransport } from './fallback/fallback-transport.js';
import { acceptGuard } from './file-limit.js';
import { FrameHandler } from './frames.js';
import { createLogger, type Logger } from './log.js';
import { MetricsWriter } from './metrics.js';
import { pickMovers, routeMap, routeOf } from './movers.js';
import { PingWheel, wheelTiming } from './ping-wheel.js';
import { Publisher } from './publisher.js';
import { ALL_SCRIPTS } from './redis-scripts.js';
import { Rooms, type RoomCounters } from './rooms.js';
import { RedisRecovery } from './recovery.js';
import { RedirectPacer, redirectInterval } from './redirect-pacing.js';
import type { FrameLimits } from './transport/frame-parser.js';
import { switchingProtocols } from './transport/handshake.js';
import { clientErrorRefusal, decideUpgrade, refuse } from './upgrade.js';
import { Users } from './users.js';
import { collectAndShrink, QuietCollector } from './quiet-gc.js';

export type { ChatServerConfig } from './config.js';
export { chatServerConfig, loadConfig } from './config.js';

/** What a running chat server exposes. */
export interface ChatServer {
  readonly id: string;
  /** Websocket base URL, `ws://PUBLIC_HOST:port/`, without a token. */
  readonly url: string;
  /** Drains (redistribute + close 1001), removes this server's keys, closes everything. Idempotent. */
  stop(reason?: string): Promise<void>;
}

/** Optional collaborators, mostly for main.ts. */
export interface ChatServerDeps {
  log?: Logger;
  /** Called once when draining begins, whatever the cause. */
  onDraining?: () => void;
  /** Called once when the server has stopped, whatever the cause (a `drain` command included). */
  onStopped?: (reason: string) => void;
  /**
   * True while the balancer that forked this server is still attached (its
   * IPC channel open). A managed server that is not attached watches its
   * owner in Redis and drains after ORPHAN_TIMEOUT_MS without one (see
   * owner-watch.ts). Default: attached whenever the process has an IPC channel.
   */
  attached?: () => boolean;
}

/** Starts a chat server; resolves once it listens, Redis is connected, commands are subscribed and metrics written. */
export async function startChatServer(config: ChatServerConfig, deps: ChatServerDeps = {}): Promise<ChatServer> {
  const log = deps.log ?? createLogger(config.serverId, config.logLevel);
  // No per-command timeout: node-redis would arm a 5 s AbortSignal timer for each of the several commands
  // of every client connect, old-space garbage by the time it fires (about 5 KB of RSS per idle
  // connection, and a third of the CPU of a connect). A command issued while Redis is away waits for
  // it to come back instead of failing after 5 s; every step of a shutdown keeps its own deadline.
  const links = { connectTimeoutMs: config.redisConnectTimeoutMs, sentinelScanIntervalMs: 1000, commandTimeoutMs: 0 };
  const redis = new RedisLink(config.redisUrl, links);
  // With DURABLE_ACKS, messages are written (and WAITed for) on a connection of their own.
  const writer = config.durableAcks > 0 ? redis.duplicate() : redis;
  // Metrics and the heartbeat on a connection of their own, opened now: a flood of commands on the main
  // one (thousands of clients leaving at once) must not hold the heartbeat back until the balancer
  // takes the server for dead, and no write of theirs needs a new file descriptor later.
  const beat = redis.duplicate();
  const reportError = throttledErrorLog(log);
  redis.on('error', (err: unknown) => reportError('redis', err));
  if (writer !== redis) writer.on('error', (err: unknown) => reportError('redis writer', err));
  beat.on('error', (err: unknown) => reportError('redis metrics', err));
  const keys = redisKeys(config.redisPrefix);
  const bus = new Bus({
    link: redis,
    probeChannel: (tag) => keys.busProbe(config.serverId, tag),
    probeIntervalMs: config.busProbeIntervalMs,
    probeTimeoutMs: config.busProbeTimeoutMs,
    connectTimeoutMs: config.redisConnectTimeoutMs,
  });
  bus.on('error', (err: unknown) => reportError('redis subscriber', err));
  try {
    await withDeadline(
      (async () => {
        await Promise.all([redis.connect(), beat.connect(), writer === redis ? undefined : writer.connect()]);
        await bus.start();
      })(),
      config.redisConnectTimeoutMs,
      `could not connect to Redis at ${redis.description} within ${config.redisConnectTimeoutMs} ms`,
    );
  } catch (error) {
    await bus.close().catch(() => undefined);
    redis.destroy();
    beat.destroy();
    if (writer !== redis) writer.destroy();
    throw error;
  }
  const core = new ChatServerCore(config, log, keys, redis, writer, beat, bus, deps);
  try {
    await core.start();
  } catch (error) {
    await core.stop('start-up failed').catch(() => undefined);
    throw error;
  }
  return { id: config.serverId, url: core.url, stop: (reason) => core.stop(reason ?? 'stop') };
}

/** Everything one running server owns. */
class ChatServerCore implements ConnectionHost {
  readonly connections = new Set<ClientConnection>();
  readonly rooms: Rooms;
  readonly users: Users;
  private readonly frames: FrameHandler;
  readonly slowConsumerBytes: number;
  readonly slowGraceMs: number;
  readonly frameLimits: FrameLimits;
  /** Refused frames, abuse closes and refused upgrades, by reason (written with the metrics). */
  readonly abuse: AbuseCounters;
  /** Room messages fanned out since the last metrics write, and the gap repairs so far. */
  readonly counters: RoomCounters = { socketWrites: 0, fanout: 0, repairs: 0, repairedMessages: 0 };
  url = '';
  private readonly http: Server;
  /** The SSE + POST fallback for clients whose websockets are blocked. */
  private readonly fallback: FallbackTransport;
  private readonly metrics: MetricsWriter;
  private readonly recovery: RedisRecovery;
  private readonly burst: number;
  private readonly startedAt = Date.now();
  private draining = false;
  /** Set once start() finished; a failed start does not report a stop. */
  private started = false;
  private stopping: Promise<void> | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  /** Counts connects and closes toward the quiet collection (QUIET_GC_CHURN); its timer runs from start(). */
  private readonly quietGc: QuietCollector;
  private metricsWrite: Promise<void> | undefined;
  /** The quiet collection under way, if any. */
  private collection: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly durability: Durability;
  /** The newest fencing token seen on a command; commands with an older one are ignored. */
  private fence = 0;
  private readonly ownerWatch: OwnerWatch | undefined;
  private readonly acks: CommandAcks;
  /** Redirects waiting for their slot, per target (REDIRECT_RATE_PER_SEC with jitter). */
  private readonly pacer: RedirectPacer<PacedRedirect>;

  constructor(
    readonly config: ChatServerConfig,
    readonly log: Logger,
    readonly keys: RedisKeys,
    readonly redis: RedisLink,
    private readonly writer: RedisLink,
    /** The metrics' and heartbeat's own connection. */
    private readonly beat: RedisLink,
    readonly bus: Bus,
    private readonly deps: ChatServerDeps,
  ) {
    this.slowConsumerBytes = config.slowConsumerBytes;
    this.slowGraceMs = config.redirectGraceMs;
    this.frameLimits = { maxPayload: config.maxPayload, maxFragments: config.maxFragments };
    this.abuse = new AbuseCounters(log);
    this.burst = config.rateLimit * 2;
    this.quietGc = new QuietCollector(config.quietGcChurn);
    this.durability = new Durability(writer, config.durableAcks, config.durableWaitMs, 500, log);
    this.acks = new CommandAcks(redis, keys, config.serverId, config.commandAckTtlMs);
    this.pacer = new RedirectPacer((target, item) => this.sendPaced(target, item));
    this.rooms = new Rooms(redis, bus, keys, config.serverId, log, this.counters);
    this.users = new Users(redis, bus, keys, config.serverId, log, this.durability, config.historyLimit);
    const publisher = new Publisher(writer, keys, config.historyLimit);
    this.frames = new FrameHandler(config, log, redis, keys, this.rooms, this.users, publisher, this.durability);
    bus.route(keys.serverCommands(config.serverId), (message) => this.onCommand(message));
    bus.on('gap', (why) => this.repair(why));
    bus.on('suspect', (why) => {
      this.log.warn({ why }, 'bus may be missing messages: holding live messages until the gap is repaired');
      this.rooms.hold();
      this.users.hold();
    });
    bus.on('health', (healthy) => {
      if (healthy) this.log.info('bus healthy again: its probes come back');
    });
    const host = this;
    this.fallback = new FallbackTransport({
      config,
      log,
      connectionHost: this,
      burst: this.burst,
      get draining() {
        return host.draining;
      },
      get full() {
        return host.full;
      },
      accept: (connection, sinceDirect) => this.accept(connection, sinceDirect),
    });
    // A request (upgrade or plain) must be complete within UPGRADE_TIMEOUT_MS, or Node answers 408 and
    // cuts it (see onClientError); Node checks its pending requests at connectionsCheckingInterval.
    const timeout = config.upgradeTimeoutMs;
    this.http = createServer(
      {
        headersTimeout: timeout,
        requestTimeout: timeout,
        connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
      },
      (req, res) => {
        if (this.fallback.handle(req, res)) return;
        const path = (req.url ?? '/').split('?')[0];
        if (req.method === 'GET' && path === '/healthz') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok', serverId: config.serverId, draining: this.draining, clients: this.connections.size }));
          return;
        }
        // A refusal like the upgrade refusals: `connection: close` makes Node close TCP once it is written.
        this.abuse.upgradeRefused('plain_http');
        res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'close' });
        res.end(JSON.stringify({ error: 'upgrade_required', message: 'connect with a websocket and ?token=<ticket>' }));
      },
    );
    // Past the cap, upgrades get 503; past this guard (half the file reserve above it) Node closes
    // sockets as soon as they are accepted, so pending upgrades cannot take the descriptors Redis needs.
    this.http.maxConnections = acceptGuard(config.fileLimit, config.maxConnections);
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    this.metrics = new MetricsWriter(beat, this.keys, {
      id: config.serverId,
      url: '',
      host: config.publicHost,
      startedAt: this.startedAt,
      managed: config.managed,
      hostId: config.hostId,
    });
    if (config.managed) {
      const attached = deps.attached ?? (() => process.connected);
      this.ownerWatch = new OwnerWatch(redis, keys, {
        serverId: config.serverId,
        forkedBy: config.balancerId,
        heartbeatTimeoutMs: config.heartbeatTimeoutMs,
        orphanTimeoutMs: config.orphanTimeoutMs,
        attached,
        log,
        onTimeout: () => {
          this.stop('no balancer adopted this server').catch((err: unknown) => this.log.error({ err }, 'orphan drain failed'));
        },
      });
    }
    const core = this;
    this.recovery = new RedisRecovery(redis, keys, config.serverId, log, {
      roomCounts: () => this.rooms.figures().counts,
      roomUsers: (chatId) => this.rooms.localUsers(chatId),
      userCounts: () => this.users.counts(),
      writeMetricsNow: () => this.tickMetrics(),
      get draining() {
        return core.draining;
      },
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    // EMFILE / ENFILE on accept land here: libuv closes the connection it could not take and keeps listening.
    const httpError = throttledErrorLog(this.log);
    this.http.on('error', (err: NodeJS.ErrnoException) => httpError(`http server (${err.code ?? 'error'})`, err));
    const address = this.http.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
    this.url = `ws://${formatHost(this.config.publicHost)}:${port}/`;
    this.metrics.identity.url = this.url;
    await this.redis.load(ALL_SCRIPTS);
    await this.bus.subscribe(this.keys.serverCommands(this.config.serverId));
    await this.writeMetrics();
    this.metricsTimer = setInterval(() => this.tickMetrics(), this.config.metricsIntervalMs);
    // A slice of the connections per tick: a round over all of them at once stalled the loop (about 34 µs each).
    const { ticks, tickMs } = wheelTiming(this.config.pingIntervalMs);
    const wheel = new PingWheel(this.connections, ticks);
    this.pingTimer = setInterval(() => wheel.tick(), tickMs);
    if (this.config.quietGcChurn > 0) {
      this.gcTimer = setInterval(() => this.collectIfQuiet(), 1000);
      this.gcTimer.unref();
    }
    this.started = true;
    this.recovery.start();
    this.log.info({ url: this.url, managed: this.config.managed }, 'chat server ready');
  }

  // ---- connections ---------------------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket);
    const decision = decideUpgrade(req.method, req.url, req.headers, {
      draining: this.draining,
      full: this.full,
      allowedOrigins: this.config.allowedOrigins,
      authSecret: this.config.authSecret,
      now: Date.now(),
    });
    if (!decision.ok) {
      this.abuse.upgradeRefused(decision.reason);
      this.log.debug({ reason: decision.reason, detail: decision.detail }, 'upgrade refused');
      return refuse(socket, decision.status, decision.message, decision.headers);
    }
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    // Nothing keeps `req` from here on: the connection holds the socket only.
    socket.write(switchingProtocols(decision.key, decision.protocol));
    this.onConnection(socket as Socket, decision.userId, head, decision.sinceDirect);
  }

  /**
   * Node's HTTP parser gave up on a connection before a request was complete:
   * not HTTP, headers too large, or UPGRADE_TIMEOUT_MS passed. Answered as
   * Node would (400, 431, 408) but counted, and closed once written.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const reason = clientErrorRefusal(err.code);
    if (reason === undefined || !socket.writable || (socket as Socket).bytesWritten > 0) {
      socket.destroy();
      return;
    }
    this.abuse.upgradeRefused(reason);
    const status = UpgradeRefusal[reason];
    refuse(socket, status, STATUS_CODES[status] ?? 'Bad Request');
  }

  private onConnection(socket: Socket, userId: string, head: Buffer, sinceDirect: string | undefined): void {
    const now = Date.now();
    const connection = new Connection(socket, userId, now, this, this.burst);
    this.accept(connection, sinceDirect);
    connection.attach(head);
  }

  /** A new client connection of either transport: counted, online (its missed directs after `sinceDirect` follow), welcomed. */
  private accept(connection: ClientConnection, sinceDirect: string | undefined): void {
    this.connections.add(connection);
    this.quietGc.note(Date.now());
    if (this.connections.size === this.config.maxConnections) this.fullChanged();
    this.greeting.set(connection, []);
    // `welcome` once the user's channel is live, so every direct sent after it reaches this connection.
    void this.users.connect(connection, sinceDirect, () => this.welcome(connection));
  }

  /** Sends `welcome`, then handles the frames the client sent before it, in order. */
  private welcome(connection: ClientConnection): void {
    const early = this.greeting.get(connection);
    this.greeting.delete(connection);
    if (connection.closing) return;
    connection.send(
      encodeServerFrame('welcome', { serverId: this.config.serverId, userId: connection.userId, connectedAt: connection.connectedAt }),
    );
    for (const [data, isBinary] of early ?? []) this.frames.onMessage(connection, data, isBinary);
  }

  /** ConnectionHost: the transport reports protocol errors (e.g. 1009) here before it closes (counted by the close). */
  onProtocolError(connection: ClientConnection, code: number, reason: string): void {
    this.log.debug({ code, reason, userId: connection.userId }, 'websocket protocol error');
  }

  /** ConnectionHost: the socket closed, whoever closed it. */
  onClose(connection: ClientConnection): void {
    this.greeting.delete(connection);
    if (!this.connections.delete(connection)) return;
    this.quietGc.note(Date.now());
    if (this.connections.size === this.config.maxConnections - 1) this.fullChanged();
    connection.closing = true;
    this.rooms.leaveAll(connection);
    this.users.disconnect(connection);
    if (this.connections.size === 0) this.onEmpty?.();
  }

  /** True while the server holds MAX_CONNECTIONS clients: new ones get 503, the balancer skips it. */
  get full(): boolean {
    return this.connections.size >= this.config.maxConnections;
  }

  /** The server became full or has room again: said in the log, and in the metrics at once (not at the next tick). */
  private fullChanged(): void {
    const full = this.full;
    this.log.info({ clients: this.connections.size, maxConnections: this.config.maxConnections, full }, full ? 'full: refusing new clients' : 'room for clients again');
    if (this.started && !this.draining) this.writeMetricsOnce();
  }

  private onEmpty: (() => void) | undefined;
  /** Connections not yet welcomed, with the frames they sent meanwhile. */
  private readonly greeting = new Map<ClientConnection, Array<[Buffer, boolean]>>();

  private corked: ClientConnection[] = [];
  private readonly uncorkAll = (): void => {
    const corked = this.corked;
    this.corked = [];
    for (const connection of corked) connection.uncork();
  };

  /** ConnectionHost: batches a connection's writes until the event loop's next check phase. */
  queueUncork(connection: ClientConnection): void {
    if (this.corked.length === 0) {
      if (this.config.writeBatchMs === 0) setImmediate(this.uncorkAll);
      else setTimeout(this.uncorkAll, this.config.writeBatchMs);
    }
    this.corked.push(connection);
  }

  /** ConnectionHost: a client queued more than SLOW_CONSUMER_BYTES. */
  onSlowConsumer(connection: ClientConnection): void {
    this.log.info({ userId: connection.userId, buffered: connection.socket.writableLength }, 'closing a slow consumer');
    connection.closeSlow();
  }


  /** ConnectionHost: one frame from a client. Frames sent before `welcome` wait for it (at most EARLY_FRAMES). */
  onMessage(connection: ClientConnection, data: Buffer, isBinary: boolean): void {
    const early = this.greeting.get(connection);
    if (early === undefined) {
      this.frames.onMessage(connection, data, isBinary);
    } else if (early.length < EARLY_FRAMES) {
      early.push([Buffer.from(data), isBinary]);
    } else {
      connection.sendError(ErrorCode.rateLimited, `more than ${EARLY_FRAMES} frames before welcome`);
    }
  }

  // ---- commands ------------------------------------------------------------------------------

  private onCommand(message: string): void {
    const command = parseServerCommand(message);
    if (command === undefined) {
      this.log.warn({ message: message.slice(0, 200) }, 'ignoring a malformed command');
      return;
    }
    const id = command.id;
    const earlier = id === undefined ? undefined : this.acks.seen(id);
    if (earlier !== undefined) {
      // A resend of a command already carried out (its ack was not read in time): confirm again, do not repeat it.
      this.log.info({ id, type: command.type }, 'command seen already: confirming again');
      this.acks.write(earlier).catch((err: unknown) => this.log.warn({ err, id }, 'command ack write failed'));
      return;
    }
    const rooms = command.type === 'redistribute' ? command.moves?.length : command.routes?.length;
    this.log.info({ type: command.type, id, redirect: command.redirect, reason: command.reason, rooms }, 'command');
    this.runCommand(command);
  }

  private runCommand(command: ServerCommand): void {
    if (command.token !== undefined) {
      if (command.token < this.fence) {
        this.log.warn({ type: command.type, id: command.id, token: command.token, fence: this.fence }, 'ignoring a command from a stale leader (older fencing token)');
        // Said so in the ack, so the stale sender stops resending it.
        if (command.id !== undefined) {
          this.confirm(this.acks.ack(command.id, false, `ignored: fencing token ${command.token} is older than ${this.fence}`, 0));
        }
        return;
      }
      this.fence = command.token;
    }
    if (command.type === 'redistribute') {
      const result = this.redistribute(command);
      if (command.id !== undefined) this.confirm(this.acks.ack(command.id, result.ok, result.detail, result.moved));
      return;
    }
    const already = this.draining;
    const clients = this.connections.size;
    const routes = command.routes?.length ?? 0;
    const detail = already
      ? `already draining (${clients} clients left)`
      : `draining ${clients} clients${routes > 0 ? ` (${routes} rooms routed)` : ''} at ${this.config.redirectRatePerSec}/s per target`;
    // The ack goes out before the drain begins: a drain ends with this server's keys and connections gone.
    const acked = command.id === undefined ? Promise.resolve() : this.bounded(this.acks.confirm(this.acks.ack(command.id, true, detail, clients)), 'command ack');
    acked
      .then(() => this.stop(command.reason ?? 'drain command', command.redirect, command.routes))
      .catch((err: unknown) => this.log.error({ err }, 'drain failed'));
  }

  private confirm(ack: CommandAck): void {
    this.acks.confirm(ack).catch((err: unknown) => this.log.warn({ err, id: ack.id }, 'command ack write failed'));
  }

  /**
   * Moves clients to the command's target: members of the listed rooms (or any
   * `n` clients), each redirect in its slot at REDIRECT_RATE_PER_SEC with
   * jitter, each client closed with 1001 if still here REDIRECT_GRACE_MS after its redirect.
   */
  private redistribute(command: Extract<ServerCommand, { type: 'redistribute' }>): { ok: boolean; detail: string; moved: number } {
    if (this.draining) return { ok: false, detail: 'draining: not moving clients', moved: 0 };
    const reason = command.reason ?? 'rebalance';
    const picked = pickMovers(this.connections, command.moves, command.n);
    for (const { connection } of picked) connection.moving = true;
    const interval = redirectInterval(this.config.redirectRatePerSec, picked.length);
    const spreadMs = this.pacer.enqueue(
      command.redirect,
      picked.map(({ connection }) => ({ connection, reason, drain: false })),
      interval,
    );
    this.log.info({ moved: picked.length, asked: command.n, redirect: command.redirect, spreadMs }, 'redistributing clients');
    return {
      ok: true,
      moved: picked.length,
      detail:
        `moving ${picked.length} of ${command.n} asked to ${command.redirect}${describeRooms(picked)}, ` +
        `${this.config.redirectRatePerSec}/s over about ${(spreadMs / 1000).toFixed(1)} s`,
    };
  }

  /** The pacer's send: one redirect in its slot; false when the client already left. */
  private sendPaced(target: string, item: PacedRedirect): boolean {
    const { connection } = item;
    if (!this.connections.has(connection) || connection.closing) return false;
    this.sendRedirect(connection, target, item.reason);
    if (item.drain) {
      connection.close(CloseCode.goingAway, 'server draining', this.config.drainTimeoutMs);
      return true;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.connections.has(connection)) connection.close(CloseCode.goingAway, 'redistributed', this.config.redirectGraceMs);
    }, this.config.redirectGraceMs);
    this.timers.add(timer);
    return true;
  }

  private sendRedirect(connection: ClientConnection, base: string, reason: string): void {
    connection.moving = true;
    let redirect = '';
    if (base !== '') {
      const token = mintTicket(this.config.authSecret, connection.userId, Date.now() + this.config.tokenTtlS * 1000);
      redirect = withToken(base, token);
    }
    connection.send(encodeServerFrame('redistribute', { reason, redirect }));
  }

  /** The bus may have missed messages: fill every local room and user from history, once each. */
  private repair(why: string): void {
    if (this.draining) return;
    Promise.all([this.rooms.repairAll(why), this.users.repairAll()]).catch((err: unknown) =>
      this.log.warn({ err }, 'gap repair failed'),
    );
  }

  /** Runs the memory-reducing collection once a wave of connects or closes has gone quiet (QUIET_GC_CHURN). */
  private collectIfQuiet(): void {
    if (this.collection !== undefined || !this.quietGc.due(Date.now())) return;
    const startedAt = performance.now();
    this.collection = collectAndShrink()
      .then(() => this.log.debug({ ms: Math.round(performance.now() - startedAt), clients: this.connections.size }, 'full collection after a wave of connections'))
      .catch((err: unknown) => {
        this.log.warn({ err }, 'quiet collection unavailable; QUIET_GC_CHURN is off from now on');
        clearInterval(this.gcTimer);
      })
      .finally(() => {
        this.collection = undefined;
      });
  }

  // ---- metrics -------------------------------------------------------------------------------

  private tickMetrics(): void {
    this.ownerWatch?.tick();
    this.abuse.flush();
    this.writeMetricsOnce();
  }

  /** Starts a metrics write unless one is under way. */
  private writeMetricsOnce(): void {
    if (this.metricsWrite !== undefined) return;
    this.metricsWrite = this.writeMetrics()
      .catch((err: unknown) => this.log.warn({ err }, 'metrics write failed'))
      .finally(() => {
        this.metricsWrite = undefined;
      });
  }

  private async writeMetrics(): Promise<void> {
    const rooms = this.rooms.figures();
    const counters = this.counters;
    const fanout = counters.fanout;
    counters.fanout = 0;
    const bus = this.bus.stats;
    try {
      await this.metrics.write({
        status: this.draining ? 'draining' : 'ready',
        clients: this.connections.size,
        full: this.full,
        maxClients: this.config.maxConnections,
        socketWrites: counters.socketWrites,
        fanout,
        rooms,
        fence: this.fence,
        bus: {
          healthy: this.bus.healthy,
          repairs: counters.repairs,
          repairedMessages: counters.repairedMessages,
          rebuilds: bus.rebuilds,
          probesMissed: bus.probesMissed,
        },
        abuse: this.abuse.counts,
      });
    } catch (error) {
      this.rooms.restore(rooms);
      throw error;
    }
  }

  // ---- drain and stop ------------------------------------------------------------------------

  stop(reason: string, redirect?: string, routes?: readonly DrainRoute[]): Promise<void> {
    this.stopping ??= this.drainAndStop(reason, redirect, routes).finally(() => {
      if (this.started) this.deps.onStopped?.(reason);
    });
    return this.stopping;
  }

  private async drainAndStop(reason: string, redirect: string | undefined, routes: readonly DrainRoute[] | undefined): Promise<void> {
    const started = Date.now();
    this.draining = true;
    this.log.info({ reason, clients: this.connections.size }, 'draining');
    try {
      this.deps.onDraining?.();
    } catch (err) {
      this.log.warn({ err }, 'onDraining callback failed');
    }
    await this.bounded(this.redis.commands.hSet(this.keys.server(this.config.serverId), 'status', 'draining'), 'status write');

    if (this.connections.size > 0) {
      // Moves still queued are superseded: every client goes now, where the drain says.
      this.pacer.stop();
      const routeFor = routeMap(routes);
      const everyone = [...this.connections].filter((c) => !c.closing);
      const targets = new Map<string, ClientConnection[]>();
      const toTarget = (target: string, connection: ClientConnection): void => {
        const list = targets.get(target);
        if (list === undefined) targets.set(target, [connection]);
        else list.push(connection);
      };
      const unrouted: ClientConnection[] = [];
      for (const connection of everyone) {
        const target = routeOf(connection.roomIds(), routeFor);
        if (target === undefined) unrouted.push(connection);
        else toTarget(target, connection);
      }
      let urls: string[];
      if (redirect !== undefined) {
        urls = new Array<string>(unrouted.length).fill(redirect);
      } else if (unrouted.length > 0) {
        const peers = (await this.bounded(readPeers(this.redis, this.keys), 'peer lookup')) ?? [];
        const live = drainTargets(peers, this.config.serverId, Date.now(), this.config.heartbeatTimeoutMs);
        urls = spreadClients(live, unrouted.length);
      } else {
        urls = [];
      }
      unrouted.forEach((connection, i) => toTarget(urls[i] ?? '', connection));
      // Spread each target's redirects at REDIRECT_RATE_PER_SEC, faster if needed to fit half the drain timeout.
      for (const [target, connections] of targets) {
        const interval = redirectInterval(this.config.redirectRatePerSec, connections.length, this.config.drainTimeoutMs / 2);
        this.pacer.enqueue(target, connections.map((connection) => ({ connection, reason, drain: true })), interval);
      }
      for (const connection of this.connections) if (connection.closing) connection.close(CloseCode.goingAway, 'server draining', this.config.drainTimeoutMs);
      await this.untilEmpty(this.config.drainTimeoutMs);
      // Whoever is still queued gets its redirect now, then everyone left is cut.
      this.pacer.flush();
      for (const connection of this.connections) connection.terminate();
      await this.untilEmpty(1000);
    }

    clearInterval(this.metricsTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.gcTimer);
    if (this.collection !== undefined) await this.collection;
    if (this.ownerWatch !== undefined) await this.bounded(this.ownerWatch.stop(), 'owner watch');
    // Both wait on Redis, which may be gone: bounded like every Redis step here.
    await this.bounded(this.recovery.stop(), 'recovery');
    this.pacer.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.metricsWrite !== undefined) await this.bounded(this.metricsWrite, 'last metrics write');
    this.metrics.close();

    await this.bounded(removeServer(this.redis, this.keys, this.config.serverId), 'remove server keys');

    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.durability.close();
    await this.bounded(this.bus.close(), 'subscriber close');
    await this.bounded(this.redis.close(), 'redis close');
    if (this.writer !== this.redis) await this.bounded(this.writer.close(), 'redis writer close');
    await this.bounded(this.beat.close(), 'redis metrics close');
    this.redis.destroy();
    this.writer.destroy();
    this.beat.destroy();
    this.log.info({ reason, ms: Date.now() - started }, 'stopped');
  }

  /** Resolves when there are no connections left, or after `ms`. */
  private untilEmpty(ms: number): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.onEmpty = undefined;
        resolve();
      }
      this.onEmpty = done;
    });
  }

  /** Awaits a Redis step of the shutdown with a deadline; logs and returns undefined when it fails. */
  private async bounded<T>(promise: Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await withDeadline(promise, this.config.redisConnectTimeoutMs, `${what} timed out`);
    } catch (err) {
      this.log.warn({ err }, `${what} failed`);
      return undefined;
    }
  }
}

/** Frames a client may send before its `welcome` that are kept and handled after it. */
const EARLY_FRAMES = 64;

/** One redirect waiting for its slot in the pacer. */
interface PacedRedirect {
  connection: ClientConnection;
  reason: string;
  /** A drain's redirect: the connection is closed with 1001 right after it, not after REDIRECT_GRACE_MS. */
  drain: boolean;
}

/** " (rooms a 20, b 17, and 3 more)" for an ack's detail; '' when the picks name no rooms. */
function describeRooms(picked: ReadonlyArray<{ room: string | undefined }>): string {
  const perRoom = new Map<string, number>();
  for (const { room } of picked) if (room !== undefined) perRoom.set(room, (perRoom.get(room) ?? 0) + 1);
  if (perRoom.size === 0) return '';
  const parts = [...perRoom].slice(0, 5).map(([room, n]) => `${room} ${n}`);
  const more = perRoom.size > 5 ? `, and ${perRoom.size - 5} more` : '';
  return ` (rooms ${parts.join(', ')}${more})`;
}

/** The socket's error listener before and after the upgrade; one function for all sockets, no closure per connection. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Rejects with `message` when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Logs Redis errors at most once per 5 s per client, so a Redis outage does not flood the log. */
function throttledErrorLog(log: Logger): (what: string, err: unknown) => void {
  const last = new Map<string, number>();
  return (what, err) => {
    const now = Date.now();
    if (now - (last.get(what) ?? 0) < 5000) return;
    last.set(what, now);
    log.warn({ err }, `${what} error`);
  };
}
