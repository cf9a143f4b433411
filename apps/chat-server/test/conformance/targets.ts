// The two servers the conformance suite compares: chatfleet's chat server and a plain `ws` server, each a forked process whose memory and file descriptors can be read.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mintTicket } from '@chatfleet/protocol/tickets';

/** A server under test. */
export interface Target {
  readonly name: 'chatfleet' | 'ws';
  readonly port: number;
  readonly pid: number;
  /** True when the server sends a frame of its own on connect (chatfleet's `welcome`). */
  readonly greets: boolean;
  /** A request path carrying a valid ticket for `user`. */
  path(user: string): string;
  /** A text frame that joins the shared room, and one that chats in it (chatfleet frames; the reference understands them too). */
  registerFrame(room: string): string;
  chatFrame(room: string, message: string): string;
  /** Memory after a full GC in the server (via the preloaded memory-probe.mjs). */
  memory(): Promise<Memory>;
  /** Open file descriptors of the server process, now. */
  fds(): number;
  /** Resident memory of the server process, now (no GC), bytes. */
  rss(): number;
  /** Lines the server wrote to stdout (chatfleet: pino JSON lines). */
  readonly logs: string[];
  /** True while the process runs. */
  alive(): boolean;
  stop(): Promise<void>;
}

export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  fds: number;
}

/** The figure memory growth is judged on: live JS heap plus Buffer memory, after a full GC. */
export function retained(memory: Memory): number {
  return memory.heapUsed + memory.arrayBuffers;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const CHAT_SERVER = here('../../dist/main.js');
const REFERENCE = here('./ws-reference.mjs');
const PROBE = pathToFileURL(here('./memory-probe.mjs')).href;

/** What both servers share. */
export interface TargetSettings {
  maxPayload: number;
  allowedOrigin: string;
}

/** Starts chatfleet's chat server as a child (`apps/chat-server/dist`, so `tsc -b` first) on the given Redis. */
export async function startChatfleet(
  settings: TargetSettings,
  redisUrl: string,
  prefix: string,
  secret: string,
  env: Record<string, string>,
): Promise<Target> {
  const child = fork(CHAT_SERVER, [], {
    env: {
      PATH: process.env['PATH'] ?? '',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      AUTH_SECRET: secret,
      SERVER_ID: 'srv-conformance',
      PORT: '0',
      MAX_PAYLOAD: String(settings.maxPayload),
      ALLOWED_ORIGINS: settings.allowedOrigin,
      LOG_LEVEL: 'warn',
      ...env,
    },
    execArgv: ['--expose-gc', '--import', PROBE],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const ready = await whenReady(child, 'chatfleet');
  const ticket = (user: string): string => encodeURIComponent(mintTicket(secret, user, Date.now() + 30 * 60_000));
  return makeTarget('chatfleet', child, ready, {
    greets: true,
    path: (user) => `/?token=${ticket(user)}`,
    registerFrame: (room) => JSON.stringify({ type: 'register', payload: { chatId: room } }),
    chatFrame: (room, message) => JSON.stringify({ type: 'chat', payload: { chatId: room, message } }),
  });
}

/** Starts the `ws` reference server as a child. */
export async function startReference(settings: TargetSettings): Promise<Target> {
  const token = 'reference-ticket';
  const child = fork(REFERENCE, [], {
    env: {
      PATH: process.env['PATH'] ?? '',
      MAX_PAYLOAD: String(settings.maxPayload),
      ALLOWED_ORIGINS: settings.allowedOrigin,
      TOKEN: token,
    },
    execArgv: ['--expose-gc', '--import', PROBE],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const ready = await whenReady(child, 'ws');
  return makeTarget('ws', child, ready, {
    greets: false,
    path: (user) => `/?token=${token}&user=${user}`,
    // Short, so the reference's "starts with" routing sees them.
    registerFrame: (room) => JSON.stringify({ type: 'register', payload: { chatId: room } }),
    chatFrame: (room, message) => JSON.stringify({ type: 'chat', payload: { chatId: room, message } }),
  });
}

interface Ready {
  port: number;
  pid: number;
}

function whenReady(child: ChildProcess, name: string): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report ready within 15 s`)), 15_000);
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready: ${stderr.join('').slice(0, 2000)}`));
    });
    child.on('message', (message: { type?: string; url?: string; pid?: number }) => {
      if (message?.type !== 'ready' || message.url === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ port: Number(new URL(message.url).port), pid: child.pid! });
    });
  });
}

function makeTarget(
  name: Target['name'],
  child: ChildProcess,
  ready: Ready,
  shape: Pick<Target, 'greets' | 'path' | 'registerFrame' | 'chatFrame'>,
): Target {
  const logs: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    logs.push(...lines.filter((line) => line !== ''));
  });
  child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  let probes = 0;
  return {
    name,
    port: ready.port,
    pid: ready.pid,
    logs,
    ...shape,
    memory() {
      const id = ++probes;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no memory probe answer`)), 10_000);
        const onMessage = (message: { type?: string; id?: number } & Memory): void => {
          if (message?.type !== 'memory-probe' || message.id !== id) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve({ rss: message.rss, heapUsed: message.heapUsed, external: message.external, arrayBuffers: message.arrayBuffers, fds: message.fds });
        };
        child.on('message', onMessage);
        child.send({ type: 'memory-probe', id });
      });
    },
    fds: () => readdirSync(`/proc/${ready.pid}/fd`).length,
    rss() {
      const status = readFileSync(`/proc/${ready.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    alive: () => !exited,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exit;
      clearTimeout(killer);
    },
  };
}
