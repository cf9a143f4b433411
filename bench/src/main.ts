// `npm run bench`: reads flags, starts a private Redis, runs every scenario against each target in turn, prints and keeps the figures.
import { createClient } from 'redis';
import { appendResults, formatTable, machine, ratios, type BenchRecord } from './report.js';
import { startRedisServer, type RedisServer } from '@chatfleet/redis-server';
import {
  DEFAULT_SCENARIOS,
  SCENARIOS,
  fullScenarios,
  quickScenarios,
  runIdle,
  runLoadStep,
  type RunContext,
  type ScenarioName,
} from './scenarios.js';
import { TARGETS, type ServerProcess, type TargetName } from './targets.js';
import { formatRedisCompare, formatScriptCost, runRedisCompare, runScriptCost, type RedisCompareStep, type ScriptCostStep } from './redis-compare.js';
import { measureWriteFloor, type WriteFloor } from './write-floor.js';
import { formatC100k, runC100k, type C100kResult } from './c100k.js';

const USAGE = `usage: npm run bench -- [options]
  --quick              tiny scenarios, ~2 s per step (CI smoke)
  --duration S         measured seconds per step (default 10; quick 1.5)
  --warmup S           warm-up seconds per step (default 2; quick 0.5)
  --only LIST          comma list of chatfleet, socketio, bare (the bare ws broadcast, no Redis)
  --scenario LIST      comma list of single, dual, idle (or 1, 2, 3; the default set),
                       redis (one Redis against a 3-master Cluster), c100k (the fleet
                       through the balancer; neither is in the default set)
  --rates LIST         msgs/s steps of the single-server scenario (default 100,300,1000,3000),
                       or of the redis scenario (default 2000,5000; quick 500)
  --idle-seconds S     how long the idle clients stay idle before memory is read (default 25; quick 2)
  --connections N      c100k: connections to open (default 100000)
  --servers N          c100k: chat servers the balancer keeps (default the larger of 6 and
                       one per 15,000 connections plus one)
  --hold S             c100k: seconds held with 1% chatting before the reconnect storm (default 30)
  --cpu-prof           start servers with --cpu-prof (profiles in bench/results/profiles)
  --json               stdout carries only the JSON line (the table goes to stderr)
  --no-save            do not append to bench/results/<date>.jsonl`;

interface Flags {
  quick: boolean;
  durationS?: number;
  warmupS?: number;
  only?: TargetName[];
  scenarios: ScenarioName[];
  rates?: number[];
  idleS?: number;
  connections: number;
  servers?: number;
  holdS: number;
  cpuProf: boolean;
  json: boolean;
  save: boolean;
}

