// The c100k scenario: the balancer's fleet on this machine holding N connections (default 100,000), provisioned through
// the balancer by several driver processes from several loopback source addresses, 1% chatting, then a reconnect storm.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { createClient } from 'redis';
import { redisKeys } from '@chatfleet/protocol';
import { startRedisServer } from '@chatfleet/redis-server';
import type { DriverCommand, DriverReport, DriverSetup } from './c100k-driver.js';
import { processCpuMicros, processRssBytes } from './proc-stats.js';

const BALANCER_MAIN = fileURLToPath(new URL('../../apps/balancer/dist/main.js', import.meta.url));
const DRIVER_MAIN = fileURLToPath(new URL('./c100k-driver.js', import.meta.url));
const PREFIX = 'c100k:';

export interface C100kOptions {
  connections: number;
  /** Chat servers the balancer keeps (FLEET_MIN = FLEET_MAX). */
  servers: number;
  /** Connections per driver process at most (each process may hold 20,000 files). */
  perDriver: number;
  /** Members per room; one of each room chats (1% at 100). */
  roomSize: number;
  /** Each chatter sends one message per this many ms. */
  chatIntervalMs: number;
  /** The servers' PING_INTERVAL_MS. */
  pingIntervalMs: number;
  /** Seconds the connections sit with the chatters going, pings included, before the storm. */
  holdS: number;
  log: (line: string) => void;
}

/** One chat server's figures with every connection held. */
export interface C100kServer {
  id: string;
  pid: number;
  clients: number;
  rssBytes: number;
  heapUsedBytes: number;
  /**
   * (RSS after the hold - RSS before any client) / clients, nothing forced; and the same for the heap's
   * used bytes, taking the lowest the server reported before and during the hold (nearest the live size).
   */
  rssBytesPerConnection?: number;
  heapBytesPerConnection?: number;
  /** The highest and the median of the server's per-second event-loop p99 over the hold (a second's p99 with one long stall is that stall). */
  eventLoopMaxMs: number;
  eventLoopMedianMs: number;
}

export interface C100kResult {
  kind: 'c100k';
  connections: number;
  registered: number;
  failed: number;
  drivers: number;
  sourceAddresses: string[];
  servers: C100kServer[];
  /** The same over the whole fleet (sum of the growths over the sum of clients): one server's figure moves with its collections, the sum less. */
  fleetRssBytesPerConnection: number;
  fleetHeapBytesPerConnection: number;
  connectSeconds: number;
  connectsPerSec: number;
  /** CPU per provisioned-and-registered connection, µs: the balancer's and the chat servers' (summed). */
  balancerUsPerConnect: number;
  serversUsPerConnect: number;
  /** The load drivers' own CPU per connection (provision request, websocket client, registration): they share the machine. */
  driversUsPerConnect: number;
  provision503: number;
  chatters: number;
  chatMsgsPerSec: number;
  latency: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  storm: {
    killedServer: string;
    clientsOnIt: number;
    dropped: number;
    back: number;
    /** From the kill -9 until the last dropped client was registered again on another server. */
    seconds: number;
    balancerUsPerClient: number;
    serversUsPerClient: number;
    provision503: number;
    connectErrors: number;
  };
  /** Deliveries owed to registered clients, and apart: clients still down at the end and what their rooms sent (not counted as owed). */
  account: { owed: number; lost: number; duplicated: number; acked: number; resumed: number; resumedLost: number; notRecovered: number; notBack: number; owedNotBack: number };
  notes: string[];
}

interface Driver {
  child: ChildProcess;
  setup: DriverSetup;
  progress: Extract<DriverReport, { type: 'progress' }> | undefined;
  waiters: Array<(report: DriverReport) => boolean>;
}

