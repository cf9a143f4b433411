// A managed server's watch on its balancer once the IPC channel is gone: adopted again, or drain after ORPHAN_TIMEOUT_MS.
import type { RedisKeys } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';
import type { Logger } from './log.js';

export interface OwnerWatchOptions {
  serverId: string;
  /** The balancer that forked this server (BALANCER_ID), the owner until the hash names another. */
  forkedBy: string | undefined;
  heartbeatTimeoutMs: number;
  orphanTimeoutMs: number;
  /** True while the forking balancer's IPC channel is open: it is alive by definition then. */
  attached: () => boolean;
  log: Logger;
  /** Called once when no live balancer owned this server for `orphanTimeoutMs`. */
  onTimeout: () => void;
}

/**
 * Judges, once per metrics tick, whether a live balancer owns this server:
 * while the IPC channel is open, yes; after it closed (the balancer died
 * without stopping its children), the owner is the balancer named by `owner`
 * in the server's hash (a balancer that adopts the server claims it there),
 * and it is alive while its `balancer:{id}` heartbeat is fresh. Without a
 * live owner for `orphanTimeoutMs` the server drains and exits, so it never
 * runs forever unmanaged. A check that cannot reach Redis sees no owner
 * either: an orphan whose Redis is gone cannot be adopted, and must not run
 * forever on its own.
 */
export class OwnerWatch {
  /** Since when no live owner was seen (ms epoch); undefined while owned. */
  private orphanSince: number | undefined;
  private owner: string | undefined;
  private checking: Promise<void> | undefined;
  private fired = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisLink,
    private readonly keys: RedisKeys,
    private readonly options: OwnerWatchOptions,
  ) {
    this.owner = options.forkedBy;
  }

  /** Runs one check unless one is still in flight. */
  tick(): void {
    if (this.stopped || this.fired || this.checking !== undefined) return;
    // A Redis that is away queues commands instead of failing them: the check gets a deadline.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('owner check timed out')), this.options.heartbeatTimeoutMs);
    });
    this.checking = Promise.race([this.check(), deadline])
      .catch((err: unknown) => {
        this.options.log.debug({ err }, 'owner check failed');
        this.noOwner(Date.now(), this.owner);
      })
      .finally(() => {
        clearTimeout(timer);
        this.checking = undefined;
      });
  }

  /** Stops checking and waits for a check in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.checking;
  }

  private async check(): Promise<void> {
    const now = Date.now();
    if (this.options.attached()) {
      this.orphanSince = undefined;
      return;
    }
    const c = this.redis.commands;
    const owner = (await c.hGet(this.keys.server(this.options.serverId), 'owner')) ?? this.owner;
    let alive = false;
    if (owner !== undefined && owner !== '') {
      const heartbeat = Number((await c.hGet(this.keys.balancer(owner), 'heartbeat')) ?? 0);
      alive = Date.now() - heartbeat <= this.options.heartbeatTimeoutMs;
    }
    if (alive) {
      if (this.orphanSince !== undefined || owner !== this.owner) {
        this.options.log.info({ owner, orphanMs: this.orphanSince === undefined ? 0 : now - this.orphanSince }, `managed by balancer ${owner}`);
      }
      this.owner = owner;
      this.orphanSince = undefined;
      return;
    }
    this.noOwner(now, owner);
  }

  /** No live owner was seen at `now`: start the orphan clock, or drain once it ran out. */
  private noOwner(now: number, owner: string | undefined): void {
    if (this.fired || this.stopped) return;
    if (this.orphanSince === undefined) {
      this.orphanSince = now;
      this.options.log.warn(
        { owner, orphanTimeoutMs: this.options.orphanTimeoutMs },
        'no live balancer owns this server: serving on until one adopts it or ORPHAN_TIMEOUT_MS passes',
      );
      return;
    }
    if (now - this.orphanSince >= this.options.orphanTimeoutMs) {
      this.fired = true;
      this.options.log.warn({ orphanMs: now - this.orphanSince }, 'no balancer adopted this server in time: draining');
      this.options.onTimeout();
    }
  }
}
