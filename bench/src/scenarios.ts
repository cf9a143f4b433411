// The bench scenarios and how one step of one target runs: fresh servers, clients, paced load, CPU and memory figures.
import { performance } from 'node:perf_hooks';
import { LoadDriver, type StepFigures } from './driver.js';
import { collectGarbage, INSPECT_FLAG } from './inspector-gc.js';
import { machineBusyMicros, processCpuMicros, processRssBytes, totalCpuMicros } from './proc-stats.js';
import { startServerProcess, type ServerProcess, type TargetName } from './targets.js';

export type ScenarioName = 'single' | 'dual' | 'idle' | 'redis' | 'c100k';
export const SCENARIOS: readonly ScenarioName[] = ['single', 'dual', 'idle', 'redis', 'c100k'];
/** What runs without --scenario: the slow scenarios (redis, c100k) only when asked for. */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = ['single', 'dual', 'idle'];

/** A load scenario: clients spread over rooms and servers, run at each rate in turn. */
export interface LoadScenario {
  name: 'single' | 'dual';
  title: string;
  servers: number;
  clients: number;
  rooms: number;
  rates: number[];
}

/** The idle scenario: connections that only join a room, to weigh a connection's memory. */
export interface IdleScenario {
  name: 'idle';
  title: string;
  clients: number;
  rooms: number;
}

export interface Timing {
  warmupMs: number;
  measureMs: number;
  graceMs: number;
  /** See StepOptions.stallMs. */
  stallMs: number;
  readyTimeoutMs: number;
  /** How long RSS must hold still before the idle figure is read, at most. */
  settleMs: number;
  /** How long the idle connections stay idle before memory is read. */
  idleMs: number;
}

/** Everything a step needs from the run around it. */
export interface RunContext {
  redisUrl: string;
  redisPid: number;
  timing: Timing;
  /** Empties Redis between steps. */
  flushRedis(): Promise<void>;
  /** Keeps track of live servers so an interrupted run can kill them. */
  track(server: ServerProcess): void;
  untrack(server: ServerProcess): void;
  /** Extra node flags for server processes (profiling). */
  serverExecArgv: string[];
  /** Unique per step, so no step reads another's keys. */
  nextPrefix(): string;
  /** The raw write floor measured in this run, µs per write, when it was. */
  writeFloorUs?: number;
}

/**
 * ok: every delivery arrived and the target kept pace; behind: nothing lost but
 * it delivered under 90% of the offered rate (past saturation, queues grow) or
 * refused messages it could not publish in time;
 * loss: deliveries missing after the grace wait, or clients dropped.
 */
export type StepStatus = 'ok' | 'behind' | 'loss' | 'crashed' | 'failed' | 'timeout';

export interface StepRecord extends Partial<StepFigures> {
  kind: 'step';
  scenario: ScenarioName;
  target: TargetName;
  servers: number;
  clients: number;
  rooms: number;
  rate: number;
  status: StepStatus;
  note?: string;
  serverUsPerDelivery?: number;
  redisUsPerDelivery?: number;
  /** Redis CPU over the window per message sent in it, µs (the servers' metrics writes included, so an upper bound). */
  redisUsPerMessage?: number;
  /** Server CPU per delivery over the raw write floor (µs per loopback write() measured in the same run). */
  writeFloorMultiple?: number;
  /** Load driver CPU over the window, percent of one core. */
  driverCpuPct?: number;
  driverUsPerDelivery?: number;
  serverRssMb?: number;
  /** CPU used by everything else on the machine during the window, percent of one core: other load skews the figures. */
  otherCpuPct?: number;
}

