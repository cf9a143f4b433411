// The fleet registry: this balancer's own servers (forked or adopted) and the ones it observes in Redis, and the effects their lives call for.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { FleetEvent, RoomMove, ServerCommand } from '@chatfleet/protocol';
import type { CommandOutcome } from '../commands/command-sender.js';
import { chatServerProcessEnv, chatServerSettings } from '@chatfleet/protocol/env';
import type { BalancerConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { Reading } from '../load/metrics-reader.js';
import { heartbeatStale, withinRecovery } from '../load/liveness.js';
import { leastLoaded, type Candidate } from '../load/selection.js';
import type { FleetStore } from '../store/fleet-store.js';
import type { ServerHash } from '../store/server-hash.js';
import { AdoptedProcess, pidAlive } from './adopted-process.js';
import { ChatServerChild, type ServerProcess } from './child-process.js';
import { foundLife, startingLife, transition, type LifeEvent, type LifeRecord } from './server-life.js';
import { ServerRecord, type FleetEventKind } from './server-record.js';

export { ServerRecord, type FleetEventKind } from './server-record.js';

export interface FleetOptions {
  config: BalancerConfig;
  store: FleetStore;
  log: Logger;
  /** This balancer's id and host. */
  self: { id: string; hostId: string };
  /** The chat server's entry file. */
  entry: string;
  /** Node flags for every chat server (CHAT_SERVER_NODE_FLAGS). */
  nodeFlags?: readonly string[];
  /** Environment every child starts from (PATH and the like); settings are added on top. */
  baseEnv: Record<string, string | undefined>;
  /** The resolved Redis URL children connect to. */
  redisUrl: string;
  authSecret: string;
  /** Receives each JSON log line of a child. */
  relay: (line: string) => void;
  /**
   * Sends a command to a chat server with an id and resends it until the
   * server confirms it (commands/command-sender.ts); resolves once settled.
   * Without it (tests of the registry alone) commands are published once.
   */
  sendCommand?: (serverId: string, command: ServerCommand) => Promise<CommandOutcome | undefined>;
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

/** How an admin action on a server went. */
export type ActionResult = 'done' | 'unknown' | 'unreachable' | 'no-target';

/**
 * Owns the registry. Own servers (forked here, or adopted after their
 * balancer died on this host) are managed through their process; the others
 * are observed in Redis each turn and acted on through their owner. Every
 * status change goes through `transition` (server-life.ts); this class
 * carries out what a life owes: drain commands, kill deadlines, key removal.
 */
export class Fleet {
  private readonly servers = new Map<string, ServerRecord>();
  private readonly eventLog: FleetEvent[] = [];
  readonly counters: FleetCounters = { spawns: 0, crashes: 0, evictions: 0, redistributions: 0 };
  private stopping = false;
  private failures = 0;
  private spawnNotBefore = 0;
  /** When this balancer last forked a server (ms epoch). */
  lastSpawnAt: number | undefined;
  /** Balancers with a fresh heartbeat at the last turn, by id, with their host. */
  private liveBalancers = new Map<string, string>();
  /** Key removals under way, per server, so a turn does not start one twice. */
  private readonly removals = new Map<string, Promise<void>>();
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

  /** Managed servers of the whole fleet that are not gone (what FLEET_MAX counts). */
  managedCount(): number {
    return this.list().filter((r) => r.managed && r.status !== 'gone').length;
  }

  /** This balancer's own servers that are not gone, and those of them still starting. */
  ownCounts(): { servers: number; starting: number } {
    const own = this.list().filter((r) => r.life.own && r.status !== 'gone');
    return { servers: own.length, starting: own.filter((r) => r.status === 'starting').length };
  }

  /** Own servers that went without being asked to and are not replaced yet. */
  owedRespawns(): number {
    return this.list().filter((r) => r.life.owed.respawn).length;
  }

  /** True when `id` is a balancer with a fresh heartbeat (this one included). */
  balancerAlive(id: string): boolean {
    return id === this.options.self.id || this.liveBalancers.has(id);
  }

  /** Records a fleet event and logs it. */
  record(kind: FleetEventKind, serverId: string | null, detail: string): void {
    const event: FleetEvent = { ts: Date.now(), kind, serverId, detail };
    this.eventLog.push(event);
    if (this.eventLog.length > EVENT_LIMIT) this.eventLog.splice(0, this.eventLog.length - EVENT_LIMIT);
    this.log.info({ event: kind, serverId, detail }, `${kind}${serverId === null ? '' : ` ${serverId}`}: ${detail}`);
  }

  // ---- the one way a status changes ----------------------------------------------------------

  /** Applies an event to a server's life, records what it calls for, and starts what it owes now. */
  apply(record: ServerRecord, event: LifeEvent, detail?: string): void {
    const { life, record: kind } = transition(record.life, event);
    if (life === record.life) return;
    record.life = life;
    if (kind !== undefined) this.note(record, kind, detail);
    this.settle(record, Date.now());
  }

  private note(record: ServerRecord, kind: LifeRecord, detail: string | undefined): void {
    if (kind === 'crash') {
      this.counters.crashes++;
      if (!record.life.everReady) {
        this.failures++;
        this.spawnNotBefore = Date.now() + Math.min(MAX_SPAWN_BACKOFF_MS, 500 * 2 ** (this.failures - 1));
      }
    }
    if (kind === 'evict') this.counters.evictions++;
    if (kind === 'ready') this.failures = 0;
    this.record(kind, record.id, detail ?? kind);
  }

  /**
   * Carries out what a server's life owes that needs no decision: the kill
   * at its deadline and the removal of its keys. Drain commands wait for the
   * turn (`sendOwedDrains`), when every drain decided meanwhile is known.
   */
  private settle(record: ServerRecord, now: number): void {
    const owed = record.life.owed;
    if (owed.killAt !== undefined && owed.killAt <= now && record.process !== undefined) {
      const process = record.process;
      const signal = owed.killSignal;
      this.apply(record, { type: 'kill-sent' });
      if (signal === 'SIGKILL') process.signal('SIGKILL');
      else process.stop(this.options.config.STOP_TIMEOUT_MS).catch(() => undefined);
    }
    if (owed.removeKeys && !this.removals.has(record.id)) {
      const removal = this.options.store
        .removeServer(record.id)
        .then(() => this.apply(record, { type: 'keys-removed' }))
        .catch((error: unknown) => this.log.warn({ err: error, serverId: record.id }, 'could not remove server keys; trying again next turn'))
        .finally(() => this.removals.delete(record.id));
      this.removals.set(record.id, removal);
    }
  }

  // ---- spawning --------------------------------------------------------------------------------

  /**
   * Forks one chat server on this host. Throws FleetFullError at FLEET_MAX
   * (counted fleet-wide, plus `pending` spawns asked of other balancers). The
   * record is `starting` until the child's ready message arrives.
   */
  spawn(kind: 'spawn' | 'respawn' = 'spawn', detail = 'requested', pending = 0): ServerRecord {
    const { config, self } = this.options;
    if (this.managedCount() + pending >= config.FLEET_MAX) throw new FleetFullError(config.FLEET_MAX);
    if (!existsSync(this.options.entry)) {
      throw new Error(`chat server entry ${this.options.entry} does not exist; run \`npm run build\` first`);
    }
    let id: string;
    do id = `srv-${randomBytes(3).toString('hex')}`;
    while (this.servers.has(id));
    const child = new ChatServerChild({
      id,
      entry: this.options.entry,
      nodeFlags: this.options.nodeFlags,
      env: this.childEnv(id),
      readyTimeoutMs: config.READY_TIMEOUT_MS,
      log: this.options.log,
      relay: this.options.relay,
      onDraining: () => {
        const r = this.servers.get(id);
        if (r !== undefined) this.apply(r, { type: 'draining' });
      },
    });
    const record = new ServerRecord(id, {
      life: startingLife(),
      pid: child.pid ?? null,
      host: config.PUBLIC_HOST ?? config.HOST,
      hostId: self.hostId,
      owner: self.id,
      managed: true,
      startedAt: Date.now(),
    });
    record.process = child;
    this.servers.set(id, record);
    this.counters.spawns++;
    this.lastSpawnAt = record.startedAt;
    if (kind === 'respawn') {
      const replaced = this.list().find((r) => r.life.owed.respawn);
      if (replaced !== undefined) this.apply(replaced, { type: 'respawned' });
    }
    this.record(kind, id, `${detail}; pid ${record.pid ?? '?'}`);
    child.ready.then(
      ({ url, pid }) => {
        record.url = url;
        record.pid = pid;
        this.apply(record, { type: 'ready', at: Date.now() }, `ready in ${Date.now() - child.spawnedAt} ms at ${url}`);
        // The owner field tells other balancers (and the server, once orphaned) who manages it.
        this.options.store.claimServer(id, '').catch((error: unknown) => this.log.warn({ err: error, serverId: id }, 'could not claim the new server'));
      },
      () => undefined, // the exit handler reports it
    );
    record.exitHandled = this.watchExit(record, child);
    return record;
  }

  /** Spawns with the failure backoff; false when it did not (backoff, FLEET_MAX, a failed fork). */
  trySpawn(kind: 'spawn' | 'respawn', detail: string, pending = 0): boolean {
    if (this.stopping || Date.now() < this.spawnNotBefore) return false;
    try {
      this.spawn(kind, detail, pending);
      return true;
    } catch (error) {
      if (error instanceof FleetFullError) return false;
      this.log.error({ err: error }, 'spawn failed');
      this.spawnNotBefore = Date.now() + MAX_SPAWN_BACKOFF_MS;
      return false;
    }
  }

  /** Resolves with the record once it is ready; rejects if it exits or times out first. */
  async whenReady(record: ServerRecord): Promise<ServerRecord> {
    await record.child?.ready;
    return record;
  }

  private childEnv(id: string): Record<string, string | undefined> {
    const { config: c, self } = this.options;
    return chatServerProcessEnv(this.options.baseEnv, {
      SERVER_ID: id,
      PORT: '0',
      HOST: c.HOST,
      PUBLIC_HOST: c.PUBLIC_HOST ?? c.HOST,
      HOST_ID: self.hostId,
      BALANCER_ID: self.id,
      REDIS_URL: this.options.redisUrl,
      AUTH_SECRET: this.options.authSecret,
      // Children's lines are relayed (and made pretty, when asked) by the balancer, which reads them as JSON.
      LOG_FORMAT: 'json',
      // Every shared setting, so children run with exactly what the balancer checked.
      ...Object.fromEntries(
        Object.keys(chatServerSettings).map((key) => [key, String(c[key as keyof typeof chatServerSettings] ?? '')]),
      ),
    });
  }

  private async watchExit(record: ServerRecord, process: ServerProcess): Promise<void> {
    const { code, signal } = await process.exited;
    const how = record.child === undefined ? 'its pid is gone' : signal === null ? `exited with code ${code}` : `exited with signal ${signal}`;
    this.apply(record, { type: 'exited', at: Date.now() }, record.life.leaving || this.stopping ? how : record.life.everReady ? `${how}, unexpectedly` : `never became ready; ${how}`);
    // Keys go last; wait until they are gone (a failed removal is tried once more) so stop() leaves none.
    await this.removals.get(record.id);
    if (record.life.owed.removeKeys) {
      this.settle(record, Date.now());
      await this.removals.get(record.id);
    }
  }

  // ---- what each turn sees -----------------------------------------------------------------------

  /**
   * Applies one turn's reading: heartbeats, statuses reported in hashes, new
   * servers (observed, or adopted when they are orphans of this host), servers
   * gone from Redis, and the retention of gone ones.
   */
  async observe(reading: Reading, live: ReadonlyMap<string, string>): Promise<string[]> {
    if (this.stopping) return [];
    this.liveBalancers = new Map(live);
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
      if (hash !== undefined) this.refresh(record, hash);
      if (record.life.own) {
        if (record.process instanceof AdoptedProcess) record.process.poll();
        if (record.status !== 'starting' && stale(record.heartbeat)) {
          this.apply(record, { type: 'stale', at: now }, `heartbeat stale for ${now - (record.heartbeat ?? now)} ms; killing pid ${record.pid ?? '?'}`);
        } else if (hash?.status === 'draining') {
          this.apply(record, { type: 'draining' });
        } else if (hash !== undefined && hash.owner === '' && record.status === 'ready' && !recovering) {
          // Redis lost the owner field (it came back empty): claim the server again.
          await this.options.store.claimServer(record.id, '').catch(() => false);
        }
        continue;
      }
      if (hash === undefined) {
        if (!recovering) this.apply(record, { type: 'vanished', at: now }, 'left (its keys are gone)');
        continue;
      }
      if (stale(hash.heartbeat)) {
        this.apply(record, { type: 'stale', at: now }, `heartbeat stale for ${now - hash.heartbeat} ms`);
        continue;
      }
      if (hash.status === 'draining') this.apply(record, { type: 'draining' });
      if (await this.adoptable(record, hash)) await this.adopt(record, hash);
    }

    for (const id of new Set([...reading.listed, ...reading.hashes.keys()])) {
      if (this.servers.has(id)) continue;
      const hash = reading.hashes.get(id);
      if (hash === undefined || stale(hash.heartbeat) || hash.heartbeat === 0) {
        // Left behind by a server that died without a balancer watching it. Never listed, never provisioned.
        this.log.info({ serverId: id }, 'removing keys of a dead server');
        await this.options.store.removeServer(id).catch((error: unknown) => this.log.warn({ err: error, serverId: id }, 'could not remove server keys'));
        continue;
      }
      const record = new ServerRecord(id, {
        life: foundLife(hash.status === 'draining' ? 'draining' : 'ready', false),
        pid: hash.pid,
        host: hash.host,
        hostId: hash.hostId,
        owner: hash.owner,
        managed: hash.managed,
        startedAt: hash.startedAt,
      });
      this.refresh(record, hash);
      this.servers.set(id, record);
      if (await this.adoptable(record, hash)) await this.adopt(record, hash);
      else this.record('remote-join', id, hash.owner === '' ? `remote server at ${hash.url}` : `server of balancer ${hash.owner} at ${hash.url}`);
    }

    const retention = this.options.config.GONE_RETENTION_MS;
    const removed: string[] = [];
    for (const record of this.list()) {
      if (record.status === 'gone' && record.life.goneAt !== undefined && now - record.life.goneAt >= retention && !record.life.owed.removeKeys) {
        this.servers.delete(record.id);
        if (record.process instanceof AdoptedProcess) record.process.release();
        removed.push(record.id);
      }
    }
    return removed;
  }

  private refresh(record: ServerRecord, hash: ServerHash): void {
    record.heartbeat = hash.heartbeat;
    if (hash.host !== '') record.host = hash.host;
    if (hash.hostId !== '') record.hostId = hash.hostId;
    if (!record.life.own) {
      record.owner = hash.owner;
      record.url = hash.url;
      record.pid = hash.pid;
      record.managed = hash.managed;
    }
  }

  /** A managed server of this host whose owner is no live balancer, and whose process runs here. */
  private async adoptable(record: ServerRecord, hash: ServerHash): Promise<boolean> {
    if (this.stopping || record.life.own || !hash.managed || hash.hostId !== this.options.self.hostId) return false;
    if (hash.owner !== '' && this.balancerAlive(hash.owner)) return false;
    return hash.pid !== null && pidAlive(hash.pid);
  }

  /** Claims an orphan in Redis (only one balancer can win) and manages it from now on, by pid. */
  private async adopt(record: ServerRecord, hash: ServerHash): Promise<void> {
    if (!(await this.options.store.claimServer(record.id, hash.owner).catch(() => false))) return;
    const previous = hash.owner === '' ? 'no balancer' : `balancer ${hash.owner}`;
    record.owner = this.options.self.id;
    record.process = new AdoptedProcess(hash.pid!, Math.min(250, this.options.config.METRICS_INTERVAL_MS));
    record.exitHandled = this.watchExit(record, record.process);
    this.apply(record, { type: 'adopted' });
    this.record('adopt', record.id, `adopted from ${previous}; pid ${hash.pid} at ${hash.url}`);
  }

  // ---- drains and redistributions ----------------------------------------------------------------

  /**
   * Drains a server. An own server is marked draining at once, in its life
   * and in its hash (so nobody sends it clients from now on); its command goes
   * out with the turn (`sendOwedDrains`). Another balancer's server is handed
   * to its owner; a remote one is told directly.
   */
  async drain(id: string, reason: string, token: number, plan?: { routes: ReadonlyArray<{ room: string; to: string }>; fallback: string | undefined }): Promise<ActionResult> {
    const record = this.servers.get(id);
    if (record === undefined || record.status === 'gone') return 'unknown';
    if (record.status !== 'draining' && plan !== undefined) {
      record.drainRoutes = plan.routes;
      record.drainFallback = plan.fallback;
    }
    if (record.life.own) {
      const { config } = this.options;
      if (record.life.owed.drainCommand === false && record.status !== 'draining') record.drainReason = reason;
      this.apply(record, { type: 'drain', at: Date.now(), killAfterMs: config.DRAIN_TIMEOUT_MS + config.STOP_TIMEOUT_MS }, `draining (${reason})`);
      await this.options.store.markDraining(id).catch((error: unknown) => this.log.warn({ err: error, serverId: id }, 'could not mark the server draining'));
      return 'done';
    }
    if (record.owner !== '' && this.balancerAlive(record.owner)) {
      const routes = plan?.routes.map((r) => ({ room: r.room, to: r.to }));
      const got = await this.options.store.commandBalancer(record.owner, {
        type: 'drain',
        from: this.options.self.id,
        serverId: id,
        reason,
        token,
        ...(routes === undefined || routes.length === 0 ? {} : { routes }),
        ...(plan?.fallback === undefined ? {} : { fallback: plan.fallback }),
      });
      if (got === 0) return 'unreachable';
      this.apply(record, { type: 'draining' });
      return 'done';
    }
    // A remote server (or an orphan of another host): nobody else will tell it. Its command goes with the turn too.
    record.drainReason = reason;
    this.apply(record, { type: 'drain', at: Date.now(), killAfterMs: 0 }, `draining (${reason})`);
    await this.options.store.markDraining(id);
    return 'done';
  }

  /** Publishes every drain command still owed, each with a redirect that is never a server going away. */
  async sendOwedDrains(token: number, candidates: readonly Candidate[]): Promise<void> {
    const now = Date.now();
    for (const record of this.list()) {
      if (!record.life.owed.drainCommand) continue;
      const planned = record.drainFallback === undefined ? undefined : this.servers.get(record.drainFallback);
      const target = planned !== undefined && planned.status === 'ready' && planned.url !== '' ? planned : this.targetOtherThan(record.id, candidates);
      // With no ready server to go to, a starting one may be ready soon: wait for it, up to READY_TIMEOUT_MS.
      const waiting = target === undefined && this.list().some((r) => r.status === 'starting') && now - (record.life.drainSince ?? now) < this.options.config.READY_TIMEOUT_MS;
      if (waiting) continue;
      await this.sendDrain(record, token, target);
    }
  }

  private async sendDrain(record: ServerRecord, token: number, target: ServerRecord | undefined): Promise<void> {
    const command: ServerCommand = { type: 'drain', reason: record.drainReason, token };
    if (target !== undefined && target.url !== '') command.redirect = target.url;
    // Each planned route to a server still ready; a room whose server is not goes with the rest.
    const routes = record.drainRoutes
      .map((r) => ({ room: r.room, to: this.servers.get(r.to) }))
      .filter((r) => r.to !== undefined && r.to.status === 'ready' && r.to.url !== '' && r.to.id !== record.id)
      .map((r) => ({ room: r.room, redirect: r.to!.url }));
    if (routes.length > 0) command.routes = routes;
    if (this.options.sendCommand !== undefined) {
      // Sent with an id and resent until the server confirms it; the outcome is an event when it fails.
      this.apply(record, { type: 'drain-sent' });
      void this.options.sendCommand(record.id, command);
      return;
    }
    try {
      await this.options.store.commandServer(record.id, command);
      this.apply(record, { type: 'drain-sent' });
    } catch (error) {
      this.log.error({ err: error, serverId: record.id }, 'drain command failed; trying again next turn');
    }
  }

  /** Records a command that did not end confirmed: refused by the server, or given up. */
  commandOutcome(outcome: CommandOutcome): void {
    if (outcome.ok) {
      this.log.debug({ serverId: outcome.serverId, id: outcome.id, tries: outcome.tries, ms: outcome.ms }, `command ${outcome.id} confirmed: ${outcome.ack.detail}`);
      return;
    }
    this.record(outcome.ack === undefined ? 'command-given-up' : 'command-refused', outcome.serverId, outcome.reason);
  }

  /** The least-loaded ready server other than `id`, by `candidates` (their loads), never one draining, gone or full. */
  targetOtherThan(id: string, candidates: readonly Candidate[]): ServerRecord | undefined {
    const byId = new Map(candidates.map((c) => [c.id, c]));
    const ready = this.list()
      .filter((r) => r.status === 'ready' && r.id !== id && r.url !== '')
      .map((r) => byId.get(r.id) ?? { id: r.id, status: r.status, socketWrites: [], clients: 0, rooms: [] })
      .filter((c) => c.full !== true);
    const best = leastLoaded(ready);
    return best === undefined ? undefined : this.servers.get(best.id);
  }

  /**
   * Tells server `id` to move `n` clients to `targetId`: directly when this
   * balancer owns it or nobody does, else through its owner. Records it here.
   */
  async redistribute(id: string, n: number, targetId: string, reason: string, token: number, moves?: readonly RoomMove[]): Promise<ActionResult> {
    const record = this.servers.get(id);
    const target = this.servers.get(targetId);
    if (record === undefined || record.status === 'gone') return 'unknown';
    if (target === undefined || target.status !== 'ready' || target.url === '') return 'no-target';
    const rooms = moves === undefined || moves.length === 0 ? undefined : moves.map((m) => ({ room: m.room, n: m.n }));
    if (!record.life.own && record.owner !== '' && this.balancerAlive(record.owner)) {
      const got = await this.options.store.commandBalancer(record.owner, {
        type: 'redistribute',
        from: this.options.self.id,
        serverId: id,
        n,
        to: targetId,
        reason,
        token,
        ...(rooms === undefined ? {} : { moves: rooms }),
      });
      return got === 0 ? 'unreachable' : 'done';
    }
    const command: ServerCommand = { type: 'redistribute', n, redirect: target.url, reason, token, ...(rooms === undefined ? {} : { moves: rooms }) };
    if (this.options.sendCommand !== undefined) void this.options.sendCommand(id, command);
    else await this.options.store.commandServer(id, command);
    this.counters.redistributions++;
    const where = rooms === undefined ? '' : `, ${rooms.length} room${rooms.length === 1 ? '' : 's'}`;
    this.record('redistribute', id, `${n} clients to ${targetId}${where} (${reason})`);
    return 'done';
  }

  /** Carries out, each turn, whatever deadlines and key removals are still owed (a failed one is tried again). */
  settleAll(now = Date.now()): void {
    for (const record of this.list()) this.settle(record, now);
  }

  // ---- stop ------------------------------------------------------------------------------------

  /**
   * Stops every own server (SIGTERM, SIGKILL after STOP_TIMEOUT_MS) and
   * waits until each exit is handled and its keys removed. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const now = Date.now();
    const own = this.list().filter((r) => r.process !== undefined);
    for (const record of own) this.apply(record, { type: 'stop', at: now });
    await Promise.all(own.map(async (record) => {
      await record.process?.stop(this.options.config.STOP_TIMEOUT_MS);
      await record.exitHandled;
    }));
  }

  /** Last resort on a second Ctrl-C: SIGKILL every own process now. */
  killAll(): void {
    for (const record of this.list()) record.process?.signal('SIGKILL');
  }

  /** True once stop() began. */
  get isStopping(): boolean {
    return this.stopping;
  }
}
