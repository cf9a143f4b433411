// The balancer's one control loop: each turn reads Redis, takes or renews the lease, applies what it saw, decides (the pure policy, leader only), then acts; turns never overlap.
import type { BalancerCommand, BalancerInfo, Capacity } from '@chatfleet/protocol';
import type { BalancerConfig } from '../config.js';
import type { Fleet } from '../fleet/fleet.js';
import type { Logger } from '../log.js';
import { initialAutoscaleState, planAutoscale, type AutoscaleConfig, type AutoscaleServer, type AutoscaleState } from '../load/autoscale.js';
import { capacityOf } from '../load/capacity.js';
import type { Heat } from '../load/hotness.js';
import type { HostFigures } from '../load/host-load.js';
import type { HostProbe } from '../load/host-probe.js';
import type { MetricsReader, Reading } from '../load/metrics-reader.js';
import { placementView, type PlacementView } from '../load/placement.js';
import type { PolicyServer } from '../load/policy.js';
import { chooseProvision, countProvision } from '../load/room-provision.js';
import { roomShares, type RoomShares } from '../load/room-shares.js';
import { AFFINITY_LOAD_SHARE, LOAD_WINDOW_SECONDS, chooseServer, leastLoaded, loadOf } from '../load/selection.js';
import type { FleetPeers, FleetStore } from '../store/fleet-store.js';
import { candidatesOf } from './candidates.js';
import { initialLease, isLeading, leaseOutcome, leaseStep, type LeaseResult, type LeaseState } from './lease.js';
import type { Placements } from './placements.js';
import { chooseSpawnSite, SpawnRequests, type SpawnSite } from './spawn-host.js';

/** Who this balancer is. */
export interface BalancerSelf {
  id: string;
  /** HOST_ID: the host whose chat servers it spawns and stops. */
  hostId: string;
  /** Its HTTP base URL. */
  url: string;
  startedAt: number;
}

export interface ControlLoopOptions {
  config: BalancerConfig;
  store: FleetStore;
  reader: MetricsReader;
  fleet: Fleet;
  placements: Placements;
  log: Logger;
  self: BalancerSelf;
  /** Measures this balancer's host each turn (cores, who keeps them busy); without it hosts are unknown (spawns allowed). */
  hostProbe?: HostProbe;
}

/** Members of the balancer list are pruned once their heartbeat is this many heartbeat timeouts old. */
const PRUNE_AFTER_TIMEOUTS = 10;

/**
 * Runs one turn every METRICS_INTERVAL_MS, the next one scheduled only
 * after the previous finished, so reads, decisions and actions never overlap:
 *
 * 1. heartbeat: this balancer's hash (so its host's orphans and the other balancers see it alive);
 * 2. read: the metrics (histories) and the balancers with the lease;
 * 3. lease: take, renew or follow (lease.ts), which says whether this balancer leads;
 * 4. observe: the registry applies the reading (statuses, adoption, servers gone);
 * 5. decide and act, leader only: the scaling policy's actions and FLEET_MIN;
 * 6. pay what is owed: drain commands, kill deadlines, key removals.
 *
 * `stop()` waits for the turn under way to finish.
 */
