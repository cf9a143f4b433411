// Tests of the balancer's settings: SPEC defaults and errors that name the variable.
import { ConfigError } from '@chatfleet/protocol/env';
import { describe, expect, it } from 'vitest';
import { chatServerEntry, chatServerNodeFlags, parseBalancerConfig } from './config.js';

describe('parseBalancerConfig', () => {
  it('applies the SPEC defaults', () => {
    const config = parseBalancerConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      FLEET_MIN: 1,
      FLEET_MAX: 8,
      SPAWN_WRITES_PER_SEC: 50_000,
      REDISTRIBUTE_FRACTION: 0.04,
      EVENT_LOOP_LAG_MS: 15,
      HEARTBEAT_TIMEOUT_MS: 3000,
      TOKEN_TTL_S: 60,
      REDIS_PREFIX: '',
      SCALE_DOWN_AFTER_MS: 30_000,
      LEASE_MS: 5000,
      ORPHAN_TIMEOUT_MS: 60_000,
    });
    expect(config.HOST_ID).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    expect(config.REDIS_URL).toBeUndefined();
    expect(chatServerEntry(config)).toMatch(/apps\/chat-server\/dist\/main\.js$/);
  });

  it.each([
    { env: { FLEET_MIN: 'abc' }, variable: 'FLEET_MIN' },
    { env: { PORT: '70000' }, variable: 'PORT' },
    { env: { REDIS_URL: 'http://x' }, variable: 'REDIS_URL' },
    { env: { REDIS_PREFIX: 'bad prefix' }, variable: 'REDIS_PREFIX' },
    { env: { FLEET_MIN: '5', FLEET_MAX: '2' }, variable: 'FLEET_MIN' },
    { env: { LOG_LEVEL: 'loud' }, variable: 'LOG_LEVEL' },
    { env: { LOG_FORMAT: 'fancy' }, variable: 'LOG_FORMAT' },
    { env: { SCALE_DOWN_AFTER_MS: '-1' }, variable: 'SCALE_DOWN_AFTER_MS' },
    { env: { SCALE_DOWN_AFTER_MS: '1.5' }, variable: 'SCALE_DOWN_AFTER_MS' },
    // Values only the chat servers use are checked by the balancer too, with the chat server's own
    // ranges: otherwise every child would exit 2 and be respawned forever.
    { env: { MAX_PAYLOAD: '20000000' }, variable: 'MAX_PAYLOAD' },
    { env: { PUBLISH_QUEUE_LIMIT: '0' }, variable: 'PUBLISH_QUEUE_LIMIT' },
    { env: { WRITE_BATCH_MS: 'soon' }, variable: 'WRITE_BATCH_MS' },
    { env: { ALLOWED_ORIGINS: 'a, b' }, variable: 'ALLOWED_ORIGINS' },
    { env: { HOST_ID: 'web 1' }, variable: 'HOST_ID' },
    // The leader renews its lease every METRICS_INTERVAL_MS: a lease that short would lapse between renewals.
    { env: { LEASE_MS: '2000', METRICS_INTERVAL_MS: '1000' }, variable: 'LEASE_MS' },
    { env: { ORPHAN_TIMEOUT_MS: '10' }, variable: 'ORPHAN_TIMEOUT_MS' },
  ])('names $variable when it is bad', ({ env, variable }) => {
    try {
      parseBalancerConfig(env);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as ConfigError).message).toContain(variable);
    }
  });

  it('accepts exactly what a chat server accepts for the settings it hands down', async () => {
    const { loadConfig } = await import('../../chat-server/src/config.js');
    const env = { MAX_PAYLOAD: '16777216', RATE_LIMIT: '1000000', WRITE_BATCH_MS: '5', PUBLISH_QUEUE_LIMIT: '10', HEARTBEAT_TIMEOUT_MS: '10' };
    const balancer = parseBalancerConfig(env);
    const chatServer = loadConfig(env, { managed: true });
    expect([balancer.MAX_PAYLOAD, balancer.RATE_LIMIT, balancer.WRITE_BATCH_MS, balancer.PUBLISH_QUEUE_LIMIT]).toEqual([
      chatServer.maxPayload,
      chatServer.rateLimit,
      chatServer.writeBatchMs,
      chatServer.publishQueueLimit,
    ]);
  });

  it.each([
    { value: undefined, flags: [] },
    { value: '--max-semi-space-size=1', flags: ['--max-semi-space-size=1'] },
    { value: ' --max-semi-space-size=1   --max-old-space-size=512 ', flags: ['--max-semi-space-size=1', '--max-old-space-size=512'] },
    { value: '--no-opt --stack-trace-limit=5', flags: ['--no-opt', '--stack-trace-limit=5'] },
  ])('reads CHAT_SERVER_NODE_FLAGS $value', ({ value, flags }) => {
    expect(chatServerNodeFlags(parseBalancerConfig(value === undefined ? {} : { CHAT_SERVER_NODE_FLAGS: value }))).toEqual(flags);
  });

  it.each(['max-semi-space-size=1', '--a; rm -rf /', '--x=$(id)', '--x="1"'])('refuses CHAT_SERVER_NODE_FLAGS %j', (value) => {
    expect(() => parseBalancerConfig({ CHAT_SERVER_NODE_FLAGS: value })).toThrow(/CHAT_SERVER_NODE_FLAGS/);
  });
});
