// The balancer's Redis connection type and its factory (every client gets an error listener).
import { createClient } from 'redis';
import type { Logger } from '../log.js';

export type RedisClient = ReturnType<typeof newClient>;

function newClient(url: string, connectTimeoutMs: number) {
  return createClient({ url, socket: { connectTimeout: connectTimeoutMs } });
}

/** Creates (not connects) a client that logs its errors instead of crashing the process. */
export function createRedisClient(url: string, log: Logger, connectTimeoutMs = 5000): RedisClient {
  const client = newClient(url, connectTimeoutMs);
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
