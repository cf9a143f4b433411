import { describe, expect, it } from 'vitest';
import { redisKeys } from './keys.js';

describe('redisKeys', () => {
  it('builds the SPEC layout without a prefix', () => {
    const keys = redisKeys();
    expect([
      keys.serversClients,
      keys.serversCumulativeSocketWrites,
      keys.serversEventLoop,
      keys.serversFanout,
      keys.roomsClients,
      keys.roomsCumulativeMessages,
      keys.roomsCumulativeSocketWrites,
      keys.server('s1'),
      keys.serverCommands('s1'),
      keys.room('lobby'),
      keys.user('alice'),
      keys.history('lobby'),
    ]).toEqual([
      'servers:clients',
      'servers:cumulative-socket-writes',
      'servers:event-loop',
      'servers:fanout',
      'chat-rooms:clients',
      'chat-rooms:cumulative-messages',
      'chat-rooms:cumulative-socket-writes',
      'server:s1',
      'server:s1:commands',
      'room:lobby',
      'user:alice',
      'history:lobby',
    ]);
  });

  it('puts the prefix before every key and channel', () => {
    const keys = redisKeys('fleetA:');
    expect(keys.server('s1')).toBe('fleetA:server:s1');
    expect(keys.room('r')).toBe('fleetA:room:r');
    expect(keys.fleetKeyPatterns.every((pattern) => pattern.startsWith('fleetA:'))).toBe(true);
  });

  it('refuses ids that would break the layout', () => {
    const keys = redisKeys();
    expect(() => keys.room('a b')).toThrow(/invalid room id/);
    expect(() => keys.server('')).toThrow(/invalid server id/);
  });
});
