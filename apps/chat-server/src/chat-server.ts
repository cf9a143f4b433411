// startChatServer: the HTTP/websocket front, authentication, frame handling, commands, heartbeats, metrics and drain.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createClient } from 'redis';
import {
  CloseCode,
  encodeServerFrame,
  parseServerCommand,
  redisKeys,
  removeServerArgs,
  REMOVE_SERVER_SCRIPT,
  type RedisKeys,
  type ServerCommand,
} from '@chatfleet/protocol';
import { mintTicket, verifyTicket, withToken } from '@chatfleet/protocol/tickets';
import type { ChatServerConfig } from './config.js';
import { Connection, type ConnectionHost } from './connection.js';
import { drainTargets, readPeers, spreadClients } from './control.js';
import { FrameHandler, publishChat } from './frames.js';
import { createLogger, type Logger } from './log.js';
import { LuaScript, type Redis } from './lua.js';
import { MetricsWriter } from './metrics.js';
import { presenceDelta, Rooms } from './rooms.js';
import { RedisRecovery } from './recovery.js';
import { checkUpgrade, refusal, switchingProtocols } from './transport/handshake.js';
import { onlineDelta, Users } from './users.js';

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
}

const removeServer = new LuaScript(REMOVE_SERVER_SCRIPT);
/** Every script the server runs by SHA: loaded at start and again after each reconnect. */
const SCRIPTS = [publishChat, removeServer, presenceDelta, onlineDelta];

