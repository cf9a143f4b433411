// The balancer's settings: one zod schema over the environment, parsed once in main.ts and passed down.
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  chatServerSettings,
  ConfigError,
  PREFIX_PATTERN,
  intVar,
  logFormatVar,
  numberVar,
  optionalStringVar,
  parseEnv,
  redisUrlVar,
  stringVar,
} from '@chatfleet/protocol/env';

const HOST_PATTERN = /^[A-Za-z0-9.:_[\]-]{1,255}$/;
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** The machine's hostname as an id (characters outside the id alphabet become '-'). */
function defaultHostId(): string {
  return hostname().replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64) || 'localhost';
}

/** `<repo>/dashboard/dist`, found from this file (dist/config.js or src/config.ts). */
const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));
/** `<repo>/packages/client/dist`, where the client's browser bundle is built. */
const DEFAULT_CLIENT_DIR = fileURLToPath(new URL('../../../packages/client/dist', import.meta.url));
/** `<repo>/demo/chat`, the demo chat page (plain files, no build). */
const DEFAULT_CHAT_PAGE_DIR = fileURLToPath(new URL('../../../demo/chat', import.meta.url));

/** Every balancer variable, its default and what it accepts (SPEC section 5 and the team brief). */
/** Node flags: `--name` or `--name=value`, separated by spaces (nothing a shell would read). */
const NODE_FLAGS_PATTERN = /^\s*--[A-Za-z0-9][A-Za-z0-9_-]*(=[A-Za-z0-9_.,:\/+-]+)?(\s+--[A-Za-z0-9][A-Za-z0-9_-]*(=[A-Za-z0-9_.,:\/+-]+)?)*\s*$/;

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
  /**
   * The host this balancer and its children belong to (SPEC section 5): a balancer spawns and
   * stops the chat servers of its own host only, and adopts the orphans of its host.
   */
  HOST_ID: stringVar(defaultHostId(), ID_PATTERN, 'an id matching ^[A-Za-z0-9._:-]{1,64}$'),
  /**
   * The leader lease's time (extension): the longest the fleet goes without a leader after the
   * leader dies. Renewed every METRICS_INTERVAL_MS, so it must be well above it.
   */
  LEASE_MS: intVar(5000, 100, 600_000),
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
  /** An unconfirmed command to a chat server is sent again after this, ms (extension; commands/command-sender.ts). */
  COMMAND_RESEND_MS: intVar(1000, 10, 600_000),
  /** Sends of one command at most before the balancer gives up on it, with an event (extension). */
  COMMAND_MAX_TRIES: intVar(5, 1, 100),
  /** A host needs this many idle cores to take one more chat server (extension; load/host-load.ts). */
  SPAWN_MIN_SPARE_CORES: numberVar(0.5, 0, 1024),
  /** The host's CPU figures cover this much time, ms (extension; load/host-probe.ts). */
  HOST_SAMPLE_WINDOW_MS: intVar(3000, 100, 600_000),
  /** Members the placement planner moves per plan at most, fleet-wide (extension; load/placement.ts). */
  PLACEMENT_MAX_MOVES: intVar(200, 1, 1_000_000),
  /** Split rooms are brought together only once the busiest server is at this share of SPAWN_WRITES_PER_SEC (extension; 0: always). */
  PLACEMENT_CONSOLIDATE_FLOOR: numberVar(0.5, 0, 1),
  DASHBOARD_DIR: stringVar(DEFAULT_DASHBOARD_DIR),
  /** Folder holding chatfleet.js (served at /client/chatfleet.js) and its .d.ts and source map. */
  CLIENT_DIR: stringVar(DEFAULT_CLIENT_DIR),
  /** Folder of the demo chat page served at /chat/. */
  CHAT_PAGE_DIR: stringVar(DEFAULT_CHAT_PAGE_DIR),
  /** `pretty` or `json`; unset: pretty when stdout is a terminal, else json. */
  LOG_FORMAT: logFormatVar(),
  /** The chat server's entry file; default apps/chat-server/dist/main.js next to this app. */
  CHAT_SERVER_ENTRY: optionalStringVar(),
  /**
   * Node flags for the chat servers this balancer starts, space-separated
   * (e.g. `--max-semi-space-size=1`); unset: none (extension).
   */
  CHAT_SERVER_NODE_FLAGS: optionalStringVar(NODE_FLAGS_PATTERN, 'Node flags separated by spaces, each like --name or --name=value'),
};

/** The flags of CHAT_SERVER_NODE_FLAGS, one array item each. */
export function chatServerNodeFlags(config: BalancerConfig): string[] {
  return config.CHAT_SERVER_NODE_FLAGS?.trim().split(/\s+/) ?? [];
}

export type BalancerConfig = z.infer<z.ZodObject<typeof balancerConfigShape>>;

/** Parses the environment; throws ConfigError naming the first bad variable. */
export function parseBalancerConfig(env: Record<string, string | undefined>): BalancerConfig {
  const config = parseEnv(balancerConfigShape, env);
  if (config.FLEET_MIN > config.FLEET_MAX) {
    throw new ConfigError('FLEET_MIN', `FLEET_MIN must not exceed FLEET_MAX (${config.FLEET_MIN} > ${config.FLEET_MAX})`);
  }
  if (config.LEASE_MS <= 2 * config.METRICS_INTERVAL_MS) {
    throw new ConfigError('LEASE_MS', `LEASE_MS must be more than twice METRICS_INTERVAL_MS, how often the leader renews it (${config.LEASE_MS} <= 2 x ${config.METRICS_INTERVAL_MS})`);
  }
  return config;
}

/** The chat server entry the balancer forks: the setting, else the sibling app's build. */
export function chatServerEntry(config: BalancerConfig): string {
  return config.CHAT_SERVER_ENTRY ?? fileURLToPath(new URL('../../chat-server/dist/main.js', import.meta.url));
}
