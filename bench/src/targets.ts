// The systems under test (chatfleet, its Socket.IO peer, and a bare `ws` broadcast as the floor) and how to fork their server processes: ready handshake over IPC, crash watch, escalating stop.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chatServerProcessEnv } from '@chatfleet/protocol/env';

export type TargetName = 'chatfleet' | 'socketio' | 'bare';
export const TARGETS: readonly TargetName[] = ['chatfleet', 'socketio', 'bare'];

/** Targets whose clients speak chatfleet's frames (the bare broadcast speaks the subset the driver uses). */
export function speaksChatfleet(target: TargetName): boolean {
  return target !== 'socketio';
}

/** The secret the bench mints chatfleet tickets with; the servers get the same. */
export const BENCH_AUTH_SECRET = 'chatfleet-bench-secret-0123456789abcdef';

/** BENCH_CHAT_SERVER_MAIN runs another build of the chat server as the chatfleet target (an A/B of two builds, one run each). */
const CHAT_SERVER_MAIN = process.env.BENCH_CHAT_SERVER_MAIN || fileURLToPath(new URL('../../apps/chat-server/dist/main.js', import.meta.url));
const SOCKETIO_PEER_MAIN = fileURLToPath(new URL('./socketio-peer.js', import.meta.url));
const BARE_PEER_MAIN = fileURLToPath(new URL('./bare-peer.js', import.meta.url));

/** One running server process of a target. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** Set once the process has exited; a server that exits during a step crashed. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The last few KB the process wrote, for crash reports. */
  outputTail(): string;
  /** The inspector's websocket URL when the process was started with --inspect. */
  inspectorUrl: string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now; for exit handlers. */
  killNow(): void;
}

export interface ServerOptions {
  target: TargetName;
  redisUrl: string;
  /** Key prefix, so steps never see each other's keys. */
  prefix: string;
  readyTimeoutMs: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  execArgv?: string[];
}

const TAIL_BYTES = 4096;

/** Forks one server of `target` with PORT=0 and waits for its `ready` message. */
export function startServerProcess(options: ServerOptions): Promise<ServerProcess> {
  const script = options.target === 'chatfleet' ? CHAT_SERVER_MAIN : options.target === 'socketio' ? SOCKETIO_PEER_MAIN : BARE_PEER_MAIN;
  const settings: NodeJS.ProcessEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    AUTH_SECRET: BENCH_AUTH_SECRET,
    // The bench paces each connection far below this; the limiter must not refuse its frames.
    RATE_LIMIT: '100000',
    LOG_LEVEL: 'warn',
    DRAIN_TIMEOUT_MS: '1000',
    REDIRECT_GRACE_MS: '500',
  };
  // Every target starts with the environment the balancer gives its chat servers (one malloc arena, CHAT_SERVER_PROCESS_ENV),
  // so that memory per connection compares the servers' code, not allocator settings.
  // MALLOC_ARENA_MAX in the bench's own environment overrides it, as it would the balancer's (`MALLOC_ARENA_MAX=8 npm run bench`).
  const arenas = process.env.MALLOC_ARENA_MAX;
  const env = chatServerProcessEnv({ PATH: process.env.PATH, ...(arenas === undefined ? {} : { MALLOC_ARENA_MAX: arenas }) }, settings);
  const child: ChildProcess = fork(script, [], {
    env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
    handle.inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(tail)?.[1];
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let stopped: Promise<void> | undefined;
  const handle: ServerProcess = {
    url: '',
    pid: child.pid ?? 0,
    exit: undefined,
    outputTail: () => tail,
    inspectorUrl: undefined,
    stop(graceMs = 3000) {
      stopped ??= new Promise<void>((resolve) => {
        if (handle.exit !== undefined) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopped;
    },
    killNow() {
      if (handle.exit === undefined) child.kill('SIGKILL');
    },
  };
  child.on('exit', (code, signal) => {
    handle.exit = { code, signal };
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      handle.killNow();
      reject(new Error(`${options.target} server did not become ready in ${options.readyTimeoutMs} ms: ${tail.slice(-800)}`));
    }, options.readyTimeoutMs);
    child.on('message', (message: unknown) => {
      const ready = message as { type?: unknown; url?: unknown };
      if (ready.type === 'ready' && typeof ready.url === 'string') {
        clearTimeout(timer);
        handle.url = ready.url;
        resolve(handle);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.target} server exited before ready (code ${code}, signal ${signal}): ${tail.slice(-800)}`));
    });
  });
}
