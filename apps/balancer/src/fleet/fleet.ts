// The fleet registry: managed children and discovered remote servers, their statuses, events, clean-up and respawns.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  REMOVE_SERVER_SCRIPT,
  removeServerArgs,
  type FleetEvent,
  type RedisKeys,
  type ServerCommand,
  type ServerHistory,
  type ServerStatus,
  type UserEvent,
} from '@chatfleet/protocol';
import { chatServerSettings } from '@chatfleet/protocol/env';
import type { BalancerConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { Reading } from '../load/metrics-reader.js';
import { planActions, type PolicyServer } from '../load/policy.js';
import { heartbeatStale, withinRecovery } from '../load/liveness.js';
import { leastLoaded } from '../load/selection.js';
import type { RedisClient } from '../redis/client.js';
import { ChatServerChild } from './child-process.js';

/** Event kinds of `/stats` `events` (team brief). */
export type FleetEventKind =
  | 'spawn'
  | 'ready'
  | 'exit'
  | 'crash'
  | 'respawn'
  | 'drain'
  | 'redistribute'
  | 'evict'
  | 'remote-join'
  | 'remote-gone';

/** One server as the balancer knows it. */
export interface ServerRecord {
  id: string;
  managed: boolean;
  status: ServerStatus;
  /** Websocket base URL; '' until a managed child is ready. */
  url: string;
  pid: number | null;
  host: string;
  startedAt: number;
  /** Last heartbeat read from the server's hash (ms epoch). */
  heartbeat: number | undefined;
  goneAt: number | undefined;
  child: ChatServerChild | undefined;
  everReady: boolean;
  /** Set when the balancer asked it to go (drain or stop): its exit is not a crash. */
  leaving: boolean;
  timers: NodeJS.Timeout[];
  /** Settles once the exit was handled (keys cleaned); managed only. */
  exitHandled: Promise<void> | undefined;
}

/** What the fleet needs from the metrics reader. */
export interface MetricsView {
  historyOf(id: string): ServerHistory;
  roomsOf(id: string): string[];
  hostedRoomsOf(id: string): string[];
  expectedClients(id: string): number;
  forget(id: string): void;
}

export interface FleetOptions {
  config: BalancerConfig;
  redis: RedisClient;
  keys: RedisKeys;
  log: Logger;
  metrics: MetricsView;
  /** The chat server's entry file. */
  entry: string;
  /** Environment every child starts from (PATH and the like); settings are added on top. */
  baseEnv: Record<string, string | undefined>;
  /** The resolved Redis URL children connect to. */
  redisUrl: string;
  authSecret: string;
  /** Receives each JSON log line of a child. */
  relay: (line: string) => void;
}

export interface FleetCounters {
  spawns: number;
  crashes: number;
  evictions: number;
  redistributions: number;
}

const EVENT_LIMIT = 200;
const MAX_SPAWN_BACKOFF_MS = 30_000;

/** Thrown by `spawn` when FLEET_MAX managed servers already exist. */
export class FleetFullError extends Error {
  constructor(max: number) {
    super(`the fleet already has FLEET_MAX=${max} managed servers`);
    this.name = 'FleetFullError';
  }
}

/**
 * Owns the registry of servers. Managed children move starting -> ready ->
 * draining -> gone through IPC and exits; remote servers are discovered from
 * `servers:clients` and judged by their heartbeat. A gone server stays listed
 * for GONE_RETENTION_MS.
 */
export class Fleet {
  private readonly servers = new Map<string, ServerRecord>();
  private readonly eventLog: FleetEvent[] = [];
  private readonly lastRedistributedAt = new Map<string, number>();
  readonly counters: FleetCounters = { spawns: 0, crashes: 0, evictions: 0, redistributions: 0 };
  private stopping = false;
  private pendingRespawns = 0;
  private failures = 0;
  private spawnNotBefore = 0;
  /** When the last managed server was forked (ms epoch): scale-down waits SCALE_DOWN_AFTER_MS after it. */
  private lastSpawnAt: number | undefined;
  /** The policy's explicit state: since when the fleet has fit on one fewer server. */
  private calmSince: number | undefined;
  private readonly log: Logger;

  constructor(private readonly options: FleetOptions) {
    this.log = options.log.child({ part: 'fleet' });
  }

  /** Every known server, gone ones included until their retention ends. */
  list(): ServerRecord[] {
    return [...this.servers.values()];
  }

  get(id: string): ServerRecord | undefined {
    return this.servers.get(id);
  }

  /** Ids to read metrics for even before they show up in `servers:clients`. */
  *liveIds(): Iterable<string> {
    for (const record of this.servers.values()) if (record.status !== 'gone') yield record.id;
  }

  /** The most recent events, oldest first. */
  events(limit = 100): FleetEvent[] {
    return this.eventLog.slice(-limit);
  }

  /** Managed servers that are not gone (what FLEET_MAX counts). */
  managedCount(): number {
    return this.list().filter((r) => r.managed && r.status !== 'gone').length;
  }

  private startingCount(): number {
    return this.list().filter((r) => r.managed && r.status === 'starting').length;
  }

  /** Managed servers that are or will soon be serving (what FLEET_MIN counts). */
  private servingCount(): number {
    return this.list().filter((r) => r.managed && (r.status === 'starting' || r.status === 'ready')).length;
  }

  /** Records a fleet event and logs it. */
  record(kind: FleetEventKind, serverId: string | null, detail: string): void {
    const event: FleetEvent = { ts: Date.now(), kind, serverId, detail };
    this.eventLog.push(event);
    if (this.eventLog.length > EVENT_LIMIT) this.eventLog.splice(0, this.eventLog.length - EVENT_LIMIT);
    this.log.info({ event: kind, serverId, detail }, `${kind}${serverId === null ? '' : ` ${serverId}`}: ${detail}`);
  }

  /** Spawns FLEET_MIN servers (start-up). */
  start(): void {
    this.ensureMinimum();
  }

  /**
   * Forks one managed chat server. Throws FleetFullError at FLEET_MAX. The
   * record is `starting` until the child's ready message arrives.
   */
  spawn(kind: 'spawn' | 'respawn' = 'spawn', detail = 'requested'): ServerRecord {
    const { config } = this.options;
    if (this.managedCount() >= config.FLEET_MAX) throw new FleetFullError(config.FLEET_MAX);
    if (!existsSync(this.options.entry)) {
      throw new Error(`chat server entry ${this.options.entry} does not exist; run \`npm run build\` first`);
    }
    let id: string;
    do id = `srv-${randomBytes(3).toString('hex')}`;
    while (this.servers.has(id));
    const host = config.PUBLIC_HOST ?? config.HOST;
    const child = new ChatServerChild({
      id,
      entry: this.options.entry,
      env: this.childEnv(id),
      readyTimeoutMs: config.READY_TIMEOUT_MS,
      log: this.options.log,
      relay: this.options.relay,
      onDraining: () => {
        const r = this.servers.get(id);
        if (r !== undefined && r.status !== 'gone') r.status = 'draining';
      },
    });
    const record: ServerRecord = {
      id,
      managed: true,
      status: 'starting',
      url: '',
      pid: child.pid ?? null,
      host,
      startedAt: Date.now(),
      heartbeat: undefined,
      goneAt: undefined,
      child,
      everReady: false,
      leaving: false,
      timers: [],
      exitHandled: undefined,
    };
    this.servers.set(id, record);
    this.counters.spawns++;
    this.lastSpawnAt = record.startedAt;
    this.record(kind, id, `${detail}; pid ${record.pid ?? '?'}`);
    child.ready.then(
      ({ url, pid }) => {
        record.everReady = true;
        record.url = url;
        record.pid = pid;
        this.failures = 0;
        if (record.status === 'starting') record.status = 'ready';
        this.record('ready', id, `ready in ${Date.now() - child.spawnedAt} ms at ${url}`);
      },
      () => undefined, // the exit handler reports it
    );
    record.exitHandled = child.exited.then(({ code, signal }) => this.handleExit(record, code, signal));
    return record;
  }

  /** Resolves with the record once it is ready; rejects if it exits or times out first. */
  async whenReady(record: ServerRecord): Promise<ServerRecord> {
    if (record.child === undefined) return record;
    await record.child.ready;
    return record;
  }

  /** Starts a spawn for a provision that found no ready server, if the fleet has room and none is starting. */
  spawnForDemand(): void {
    if (this.stopping || this.startingCount() > 0 || this.managedCount() >= this.options.config.FLEET_MAX) return;
    this.trySpawn('spawn', 'a provision found no ready server');
  }

  private trySpawn(kind: 'spawn' | 'respawn', detail: string): boolean {
    try {
      this.spawn(kind, detail);
      return true;
    } catch (error) {
      this.log.error({ err: error }, 'spawn failed');
      this.spawnNotBefore = Date.now() + MAX_SPAWN_BACKOFF_MS;
      return false;
    }
  }

  /** Spawns while fewer than FLEET_MIN managed servers are starting or ready (with backoff after failed starts). */
  private ensureMinimum(): void {
    const { config } = this.options;
    while (
      !this.stopping &&
      this.servingCount() < config.FLEET_MIN &&
      this.managedCount() < config.FLEET_MAX &&
      Date.now() >= this.spawnNotBefore
    ) {
      const respawn = this.pendingRespawns > 0;
      if (respawn) this.pendingRespawns--;
      if (!this.trySpawn(respawn ? 'respawn' : 'spawn', respawn ? 'replacing a lost server' : `keeping FLEET_MIN=${config.FLEET_MIN}`)) return;
    }
  }

  private childEnv(id: string): Record<string, string | undefined> {
    const c = this.options.config;
    return {
      ...this.options.baseEnv,
      SERVER_ID: id,
      PORT: '0',
      HOST: c.HOST,
      PUBLIC_HOST: c.PUBLIC_HOST ?? c.HOST,
      REDIS_URL: this.options.redisUrl,
      AUTH_SECRET: this.options.authSecret,
      // Every shared setting, so children run with exactly what the balancer checked.
      ...Object.fromEntries(
        Object.keys(chatServerSettings).map((key) => [key, String(c[key as keyof typeof chatServerSettings] ?? '')]),
      ),
    };
  }

  private async handleExit(record: ServerRecord, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    for (const timer of record.timers) clearTimeout(timer);
    record.timers = [];
    const how = signal === null ? `code ${code}` : `signal ${signal}`;
    const was = record.status;
    if (was !== 'gone') {
      record.status = 'gone';
      record.goneAt = Date.now();
      if (record.leaving || this.stopping || (was === 'draining' && code === 0)) {
        this.record('exit', record.id, `exited with ${how}`);
      } else {
        this.counters.crashes++;
        if (!record.everReady) {
          this.failures++;
          this.spawnNotBefore = Date.now() + Math.min(MAX_SPAWN_BACKOFF_MS, 500 * 2 ** (this.failures - 1));
        }
        this.pendingRespawns++;
        this.record('crash', record.id, record.everReady ? `exited unexpectedly with ${how}` : `never became ready; exited with ${how}`);
      }
    }
    await this.removeKeys(record.id);
    this.ensureMinimum();
  }

  /**
   * Removes a server's keys and its share of presence and online counts, then
   * tells watchers about users that went offline with it.
   */
  async removeKeys(id: string): Promise<void> {
    const { redis, keys } = this.options;
    try {
      const offline = (await redis.eval(REMOVE_SERVER_SCRIPT, removeServerArgs(keys, id))) as unknown as string[];
      for (const userId of offline ?? []) {
        const event: UserEvent = { kind: 'status', userId, online: false };
        await redis.publish(keys.user(userId), JSON.stringify(event));
      }
    } catch (error) {
      this.log.warn({ err: error, serverId: id }, 'could not remove server keys');
    }
  }

  /** Publishes a command on a server's channel. */
  private async command(id: string, command: ServerCommand): Promise<void> {
    await this.options.redis.publish(this.options.keys.serverCommands(id), JSON.stringify(command));
  }

  /** Ready servers with their metrics, for selection and policy. */
  candidates(): PolicyServer[] {
    const { metrics } = this.options;
    return this.list().map((r) => {
      const history = metrics.historyOf(r.id);
      return {
        id: r.id,
        status: r.status,
        managed: r.managed,
        socketWrites: history.socketWrites,
        eventLoopMs: history.eventLoopMs,
        clients: metrics.expectedClients(r.id),
        rooms: metrics.hostedRoomsOf(r.id),
      };
    });
  }

  /** The least-loaded ready server other than `id`. */
  targetOtherThan(id: string): ServerRecord | undefined {
    const best = leastLoaded(this.candidates().filter((c) => c.status === 'ready' && c.id !== id));
    return best === undefined ? undefined : this.servers.get(best.id);
  }

  /**
   * Drains a server: it stops being provisioned at once; the drain command goes
   * out with a redirect to the least-loaded other ready server (waiting for a
   * replacement to become ready when there is none). A managed child that has
   * not exited after DRAIN_TIMEOUT_MS + STOP_TIMEOUT_MS gets SIGTERM, then SIGKILL.
   */
  drain(id: string, reason = 'admin'): ServerRecord | undefined {
    const record = this.servers.get(id);
    if (record === undefined || record.status === 'gone') return undefined;
    if (record.status === 'draining' && record.leaving) return record;
    record.status = 'draining';
    record.leaving = true;
    this.record('drain', id, `draining (${reason})`);
    this.ensureMinimum();
    const { config } = this.options;
    if (record.child !== undefined) {
      const child = record.child;
      record.timers.push(
        setTimeout(() => {
          this.log.warn({ serverId: id }, 'drain deadline passed; stopping the process');
          void child.stop(config.STOP_TIMEOUT_MS);
        }, config.DRAIN_TIMEOUT_MS + config.STOP_TIMEOUT_MS),
      );
    }
    void this.sendDrain(record, reason).catch((error: unknown) => this.log.error({ err: error, serverId: id }, 'drain command failed'));
    return record;
  }

  private async sendDrain(record: ServerRecord, reason: string): Promise<void> {
    let target = this.targetOtherThan(record.id);
    if (target === undefined) {
      const starting = this.list().find((r) => r.status === 'starting' && r.child !== undefined);
      if (starting?.child !== undefined) {
        await Promise.race([starting.child.ready.catch(() => undefined), delay(this.options.config.READY_TIMEOUT_MS)]);
        target = this.targetOtherThan(record.id) ?? (starting.status === 'ready' ? starting : undefined);
      }
    }
    if (record.status === 'gone') return;
    if (record.child !== undefined && record.status === 'starting') {
      await record.child.stop(this.options.config.STOP_TIMEOUT_MS);
      return;
    }
    const command: ServerCommand = { type: 'drain', reason };
    if (target !== undefined && target.url !== '') command.redirect = target.url;
    await this.command(record.id, command);
  }

  /**
   * Tells server `id` to move `n` clients to `targetId` and records it. Returns
   * false when the target is not a ready server.
   */
  async redistribute(id: string, n: number, targetId: string, reason: string): Promise<boolean> {
    const target = this.servers.get(targetId);
    if (target === undefined || target.status !== 'ready' || target.url === '') return false;
    this.lastRedistributedAt.set(id, Date.now());
    await this.command(id, { type: 'redistribute', n, redirect: target.url, reason });
    this.counters.redistributions++;
    this.record('redistribute', id, `${n} clients to ${targetId} (${reason})`);
    return true;
  }

  /**
   * Applies one second's read: heartbeat checks, remote discovery, retention
   * of gone servers, FLEET_MIN, and the scaling policy (spawn, redistribute, scale-down drain).
   */
  async onReading(reading: Reading): Promise<void> {
    if (this.stopping) return;
    const now = reading.at;
    const timeout = this.options.config.HEARTBEAT_TIMEOUT_MS;
    // A Redis outage stales every heartbeat at once; only time since the balancer's reads are steady
    // again counts (load/liveness.ts), so healthy servers are not evicted for Redis's absence.
    const stale = (heartbeat: number | undefined) => heartbeatStale(heartbeat, now, reading.steadySince, timeout);
    // Redis may have come back empty: keys missing right after that are not yet a server gone.
    const recovering = withinRecovery(now, reading.steadySince, timeout);

    for (const record of this.list()) {
      if (record.status === 'gone') continue;
      const hash = reading.hashes.get(record.id);
      if (hash !== undefined) {
        record.heartbeat = hash.heartbeat;
        if (hash.host !== '') record.host = hash.host;
      }
      if (record.managed) {
        if (record.status === 'ready' && stale(record.heartbeat)) this.evict(record, now);
        continue;
      }
      if (hash === undefined && recovering) continue;
      if (hash === undefined || stale(hash.heartbeat)) {
        this.remoteGone(record, hash === undefined ? 'left (its keys are gone)' : `heartbeat stale for ${now - hash.heartbeat} ms`);
        continue;
      }
      record.url = hash.url;
      record.pid = hash.pid;
      if (!record.leaving && (hash.status === 'ready' || hash.status === 'starting' || hash.status === 'draining')) {
        record.status = hash.status;
      }
    }

    for (const id of new Set([...reading.listed, ...reading.hashes.keys()])) {
      if (this.servers.has(id)) continue;
      const hash = reading.hashes.get(id);
      if (hash === undefined || stale(hash.heartbeat) || hash.heartbeat === 0) {
        // Left behind by a server that died without a balancer watching it.
        this.log.info({ serverId: id }, 'removing keys of a dead server');
        await this.removeKeys(id);
        continue;
      }
      const status: ServerStatus = hash.status === 'starting' || hash.status === 'draining' ? hash.status : 'ready';
      this.servers.set(id, {
        id,
        managed: false,
        status,
        url: hash.url,
        pid: hash.pid,
        host: hash.host,
        startedAt: hash.startedAt,
        heartbeat: hash.heartbeat,
        goneAt: undefined,
        child: undefined,
        everReady: true,
        leaving: false,
        timers: [],
        exitHandled: undefined,
      });
      this.record('remote-join', id, `remote server at ${hash.url}`);
    }

    const retention = this.options.config.GONE_RETENTION_MS;
    for (const record of this.list()) {
      if (record.status === 'gone' && record.goneAt !== undefined && now - record.goneAt >= retention) {
        this.servers.delete(record.id);
        this.lastRedistributedAt.delete(record.id);
        this.options.metrics.forget(record.id);
      }
    }

    this.ensureMinimum();
    await this.applyPolicy(now);
  }

  private evict(record: ServerRecord, now: number): void {
    record.status = 'gone';
    record.goneAt = now;
    this.counters.evictions++;
    this.pendingRespawns++;
    this.record('evict', record.id, `heartbeat stale for ${now - (record.heartbeat ?? now)} ms; killing pid ${record.pid ?? '?'}`);
    // SIGKILL works on a stopped (SIGSTOP) process too; the exit handler then removes its keys.
    record.child?.signal('SIGKILL');
  }

  private remoteGone(record: ServerRecord, why: string): void {
    record.status = 'gone';
    record.goneAt = Date.now();
    this.record('remote-gone', record.id, why);
    void this.removeKeys(record.id);
  }

  private async applyPolicy(now: number): Promise<void> {
    const { config } = this.options;
    const plan = planActions({
      servers: this.candidates(),
      managedCount: this.managedCount(),
      startingCount: this.startingCount(),
      fleetMin: config.FLEET_MIN,
      fleetMax: config.FLEET_MAX,
      spawnWritesPerSec: config.SPAWN_WRITES_PER_SEC,
      eventLoopLagMs: config.EVENT_LOOP_LAG_MS,
      redistributeFraction: config.REDISTRIBUTE_FRACTION,
      cooldownMs: config.REBALANCE_COOLDOWN_MS,
      scaleDownAfterMs: config.SCALE_DOWN_AFTER_MS,
      lastRedistributedAt: this.lastRedistributedAt,
      lastSpawnAt: this.lastSpawnAt,
      calmSince: this.calmSince,
      now,
    });
    this.calmSince = plan.calmSince;
    for (const action of plan.actions) {
      if (action.type === 'spawn') this.trySpawn('spawn', action.reason);
      else if (action.type === 'drain') this.drain(action.id, action.reason);
      else await this.redistribute(action.from, action.n, action.to, action.reason);
    }
  }

  /**
   * Stops every managed child (SIGTERM, SIGKILL after STOP_TIMEOUT_MS) and
   * waits until each exit is handled and its keys removed. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const records = this.list().filter((r) => r.child !== undefined);
    await Promise.all(
      records.map(async (record) => {
        record.leaving = true;
        for (const timer of record.timers) clearTimeout(timer);
        await record.child?.stop(this.options.config.STOP_TIMEOUT_MS);
        await record.exitHandled;
      }),
    );
  }

  /** True once stop() began. */
  get isStopping(): boolean {
    return this.stopping;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
