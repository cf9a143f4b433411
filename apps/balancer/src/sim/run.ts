// The simulator's engine: a synthetic day of traffic driving both policies over their own copies of the fleet, with figures per tick and per hour.
import { newCounters, World, type WorldCounters, type WorldOptions } from './world.js';
import { PlannerPolicy, TodayPolicy, type PolicySettings, type SimPolicy } from './policies.js';
import { prng, stochasticRound } from './prng.js';
import { Traffic, type TrafficOptions } from './traffic.js';

export interface SimOptions {
  traffic: TrafficOptions;
  world: WorldOptions;
  policy: Omit<PolicySettings, 'tickSeconds'>;
  /** Simulated hours from midnight. */
  hours: number;
  /** Seconds per traffic step: joins, leaves and message rates change once a step. */
  stepSeconds: number;
  /** Seconds between two runs of the control loop (at most stepSeconds). */
  tickSeconds: number;
  seed: number;
}

/** One hour of one policy. */
export interface HourFigures {
  hour: number;
  /** Mean servers (starting, ready or draining). */
  servers: number;
  clients: number;
  moved: number;
  decisions: number;
  deliveriesPerMessage: number;
}

/** A policy's day. */
export interface PolicyFigures {
  name: string;
  servers: { mean: number; max: number; serverHours: number };
  clientsMoved: { total: number; maxPerHour: number; perThousandClientHours: number };
  fanout: {
    /** Redis deliveries per message over the day (message-weighted): each message goes to every server holding its room. */
    deliveriesPerMessage: number;
    /** Mean servers per room with members. */
    serversPerRoom: number;
    /** Mean rooms on more than one server. */
    splitRooms: number;
    /** Servers holding the flash crowd's room at its peak. */
    flashRoomServersMax: number;
    deliveriesPerDay: number;
  };
  imbalance: {
    /** Mean coefficient of variation of the ready servers' writes/s. */
    cvMean: number;
    /** 95th percentile over ticks of the busiest server's writes/s over the mean. */
    maxOverMeanP95: number;
    /** Share of ticks with the least-loaded ready server at 80% or more of the busiest. */
    within20Share: number;
  };
  overload: {
    /** Server-minutes at or past SPAWN_WRITES_PER_SEC. */
    hotServerMinutes: number;
    /** Server-minutes past what the server could do on its share of a core (messages queue). */
    saturatedServerMinutes: number;
  };
  decisions: WorldCounters & { perHourMean: number; perHourMax: number };
  hourly: HourFigures[];
}

export interface SimReport {
  options: SimOptions;
  messagesPerDay: number;
  peakOnline: number;
  wallMs: number;
  policies: PolicyFigures[];
}

/** Rooms of at most this many members churn as a group (see the step loop). */
const SMALL_ROOM = 20;

const decisionsOf = (c: WorldCounters) => c.spawns + c.drains + c.redistributes + c.notes;

