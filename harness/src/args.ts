// The harness command line (SPEC section 6): flags and environment names parsed into settings, with errors that name the flag.
import { ID_PATTERN } from '@chatfleet/protocol';

/** Everything one harness run needs. */
export interface HarnessArgs {
  /** Balancer base URLs, comma-joined as given (for the report). */
  url: string;
  /** Every balancer of the fleet; a client moves to the next one when one fails. */
  urls: string[];
  users: number;
  rooms: number;
  intervalMinMs: number;
  intervalMaxMs: number;
  /** Gap between one user starting to connect and the next. */
  staggerMs: number;
  /** Base of each client's jittered exponential reconnect backoff. */
  reconnectDelayMs: number;
  /** Seconds from the start until sending stops. */
  durationS: number;
  /** Zipf exponent for room sizes; undefined = even sizes. */
  zipf: number | undefined;
  json: boolean;
  roomPrefix: string;
  /** Longest wait after sending stops for the last deliveries and acks, seconds. */
  settleS: number;
  /** Share of turns that send a direct message to a random other user instead of a room message (0 to 1). */
  directShare: number;
  /** Follow moves break before make (close, then connect) instead of the client's default make before break. */
  breakBeforeMake: boolean;
}

export type ParsedArgs = { kind: 'run'; args: HarnessArgs } | { kind: 'help' };

/** A bad flag or environment variable; `source` names it. Exit code 2. */
export class ArgsError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArgsError';
  }
}

export const DEFAULTS: HarnessArgs = {
  url: 'http://localhost:3000',
  urls: ['http://localhost:3000'],
  users: 100,
  rooms: 5,
  intervalMinMs: 5_000,
  intervalMaxMs: 25_000,
  staggerMs: 10,
  reconnectDelayMs: 500,
  durationS: 60,
  zipf: undefined,
  json: false,
  roomPrefix: 'chat-room-',
  settleS: 10,
  directShare: 0,
  breakBeforeMake: false,
};

export const USAGE = `usage: npm run harness -- [flags]

  --url URL[,URL...]      balancer base URL(s) of one fleet (LOAD_BALANCER_URL, default ${DEFAULTS.url})
  --users N               simulated users               (CHATTER_COUNT, default ${DEFAULTS.users})
  --rooms R               rooms chat-room-1..R          (CHAT_ROOM_COUNT, default ${DEFAULTS.rooms})
  --interval MIN-MAX      ms between one user's sends   (MESSAGE_INTERVAL_MIN_MS / _MAX_MS, default ${DEFAULTS.intervalMinMs}-${DEFAULTS.intervalMaxMs})
  --stagger MS            gap between users connecting  (INITIAL_CONNECT_STAGGER_MS, default ${DEFAULTS.staggerMs})
  --reconnect-delay MS    base of the reconnect backoff (RECONNECT_DELAY_MS, default ${DEFAULTS.reconnectDelayMs})
  --duration S            seconds until sending stops   (default ${DEFAULTS.durationS})
  --zipf S                room sizes by a Zipf law with exponent S (default: even sizes)
  --room-prefix P         room name prefix              (default ${DEFAULTS.roomPrefix})
  --settle S              longest wait for last deliveries after sending stops (default ${DEFAULTS.settleS})
  --directs F             share of turns (0 to 1) that send a direct message to a random other user (DIRECT_SHARE, default ${DEFAULTS.directShare})
  --break-before-make     follow moves by closing first, then connecting (default: make before break)
  --json                  print one JSON object instead of the table
  --help                  this text

Exit code 0 when every expected message arrived exactly once, 1 on any loss or duplicate, 2 on bad flags.
Messages the server reported as unrecoverable (registered.recovered: false) count as lost in gaps, not as lost.`;

type Env = Record<string, string | undefined>;

const BOOLEAN_FLAGS = new Set(['--json', '--help', '-h', '--break-before-make']);
const VALUE_FLAGS = new Set([
  '--url',
  '--users',
  '--rooms',
  '--interval',
  '--stagger',
  '--reconnect-delay',
  '--duration',
  '--zipf',
  '--room-prefix',
  '--settle',
  '--directs',
]);

/**
 * Parses argv (without node and the script) over the environment: a flag
 * wins over its environment name, which wins over the default. Throws an
 * ArgsError naming the flag or variable at the first bad one.
 */
