// `npm run simulate`: the fleet simulator's command line (flags, defaults, text or --json output).
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { formatReport } from './report.js';
import { runSimulation, type SimOptions } from './run.js';
import { DEFAULT_TRAFFIC } from './traffic.js';

export const USAGE = `usage: npm run simulate -- [flags]

A synthetic day of traffic at a scale one machine cannot run, through today's
policy and the room-aware planner (the real decision functions), offline.

  --users N           users online at the daily peak (default 200000)
  --rooms N           rooms, sized by a Zipf law (default 10000)
  --zipf S            Zipf exponent of room sizes (default 1.0)
  --hours H           hours simulated from midnight (default 24)
  --interval S        seconds between two messages of one user (default 300)
  --room-rate-cap N   most messages/s in one room (default 20)
  --session M         mean session, minutes (default 60)
  --flash R:H:N       a flash crowd: N extra users in room rank R from hour H (default 5000:19.5:50000); "none" for none
  --spawn-writes N    SPAWN_WRITES_PER_SEC (default 50000)
  --server-capacity N writes/s one server really manages on a free core (default 75000)
  --fleet-max N       FLEET_MAX (default 1000)
  --hosts N           hosts (default 16)
  --cores N           cores per host (default 16)
  --busy-host A-B     host h1 saturated by other programs from hour A to B (default 2-6); "none" for never
  --step S            seconds per traffic step: joins, leaves, rates (default 120)
  --tick S            seconds between two runs of the room-aware loop (default 60;
                      today's policy runs every REBALANCE_COOLDOWN_MS, 5 s)
  --seed N            random seed (default 1)
  --json              one JSON object instead of the tables
  --help              this text`;

/** Parses the flags into options; throws an Error with a message for a bad one. */
export function parseSimArgs(argv: readonly string[]): { options: SimOptions; json: boolean; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      users: { type: 'string' },
      rooms: { type: 'string' },
      zipf: { type: 'string' },
      hours: { type: 'string' },
      interval: { type: 'string' },
      'room-rate-cap': { type: 'string' },
      session: { type: 'string' },
      flash: { type: 'string' },
      'spawn-writes': { type: 'string' },
      'server-capacity': { type: 'string' },
      'fleet-max': { type: 'string' },
      hosts: { type: 'string' },
      cores: { type: 'string' },
      'busy-host': { type: 'string' },
      step: { type: 'string' },
      tick: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const num = (name: keyof typeof values, fallback: number, min: number, max: number, integer = false): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (typeof raw !== 'string' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(`--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    }
    return n;
  };
  const rooms = num('rooms', DEFAULT_TRAFFIC.rooms, 1, 10_000_000, true);
  let flash = DEFAULT_TRAFFIC.flash;
  if (values.flash === 'none') flash = undefined;
  else if (values.flash !== undefined) {
    const [rank, at, members] = values.flash.split(':').map(Number);
    if (!Number.isInteger(rank) || rank! < 1 || rank! > rooms || !Number.isFinite(at) || !Number.isInteger(members) || members! < 0) {
      throw new Error(`--flash must be RANK:HOUR:MEMBERS with 1 <= RANK <= --rooms (got ${JSON.stringify(values.flash)})`);
    }
    flash = { ...DEFAULT_TRAFFIC.flash!, rank: rank!, atHour: at!, members: members! };
  }
  if (flash !== undefined && flash.rank > rooms) flash = { ...flash, rank: Math.max(1, Math.ceil(rooms / 10)) };
  let busyHost: [number, number] | undefined = [2, 6];
  if (values['busy-host'] === 'none') busyHost = undefined;
  else if (values['busy-host'] !== undefined) {
    const [a, b] = values['busy-host'].split('-').map(Number);
    if (!Number.isFinite(a) || !Number.isFinite(b) || a! < 0 || b! > 24 || a! >= b!) {
      throw new Error(`--busy-host must be A-B with 0 <= A < B <= 24 (got ${JSON.stringify(values['busy-host'])})`);
    }
    busyHost = [a!, b!];
  }
  const step = num('step', 120, 1, 3600, true);
  const tick = num('tick', 60, 1, 3600, true);
  if (tick > step || step % tick !== 0) throw new Error(`--tick must divide --step (got --tick ${tick}, --step ${step})`);
  const options: SimOptions = {
    traffic: {
      ...DEFAULT_TRAFFIC,
      users: num('users', DEFAULT_TRAFFIC.users, 1, 1e9, true),
      rooms,
      zipf: num('zipf', DEFAULT_TRAFFIC.zipf, 0, 5),
      messageIntervalS: num('interval', DEFAULT_TRAFFIC.messageIntervalS, 0.01, 1e6),
      roomRateCap: num('room-rate-cap', DEFAULT_TRAFFIC.roomRateCap, 0.001, 1e6),
      sessionMinutes: num('session', DEFAULT_TRAFFIC.sessionMinutes, 1, 1e6),
      flash,
    },
    world: {
      spawnWritesPerSec: num('spawn-writes', 50_000, 1, 1e9),
      serverCapacity: num('server-capacity', 75_000, 1, 1e9),
      hosts: num('hosts', 16, 1, 10_000, true),
      coresPerHost: num('cores', 16, 1, 1024, true),
      backgroundShare: 0.1,
      busyHost,
      spawnSeconds: 2,
    },
    policy: {
      fleetMin: 1,
      fleetMax: num('fleet-max', 1000, 1, 100_000, true),
      spawnWritesPerSec: num('spawn-writes', 50_000, 1, 1e9),
      eventLoopLagMs: 15,
      redistributeFraction: 0.04,
      cooldownMs: 5000,
      scaleDownAfterMs: 30_000,
      placementMaxMoves: 200,
      placementConsolidateFloor: 0.5,
      spawnMinSpareCores: 0.5,
    },
    hours: num('hours', 24, 0.01, 24 * 7),
    stepSeconds: step,
    tickSeconds: tick,
    seed: num('seed', 1, 0, 2 ** 32 - 1, true),
  };
  return { options, json: values.json === true, help: values.help === true };
}

/** Runs the command line; returns the exit code. */
export function main(argv: readonly string[]): number {
  let parsed;
  try {
    parsed = parseSimArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const report = runSimulation(parsed.options);
  process.stdout.write(parsed.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
