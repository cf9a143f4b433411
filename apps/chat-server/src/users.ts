// Users seen by this server: online counting, `user:{id}` subscriptions, direct messages and watched status.
import {
  encodeServerFrame,
  ErrorCode,
  Limits,
  onlineDeltaArgs,
  ONLINE_DELTA_SCRIPT,
  userEventSchema,
  type RedisKeys,
  type UserEvent,
} from '@chatfleet/protocol';
import type { Connection } from './connection.js';
import type { Logger } from './log.js';
import { LuaScript, type Redis } from './lua.js';
import { frameString } from './wire.js';

export const onlineDelta = new LuaScript(ONLINE_DELTA_SCRIPT);

/**
 * One user with a local connection or a local watcher; subscribed to
 * `user:{id}` while it has either. Kept small: there is one per connected
 * user, so its one connection is held as is (a set only from the second),
 * and the watcher set and the subscription promise exist only when used.
 */
class LocalUser {
  private held: Connection | Set<Connection> | undefined = undefined;
  watchers: Set<Connection> | undefined = undefined;
  /** Until the channel subscription is active. */
  ready: Promise<void> | undefined = undefined;

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
  }

  /** Writes one framed message to each of the user's connections. */
  sendFramed(frame: Buffer): void {
    const held = this.held;
    if (held instanceof Set) for (const connection of held) connection.sendFramed(frame);
    else held?.sendFramed(frame);
  }
}

/** How node-redis keeps a channel's listeners (the argument of `extendPubSubChannelListeners`). */
type ChannelListeners = Parameters<Redis['extendPubSubChannelListeners']>[2];

/** The users of one chat server. */
export class Users {
  private readonly users = new Map<string, LocalUser>();
  private directSeq = 0;
  /** Length of a user channel's name before the user id (`<prefix>user:`). */
  private readonly channelHead: number;
  /** UNSUBSCRIBEs in flight, by user: a new subscription to the same channel waits for its one. */
  private readonly unsubscribing = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly log: Logger,
  ) {
    this.channelHead = keys.user('x').length - 1;
  }

  /** Counts a new connection online and subscribes to its user's channel. */
  connect(connection: Connection): void {
    const user = this.users.get(connection.userId) ?? this.open(connection.userId);
    user.add(connection);
    onlineDelta
      .run(this.redis, onlineDeltaArgs(this.keys, this.serverId, connection.userId, 1))
      .then((left) => {
        if (left === 1) this.publishStatus(connection.userId, true);
      })
      .catch((err: unknown) => this.log.warn({ err }, 'online increment failed'));
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
    onlineDelta
      .run(this.redis, onlineDeltaArgs(this.keys, this.serverId, userId, -1))
      .then((left) => {
        if (left === 0) this.publishStatus(userId, false);
      })
      .catch((err: unknown) => this.log.warn({ err }, 'online decrement failed'));
  }

  /** Sends a direct message to every connection of `to`, fleet-wide, and acks the sender. */
  async direct(connection: Connection, to: string, message: string, clientId: string | undefined): Promise<void> {
    this.directSeq += 1;
    const ts = Date.now();
    const id = `${ts}-${this.directSeq}@${this.serverId}`;
    const payload = { id, from: connection.userId, to, message, ts, ...(clientId === undefined ? {} : { clientId }) };
    const event: UserEvent = { kind: 'direct', payload };
    await this.redis.publish(this.keys.user(to), JSON.stringify(event));
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
    const counts = await this.redis.hmGet(this.keys.usersOnline, [...userIds]);
    userIds.forEach((userId, i) => {
      const count = counts[i];
      connection.send(encodeServerFrame('status', { userId, online: count !== null && Number(count) > 0 }));
    });
  }

  /** Publishes a user's online change on its channel, for watchers on every server. */
  publishStatus(userId: string, online: boolean): void {
    const event: UserEvent = { kind: 'status', userId, online };
    this.redis
      .publish(this.keys.user(userId), JSON.stringify(event))
      .catch((err: unknown) => this.log.warn({ err, userId }, 'status publish failed'));
  }

  /** The one listener of every user channel: node-redis passes the channel, which names the user. */
  private readonly onMessage = (message: string, channel: string): void => {
    const user = this.users.get(channel.slice(this.channelHead));
    if (user !== undefined) this.onEvent(user, message);
  };

  /**
   * The listeners of every user channel in node-redis: one object for all of
   * them, where `subscribe(channel, listener)` would make an object and two
   * sets per channel, i.e. per connected user. Nothing in node-redis changes
   * it as long as user channels are only subscribed with it and unsubscribed
   * without a listener (which drops the channel's entry whole).
   */
  private readonly channelListeners: ChannelListeners = {
    unsubscribing: false,
    buffers: new Set(),
    strings: new Set([this.onMessage]),
  };

  private onEvent(user: LocalUser, message: string): void {
    let event: UserEvent;
    try {
      const parsed = userEventSchema.safeParse(JSON.parse(message));
      if (!parsed.success) throw parsed.error;
      event = parsed.data;
    } catch (err) {
      this.log.warn({ err, userId: user.id }, 'ignoring a malformed user event');
      return;
    }
    if (event.kind === 'direct') {
      if (!user.hasConnections) return;
      user.sendFramed(frameString(encodeServerFrame('direct', event.payload)));
    } else {
      if (user.watchers === undefined || user.watchers.size === 0) return;
      const frame = frameString(encodeServerFrame('status', { userId: event.userId, online: event.online }));
      for (const connection of user.watchers) connection.sendFramed(frame);
    }
  }

  private open(userId: string): LocalUser {
    const user = new LocalUser(userId);
    this.users.set(userId, user);
    // After an UNSUBSCRIBE of the same channel still in flight, node-redis would take this
    // subscription for done and then drop the channel when that reply comes: wait for it.
    const pending = this.unsubscribing.get(userId);
    const ready =
      pending === undefined
        ? this.subscribeChannel(userId)
        : pending.then(() => (this.users.get(userId) === user ? this.subscribeChannel(userId) : undefined));
    user.ready = ready;
    ready.then(
      () => {
        if (user.ready === ready) user.ready = undefined;
      },
      (err: unknown) => this.log.error({ err, userId }, 'user subscribe failed'),
    );
    return user;
  }

  private subscribeChannel(userId: string): Promise<void> {
    return this.subscriber.extendPubSubChannelListeners('CHANNELS', this.keys.user(userId), this.channelListeners);
  }

  private closeIfUnused(user: LocalUser): void {
    if (user.hasConnections || (user.watchers !== undefined && user.watchers.size > 0)) return;
    this.users.delete(user.id);
    const userId = user.id;
    const done = this.subscriber
      .unsubscribe(this.keys.user(userId))
      .catch((err: unknown) => this.log.warn({ err, userId }, 'user unsubscribe failed'))
      .finally(() => {
        if (this.unsubscribing.get(userId) === done) this.unsubscribing.delete(userId);
      });
    this.unsubscribing.set(userId, done);
  }
}
