// After the Redis connection comes back: reload the scripts, put this server's share of presence and users online back, write metrics at once.
import { SYNC_SHARES_SCRIPT, syncSharesArgs, type RedisKeys } from '@chatfleet/protocol';
import type { Logger } from './log.js';
import type { LuaScript, Redis } from './lua.js';

/** What the recovery reads from a connection. */
export interface SharedConnection {
  readonly userId: string;
  /** The rooms joined. */
  roomIds(): Iterable<string>;
}

/** What the recovery needs from the server. */
export interface RecoveryHost {
  /** The open connections: the local truth of presence and users online. */
  readonly connections: Iterable<SharedConnection>;
  /** Tells watchers fleet-wide that a user came online or went offline. */
  publishStatus(userId: string, online: boolean): void;
  /** Writes the server's hash, sorted sets and room shares now rather than at the next tick. */
  writeMetricsNow(): void;
  /** True once the server is draining: nothing to put back then. */
  readonly draining: boolean;
}

/** This server's connections per `${chatId} ${userId}` (presence share) and per user (online share). */
export function localShares(connections: Iterable<SharedConnection>): {
  presence: Map<string, number>;
  users: Map<string, number>;
} {
  const presence = new Map<string, number>();
  const users = new Map<string, number>();
  for (const connection of connections) {
    users.set(connection.userId, (users.get(connection.userId) ?? 0) + 1);
    for (const chatId of connection.roomIds()) {
      const field = `${chatId} ${connection.userId}`;
      presence.set(field, (presence.get(field) ?? 0) + 1);
    }
  }
  return { presence, users };
}

/**
 * Makes a server whole again after its Redis connection dropped and came back.
 * The Redis may be a new, empty one (restarted without persistence), so on
 * every reconnect (`ready` after the first connect) the server:
 * - loads its Lua scripts again, so EVALSHA hits instead of NOSCRIPT;
 * - resets its share of `presence:{room}` and `users:online` to its open
 *   connections (SYNC_SHARES_SCRIPT takes the difference inside Redis, so on a
 *   Redis that kept its data this changes nothing) and publishes the online
 *   changes that result;
 * - writes its metrics at once, so the balancer sees a fresh heartbeat, the
 *   server hash, the `servers:*` sorted sets and its room shares without
 *   waiting for the next tick.
 * Room and user subscriptions come back by themselves (node-redis
 * resubscribes); messages published while the connection was down are not
 * redelivered: clients fill that gap from history with `since`.
 */
export class RedisRecovery {
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly scripts: readonly LuaScript[],
    private readonly host: RecoveryHost,
  ) {}

  /** Starts listening for reconnects; call once the first connection is up. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.redis.on('ready', this.onReady);
  }

  /** Stops listening and waits for a recovery in flight. */
  async stop(): Promise<void> {
    this.redis.off('ready', this.onReady);
    await this.running;
  }

  private readonly onReady = (): void => {
    if (this.host.draining) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.log.info('Redis connection is back: restoring this server\'s share of the fleet keys');
    this.running = this.recover()
      .catch((err: unknown) => this.log.warn({ err }, 'restoring the fleet keys failed; the next reconnect tries again'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.onReady();
        }
      });
  };

  private async recover(): Promise<void> {
    await Promise.all(this.scripts.map((script) => this.redis.scriptLoad(script.source)));
    if (this.host.draining) return;
    const { presence, users } = localShares(this.host.connections);
    const reply = (await this.redis.eval(SYNC_SHARES_SCRIPT, syncSharesArgs(this.keys, this.serverId, presence, users))) as unknown;
    const [online, offline] = Array.isArray(reply) ? (reply as unknown[][]) : [[], []];
    for (const userId of online ?? []) this.host.publishStatus(String(userId), true);
    for (const userId of offline ?? []) this.host.publishStatus(String(userId), false);
    this.host.writeMetricsNow();
    this.log.info({ users: users.size, presence: presence.size }, 'restored this server\'s share of the fleet keys');
  }
}
