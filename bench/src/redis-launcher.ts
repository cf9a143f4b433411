// Starts the bench's private redis-server on a free loopback port, and stops it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface BenchRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  pid: number;
  /** Stops the server (SIGKILL after 3 s). Idempotent. */
  stop(): Promise<void>;
  /** Kills at once; for process exit handlers, where nothing can be awaited. */
  killNow(): void;
}

/** Finds a port that was free a moment ago by binding port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server with nothing kept on disk; retries when the probed port was taken meanwhile. */
export async function startBenchRedis(): Promise<BenchRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await launch(await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function launch(port: number): Promise<BenchRedis> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '10000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
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
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`redis-server on port ${port} did not start in 10 s: ${output.slice(-500)}`));
    }, 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ url: `redis://127.0.0.1:${port}`, pid: child.pid ?? 0, stop, killNow });
      }
    });
    child.stderr?.resume();
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited with ${code}: ${output.slice(-500)}`));
    });
  });
}
