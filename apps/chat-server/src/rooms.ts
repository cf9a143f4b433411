// Local rooms: membership, one bus subscription per room, the fan-out of room messages, the since-replay seam and gap repair.
import {
  chatFrameId,
  compareMessageIds,
  counterDeltaArgs,
  encodeServerFrame,
  joinChatFrame,
  presenceField,
  presenceMembers,
  registerArgs,
  taggedId,
  type RedisKeys,
  type ServerPayload,
} from '@chatfleet/protocol';
import type { Bus, RedisLink } from '@chatfleet/redis';
import type { ClientConnection as Connection } from './client-connection.js';
import type { Logger } from './log.js';
import { counterDelta, entryPairs, historyAfter, register } from './redis-scripts.js';
import { framesAfter, isAfter } from './replay.js';
import { frameString } from './wire.js';

/**
 * A connection that joined but is not yet live: while its history replays,
 * live frames are kept in `buffer`; after the replay, frames up to `floor`
 * (the last replayed id) are skipped until a newer one arrives.
 */
interface PendingJoin {
  buffer: string[] | undefined;
  floor: string | undefined;
}

/** Counters the rooms add to, owned by the server. */
export interface RoomCounters {
  socketWrites: number;
  fanout: number;
  /** Gap repairs: each pass over the local rooms after the bus may have missed messages. */
  repairs: number;
  /** Room messages the repairs delivered (missed live, found in history). */
  repairedMessages: number;
}

/** Live frames a room holds at most while the bus is in doubt (about a few seconds of a busy room). */
const MAX_HELD = 10_000;

/** One room with local members, subscribed to its channel while it has any. */
class Room {
  readonly members = new Set<Connection>();
  pending: Map<Connection, PendingJoin> | undefined = undefined;
  /** Socket writes for this room since the last metrics write. */
  writes = 0;
  /** Messages this server published to the room since the last metrics write. */
  published = 0;
  /** Resolves once the channel subscription is active. */
  ready: Promise<void> = Promise.resolve();
  /**
   * The newest message id this server delivered in the room, or read as the
   * room's last id at a registration (after the subscription was live): a gap
   * repair reads history after it, and nothing at or before it is delivered again.
   */
  last: string | undefined = undefined;
  /** While a repair reads history, live frames wait here so they go out after the ones it finds. */
  held: string[] | undefined = undefined;

  constructor(
    readonly id: string,
    readonly channel: string,
    private readonly counters: RoomCounters,
  ) {}

  get size(): number {
    return this.members.size + (this.pending === undefined ? 0 : this.pending.size);
  }

  /**
   * A message from the room's channel: one chat frame, or several joined by
   * '\n' when a server published them together. Frames at or before `last`
   * (seen already, e.g. during a repair) are dropped.
   */
  onChannelMessage(message: string): void {
    if (message.indexOf('\n') === -1) this.deliver(message);
    else for (const frame of message.split('\n')) this.deliver(frame);
  }

  /**
   * Delivers one frame to every local member, serialized once, unless it was
   * delivered already. While a repair runs, live frames are held; the repair
   * itself delivers with `now`.
   */
  deliver(frame: string, now = false): void {
    const id = chatFrameId(frame);
    if (id !== undefined) {
      if (this.last !== undefined && compareMessageIds(id, this.last) <= 0) return;
      if (this.held !== undefined && !now) {
        this.held.push(frame);
        // A bus that stays in doubt must not stall a room for good: past this, deliver and repair after.
        if (this.held.length >= MAX_HELD) this.release();
        return;
      }
      this.last = id;
    }
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
  }

  /** Lets the frames held during a repair go, in order, skipping those the repair delivered. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) for (const frame of held) this.deliver(frame);
  }

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

  /** Every local connection in the room, live or still joining. */
  connections(): Connection[] {
    return this.pending === undefined ? [...this.members] : [...this.members, ...this.pending.keys()];
  }
}

/** Room figures for one metrics write. */
export interface RoomFigures {
  /** Local connections per room, now. */
  counts: Map<string, number>;
  /** Socket writes per room since the last call. */
  writes: Map<string, number>;
  /** Messages this server published per room since the last call. */
  published: Map<string, number>;
}

/** The local rooms of one chat server. */
export class Rooms {
  private readonly rooms = new Map<string, Room>();
  /** Writes and publishes of rooms that emptied since the last metrics write. */
  private readonly leftoverWrites = new Map<string, number>();
  private readonly leftoverPublished = new Map<string, number>();
  private repairing: Promise<void> | undefined;
  private repairAgain = false;