export interface IdleRecord {
  kind: 'idle';
  scenario: 'idle';
  target: TargetName;
  connections: number;
  rooms: number;
  status: 'ok' | 'crashed' | 'failed';
  note?: string;
  idleSeconds?: number;
  /** RSS with the server started and settled, after a forced full GC, before any client connects: the baseline. */
  rssBeforeMb?: number;
  /** RSS after the idle time, without forcing anything: what the machine must have. */
  rssPlainMb?: number;
  /** RSS after the idle time and a forced full GC. */
  rssAfterMb?: number;
  /** RSS after a forced full GC minus the baseline, per connection. */
  bytesPerConnection?: number;
  /** Plain RSS after the idle time minus the baseline, per connection: memory as an operator sees it. */
  plainBytesPerConnection?: number;
  /** The same for the V8 heap's used bytes: what the connection objects themselves hold. */
  heapBytesPerConnection?: number;
}

export function fullScenarios(): [LoadScenario, LoadScenario, IdleScenario] {
  return [
    { name: 'single', title: '1 server, 1000 clients, 10 rooms of 100', servers: 1, clients: 1000, rooms: 10, rates: [100, 300, 1000, 3000] },
    { name: 'dual', title: '2 servers on one Redis, 1000 clients, 10 rooms', servers: 2, clients: 1000, rooms: 10, rates: [300, 1000] },
    { name: 'idle', title: '5000 idle clients in 50 rooms', clients: 5000, rooms: 50 },
  ];
}

/** Tiny versions for the CI smoke run. */
export function quickScenarios(): [LoadScenario, LoadScenario, IdleScenario] {
  return [
    { name: 'single', title: '1 server, 200 clients, 4 rooms of 50', servers: 1, clients: 200, rooms: 4, rates: [200] },
    { name: 'dual', title: '2 servers on one Redis, 200 clients, 4 rooms', servers: 2, clients: 200, rooms: 4, rates: [200] },
    { name: 'idle', title: '500 idle clients in 5 rooms', clients: 500, rooms: 5 },
  ];
}

