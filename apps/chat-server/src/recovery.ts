// After a Redis connection comes back: put this server's share of presence and users online back, write metrics at once.
import { replaceCountsArgs, syncOnlineArgs, syncPresenceArgs, type RedisKeys } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';
import type { Logger } from './log.js';
import { ALL_SCRIPTS, replaceHash, syncOnline, syncPresence } from './redis-scripts.js';
import { splitArgs } from './rooms.js';

/** What the recovery needs from the server: its local truth, read when a recovery runs. */
export interface RecoveryHost {
  /** Local connections per room. */
  roomCounts(): Map<string, number>;
  /** This server's connections of each user in a room. */
  roomUsers(chatId: string): Map<string, number>;
  /** Local connections per user. */
  userCounts(): Map<string, number>;
  /** Writes the server's hash, sorted sets and shares now rather than at the next tick. */
  writeMetricsNow(): void;
  /** True once the server is draining: nothing to put back then. */
  readonly draining: boolean;
}

/**
 * Makes a server whole again after a Redis connection dropped and came back,
 * or a Sentinel group failed over. The Redis may have lost data (restarted
 * empty, or a promoted replica that missed the last writes), so on every
 * `up` of the link the server:
 * - rewrites its shares `server:{id}:rooms` and `server:{id}:users`;
 * - sets its fields of each local room's `presence:{room}` and each local
 *   user's `online:{user}` to its open connections (the scripts publish the
 *   online changes that result, and change nothing on a Redis that kept its data);
 * - writes its metrics at once, so the balancer sees a fresh heartbeat.
 * Messages the bus missed meanwhile are the bus's business: it announces a
 * gap, and the rooms and users fill it from history.
 */
export class RedisRecovery {
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(
    private readonly redis: RedisLink,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly host: RecoveryHost,
  ) {}

  /** Starts listening for reconnects; call once the first connection is up. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.redis.on('up', this.onUp);
  }

  /** Stops listening and waits for a recovery in flight. */
  async stop(): Promise<void> {
    this.redis.off('up', this.onUp);
    await this.running;
  }

  private readonly onUp = (why: string): void => {
    if (this.host.draining) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.log.info({ why }, "Redis is back: restoring this server's share of the fleet keys");
    this.running = this.recover()
      .catch((err: unknown) => this.log.warn({ err }, 'restoring the fleet keys failed; the next reconnect tries again'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.onUp('again');
        }
      });
  };

  private async recover(): Promise<void> {
    if (this.host.draining) return;
    const { redis, keys, serverId } = this;
    await redis.load(ALL_SCRIPTS);
    const rooms = this.host.roomCounts();
    const users = this.host.userCounts();
    // Shares first: they must name every room and user this server is about to hold presence for.
    await Promise.all([
      redis.run(replaceHash, ...splitArgs(replaceCountsArgs(keys.serverRooms(serverId), rooms))),
      redis.run(replaceHash, ...splitArgs(replaceCountsArgs(keys.serverUsers(serverId), users))),
    ]);
    await Promise.all([
      ...[...rooms.keys()].map((chatId) =>
        redis.run(syncPresence, ...splitArgs(syncPresenceArgs(keys, serverId, chatId, this.host.roomUsers(chatId)))),
      ),
      ...[...users].map(([userId, count]) =>
        redis.run(syncOnline, ...splitArgs(syncOnlineArgs(keys, serverId, userId, count, redis.publishCommand))),
      ),
    ]);
    this.host.writeMetricsNow();
    this.log.info({ rooms: rooms.size, users: users.size }, "restored this server's share of the fleet keys");
  }
}
