// Provisions in flight and rooms just placed: what this balancer handed out since the servers' own metrics last showed it.
import { pushCapped } from '../load/history.js';

/** Intervals a provisioned room counts as hosted before the server's metrics must show it. */
const PLACED_ROOM_INTERVALS = 3;

/**
 * The provision route writes here; selection and the policy read here; the
 * control loop settles it after every metrics read. Clients provisioned to a
 * server since its figures were last read are on their way: counting them
 * spreads a burst within one second over equally loaded servers instead of
 * sending it all to one. A room just provisioned to a server counts as hosted
 * there for a few intervals, so the room's next members follow it even before
 * the server's metrics show the room.
 */
export class Placements {
  /** Provisions per server since the last read. */
  private readonly pending = new Map<string, number>();
  /** Rooms just provisioned to each server, until when (ms epoch) they count as hosted there. */
  private readonly placed = new Map<string, Map<string, number>>();
  private readonly perSecond: number[] = [];
  private thisSecond = 0;

  constructor(private readonly intervalMs: number) {}

  /** Counts one provision of `serverId`, for `room` when the client named one. */
  count(serverId: string, room: string | undefined, now = Date.now()): void {
    this.thisSecond++;
    this.pending.set(serverId, (this.pending.get(serverId) ?? 0) + 1);
    if (room === undefined) return;
    let rooms = this.placed.get(serverId);
    if (rooms === undefined) this.placed.set(serverId, (rooms = new Map()));
    rooms.set(room, now + PLACED_ROOM_INTERVALS * this.intervalMs);
  }

  /** Clients provisioned to `serverId` since its figures were last read. */
  pendingClients(serverId: string): number {
    return this.pending.get(serverId) ?? 0;
  }

  /** `reported` rooms of a server plus the rooms just placed on it. */
  hostedRooms(serverId: string, reported: readonly string[], now = Date.now()): readonly string[] {
    const placed = this.placed.get(serverId);
    if (placed === undefined || placed.size === 0) return reported;
    const rooms = new Set(reported);
    for (const [room, until] of placed) {
      if (until > now) rooms.add(room);
      else placed.delete(room);
    }
    return [...rooms];
  }

  /** Rooms placed on `serverId` by provisions of the last few intervals (they may not show in its metrics yet). */
  placedRooms(serverId: string, now = Date.now()): string[] {
    const placed = this.placed.get(serverId);
    if (placed === undefined) return [];
    return [...placed].filter(([, until]) => until > now).map(([room]) => room);
  }

  /** After a metrics read: the servers' figures now include what was in flight; one more second of provisions/s. */
  settle(): void {
    this.pending.clear();
    pushCapped(this.perSecond, this.thisSecond);
    this.thisSecond = 0;
  }

  /** Forgets a server that left the registry. */
  forget(serverId: string): void {
    this.pending.delete(serverId);
    this.placed.delete(serverId);
  }

  /** Provisions answered per second, oldest first. */
  provisionsPerSec(): number[] {
    return this.perSecond;
  }
}
