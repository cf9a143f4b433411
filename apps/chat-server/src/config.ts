// The chat server's settings: a zod schema over the environment, parsed once at start (SPEC section 5, team brief).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ID_PATTERN } from '@chatfleet/protocol';
import {
  chatServerSettings,
  intVar,
  logFormatVar,
  optionalStringVar,
  parseEnv,
  PREFIX_PATTERN,
  redisUrlVar,
  stringVar,
  type LogFormat,
} from '@chatfleet/protocol/env';
import { defaultMaxConnections, readFileLimit } from './file-limit.js';

const HOST_PATTERN = /^[A-Za-z0-9.:_[\]-]{1,255}$/;

const shape = {
  PORT: intVar(0, 0, 65535),
  HOST: stringVar('127.0.0.1', HOST_PATTERN, 'a host name or IP address'),
  PUBLIC_HOST: optionalStringVar(HOST_PATTERN, 'a host name or IP address'),
  REDIS_URL: redisUrlVar(),
  SERVER_ID: optionalStringVar(ID_PATTERN, 'an id matching ^[A-Za-z0-9._:-]{1,64}$'),
  /** The host this server runs on, as its balancer names it (SPEC section 5); default the machine's hostname. */
  HOST_ID: optionalStringVar(ID_PATTERN, 'an id matching ^[A-Za-z0-9._:-]{1,64}$'),
  /** The balancer that forked this server (set by it); the server watches it when its IPC channel closes. */
  BALANCER_ID: optionalStringVar(ID_PATTERN, 'an id matching ^[A-Za-z0-9._:-]{1,64}$'),
  ...chatServerSettings,
  AUTH_SECRET: optionalStringVar(),
  LOG_FORMAT: logFormatVar(),
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
  /** Most frames one message may come in; the next one closes the connection with 1008. */
  maxFragments: number;
  /** How long a connection has to send a complete upgrade (or HTTP) request before it is cut, ms. */
  upgradeTimeoutMs: number;
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
  /** Replicas that must confirm a message (WAIT) before it is acked; 0 = acked once Redis took it. */
  durableAcks: number;
  /** How long a message's WAIT may take before it is refused as unconfirmed, ms. */
  durableWaitMs: number;
  /** Redirects sent to one target per second (moves and drains), spread with jitter. */
  redirectRatePerSec: number;
  /** How long a command's ack stays in Redis, ms. */
  commandAckTtlMs: number;
  /** How often the bus canary publishes its probe, ms. */
  busProbeIntervalMs: number;
  /** A probe not back within this means a deaf subscriber, ms. */
  busProbeTimeoutMs: number;
  logLevel: string;
  /** `pretty` or `json`; undefined: pretty on a terminal, else json (a balancer's children always get json). */
  logFormat: LogFormat | undefined;
  /** True when a balancer forked this process (IPC parent); written as `managed` in the server hash. */
  managed: boolean;
  /** HOST_ID: the host this server belongs to (written as `hostId` in its hash). */
  hostId: string;
  /** The balancer that forked it, when one did; later owners are read from the hash's `owner`. */
  balancerId: string | undefined;
  /** How long a managed server without a live balancer keeps serving before it drains and exits, ms. */
  orphanTimeoutMs: number;
  /** MAX_CONNECTIONS: client connections held at most; past it upgrades get 503 and the server reports itself full. */
  maxConnections: number;
  /** The process's soft open-file limit, as read at start (the cap's default and the accept guard come from it). */
  fileLimit: number;
  /** QUIET_GC_CHURN: connects and closes after which a quiet server runs one full collection (0: never). */
  quietGcChurn: number;
}

/**
 * Parses the chat server's settings from `env`. Throws a ConfigError naming
 * the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>, options: { managed?: boolean } = {}): ChatServerConfig {
  const raw = parseEnv(shape, env);
  const host = raw.HOST;
  const files = readFileLimit().soft;
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
    maxFragments: raw.MAX_FRAGMENTS,
    upgradeTimeoutMs: raw.UPGRADE_TIMEOUT_MS,
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
    durableAcks: raw.DURABLE_ACKS,
    durableWaitMs: raw.DURABLE_WAIT_MS,
    redirectRatePerSec: raw.REDIRECT_RATE_PER_SEC,
    commandAckTtlMs: raw.COMMAND_ACK_TTL_MS,
    busProbeIntervalMs: raw.BUS_PROBE_INTERVAL_MS,
    busProbeTimeoutMs: raw.BUS_PROBE_TIMEOUT_MS,
    logLevel: raw.LOG_LEVEL,
    logFormat: raw.LOG_FORMAT,
    managed: options.managed ?? false,
    hostId: raw.HOST_ID ?? safeHostname(),
    balancerId: raw.BALANCER_ID,
    orphanTimeoutMs: raw.ORPHAN_TIMEOUT_MS,
    maxConnections: raw.MAX_CONNECTIONS === 0 ? defaultMaxConnections(files) : raw.MAX_CONNECTIONS,
    quietGcChurn: raw.QUIET_GC_CHURN,
    fileLimit: files,
  };
}

/** Defaults with overrides: what tests and embedders use instead of an environment. */
export function chatServerConfig(overrides: Partial<ChatServerConfig> = {}): ChatServerConfig {
  return { ...loadConfig({}), authSecretGenerated: false, ...overrides };
}

/** The machine's hostname as an id (characters outside the id alphabet become '-'). */
export function safeHostname(): string {
  return hostname().replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64) || 'localhost';
}
