// The servers as selection and the policy see them: the registry's statuses joined with the metrics histories and the placements in flight.
import type { ServerRecord } from '../fleet/fleet.js';
import { last } from '../load/history.js';
import type { MetricsReader } from '../load/metrics-reader.js';
import type { PolicyServer } from '../load/policy.js';
import type { Placements } from './placements.js';

/**
 * One candidate per known server: its load history, the clients it has or
 * is about to have (its last figure plus the provisions since), the rooms it
 * hosts or was just given, whether the policy may drain it (`managed`: a
 * balancer that is alive owns it), and whether it is full: it said so, or
 * its clients and the provisions since reach its MAX_CONNECTIONS.
 */
export function candidatesOf(
  records: readonly ServerRecord[],
  metrics: MetricsReader,
  placements: Placements,
  ownerAlive: (owner: string) => boolean,
  now = Date.now(),
): PolicyServer[] {
  return records.map((r) => {
    const history = metrics.historyOf(r.id);
    const clients = last(history.clients) + placements.pendingClients(r.id);
    const { full, maxClients } = metrics.capacityOf(r.id);
    return {
      id: r.id,
      status: r.status,
      managed: r.managed && r.owner !== '' && ownerAlive(r.owner),
      socketWrites: history.socketWrites,
      eventLoopMs: history.eventLoopMs,
      clients,
      rooms: placements.hostedRooms(r.id, metrics.roomsOf(r.id), now),
      full: full || (maxClients > 0 && clients >= maxClients),
    };
  });
}