/** Runs the day for both policies and returns their figures. Pure but for the clock it reads for `wallMs`. */
export function runSimulation(options: SimOptions): SimReport {
  const started = Date.now();
  const traffic = new Traffic(options.traffic, prng(options.seed ^ 0x9e3779b9));
  const settings: PolicySettings = { ...options.policy, tickSeconds: options.tickSeconds };
  const worlds = [new World(options.world, traffic.ids), new World(options.world, traffic.ids)] as const;
  const policies: SimPolicy[] = [new TodayPolicy(worlds[0], settings, prng(options.seed + 1)), new PlannerPolicy(worlds[1], settings)];
  const budget = options.policy.spawnWritesPerSec;
  const rooms = options.traffic.rooms;
  const flashId = options.traffic.flash === undefined ? undefined : traffic.ids[options.traffic.flash.rank - 1];

  // Start at midnight with a fleet sized for it (70% of SPAWN_WRITES_PER_SEC each), the same for both, filled by each policy's provisioning.
  const online0 = traffic.online(0);
  let load0 = 0;
  for (let i = 0; i < rooms; i++) {
    const m = traffic.target(i, 0, online0);
    load0 += m * traffic.rate(m);
  }
  const initial = Math.min(options.policy.fleetMax, Math.max(options.policy.fleetMin, Math.ceil(load0 / (0.7 * budget))));
  for (const policy of policies) {
    const hosts = policy.world.hostIds();
    for (let n = 0; n < initial; n++) policy.world.spawn(hosts[n % hosts.length]!, -options.world.spawnSeconds);
    policy.world.promote(0);
    policy.world.setRates(() => 0);
    for (let i = 0; i < rooms; i++) {
      const m = traffic.target(i, 0, online0);
      if (m <= 0) continue;
      policy.world.setRate(policy.world.roomList[i]!, traffic.rate(m));
      policy.provision(traffic.ids[i]!, m, 0);
    }
    policy.world.setRates((m) => traffic.rate(m));
    policy.world.counters = newCounters();
  }

  const collectors = policies.map((p) => new Collector(p.name, budget));
  const end = options.hours * 3600;
  let messages = 0;
  let peakOnline = 0;
  for (let t = 0, step = 0; t < end; t += options.stepSeconds, step++) {
    const hour = t / 3600;
    const online = traffic.online(hour);
    peakOnline = Math.max(peakOnline, online);
    policies.forEach((policy, w) => {
      const world = policy.world;
      // The same draws for both worlds: the same people leave and join in each.
      const churn = prng((options.seed * 1_000_003 + step) >>> 0);
      const leaveSpread = prng((options.seed * 7919 + step * 31 + w) >>> 0);
      const churnShare = options.stepSeconds / (options.traffic.sessionMinutes * 60);
      // First everyone who leaves this step, then everyone who joins, so provisioning sees the loads after the leaves.
      const joins = new Int32Array(rooms);
      for (let i = 0; i < rooms; i++) {
        const room = world.roomList[i]!;
        const target = traffic.target(i, hour, online);
        // Small rooms churn as a group (a session of a few people ends, another begins): the same members per
        // hour on average as one by one, in far fewer events, which keeps a day of a million users fast to simulate.
        const leaving =
          room.total <= SMALL_ROOM
            ? churn() < churnShare
              ? room.total
              : 0
            : Math.min(room.total, stochasticRound(room.total * churnShare, churn));
        const leaves = Math.max(leaving, room.total - target);
        if (leaves > 0) {
          world.leave(room.id, leaves, leaveSpread);
          world.setRate(room, room.total > 0 ? traffic.rate(room.total) : 0);
        }
        joins[i] = Math.max(0, target - room.total);
      }
      for (let i = 0; i < rooms; i++) {
        const n = joins[i]!;
        if (n === 0) continue;
        const room = world.roomList[i]!;
        // The rate the room will have with its new members: what each placement adds is measured against it.
        world.setRate(room, traffic.rate(room.total + n));
        policy.provision(room.id, n, t * 1000);
      }
      // Once an hour, everything from scratch (no drift from the running sums).
      if (step % Math.max(1, Math.round(3600 / options.stepSeconds)) === 0) world.setRates((m) => traffic.rate(m));
      const cadence = policy.cadenceSeconds;
      for (let tt = t; tt < t + options.stepSeconds && tt < end; tt += cadence) {
        world.promote(tt);
        let spawned = policy.tick(tt * 1000, tt / 3600);
        // A spawn burst: the real loop runs every second, so several servers can start within one run of ours.
        for (let r = 1; spawned && r * options.world.spawnSeconds < cadence; r++) {
          const at = tt + r * options.world.spawnSeconds;
          world.promote(at);
          spawned = policy.tick(at * 1000, at / 3600);
        }
        collectors[w]!.record(world, tt, Math.min(cadence, end - tt), flashId);
      }
    });
    messages += worlds[1].fanout.messages * options.stepSeconds;
  }
  return {
    options,
    messagesPerDay: messages * (24 / options.hours),
    peakOnline,
    wallMs: Date.now() - started,
    policies: collectors.map((c) => c.figures()),
  };
}

/** Gathers one policy's figures tick by tick. */
class Collector {
  private ticks = 0;
  private seconds = 0;
  private serverSeconds = 0;
  private maxServers = 0;
  private messages = 0;
  private deliveries = 0;
  private serversPerRoomSum = 0;
  private splitRoomsSum = 0;
  private flashMax = 0;
  private cvSum = 0;
  private cvTicks = 0;
  private readonly maxOverMean: number[] = [];
  private within20 = 0;
  private hotSeconds = 0;
  private saturatedSeconds = 0;
  private clientSeconds = 0;
  private last: WorldCounters = newCounters();
  private readonly hours = new Map<number, { servers: number; ticks: number; clients: number; moved: number; decisions: number; messages: number; deliveries: number }>();

