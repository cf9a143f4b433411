// The pure least-loaded choice of a server for a new connection, with room affinity.
import type { ServerStatus } from '@chatfleet/protocol';

/** Seconds of history that make up a server's load. */
export const LOAD_WINDOW_SECONDS = 3;

/** Share of SPAWN_WRITES_PER_SEC under which a server hosting the room keeps getting that room's members. */
export const AFFINITY_LOAD_SHARE = 0.8;

/** What the choice needs to know about one server. */
export interface Candidate {
  id: string;
  status: ServerStatus;
  /** Socket writes per second, oldest first. */
  socketWrites: readonly number[];
  clients: number;
  /** Rooms with at least one local connection on this server. */
  rooms: ReadonlySet<string> | readonly string[];
  /**
   * The server holds all the clients it may (its MAX_CONNECTIONS, counting the
   * clients provisioned since its last metrics): it is never chosen (extension).
   */
  full?: boolean;
}

/**
 * A server's load: mean socket writes/s over the last LOAD_WINDOW_SECONDS.
 * Seconds without a sample count as 0, so a server that just started looks idle.
 */
export function loadOf(socketWrites: readonly number[], window = LOAD_WINDOW_SECONDS): number {
  let sum = 0;
  for (let i = Math.max(0, socketWrites.length - window); i < socketWrites.length; i++) sum += socketWrites[i] ?? 0;
  return sum / window;
}

/**
 * Picks the server for a new connection, or undefined when none is ready.
 * Only `ready` servers that are not full are candidates. With a room, the least-loaded ready
 * server already hosting it wins while its load is under 80% of
 * `spawnWritesPerSec`; otherwise the least-loaded ready server, ties going to
 * the one with fewer clients, then to the smaller id (stable answers).
 */
export function chooseServer<C extends Candidate>(
  candidates: readonly C[],
  options: { room?: string | undefined; spawnWritesPerSec: number },
): C | undefined {
  const ready = candidates.filter((c) => c.status === 'ready' && c.full !== true);
  if (ready.length === 0) return undefined;
  if (options.room !== undefined) {
    const limit = AFFINITY_LOAD_SHARE * options.spawnWritesPerSec;
    const room = options.room;
    const hosting = ready.filter((c) => hosts(c, room) && loadOf(c.socketWrites) < limit);
    const best = leastLoaded(hosting);
    if (best !== undefined) return best;
  }
  return leastLoaded(ready);
}

/** The least-loaded of `candidates` (then fewest clients, then smallest id). */
export function leastLoaded<C extends Candidate>(candidates: readonly C[]): C | undefined {
  let best: C | undefined;
  let bestLoad = Infinity;
  for (const c of candidates) {
    const load = loadOf(c.socketWrites);
    if (
      best === undefined ||
      load < bestLoad ||
      (load === bestLoad && (c.clients < best.clients || (c.clients === best.clients && c.id < best.id)))
    ) {
      best = c;
      bestLoad = load;
    }
  }
  return best;
}

function hosts(candidate: Candidate, room: string): boolean {
  const rooms = candidate.rooms;
  return 'has' in rooms ? rooms.has(room) : rooms.includes(room);
}
