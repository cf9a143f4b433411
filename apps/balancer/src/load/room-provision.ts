// Provisioning that follows the placement plan: a room's new member goes where the room lives, or where its planned split has room.
import { fmt } from './hotness.js';
import { roomOf, serversNeeded, type PlacementView } from './placement.js';

export interface ProvisionRequest {
  room?: string | undefined;
  user?: string | undefined;
}

export interface ProvisionChoice {
  serverId: string;
  /** With numbers, for debug logs. */
  reason: string;
}

/**
 * Picks the server for one new connection from the second's placement view
 * (`placementView`, built once a metrics read), by the planner's own rules:
 * - a room that fits one server goes to the server holding most of it while
 *   that server stays under 80% of SPAWN_WRITES_PER_SEC (SPEC's affinity
 *   line; the planner keeps servers at 70%, so there is room); when it is full, to another holder
 *   with room, else to the least-loaded server with room;
 * - a room that needs several servers goes to the holder (among as many as it
 *   needs) with the fewest of its members, or opens a new server while it is
 *   on fewer than it needs, so its shares stay even; equal candidates are
 *   told apart by a hash of the user, so one user keeps landing on the same one;
 * - a new room, or no room: the least-loaded ready server (then fewer clients, then id);
 * - a server told to shed (hot on lag) takes no one while another is ready.
 * Undefined when no server is ready. Call `countProvision` with the answer so
 * the next choice in the same second sees it.
 */
export function chooseProvision(view: PlacementView, request: ProvisionRequest): ProvisionChoice | undefined {
  const n = view.ids.length;
  if (n === 0) return undefined;
  const least = (fits: (i: number) => boolean): number | undefined => {
    let best: number | undefined;
    for (let i = 0; i < n; i++) {
      if (!fits(i)) continue;
      const l = view.load[i]!;
      const b = best === undefined ? undefined : view.load[best]!;
      // Lowest load, then fewest clients, then the smaller id (stable answers).
      if (best === undefined || l < b! || (l === b && (view.clients[i]! < view.clients[best]! || (view.clients[i] === view.clients[best] && view.ids[i]! < view.ids[best]!)))) best = i;
    }
    return best;
  };
  // A server told to shed (hot on lag) is chosen only when nothing else is ready.
  const calm = (i: number) => view.servers[i]!.shed !== true;
  const anyServer = (why: string): ProvisionChoice => {
    const i = least(calm) ?? least(() => true)!;
    return { serverId: view.ids[i]!, reason: `${why}: least-loaded ${view.ids[i]} at ${fmt(view.load[i]!)} writes/s` };
  };
  const room = request.room === undefined ? undefined : roomOf(view, request.room);
  if (request.room === undefined) return anyServer('no room');
  if (room === undefined || room.held.size === 0) return anyServer(`new room ${request.room}`);

  const perMember = room.total === 0 ? 0 : room.rate / room.total;
  // One more member receives every message of the room, and its own messages reach the k members there.
  const added = (i: number) => room.rate + perMember * (room.held.get(i) ?? 0);
  // The SPEC's affinity line: a server holding the room takes its members while under 80%.
  const fits = (i: number) => calm(i) && view.load[i]! + added(i) <= view.affinity;
  const need = serversNeeded(room.total * room.rate, view.unit);
  const holders = [...room.held].sort((a, b) => b[1] - a[1] || view.load[a[0]]! - view.load[b[0]]!);
  const id = room.id;

  if (need === 1) {
    const [home, k] = holders[0]!;
    if (fits(home)) return { serverId: view.ids[home]!, reason: `${id} lives on ${view.ids[home]} (${fmt(k)} of ${fmt(room.total)} members)` };
    const full = `${view.ids[home]} holding ${id} is full (${fmt(view.load[home]!)} writes/s)`;
    const other = holders.find(([i]) => i !== home && fits(i));
    if (other !== undefined) return { serverId: view.ids[other[0]]!, reason: `${full}: ${view.ids[other[0]]} holds ${fmt(other[1])} of it` };
    const open = least(fits);
    if (open !== undefined) return { serverId: view.ids[open]!, reason: `${full}: least-loaded ${view.ids[open]} with room` };
    return anyServer(`${full}, no server has room`);
  }

  const homes = holders.slice(0, need).map(([i]) => i).filter(fits);
  if (room.held.size < need) {
    const fresh = least((i) => !room.held.has(i) && fits(i));
    if (fresh !== undefined) homes.push(fresh);
  }
  if (homes.length === 0) return anyServer(`${id} needs ${need} servers and none of them has room`);
  const user = request.user ?? '';
  let best = homes[0]!;
  for (const i of homes.slice(1)) {
    const k = room.held.get(i) ?? 0;
    const bk = room.held.get(best) ?? 0;
    if (k < bk || (k === bk && rendezvous(user, view.ids[i]!) > rendezvous(user, view.ids[best]!))) best = i;
  }
  const k = room.held.get(best) ?? 0;
  return {
    serverId: view.ids[best]!,
    reason: `${id} at ${fmt(room.total * room.rate)} writes/s needs ${need} servers: ${view.ids[best]} holds the fewest (${fmt(k)} of ${fmt(room.total)})`,
  };
}

/**
 * Counts `count` provisions (default 1) into the view (the caller's state for
 * the current metrics second): more clients on the server, more members of
 * the room there, and the writes they add, so a burst within one second is
 * placed as if each had already arrived.
 */
export function countProvision(view: PlacementView, serverId: string, roomId?: string, count = 1): void {
  const i = view.index.get(serverId);
  if (i === undefined || count <= 0) return;
  view.clients[i]! += count;
  if (roomId === undefined) return;
  const room = roomOf(view, roomId);
  if (room === undefined) {
    // A room with no members yet: its rate, if the caller knows one, else 0 until the metrics show it.
    const rate = Math.max(0, view.source.get(roomId)?.messagesPerSec ?? 0);
    view.rooms.set(roomId, { id: roomId, rate, total: count, held: new Map([[i, count]]), elsewhere: 0, moving: view.moving.has(roomId) });
    view.load[i]! += count * rate;
    return;
  }
  const k = room.held.get(i) ?? 0;
  const perMember = room.total === 0 ? 0 : room.rate / room.total;
  // Each new member receives the room's messages; its messages reach the members already there.
  view.load[i]! += count * (room.rate + perMember * k);
  room.held.set(i, k + count);
  room.total += count;
}

/** A stable pseudo-random weight of (user, server): FNV-1a over both ids. */
function rendezvous(user: string, serverId: string): number {
  let h = 0x811c9dc5;
  const text = `${user}\u0000${serverId}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
