// Local rooms: membership, one Redis subscription per room, the fan-out of channel messages, and the since-replay seam.
import {
  encodeServerFrame,
  joinChatFrame,
  presenceDeltaArgs,
  PRESENCE_DELTA_SCRIPT,
  type RedisKeys,
  type ServerPayload,
} from '@chatfleet/protocol';
import type { Connection } from './connection.js';
import type { Logger } from './log.js';
import { LuaScript, type Redis } from './lua.js';
import { framesAfter, isAfter } from './replay.js';
import { frameString } from './wire.js';

export const presenceDelta = new LuaScript(PRESENCE_DELTA_SCRIPT);

/**
 * A connection that joined but is not yet live: while its history replays,
 * live frames are kept in `buffer`; after the replay, frames up to `floor`
 * (the last replayed id) are skipped until a newer one arrives.
 */
interface PendingJoin {
  buffer: string[] | undefined;
  floor: string | undefined;
}

/** One room with local members, subscribed to its channel while it has any. */
class Room {
  readonly members = new Set<Connection>();
  pending: Map<Connection, PendingJoin> | undefined = undefined;
  /** Socket writes for this room since the last metrics write. */
  writes = 0;
  /** Resolves once the channel subscription is active. */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly channel: string,
    private readonly counters: { socketWrites: number; fanout: number },
  ) {}

  get size(): number {
    return this.members.size + (this.pending === undefined ? 0 : this.pending.size);
  }

  /** The channel listener: forwards the frame as is to every local member, serialized once. */
  readonly deliver = (frame: string): void => {
    this.counters.fanout += 1;
    const members = this.members;
    if (members.size > 0) {
      const framed = frameString(frame);
      for (const connection of members) connection.sendFramed(framed);
      this.writes += members.size;
    }
    const pending = this.pending;
    if (pending === undefined) return;
    for (const [connection, join] of pending) {
      if (join.buffer !== undefined) {
        join.buffer.push(frame);
      } else if (isAfter(frame, join.floor)) {
        connection.send(frame);
        this.writes += 1;
        this.promote(connection);
      }
    }
  };

  promote(connection: Connection): void {
    this.pending?.delete(connection);
    if (this.pending?.size === 0) this.pending = undefined;
    this.members.add(connection);
  }

  remove(connection: Connection): void {
    if (!this.members.delete(connection) && this.pending?.delete(connection) === true && this.pending.size === 0) {
      this.pending = undefined;
    }
  }
}

/** Room figures for one metrics write. */
export interface RoomFigures {
  /** Local connections per room, now. */
  counts: Map<string, number>;
  /** Socket writes per room since the last call. */
  writes: Map<string, number>;
}

