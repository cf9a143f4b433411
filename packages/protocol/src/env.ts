// Helpers to read configuration from environment variables through a zod schema, validated once at start.
import { z } from 'zod';
import { parseRedisUrl, REDIS_URL_FORMS } from './redis-url.js';

/** A bad setting: names the variable and what it accepts. Apps exit with code 2 on it. */
export class ConfigError extends Error {
  readonly code = 'bad_config';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** An integer variable with a default and an inclusive range. */
export function intVar(fallback: number, min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw.trim());
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})` });
        return z.NEVER;
      }
      return value;
    });
}

/** A number variable with a default and an inclusive range. */
export function numberVar(fallback: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw.trim());
      if (!Number.isFinite(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})` });
        return z.NEVER;
      }
      return value;
    });
}

/** An optional string variable; empty counts as unset. */
export function optionalStringVar(pattern?: RegExp, accepts?: string) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      if (pattern !== undefined && !pattern.test(raw)) {
        ctx.addIssue({ code: 'custom', message: `must be ${accepts ?? pattern.source} (got ${JSON.stringify(raw)})` });
        return z.NEVER;
      }
      return raw;
    });
}

/** A string variable with a default. */
export function stringVar(fallback: string, pattern?: RegExp, accepts?: string) {
  return optionalStringVar(pattern, accepts).transform((value) => value ?? fallback);
}

/** A REDIS_URL in one of its three forms (SPEC section 4); the message says what is wrong with a bad one. */
export function redisUrlVar() {
  return optionalStringVar().transform((raw, ctx) => {
    if (raw === undefined) return undefined;
    try {
      parseRedisUrl(raw);
      return raw;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be ${REDIS_URL_FORMS}: ${(error as Error).message}` });
      return z.NEVER;
    }
  });
}

/** Key prefix: letters, digits and `._:-`, up to 64 characters. */
export const PREFIX_PATTERN = /^[A-Za-z0-9._:-]{0,64}$/;

/**
 * Parses `env` with a schema whose keys are variable names. Throws a
 * ConfigError naming the first bad variable and what it accepts.
 */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: Env): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  throw new ConfigError(variable, `${variable} ${issue?.message ?? 'is invalid'}`);
}

/** How a program writes its log: `pretty` lines for a person, `json` lines for machines. */
export type LogFormat = 'pretty' | 'json';

/** LOG_FORMAT: `pretty` or `json`; unset means pretty on a terminal, json otherwise (each app decides from its stdout). */
export function logFormatVar() {
  return optionalStringVar(/^(pretty|json)$/, 'pretty or json').transform((value) => value as LogFormat | undefined);
}

/** The format to use: the setting, else pretty when stdout is a terminal and json when it is not. */
export function resolveLogFormat(setting: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return setting ?? (isTTY === true ? 'pretty' : 'json');
}

/** Pino log levels, and `silent`. */
export const LOG_LEVEL_PATTERN = /^(fatal|error|warn|info|debug|trace|silent)$/;

const ORIGINS_PATTERN = /^[^\s,]+(,[^\s,]+)*$/;

/**
 * The chat server's settings that its balancer reads too: the balancer checks
 * them at its own start and hands them to every child it forks. One definition
 * serves both apps, so the balancer can never accept a value that would make
 * its children exit with code 2 (and be respawned over and over).
 */
export const chatServerSettings = {
  REDIS_PREFIX: stringVar('', PREFIX_PATTERN, 'letters, digits and ._:- (up to 64)'),
  TOKEN_TTL_S: intVar(60, 1, 86_400),
  MAX_PAYLOAD: intVar(65_536, 1024, 16 * 1024 * 1024),
  /** Most frames one websocket message may come in; the next one closes the connection with 1008. */
  MAX_FRAGMENTS: intVar(1024, 1, 65_536),
  /** How long a connection has to send a complete upgrade (or HTTP) request before it is cut. */
  UPGRADE_TIMEOUT_MS: intVar(10_000, 10, 600_000),
  RATE_LIMIT: intVar(20, 1, 1_000_000),
  SLOW_CONSUMER_BYTES: intVar(4 * 1024 * 1024, 1024),
  HISTORY_LIMIT: intVar(1000, 1, 10_000_000),
  METRICS_INTERVAL_MS: intVar(1000, 10, 3_600_000),
  PING_INTERVAL_MS: intVar(30_000, 10, 3_600_000),
  DRAIN_TIMEOUT_MS: intVar(10_000, 0, 3_600_000),
  REDIRECT_GRACE_MS: intVar(5000, 0, 3_600_000),
  ALLOWED_ORIGINS: optionalStringVar(ORIGINS_PATTERN, 'a comma-separated list of origins like https://chat.example'),
  HEARTBEAT_TIMEOUT_MS: intVar(3000, 10, 3_600_000),
  REDIS_CONNECT_TIMEOUT_MS: intVar(5000, 10, 600_000),
  WRITE_BATCH_MS: intVar(0, 0, 1000),
  PUBLISH_QUEUE_LIMIT: intVar(5000, 1, 1_000_000),
  DURABLE_ACKS: intVar(0, 0, 100),
  DURABLE_WAIT_MS: intVar(1000, 1, 60_000),
  BUS_PROBE_INTERVAL_MS: intVar(1000, 10, 60_000),
  BUS_PROBE_TIMEOUT_MS: intVar(2000, 10, 60_000),
  /** Redirects a server sends to one target per second (moves and drains), spread with jitter (extension). */
  REDIRECT_RATE_PER_SEC: numberVar(100, 0.1, 1_000_000),
  /** How long a server's confirmation of a command stays in Redis for the balancer to read (extension). */
  COMMAND_ACK_TTL_MS: intVar(60_000, 100, 86_400_000),
  /**
   * A managed chat server whose balancer is gone (its IPC channel closed
   * without a stop) keeps serving; if no balancer of its host adopts it
   * within this time, it drains and exits. Extension.
   */
  ORPHAN_TIMEOUT_MS: intVar(60_000, 100, 86_400_000),
  /**
   * Client connections (websocket and fallback) a chat server holds at most;
   * past it upgrades are answered 503 and the server reports itself full.
   * 0: the process's soft open-file limit minus a reserve (extension).
   */
  MAX_CONNECTIONS: intVar(0, 0, 10_000_000),
  /**
   * After this many connects and closes, a chat server runs one full garbage
   * collection once 5 s pass without any, so what they left behind leaves its
   * RSS while it idles. 0: never (extension).
   */
  QUIET_GC_CHURN: intVar(500, 0, 10_000_000),
  LOG_LEVEL: stringVar('info', LOG_LEVEL_PATTERN, 'one of fatal, error, warn, info, debug, trace, silent'),
};

/**
 * The environment every chat server the project starts gets unless the
 * starter's own environment names the same variable. `MALLOC_ARENA_MAX=1`:
 * glibc otherwise spreads a server's long-lived native allocations (one TCP
 * handle per connection) over arenas of the V8 helper threads, whose touched
 * pages stay in RSS: 5,000 idle connections weighed about 3.5 KB each in RSS
 * with the default arenas and 2.5 KB with one.
 */
export const CHAT_SERVER_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** A chat server's environment: CHAT_SERVER_PROCESS_ENV, then the starter's `base`, then what the starter fixes. */
export function chatServerProcessEnv(
  base: Readonly<Record<string, string | undefined>>,
  fixed: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return { ...CHAT_SERVER_PROCESS_ENV, ...base, ...fixed };
}
