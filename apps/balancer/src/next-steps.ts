// What the balancer's command tells a person: where to look once it is up, and what to do when its port is taken.
import { createServer } from 'node:net';
import type { BalancerConfig } from './config.js';

/** The URLs and the harness command to show once the fleet is up. */
export interface NextSteps {
  dashboard: string;
  chat: string;
  harness: string;
  /** A short block for a terminal. */
  text: string;
}

/** Where to look next, for a balancer on `port`; loopback hosts are shown as localhost. */
export function nextSteps(config: Pick<BalancerConfig, 'HOST'>, port: number): NextSteps {
  const loopback = ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost'].includes(config.HOST);
  const host = loopback ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const base = `http://${host}:${port}`;
  const dashboard = `${base}/dashboard/`;
  const chat = `${base}/chat/`;
  const url = port === 3000 && loopback ? '' : ` --url ${base}`;
  const harness = `npm run harness --${url} --users 200 --rooms 5 --stagger 20 --duration 30`;
  const text = [
    '',
    '  chatfleet is up.',
    `  dashboard   ${dashboard}`,
    `  demo chat   ${chat}   (open it in two tabs and chat)`,
    `  load test   ${harness}   (in another terminal)`,
    '  stop        Ctrl-C',
    '',
    '',
  ].join('\n');
  return { dashboard, chat, harness, text };
}

/** Tries to listen on the port and lets go at once: the error code when it cannot (EADDRINUSE, EACCES), else undefined. */
export function probePort(port: number, host: string): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** The one sentence for a port the balancer cannot listen on. */
export function portInUseMessage(port: number, host: string, code: string): string {
  if (code === 'EACCES') {
    return `port ${port} on ${host} needs more privileges than this user has; start on a port above 1023, e.g. PORT=3000 npm start.`;
  }
  if (code === 'EADDRINUSE') {
    return `port ${port} on ${host} is already in use (another chatfleet, or another program: see \`lsof -i :${port}\`); stop it, or start on another port with PORT=${port === 3000 ? 3001 : port + 1} npm start.`;
  }
  return `cannot listen on ${host}:${port} (${code}); check HOST and PORT.`;
}
