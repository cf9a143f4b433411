import { describe, expect, it } from 'vitest';
import { ConfigError } from '@chatfleet/protocol/env';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ AUTH_SECRET: 's' });
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      publicHost: '127.0.0.1',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: '',
      tokenTtlS: 60,
      maxPayload: 65_536,
      maxFragments: 1024,
      upgradeTimeoutMs: 10_000,
      rateLimit: 20,
      slowConsumerBytes: 4_194_304,
      historyLimit: 1000,
      metricsIntervalMs: 1000,
      pingIntervalMs: 30_000,
      drainTimeoutMs: 10_000,
      redirectGraceMs: 5000,
      allowedOrigins: undefined,
      heartbeatTimeoutMs: 3000,
      authSecretGenerated: false,
      managed: false,
    });
    expect(config.serverId).toMatch(/^srv-[0-9a-f]{6}$/);
  });

  it('makes a random AUTH_SECRET when unset and says so', () => {
    const config = loadConfig({});
    expect(config.authSecretGenerated).toBe(true);
    expect(config.authSecret).toHaveLength(64);
  });

  it('splits ALLOWED_ORIGINS and takes PUBLIC_HOST over HOST', () => {
    const config = loadConfig({ ALLOWED_ORIGINS: 'https://a.example,http://b.example:8080', HOST: '0.0.0.0', PUBLIC_HOST: 'chat.example' });
    expect(config.allowedOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
    expect(config.publicHost).toBe('chat.example');
  });

  it.each([
    ['PORT', '70000'],
    ['RATE_LIMIT', 'lots'],
    ['SERVER_ID', 'bad id'],
    ['REDIS_URL', 'http://x'],
    ['LOG_LEVEL', 'loud'],
    ['MAX_PAYLOAD', '10'],
    ['MAX_FRAGMENTS', '0'],
    ['UPGRADE_TIMEOUT_MS', '5'],
  ])('rejects %s=%s naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(variable);
  });
});
