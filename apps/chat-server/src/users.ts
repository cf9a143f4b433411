// Users seen by this server: online counting, `user:{id}` subscriptions, direct messages with their history, watched status.
import {
  compareMessageIds,
  counterDeltaArgs,
  directFrameId,
  DIRECT_FRAME_HEAD,
  encodeDirectFrameTail,
  encodeServerFrame,
  ErrorCode,
  joinDirectFrame,
  Limits,
  onlineDeltaArgs,
  publishDirectArgs,
  taggedId,
  type RedisKeys,
} from '@chatfleet/protocol';
import type { Bus, RedisLink } from '@chatfleet/redis';
import type { ClientConnection as Connection } from './client-connection.js';
import type { Durability } from './durability.js';
import type { Logger } from './log.js';
import { counterDelta, directsFrom, entryPairs, onlineDelta, publishDirect } from './redis-scripts.js';
import { splitArgs } from './rooms.js';
import { frameString } from './wire.js';

/**
 * One user with a local connection or a local watcher; subscribed to
 * `user:{id}` while it has either. Kept small: there is one per connected
 * user, so its one connection is held as is (a set only from the second),
 * and the watcher set, the replays and the subscription promise exist only when used.
 */
class LocalUser {
  private held: Connection | Set<Connection> | undefined = undefined;
  watchers: Set<Connection> | undefined = undefined;
  /** Until the channel subscription is active. */
  ready: Promise<void> | undefined = undefined;
  /**
   * The newest direct message id delivered here to this user (or the user's
   * newest at connect time): a gap repair reads the user's history after it,
   * and nothing at or before it is delivered again.
   */
  lastDirect: string | undefined = undefined;
  /** Connections still replaying their direct history: live directs wait in their buffers. */
  replaying: Map<Connection, string[]> | undefined = undefined;
  /** What watchers were last told of this user's status. */
  knownOnline: boolean | undefined = undefined;
  /** While the bus may be missing messages: live directs wait here until the repair (see Rooms.hold). */
  waiting: string[] | undefined = undefined;

  constructor(readonly id: string) {}

  get hasConnections(): boolean {
    return this.held !== undefined;
  }

  add(connection: Connection): void {
    const held = this.held;
    if (held === undefined) this.held = connection;
    else if (held instanceof Set) held.add(connection);
    else if (held !== connection) this.held = new Set([held, connection]);
  }

  delete(connection: Connection): void {
    const held = this.held;
    if (held === connection) this.held = undefined;
    else if (held instanceof Set && held.delete(connection) && held.size === 0) this.held = undefined;
    this.replaying?.delete(connection);
  }

  /** Lets the held directs go, in order, skipping those a repair delivered. */
  release(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting !== undefined) for (const frame of waiting) this.deliverDirect(frame);
  }

  connections(): Connection[] {
    const held = this.held;
    return held === undefined ? [] : held instanceof Set ? [...held] : [held];
  }

  /**
   * Delivers a direct frame to the user's connections once, in id order;
   * replaying connections get it after their replay. While held (the bus is
   * in doubt), live frames wait; a repair delivers with `now`.
   */
  deliverDirect(frame: string, now = false): boolean {
    const id = directFrameId(frame);
    if (id !== undefined) {
      if (this.lastDirect !== undefined && compareMessageIds(id, this.lastDirect) <= 0) return false;
      if (this.waiting !== undefined && !now) {
        this.waiting.push(frame);
        if (this.waiting.length >= 1000) this.release();
        return true;
      }
      this.lastDirect = id;
    }
    let framed: Buffer | undefined;
    for (const connection of this.connections()) {
      const buffer = this.replaying?.get(connection);
      if (buffer !== undefined) buffer.push(frame);
      else connection.sendFramed((framed ??= frameString(frame)));
    }
    return true;
  }
}

/** The users of one chat server. */
export class Users {
  private readonly users = new Map<string, LocalUser>();
  /** How a status frame says online, read without parsing the frame. */
  private static readonly ONLINE_TRUE = '"online":true';

  constructor(
    private readonly redis: RedisLink,
    private readonly bus: Bus,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly durability: Durability,
    private readonly historyLimit: number,
  ) {
    bus.route(keys.user('x').slice(0, -'x}'.length), (message, channel) => {
      const userId = taggedId(channel);
      const user = userId === undefined ? undefined : this.users.get(userId);
      if (user !== undefined) this.onEvent(user, message);
    });
  }

