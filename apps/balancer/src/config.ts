// The balancer's settings: one zod schema over the environment, parsed once in main.ts and passed down.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  chatServerSettings,
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

/** `<repo>/dashboard/dist`, found from this file (dist/config.js or src/config.ts). */
const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

/** Every balancer variable, its default and what it accepts (SPEC section 5 and the team brief). */
export const balancerConfigShape = {
  /** Shared with the chat servers, which get them from the balancer (see @chatfleet/protocol/env). */
  ...chatServerSettings,
  PORT: intVar(3000, 0, 65535),
  HOST: stringVar('127.0.0.1', HOST_PATTERN, 'a host name or IP address'),
  PUBLIC_HOST: optionalStringVar(HOST_PATTERN, 'a host name or IP address'),
  /** Unset: 127.0.0.1:6379 when it answers, else a private redis-server (see redis/resolve.ts). */
  REDIS_URL: redisUrlVar(),
  /** Where start-up looks for a local Redis when REDIS_URL is unset. */
  REDIS_PROBE_URL: stringVar('redis://127.0.0.1:6379', /^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL'),
  FLEET_MIN: intVar(1, 0, 64),
  FLEET_MAX: intVar(8, 1, 64),
  SPAWN_WRITES_PER_SEC: numberVar(50_000, 1, 1e9),
  REDISTRIBUTE_FRACTION: numberVar(0.04, 0.0001, 1),
  EVENT_LOOP_LAG_MS: numberVar(15, 1, 60_000),
  AUTH_SECRET: optionalStringVar(),
  ADMIN_TOKEN: optionalStringVar(),
  USER_SECRET: optionalStringVar(),
  READY_TIMEOUT_MS: intVar(10_000, 100),
  STOP_TIMEOUT_MS: intVar(10_000, 100),
  GONE_RETENTION_MS: intVar(30_000, 0),
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
