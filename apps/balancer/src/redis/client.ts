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
  client.on('error', (error: unknown) => log.warn({ err: error }, 'redis client error'));
  return client;
}
