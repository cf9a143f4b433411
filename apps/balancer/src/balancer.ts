// Starts and stops one balancer: Redis client, fleet, metrics reader, HTTP server. What main.ts and the tests call.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redisKeys, type RedisKeys } from '@chatfleet/protocol';
import type { Response } from 'express';
import { chatServerEntry, type BalancerConfig } from './config.js';
import { Fleet } from './fleet/fleet.js';
import { createApp } from './http/app.js';
import { createPromMetrics } from './http/prometheus.js';
import { MetricsReader } from './load/metrics-reader.js';
import { createLogger, type Logger } from './log.js';
import { createRedisClient, type RedisClient } from './redis/client.js';

export interface BalancerDeps {
  /** The Redis to use (main.ts resolves it); default REDIS_URL, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  log?: Logger;
  /** Environment children start from (PATH and the like); main.ts passes process.env. */
  baseEnv?: Record<string, string | undefined>;
  /** Receives each JSON log line of a child; default: written to stdout. */
  relay?: (line: string) => void;
}

export interface Balancer {
  /** `http://host:port` the HTTP API listens on. */
  url: string;
  port: number;
  fleet: Fleet;
  reader: MetricsReader;
  keys: RedisKeys;
  /**
   * Stops provisioning, stops every child (SIGTERM, then SIGKILL), removes
   * their keys and, when no other live server shares this fleet's Redis, every
   * fleet key; closes HTTP and Redis. Idempotent.
   */
  stop(): Promise<void>;
  /** Last resort on a second Ctrl-C: SIGKILL every child now. */
  killChildren(): void;
}

/** Starts a balancer; resolves once HTTP listens (children are still starting). */
export async function startBalancer(config: BalancerConfig, deps: BalancerDeps = {}): Promise<Balancer> {
  const log = deps.log ?? createLogger(config.LOG_LEVEL);
  const redisUrl = deps.redisUrl ?? config.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let authSecret = config.AUTH_SECRET;
  if (authSecret === undefined) {
    authSecret = randomBytes(32).toString('base64url');
    log.warn('AUTH_SECRET is not set: using a random one, so only this balancer\'s own children accept its tickets');
  }
  const redis = createRedisClient(redisUrl, log, config.REDIS_CONNECT_TIMEOUT_MS);
  await redis.connect();
  const keys = redisKeys(config.REDIS_PREFIX);

  let fleet: Fleet | undefined;
  const reader = new MetricsReader(redis, keys, {
    intervalMs: config.METRICS_INTERVAL_MS,
    log,
    knownIds: () => fleet?.liveIds() ?? [],
    onReading: (reading) => {
      fleet?.onReading(reading).catch((error: unknown) => log.error({ err: error }, 'fleet update failed'));
    },
  });
  fleet = new Fleet({
    config,
    redis,
    keys,
    log,
    metrics: reader,
    entry: chatServerEntry(config),
    baseEnv: deps.baseEnv ?? {},
    redisUrl,
    authSecret,
    relay: deps.relay ?? ((line) => process.stdout.write(`${line}\n`)),
  });
  const streams = new Set<Response>();
  let stopping = false;
  const prom = createPromMetrics(fleet, reader);
  const app = createApp({
    config,
    fleet,
    reader,
    redis,
    keys,
    authSecret,
    log,
    prom,
    streams,
    isStopping: () => stopping,
  });

  const server = createServer(app);
  try {
    await listen(server, config.PORT, config.HOST);
  } catch (error) {
    await redis.close().catch(() => undefined);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  reader.start();
  fleet.start();

  const owned = fleet;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      log.info('stopping: draining every chat server');
      await reader.stop();
      await owned.stop();
      try {
        if (await otherLiveServers(redis, keys, owned, config.HEARTBEAT_TIMEOUT_MS)) {
          log.info('other live servers share this Redis; leaving the fleet keys in place');
        } else {
          const removed = await deleteFleetKeys(redis, keys);
          log.info({ removed }, 'removed the fleet keys');
        }
      } catch (error) {
        log.warn({ err: error }, 'could not clean the fleet keys');
      }
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await redis.close().catch(() => undefined);
      log.info('stopped');
    })();
    return stopped;
  };
  const killChildren = () => {
    for (const record of owned.list()) record.child?.signal('SIGKILL');
  };
  log.info({ url, prefix: config.REDIS_PREFIX }, `balancer listening on ${url}`);
  return { url, port, fleet: owned, reader, keys, stop, killChildren };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** True when a server that is not one of ours still has a fresh heartbeat in this fleet's Redis. */
async function otherLiveServers(redis: RedisClient, keys: RedisKeys, fleet: Fleet, timeoutMs: number): Promise<boolean> {
  const ours = new Set(fleet.list().filter((r) => r.managed).map((r) => r.id));
  const ids = (await redis.zRange(keys.serversClients, 0, -1)).filter((id) => !ours.has(id));
  const now = Date.now();
  for (const id of ids) {
    let heartbeat: string | null | undefined;
    try {
      heartbeat = await redis.hGet(keys.server(id), 'heartbeat');
    } catch {
      continue; // an id that is not a valid key name is not a live server
    }
    if (heartbeat !== null && heartbeat !== undefined && now - Number(heartbeat) <= timeoutMs) return true;
  }
  return false;
}

/** Deletes every key of this fleet with SCAN over its patterns (never FLUSH: the Redis may be shared). */
async function deleteFleetKeys(redis: RedisClient, keys: RedisKeys): Promise<number> {
  let removed = 0;
  for (const pattern of keys.fleetKeyPatterns) {
    for await (const batch of redis.scanIterator({ MATCH: pattern, COUNT: 500 })) {
      if (batch.length > 0) removed += await redis.unlink(batch);
    }
  }
  return removed;
}
