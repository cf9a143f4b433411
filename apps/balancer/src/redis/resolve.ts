// Finds the Redis to use at start-up: REDIS_URL, else a local one on 6379, else a private redis-server child.
import { startRedisServer } from '@chatfleet/redis-server';
import { RedisLink } from '@chatfleet/redis';
import { redactUrl } from '@chatfleet/protocol/redis-url';

export { redactUrl };
import type { BalancerConfig } from '../config.js';
import type { Logger } from '../log.js';

/** The Redis the fleet uses, and how to let go of it. */
export interface ResolvedRedis {
  url: string;
  source: 'REDIS_URL' | 'local' | 'private';
  /** Stops the private redis-server, if one was started. Idempotent. */
  stop(): Promise<void>;
}

/** No usable Redis: main.ts prints the message and exits 2. */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/** The one paragraph shown when no Redis is reachable and redis-server is not installed. */
export const INSTALL_REDIS_HELP =
  'chatfleet needs Redis, but REDIS_URL is not set, nothing answers at {probe}, and the `redis-server` program ' +
  'was not found on PATH to start a private one. Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
  'macOS: `brew install redis`; or run `docker run -p 6379:6379 redis:7`) and start again, or point the balancer at ' +
  'a running Redis with REDIS_URL=redis://host:6379.';

/** True when `url` (any REDIS_URL form) answers PING within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new RedisLink(url, { connectTimeoutMs: timeoutMs, reconnectDelay: () => 100 });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    await Promise.race([
      (async () => {
        await client.connect();
        await client.commands.ping();
      })(),
      deadline,
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      client.destroy();
    } catch {
      // not connected: nothing to close
    }
  }
}

/** Resolves the fleet's Redis as SPEC section 1 says; throws RedisUnavailableError when there is none. */
export async function resolveRedis(config: BalancerConfig, log: Logger, redisServerBin = 'redis-server'): Promise<ResolvedRedis> {
  const none = async () => undefined;
  if (config.REDIS_URL !== undefined) {
    if (!(await redisAnswers(config.REDIS_URL, config.REDIS_CONNECT_TIMEOUT_MS))) {
      throw new RedisUnavailableError(
        `REDIS_URL ${redactUrl(config.REDIS_URL)} did not answer within ${config.REDIS_CONNECT_TIMEOUT_MS} ms; start that Redis or fix REDIS_URL.`,
      );
    }
    return { url: config.REDIS_URL, source: 'REDIS_URL', stop: none };
  }
  if (await redisAnswers(config.REDIS_PROBE_URL, 1000)) {
    log.info({ redis: redactUrl(config.REDIS_PROBE_URL) }, 'using the local Redis');
    return { url: config.REDIS_PROBE_URL, source: 'local', stop: none };
  }
  return startPrivateRedis(config, log, redisServerBin);
}

/**
 * Starts a private redis-server in its own process group (detached) so that
 * Ctrl-C, which signals the whole foreground group, does not kill it before
 * the balancer has removed the fleet's keys; the balancer stops it last.
 */
async function startPrivateRedis(config: BalancerConfig, log: Logger, bin: string): Promise<ResolvedRedis> {
  try {
    const server = await startRedisServer({ bin, detached: true });
    log.info({ port: server.port, pid: server.pid }, 'started a private redis-server');
    return { url: server.url, source: 'private', stop: server.stop };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RedisUnavailableError(INSTALL_REDIS_HELP.replace('{probe}', redactUrl(config.REDIS_PROBE_URL)));
    }
    throw new RedisUnavailableError(`could not start a private redis-server: ${(error as Error).message}`);
  }
}