  /** Local connections per user (this server's share of `online:{user}`). */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const user of this.users.values()) {
      const n = user.connections().length;
      if (n > 0) counts.set(user.id, n);
    }
    return counts;
  }

  /**
   * Counts a new connection online, subscribes to its user's channel, calls
   * `live` once both are done (or failed: the connection goes on without
   * them), and replays the direct messages it is owed: those after `sinceDirect` when
   * it resumes, else those that arrived while the user had no connection
   * anywhere. Live directs wait until the replay is done; none is lost or
   * sent twice.
   */
  async connect(connection: Connection, sinceDirect: string | undefined, live: () => void): Promise<void> {
    const userId = connection.userId;
    const user = this.users.get(userId) ?? this.open(userId);
    user.add(connection);
    const buffer: string[] = [];
    (user.replaying ??= new Map()).set(connection, buffer);
    let told = false;
    const tell = (): void => {
      if (told) return;
      told = true;
      live();
    };
    try {
      const share = this.redis.run(counterDelta, ...splitArgs(counterDeltaArgs(this.keys.serverUsers(this.serverId), userId, 1)));
      // After the subscription is live, so every direct newer than what is read here arrives live.
      await Promise.all([user.ready, share]);
      const [, marker, newest] = (await this.redis.run(
        onlineDelta,
        ...splitArgs(onlineDeltaArgs(this.keys, this.serverId, userId, 1, this.redis.publishCommand)),
      )) as [number, string, string];
      // Live from here on: every direct sent to the user from now reaches this connection.
      tell();
      const start = sinceDirect !== undefined ? `(${sinceDirect}` : marker !== '' ? marker : undefined;
      const entries =
        start === undefined ? [] : entryPairs((await this.redis.run(directsFrom, [this.keys.directs(userId)], [start])) as unknown[], 0);
      if (user.replaying?.get(connection) !== buffer) return; // gone meanwhile
      let floor: string | undefined;
      for (const [id, tail] of entries) {
        connection.send(joinDirectFrame(id, tail));
        floor = id;
      }
      user.replaying.delete(connection);
      if (user.replaying.size === 0) user.replaying = undefined;
      for (const frame of buffer) {
        const id = directFrameId(frame);
        if (floor === undefined || id === undefined || compareMessageIds(id, floor) > 0) connection.send(frame);
      }
      // The repair's starting point: nothing at or before the newest direct read here needs repairing.
      const seen = floor ?? (newest === '' ? '0-0' : newest);
      if (user.lastDirect === undefined || compareMessageIds(seen, user.lastDirect) > 0) user.lastDirect = seen;
    } catch (error) {
      user.replaying?.delete(connection);
      this.log.warn({ err: error, userId }, 'counting a connection online failed');
    } finally {
      tell();
    }
  }

  /** Undoes `connect` and any watches of a closed connection. */
  disconnect(connection: Connection): void {
    const userId = connection.userId;
    const user = this.users.get(userId);
    if (user !== undefined) {
      user.delete(connection);
      this.closeIfUnused(user);
    }
    if (connection.watched !== undefined) {
      for (const watchedId of connection.watched) {
        const watched = this.users.get(watchedId);
        if (watched === undefined) continue;
        watched.watchers?.delete(connection);
        this.closeIfUnused(watched);
      }
      connection.watched = undefined;
    }
    // Online first, then the share: the share must outlast what it covers.
    this.redis
      .run(onlineDelta, ...splitArgs(onlineDeltaArgs(this.keys, this.serverId, userId, -1, this.redis.publishCommand)))
      .then(() => this.redis.run(counterDelta, ...splitArgs(counterDeltaArgs(this.keys.serverUsers(this.serverId), userId, -1))))
      .catch((err: unknown) => this.log.warn({ err }, 'online decrement failed'));
  }

  /**
   * Keeps a direct message in the recipient's history, sends it to every
   * connection of `to` fleet-wide, and acks the sender once it is kept (and,
   * with DURABLE_ACKS, replicated). Resolves false when it was refused.
   */
  async direct(connection: Connection, to: string, message: string, clientId: string | undefined): Promise<void> {
    const tail = encodeDirectFrameTail({ from: connection.userId, to, message, ts: Date.now(), ...(clientId === undefined ? {} : { clientId }) });
    const args = publishDirectArgs(this.keys, to, tail, this.historyLimit, this.redis.publishCommand);
    if (!this.durability.accepting(args.keys[0]!)) {
      connection.sendError(ErrorCode.unavailable, this.durability.refusal('direct', clientId), clientId);
      return;
    }
    const id = String(await this.redis.run(publishDirect, ...splitArgs(args)));
    if (!(await this.durability.confirm(args.keys[0]!))) {
      connection.sendError(ErrorCode.unavailable, this.durability.unconfirmed('direct', clientId, id), clientId);
      return;
    }
    connection.send(encodeServerFrame('ack', clientId === undefined ? { id } : { clientId, id }));
  }

  /** Watches users' online status; answers one `status` per user at once. */
  async watch(connection: Connection, userIds: readonly string[]): Promise<void> {
    const watched = (connection.watched ??= new Set());
    const fresh = userIds.filter((id) => !watched.has(id));
    if (watched.size + new Set(fresh).size > Limits.maxWatchedUsers) {
      connection.sendError(ErrorCode.tooMany, `a connection may watch up to ${Limits.maxWatchedUsers} users`);
      return;
    }
    const waits: Promise<void>[] = [];
    for (const id of fresh) {
      watched.add(id);
      const user = this.users.get(id) ?? this.open(id);
      (user.watchers ??= new Set()).add(connection);
      if (user.ready !== undefined) waits.push(user.ready);
    }
    await Promise.all(waits);
    if (userIds.length === 0) return;
    const online = await Promise.all(userIds.map((userId) => this.isOnline(userId)));
    userIds.forEach((userId, i) => {
      const user = this.users.get(userId);
      if (user !== undefined) user.knownOnline = online[i];
      connection.send(encodeServerFrame('status', { userId, online: online[i]! }));
    });
  }

  /** The bus may be missing messages on some channels: users on them hold their live directs until the repair (see Rooms.hold). */
  hold(): void {
    for (const user of this.users.values()) if (this.bus.suspected(this.keys.user(user.id))) user.waiting ??= [];
  }

  /**
   * Fills what the bus may have missed for local users: direct messages after
   * the last one delivered (once per user, not per connection), and the
   * status of watched users where it changed unseen.
   */
  async repairAll(): Promise<void> {
    const users = [...this.users.values()].filter((user) => !this.bus.suspected(this.keys.user(user.id)));
    await Promise.all(
      users.map(async (user) => {
        user.waiting ??= [];
        try {
          if (user.hasConnections && user.lastDirect !== undefined) {
            const entries = entryPairs((await this.redis.run(directsFrom, [this.keys.directs(user.id)], [`(${user.lastDirect}`])) as unknown[], 0);
            for (const [id, tail] of entries) user.deliverDirect(joinDirectFrame(id, tail), true);
          }
          if (user.watchers !== undefined && user.watchers.size > 0) {
            const online = await this.isOnline(user.id);
            if (online !== user.knownOnline) this.tellWatchers(user, online);
          }
        } catch (err) {
          this.log.warn({ err, userId: user.id }, 'direct message repair failed; the next notice tries again');
        } finally {
          if (!this.bus.suspected(this.keys.user(user.id))) user.release();
        }
      }),
    );
  }

  private async isOnline(userId: string): Promise<boolean> {
    return (await this.redis.commands.exists(this.keys.online(userId))) > 0;
  }

  private tellWatchers(user: LocalUser, online: boolean): void {
    user.knownOnline = online;
    if (user.watchers === undefined || user.watchers.size === 0) return;
    const frame = frameString(encodeServerFrame('status', { userId: user.id, online }));
    for (const connection of user.watchers) connection.sendFramed(frame);
  }

  /** A message on a user channel: a direct frame for the user, or a status frame about the user. */
  private onEvent(user: LocalUser, message: string): void {
    if (message.startsWith(DIRECT_FRAME_HEAD)) {
      if (user.hasConnections) user.deliverDirect(message);
      return;
    }
    if (user.watchers === undefined || user.watchers.size === 0) return;
    this.tellWatchers(user, message.includes(Users.ONLINE_TRUE));
  }

  private open(userId: string): LocalUser {
    const user = new LocalUser(userId);
    if (this.bus.suspected(this.keys.user(userId))) user.waiting = [];
    this.users.set(userId, user);
    const ready = this.bus.subscribe(this.keys.user(userId));
    user.ready = ready;
    ready.then(
      () => {
        if (user.ready === ready) user.ready = undefined;
      },
      (err: unknown) => this.log.error({ err, userId }, 'user subscribe failed'),
    );
    return user;
  }

  private closeIfUnused(user: LocalUser): void {
    if (user.hasConnections || (user.watchers !== undefined && user.watchers.size > 0)) return;
    this.users.delete(user.id);
    this.bus.unsubscribe(this.keys.user(user.id)).catch((err: unknown) => this.log.warn({ err, userId: user.id }, 'user unsubscribe failed'));
  }
}
