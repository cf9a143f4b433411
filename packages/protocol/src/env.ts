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
