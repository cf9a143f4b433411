// The ping wheel: every connection pinged once per PING_INTERVAL_MS, a slice of them per tick, so no round stalls the event loop.

/** What the wheel needs from a connection. */
export interface Pingable {
  /**
   * 0 once the last ping was answered (or before the first); else the wheel
   * tick at which the ping still unanswered went out. A pong sets it to 0.
   */
  unanswered: number;
  ping(): void;
  terminate(): void;
}

/** How many ticks one round is cut into, at most. */
export const MAX_TICKS_PER_ROUND = 100;
/** The shortest time between two ticks, ms: slices smaller than this cost more in timers than they save. */
export const MIN_TICK_MS = 10;

/**
 * Ticks per round and the time between them for a PING_INTERVAL_MS: as many
 * ticks as fit (at most MAX_TICKS_PER_ROUND, at least MIN_TICK_MS apart),
 * so at 20,000 connections and a 30 s interval a tick pings 200 of them.
 */
export function wheelTiming(intervalMs: number): { ticks: number; tickMs: number } {
  const ticks = Math.max(1, Math.min(MAX_TICKS_PER_ROUND, Math.floor(intervalMs / MIN_TICK_MS)));
  return { ticks, tickMs: intervalMs / ticks };
}

/** How many connections one tick visits so that `size` of them are all visited in `ticksLeft` ticks. */
export function sliceSize(size: number, ticksLeft: number): number {
  if (size <= 0) return 0;
  return Math.ceil(size / Math.max(1, ticksLeft));
}

/**
 * Walks a live set of connections over a round of `ticks` ticks. A round
 * starts from a list of the connections there at its start; each tick
 * visits the next slice of it: a connection that has not answered a ping
 * sent at least half a round ago is terminated, the others are pinged.
 * Connections that left meanwhile are skipped; connections that joined
 * during a round are first visited in the next one. The list lets go of
 * each connection as it is visited, so a closed connection is held at most
 * until its turn. (A Set iterator kept across ticks would cost nothing per
 * connection, but it keeps every hash table the Set outgrew or shrank out
 * of alive until the round ends.)
 *
 * A connection is visited about once per round: one that stops answering is
 * cut one to two rounds after its last pong, and one that never answers, up
 * to three rounds after it connected. The half-round rule keeps a
 * connection that moved up in the order (others before it left) from being
 * cut for a ping it had only a tick to answer.
 */
export class PingWheel<C extends Pingable> {
  private round: Array<C | undefined> = [];
  private next = 0;
  /** Ticks left in the current round. */
  private ticksLeft = 0;
  /** Ticks so far (from 1, so that 0 can mean "answered"). */
  private tickNo = 0;

  constructor(
    private readonly connections: Set<C>,
    private readonly ticks: number,
  ) {}

  /** One tick: visits the next slice; returns how many live connections it visited. */
  tick(): number {
    this.tickNo += 1;
    if (this.ticksLeft <= 0) {
      this.round = [...this.connections];
      this.next = 0;
      this.ticksLeft = this.ticks;
    }
    const round = this.round;
    const end = this.ticksLeft === 1 ? round.length : Math.min(round.length, this.next + sliceSize(round.length - this.next, this.ticksLeft));
    this.ticksLeft -= 1;
    const now = this.tickNo;
    const patience = Math.max(1, Math.floor(this.ticks / 2));
    let visited = 0;
    for (let i = this.next; i < end; i++) {
      const connection = round[i];
      round[i] = undefined;
      if (connection === undefined || !this.connections.has(connection)) continue;
      visited += 1;
      const pinged = connection.unanswered;
      if (pinged !== 0) {
        if (now - pinged >= patience) connection.terminate();
        continue;
      }
      connection.unanswered = now;
      connection.ping();
    }
    this.next = end;
    if (this.ticksLeft <= 0) this.round = [];
    return visited;
  }
}
