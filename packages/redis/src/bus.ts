// The pub/sub bus of one process: its subscriber connection, a canary that proves it still receives, and gap notices.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { RedisLink } from './link.js';
import { makeSubscriber, type Subscriber } from './subscriber.js';

/** Called with each message of the channels a route covers. */
export type BusHandler = (message: string, channel: string) => void;

export interface BusOptions {
  /** The command link: publishes the probes and tells the bus about reconnects and failovers. */
  link: RedisLink;
  /**
   * The name of a probe channel. `tag` places it: on a Cluster the bus keeps
   * one probe channel on every master (a tag hashing into that master's slots),
   * elsewhere it uses one, with the tag ''.
   */
  probeChannel: (tag: string) => string;
  /** How often a probe is published on each probe channel, ms. */
  probeIntervalMs: number;
  /** A probe not received within this is missed: the subscriber is presumed deaf and rebuilt, ms. */
  probeTimeoutMs: number;
  /** Deadline of each subscriber connection attempt, ms. */
  connectTimeoutMs: number;
  /** Delay before reconnect attempt `retries`; default 50 ms doubling up to 2 s. */
  reconnectDelay?: (retries: number) => number;
}

/**
 * Events of a bus. Trouble is tracked per master (a Cluster has several; one
 * Redis or a Sentinel group has one, named ''), so that one shard's failover
 * holds up only the channels it serves.
 * - `suspect` (why): the bus may be missing messages, from now on, on the
 *   channels of some masters; `suspected(channel)` says which. Hold live
 *   messages on those channels until the gap is filled.
 * - `gap` (why): some masters' channels receive again (a probe published
 *   after their trouble went through); what they may have missed is in
 *   history. Fill it for every channel no longer `suspected`. Emitted once per
 *   recovery and once more a probe interval later, because on a Cluster each
 *   channel is subscribed again on its own and may come back a little after
 *   the probe.
 * - `health` (healthy, why): the canary's verdict on the whole bus changed.
 * - `error` (err): a subscriber connection failed.
 */
export interface BusEvents {
  suspect: [why: string];
  gap: [why: string];
  health: [healthy: boolean, why: string];
  error: [err: unknown];
}

/** Counters for metrics. */
export interface BusStats {
  probesSent: number;
  probesMissed: number;
  /** Subscriber connections made again from scratch (a deaf or misplaced subscriber). */
  rebuilds: number;
  /** `gap` notices (each second pass counted too). */
  gaps: number;
}

interface Probe {
  channel: string;
  /** The slot of its tag on a Cluster, to notice when the slot moves to another master. */
  slot: number;
  /** The master it tests (host:port on a Cluster, '' elsewhere). */
  master: string;
  /** Probe tokens in flight, with when each was sent (ms epoch). */
  outstanding: Map<string, number>;
}

/** Why and since when a master's channels may be missing messages. */
interface Trouble {
  since: number;
  why: string;
}

const defaultDelay = (retries: number): number => Math.min(50 * 2 ** retries, 2000);

/**
 * Pub/sub is at most once: while a subscriber reconnects, or when its
 * connection goes silent without dropping, whatever is published is gone.
 * The bus cannot bring those messages back, but it always knows when it may
 * have missed some: on every drop, reconnect and failover, on a Cluster when
 * the slot map changes, and when its own probe (published once a
 * `probeIntervalMs` through the command link, one per master) does not come
 * back within `probeTimeoutMs`. A deaf subscriber is replaced by a new
 * connection. Once a probe goes through again, `gap` tells the owner to read
 * what it missed from history.
 *
 * Channels are grouped by `route(prefix)` so that a process with thousands of
 * room and user channels keeps no closure per channel.
 */
export class Bus extends EventEmitter<BusEvents> {
  readonly stats: BusStats = { probesSent: 0, probesMissed: 0, rebuilds: 0, gaps: 0 };
  private readonly routes: Array<{ prefix: string; handler: BusHandler }> = [];
  /** Every channel the owner wants, whatever the connection's state. */
  private readonly channels = new Set<string>();
  /** UNSUBSCRIBEs in flight: a new SUBSCRIBE of the same channel waits for its one. */
  private readonly unsubscribing = new Map<string, Promise<void>>();
  private readonly probes = new Map<string, Probe>();
  /** Masters whose channels may be missing messages right now. */
  private readonly troubled = new Map<string, Trouble>();
  private readonly token = randomBytes(4).toString('hex');
  private subscriber: Subscriber | undefined;
  private rebuilding: Promise<void> | undefined;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly secondPasses = new Set<NodeJS.Timeout>();
  private lastTickAt = 0;
  private closed = false;
  private subscriberDown = false;
  private needsRebuild = false;
  /** Cluster: whether the slot map was looked at once already. */
  private slotsSeen = false;
  private probeRound: Promise<void> | undefined;
  private readonly dispatch = (message: string, channel: string): void => this.onMessage(message, channel);

