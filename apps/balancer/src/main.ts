#!/usr/bin/env node
// The balancer's command: reads config, resolves Redis, starts the balancer, wires signals and exit codes.
import { existsSync } from 'node:fs';
import { ConfigError, resolveLogFormat } from '@chatfleet/protocol/env';
import { guardRedisRejections } from '@chatfleet/redis';
import { startBalancer, type Balancer } from './balancer.js';
import { chatServerEntry, parseBalancerConfig, type BalancerConfig } from './config.js';
import { createLogger, relayWriter } from './log.js';
import { nextSteps, portInUseMessage, probePort } from './next-steps.js';
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
  const format = resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY);
  // A closed terminal (SIGHUP) makes every later write fail with EIO: the shutdown must go on regardless.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const log = createLogger(config.LOG_LEVEL, undefined, format);
  guardRedisRejections(log);

  const entry = chatServerEntry(config);
  if (!existsSync(entry)) {
    process.stderr.write(`chatfleet balancer: the chat server is not built (no ${entry}); run \`npm run build\`, or \`npm start\`, which builds first.\n`);
    process.exit(2);
  }
  // Before Redis: a private redis-server would otherwise be started only to be stopped again.
  const portProblem = await probePort(config.PORT, config.HOST);
  if (portProblem !== undefined) {
    process.stderr.write(`chatfleet balancer: ${portInUseMessage(config.PORT, config.HOST, portProblem)}\n`);
    process.exit(2);
  }

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
    balancer = await startBalancer(config, { redisUrl: redis.url, log, baseEnv: process.env, relay: relayWriter(format) });
  } catch (error) {
    await redis.stop();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      process.stderr.write(`chatfleet balancer: ${portInUseMessage(config.PORT, config.HOST, code)}\n`);
      process.exit(2);
    }
    log.fatal({ err: error }, 'the balancer could not start');
    process.exit(1);
  }

  const next = nextSteps(config, balancer.port);
  if (format === 'pretty') {
    process.stdout.write(next.text);
  } else {
    log.info({ url: balancer.url, dashboard: next.dashboard, chat: next.chat, harness: next.harness }, `chatfleet is up: dashboard at ${next.dashboard}`);
  }

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
  // A closed terminal: stop everything as for Ctrl-C, the private redis-server included.
  process.on('SIGHUP', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(`chatfleet balancer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
