// The balancers panel's rows: every live balancer of the fleet, the leader first, with how long ago each was heard from.
import type { StatsSnapshot } from '@chatfleet/protocol';

export interface BalancerRow {
  id: string;
  host: string;
  url: string;
  leader: boolean;
  /** Seconds since its last heartbeat, at the snapshot's time. */
  heardSecondsAgo: number;
}

/** Rows for the snapshot's `balancers` (absent from older balancers: no rows), the leader first, then by host. */
export function balancerRows(snapshot: Pick<StatsSnapshot, 'ts' | 'balancers'>): BalancerRow[] {
  return (snapshot.balancers ?? [])
    .map((b) => ({ id: b.id, host: b.host, url: b.url, leader: b.leader, heardSecondsAgo: Math.max(0, Math.round((snapshot.ts - b.heartbeat) / 1000)) }))
    .sort((a, b) => Number(b.leader) - Number(a.leader) || a.host.localeCompare(b.host) || a.id.localeCompare(b.id));
}