  constructor(private readonly options: BusOptions) {
    super();
    options.link.on('up', this.onLinkUp);
  }

  /** True while every master's probes come back and nothing since suggests a gap. */
  get healthy(): boolean {
    return this.troubled.size === 0;
  }

  /** True while `channel` may be missing messages (its master is in trouble). */
  suspected(channel: string): boolean {
    if (this.troubled.size === 0) return false;
    return this.troubled.has(this.options.link.masterOf(channel));
  }

  /** Sends every message of channels starting with `prefix` to `handler` (the longest matching prefix wins). */
  route(prefix: string, handler: BusHandler): void {
    this.routes.push({ prefix, handler });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Connects, subscribes the probe channels, and starts the canary. */
  async start(): Promise<void> {
    this.subscriber = this.newSubscriber();
    await this.subscriber.connect();
    await this.refreshProbes();
    this.lastTickAt = Date.now();
    this.timer = setInterval(() => this.tick(), this.options.probeIntervalMs);
    this.tick();
  }

  /** Subscribes a channel; resolves once Redis confirmed it (or a rebuild under way will include it). */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    const pending = this.unsubscribing.get(channel);
    if (pending !== undefined) await pending.catch(() => undefined);
    const subscriber = this.subscriber;
    if (!this.channels.has(channel) || subscriber === undefined || this.rebuilding !== undefined) return;
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      // Replaced meanwhile: the new connection subscribes every wanted channel itself.
      if (this.subscriber !== subscriber || this.rebuilding !== undefined) return;
      throw error;
    }
  }

  /** Unsubscribes a channel. */
  unsubscribe(channel: string): Promise<void> {
    if (!this.channels.delete(channel)) return Promise.resolve();
    const subscriber = this.subscriber;
    if (subscriber === undefined || this.rebuilding !== undefined) return Promise.resolve();
    const done = subscriber
      .unsubscribe(channel)
      .catch((error: unknown) => {
        if (this.subscriber === subscriber) throw error; // else gone with the old connection
      })
      .finally(() => {
        if (this.unsubscribing.get(channel) === done) this.unsubscribing.delete(channel);
      });
    this.unsubscribing.set(channel, done);
    return done;
  }

  /** Probe channels: one per master. */
  get probeCount(): number {
    return this.probes.size;
  }

  /** Channels subscribed (or to be, after a rebuild). */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Stops the canary and closes the subscriber. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const timer of this.secondPasses) clearTimeout(timer);
    this.secondPasses.clear();
    this.options.link.off('up', this.onLinkUp);
    await this.rebuilding?.catch(() => undefined);
    await this.probeRound?.catch(() => undefined);
    this.subscriber?.destroy();
    this.subscriber = undefined;
  }

  // ---- receiving -------------------------------------------------------------------------------

  private onMessage(message: string, channel: string): void {
    const probe = this.probes.get(channel);
    if (probe !== undefined) {
      this.onProbe(probe, message);
      return;
    }
    for (const route of this.routes) {
      if (channel.startsWith(route.prefix)) {
        route.handler(message, channel);
        return;
      }
    }
  }

  private onProbe(probe: Probe, message: string): void {
    const sentAt = probe.outstanding.get(message);
    if (sentAt === undefined) return; // another bus's, or one already written off
    probe.outstanding.delete(message);
    // Probes on one channel arrive in order: an older one still outstanding was lost.
    let lost = 0;
    for (const [token, at] of probe.outstanding) {
      if (at <= sentAt) {
        probe.outstanding.delete(token);
        lost += 1;
      }
    }
    if (lost > 0) {
      this.stats.probesMissed += lost;
      if (!this.troubled.has(probe.master)) this.suspect(`a probe on ${probe.channel} was lost`, false, probe.master);
    }
    const trouble = this.troubled.get(probe.master);
    // Back once a probe published after the trouble began went through.
    if (trouble === undefined || sentAt < trouble.since) return;
    this.troubled.delete(probe.master);
    this.announceGap(trouble.why);
    if (this.troubled.size === 0) this.emit('health', true, 'probes come back');
  }

  private announceGap(why: string): void {
    this.stats.gaps += 1;
    this.emit('gap', why);
    const timer = setTimeout(() => {
      this.secondPasses.delete(timer);
      if (this.closed) return;
      this.stats.gaps += 1;
      this.emit('gap', `${why} (second pass)`);
    }, this.options.probeIntervalMs);
    this.secondPasses.add(timer);
  }

  // ---- trouble ---------------------------------------------------------------------------------

  /**
   * Something may have cost messages: from now on the channels of `master`
   * (of every master when undefined) are suspect until a probe goes through.
   */
  private suspect(why: string, rebuild: boolean, master?: string): void {
    if (this.closed) return;
    if (rebuild) this.needsRebuild = true;
    const masters = master === undefined || !this.knownMaster(master) ? this.allMasters() : [master];
    const now = Date.now();
    let fresh = false;
    for (const name of masters) {
      if (this.troubled.has(name)) continue;
      this.troubled.set(name, { since: now, why });
      fresh = true;
    }
    if (fresh) {
      this.emit('suspect', why);
      this.emit('health', false, why);
    }
    // Probe at once rather than at the next tick, so recovery is noticed as soon as it happens.
    setImmediate(() => this.runProbeRound());
  }

  private knownMaster(master: string): boolean {
    for (const probe of this.probes.values()) if (probe.master === master) return true;
    return false;
  }

  /** Every master a probe tests (at least '' outside a Cluster). */
  private allMasters(): string[] {
    const masters = new Set([...this.probes.values()].map((p) => p.master));
    if (masters.size === 0) masters.add('');
    return [...masters];
  }

  private readonly onLinkUp = (why: string): void => {
    // The command link came back or the Sentinel group failed over: a subscriber on the old master hears nothing.
    this.suspect(`Redis: ${why}`, this.options.link.mode === 'sentinel');
  };

  private newSubscriber(): Subscriber {
    const { link } = this.options;
    // A replaced connection still reports its own end (its sockets close after destroy): that says nothing
    // about the current one, and taken for it would leave the bus waiting for a reconnect that never comes.
    let made: Subscriber | undefined;
    const current = (): boolean => made !== undefined && this.subscriber === made;
    made = makeSubscriber(
      link.target,
      link.masters()[0],
      { connectTimeoutMs: this.options.connectTimeoutMs, reconnectDelay: this.options.reconnectDelay ?? defaultDelay },
      this.dispatch,
      {
        onDown: (why, node) => {
          if (!current()) return;
          this.subscriberDown = true;
          this.suspect(why, false, node);
        },
        onBack: () => {
          if (!current()) return;
          this.subscriberDown = false;
          setImmediate(() => this.runProbeRound());
        },
        onMoved: (why) => {
          if (current()) this.suspect(why, false);
        },
        onError: (err) => this.emit('error', err),
      },
    );
    return made;
  }

  /** Replaces the subscriber connection with a new one subscribed to every channel. */
  private rebuild(): Promise<void> {
    this.rebuilding ??= (async () => {
      this.needsRebuild = false;
      this.stats.rebuilds += 1;
      // Every channel goes quiet while the connection is replaced.
      this.suspect('the subscriber connection is being replaced', false);
      // The old connection first, so that no message arrives twice through both.
      this.subscriber?.destroy();
      // Probes sent to the old connection will never come: they say nothing about the new one.
      for (const probe of this.probes.values()) probe.outstanding.clear();
      const next = this.newSubscriber();
      this.subscriber = next;
      this.slotsSeen = false;
      this.subscriberDown = false;
      await next.connect();
      await next.subscribeAll([...this.channels, ...this.probes.keys()]);
    })()
      .catch((err: unknown) => {
        this.needsRebuild = true;
        this.emit('error', err);
      })
      .finally(() => {
        this.rebuilding = undefined;
      });
    return this.rebuilding;
  }

  // ---- the canary ------------------------------------------------------------------------------

  private tick(): void {
    const now = Date.now();
    // A tick that comes late means this process was busy: a probe may sit unread in the socket, not lost.
    const late = now - this.lastTickAt > this.options.probeIntervalMs + this.options.probeTimeoutMs / 2;
    this.lastTickAt = now;
    if (!late) this.checkMissed(now);
    this.runProbeRound();
  }

  private checkMissed(now: number): void {
    for (const probe of this.probes.values()) {
      for (const [token, sentAt] of probe.outstanding) {
        if (now - sentAt <= this.options.probeTimeoutMs) continue;
        probe.outstanding.delete(token);
        this.stats.probesMissed += 1;
        // A subscriber that says it is reconnecting is left to do so; a silent one is replaced.
        this.suspect(`probe on ${probe.channel} not received within ${this.options.probeTimeoutMs} ms`, !this.subscriberDown, probe.master);
      }
    }
  }

  private runProbeRound(): void {
    if (this.closed || this.probeRound !== undefined) return;
    this.probeRound = this.probeOnce()
      .catch((err: unknown) => {
        this.emit('error', err);
      })
      .finally(() => {
        this.probeRound = undefined;
      });
  }

  private async probeOnce(): Promise<void> {
    if (this.needsRebuild) await this.rebuild();
    if (this.closed || this.rebuilding !== undefined) return;
    // The first look only takes the slot map in; every later change means channels moved.
    const moved = this.subscriber?.topologyChanged?.() === true;
    if (moved && this.slotsSeen) this.suspect('the cluster moved slots or failed over a master', false);
    this.slotsSeen = true;
    if (this.options.link.mode === 'cluster') await this.refreshProbes();
    if (!this.options.link.isReady) return; // nothing can be published; the subscriber's own events tell the rest
    await Promise.all(
      [...this.probes.values()].map(async (probe) => {
        this.seq += 1;
        const token = `${this.token}:${this.seq}`;
        const sentAt = Date.now();
        probe.outstanding.set(token, sentAt);
        this.stats.probesSent += 1;
        let receivers: number;
        try {
          receivers = await this.options.link.publish(probe.channel, token);
        } catch {
          probe.outstanding.delete(token); // not published: says nothing about the subscriber
          return;
        }
        // Redis counted no subscriber of ours on that channel: the subscription is gone (or not back yet).
        if (receivers === 0 && probe.outstanding.has(token) && !this.subscriberDown) {
          probe.outstanding.delete(token);
          this.stats.probesMissed += 1;
          this.suspect(`probe on ${probe.channel} found no subscriber`, true, probe.master);
        }
      }),
    );
  }

  /**
   * Keeps one probe channel per master: one channel outside a Cluster; on a
   * Cluster a tag for every master, found by asking Redis for the slot of
   * candidate tags, and found again when a tag's slot moves to another master
   * (its trouble, if any, moves with it).
   */
  private async refreshProbes(): Promise<void> {
    const { link } = this.options;
    if (link.mode !== 'cluster') {
      if (this.probes.size === 0) await this.addProbe(this.options.probeChannel(''), 0, '');
      return;
    }
    const masters = new Set(link.masters().map((m) => `${m.host}:${m.port}`));
    const covered = new Set<string>();
    for (const [channel, probe] of this.probes) {
      const master = link.masterOfSlot(probe.slot);
      if (master !== probe.master) {
        const trouble = this.troubled.get(probe.master);
        if (trouble !== undefined) {
          this.troubled.delete(probe.master);
          if (masters.has(master) && !this.troubled.has(master)) this.troubled.set(master, trouble);
        }
        probe.master = master;
      }
      if (!masters.has(master) || covered.has(master)) {
        this.probes.delete(channel);
        await this.subscriber?.unsubscribe(channel).catch(() => undefined);
        continue;
      }
      covered.add(master);
    }
    // A master gone from the cluster: what it served now has another owner, read from history as any gap.
    for (const [name, trouble] of [...this.troubled]) {
      if (masters.has(name)) continue;
      this.troubled.delete(name);
      this.announceGap(trouble.why);
    }
    for (let i = 0; covered.size < masters.size && i < 64 * masters.size; i++) {
      const tag = `${this.token}-${i}`;
      const channel = this.options.probeChannel(tag);
      if (this.probes.has(channel)) continue;
      const slot = await link.slotOf(channel);
      const master = link.masterOfSlot(slot);
      if (!masters.has(master) || covered.has(master)) continue;
      covered.add(master);
      await this.addProbe(channel, slot, master);
    }
  }

  private async addProbe(channel: string, slot: number, master: string): Promise<void> {
    this.probes.set(channel, { channel, slot, master, outstanding: new Map() });
    if (this.rebuilding === undefined) await this.subscriber?.subscribe(channel);
  }
}
