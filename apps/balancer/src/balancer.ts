// Starts and stops one balancer: the fleet store, the registry, the control loop, the command listener and the HTTP server. What main.ts and the tests call.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redisKeys, type RedisKeys } from '@chatfleet/protocol';
import type { Response } from 'express';
import { chatServerEntry, chatServerNodeFlags, type BalancerConfig } from './config.js';
import { CommandSender, redisCommandTransport } from './commands/command-sender.js';
import { ControlLoop } from './control/control-loop.js';
import { Placements } from './control/placements.js';
import { Fleet } from './fleet/fleet.js';
import { createRequestListener } from './http/app.js';
import { createPromMetrics } from './http/prometheus.js';
import { HostProbe } from './load/host-probe.js';
import { MetricsReader } from './load/metrics-reader.js';
import { createLogger, type Logger } from './log.js';
import { createRedisClient } from './redis/client.js';
import { FleetStore } from './store/fleet-store.js';

export interface BalancerDeps {
  /** The Redis to use (main.ts resolves it); default REDIS_URL, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  log?: Logger;
  /** Environment children start from (PATH and the like); main.ts passes process.env. */
  baseEnv?: Record<string, string | undefined>;
  /** Receives each JSON log line of a child; default: written to stdout. */
  relay?: (line: string) => void;
}

export interface Balancer {
  /** This balancer's id in the fleet (`GET /balancers`). */
  id: string;
  /** `http://host:port` the HTTP API listens on. */
  url: string;
  port: number;
  fleet: Fleet;
  reader: MetricsReader;
  loop: ControlLoop;
  keys: RedisKeys;
  /**
   * Stops provisioning and the control loop, gives the lease up, stops every
   * own child (SIGTERM, then SIGKILL), removes their keys and, when no other
   * live server or balancer shares this fleet's Redis, every fleet key; closes
   * HTTP and Redis. Idempotent.
   */
  stop(): Promise<void>;
  /** Last resort on a second Ctrl-C: SIGKILL every own child now. */
  killChildren(): void;
}

/** Starts a balancer; resolves once HTTP listens (its first control turn, which spawns FLEET_MIN when it leads, is under way). */
export async function startBalancer(config: BalancerConfig, deps: BalancerDeps = {}): Promise<Balancer> {
  const log = deps.log ?? createLogger(config.LOG_LEVEL);
  const redisUrl = deps.redisUrl ?? config.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let authSecret = config.AUTH_SECRET;
  if (authSecret === undefined) {
    authSecret = randomBytes(32).toString('base64url');
    log.warn('AUTH_SECRET is not set: using a random one, so only this balancer\'s own children accept its tickets');
  }
  const redis = createRedisClient(redisUrl, log, config.REDIS_CONNECT_TIMEOUT_MS);
  await redis.connect();
  const keys = redisKeys(config.REDIS_PREFIX);
  const id = `b-${randomBytes(4).toString('hex')}`;
  const store = new FleetStore({
    redis,
    keys,
    log,
    balancerId: id,
    balancerTtlMs: 10 * config.HEARTBEAT_TIMEOUT_MS,
    busProbeIntervalMs: config.BUS_PROBE_INTERVAL_MS,
    busProbeTimeoutMs: config.BUS_PROBE_TIMEOUT_MS,
    connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
  });
  const reader = new MetricsReader(store, { intervalMs: config.METRICS_INTERVAL_MS, log });
  const placements = new Placements(config.METRICS_INTERVAL_MS);
  // Commands to chat servers carry an id; the sender resends each until the server confirms it, or gives up with an event.
  let fleetRef: Fleet | undefined;
  const commands = new CommandSender({
    transport: redisCommandTransport(redis, keys),
    resendMs: config.COMMAND_RESEND_MS,
    maxTries: config.COMMAND_MAX_TRIES,
    idPrefix: `${id}-`,
    onOutcome: (outcome) => fleetRef?.commandOutcome(outcome),
    isGone: (serverId) => {
      const record = fleetRef?.get(serverId);
      return record === undefined || record.status === 'gone';
    },
  });
  commands.start();
  const fleet = new Fleet({
    config,
    store,
    log,
    self: { id, hostId: config.HOST_ID },
    entry: chatServerEntry(config),
    nodeFlags: chatServerNodeFlags(config),
    baseEnv: deps.baseEnv ?? {},
    redisUrl,
    authSecret,
    relay: deps.relay ?? ((line) => process.stdout.write(`${line}\n`)),
    sendCommand: (serverId, command) => commands.send(serverId, command),
  });
  fleetRef = fleet;

  const server = createServer();
  try {
    await listen(server, config.PORT, config.HOST);
  } catch (error) {
    await commands.stop();
    await redis.close().catch(() => undefined);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${formatHost(config.HOST)}:${port}`;
  const loop = new ControlLoop({
    config,
    store,
    reader,
    fleet,
    placements,
    log,
    self: { id, hostId: config.HOST_ID, url: `http://${formatHost(config.PUBLIC_HOST ?? config.HOST)}:${port}`, startedAt: Date.now() },
    hostProbe: new HostProbe({ hostId: config.HOST_ID, windowMs: config.HOST_SAMPLE_WINDOW_MS }),
  });

  const streams = new Set<Response>();
  let stopping = false;
  const prom = createPromMetrics(fleet, reader, loop);
  server.on(
    'request',
    createRequestListener({ config, fleet, reader, loop, placements, store, authSecret, log, prom, streams, isStopping: () => stopping }),
  );
  try {
    await store.listen((command) => {
      loop.onCommand(command).catch((error: unknown) => log.error({ err: error, command }, 'balancer command failed'));
    });
  } catch (error) {
    server.close();
    await commands.stop();
    await store.close();
    throw error;
  }
  await loop.start();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      log.info('stopping: draining every chat server of this balancer');
      await loop.stop();
      await fleet.stop();
      await commands.stop();
      reader.close();
      try {
        await store.removeBalancer();
        const ours = new Set(fleet.list().filter((r) => r.life.own).map((r) => r.id));
        if (await store.othersAlive(ours, config.HEARTBEAT_TIMEOUT_MS)) {
          log.info('other live servers or balancers share this Redis; leaving the fleet keys in place');
        } else {
          const removed = await store.deleteFleetKeys();
          log.info({ removed }, 'removed the fleet keys');
        }
      } catch (error) {
        log.warn({ err: error }, 'could not clean the fleet keys');
      }
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
      log.info('stopped');
    })();
    return stopped;
  };
  log.info({ url, id, host: config.HOST_ID, prefix: config.REDIS_PREFIX }, `balancer ${id} listening on ${url}`);
  return { id, url, port, fleet, reader, loop, keys, stop, killChildren: () => fleet.killAll() };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
