#!/usr/bin/env node
// The chat server process: parse config, start, wire signals and the balancer's IPC channel, set the exit code.
import { ConfigError, resolveLogFormat } from '@chatfleet/protocol/env';
import { guardRedisRejections } from '@chatfleet/redis';
import type { ChildMessage } from '@chatfleet/protocol';
import { startChatServer, type ChatServer } from './chat-server.js';
import { loadConfig, type ChatServerConfig } from './config.js';
import { createLogger } from './log.js';
import { orphanLogPath, SwitchableSink } from './log-sink.js';

const managed = typeof process.send === 'function';

let config: ChatServerConfig;
try {
  config = loadConfig(process.env, { managed });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`chat-server: bad configuration: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

// A managed server's stdout is a pipe to its balancer: the sink survives that balancer's death.
const sink = managed ? new SwitchableSink() : undefined;
const log = createLogger(config.serverId, config.logLevel, resolveLogFormat(config.logFormat, process.stdout.isTTY), sink);
if (config.authSecretGenerated) {
  log.warn('AUTH_SECRET is not set: using a random secret, so tickets minted elsewhere will not verify');
}

/** Sends a message to the balancer when there is one; a closed channel is not an error here. */
function tell(message: ChildMessage): void {
  if (process.send === undefined || !process.connected) return;
  process.send(message, undefined, {}, (err) => {
    if (err) log.debug({ err }, 'IPC send failed');
  });
}

let server: ChatServer | undefined;
let exiting = false;
let stopWhenStarted: string | undefined;

function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  process.exitCode = code;
  // Let pino flush, then leave even if a handle lingers.
  setImmediate(() => process.exit(code));
}

guardRedisRejections(log, exit);

/**
 * The longest a stop may take: the drain, then each of its Redis steps at its
 * own deadline. Past it the process leaves anyway, so a server whose Redis is
 * gone can never outlive its balancer.
 */
const stopDeadlineMs = config.drainTimeoutMs + 1000 + 8 * config.redisConnectTimeoutMs;

function shutdown(reason: string): void {
  log.info({ reason }, 'shutting down');
  setTimeout(() => {
    log.error({ reason, ms: stopDeadlineMs }, 'stop did not finish in time; exiting');
    exit(1);
  }, stopDeadlineMs).unref();
  if (server === undefined) {
    // Still starting: stop as soon as the start finishes (or fails).
    stopWhenStarted = reason;
    return;
  }
  server.stop(reason).then(
    () => exit(0),
    (err: unknown) => {
      log.error({ err }, 'stop failed');
      exit(1);
    },
  );
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
if (managed) {
  // Ctrl-C reaches the whole process group; the balancer stops its children with SIGTERM.
  process.on('SIGINT', () => log.debug('ignoring SIGINT: the balancer will stop this server'));
  // A closed terminal hangs up the whole group too: the balancer drains its children in order.
  process.on('SIGHUP', () => log.debug('ignoring SIGHUP: the balancer will stop this server'));
  // The balancer went away without stopping this server (a crash, kill -9): its clients stay
  // served. The log moves to a file, since the pipes to that balancer have no reader any more;
  // the owner watch (owner-watch.ts) waits for a balancer of this host to adopt the server and
  // drains it after ORPHAN_TIMEOUT_MS without one. A planned stop sends SIGTERM before this.
  process.on('disconnect', () => {
    if (exiting) return;
    const path = sink?.toFile(orphanLogPath(config.serverId));
    log.warn({ logFile: path, orphanTimeoutMs: config.orphanTimeoutMs }, 'balancer disconnected: serving on, logging to a file');
  });
} else {
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
}

try {
  server = await startChatServer(config, {
    log,
    onDraining: () => tell({ type: 'draining', id: config.serverId }),
    onStopped: () => exit(0),
  });
} catch (error) {
  log.fatal({ err: error }, 'chat server failed to start');
  process.exit(1);
}
if (stopWhenStarted !== undefined) shutdown(stopWhenStarted);
else tell({ type: 'ready', id: server.id, url: server.url, pid: process.pid });
