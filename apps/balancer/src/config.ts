// The balancer's settings: one zod schema over the environment, parsed once in main.ts and passed down.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  ConfigError,
  PREFIX_PATTERN,
  intVar,
  numberVar,
  optionalStringVar,
  parseEnv,
  redisUrlVar,
  stringVar,
} from '@chatfleet/protocol/env';

const HOST_PATTERN = /^[A-Za-z0-9.:_[\]-]{1,255}$/;
const LOG_LEVELS = /^(fatal|error|warn|info|debug|trace|silent)$/;

/** `<repo>/dashboard/dist`, found from this file (dist/config.js or src/config.ts). */
const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

/** Every balancer variable, its default and what it accepts (SPEC section 5 and the team brief). */
export const balancerConfigShape = {
  PORT: intVar(3000, 0, 65535),
  HOST: stringVar('127.0.0.1', HOST_PATTERN, 'a host name or IP address'),
  PUBLIC_HOST: optionalStringVar(HOST_PATTERN, 'a host name or IP address'),
  /** Unset: 127.0.0.1:6379 when it answers, else a private redis-server (see redis/resolve.ts). */
  REDIS_URL: redisUrlVar(),
  /** Where start-up looks for a local Redis when REDIS_URL is unset. */
  REDIS_PROBE_URL: stringVar('redis://127.0.0.1:6379', /^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL'),
  /** How long start-up waits for REDIS_URL to answer. */
  REDIS_CONNECT_TIMEOUT_MS: intVar(5000, 100),
  REDIS_PREFIX: stringVar('', PREFIX_PATTERN, 'letters, digits and ._:- (up to 64)'),
  FLEET_MIN: intVar(1, 0, 64),
  FLEET_MAX: intVar(8, 1, 64),
  SPAWN_WRITES_PER_SEC: numberVar(50_000, 1, 1e9),
  REDISTRIBUTE_FRACTION: numberVar(0.04, 0.0001, 1),
  EVENT_LOOP_LAG_MS: numberVar(15, 1, 60_000),
  HEARTBEAT_TIMEOUT_MS: intVar(3000, 100),
  AUTH_SECRET: optionalStringVar(),
  TOKEN_TTL_S: intVar(60, 1, 86_400),
  ADMIN_TOKEN: optionalStringVar(),
  USER_SECRET: optionalStringVar(),
  MAX_PAYLOAD: intVar(65_536, 1024),
  RATE_LIMIT: intVar(20, 1),
  SLOW_CONSUMER_BYTES: intVar(4_194_304, 1024),
  HISTORY_LIMIT: intVar(1000, 1),
  READY_TIMEOUT_MS: intVar(10_000, 100),
  STOP_TIMEOUT_MS: intVar(10_000, 100),
  METRICS_INTERVAL_MS: intVar(1000, 50),
  GONE_RETENTION_MS: intVar(30_000, 0),
  /** Passed to chat servers: how long a drain waits for clients to leave. */
  DRAIN_TIMEOUT_MS: intVar(10_000, 0),
  /** Passed to chat servers: how long a redirected client may stay before close 1001. */
  REDIRECT_GRACE_MS: intVar(5000, 0),
  /** Passed to chat servers: websocket ping interval. */
  PING_INTERVAL_MS: intVar(30_000, 100),
  /** Passed to chat servers: comma list of allowed Origins; unset = any. */
  ALLOWED_ORIGINS: optionalStringVar(),
  /** Least time between two automatic redistributions away from one hot server. */
  REBALANCE_COOLDOWN_MS: intVar(5000, 0),
  /**
   * Scale-down: how long the fleet must fit on one fewer managed server (every remaining one under
   * 50% of SPAWN_WRITES_PER_SEC, none lagging) before the least-loaded one is drained; also the
   * least time after any spawn before a drain. Not passed to children.
   */
  SCALE_DOWN_AFTER_MS: intVar(30_000, 0),
  DASHBOARD_DIR: stringVar(DEFAULT_DASHBOARD_DIR),
  /** The chat server's entry file; default apps/chat-server/dist/main.js next to this app. */
  CHAT_SERVER_ENTRY: optionalStringVar(),
  LOG_LEVEL: stringVar('info', LOG_LEVELS, 'one of fatal, error, warn, info, debug, trace, silent'),
};

export type BalancerConfig = z.infer<z.ZodObject<typeof balancerConfigShape>>;

/** Parses the environment; throws ConfigError naming the first bad variable. */
export function parseBalancerConfig(env: Record<string, string | undefined>): BalancerConfig {
  const config = parseEnv(balancerConfigShape, env);
  if (config.FLEET_MIN > config.FLEET_MAX) {
    throw new ConfigError('FLEET_MIN', `FLEET_MIN must not exceed FLEET_MAX (${config.FLEET_MIN} > ${config.FLEET_MAX})`);
  }
  return config;
}

/** The chat server entry the balancer forks: the setting, else the sibling app's build. */
export function chatServerEntry(config: BalancerConfig): string {
  return config.CHAT_SERVER_ENTRY ?? fileURLToPath(new URL('../../chat-server/dist/main.js', import.meta.url));
}
