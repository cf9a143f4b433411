// Per-room resume points: the last message id seen, the `since` to register with, and duplicate detection.
import { compareMessageIds } from '@chatfleet/protocol';

/** What became of one incoming room message. */
export type CursorVerdict = 'new' | 'duplicate' | 'not-joined';

interface Cursor {
  /** Last message id delivered to the application, if any. */
  last: string | undefined;
  /**
   * Where to resume when nothing was seen yet: the room's newest id when it
   * was first registered (`lastId`), else (empty history, or a server that
   * does not send it) an id made from the server's clock then, minus a
   * margin. Without it a client that saw nothing before a drop would miss
   * what was sent meanwhile.
   */
  floor: string | undefined;
}

/**
 * Tracks the rooms a client is in and the last id it saw in each. Room ids are
 * ordered within a room, so anything at or before the last seen id has been
 * delivered already (a replay overlapping live traffic, or a server bug) and
 * is dropped.
 */
export class RoomCursors {
  readonly #rooms = new Map<string, Cursor>();

  /** Starts tracking a room; keeps the cursor when the room is already tracked. */
  add(room: string): void {
    if (!this.#rooms.has(room)) this.#rooms.set(room, { last: undefined, floor: undefined });
  }

  /** Stops tracking a room and forgets where it was. */
  remove(room: string): boolean {
    return this.#rooms.delete(room);
  }

  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Rooms in the order they were joined. */
  rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  get size(): number {
    return this.#rooms.size;
  }

  /** The last id seen in a room, if any. */
  last(room: string): string | undefined {
    return this.#rooms.get(room)?.last;
  }

  /** The `since` to register with: the last id seen, else the floor set at first registration. */
  since(room: string): string | undefined {
    const cursor = this.#rooms.get(room);
    return cursor === undefined ? undefined : (cursor.last ?? cursor.floor);
  }

  /**
   * Notes a registration confirmed at `serverNowMs` (server clock). The first
   * one sets the floor: the `lastId` the server sent, which is exact; without
   * it `serverNowMs - marginMs`, so a later resume asks for everything from a
   * little before the join.
   */
  registered(room: string, serverNowMs: number, marginMs: number, lastId?: string): void {
    const cursor = this.#rooms.get(room);
    if (cursor === undefined || cursor.last !== undefined || cursor.floor !== undefined) return;
    cursor.floor = lastId ?? `${Math.max(0, Math.floor(serverNowMs - marginMs))}-0`;
  }

  /** Judges an incoming message id and advances the room's cursor when it is new. */
  accept(room: string, id: string): CursorVerdict {
    const cursor = this.#rooms.get(room);
    if (cursor === undefined) return 'not-joined';
    if (cursor.last !== undefined && compareMessageIds(id, cursor.last) <= 0) return 'duplicate';
    cursor.last = id;
    return 'new';
  }
}
