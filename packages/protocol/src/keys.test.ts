import { describe, expect, it } from 'vitest';
import { presenceField, presenceMembers, presenceUser, redisKeys, taggedId } from './keys.js';

describe('redisKeys', () => {
  it('builds the documented layout without a prefix (docs/redis.md)', () => {
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
      keys.serverRooms('s1'),
      keys.serverUsers('s1'),
      keys.serverCommands('s1'),
      keys.commandAck('s1', 'c-1'),
      keys.busProbe('s1', ''),
      keys.busProbe('s1', 'ab-3'),
      keys.room('lobby'),
      keys.history('lobby'),
      keys.presence('lobby'),
      keys.user('alice'),
      keys.online('alice'),
      keys.directs('alice'),
      keys.directsOffline('alice'),
      keys.balancer('b-1'),
      keys.balancerCommands('b-1'),
      keys.balancers,
      keys.leaderLease,
      keys.leaderToken,
    ]).toEqual([
      'servers:clients',
      'servers:cumulative-socket-writes',
      'servers:event-loop',
      'servers:fanout',
      'chat-rooms:clients',
      'chat-rooms:cumulative-messages',
      'chat-rooms:cumulative-socket-writes',
      'server:{s1}',
      'server:{s1}:rooms',
      'server:{s1}:users',
      'server:{s1}:commands',
      'server:{s1}:ack:c-1',
      'bus-probe:{s1}',
      'bus-probe:{ab-3}:s1',
      'room:{lobby}',
      'history:{lobby}',
      'presence:{lobby}',
      'user:{alice}',
      'online:{alice}',
      'directs:{alice}',
      'directs:{alice}:offline',
      'balancer:{b-1}',
      'balancer:{b-1}:commands',
      'balancer:{fleet}:members',
      'balancer:{fleet}:leader',
      'balancer:{fleet}:token',
    ]);
  });

  it('puts the prefix before every key and channel, outside the hash tag', () => {
    const keys = redisKeys('fleetA:');
    expect(keys.server('s1')).toBe('fleetA:server:{s1}');
    expect(keys.room('r')).toBe('fleetA:room:{r}');
    expect(keys.fleetKeyPatterns.every((pattern) => pattern.startsWith('fleetA:'))).toBe(true);
    expect(keys.fleetKeyPatterns).toContain('fleetA:balancer:*');
    expect(keys.leaderLease).toBe('fleetA:balancer:{fleet}:leader');
  });

  it('keeps everything of one room, one user and one server under one hash tag', () => {
    const keys = redisKeys('p:');
    expect(new Set([keys.history('r'), keys.presence('r'), keys.room('r')].map(taggedId))).toEqual(new Set(['r']));
    expect(new Set([keys.online('u'), keys.directs('u'), keys.directsOffline('u'), keys.user('u')].map(taggedId))).toEqual(new Set(['u']));
    expect(new Set([keys.server('s'), keys.serverRooms('s'), keys.serverUsers('s'), keys.serverCommands('s'), keys.commandAck('s', 'c')].map(taggedId))).toEqual(
      new Set(['s']),
    );
  });

  it('lets no id forge another key, though ids may contain ":"', () => {
    const keys = redisKeys();
    expect(keys.server('a:rooms')).not.toBe(keys.serverRooms('a'));
    expect(keys.server('a:commands')).not.toBe(keys.serverCommands('a'));
    expect(keys.directs('u:offline')).not.toBe(keys.directsOffline('u'));
    expect(taggedId(keys.serverRooms('a:b'))).toBe('a:b');
  });

  it('refuses ids that would break the layout', () => {
    const keys = redisKeys();
    expect(() => keys.room('a b')).toThrow(/invalid room id/);
    expect(() => keys.room('a}b')).toThrow(/invalid room id/);
    expect(() => keys.server('')).toThrow(/invalid server id/);
    expect(() => keys.commandAck('s', 'c}1')).toThrow(/invalid command id/);
  });
});

describe('presence fields', () => {
  it.each([
    ['alice', 'srv-1'],
    ['a.b:c-d', 'srv:9'],
  ])('builds and splits the field of user %s on server %s', (user, server) => {
    expect(presenceUser(presenceField(server, user))).toBe(user);
  });

  it('lists each member once however many servers hold it', () => {
    expect(presenceMembers([presenceField('s1', 'amy'), presenceField('s2', 'amy'), presenceField('s1', 'ben')])).toEqual(['amy', 'ben']);
  });
});
