// The capacity planner: per room, members x messages/s (members² x each member's rate) predicts writes; beside what the servers measured.
import type { Capacity, RoomCapacity, RoomHistory } from '@chatfleet/protocol';

/** Seconds the capacity figures average over. */
export const CAPACITY_WINDOW_SECONDS = 10;

export interface CapacityInput {
  /** Per-room histories as `/stats` has them (one value a second, oldest first). */
  rooms: Readonly<Record<string, RoomHistory>>;
  /** Socket writes/s histories of the servers that are not gone. */
  serverWrites: ReadonlyArray<readonly number[]>;
  /** Servers holding members of each room now (from the servers' `server:{id}:rooms`); rooms left out count as 1. */
  roomServers?: ReadonlyMap<string, number>;
  spawnWritesPerSec: number;
  /** Default CAPACITY_WINDOW_SECONDS. */
  windowSeconds?: number;
}

/** Mean of the last `window` values, seconds without a value counting as 0 (as the load window does). */
function windowMean(values: readonly number[], window: number): number {
  let sum = 0;
  for (let i = Math.max(0, values.length - window); i < values.length; i++) sum += values[i] ?? 0;
  return sum / window;
}

/**
 * The `/stats` `capacity` figures over the last `windowSeconds`: for each room
 * the mean of members x messages/s each second (every message is written to
 * every member, the sender included), beside the writes the servers counted
 * for it; the fleet's sums; the servers that load needs at
 * SPAWN_WRITES_PER_SEC each; and the copies Redis hands out per message
 * (each room's messages times the servers holding it).
 */
export function capacityOf(input: CapacityInput): Capacity {
  const window = input.windowSeconds ?? CAPACITY_WINDOW_SECONDS;
  const budget = input.spawnWritesPerSec;
  const rooms: Record<string, RoomCapacity> = {};
  let predicted = 0;
  let messages = 0;
  let deliveries = 0;
  let anyMembers = false;
  for (const [id, history] of Object.entries(input.rooms)) {
    const n = Math.min(window, history.clients.length, history.messages.length);
    let perSecond = 0;
    for (let j = 1; j <= n; j++) {
      perSecond += (history.clients[history.clients.length - j] ?? 0) * (history.messages[history.messages.length - j] ?? 0);
    }
    const roomPredicted = perSecond / window;
    const members = windowMean(history.clients, window);
    const messagesPerSec = windowMean(history.messages, window);
    const servers = members > 0 ? (input.roomServers?.get(id) ?? 1) : 0;
    rooms[id] = {
      members,
      messagesPerSec,
      predictedWritesPerSec: roomPredicted,
      measuredWritesPerSec: windowMean(history.socketWrites, window),
      serversNeeded: members > 0 ? Math.max(1, Math.ceil(roomPredicted / budget)) : 0,
      servers,
    };
    predicted += roomPredicted;
    messages += messagesPerSec;
    deliveries += messagesPerSec * servers;
    if (members > 0) anyMembers = true;
  }
  const measured = input.serverWrites.reduce((sum, writes) => sum + windowMean(writes, window), 0);
  return {
    windowSeconds: window,
    predictedWritesPerSec: predicted,
    measuredWritesPerSec: measured,
    serversNeeded: anyMembers ? Math.max(1, Math.ceil(predicted / budget)) : 0,
    messagesPerSec: messages,
    deliveriesPerSec: deliveries,
    copiesPerMessage: messages === 0 ? 0 : deliveries / messages,
    rooms,
  };
}
