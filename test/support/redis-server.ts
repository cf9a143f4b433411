// Starts a private redis-server on a free loopback port for one test file, and stops it.
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

/** A key prefix no other test uses. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}:`;
}
