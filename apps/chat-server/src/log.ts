// The chat server's pino logger: JSON lines with component 'chat-server' and the server id.
import { pino, type Logger } from 'pino';

export type { Logger };

/** A logger for one chat server. */
export function createLogger(serverId: string, level: string): Logger {
  return pino({ level, base: { component: 'chat-server', serverId, pid: process.pid } });
}
