// The chat server's pino logger: JSON lines with component 'chat-server' and the server id, or pretty lines on a terminal.
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogFormat } from '@chatfleet/protocol/env';

export type { Logger };

/** Where log lines go: anything with a `write` (default: stdout). */
export interface LogSink {
  write(line: string): unknown;
}

/** A logger for one chat server; `pretty` (LOG_FORMAT) writes readable lines through pino-pretty. */
export function createLogger(serverId: string, level: string, format: LogFormat = 'json', sink?: LogSink): Logger {
  const options = { level, base: { component: 'chat-server', serverId, pid: process.pid } };
  if (format === 'json') return sink === undefined ? pino(options) : pino(options, sink);
  return pino(
    options,
    PinoPretty({
      colorize: process.stdout.isTTY === true,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,component,serverId',
      messageFormat: `${serverId}: {msg}`,
      sync: true,
      ...(sink === undefined ? {} : { destination: sink as NodeJS.WritableStream & { write(s: string): boolean } }),
    }),
  );
}
