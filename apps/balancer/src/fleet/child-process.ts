// One managed chat server process: fork with IPC, the ready handshake, output relay, and SIGTERM-then-SIGKILL stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { childMessageSchema } from '@chatfleet/protocol';
import type { Logger } from '../log.js';

export interface ChildReady {
  url: string;
  pid: number;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  id: string;
  entry: string;
  /** Node flags before the entry (CHAT_SERVER_NODE_FLAGS). */
  nodeFlags?: readonly string[];
  env: Record<string, string | undefined>;
  readyTimeoutMs: number;
  log: Logger;
  /** Receives each JSON log line of the child as is. */
  relay: (line: string) => void;
  /** Called when the child reports it has begun draining. */
  onDraining?: () => void;
}

/**
 * A chat server process this balancer manages: one it forked (ChatServerChild)
 * or one it adopted from a balancer that died (AdoptedProcess).
 */
export interface ServerProcess {
  readonly pid: number | undefined;
  /** True until the process has exited. */
  readonly alive: boolean;
  /** Settles when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /** Sends a signal if the process still runs. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (the server drains and exits), then SIGKILL after `timeoutMs`. Idempotent. */
  stop(timeoutMs: number): Promise<ChildExit>;
}

/** The shell that raises a child's file limit; undefined where there is none (the child then starts with Node's own). */
const SHELL = existsSync('/bin/sh') ? '/bin/sh' : undefined;

/**
 * Raises the soft open-file limit to the hard one, then becomes Node: Node
 * has no setrlimit, and a chat server's connections are bounded by that
 * limit (its MAX_CONNECTIONS default is derived from it). Where the limit
 * cannot be raised the `ulimit` fails quietly and Node starts all the same.
 * `exec` keeps the pid and the IPC descriptor, so the child is the process
 * the balancer signals and talks to, as with fork().
 */
export const RAISE_FILE_LIMIT = 'ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';

/** How a chat server is started: through the shell that raises its file limit when there is one, else Node directly. */
export function childCommand(entry: string, nodeFlags: readonly string[], node: string, shell: string | undefined): { file: string; args: string[] } {
  if (shell === undefined) return { file: node, args: [...nodeFlags, entry] };
  return { file: shell, args: ['-c', RAISE_FILE_LIMIT, node, ...nodeFlags, entry] };
}

/** Thrown (as the ready promise's rejection) when a child exits or times out before it is ready. */
export class ChildNotReadyError extends Error {
  constructor(
    readonly serverId: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChildNotReadyError';
  }
}

/**
 * A forked chat server. `ready` settles once: with the child's `ready` IPC
 * message, or rejected when the child exits first or stays silent for
 * `readyTimeoutMs` (then it is killed).
 */
export class ChatServerChild implements ServerProcess {
  readonly id: string;
  readonly process: ChildProcess;
  readonly spawnedAt = Date.now();
  readonly ready: Promise<ChildReady>;
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | undefined;
  private stopping: Promise<ChildExit> | undefined;

  constructor(options: ChildOptions) {
    this.id = options.id;
    const log = options.log.child({ serverId: options.id });
    const launch = childCommand(options.entry, options.nodeFlags ?? [], process.execPath, SHELL);
    this.process = spawn(launch.file, launch.args, {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const child = this.process;
    relayLines(child.stdout, 'stdout', options, log);
    relayLines(child.stderr, 'stderr', options, log);

    this.exited = new Promise<ChildExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    child.on('error', (error) => log.error({ err: error }, 'chat server process error'));

    this.ready = new Promise<ChildReady>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ChildNotReadyError(this.id, `not ready within ${options.readyTimeoutMs} ms`));
        child.kill('SIGKILL');
      }, options.readyTimeoutMs);
      child.on('message', (raw: unknown) => {
        const parsed = childMessageSchema.safeParse(raw);
        if (!parsed.success) {
          log.warn({ message: raw }, 'ignoring malformed IPC message');
          return;
        }
        const message = parsed.data;
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve({ url: message.url, pid: message.pid });
        } else {
          options.onDraining?.();
        }
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new ChildNotReadyError(this.id, `exited before ready (code ${code}, signal ${signal})`));
      });
    });
    // The fleet awaits `ready` when it needs to; an unobserved rejection must not crash the balancer.
    this.ready.catch(() => undefined);
  }

  /** Process id (undefined only if the fork failed). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Sends a signal if the process still runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.process.kill(signal);
  }

  /** SIGTERM (the child drains and exits), then SIGKILL after `timeoutMs`. Idempotent. */
  stop(timeoutMs: number): Promise<ChildExit> {
    this.stopping ??= (async () => {
      if (!this.alive) return this.exited;
      this.signal('SIGTERM');
      const timer = setTimeout(() => {
        // A stopped (SIGSTOP) child cannot act on SIGTERM; SIGKILL ends it either way.
        this.signal('SIGKILL');
      }, timeoutMs);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    })();
    return this.stopping;
  }
}

function relayLines(
  stream: NodeJS.ReadableStream | null,
  name: 'stdout' | 'stderr',
  options: ChildOptions,
  log: Logger,
): void {
  if (stream === null) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    if (line.startsWith('{') && isJsonObject(line)) options.relay(line);
    else if (name === 'stderr') log.warn({ stream: name }, line);
    else log.info({ stream: name }, line);
  });
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null;
  } catch {
    return false;
  }
}
