// A chat server process this balancer did not fork: adopted after its balancer died, managed by pid signals, its exit noticed by polling the pid.
import { readFileSync } from 'node:fs';
import type { ChildExit, ServerProcess } from './child-process.js';

/**
 * True while a process with this pid runs (signal 0 checks without sending
 * anything). An exited process that nobody reaped yet (a zombie: its parent,
 * the balancer that forked it, is gone and the reaper is slow) counts as exited.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/** True when Linux says the process is a zombie (state Z); false wherever /proc cannot tell. */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state follows the last ')', since comm may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/**
 * An adopted chat server. There is no IPC channel and no exit event for a
 * process that is not our child: its exit is noticed by checking the pid every
 * `pollMs` (its exit code is unknown), and it is stopped with signals like a
 * child (SIGTERM makes a chat server drain and exit; SIGKILL after the deadline).
 */
export class AdoptedProcess implements ServerProcess {
  readonly exited: Promise<ChildExit>;
  private done = false;
  private readonly timer: NodeJS.Timeout;
  private stopping: Promise<ChildExit> | undefined;
  private resolveExit!: (exit: ChildExit) => void;

  constructor(
    readonly pid: number,
    pollMs: number,
  ) {
    this.exited = new Promise<ChildExit>((resolve) => {
      this.resolveExit = resolve;
    });
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
  }

  get alive(): boolean {
    return !this.done;
  }

  /** Checks the pid now; resolves `exited` once it is gone. */
  poll(): void {
    if (this.done || pidAlive(this.pid)) return;
    this.done = true;
    clearInterval(this.timer);
    this.resolveExit({ code: null, signal: null });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.done) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      this.poll();
    }
  }

  stop(timeoutMs: number): Promise<ChildExit> {
    this.stopping ??= (async () => {
      if (this.done) return this.exited;
      this.signal('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    })();
    return this.stopping;
  }

  /** Stops polling without waiting for the process (the balancer lets it go). */
  release(): void {
    clearInterval(this.timer);
  }
}
