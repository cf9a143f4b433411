// The balancer's structured logger: pino JSON lines, each with a component.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Creates the root logger; pass `destination` to send lines elsewhere (tests). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { component: 'balancer' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