/** Starts a chat server; resolves once it listens, Redis is connected, commands are subscribed and metrics written. */
export async function startChatServer(config: ChatServerConfig, deps: ChatServerDeps = {}): Promise<ChatServer> {
  const log = deps.log ?? createLogger(config.serverId, config.logLevel);
  const redis = createClient({
    url: config.redisUrl,
    socket: { connectTimeout: config.redisConnectTimeoutMs, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000) },
  });
  const subscriber = redis.duplicate();
  const reportError = throttledErrorLog(log);
  redis.on('error', (err: unknown) => reportError('redis', err));
  subscriber.on('error', (err: unknown) => reportError('redis subscriber', err));
  try {
    await withDeadline(
      Promise.all([redis.connect(), subscriber.connect()]),
      config.redisConnectTimeoutMs,
      `could not connect to Redis at ${config.redisUrl} within ${config.redisConnectTimeoutMs} ms`,
    );
  } catch (error) {
    redis.destroy();
    subscriber.destroy();
    throw error;
  }
  const core = new ChatServerCore(config, log, redis, subscriber, deps);
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
  readonly keys: RedisKeys;
  readonly connections = new Set<Connection>();
  readonly rooms: Rooms;
  readonly users: Users;
  private readonly frames: FrameHandler;
  readonly slowConsumerBytes: number;
  readonly slowGraceMs: number;
  readonly maxPayload: number;
  socketWrites = 0;
  /** Room messages fanned out since the last metrics write. */
  fanout = 0;
  url = '';
  private readonly http: Server;
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
  private metricsWrite: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly commandsListener = (message: string): void => this.onCommand(message);

  constructor(
    readonly config: ChatServerConfig,
    readonly log: Logger,
    readonly redis: Redis,
    readonly subscriber: Redis,
    private readonly deps: ChatServerDeps,
  ) {
    this.keys = redisKeys(config.redisPrefix);
    this.slowConsumerBytes = config.slowConsumerBytes;
    this.slowGraceMs = config.redirectGraceMs;
    this.maxPayload = config.maxPayload;
    this.burst = config.rateLimit * 2;
    this.rooms = new Rooms(redis, subscriber, this.keys, config.serverId, log, this);
    this.users = new Users(redis, subscriber, this.keys, config.serverId, log);
    this.frames = new FrameHandler(config, log, redis, this.keys, this.rooms, this.users);
    this.http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', serverId: config.serverId, draining: this.draining, clients: this.connections.size }));
        return;
      }
      res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
      res.end(JSON.stringify({ error: 'upgrade_required', message: 'connect with a websocket and ?token=<ticket>' }));
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.metrics = new MetricsWriter(redis, this.keys, {
      id: config.serverId,
      url: '',
      host: config.publicHost,
      startedAt: this.startedAt,
      managed: config.managed,
    });
    const core = this;
    this.recovery = new RedisRecovery(redis, this.keys, config.serverId, log, SCRIPTS, {
      connections: this.connections,
      publishStatus: (userId, online) => this.users.publishStatus(userId, online),
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
    this.http.on('error', (err) => this.log.error({ err }, 'http server error'));
    const address = this.http.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
    this.url = `ws://${formatHost(this.config.publicHost)}:${port}/`;
    this.metrics.identity.url = this.url;
    // Load the scripts so EVALSHA hits from the first frame on.
    await Promise.all(SCRIPTS.map((script) => this.redis.scriptLoad(script.source)));
    await this.subscriber.subscribe(this.keys.serverCommands(this.config.serverId), this.commandsListener);
    await this.writeMetrics();
    this.metricsTimer = setInterval(() => this.tickMetrics(), this.config.metricsIntervalMs);
    this.pingTimer = setInterval(() => this.pingAll(), this.config.pingIntervalMs);
    this.started = true;
    this.recovery.start();
    this.log.info({ url: this.url, managed: this.config.managed }, 'chat server ready');
  }

  // ---- connections ---------------------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket);
    if (this.draining) return refuse(socket, 503, 'Service Unavailable');
    const origins = this.config.allowedOrigins;
    const origin = req.headers.origin;
    if (origins !== undefined && origin !== undefined && !origins.includes(origin)) {
      return refuse(socket, 403, 'Forbidden');
    }
    const check = verifyTicket(this.config.authSecret, tokenOf(req.url), Date.now());
    if (!check.ok) {
      this.log.debug({ reason: check.reason }, 'upgrade refused');
      return refuse(socket, 401, 'Unauthorized');
    }
    const upgrade = checkUpgrade(req.method, req.headers);
    if (!upgrade.ok) return refuse(socket, upgrade.status, upgrade.message, upgrade.headers);
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    // Nothing keeps `req` from here on: the connection holds the socket only.
    socket.write(switchingProtocols(upgrade.key, upgrade.protocol));
    this.onConnection(socket as Socket, check.ticket.userId, head);
  }

  private onConnection(socket: Socket, userId: string, head: Buffer): void {
    const now = Date.now();
    const connection = new Connection(socket, userId, now, this, this.burst);
    this.connections.add(connection);
    this.users.connect(connection);
    connection.send(encodeServerFrame('welcome', { serverId: this.config.serverId, userId, connectedAt: now }));
    connection.attach(head);
  }

  /** ConnectionHost: the transport reports protocol errors (e.g. 1009) here before it closes. */
  onProtocolError(connection: Connection, code: number, reason: string): void {
    this.log.debug({ code, reason, userId: connection.userId }, 'websocket protocol error');
  }

  /** ConnectionHost: the socket closed, whoever closed it. */
  onClose(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    connection.closing = true;
    this.rooms.leaveAll(connection);
    this.users.disconnect(connection);
    if (this.connections.size === 0) this.onEmpty?.();
  }

  private onEmpty: (() => void) | undefined;

  private corked: Connection[] = [];
  private readonly uncorkAll = (): void => {
    const corked = this.corked;
    this.corked = [];
    for (const connection of corked) connection.uncork();
  };

  /** ConnectionHost: batches a connection's writes until the event loop's next check phase. */
  queueUncork(connection: Connection): void {
    if (this.corked.length === 0) {
      if (this.config.writeBatchMs === 0) setImmediate(this.uncorkAll);
      else setTimeout(this.uncorkAll, this.config.writeBatchMs);
    }
    this.corked.push(connection);
  }

  /** ConnectionHost: a client queued more than SLOW_CONSUMER_BYTES. */
  onSlowConsumer(connection: Connection): void {
    this.log.info({ userId: connection.userId, buffered: connection.socket.writableLength }, 'closing a slow consumer');
    connection.closeSlow();
  }

  private pingAll(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }

  /** ConnectionHost: one frame from a client. */
  onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    this.frames.onMessage(connection, data, isBinary);
  }

  // ---- commands ------------------------------------------------------------------------------

  private onCommand(message: string): void {
    const command = parseServerCommand(message);
    if (command === undefined) {
      this.log.warn({ message: message.slice(0, 200) }, 'ignoring a malformed command');
      return;
    }
    this.log.info({ command }, 'command');
    this.runCommand(command);
  }

  private runCommand(command: ServerCommand): void {
    if (command.type === 'redistribute') {
      this.redistribute(command.n, command.redirect, command.reason ?? 'rebalance');
      return;
    }
    this.stop(command.reason ?? 'drain command', command.redirect).catch((err: unknown) =>
      this.log.error({ err }, 'drain failed'),
    );
  }

  /** Moves `n` clients to `redirect`, each with a fresh ticket; closes 1001 those still here after the grace. */
  private redistribute(n: number, redirect: string, reason: string): void {
    if (this.draining) return;
    const picked: Connection[] = [];
    for (const connection of this.connections) {
      if (picked.length >= n) break;
      if (connection.closing || connection.moving) continue;
      picked.push(connection);
    }
    for (const connection of picked) this.sendRedirect(connection, redirect, reason);
    if (picked.length === 0) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const connection of picked) {
        if (this.connections.has(connection)) connection.close(CloseCode.goingAway, 'redistributed', this.config.redirectGraceMs);
      }
    }, this.config.redirectGraceMs);
    this.timers.add(timer);
    this.log.info({ moved: picked.length, asked: n, redirect }, 'redistributing clients');
  }

  private sendRedirect(connection: Connection, base: string, reason: string): void {
    connection.moving = true;
    let redirect = '';
    if (base !== '') {
      const token = mintTicket(this.config.authSecret, connection.userId, Date.now() + this.config.tokenTtlS * 1000);
      redirect = withToken(base, token);
    }
    connection.send(encodeServerFrame('redistribute', { reason, redirect }));
  }

  // ---- metrics -------------------------------------------------------------------------------

  private tickMetrics(): void {
    if (this.metricsWrite !== undefined) return;
    this.metricsWrite = this.writeMetrics()
      .catch((err: unknown) => this.log.warn({ err }, 'metrics write failed'))
      .finally(() => {
        this.metricsWrite = undefined;
      });
  }

  private async writeMetrics(): Promise<void> {
    const rooms = this.rooms.figures();
    const fanout = this.fanout;
    this.fanout = 0;
    try {
      await this.metrics.write({
        status: this.draining ? 'draining' : 'ready',
        clients: this.connections.size,
        socketWrites: this.socketWrites,
        fanout,
        rooms,
      });
    } catch (error) {
      this.rooms.restoreWrites(rooms.writes);
      throw error;
    }
  }

  // ---- drain and stop ------------------------------------------------------------------------

  stop(reason: string, redirect?: string): Promise<void> {
    this.stopping ??= this.drainAndStop(reason, redirect).finally(() => {
      if (this.started) this.deps.onStopped?.(reason);
    });
    return this.stopping;
  }

  private async drainAndStop(reason: string, redirect: string | undefined): Promise<void> {
    const started = Date.now();
    this.draining = true;
    this.log.info({ reason, clients: this.connections.size }, 'draining');
    try {
      this.deps.onDraining?.();
    } catch (err) {
      this.log.warn({ err }, 'onDraining callback failed');
    }
    await this.bounded(this.redis.hSet(this.keys.server(this.config.serverId), 'status', 'draining'), 'status write');

    if (this.connections.size > 0) {
      let urls: string[];
      if (redirect !== undefined) {
        urls = new Array<string>(this.connections.size).fill(redirect);
      } else {
        const peers = (await this.bounded(readPeers(this.redis, this.keys), 'peer lookup')) ?? [];
        const targets = drainTargets(peers, this.config.serverId, Date.now(), this.config.heartbeatTimeoutMs);
        urls = spreadClients(targets, this.connections.size);
      }
      let i = 0;
      for (const connection of [...this.connections]) {
        if (!connection.closing) this.sendRedirect(connection, urls[i] ?? '', reason);
        i += 1;
        connection.close(CloseCode.goingAway, 'server draining', this.config.drainTimeoutMs);
      }
      await this.untilEmpty(this.config.drainTimeoutMs);
      for (const connection of this.connections) connection.terminate();
      await this.untilEmpty(1000);
    }

    clearInterval(this.metricsTimer);
    clearInterval(this.pingTimer);
    // Both wait on Redis, which may be gone: bounded like every Redis step here.
    await this.bounded(this.recovery.stop(), 'recovery');
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.metricsWrite !== undefined) await this.bounded(this.metricsWrite, 'last metrics write');
    this.metrics.close();

    const offline = await this.bounded(
      removeServer.run(this.redis, removeServerArgs(this.keys, this.config.serverId)),
      'remove server keys',
    );
    if (Array.isArray(offline)) for (const userId of offline) this.users.publishStatus(String(userId), false);

    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.bounded(this.subscriber.close(), 'subscriber close');
    await this.bounded(this.redis.close(), 'redis close');
    this.subscriber.destroy();
    this.redis.destroy();
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

/** The socket's error listener before and after the upgrade; one function for all sockets, no closure per connection. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

function refuse(socket: Duplex, status: number, message: string, headers?: Record<string, string>): void {
  socket.end(refusal(status, message, headers));
}

function tokenOf(url: string | undefined): string | null {
  if (url === undefined) return null;
  const q = url.indexOf('?');
  if (q === -1) return null;
  return new URLSearchParams(url.slice(q + 1)).get('token');
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
