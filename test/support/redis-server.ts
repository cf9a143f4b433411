// Starts a private redis-server on a free loopback port for one test file, and stops it.
import { createClient } from 'redis';
import { freePort, startRedisServer, type RedisServer } from '@chatfleet/redis-server';

export { freePort };

/** A test's own Redis; `stop()` is idempotent. */
export type TestRedis = RedisServer;

/** Starts `redis-server` on a free port with nothing kept on disk. */
export function startTestRedis(extraArgs: string[] = []): Promise<TestRedis> {
  return startRedisServer({ args: extraArgs });
}

/**
 * Starts a new, empty redis-server on `port`, e.g. where a stopped one was: as
 * a Redis without persistence comes back after a crash, its reconnecting
 * clients find none of the keys they wrote before.
 */
export function startTestRedisOnPort(port: number, extraArgs: string[] = []): Promise<TestRedis> {
  return startRedisServer({ port, args: extraArgs });
}

/** Connects a plain node-redis client to `redis`, for reading and writing keys directly (its errors ignored: tests stop Redis under it on purpose). */
export async function adminClient(redis: TestRedis) {
  const admin = createClient({ url: redis.url });
  admin.on('error', () => undefined);
  await admin.connect();
  return admin;
}

/** A key prefix no other test uses. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}:`;
}

/** What `adminClient` returns. */
export type AdminClient = Awaited<ReturnType<typeof adminClient>>;
