// The /metrics registry: fleet, load and process figures under the `chatfleet_` prefix, one registry per balancer.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Fleet } from '../fleet/fleet.js';
import { last } from '../load/history.js';
import type { MetricsReader } from '../load/metrics-reader.js';

export interface PromMetrics {
  registry: Registry;
  provisions: Counter;
}

const STATUSES = ['starting', 'ready', 'draining', 'gone'] as const;

/** Creates a registry whose gauges read the fleet and histories at scrape time. */
export function createPromMetrics(fleet: Fleet, reader: MetricsReader): PromMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chatfleet_balancer_' });
  const live = () => fleet.list().filter((r) => r.status !== 'gone');

  new Gauge({
    name: 'chatfleet_fleet_servers',
    help: 'Servers known to the balancer, by status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of STATUSES) this.set({ status }, fleet.list().filter((r) => r.status === status).length);
    },
  });
  new Gauge({
    name: 'chatfleet_clients',
    help: 'Websocket clients across the fleet',
    registers: [registry],
    collect() {
      this.set(live().reduce((sum, r) => sum + last(reader.historyOf(r.id).clients), 0));
    },
  });
  const perServer = (name: string, help: string, pick: (id: string) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['server'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of live()) this.set({ server: r.id }, pick(r.id));
      },
    });
  perServer('chatfleet_server_clients', 'Clients connected to a server', (id) => last(reader.historyOf(id).clients));
  perServer('chatfleet_server_socket_writes_per_second', 'Socket writes per second of a server', (id) =>
    last(reader.historyOf(id).socketWrites),
  );
  perServer('chatfleet_server_event_loop_ms', 'Event-loop lag of a server (p99 ms over the last second)', (id) =>
    last(reader.historyOf(id).eventLoopMs),
  );
  perServer('chatfleet_server_rss_bytes', 'Resident memory of a server', (id) => last(reader.historyOf(id).rssBytes));

  const fromCounter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  fromCounter('chatfleet_spawns_total', 'Chat servers spawned', () => fleet.counters.spawns);
  fromCounter('chatfleet_crashes_total', 'Chat servers that exited unexpectedly', () => fleet.counters.crashes);
  fromCounter('chatfleet_evictions_total', 'Chat servers evicted for a stale heartbeat', () => fleet.counters.evictions);
  fromCounter('chatfleet_redistributions_total', 'Redistribute commands published', () => fleet.counters.redistributions);
  const provisions = new Counter({ name: 'chatfleet_provisions_total', help: 'Provisions answered', registers: [registry] });
  return { registry, provisions };
}