/** The local rooms of one chat server. */
export class Rooms {
  private readonly rooms = new Map<string, Room>();
  /** Writes of rooms that emptied since the last metrics write. */
  private readonly leftoverWrites = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly counters: { socketWrites: number; fanout: number },
  ) {}

  /** Number of rooms with local members. */
  get size(): number {
    return this.rooms.size;
  }

  /**
   * Joins `connection` to `chatId` and answers `registered`; with `since`,
   * replays history after it, then live messages, none lost and none twice.
   * A connection already in the room just gets `registered` again: it has
   * been receiving the room live, so a replay could only repeat messages.
   */
  async join(connection: Connection, chatId: string, since: string | undefined): Promise<void> {
    if (connection.inRoom(chatId)) {
      connection.send(encodeServerFrame('registered', await this.registeredPayload(chatId)));
      return;
    }
    connection.addRoom(chatId);
    const room = this.rooms.get(chatId) ?? this.open(chatId);
    const join: PendingJoin = { buffer: [], floor: undefined };
    (room.pending ??= new Map()).set(connection, join);

    try {
      await this.replayAndGoLive(room, connection, chatId, since, join);
    } catch (error) {
      if (room.pending?.get(connection) === join) this.leave(connection, chatId);
      throw error;
    }
  }

  private async replayAndGoLive(
    room: Room,
    connection: Connection,
    chatId: string,
    since: string | undefined,
    join: PendingJoin,
  ): Promise<void> {
    const still = (): boolean => room.pending?.get(connection) === join;
    await Promise.all([
      room.ready,
      presenceDelta.run(this.redis, presenceDeltaArgs(this.keys, this.serverId, chatId, connection.userId, 1)),
    ]);
    // After the increment, so the member list includes this connection's user; after
    // `room.ready`, so every message newer than `lastId` reaches this connection.
    const payload = await this.registeredPayload(chatId);
    if (!still()) return;
    connection.send(encodeServerFrame('registered', payload));

    let floor: string | undefined;
    if (since !== undefined) {
      const entries = (await this.redis.xRange(this.keys.history(chatId), `(${since}`, '+')) ?? [];
      if (!still()) return;
      for (const entry of entries) {
        const tail = entry.message['t'];
        if (typeof tail === 'string') connection.send(joinChatFrame(entry.id, tail));
      }
      room.writes += entries.length;
      floor = entries.length > 0 ? entries[entries.length - 1]!.id : since;
    }
    const live = framesAfter(join.buffer ?? [], floor);
    join.buffer = undefined;
    for (const frame of live) connection.send(frame);
    room.writes += live.length;
    if (floor === undefined || live.length > 0) room.promote(connection);
    else join.floor = floor;
  }

  /** The `registered` payload: the room's members fleet-wide and the id of its newest history entry. */
  private async registeredPayload(chatId: string): Promise<ServerPayload<'registered'>> {
    const [members, newest] = await Promise.all([
      this.redis.hKeys(this.keys.presence(chatId)),
      this.redis.xRevRange(this.keys.history(chatId), '+', '-', { COUNT: 1 }),
    ]);
    const lastId = newest?.[0]?.id;
    return lastId === undefined ? { chatId, members } : { chatId, members, lastId };
  }

  /** Leaves one room; returns false when the connection was not in it. */
  leave(connection: Connection, chatId: string): boolean {
    if (!connection.removeRoom(chatId)) return false;
    const room = this.rooms.get(chatId);
    if (room !== undefined) {
      room.remove(connection);
      if (room.size === 0) this.close(room);
    }
    presenceDelta
      .run(this.redis, presenceDeltaArgs(this.keys, this.serverId, chatId, connection.userId, -1))
      .catch((err: unknown) => this.log.warn({ err, chatId }, 'presence decrement failed'));
    return true;
  }

  /** Leaves every room (on disconnect). */
  leaveAll(connection: Connection): void {
    for (const chatId of connection.roomIds()) this.leave(connection, chatId);
  }

  /** Local connection counts per room and writes since the last call. */
  figures(): RoomFigures {
    const counts = new Map<string, number>();
    const writes = new Map<string, number>(this.leftoverWrites);
    this.leftoverWrites.clear();
    for (const room of this.rooms.values()) {
      counts.set(room.id, room.size);
      if (room.writes > 0) {
        writes.set(room.id, (writes.get(room.id) ?? 0) + room.writes);
        room.writes = 0;
      }
    }
    return { counts, writes };
  }

  /** Puts writes back after a failed metrics write, so they are counted next time. */
  restoreWrites(writes: Map<string, number>): void {
    for (const [chatId, n] of writes) this.leftoverWrites.set(chatId, (this.leftoverWrites.get(chatId) ?? 0) + n);
  }

  private open(chatId: string): Room {
    const room = new Room(chatId, this.keys.room(chatId), this.counters);
    this.rooms.set(chatId, room);
    room.ready = this.subscriber.subscribe(room.channel, room.deliver);
    room.ready.catch((err: unknown) => this.log.error({ err, chatId }, 'room subscribe failed'));
    return room;
  }

  private close(room: Room): void {
    this.rooms.delete(room.id);
    if (room.writes > 0) this.leftoverWrites.set(room.id, (this.leftoverWrites.get(room.id) ?? 0) + room.writes);
    this.subscriber
      .unsubscribe(room.channel, room.deliver)
      .catch((err: unknown) => this.log.warn({ err, chatId: room.id }, 'room unsubscribe failed'));
  }
}
