// The chat server's settings: a zod schema over the environment, parsed once at start (SPEC section 5, team brief).
import { randomBytes } from 'node:crypto';
import { ID_PATTERN } from '@chatfleet/protocol';
import {
  intVar,
  optionalStringVar,
  parseEnv,
  PREFIX_PATTERN,
  redisUrlVar,
  stringVar,
} from '@chatfleet/protocol/env';

const LOG_LEVEL_PATTERN = /^(fatal|error|warn|info|debug|trace|silent)$/;
const HOST_PATTERN = /^[A-Za-z0-9.:_[\]-]{1,255}$/;
const ORIGINS_PATTERN = /^[^\s,]+(,[^\s,]+)*$/;

const shape = {
  PORT: intVar(0, 0, 65535),
  HOST: stringVar('127.0.0.1', HOST_PATTERN, 'a host name or IP address'),
  PUBLIC_HOST: optionalStringVar(HOST_PATTERN, 'a host name or IP address'),
  REDIS_URL: redisUrlVar(),
  REDIS_PREFIX: stringVar('', PREFIX_PATTERN, 'letters, digits and ._:- (up to 64)'),
  SERVER_ID: optionalStringVar(ID_PATTERN, 'an id matching ^[A-Za-z0-9._:-]{1,64}$'),
  AUTH_SECRET: optionalStringVar(),
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

/** Everything the chat server reads from its environment, validated. */
export interface ChatServerConfig {
  port: number;
  host: string;
  /** Host put into the server's websocket URL. */
  publicHost: string;
  redisUrl: string;
  redisPrefix: string;
  serverId: string;
  authSecret: string;
  /** True when AUTH_SECRET was unset and a random one was made (tickets from elsewhere will not verify). */
  authSecretGenerated: boolean;
  tokenTtlS: number;
  maxPayload: number;
  /** Frames per second per connection; bursts of twice that are allowed. */
  rateLimit: number;
  slowConsumerBytes: number;
  historyLimit: number;
  metricsIntervalMs: number;
  pingIntervalMs: number;
  drainTimeoutMs: number;
  redirectGraceMs: number;
  /** Allowed Origin headers; undefined = any. */
  allowedOrigins: readonly string[] | undefined;
  heartbeatTimeoutMs: number;
  /** Deadline for the first Redis connection at start-up. */
  redisConnectTimeoutMs: number;
  /**
   * How long a socket's writes are held to go out together: 0 = until the end
   * of the current event-loop turn; more trades latency for fewer system calls.
   */
  writeBatchMs: number;
  /**
   * Chat publishes waiting for Redis at most; past it a chat is refused with
   * `rate_limited` instead of queued, so a server that outruns its Redis
   * connection never builds a queue that node-redis times out 5 s later.
   * The default is about a second of what one server can fan out: enough to
   * ride out a stall of the event loop, far from that timeout.
   */
  publishQueueLimit: number;
  logLevel: string;
  /** True when a balancer forked this process (IPC parent); written as `managed` in the server hash. */
  managed: boolean;
}

/**
 * Parses the chat server's settings from `env`. Throws a ConfigError naming
 * the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>, options: { managed?: boolean } = {}): ChatServerConfig {
  const raw = parseEnv(shape, env);
  const host = raw.HOST;
  return {
    port: raw.PORT,
    host,
    publicHost: raw.PUBLIC_HOST ?? host,
    redisUrl: raw.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: raw.REDIS_PREFIX,
    serverId: raw.SERVER_ID ?? `srv-${randomBytes(3).toString('hex')}`,
    authSecret: raw.AUTH_SECRET ?? randomBytes(32).toString('hex'),
    authSecretGenerated: raw.AUTH_SECRET === undefined,
    tokenTtlS: raw.TOKEN_TTL_S,
    maxPayload: raw.MAX_PAYLOAD,
    rateLimit: raw.RATE_LIMIT,
    slowConsumerBytes: raw.SLOW_CONSUMER_BYTES,
    historyLimit: raw.HISTORY_LIMIT,
    metricsIntervalMs: raw.METRICS_INTERVAL_MS,
    pingIntervalMs: raw.PING_INTERVAL_MS,
    drainTimeoutMs: raw.DRAIN_TIMEOUT_MS,
    redirectGraceMs: raw.REDIRECT_GRACE_MS,
    allowedOrigins: raw.ALLOWED_ORIGINS?.split(','),
    heartbeatTimeoutMs: raw.HEARTBEAT_TIMEOUT_MS,
    redisConnectTimeoutMs: raw.REDIS_CONNECT_TIMEOUT_MS,
    writeBatchMs: raw.WRITE_BATCH_MS,
    publishQueueLimit: raw.PUBLISH_QUEUE_LIMIT,
    logLevel: raw.LOG_LEVEL,
    managed: options.managed ?? false,
  };
}

/** Defaults with overrides: what tests and embedders use instead of an environment. */
export function chatServerConfig(overrides: Partial<ChatServerConfig> = {}): ChatServerConfig {
  return { ...loadConfig({}), authSecretGenerated: false, ...overrides };
}
