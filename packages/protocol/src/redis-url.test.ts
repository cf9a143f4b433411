import { describe, expect, it } from 'vitest';
import { parseRedisUrl, redactUrl, RedisUrlError } from './redis-url.js';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', { mode: 'single', url: 'redis://127.0.0.1:6379' }],
    ['rediss://user:pw@example.com:6380/2', { mode: 'single', url: 'rediss://user:pw@example.com:6380/2' }],
    [
      'redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster',
      {
        mode: 'sentinel',
        name: 'mymaster',
        sentinels: [
          { host: '127.0.0.1', port: 26379 },
          { host: '127.0.0.1', port: 26380 },
        ],
        username: undefined,
        password: undefined,
        tls: false,
      },
    ],
    [
      'redis+sentinel://:s%40cret@sentinel.local:26379/chat%2Dmaster',
      { mode: 'sentinel', name: 'chat-master', sentinels: [{ host: 'sentinel.local', port: 26379 }], username: undefined, password: 's@cret', tls: false },
    ],
    [
      'redis+cluster://app:pw@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002',
      {
        mode: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
          { host: '::1', port: 7002 },
        ],
        username: 'app',
        password: 'pw',
        tls: false,
      },
    ],
    ['rediss+cluster://10.0.0.1:7000', { mode: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }], username: undefined, password: undefined, tls: true }],
  ])('reads %s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ['http://x', /must be one of/],
    ['localhost:6379', /must be one of/],
    ['redis://', /no host/],
    ['redis+sentinel://127.0.0.1:26379', /ends with \/<master name>/],
    ['redis+sentinel://127.0.0.1:26379/', /ends with \/<master name>/],
    ['redis+cluster://127.0.0.1', /host:port/],
    ['redis+cluster://127.0.0.1:0', /host:port/],
    ['redis+cluster://127.0.0.1:7000/db', /no path/],
    ['redis+cluster://a:7000,,b:7001', /host:port/],
  ])('refuses %s, saying why', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://:secret@host:6379', 'redis://:***@host:6379'],
    ['redis+cluster://app:pw@a:1,b:2', 'redis+cluster://app:***@a:1,b:2'],
    ['rediss://token@host:6379', 'rediss://***@host:6379'],
  ])('hides the password in %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