  constructor(
    private readonly name: string,
    private readonly budget: number,
  ) {}

  record(world: World, t: number, seconds: number, flashId: string | undefined): void {
    this.ticks++;
    this.seconds += seconds;
    const servers = world.servers.size;
    this.maxServers = Math.max(this.maxServers, servers);
    this.serverSeconds += servers * seconds;
    const ready = world.ready();
    const loads = ready.map((s) => s.load);
    const clients = ready.reduce((sum, s) => sum + s.clients, 0);
    this.clientSeconds += clients * seconds;
    if (loads.length > 0) {
      const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
      const max = Math.max(...loads);
      const min = Math.min(...loads);
      if (mean > 0) {
        const sd = Math.sqrt(loads.reduce((a, b) => a + (b - mean) ** 2, 0) / loads.length);
        this.cvSum += sd / mean;
        this.cvTicks++;
        this.maxOverMean.push(max / mean);
        if (min >= 0.8 * max) this.within20++;
      }
      this.hotSeconds += loads.filter((l) => l >= this.budget).length * seconds;
    }
    const hourStates = world.serverStates(t / 3600);
    for (const st of hourStates.values()) if (st.util > 1) this.saturatedSeconds += seconds;

    const { messages, deliveries, active, pairs, split } = world.fanout;
    this.messages += messages * seconds;
    this.deliveries += deliveries * seconds;
    this.serversPerRoomSum += active === 0 ? 0 : pairs / active;
    this.splitRoomsSum += split;
    if (flashId !== undefined) this.flashMax = Math.max(this.flashMax, world.rooms.get(flashId)!.members.size);

    const c = world.counters;
    const hour = Math.floor(t / 3600);
    let h = this.hours.get(hour);
    if (h === undefined) this.hours.set(hour, (h = { servers: 0, ticks: 0, clients: 0, moved: 0, decisions: 0, messages: 0, deliveries: 0 }));
    h.servers += servers;
    h.ticks++;
    h.clients += clients;
    h.moved += c.moved - this.last.moved;
    h.decisions += decisionsOf(c) - decisionsOf(this.last);
    h.messages += messages;
    h.deliveries += deliveries;
    this.last = { ...c, movedBy: { ...c.movedBy }, plannedKinds: { ...c.plannedKinds } };
  }

  figures(): PolicyFigures {
    const hourly = [...this.hours].map(([hour, h]) => ({
      hour,
      servers: h.servers / h.ticks,
      clients: h.clients / h.ticks,
      moved: h.moved,
      decisions: h.decisions,
      deliveriesPerMessage: h.messages === 0 ? 0 : h.deliveries / h.messages,
    }));
    const sorted = [...this.maxOverMean].sort((a, b) => a - b);
    const c = this.last;
    const hoursCount = Math.max(1, hourly.length);
    return {
      name: this.name,
      servers: { mean: this.seconds === 0 ? 0 : this.serverSeconds / this.seconds, max: this.maxServers, serverHours: this.serverSeconds / 3600 },
      clientsMoved: {
        total: c.moved,
        maxPerHour: Math.max(0, ...hourly.map((h) => h.moved)),
        perThousandClientHours: this.clientSeconds === 0 ? 0 : (c.moved / (this.clientSeconds / 3600)) * 1000,
      },
      fanout: {
        deliveriesPerMessage: this.messages === 0 ? 0 : this.deliveries / this.messages,
        serversPerRoom: this.serversPerRoomSum / Math.max(1, this.ticks),
        splitRooms: this.splitRoomsSum / Math.max(1, this.ticks),
        flashRoomServersMax: this.flashMax,
        deliveriesPerDay: this.deliveries,
      },
      imbalance: {
        cvMean: this.cvTicks === 0 ? 0 : this.cvSum / this.cvTicks,
        maxOverMeanP95: sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))]!,
        within20Share: this.cvTicks === 0 ? 0 : this.within20 / this.cvTicks,
      },
      overload: { hotServerMinutes: this.hotSeconds / 60, saturatedServerMinutes: this.saturatedSeconds / 60 },
      decisions: { ...c, perHourMean: decisionsOf(c) / hoursCount, perHourMax: Math.max(0, ...hourly.map((h) => h.decisions)) },
      hourly,
    };
  }
}