export class ControlLoop {
  private lease: LeaseState = initialLease;
  private peers: FleetPeers = { balancers: [], lease: undefined };
  private readonly requests = new SpawnRequests();
  /** The planner's state from one leader turn to the next (moves in flight, calm since, episodes said). */
  private autoscale: AutoscaleState = initialAutoscaleState();
  /** Each ready server's verdict at the leader's last plan. */
  private heat = new Map<string, Heat>();
  /** When the leader last started a server anywhere (ms epoch). */
  private lastSpawnAt: number | undefined;
  private lastDemandAt = 0;
  /** This host's figures at the last turn. */
  private host: HostFigures | undefined;
  /** The rooms as the servers' shares show them, built each turn. */
  private shares: RoomShares = { rooms: new Map(), splitRooms: new Set(), roomServers: new Map() };
  /** The placement view provisions are chosen from until the next turn (each provision counted into it). */
  private view: PlacementView | undefined;
  private capacityFigures: Capacity | undefined;
  private timer: NodeJS.Timeout | undefined;
  private turning: Promise<void> | undefined;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: ControlLoopOptions) {
    this.log = options.log.child({ part: 'control' });
  }

  /** Runs the first turn now, then one every METRICS_INTERVAL_MS; resolves once the first turn is done. */
  async start(): Promise<void> {
    this.turning = this.runTurn();
    await this.turning;
  }

  /** Stops the loop, waits for the turn under way, and gives the lease up if held. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.turning;
    if (this.lease.token !== undefined && isLeading(this.lease, Date.now())) {
      await this.options.store.releaseLease(this.lease.token).catch((error: unknown) => this.log.warn({ err: error }, 'could not release the lease'));
      this.lease = { ...this.lease, validUntil: 0 };
    }
  }

  /** True while this balancer holds the leader lease. */
  get leading(): boolean {
    return isLeading(this.lease, Date.now());
  }

  /** The newest fencing token known: every command to a chat server carries it. */
  get token(): number {
    return this.lease.newestToken;
  }

  /** The servers with their loads, for selection and the policy. */
  candidates(): PolicyServer[] {
    const { fleet, reader, placements } = this.options;
    return candidatesOf(fleet.list(), reader, placements, (owner) => fleet.balancerAlive(owner));
  }

  /** Every live balancer of the fleet, this one included, oldest first (`GET /balancers`). */
  balancers(): BalancerInfo[] {
    const { self } = this.options;
    const leader = this.leading ? self.id : this.peers.lease?.holder;
    const list = this.peers.balancers.filter((b) => b.id !== self.id);
    const mine = { id: self.id, url: self.url, host: self.hostId, startedAt: self.startedAt, heartbeat: this.peers.balancers.find((b) => b.id === self.id)?.heartbeat ?? self.startedAt };
    return [mine, ...list]
      .map((b) => ({ id: b.id, url: b.url, host: b.host, leader: b.id === leader, startedAt: b.startedAt, heartbeat: b.heartbeat }))
      .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.turning = this.runTurn();
    }, delayMs);
  }

  /** One turn, then the next one scheduled an interval after this one began. */
  private runTurn(): Promise<void> {
    const startedAt = Date.now();
    return this.turn()
      .catch((error: unknown) => this.log.error({ err: error }, 'control turn failed'))
      .finally(() => {
        this.turning = undefined;
        this.schedule(Math.max(0, this.options.config.METRICS_INTERVAL_MS - (Date.now() - startedAt)));
      });
  }

  private async turn(): Promise<void> {
    const { config, store, fleet, reader, placements, self } = this.options;
    const startedAt = Date.now();
    const own = fleet.ownCounts();
    await this.sampleHost(startedAt);
    await store
      .writeBalancer({ id: self.id, url: self.url, host: self.hostId, startedAt: self.startedAt, heartbeat: startedAt, ...own, spawns: fleet.counters.spawns, hostFigures: this.host })
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not write the balancer heartbeat'));

    let reading: Reading;
    let peers: FleetPeers;
    try {
      const timeout = config.HEARTBEAT_TIMEOUT_MS;
      [reading, peers] = await Promise.all([
        reader.read(fleet.liveIds(), this.leading),
        store.readPeers(startedAt - timeout, startedAt - PRUNE_AFTER_TIMEOUTS * timeout),
      ]);
    } catch (error) {
      this.log.warn({ err: error }, 'fleet read failed');
      fleet.settleAll();
      return;
    }
    placements.settle();
    this.peers = peers;
    if (this.stopped) return;

    await this.leaseTurn(peers, maxFence(reading));
    const live = new Map(peers.balancers.filter((b) => b.id !== self.id).map((b) => [b.id, b.host]));
    for (const id of await fleet.observe(reading, live)) {
      reader.forget(id);
      placements.forget(id);
    }

    const candidates = this.candidates();
    // The planner's view of the servers, built once a turn for provisioning and the leader's plan.
    const servers = this.autoscaleServers(candidates);
    this.refresh(servers, reading.at);
    if (this.leading && !this.stopped) {
      await this.lead(servers, reading.at);
    } else {
      this.requests.clear();
      this.autoscale = initialAutoscaleState();
      this.heat = new Map();
    }
    await fleet.sendOwedDrains(this.token, candidates);
    fleet.settleAll();
  }

  /** Takes, renews or follows the lease (lease.ts decides; the store runs the script). */
  private async leaseTurn(peers: FleetPeers, floor: number): Promise<void> {
    const { store, config, self, fleet } = this.options;
    const was = this.leading;
    const step = leaseStep(peers.lease, self.id, this.lease);
    const sentAt = Date.now();
    let result: LeaseResult = { type: 'refused' };
    try {
      if (step.type === 'acquire') {
        const token = await store.acquireLease(config.LEASE_MS, Math.max(floor, this.lease.newestToken));
        result = token > 0 ? { type: 'acquired', token } : { type: 'refused' };
      } else if (step.type === 'renew') {
        result = (await store.renewLease(step.token, config.LEASE_MS)) ? { type: 'renewed' } : { type: 'refused' };
      }
    } catch (error) {
      this.log.warn({ err: error }, 'lease call failed');
      result = { type: 'failed' };
    }
    this.lease = leaseOutcome(this.lease, step, result, sentAt, config.LEASE_MS, Math.max(floor, peers.lease?.token ?? 0));
    if (result.type === 'acquired') this.peers = { ...peers, lease: { holder: self.id, token: result.token } };
    const now = this.leading;
    if (now && !was) fleet.record('lead', null, `balancer ${self.id} on ${self.hostId} leads (fencing token ${this.lease.token})`);
    if (!now && was) fleet.record('follow', null, `balancer ${self.id} no longer leads`);
  }

  /** Takes this host's CPU figures (the balancer and its children) for the hash and the planner. */
  private async sampleHost(now: number): Promise<void> {
    const probe = this.options.hostProbe;
    if (probe === undefined) return;
    const pids = this.options.fleet
      .list()
      .filter((r) => r.life.own && r.status !== 'gone' && r.pid !== null)
      .map((r) => r.pid as number);
    try {
      this.host = (await probe.sample(pids, now)) ?? this.host;
    } catch (error) {
      this.log.debug({ err: error }, 'could not sample the host');
    }
  }

  /** The planner's settings from the balancer's. */
  private autoscaleConfig(): AutoscaleConfig {
    const { config } = this.options;
    return {
      fleetMin: config.FLEET_MIN,
      fleetMax: config.FLEET_MAX,
      spawnWritesPerSec: config.SPAWN_WRITES_PER_SEC,
      eventLoopLagMs: config.EVENT_LOOP_LAG_MS,
      scaleDownAfterMs: config.SCALE_DOWN_AFTER_MS,
      placement: {
        maxMovesPerStep: config.PLACEMENT_MAX_MOVES,
        settleMs: config.REBALANCE_COOLDOWN_MS,
        redirectRatePerSec: config.REDIRECT_RATE_PER_SEC,
        shedShare: config.REDISTRIBUTE_FRACTION,
        consolidateFloorShare: config.PLACEMENT_CONSOLIDATE_FLOOR,
      },
      spawnHost: { minSpareCores: config.SPAWN_MIN_SPARE_CORES, maxAgeMs: 3 * Math.max(config.HOST_SAMPLE_WINDOW_MS, config.METRICS_INTERVAL_MS) },
    };
  }

  /** The servers as the planner takes them: loads, clients, their own CPU, their room shares. */
  private autoscaleServers(candidates: readonly PolicyServer[]): AutoscaleServer[] {
    const { fleet, reader } = this.options;
    return candidates.map((c) => {
      const pid = fleet.get(c.id)?.pid;
      const cores = pid === null || pid === undefined ? undefined : this.host?.processCores.get(pid);
      return { ...c, cpuCores: cores, rooms: reader.sharesOf(c.id) };
    });
  }

  /**
   * After each read, on every balancer: the rooms' view from the servers'
   * shares, the placement view provisions are chosen from until the next
   * read (rooms just provisioned count as held), and the capacity figures.
   */
  private refresh(servers: readonly AutoscaleServer[], now: number): void {
    const { reader, config, placements } = this.options;
    const live = servers.filter((s) => s.status !== 'gone');
    const history = reader.rooms();
    const rate = (room: string): number => {
      const h = history[room];
      return h === undefined ? 0 : loadOf(h.messages, LOAD_WINDOW_SECONDS);
    };
    const shares: Array<[string, ReadonlyMap<string, number>]> = [];
    for (const s of live) if (s.rooms !== undefined) shares.push([s.id, s.rooms]);
    this.shares = roomShares(shares, rate);
    const placementServers = servers.map((s) => ({
      id: s.id,
      // A full server takes no client: out of the view as if it drained (as the planner has it).
      status: s.status === 'ready' && s.full === true ? ('draining' as const) : s.status,
      writesPerSec: loadOf(s.socketWrites),
      // Its room shares may show a registration its client count (written once a second) does not yet.
      clients: Math.max(s.clients, sumOf(s.rooms)),
      shed: this.heat.get(s.id)?.cause === 'lag',
      rooms: s.rooms,
    }));
    const view = placementView(
      { servers: placementServers, rooms: this.shares.rooms, splitRooms: this.shares.splitRooms, inFlight: this.autoscale.inFlight, now },
      { spawnWritesPerSec: config.SPAWN_WRITES_PER_SEC, ...this.autoscaleConfig().placement },
    );
    // Rooms provisioned in the last intervals count as held where they went (their clients are
    // already in the server's count, or in `pendingClients`).
    view.ids.forEach((id, i) => {
      const held = reader.sharesOf(id);
      for (const room of placements.placedRooms(id, now)) {
        if ((held?.get(room) ?? 0) > 0) continue;
        countProvision(view, id, room);
        view.clients[i]! -= 1;
      }
    });
    this.view = view;
    this.capacityFigures = capacityOf({
      rooms: history,
      serverWrites: live.map((s) => s.socketWrites),
      roomServers: this.shares.roomServers,
      spawnWritesPerSec: config.SPAWN_WRITES_PER_SEC,
    });
  }

  /**
   * The server for one provision: the placement plan's choice
   * (`chooseProvision`), held to SPEC's rule that a ready server already
   * hosting the room is preferred while under 80% of SPAWN_WRITES_PER_SEC;
   * before the first read, the least-loaded ready server. The answer is
   * counted into the view, so the next provision in the same second sees it.
   */
  chooseFor(room: string | undefined, user: string | undefined): string | undefined {
    const { fleet, config } = this.options;
    const candidates = this.candidates();
    const full = new Set(candidates.filter((c) => c.full === true).map((c) => c.id));
    // Ready to take a client: ready, reachable, and not at its MAX_CONNECTIONS.
    const ready = (id: string) => {
      const r = fleet.get(id);
      return r !== undefined && r.status === 'ready' && r.url !== '' && !full.has(id);
    };
    // A server that became ready since the last read joins the view at once.
    if (this.view === undefined || candidates.some((c) => ready(c.id) && !this.view!.index.has(c.id))) {
      this.refresh(this.autoscaleServers(candidates), Date.now());
    }
    const view = this.view;
    let id: string | undefined;
    if (view !== undefined && view.ids.some(ready)) {
      id = chooseProvision(view, { room, user })?.serverId;
      if (id !== undefined && room !== undefined) {
        const line = AFFINITY_LOAD_SHARE * config.SPAWN_WRITES_PER_SEC;
        const hosts = (c: PolicyServer) => (c.rooms as readonly string[]).includes(room) || (view.rooms.get(room)?.held.get(view.index.get(c.id) ?? -1) ?? 0) > 0;
        const holders = candidates.filter((c) => c.status === 'ready' && ready(c.id) && hosts(c));
        const chosen = holders.find((c) => c.id === id);
        if (chosen === undefined) {
          const under = holders.filter((c) => (view.load[view.index.get(c.id) ?? -1] ?? loadOf(c.socketWrites)) < line);
          id = leastLoaded(under)?.id ?? id;
        }
      }
    }
    if (id === undefined || !ready(id)) id = chooseServer(candidates.filter((c) => ready(c.id)), { room, spawnWritesPerSec: config.SPAWN_WRITES_PER_SEC })?.id;
    if (id !== undefined && view !== undefined) countProvision(view, id, room);
    return id;
  }

  /** The `/stats` `capacity` figures of the last read. */
  capacity(): Capacity | undefined {
    return this.capacityFigures;
  }

  /** The leader's turn: the planner's actions (hotness, placement, spawn, scale-down), then FLEET_MIN. */
  private async lead(servers: AutoscaleServer[], now: number): Promise<void> {
    const { config, fleet } = this.options;
    const sites = this.sites();
    const counts = this.counts(sites, now);
    const hosts = this.hosts();
    const lastSpawnAt = Math.max(this.autoscale.lastSpawnAt ?? 0, this.lastSpawnAt ?? 0, fleet.lastSpawnAt ?? 0) || undefined;
    const plan = planAutoscale(
      {
        servers,
        rooms: this.shares.rooms,
        splitRooms: this.shares.splitRooms,
        hosts,
        managedCount: counts.managed,
        startingCount: counts.starting,
        state: { ...this.autoscale, lastSpawnAt },
        now,
      },
      this.autoscaleConfig(),
    );
    this.autoscale = plan.state;
    this.heat = plan.heat;
    for (const action of plan.actions) {
      switch (action.type) {
        case 'spawn':
          await this.spawnSomewhere(sites, 'spawn', action.reason, now, action.hostId);
          break;
        case 'drain':
          await fleet.drain(action.id, action.reason, this.token, { routes: action.routes.map((r) => ({ room: r.room, to: r.to })), fallback: action.fallback });
          break;
        case 'redistribute': {
          const result = await fleet
            .redistribute(action.from, action.n, action.to, action.reason, this.token, action.moves)
            .catch((error: unknown) => {
              this.log.warn({ err: error }, 'redistribute failed');
              return 'unreachable' as const;
            });
          if (result !== 'done') this.log.warn({ from: action.from, to: action.to, result }, 'a planned move was not sent');
          break;
        }
        case 'note':
          fleet.record(action.kind, action.serverId, action.reason);
          break;
      }
    }
    await this.ensureMinimum(sites, now);
  }

  /** Every host's figures, one per host: this balancer's own (with its processes), then the other balancers'. */
  private hosts(): HostFigures[] {
    const { self } = this.options;
    const byHost = new Map<string, HostFigures>();
    if (this.host !== undefined) byHost.set(self.hostId, { ...this.host, hostId: self.hostId });
    for (const b of this.peers.balancers) {
      if (b.id === self.id || b.hostFigures === undefined || byHost.has(b.host)) continue;
      byHost.set(b.host, { ...b.hostFigures, hostId: b.host });
    }
    return [...byHost.values()];
  }

  /** Spawns while fewer than FLEET_MIN managed servers are starting or ready fleet-wide. */
  private async ensureMinimum(sites: SpawnSite[], now: number): Promise<void> {
    const { config, fleet } = this.options;
    for (let i = 0; i < config.FLEET_MAX; i++) {
      const counts = this.counts(sites, now);
      if (counts.serving >= config.FLEET_MIN || counts.managed >= config.FLEET_MAX) return;
      const respawn = fleet.owedRespawns() > 0;
      const spawned = await this.spawnSomewhere(sites, respawn ? 'respawn' : 'spawn', respawn ? 'replacing a lost server' : `keeping FLEET_MIN=${config.FLEET_MIN}`, now);
      if (!spawned) return;
    }
  }

  /**
   * Starts one server on the host with the fewest servers: here, or by
   * asking that host's balancer. The request counts as a starting server
   * until that balancer's hash shows it was carried out.
   */
  private async spawnSomewhere(sites: SpawnSite[], kind: 'spawn' | 'respawn', reason: string, now: number, hostId?: string): Promise<boolean> {
    const { config, fleet, store, self } = this.options;
    // The planner named the host with spare cores: one of its balancers forks the server.
    const onHost = hostId === undefined ? [] : sites.filter((s) => s.host === hostId);
    const site = chooseSpawnSite(onHost.length > 0 ? onHost : sites, self.id);
    const pending = this.counts(sites, now).pendingElsewhere;
    let done = false;
    if (site !== undefined && site.id !== self.id) {
      const request = this.requests.add(site, now + config.READY_TIMEOUT_MS);
      const got = await store
        .commandBalancer(site.id, { type: 'spawn', from: self.id, reason, token: this.token })
        .catch(() => 0);
      if (got > 0) {
        fleet.record(kind, null, `${reason}: asked balancer ${site.id} on ${site.host}`);
        done = true;
      } else {
        this.requests.withdraw(request);
      }
    }
    if (!done) done = fleet.trySpawn(kind, reason, pending);
    if (done) {
      this.lastSpawnAt = now;
      if (site !== undefined) site.servers += 1;
    }
    return done;
  }

  /** Live balancers as spawn sites, this one with its own counts of now. */
  private sites(): SpawnSite[] {
    const { fleet, self } = this.options;
    const others = this.peers.balancers.filter((b) => b.id !== self.id).map((b) => ({ id: b.id, host: b.host, servers: b.servers, spawns: b.spawns }));
    return [{ id: self.id, host: self.hostId, servers: fleet.ownCounts().servers, spawns: fleet.counters.spawns }, ...others];
  }

  /** Fleet-wide counts for the policy: servers starting elsewhere and spawns asked of other balancers count as starting. */
  private counts(sites: SpawnSite[], now: number): { managed: number; starting: number; serving: number; pendingElsewhere: number } {
    const { fleet, self } = this.options;
    const requested = this.requests.pending(sites, now);
    const startingElsewhere = this.peers.balancers.filter((b) => b.id !== self.id).reduce((sum, b) => sum + b.starting, 0);
    const pendingElsewhere = requested + startingElsewhere;
    const managed = fleet.list().filter((r) => r.managed && r.status !== 'gone');
    // Orphans (their balancer is dead and none of their host adopted them) leave within
    // ORPHAN_TIMEOUT_MS: they do not count toward FLEET_MIN, so replacements start before they go.
    const serving = managed.filter((r) => (r.status === 'starting' || r.status === 'ready') && fleet.balancerAlive(r.owner)).length;
    return {
      managed: managed.length + pendingElsewhere,
      starting: fleet.ownCounts().starting + pendingElsewhere,
      serving: serving + pendingElsewhere,
      pendingElsewhere,
    };
  }

  /**
   * A provision found no ready server: the leader starts a spawn unless one is
   * under way; another balancer tells the leader (at most once an interval).
   */
  async demand(): Promise<void> {
    const { config, store, self } = this.options;
    const now = Date.now();
    if (this.stopped) return;
    if (this.leading) {
      const sites = this.sites();
      const counts = this.counts(sites, now);
      const ready = this.candidates().filter((c) => c.status === 'ready');
      const reason =
        ready.length > 0 && ready.every((c) => c.full === true)
          ? `a provision found every ready server full (${ready.length} at MAX_CONNECTIONS)`
          : 'a provision found no ready server';
      if (counts.starting === 0 && counts.managed < config.FLEET_MAX) await this.spawnSomewhere(sites, 'spawn', reason, now);
      return;
    }
    const leader = this.peers.lease?.holder;
    if (leader === undefined || now - this.lastDemandAt < config.METRICS_INTERVAL_MS) return;
    this.lastDemandAt = now;
    await store.commandBalancer(leader, { type: 'demand', from: self.id });
  }

  /** A command on this balancer's channel: the leader's spawn, or an action on one of its servers. */
  async onCommand(command: BalancerCommand): Promise<void> {
    const { fleet } = this.options;
    if (this.stopped) return;
    const token = Math.max(this.token, 'token' in command ? command.token : 0);
    switch (command.type) {
      case 'spawn':
        if (!fleet.trySpawn('spawn', `${command.reason} (asked by balancer ${command.from})`)) this.log.warn({ command }, 'could not spawn as asked');
        return;
      case 'drain': {
        const plan = command.routes === undefined && command.fallback === undefined ? undefined : { routes: command.routes ?? [], fallback: command.fallback };
        await fleet.drain(command.serverId, `${command.reason} (via balancer ${command.from})`, token, plan);
        return;
      }
      case 'redistribute':
        await fleet.redistribute(command.serverId, command.n, command.to, `${command.reason} (via balancer ${command.from})`, token, command.moves);
        return;
      case 'demand':
        await this.demand();
        return;
    }
  }
}

function sumOf(shares: ReadonlyMap<string, number> | undefined): number {
  let sum = 0;
  if (shares !== undefined) for (const n of shares.values()) sum += n;
  return sum;
}

/** The newest fencing token any server reports: a floor for the next one drawn. */
function maxFence(reading: Reading): number {
  let max = 0;
  for (const hash of reading.hashes.values()) max = Math.max(max, hash.fence);
  return max;
}
