// The /metrics registry: fleet, load and process figures under the `chatfleet_` prefix, one registry per balancer.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { UpgradeRefusal } from '@chatfleet/protocol';
import type { ControlLoop } from '../control/control-loop.js';
import type { Fleet } from '../fleet/fleet.js';
import { last } from '../load/history.js';
import type { MetricsReader } from '../load/metrics-reader.js';

export interface PromMetrics {
  registry: Registry;
  provisions: Counter;
}

const STATUSES = ['starting', 'ready', 'draining', 'gone'] as const;

/** Creates a registry whose gauges read the fleet and histories at scrape time. */
export function createPromMetrics(fleet: Fleet, reader: MetricsReader, loop: ControlLoop): PromMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chatfleet_balancer_' });
  const live = () => fleet.list().filter((r) => r.status !== 'gone');

  new Gauge({
    name: 'chatfleet_balancer_leader',
    help: '1 while this balancer holds the leader lease (extension)',
    registers: [registry],
    collect() {
      this.set(loop.leading ? 1 : 0);
    },
  });
  new Gauge({
    name: 'chatfleet_balancers',
    help: 'Live balancers of the fleet (extension)',
    registers: [registry],
    collect() {
      this.set(loop.balancers().length);
    },
  });

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
  perServer('chatfleet_bus_healthy', "1 while a server's bus canary hears its probes, else 0", (id) =>
    reader.busOf(id).healthy ? 1 : 0,
  );
  new Counter({
    name: 'chatfleet_bus_repairs_total',
    help: 'Gap repairs a server made after its bus may have missed messages (each a pass over its rooms and users)',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of live()) this.inc({ server: r.id }, reader.busOf(r.id).repairs);
    },
  });
  new Counter({
    name: 'chatfleet_bus_repaired_messages_total',
    help: 'Room messages delivered by gap repairs (missed live, found in history)',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of live()) this.inc({ server: r.id }, reader.busOf(r.id).repairedMessages);
    },
  });

  // Abuse, per server and reason: what its servers refused and closed (they count since they started,
  // so a restarted server's counter starts again from 0, which Prometheus reads as a reset).
  new Counter({
    name: 'chatfleet_server_refusals_total',
    help: 'Client frames a server refused with an error, by reason (rate_limited, too_large, bad_frame)',
    labelNames: ['server', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of live()) for (const [reason, n] of Object.entries(reader.abuseOf(r.id).refused)) this.inc({ server: r.id, reason }, n);
    },
  });
  new Counter({
    name: 'chatfleet_server_abuse_closes_total',
    help: 'Connections a server closed for abuse, by close code (1002, 1007 protocol errors; 1008 flood or too many fragments; 1009 too big; 4000 slow consumer)',
    labelNames: ['server', 'code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of live()) for (const [code, n] of Object.entries(reader.abuseOf(r.id).closed)) this.inc({ server: r.id, code }, n);
    },
  });
  new Counter({
    name: 'chatfleet_server_upgrades_refused_total',
    help: 'Upgrade (and plain HTTP) requests a server refused and closed, by reason and HTTP status',
    labelNames: ['server', 'reason', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of live()) {
        for (const [reason, n] of Object.entries(reader.abuseOf(r.id).upgradesRefused)) {
          const status = String(UpgradeRefusal[reason as UpgradeRefusal] ?? '');
          this.inc({ server: r.id, reason, status }, n);
        }
      }
    },
  });
  perServer('chatfleet_server_abuse_per_second', 'Refusals, abuse closes and refused upgrades per second at the last reading', (id) =>
    reader.abuseOf(id).perSecond,
  );

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