export function parseArgs(argv: readonly string[], env: Env = {}): ParsedArgs {
  const flags = new Map<string, string>();
  let json = false;
  let breakBeforeMake = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith('-')) throw new ArgsError(token, `unexpected argument ${JSON.stringify(token)}; flags start with --`);
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq !== -1) throw new ArgsError(name, `${name} takes no value`);
      if (name === '--help' || name === '-h') return { kind: 'help' };
      if (name === '--break-before-make') breakBeforeMake = true;
      else json = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new ArgsError(name, `unknown flag ${name}; see --help`);
    let value: string | undefined;
    if (eq !== -1) value = token.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new ArgsError(name, `${name} needs a value`);
    flags.set(name, value);
  }

  const pick = (flag: string, variable: string | undefined): { raw: string; source: string } | undefined => {
    const fromFlag = flags.get(flag);
    if (fromFlag !== undefined) return { raw: fromFlag, source: flag };
    if (variable === undefined) return undefined;
    const fromEnv = env[variable];
    if (fromEnv === undefined || fromEnv.trim() === '') return undefined;
    return { raw: fromEnv, source: variable };
  };

  const url = pick('--url', 'LOAD_BALANCER_URL');
  const args: HarnessArgs = { ...DEFAULTS, json, breakBeforeMake };
  if (url !== undefined) {
    args.urls = url.raw.split(',').map((one) => httpUrl(one.trim(), url.source));
    args.url = args.urls.join(',');
  }
  const usersPick = pick('--users', 'CHATTER_COUNT');
  const roomsPick = pick('--rooms', 'CHAT_ROOM_COUNT');
  args.users = integer(usersPick, DEFAULTS.users, 1, 200_000);
  args.rooms = integer(roomsPick, DEFAULTS.rooms, 1, 10_000);

  const interval = pick('--interval', undefined);
  if (interval !== undefined) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(interval.raw);
    if (match === null) {
      throw new ArgsError('--interval', `--interval must be MIN-MAX in ms, like 5000-25000 (got ${JSON.stringify(interval.raw)})`);
    }
    args.intervalMinMs = Number(match[1]);
    args.intervalMaxMs = match[2] === undefined ? args.intervalMinMs : Number(match[2]);
    if (args.intervalMinMs < 1 || args.intervalMaxMs < args.intervalMinMs) {
      throw new ArgsError('--interval', `--interval needs 1 <= MIN <= MAX (got ${JSON.stringify(interval.raw)})`);
    }
  } else {
    args.intervalMinMs = integer(pick('', 'MESSAGE_INTERVAL_MIN_MS'), DEFAULTS.intervalMinMs, 1, 86_400_000);
    args.intervalMaxMs = integer(pick('', 'MESSAGE_INTERVAL_MAX_MS'), Math.max(DEFAULTS.intervalMaxMs, args.intervalMinMs), 1, 86_400_000);
    if (args.intervalMaxMs < args.intervalMinMs) {
      throw new ArgsError(
        'MESSAGE_INTERVAL_MAX_MS',
        `MESSAGE_INTERVAL_MAX_MS (${args.intervalMaxMs}) must not be below MESSAGE_INTERVAL_MIN_MS (${args.intervalMinMs})`,
      );
    }
  }

  args.staggerMs = integer(pick('--stagger', 'INITIAL_CONNECT_STAGGER_MS'), DEFAULTS.staggerMs, 0, 600_000);
  args.reconnectDelayMs = integer(pick('--reconnect-delay', 'RECONNECT_DELAY_MS'), DEFAULTS.reconnectDelayMs, 1, 600_000);
  args.durationS = number(pick('--duration', undefined), DEFAULTS.durationS, 0.1, 86_400);
  args.settleS = number(pick('--settle', undefined), DEFAULTS.settleS, 0, 3_600);
  args.directShare = number(pick('--directs', 'DIRECT_SHARE'), DEFAULTS.directShare, 0, 1);
  const zipf = pick('--zipf', undefined);
  args.zipf = zipf === undefined ? undefined : number(zipf, 0, 0.01, 10);

  const prefix = pick('--room-prefix', undefined);
  if (prefix !== undefined) {
    if (!ID_PATTERN.test(`${prefix.raw}1`) || prefix.raw.length > 56) {
      throw new ArgsError('--room-prefix', `--room-prefix may hold letters, digits and ._:- (up to 56) (got ${JSON.stringify(prefix.raw)})`);
    }
    args.roomPrefix = prefix.raw;
  }
  if (args.rooms > args.users) {
    const source = roomsPick?.source ?? usersPick?.source ?? '--rooms';
    throw new ArgsError(source, `${source}: ${args.rooms} rooms need at least as many users (got ${args.users} users)`);
  }
  return { kind: 'run', args };
}

/**
 * When the ramp (users x stagger) does not end well before sending stops,
 * the sentence that says so and which flags would fit (the ramp taking at
 * most half of --duration); undefined when the flags fit. `fatal`: the last
 * users would start after sending stopped, so the run cannot pass.
 */
export function rampAdvice(args: Pick<HarnessArgs, 'users' | 'staggerMs' | 'durationS'>): { fatal: boolean; text: string } | undefined {
  const rampMs = args.staggerMs * (args.users - 1);
  const durationMs = args.durationS * 1000;
  if (rampMs <= durationMs / 2) return undefined;
  const stagger = Math.max(0, Math.floor(durationMs / 2 / args.users));
  const duration = Math.ceil((rampMs * 2) / 1000);
  const fatal = rampMs >= durationMs;
  const ramp = `the ramp (${args.users} users x ${args.staggerMs} ms = ${Math.round(rampMs / 1000)} s)`;
  const what = fatal
    ? `${ramp} does not fit in --duration ${args.durationS}: the last users would join after sending stops and the run would fail`
    : `${ramp} takes more than half of --duration ${args.durationS}, so the steady part of the run is short`;
  return { fatal, text: `${what}; use --stagger ${stagger} or less, or --duration ${duration} or more.` };
}

function integer(value: { raw: string; source: string } | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.raw.trim());
  if (value.raw.trim() === '' || !Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ArgsError(value.source, `${value.source} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value.raw)})`);
  }
  return parsed;
}

function number(value: { raw: string; source: string } | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.raw.trim());
  if (value.raw.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new ArgsError(value.source, `${value.source} must be a number from ${min} to ${max} (got ${JSON.stringify(value.raw)})`);
  }
  return parsed;
}

function httpUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ArgsError(source, `${source} must be an http:// or https:// URL (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ArgsError(source, `${source} must be an http:// or https:// URL (got ${JSON.stringify(raw)})`);
  }
  return raw.replace(/\/+$/, '');
}
