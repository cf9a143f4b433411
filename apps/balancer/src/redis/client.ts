// The balancer's Redis link and its factory (every link gets an error listener).
import { RedisLink } from '@chatfleet/redis';
import type { Logger } from '../log.js';

export type RedisClient = RedisLink;

/** Creates (not connects) a link for any REDIS_URL form that logs its errors instead of crashing the process. */
export function createRedisClient(url: string, log: Logger, connectTimeoutMs = 5000): RedisClient {
  const client = new RedisLink(url, { connectTimeoutMs, sentinelScanIntervalMs: 1000 });
  // During an outage every reconnect attempt fails with an error: log one every 5 s, with how many there were.
  let loggedAt = 0;
  let unlogged = 0;
  client.on('error', (error: unknown) => {
    const now = Date.now();
    if (now - loggedAt < 5000) {
      unlogged++;
      return;
    }
    log.warn({ err: error, suppressed: unlogged }, 'redis client error');
    loggedAt = now;
    unlogged = 0;
  });
  return client;
}