class UsageError extends Error {}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { quick: false, scenarios: [...DEFAULT_SCENARIOS], connections: 100_000, holdS: 30, cpuProf: false, json: false, save: true };
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  const positive = (raw: string, name: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number (got ${raw})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--quick':
        flags.quick = true;
        break;
      case '--duration':
        flags.durationS = positive(value(i++, arg), arg);
        break;
      case '--warmup':
        flags.warmupS = positive(value(i++, arg), arg);
        break;
      case '--only': {
        flags.only = value(i++, arg)
          .split(',')
          .map((target) => {
            if (!(TARGETS as readonly string[]).includes(target)) throw new UsageError(`--only takes targets among ${TARGETS.join(', ')} (got ${target})`);
            return target as TargetName;
          });
        break;
      }
      case '--scenario': {
        const byNumber: Record<string, ScenarioName> = { '1': 'single', '2': 'dual', '3': 'idle' };
        flags.scenarios = value(i++, arg)
          .split(',')
          .map((s) => {
            const name = byNumber[s] ?? s;
            if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario ${s}; use ${SCENARIOS.join(', ')}`);
            return name as ScenarioName;
          });
        break;
      }
      case '--rates':
        flags.rates = value(i++, arg)
          .split(',')
          .map((s) => positive(s, arg));
        break;
      case '--idle-seconds':
        flags.idleS = positive(value(i++, arg), arg);
        break;
      case '--connections': {
        const n = positive(value(i++, arg), arg);
        if (!Number.isInteger(n)) throw new UsageError(`--connections must be a whole number (got ${n})`);
        flags.connections = n;
        break;
      }
      case '--servers': {
        const n = positive(value(i++, arg), arg);
        if (!Number.isInteger(n) || n > 64) throw new UsageError(`--servers must be a whole number up to 64 (got ${n})`);
        flags.servers = n;
        break;
      }
      case '--hold':
        flags.holdS = positive(value(i++, arg), arg);
        break;
      case '--cpu-prof':
        flags.cpuProf = true;
        break;
      case '--json':
        flags.json = true;
        break;
      case '--no-save':
        flags.save = false;
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  return flags;
}

interface BenchOutcome {
  records: BenchRecord[];
  writeFloor?: WriteFloor;
  redis?: RedisCompareStep[];
  scriptCost?: ScriptCostStep[];
  c100k?: C100kResult;
}

/** Runs the bench as the flags say and returns its figures. Every process it starts is stopped before it returns. */
async function runBench(flags: Flags, log: (line: string) => void): Promise<BenchOutcome> {
  const [single, dual, idle] = flags.quick ? quickScenarios() : fullScenarios();
  if (flags.rates !== undefined) single.rates = flags.rates;
  const timing = {
    warmupMs: (flags.warmupS ?? (flags.quick ? 0.5 : 2)) * 1000,
    measureMs: (flags.durationS ?? (flags.quick ? 1.5 : 10)) * 1000,
    graceMs: flags.quick ? 3000 : 20_000,
    stallMs: flags.quick ? 1000 : 3000,
    readyTimeoutMs: 15_000,
    settleMs: flags.quick ? 3000 : 10_000,
    idleMs: (flags.idleS ?? (flags.quick ? 2 : 25)) * 1000,
  };
  const outcome: BenchOutcome = { records: [] };
  const loadScenarios = flags.scenarios.some((s) => s === 'single' || s === 'dual' || s === 'idle');
  if (flags.scenarios.includes('single') || flags.scenarios.includes('dual')) {
    outcome.writeFloor = await measureWriteFloor(flags.quick ? 200 : 1000, flags.quick ? 50 : 300);
    log(`raw write floor: ${outcome.writeFloor.usPerWrite.toFixed(2)} us per loopback write() of ${outcome.writeFloor.bytes} bytes`);
  }
  if (flags.scenarios.includes('redis')) {
    log('scenario redis: the same room traffic on one Redis and on a 3-master Cluster');
    outcome.redis = await runRedisCompare({
      rates: flags.rates ?? (flags.quick ? [500] : [2000, 5000]),
      rooms: flags.quick ? 10 : 50,
      durationS: flags.durationS ?? (flags.quick ? 1.5 : 10),
      warmupS: flags.warmupS ?? (flags.quick ? 0.5 : 2),
      log,
    });
    log('scenario redis: the publish script then and now, on Redis alone');
    outcome.scriptCost = await runScriptCost(flags.rates ?? (flags.quick ? [500] : [2000, 5000]), flags.quick ? [5] : [50, 5], flags.durationS ?? (flags.quick ? 1.5 : 10));
  }
  if (flags.scenarios.includes('c100k')) {
    log(`scenario c100k: ${flags.connections} connections through the balancer, 1% chatting, then a reconnect storm`);
    outcome.c100k = await runC100k({
      connections: flags.connections,
      servers: flags.servers ?? Math.max(6, Math.ceil(flags.connections / 15_000) + 1),
      perDriver: 15_000,
      roomSize: 100,
      chatIntervalMs: 5000,
      pingIntervalMs: 10_000,
      holdS: flags.holdS,
      log,
    });
  }
  if (!loadScenarios) return outcome;
  const targets = flags.only ?? [...TARGETS];
  const live = new Set<ServerProcess>();
  let redis: RedisServer | undefined;
  const killEverything = (): void => {
    for (const server of live) server.killNow();
    redis?.killNow();
  };
  const onSignal = (): void => {
    log('interrupted: stopping every process the bench started');
    killEverything();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killEverything);

  const records = outcome.records;
  // Up to 5000 idle clients plus the servers' own connections.
  redis = await startRedisServer({ args: ['--maxclients', '10000'] });
  const admin = createClient({ url: redis.url });
  admin.on('error', (error: unknown) => log(`bench redis client error: ${String(error)}`));
  try {
    await admin.connect();
    let stepNo = 0;
    const ctx: RunContext = {
      redisUrl: redis.url,
      redisPid: redis.pid,
      timing,
      flushRedis: async () => {
        await admin.flushAll();
      },
      track: (server) => live.add(server),
      untrack: (server) => live.delete(server),
      serverExecArgv: flags.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${new URL('../results/profiles/', import.meta.url).pathname}`] : [],
      nextPrefix: () => `bench${++stepNo}:`,
      writeFloorUs: outcome.writeFloor?.usPerWrite,
    };
    for (const scenario of [single, dual]) {
      if (!flags.scenarios.includes(scenario.name)) continue;
      log(`scenario ${scenario.name}: ${scenario.title}`);
      for (const rate of scenario.rates) {
        for (const target of targets) {
          const started = Date.now();
          const record = await runLoadStep(ctx, scenario, target, rate);
          records.push(record);
          log(
            `  ${String(rate).padStart(5)} msgs/s ${target.padEnd(9)} ${record.status.padEnd(7)} ` +
              `${Math.round(record.deliveriesPerSec ?? 0)} deliv/s  p99 ${(record.p99Ms ?? Number.NaN).toFixed(2)} ms  ` +
              `lost ${record.lost ?? '-'}  ${(record.serverUsPerDelivery ?? Number.NaN).toFixed(2)} us/dlv  ` +
              `(${((Date.now() - started) / 1000).toFixed(1)} s)${record.note !== undefined ? `  ${record.note.slice(0, 120)}` : ''}`,
          );
        }
      }
    }
    if (flags.scenarios.includes('idle')) {
      log(`scenario idle: ${idle.title}`);
      for (const target of targets) {
        const record = await runIdle(ctx, idle, target);
        records.push(record);
        log(
          `  ${target.padEnd(9)} ${record.status.padEnd(7)} ${Math.round(record.bytesPerConnection ?? Number.NaN)} bytes/conn after GC, ` +
            `${Math.round(record.plainBytesPerConnection ?? Number.NaN)} plain${record.note !== undefined ? `  ${record.note}` : ''}`,
        );
      }
    }
  } finally {
    await admin.quit().catch(() => undefined);
    await redis.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killEverything);
  }
  return outcome;
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  // With --json, stdout carries only the JSON object.
  const log = (line: string): void => {
    if (flags.json) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
  const when = new Date();
  const outcome = await runBench(flags, log);
  const { records, writeFloor, redis, scriptCost, c100k } = outcome;
  const host = machine();
  log('');
  if (records.length > 0) log(formatTable(records, when, host, writeFloor));
  if (redis !== undefined) log(`\nRedis CPU per published message (idle-subtracted):\n${formatRedisCompare(redis)}`);
  if (scriptCost !== undefined) log(`\nRedis CPU per message by script, Redis alone (idle-subtracted):\n${formatScriptCost(scriptCost)}`);
  if (c100k !== undefined) log(`\n${formatC100k(c100k)}`);
  const extra: object[] = [];
  if (c100k !== undefined) extra.push(c100k);
  if (writeFloor !== undefined) extra.push({ kind: 'write-floor', ...writeFloor });
  for (const step of redis ?? []) extra.push({ kind: 'redis', ...step });
  for (const step of scriptCost ?? []) extra.push({ kind: 'redis-script', ...step });
  if (flags.save) {
    const file = appendResults(records, when, host, { quick: flags.quick, durationS: flags.durationS, only: flags.only }, extra);
    log(`\nresults appended to ${file}`);
  }
  // SPEC section 7: a table and a JSON line; the JSON line is always the last line on stdout.
  process.stdout.write(`${JSON.stringify({ run: when.toISOString(), machine: host, writeFloor, records, ratios: ratios(records), redis, scriptCost, c100k })}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
