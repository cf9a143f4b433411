// The chat server's settings: a zod schema over the environment, parsed once at start (SPEC section 5, team brief).
import { randomBytes } from 'node:crypto';
import { ID_PATTERN } from '@chatfleet/protocol';
import {
  chatServerSettings,
  intVar,
  optionalStringVar,
  parseEnv,
  PREFIX_PATTERN,
  redisUrlVar,
  stringVar,
} from '@chatfleet/protocol/env';

const HOST_PATTERN = /^[A-Za-z0-9.:_[\]-]{1,255}$/;

const shape = {
  PORT: intVar(0, 0, 65535),
  HOST: stringVar('127.0.0.1', HOST_PATTERN, 'a host name or IP address'),
  PUBLIC_HOST: optionalStringVar(HOST_PATTERN, 'a host name or IP address'),
  REDIS_URL: redisUrlVar(),
  SERVER_ID: optionalStringVar(ID_PATTERN, 'an id matching ^[A-Za-z0-9._:-]{1,64}$'),
  ...chatServerSettings,
  AUTH_SECRET: optionalStringVar(),
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
