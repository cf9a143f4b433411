// Starts a private redis-server on a free loopback port, with nothing kept on disk, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A running private redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  pid: number;
  process: ChildProcess;
  /** Stops the server: SIGTERM, then SIGKILL after 3 s. Idempotent. */
  stop(): Promise<void>;
  /** Kills at once; for exit handlers, where nothing can be awaited. */
  killNow(): void;
}

export interface RedisServerOptions {
  /** The program to run; default `redis-server` from PATH. */
  bin?: string;
  /** More command-line arguments, e.g. `['--maxclients', '10000']`. */
  args?: readonly string[];
  /**
   * Start it in its own process group, so that Ctrl-C (which signals the whole
   * foreground group) does not stop it before its owner is done with it.
   */
  detached?: boolean;
  /** How long to wait for "Ready to accept connections"; default 10 s. */
  readyTimeoutMs?: number;
  /**
   * Listen on this port instead of a free one (no retries): e.g. to bring a
   * Redis back where its clients will reconnect after an outage.
   */
  port?: number;
  /** A config file, passed first (a sentinel needs one it can rewrite). */
  configFile?: string;
  /** Leave out the no-persistence defaults (`--save '' --appendonly no`), e.g. for a sentinel. */
  bare?: boolean;
  /** The log line that means the server is up; default "Ready to accept connections". */
  readyText?: string;
}

/** Finds a port that was free a moment ago by binding port 0. */
export function freePort(): Promise<number> {
  return freePortOn(0);
}

/** Resolves with `port` when it can be bound on 127.0.0.1 now (0: any free port), else rejects. */
export function freePortOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server on a free port. Retries a few times when the probed
 * port was taken between the probe and the bind; a missing program fails at
 * once with the spawn error (`code` ENOENT) so callers can say how to install it.
 * With `options.port` it binds that port and fails if it is taken.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (options.port !== undefined) return launch(options.port, options);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await launch(await freePort(), options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function launch(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    ...(options.bare === true ? [] : ['--save', '', '--appendonly', 'no']),
    ...(options.args ?? []),
  ];
  const child = spawn(options.bin ?? 'redis-server', args, {
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      if (exited()) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    return stopped;
  };
  const killNow = (): void => {
    if (!exited()) child.kill('SIGKILL');
  };
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      killNow();
      reject(new Error(`redis-server on port ${port} did not start in ${readyTimeoutMs} ms: ${output.slice(-500)}`));
    }, readyTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(options.readyText ?? 'Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ url: `redis://127.0.0.1:${port}`, port, pid: child.pid ?? 0, process: child, stop, killNow });
      }
    });
    child.stderr?.resume();
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited with code ${code}: ${output.slice(-500)}`));
    });
  });
}
