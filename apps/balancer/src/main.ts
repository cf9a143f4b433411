#!/usr/bin/env node
// The balancer's command: reads config, resolves Redis, starts the balancer, wires signals and exit codes.
import { ConfigError } from '@chatfleet/protocol/env';
import { startBalancer, type Balancer } from './balancer.js';
import { parseBalancerConfig, type BalancerConfig } from './config.js';
import { createLogger } from './log.js';
import { RedisUnavailableError, resolveRedis, type ResolvedRedis } from './redis/resolve.js';

/** Signals closer together than this count as one. */
const DUPLICATE_SIGNAL_MS = 500;

async function main(): Promise<void> {
  let config: BalancerConfig;
  try {
    config = parseBalancerConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`chatfleet balancer: bad setting: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL);

  let redis: ResolvedRedis;
  try {
    redis = await resolveRedis(config, log);
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      process.stderr.write(`chatfleet balancer: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  let balancer: Balancer;
  try {
    balancer = await startBalancer(config, { redisUrl: redis.url, log, baseEnv: process.env });
  } catch (error) {
    log.fatal({ err: error }, 'the balancer could not start');
    await redis.stop();
    process.exit(1);
  }

  const loopback = ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost'].includes(config.HOST);
  const dashboard = `http://${loopback ? 'localhost' : config.HOST}:${balancer.port}/dashboard/`;
  log.info({ url: balancer.url, dashboard }, `chatfleet is up: dashboard at ${dashboard}`);

  // A terminal's Ctrl-C signals the whole process group, and npm forwards the
  // same signal to its child too: a second signal within DUPLICATE_SIGNAL_MS
  // is that echo, not an operator insisting.
  let signalledAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalledAt !== undefined && Date.now() - signalledAt < DUPLICATE_SIGNAL_MS) return;
    if (signalledAt !== undefined) {
      log.warn({ signal }, 'second signal: exiting now');
      balancer.killChildren();
      void redis.stop();
      process.exit(1);
    }
    signalledAt = Date.now();
    log.info({ signal }, 'shutting down');
    balancer
      .stop()
      .then(() => redis.stop())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(`chatfleet balancer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
