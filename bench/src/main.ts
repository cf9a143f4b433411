// `npm run bench`: reads flags, starts a private Redis, runs every scenario against each target in turn, prints and keeps the figures.
import { createClient } from 'redis';
import { appendResults, formatTable, machine, ratios, type BenchRecord } from './report.js';
import { startRedisServer, type RedisServer } from '@chatfleet/redis-server';
import {
  SCENARIOS,
  fullScenarios,
  quickScenarios,
  runIdle,
  runLoadStep,
  type RunContext,
  type ScenarioName,
} from './scenarios.js';
import { TARGETS, type ServerProcess, type TargetName } from './targets.js';

const USAGE = `usage: npm run bench -- [options]
  --quick              tiny scenarios, ~2 s per step (CI smoke)
  --duration S         measured seconds per step (default 10; quick 1.5)
  --warmup S           warm-up seconds per step (default 2; quick 0.5)
  --only T             chatfleet | socketio
  --scenario LIST      comma list of single, dual, idle (or 1, 2, 3)
  --rates LIST         msgs/s steps of the single-server scenario (default 100,300,1000,3000)
  --cpu-prof           start servers with --cpu-prof (profiles in bench/results/profiles)
  --json               stdout carries only the JSON line (the table goes to stderr)
  --no-save            do not append to bench/results/<date>.jsonl`;

interface Flags {
  quick: boolean;
  durationS?: number;
  warmupS?: number;
  only?: TargetName;
  scenarios: ScenarioName[];
  rates?: number[];
  cpuProf: boolean;
  json: boolean;
  save: boolean;
}

class UsageError extends Error {}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { quick: false, scenarios: [...SCENARIOS], cpuProf: false, json: false, save: true };
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
        const target = value(i++, arg);
        if (!(TARGETS as readonly string[]).includes(target)) throw new UsageError(`--only must be one of ${TARGETS.join(', ')}`);
        flags.only = target as TargetName;
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

/** Runs the bench as the flags say and returns its records. Every process it starts is stopped before it returns. */
async function runBench(flags: Flags, log: (line: string) => void): Promise<BenchRecord[]> {
  const [single, dual, idle] = flags.quick ? quickScenarios() : fullScenarios();
  if (flags.rates !== undefined) single.rates = flags.rates;
  const timing = {
    warmupMs: (flags.warmupS ?? (flags.quick ? 0.5 : 2)) * 1000,
    measureMs: (flags.durationS ?? (flags.quick ? 1.5 : 10)) * 1000,
    graceMs: flags.quick ? 3000 : 20_000,
    stallMs: flags.quick ? 1000 : 3000,
    readyTimeoutMs: 15_000,
    settleMs: flags.quick ? 3000 : 10_000,
  };
  const targets = flags.only !== undefined ? [flags.only] : [...TARGETS];
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

  const records: BenchRecord[] = [];
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
        log(`  ${target.padEnd(9)} ${record.status.padEnd(7)} ${Math.round(record.bytesPerConnection ?? Number.NaN)} bytes/conn${record.note !== undefined ? `  ${record.note}` : ''}`);
      }
    }
  } finally {
    await admin.quit().catch(() => undefined);
    await redis.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killEverything);
  }
  return records;
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
  const records = await runBench(flags, log);
  const host = machine();
  log('');
  log(formatTable(records, when, host));
  if (flags.save) {
    const file = appendResults(records, when, host, { quick: flags.quick, durationS: flags.durationS, only: flags.only });
    log(`\nresults appended to ${file}`);
  }
  // SPEC section 7: a table and a JSON line; the JSON line is always the last line on stdout.
  process.stdout.write(`${JSON.stringify({ run: when.toISOString(), machine: host, records, ratios: ratios(records) })}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
