#!/usr/bin/env node
// The chat server process: parse config, start, wire signals and the balancer's IPC channel, set the exit code.
import { ConfigError } from '@chatfleet/protocol/env';
import type { ChildMessage } from '@chatfleet/protocol';
import { startChatServer, type ChatServer } from './chat-server.js';
import { loadConfig, type ChatServerConfig } from './config.js';
import { createLogger } from './log.js';

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

const log = createLogger(config.serverId, config.logLevel);
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
  process.on('disconnect', () => shutdown('balancer disconnected'));
} else {
  process.on('SIGINT', () => shutdown('SIGINT'));
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
