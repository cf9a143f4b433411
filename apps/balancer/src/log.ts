// The balancer's logger: pino with a component, as JSON lines or, for a person at a terminal, pretty lines (pino-pretty).
import { pino, type Logger } from 'pino';
import { PinoPretty, prettyFactory, type PrettyOptions } from 'pino-pretty';
import type { LogFormat } from '@chatfleet/protocol/env';

export type { Logger };

/** One line per entry: time, level, who (the balancer or a chat server's id), the message, then any other fields. */
function prettyOptions(colorize: boolean): PrettyOptions {
  return {
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,component,serverId,part',
    messageFormat: (entry, messageKey) => `${who(entry)}: ${String(entry[messageKey] ?? '')}`,
  };
}

/** Who wrote an entry: a chat server's id, else the balancer's part (fleet, ...), else the component. */
function who(entry: Record<string, unknown>): string {
  for (const key of ['serverId', 'part', 'component']) {
    const value = entry[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'chatfleet';
}

/**
 * Creates the root logger. `format` pretty writes readable lines (coloured
 * on a terminal) through pino-pretty in this process; json writes pino's
 * JSON lines. Pass `destination` to send lines elsewhere (tests).
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'json'): Logger {
  const options = { level, base: { component: 'balancer' } };
  if (format === 'pretty') {
    const out = destination ?? process.stdout;
    const colorize = (out as { isTTY?: boolean }).isTTY === true;
    return pino(options, PinoPretty({ ...prettyOptions(colorize), destination: out as NodeJS.WritableStream & { write(s: string): boolean }, sync: true }));
  }
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Writes a chat server's JSON log line as is (json), or as a pretty line (pretty). */
export function relayWriter(format: LogFormat, out: NodeJS.WritableStream = process.stdout): (line: string) => void {
  if (format === 'json') return (line) => void out.write(`${line}\n`);
  const prettify = prettyFactory(prettyOptions((out as { isTTY?: boolean }).isTTY === true));
  return (line) => void out.write(prettify(line));
}