/** Runs the scenario end to end; every process it starts is stopped before it returns or throws. */
export async function runC100k(options: C100kOptions): Promise<C100kResult> {
  const { log } = options;
  const notes: string[] = [];
  const redis = await startRedisServer({ args: ['--maxclients', '10000'] });
  const port = await freePort();
  const balancerUrl = `http://127.0.0.1:${port}`;
  let balancer: ChildProcess | undefined;
  const drivers: Driver[] = [];
  const serverPids = new Set<number>();
  let balancerOutput = '';
  const admin = createClient({ url: redis.url });
  admin.on('error', () => undefined);
  const killAll = (): void => {
    for (const d of drivers) d.child.kill('SIGKILL');
    // The balancer's servers die with it only when it is stopped; kill the ones it reported, too.
    balancer?.kill('SIGKILL');
    for (const pid of serverPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    redis.killNow();
  };
  // Interrupted: the balancer stops its own servers on SIGTERM (it may have spawned some the bench never saw).
  const onSignal = (): void => {
    log('interrupted: stopping the drivers, the balancer and its servers');
    for (const d of drivers) d.child.kill('SIGKILL');
    const done = (): void => {
      killAll();
      process.exit(130);
    };
    if (balancer === undefined || balancer.exitCode !== null) return done();
    balancer.once('exit', done);
    balancer.kill('SIGTERM');
    setTimeout(done, 15_000);
  };
  process.once('exit', killAll);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await admin.connect();
    balancer = spawn(process.execPath, [BALANCER_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        REDIS_PREFIX: PREFIX,
        FLEET_MIN: String(options.servers),
        FLEET_MAX: String(options.servers),
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        // Moving clients at the balancer's own moments would blur the figures; the storm is the only move.
        SPAWN_WRITES_PER_SEC: '1000000000',
        EVENT_LOOP_LAG_MS: '60000',
        PING_INTERVAL_MS: String(options.pingIntervalMs),
        TOKEN_TTL_S: '600',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      balancerOutput = (balancerOutput + chunk.toString()).slice(-8000);
    };
    balancer.stdout?.on('data', keep);
    balancer.stderr?.on('data', keep);
    const balancerPid = balancer.pid ?? 0;

    log(`c100k: balancer on ${balancerUrl}, waiting for ${options.servers} ready servers`);
    let servers = await waitFor(async () => {
      const list = await listServers(balancerUrl, serverPids).catch(() => []);
      const ready = list.filter((s) => s.status === 'ready');
      return ready.length >= options.servers ? ready : undefined;
    }, 60_000, () => `${options.servers} ready servers (balancer output: ${balancerOutput.slice(-600)})`);
    const keys = redisKeys(PREFIX);
    // Baseline before any client: RSS, and the lowest heap the servers report over a few seconds (the
    // heap figure is read without forcing a collection, so its low points are the ones nearest the live size).
    const baseline = new Map<string, { rss: number; heap: number }>();
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      for (const s of servers) {
        const hash = await admin.hGetAll(keys.server(s.id));
        const heap = Number(hash['heapUsedBytes'] ?? 0);
        const known = baseline.get(s.id);
        baseline.set(s.id, { rss: Number(hash['rssBytes'] ?? 0), heap: known === undefined ? heap : Math.min(known.heap, heap) });
      }
    }

    // Drivers: whole rooms each, up to perDriver connections, one source address each.
    // At least two drivers, so even a small run goes through several processes and source addresses.
    const driverCount = Math.max(2, Math.ceil(options.connections / options.perDriver));
    const rooms = Math.ceil(options.connections / options.roomSize);
    const perDriver = Math.ceil(rooms / driverCount) * options.roomSize;
    for (let first = 0, d = 0; first < options.connections; first += perDriver, d++) {
      const setup: DriverSetup = {
        balancer: balancerUrl,
        localAddress: `127.0.0.${2 + d}`,
        first,
        count: Math.min(perDriver, options.connections - first),
        roomSize: options.roomSize,
        concurrency: 32,
      };
      const child = fork(DRIVER_MAIN, [JSON.stringify(setup)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const driver: Driver = { child, setup, progress: undefined, waiters: [] };
      child.on('message', (report: DriverReport) => {
        if (report.type === 'progress') driver.progress = report;
        driver.waiters = driver.waiters.filter((w) => !w(report));
      });
      drivers.push(driver);
    }
    log(`c100k: ${drivers.length} driver processes, up to ${perDriver} connections each, from ${drivers.map((d) => d.setup.localAddress).join(', ')}`);

    // Connect phase.
    const pidsBefore = servers.map((s) => s.pid);
    const cpu0 = { balancer: processCpuMicros(balancerPid) ?? 0, servers: sumCpu(pidsBefore) };
    const t0 = performance.now();
    const ticker = setInterval(() => {
      const done = drivers.reduce((n, d) => n + (d.progress?.registered ?? 0), 0);
      log(`  ${done} registered after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }, 5000);
    const connected = await Promise.all(drivers.map((d) => request(d, { type: 'connect' }, 'connected', 600_000)));
    clearInterval(ticker);
    const connectSeconds = (performance.now() - t0) / 1000;
    const cpu1 = { balancer: processCpuMicros(balancerPid) ?? 0, servers: sumCpu(pidsBefore) };
    const registered = connected.reduce((n, r) => n + r.registered, 0);
    const failed = connected.reduce((n, r) => n + r.failed, 0);
    const provision503 = connected.reduce((n, r) => n + r.refused503, 0);
    for (const r of connected) if (r.firstError !== undefined) notes.push(`connect: ${r.firstError}`);
    log(`c100k: ${registered} registered (${failed} failed) in ${connectSeconds.toFixed(1)} s, ${Math.round(registered / connectSeconds)}/s`);

    // Hold: chatters on, pings on schedule; event-loop p99 of every server each second.
    for (const d of drivers) d.child.send({ type: 'chat', intervalMs: options.chatIntervalMs } satisfies DriverCommand);
    await sleep(3000);
    for (const d of drivers) d.child.send({ type: 'latency-reset' } satisfies DriverCommand);
    const loopSamples = new Map<string, number[]>();
    const heapLow = new Map<string, number>();
    const holdEnd = performance.now() + options.holdS * 1000;
    while (performance.now() < holdEnd) {
      await sleep(options.holdS > 5 ? 1000 : 500);
      for (const { value, score } of await admin.zRangeWithScores(keys.serversEventLoop, 0, -1)) {
        const list = loopSamples.get(value) ?? [];
        list.push(score);
        loopSamples.set(value, list);
        const heap = Number((await admin.hGet(keys.server(value), 'heapUsedBytes')) ?? Number.NaN);
        if (Number.isFinite(heap)) heapLow.set(value, Math.min(heapLow.get(value) ?? heap, heap));
      }
    }
    const histograms = await Promise.all(drivers.map((d) => request(d, { type: 'latency-take' }, 'latency', 30_000)));
    const latency = mergeLatency(histograms.map((h) => h.histogram));
    servers = (await listServers(balancerUrl, serverPids)).filter((s) => s.status === 'ready');
    const figures: C100kServer[] = [];
    for (const s of servers) {
      const hash = await admin.hGetAll(keys.server(s.id));
      const clients = Number(hash['clients'] ?? 0);
      const rss = processRssBytes(s.pid) ?? Number(hash['rssBytes'] ?? 0);
      const heap = heapLow.get(s.id) ?? Number(hash['heapUsedBytes'] ?? 0);
      const base = baseline.get(s.id);
      const loop = (loopSamples.get(s.id) ?? []).slice().sort((a, b) => a - b);
      figures.push({
        id: s.id,
        pid: s.pid,
        clients,
        rssBytes: rss,
        heapUsedBytes: heap,
        rssBytesPerConnection: base !== undefined && clients > 0 ? (rss - base.rss) / clients : undefined,
        heapBytesPerConnection: base !== undefined && clients > 0 ? (heap - base.heap) / clients : undefined,
        eventLoopMaxMs: loop[loop.length - 1] ?? Number.NaN,
        eventLoopMedianMs: loop[Math.floor(loop.length / 2)] ?? Number.NaN,
      });
    }
    const chatters = Math.ceil(options.connections / options.roomSize);
    log(`c100k: held ${options.holdS} s; chatting p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms over ${latency.count} deliveries`);

    // Reconnect storm: kill -9 the server with the most clients, with its clients connected.
    const victim = figures.reduce((a, b) => (b.clients > a.clients ? b : a));
    const survivors = figures.filter((s) => s !== victim).map((s) => s.pid);
    const before = drivers.reduce((n, d) => n + (d.progress?.dropped ?? 0), 0);
    const storm503Before = drivers.reduce((n, d) => n + (d.progress?.refused503 ?? 0), 0);
    const stormErrorsBefore = drivers.reduce((n, d) => n + (d.progress?.connectErrors ?? 0), 0);
    const scpu0 = { balancer: processCpuMicros(balancerPid) ?? 0, servers: sumCpu(survivors) };
    const knownPids = new Set(figures.map((s) => s.pid));
    const killedAt = Date.now();
    log(`c100k: kill -9 ${victim.id} (pid ${victim.pid}) with ${victim.clients} clients`);
    process.kill(victim.pid, 'SIGKILL');
    const stormDeadline = performance.now() + 300_000;
    // The storm is over when every client dropped from the killed server is registered again elsewhere.
    const victimDown = (): { dropped: number; down: number; lastBackAt: number } => {
      const total = { dropped: 0, down: 0, lastBackAt: 0 };
      for (const d of drivers) {
        const mine = d.progress?.byServer[victim.id];
        if (mine === undefined) continue;
        total.dropped += mine.dropped;
        total.down += mine.down;
        total.lastBackAt = Math.max(total.lastBackAt, mine.lastBackAt);
      }
      return total;
    };
    let lastLog = performance.now();
    let state = victimDown();
    let quietSince = performance.now();
    while (performance.now() < stormDeadline) {
      await sleep(250);
      const now = victimDown();
      if (now.dropped !== state.dropped || now.down > 0) quietSince = performance.now();
      state = now;
      // Its clients' sockets may close over a moment: all of them back, and no new drop for a second.
      if (state.dropped > 0 && state.down === 0 && performance.now() - quietSince >= 1000) break;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`  storm: ${state.dropped - state.down} of ${state.dropped} clients of ${victim.id} back after ${((Date.now() - killedAt) / 1000).toFixed(0)} s`);
      }
    }
    const dropped = state.dropped;
    const back = state.dropped - state.down;
    const stormSeconds = (state.lastBackAt / 1000 - killedAt) / 1000;
    if (state.down > 0) notes.push(`${state.down} clients of the killed server were not back when the bench stopped waiting (300 s)`);
    const otherDrops = drivers.reduce((n, d) => n + (d.progress?.dropped ?? 0), 0) - before - dropped;
    if (otherDrops > 0) notes.push(`${otherDrops} clients of other servers were dropped during the storm too (close codes below)`);
    const newServers = (await listServers(balancerUrl, serverPids)).filter((s) => !knownPids.has(s.pid) && s.pid > 0).map((s) => s.pid);
    const scpu1 = { balancer: processCpuMicros(balancerPid) ?? 0, servers: sumCpu(survivors) + sumCpu(newServers) };
    const storm503 = drivers.reduce((n, d) => n + (d.progress?.refused503 ?? 0), 0) - storm503Before;
    const stormErrors = drivers.reduce((n, d) => n + (d.progress?.connectErrors ?? 0), 0) - stormErrorsBefore;
    log(`c100k: ${back} of ${dropped} dropped clients back in ${stormSeconds.toFixed(1)} s (${storm503} provisions answered 503, ${stormErrors} failed connects)`);
    const codes = new Map<string, number>();
    for (const d of drivers) for (const [code, n] of Object.entries(d.progress?.closeCodes ?? {})) codes.set(code, (codes.get(code) ?? 0) + n);
    notes.push(`close codes of dropped clients: ${[...codes].map(([code, n]) => `${n}x${code}`).join(' ')}`);
    if (newServers.length > 0) notes.push(`the balancer started ${newServers.length} replacement server(s) during the storm; their CPU is counted`);

    // Let the chat run on a little, stop it, and count what every member got.
    await sleep(3000);
    for (const d of drivers) d.child.send({ type: 'chat-stop' } satisfies DriverCommand);
    await sleep(3000);
    const accounts = await Promise.all(drivers.map((d) => request(d, { type: 'account' }, 'account', 60_000)));
    const account = { owed: 0, lost: 0, duplicated: 0, acked: 0, resumed: 0, resumedLost: 0, notRecovered: 0, notBack: 0, owedNotBack: 0 };
    for (const a of accounts) {
      account.owed += a.owed;
      account.lost += a.lost;
      account.duplicated += a.duplicated;
      account.acked += a.acked;
      account.resumed += a.resumed;
      account.resumedLost += a.resumedLost;
      account.notRecovered += a.notRecovered;
      account.notBack += a.notBack;
      account.owedNotBack += a.owedNotBack;
    }
    log(`c100k: ${account.acked} acked messages, ${account.lost} deliveries lost (${account.resumedLost} of them to resumed clients), ${account.duplicated} duplicated`);
    const grown = (pick: (s: C100kServer) => number | undefined): number => {
      let bytes = 0;
      let clients = 0;
      for (const s of figures) {
        const per = pick(s);
        if (per === undefined) continue;
        bytes += per * s.clients;
        clients += s.clients;
      }
      return clients > 0 ? bytes / clients : Number.NaN;
    };
    return {
      kind: 'c100k',
      fleetRssBytesPerConnection: grown((s) => s.rssBytesPerConnection),
      fleetHeapBytesPerConnection: grown((s) => s.heapBytesPerConnection),
      connections: options.connections,
      registered,
      failed,
      drivers: drivers.length,
      sourceAddresses: drivers.map((d) => d.setup.localAddress),
      servers: figures,
      connectSeconds,
      connectsPerSec: registered / connectSeconds,
      balancerUsPerConnect: registered > 0 ? (cpu1.balancer - cpu0.balancer) / registered : Number.NaN,
      serversUsPerConnect: registered > 0 ? (cpu1.servers - cpu0.servers) / registered : Number.NaN,
      driversUsPerConnect: registered > 0 ? connected.reduce((n, r) => n + r.cpuMicros, 0) / registered : Number.NaN,
      provision503,
      chatters,
      chatMsgsPerSec: (chatters * 1000) / options.chatIntervalMs,
      latency,
      storm: {
        killedServer: victim.id,
        clientsOnIt: victim.clients,
        dropped,
        back,
        seconds: stormSeconds,
        balancerUsPerClient: back > 0 ? (scpu1.balancer - scpu0.balancer) / back : Number.NaN,
        serversUsPerClient: back > 0 ? (scpu1.servers - scpu0.servers) / back : Number.NaN,
        provision503: storm503,
        connectErrors: stormErrors,
      },
      account,
      notes,
    };
  } finally {
    for (const d of drivers) d.child.send({ type: 'close' } satisfies DriverCommand, () => undefined);
    await Promise.all(drivers.map((d) => exited(d.child, 10_000)));
    await admin.quit().catch(() => undefined);
    if (balancer !== undefined) {
      balancer.kill('SIGTERM');
      await exited(balancer, 30_000);
    }
    await redis.stop();
    process.off('exit', killAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The scenario's table. */
export function formatC100k(r: C100kResult): string {
  const lines = [
    `c100k: ${r.registered} of ${r.connections} connections registered (${r.failed} failed) on ${r.servers.length} servers, ` +
      `${r.drivers} driver processes from ${r.sourceAddresses.join(', ')}`,
    `connect: ${r.connectSeconds.toFixed(1)} s, ${Math.round(r.connectsPerSec)} connections/s; CPU per provision + connect + register: ` +
      `balancer ${Math.round(r.balancerUsPerConnect)} us, servers ${Math.round(r.serversUsPerConnect)} us (load drivers ${Math.round(r.driversUsPerConnect)} us); ` +
      `${r.provision503} provisions answered 503`,
    `chatting: ${r.chatters} chatters (one per room of ${Math.round(r.connections / r.chatters)}), ${r.chatMsgsPerSec.toFixed(0)} msgs/s; ` +
      `latency p50 ${r.latency.p50Ms.toFixed(1)} ms, p99 ${r.latency.p99Ms.toFixed(1)} ms, max ${r.latency.maxMs.toFixed(1)} ms over ${r.latency.count} deliveries`,
    '',
    '| server | clients | RSS MB | RSS B/conn | heap B/conn | event-loop p99, median s | event-loop p99, worst s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of r.servers) {
    lines.push(
      `| ${s.id} | ${s.clients} | ${(s.rssBytes / 1048576).toFixed(0)} | ${fmtInt(s.rssBytesPerConnection)} | ${fmtInt(s.heapBytesPerConnection)} | ` +
        `${s.eventLoopMedianMs.toFixed(1)} ms | ${s.eventLoopMaxMs.toFixed(1)} ms |`,
    );
  }
  lines.push(`| whole fleet | ${r.servers.reduce((n, s) => n + s.clients, 0)} | | ${fmtInt(r.fleetRssBytesPerConnection)} | ${fmtInt(r.fleetHeapBytesPerConnection)} | | |`);
  const s = r.storm;
  lines.push(
    '',
    `reconnect storm: kill -9 ${s.killedServer} with ${s.clientsOnIt} clients; ${s.back} of ${s.dropped} back in ${s.seconds.toFixed(1)} s; ` +
      `CPU per reconnecting client: balancer ${Math.round(s.balancerUsPerClient)} us, servers ${Math.round(s.serversUsPerClient)} us; ` +
      `${s.provision503} provisions answered 503, ${s.connectErrors} failed connects`,
    `messages: ${r.account.acked} acked, ${r.account.owed} deliveries owed, ${r.account.lost} lost ` +
      `(${r.account.resumedLost} to the ${r.account.resumed} clients that resumed with since), ${r.account.duplicated} duplicated, ` +
      `${r.account.notRecovered} resumes answered recovered=false` +
      (r.account.notBack > 0 ? `; ${r.account.notBack} clients not back at the end (their rooms' ${r.account.owedNotBack} messages not counted as owed)` : ''),
    ...r.notes.map((n) => `note: ${n}`),
  );
  return lines.join('\n');
}

function fmtInt(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '-' : Math.round(n).toLocaleString('en-US');
}

interface ServerRow {
  id: string;
  pid: number;
  status: string;
  clients: number;
}

async function listServers(base: string, seen?: Set<number>): Promise<ServerRow[]> {
  const response = await fetch(`${base}/servers`);
  if (!response.ok) throw new Error(`GET /servers answered ${response.status}`);
  const rows = (await response.json()) as ServerRow[];
  for (const row of rows) if (row.pid > 0) seen?.add(row.pid);
  return rows;
}

function sumCpu(pids: readonly number[]): number {
  return pids.reduce((n, pid) => n + (processCpuMicros(pid) ?? 0), 0);
}

function mergeLatency(encoded: readonly string[]): C100kResult['latency'] {
  const total = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (const text of encoded) total.add(hdr.decodeFromCompressedBase64(text));
  const has = total.totalCount > 0;
  return {
    count: total.totalCount,
    p50Ms: has ? total.getValueAtPercentile(50) / 1000 : Number.NaN,
    p99Ms: has ? total.getValueAtPercentile(99) / 1000 : Number.NaN,
    maxMs: has ? total.maxValue / 1000 : Number.NaN,
  };
}

/** Sends a command and resolves the driver's first report of `type`; rejects after `ms` or when the driver exits. */
function request<T extends DriverReport['type']>(
  driver: Driver,
  command: DriverCommand,
  type: T,
  ms: number,
): Promise<Extract<DriverReport, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`driver ${driver.setup.localAddress} exited (${code}) before answering ${command.type}`));
    };
    const timer = setTimeout(() => {
      driver.child.off('exit', onExit);
      reject(new Error(`driver ${driver.setup.localAddress} did not answer ${command.type} in ${ms} ms`));
    }, ms);
    driver.waiters.push((report) => {
      if (report.type !== type) return false;
      clearTimeout(timer);
      driver.child.off('exit', onExit);
      resolve(report as Extract<DriverReport, { type: T }>);
      return true;
    });
    driver.child.once('exit', onExit);
    driver.child.send(command);
  });
}

async function waitFor<T>(check: () => Promise<T | undefined>, ms: number, what: () => string): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await sleep(250);
  }
}

function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
