// connect() fails fast and says why: a malformed balancer URL at once, a dead or silent balancer within startTimeoutMs, and a list that moves past a dead balancer.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, ChatClientError, connect } from '../src/index.js';
import { freePort } from '../../../test/support/redis-server.js';
import { StubFleet } from './support/stub-fleet.js';

/** Awaits a rejection and returns the error with the time it took. */
async function rejection(promise: Promise<unknown>): Promise<{ error: ChatClientError; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error: error as ChatClientError, ms: performance.now() - started };
  }
  throw new Error('expected a rejection');
}

let silent: Server;
let silentUrl: string;
const held: Socket[] = [];

beforeAll(async () => {
  // Accepts connections and never answers: a balancer that hangs.
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  silentUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('connect() failures', () => {
  it.each(['localhost:3000', 'ws://localhost:3000', '', 'http//localhost'])('rejects %j at once with invalid_url', async (balancer) => {
    const { error, ms } = await rejection(connect({ balancer }));
    expect(error).toBeInstanceOf(ChatClientError);
    expect(error.code).toBe('invalid_url');
    expect(ms).toBeLessThan(100);
  });

  it('throws invalid_url from the constructor, before anything is sent', () => {
    expect(() => new ChatClient({ balancer: ['http://localhost:3000', 'localhost:3001'] })).toThrow(/must start with http/);
  });

  it('rejects an unknown transport with invalid_argument', async () => {
    const { error } = await rejection(connect({ balancer: 'http://localhost:3000', transport: 'carrier-pigeon' as 'sse' }));
    expect(error.code).toBe('invalid_argument');
  });

  it('rejects with balancer_unreachable within startTimeoutMs when nothing listens', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = new ChatClient({ balancer: dead, startTimeoutMs: 800, backoff: { baseMs: 50, maxMs: 200 } });
    const attempts: string[] = [];
    client.on('error', (e) => attempts.push(e.code));
    const { error, ms } = await rejection(client.start());
    expect(error.code).toBe('balancer_unreachable');
    expect(error.message).toContain('within 800 ms');
    expect(ms).toBeLessThan(800 + 1_000);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(client.state).toBe('closed');
  });

  it('rejects with balancer_unreachable when the balancer accepts but never answers', async () => {
    const { error, ms } = await rejection(connect({ balancer: silentUrl, startTimeoutMs: 1_000, connectTimeoutMs: 300 }));
    expect(error.code).toBe('balancer_unreachable');
    expect(ms).toBeLessThan(1_000 + 1_000);
  });

  it('moves past a dead balancer to the next one in the list', async () => {
    const fleet = new StubFleet();
    await fleet.start(1);
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const client = await connect({ balancer: [dead, fleet.balancer], user: 'listed', startTimeoutMs: 5_000, backoff: { baseMs: 20, maxMs: 100 } });
      expect(client.balancer).toBe(fleet.balancer);
      expect(client.state).toBe('open');
      await client.close();
    } finally {
      await fleet.stop();
    }
  });
});