  constructor(
    private readonly redis: RedisLink,
    private readonly bus: Bus,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly counters: RoomCounters,
  ) {
    bus.route(keys.room('x').slice(0, -'x}'.length), (message, channel) => {
      const chatId = taggedId(channel);
      if (chatId !== undefined) this.rooms.get(chatId)?.onChannelMessage(message);
    });
  }

  /** Number of rooms with local members. */
  get size(): number {
    return this.rooms.size;
  }

  /** The ids of the rooms with local members. */
  ids(): IterableIterator<string> {
    return this.rooms.keys();
  }

  /** This server's connections of each user in `chatId` (its share of the room's presence). */
  localUsers(chatId: string): Map<string, number> {
    const users = new Map<string, number>();
    for (const connection of this.rooms.get(chatId)?.connections() ?? []) {
      users.set(connection.userId, (users.get(connection.userId) ?? 0) + 1);
    }
    return users;
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
    // The server's share first: it must name every room where this server may hold presence.
    const share = this.redis.run(counterDelta, ...splitArgs(counterDeltaArgs(this.keys.serverRooms(this.serverId), chatId, 1)));
    await Promise.all([room.ready, share]);
    // After `room.ready`, so every message newer than the last id read here reaches this connection.
    const reply = (await this.redis.run(register, ...splitArgs(registerArgs(this.keys, this.serverId, chatId, connection.userId, since)))) as unknown[];
    const members = presenceMembers((reply[0] as unknown[]).map(String));
    const lastId = String(reply[1]);
    room.last ??= lastId;
    if (!still()) return;
    const payload: ServerPayload<'registered'> = { chatId, members, lastId };
    if (since !== undefined) payload.recovered = Number(reply[2]) === 1;
    connection.send(encodeServerFrame('registered', payload));

    let floor: string | undefined;
    if (since !== undefined) {
      const entries = entryPairs(reply, 3);
      for (const [id, tail] of entries) connection.send(joinChatFrame(id, tail));
      room.writes += entries.length;
      floor = entries.length > 0 ? entries[entries.length - 1]![0] : since;
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
    const [fields, newest] = await Promise.all([
      this.redis.commands.hKeys(this.keys.presence(chatId)),
      this.redis.commands.xRevRange(this.keys.history(chatId), '+', '-', { COUNT: 1 }),
    ]);
    const lastId = newest?.[0]?.id;
    const members = presenceMembers(fields.map(String));
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
    // Presence first, then the share: the share must outlast the presence it covers.
    const field = presenceField(this.serverId, connection.userId);
    this.redis
      .run(counterDelta, ...splitArgs(counterDeltaArgs(this.keys.presence(chatId), field, -1)))
      .then(() => this.redis.run(counterDelta, ...splitArgs(counterDeltaArgs(this.keys.serverRooms(this.serverId), chatId, -1))))
      .catch((err: unknown) => this.log.warn({ err, chatId }, 'presence decrement failed'));
    return true;
  }

  /** Leaves every room (on disconnect). */
  leaveAll(connection: Connection): void {
    for (const chatId of connection.roomIds()) this.leave(connection, chatId);
  }

  /** Counts messages this server published to a room (for `chat-rooms:cumulative-messages`). */
  countPublished(chatId: string, n: number): void {
    const room = this.rooms.get(chatId);
    if (room !== undefined) room.published += n;
    else this.leftoverPublished.set(chatId, (this.leftoverPublished.get(chatId) ?? 0) + n);
  }

  /**
   * Fills what the bus may have missed: for every local room, reads history
   * after the last id delivered (once per room, not per client), delivers
   * what is new to the members in order before the live messages held
   * meanwhile, and tells the members when history could not fill the gap
   * (`registered` with `recovered: false`). Runs again if asked while running.
   */
  repairAll(why: string): Promise<void> {
    if (this.repairing !== undefined) {
      this.repairAgain = true;
      return this.repairing;
    }
    this.repairing = this.repairRooms(why).finally(() => {
      this.repairing = undefined;
      if (this.repairAgain) {
        this.repairAgain = false;
        void this.repairAll(`${why} (again)`);
      }
    });
    return this.repairing;
  }

  private async repairRooms(why: string): Promise<void> {
    // Rooms whose channel receives again (the bus says so before announcing a gap); the others stay held.
    const rooms = [...this.rooms.values()].filter((room) => !this.bus.suspected(room.channel));
    this.counters.repairs += 1;
    let found = 0;
    let lost = 0;
    await Promise.all(
      rooms.map(async (room) => {
        room.held ??= [];
        try {
          if (room.last === undefined) return; // no registration done yet: its joins read history themselves
          const reply = (await this.redis.run(historyAfter, [this.keys.history(room.id)], [room.last])) as unknown[];
          for (const [id, tail] of entryPairs(reply, 2)) {
            const before: string | undefined = room.last;
            room.deliver(joinChatFrame(id, tail), true);
            if (room.last !== before) found += 1;
          }
          if (Number(reply[0]) !== 1) {
            lost += 1;
            // Told once: the next repair starts from the history as it is now.
            const newest = String(reply[1]);
            if (compareMessageIds(newest, room.last) > 0) room.last = newest;
            const payload = { ...(await this.registeredPayload(room.id)), recovered: false };
            const frame = encodeServerFrame('registered', payload);
            for (const connection of room.connections()) connection.send(frame);
          }
        } catch (err) {
          this.log.warn({ err, chatId: room.id }, 'gap repair failed; the next notice tries again');
        } finally {
          // Trouble again meanwhile: keep holding; the repair that follows it lets the frames go.
          if (!this.bus.suspected(room.channel)) room.release();
        }
      }),
    );
    this.counters.repairedMessages += found;
    if (found > 0 || lost > 0) {
      this.log.info({ why, rooms: rooms.length, found, historyLost: lost }, 'repaired a bus gap from history');
    } else {
      this.log.debug({ why, rooms: rooms.length }, 'checked rooms for a bus gap: nothing missed');
    }
  }

  /** Local connection counts per room, and writes and publishes since the last call. */
  figures(): RoomFigures {
    const counts = new Map<string, number>();
    const writes = new Map<string, number>(this.leftoverWrites);
    const published = new Map<string, number>(this.leftoverPublished);
    this.leftoverWrites.clear();
    this.leftoverPublished.clear();
    for (const room of this.rooms.values()) {
      counts.set(room.id, room.size);
      if (room.writes > 0) {
        writes.set(room.id, (writes.get(room.id) ?? 0) + room.writes);
        room.writes = 0;
      }
      if (room.published > 0) {
        published.set(room.id, (published.get(room.id) ?? 0) + room.published);
        room.published = 0;
      }
    }
    return { counts, writes, published };
  }

  /** Puts figures back after a failed metrics write, so they are counted next time. */
  restore(figures: RoomFigures): void {
    for (const [chatId, n] of figures.writes) this.leftoverWrites.set(chatId, (this.leftoverWrites.get(chatId) ?? 0) + n);
    for (const [chatId, n] of figures.published) this.leftoverPublished.set(chatId, (this.leftoverPublished.get(chatId) ?? 0) + n);
  }

  /**
   * The bus may be missing messages on some channels from now on: every room
   * on them holds its live frames until the repair has delivered what history
   * has before them. Otherwise a message arriving live after a reconnect would
   * be delivered first, and move the room's `last` past the very gap the
   * repair must fill.
   */
  hold(): void {
    for (const room of this.rooms.values()) if (this.bus.suspected(room.channel)) room.held ??= [];
  }

  private open(chatId: string): Room {
    const room = new Room(chatId, this.keys.room(chatId), this.counters);
    if (this.bus.suspected(room.channel)) room.held = [];
    this.rooms.set(chatId, room);
    room.ready = this.bus.subscribe(room.channel);
    room.ready.catch((err: unknown) => this.log.error({ err, chatId }, 'room subscribe failed'));
    return room;
  }

  private close(room: Room): void {
    this.rooms.delete(room.id);
    if (room.writes > 0) this.leftoverWrites.set(room.id, (this.leftoverWrites.get(room.id) ?? 0) + room.writes);
    if (room.published > 0) this.leftoverPublished.set(room.id, (this.leftoverPublished.get(room.id) ?? 0) + room.published);
    this.bus.unsubscribe(room.channel).catch((err: unknown) => this.log.warn({ err, chatId: room.id }, 'room unsubscribe failed'));
  }
}

/** `{ keys, arguments }` as the two arrays RedisLink.run takes. */
export function splitArgs(args: { keys: string[]; arguments: string[] }): [string[], string[]] {
  return [args.keys, args.arguments];
}
