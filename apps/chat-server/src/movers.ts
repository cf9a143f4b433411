// Which connections a room-aware redistribute moves, and where each connection of a draining server goes.
import type { DrainRoute, RoomMove } from '@chatfleet/protocol';

/** What the choice needs to know about a connection. */
export interface Movable {
  readonly closing: boolean;
  readonly moving: boolean;
  readonly roomCount: number;
  roomIds(): string[];
}

/**
 * Picks the connections a redistribute moves. With `moves`, up to `n` members
 * of each listed room, members of that room alone first (moving a member of
 * several rooms moves it out of all of them), then oldest first; a connection
 * counts once however many listed rooms it is in; at most `cap` in all.
 * Without `moves`, the first `cap` connections. Connections closing or
 * already moving are never picked. Returns the picks with the room each was
 * picked for (undefined without moves).
 */
export function pickMovers<C extends Movable>(
  connections: Iterable<C>,
  moves: readonly RoomMove[] | undefined,
  cap: number,
): Array<{ connection: C; room: string | undefined }> {
  const picked: Array<{ connection: C; room: string | undefined }> = [];
  if (cap <= 0) return picked;
  if (moves === undefined) {
    for (const connection of connections) {
      if (picked.length >= cap) break;
      if (!connection.closing && !connection.moving) picked.push({ connection, room: undefined });
    }
    return picked;
  }
  const wanted = new Map<string, C[]>();
  for (const move of moves) if (move.n > 0) wanted.set(move.room, []);
  // One pass over the connections, in age order, collecting each listed room's candidates.
  for (const connection of connections) {
    if (connection.closing || connection.moving) continue;
    for (const room of connection.roomIds()) wanted.get(room)?.push(connection);
  }
  const taken = new Set<C>();
  for (const move of moves) {
    const candidates = wanted.get(move.room);
    if (candidates === undefined) continue;
    // Stable: single-room members first, each group oldest first.
    const ordered = [...candidates].sort((a, b) => a.roomCount - b.roomCount);
    let n = 0;
    for (const connection of ordered) {
      if (n >= move.n || picked.length >= cap) break;
      if (taken.has(connection)) continue;
      taken.add(connection);
      picked.push({ connection, room: move.room });
      n++;
    }
    if (picked.length >= cap) break;
  }
  return picked;
}

/**
 * The target of one connection of a draining server: the route of the first
 * of its rooms that has one, else undefined (the caller uses the drain's
 * redirect, or spreads it over the peers).
 */
export function routeOf(rooms: readonly string[], routes: ReadonlyMap<string, string>): string | undefined {
  for (const room of rooms) {
    const redirect = routes.get(room);
    if (redirect !== undefined) return redirect;
  }
  return undefined;
}

/** The routes of a drain command as a map from room to redirect. */
export function routeMap(routes: readonly DrainRoute[] | undefined): Map<string, string> {
  return new Map((routes ?? []).map((r) => [r.room, r.redirect]));
}
