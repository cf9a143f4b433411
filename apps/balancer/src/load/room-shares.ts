// Builds the planner's room view from what the balancer reads: each server's `server:{id}:rooms` share and each room's messages/s.
import type { PlacementRoom } from './placement.js';

/** The rooms as the placement planner, the policy and the capacity planner take them. */
export interface RoomShares {
  /** Room -> its messages/s and members per server. */
  rooms: Map<string, PlacementRoom>;
  /** Rooms with members on more than one server (`PlacementInput.splitRooms`). */
  splitRooms: Set<string>;
  /** Room -> servers holding members of it (`CapacityInput.roomServers`). */
  roomServers: Map<string, number>;
}

/**
 * Turns per-server shares (server id -> room -> local connections, as the
 * metrics read finds them in every server's `server:{id}:rooms`) and a rate
 * per room (messages/s, e.g. the mean of the room's last seconds) into the
 * room-centric view the planner works on. Rooms with no member anywhere are
 * left out; counts of 0 or less are ignored.
 */
export function roomShares(
  shares: Iterable<readonly [string, ReadonlyMap<string, number>]>,
  messagesPerSec: (room: string) => number,
): RoomShares {
  const members = new Map<string, Map<string, number>>();
  for (const [serverId, share] of shares) {
    for (const [room, n] of share) {
      if (!(n > 0)) continue;
      let perServer = members.get(room);
      if (perServer === undefined) members.set(room, (perServer = new Map()));
      perServer.set(serverId, n);
    }
  }
  const rooms = new Map<string, PlacementRoom>();
  const splitRooms = new Set<string>();
  const roomServers = new Map<string, number>();
  for (const [room, perServer] of members) {
    rooms.set(room, { messagesPerSec: Math.max(0, messagesPerSec(room)), members: perServer });
    roomServers.set(room, perServer.size);
    if (perServer.size > 1) splitRooms.add(room);
  }
  return { rooms, splitRooms, roomServers };
}
