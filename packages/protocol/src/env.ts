// Helpers to read configuration from environment variables through a zod schema, validated once at start.
import { z } from 'zod';

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

/** A redis:// or rediss:// URL. */
export function redisUrlVar() {
  return optionalStringVar(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL');
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
  LOG_LEVEL: stringVar('info', LOG_LEVEL_PATTERN, 'one of fatal, error, warn, info, debug, trace, silent'),
};
