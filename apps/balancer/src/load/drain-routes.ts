// Where a draining server's rooms go: each room to the server holding most of it (with room), so a drain splits no room.
import { fmt } from './hotness.js';
import { placementView, roomOf, type PlacementConfig, type PlacementInput } from './placement.js';

/** One room's way out of a draining server. */
export interface DrainRouteTarget {
  room: string;
  /** The target server id (the caller turns it into the drain command's `routes` redirect). */
  to: string;
  /** Members of the room on the draining server. */
  n: number;
}

export interface DrainPlan {
  /** Rooms whose target is not the fallback (the rest follow the command's `redirect`). */
  routes: DrainRouteTarget[];
  /** The least-loaded other ready server: the drain's `redirect`; undefined when there is none. */
  fallback: string | undefined;
  /** With numbers. */
  reason: string;
}

/**
 * Plans where the members of each room on `serverId` go when it drains,
 * biggest rooms first: to the ready server holding most of the room that has
 * room for them under the fill cap, else to the least-loaded ready server
 * with room, else to the least-loaded one; each choice counts toward the
 * next. Today's drain sends everyone to one server, which splits every room
 * the target did not hold and can overload it; this keeps rooms whole.
 */
export function planDrain(serverId: string, input: PlacementInput, config: PlacementConfig): DrainPlan {
  const others = input.servers.map((s) => (s.id === serverId ? { ...s, status: 'draining' as const } : s));
  const view = placementView({ ...input, servers: others, inFlight: [] }, config);
  const n = view.ids.length;
  const calm = (i: number) => view.servers[i]!.shed !== true;
  let fallback: number | undefined;
  for (let i = 0; i < n; i++) if (calm(i) && (fallback === undefined || view.load[i]! < view.load[fallback]!)) fallback = i;
  for (let i = 0; i < n; i++) if (fallback === undefined || view.load[i]! < view.load[fallback]!) fallback = i;
  if (fallback === undefined) return { routes: [], fallback: undefined, reason: `no other ready server for the members of ${serverId}` };

  // Its rooms: from its own `rooms` when given, else from every room's members.
  const own = input.servers.find((s) => s.id === serverId)?.rooms;
  const entries: Array<[string, number]> = own !== undefined ? [...own] : [...input.rooms].map(([room, r]) => [room, r.members.get(serverId) ?? 0]);
  const leaving = entries
    .map(([room, k]) => ({ room, rate: Math.max(0, input.rooms.get(room)?.messagesPerSec ?? 0), k }))
    .filter((r) => r.k > 0)
    .sort((a, b) => b.k * b.rate - a.k * a.rate || b.k - a.k || (a.room < b.room ? -1 : 1));
  const routes: DrainRouteTarget[] = [];
  const perTarget = new Map<string, number>();
  for (const { room, rate, k } of leaving) {
    const load = k * rate;
    const held = roomOf(view, room)?.held ?? new Map<number, number>();
    let to: number | undefined;
    for (const [i, m] of held) {
      if (!calm(i) || view.load[i]! + load > view.cap) continue;
      if (to === undefined || m > held.get(to)!) to = i;
    }
    if (to === undefined) {
      for (let i = 0; i < n; i++) {
        if (!calm(i) || view.load[i]! + load > view.cap) continue;
        if (to === undefined || view.load[i]! < view.load[to]!) to = i;
      }
    }
    if (to === undefined) {
      to = 0;
      for (let i = 1; i < n; i++) if (view.load[i]! < view.load[to]!) to = i;
    }
    view.load[to]! += load;
    const id = view.ids[to]!;
    perTarget.set(id, (perTarget.get(id) ?? 0) + 1);
    if (to !== fallback) routes.push({ room, to: id, n: k });
  }
  const members = leaving.reduce((sum, r) => sum + r.k, 0);
  const spread = [...perTarget].map(([id, rooms]) => `${id} ${rooms} room${rooms === 1 ? '' : 's'}`).join(', ');
  return {
    routes,
    fallback: view.ids[fallback],
    reason: `${leaving.length} rooms (${fmt(members)} members) of ${serverId} go where each room lives: ${spread === '' ? 'none' : spread}`,
  };
}