/** Runs one rate of a load scenario against one target, from fresh servers to torn-down clients. Never throws. */
export async function runLoadStep(ctx: RunContext, scenario: LoadScenario, target: TargetName, rate: number): Promise<StepRecord> {
  // The bare broadcast is one process with no Redis between processes: it runs every scenario on one server, the floor for both.
  const serverCount = target === 'bare' ? 1 : scenario.servers;
  const record: StepRecord = {
    kind: 'step',
    scenario: scenario.name,
    target,
    servers: serverCount,
    clients: scenario.clients,
    rooms: scenario.rooms,
    rate,
    status: 'failed',
  };
  const servers: ServerProcess[] = [];
  let driver: LoadDriver | undefined;
  let deadlinePassed = false;
  let deadline: NodeJS.Timeout | undefined;
  try {
    await ctx.flushRedis();
    const prefix = ctx.nextPrefix();
    for (let i = 0; i < serverCount; i++) {
      const server = await startServerProcess({
        target,
        redisUrl: ctx.redisUrl,
        prefix,
        readyTimeoutMs: ctx.timing.readyTimeoutMs,
        execArgv: ctx.serverExecArgv,
      });
      servers.push(server);
      ctx.track(server);
    }
    driver = new LoadDriver({ target, urls: servers.map((s) => s.url), clients: scenario.clients, rooms: scenario.rooms });
    await driver.connect(30_000 + scenario.clients * 10);

    const pids = servers.map((s) => s.pid);
    const { warmupMs, measureMs, graceMs, stallMs } = ctx.timing;
    deadline = setTimeout(() => {
      deadlinePassed = true;
    }, warmupMs + measureMs + graceMs + 30_000);
    let serverCpu: number | undefined = 0;
    let redisCpu = 0;
    let driverCpu = process.cpuUsage();
    let machineCpu = 0;
    let rss = 0;
    const figures = await driver.runStep({
      rate,
      warmupMs,
      measureMs,
      graceMs,
      stallMs,
      onMeasureStart() {
        serverCpu = totalCpuMicros(pids);
        redisCpu = processCpuMicros(ctx.redisPid) ?? 0;
        driverCpu = process.cpuUsage();
        machineCpu = machineBusyMicros() ?? 0;
      },
      onMeasureEnd() {
        const serverCpuEnd = totalCpuMicros(pids);
        // A server that died in the window has no end reading: its CPU figure is unknown, not negative.
        serverCpu = serverCpuEnd === undefined || serverCpu === undefined ? undefined : serverCpuEnd - serverCpu;
        redisCpu = (processCpuMicros(ctx.redisPid) ?? 0) - redisCpu;
        const driverUsed = process.cpuUsage(driverCpu);
        driverCpu = { user: driverUsed.user, system: driverUsed.system };
        machineCpu = (machineBusyMicros() ?? 0) - machineCpu;
        for (const pid of pids) rss += processRssBytes(pid) ?? 0;
      },
      shouldAbort: () => deadlinePassed || servers.some((s) => s.exit !== undefined),
    });
    Object.assign(record, figures);
    // A dying server's sockets close before its exit event reaches us; give the event a moment.
    if (figures.disconnects > 0 || figures.lost > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    const deliveries = figures.windowDeliveries;
    const driverUs = driverCpu.user + driverCpu.system;
    record.serverUsPerDelivery = deliveries > 0 && serverCpu !== undefined ? serverCpu / deliveries : undefined;
    record.redisUsPerDelivery = deliveries > 0 && target !== 'bare' ? redisCpu / deliveries : undefined;
    const sentInWindow = (figures.sentMsgsPerSec * figures.windowMs) / 1000;
    record.redisUsPerMessage = sentInWindow > 0 && target !== 'bare' ? redisCpu / sentInWindow : undefined;
    if (record.serverUsPerDelivery !== undefined && ctx.writeFloorUs !== undefined) {
      record.writeFloorMultiple = record.serverUsPerDelivery / ctx.writeFloorUs;
    }
    record.driverCpuPct = figures.windowMs > 0 ? (driverUs / (figures.windowMs * 1000)) * 100 : undefined;
    record.driverUsPerDelivery = deliveries > 0 ? driverUs / deliveries : undefined;
    record.serverRssMb = serverCpu === undefined ? undefined : rss / 1024 / 1024;
    if (serverCpu !== undefined && figures.windowMs > 0) {
      const other = machineCpu - serverCpu - redisCpu - driverUs;
      record.otherCpuPct = Math.max(0, (other / (figures.windowMs * 1000)) * 100);
    }

    const crashed = servers.find((s) => s.exit !== undefined);
    if (crashed !== undefined) {
      record.status = 'crashed';
      record.note = `server exited (code ${crashed.exit?.code}, signal ${crashed.exit?.signal}): ${lastLine(crashed.outputTail())}`;
    } else if (deadlinePassed) {
      record.status = 'timeout';
      record.note = 'step did not finish within its deadline';
    } else if (figures.lost > 0 || figures.duplicated > 0 || figures.disconnects > 0) {
      record.status = 'loss';
      const codes = [...driver.closeCodes].map(([code, n]) => `${n}x${code}`).join(' ');
      if (codes !== '') record.note = `clients closed by server: ${codes}`;
    } else if (figures.refused > 0 || figures.deliveriesPerSec < 0.9 * figures.offeredDeliveriesPerSec) {
      record.status = 'behind';
    } else {
      record.status = 'ok';
    }
    if (figures.refused > 0) {
      const shed = `${figures.refused} messages refused by a busy server (not published, so owed to nobody)`;
      record.note = record.note === undefined ? shed : `${record.note}; ${shed}`;
    }
  } catch (error) {
    const crashed = servers.find((s) => s.exit !== undefined);
    record.status = crashed !== undefined ? 'crashed' : 'failed';
    record.note = error instanceof Error ? error.message.slice(0, 300) : String(error);
  } finally {
    clearTimeout(deadline);
    driver?.close();
    await stopAll(ctx, servers);
  }
  return record;
}

/**
 * Connects idle clients to one fresh server and weighs them per connection,
 * against the settled RSS before: as plain RSS after `idleMs` and again after a
 * forced full collection. Never throws.
 */
export async function runIdle(ctx: RunContext, scenario: IdleScenario, target: TargetName): Promise<IdleRecord> {
  const record: IdleRecord = {
    kind: 'idle',
    scenario: 'idle',
    target,
    connections: scenario.clients,
    rooms: scenario.rooms,
    status: 'failed',
  };
  const servers: ServerProcess[] = [];
  let driver: LoadDriver | undefined;
  try {
    await ctx.flushRedis();
    const server = await startServerProcess({
      target,
      redisUrl: ctx.redisUrl,
      prefix: ctx.nextPrefix(),
      readyTimeoutMs: ctx.timing.readyTimeoutMs,
      // The inspector lets the bench force a full GC in either target without its cooperation.
      execArgv: [...ctx.serverExecArgv, INSPECT_FLAG],
    });
    servers.push(server);
    ctx.track(server);
    const inspector = server.inspectorUrl;
    const gc = async (): Promise<number | undefined> => (inspector === undefined ? undefined : collectGarbage(inspector));
    await settledRss(server.pid, ctx.timing.settleMs);
    const heapBefore = await gc();
    const before = await settledRss(server.pid, ctx.timing.settleMs);
    driver = new LoadDriver({ target, urls: [server.url], clients: scenario.clients, rooms: scenario.rooms });
    await driver.connect(30_000 + scenario.clients * 10);
    // The same idle time for every target, nothing forced: the plain figure. Then a forced collection: the other.
    await new Promise((resolve) => setTimeout(resolve, ctx.timing.idleMs));
    const plain = processRssBytes(server.pid);
    const heapAfter = await gc();
    const after = await settledRss(server.pid, ctx.timing.settleMs);
    if (server.exit !== undefined || before === undefined || after === undefined || plain === undefined) {
      record.status = 'crashed';
      record.note = `server exited: ${lastLine(server.outputTail())}`;
    } else {
      const connections = driver.openClients();
      record.connections = connections;
      record.idleSeconds = ctx.timing.idleMs / 1000;
      record.rssBeforeMb = before / 1024 / 1024;
      record.rssPlainMb = plain / 1024 / 1024;
      record.rssAfterMb = after / 1024 / 1024;
      record.bytesPerConnection = connections > 0 ? (after - before) / connections : undefined;
      record.plainBytesPerConnection = connections > 0 ? (plain - before) / connections : undefined;
      if (heapBefore !== undefined && heapAfter !== undefined && connections > 0) {
        record.heapBytesPerConnection = (heapAfter - heapBefore) / connections;
      }
      record.status = 'ok';
    }
  } catch (error) {
    record.status = servers.some((s) => s.exit !== undefined) ? 'crashed' : 'failed';
    record.note = error instanceof Error ? error.message.slice(0, 300) : String(error);
  } finally {
    driver?.close();
    await stopAll(ctx, servers);
  }
  return record;
}

/**
 * Samples RSS every 250 ms until three samples in a row stay within 0.5% of
 * each other (the heap has settled after the last burst), or `maxMs` passes.
 */
async function settledRss(pid: number, maxMs: number): Promise<number | undefined> {
  const end = performance.now() + maxMs;
  let last = processRssBytes(pid);
  let steady = 0;
  while (last !== undefined && performance.now() < end && steady < 3) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = processRssBytes(pid);
    if (now === undefined) return undefined;
    steady = Math.abs(now - last) <= last * 0.005 ? steady + 1 : 0;
    last = now;
  }
  return last;
}

async function stopAll(ctx: RunContext, servers: ServerProcess[]): Promise<void> {
  await Promise.all(
    servers.map(async (server) => {
      await server.stop(3000);
      ctx.untrack(server);
    }),
  );
}

/** The line of a crashed server's output that says why: the first that names an error, else the last. */
function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  const reason =
    lines.find((line) => /^\s*[A-Za-z]*Error\b|heap out of memory|Killed/.test(line)) ??
    lines.find((line) => /error/i.test(line)) ??
    lines[lines.length - 1] ??
    '';
  return reason.trim().slice(0, 300);
}
