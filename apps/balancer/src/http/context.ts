// What the HTTP layer needs from the running balancer, passed in rather than imported.
import type { Response } from 'express';
import type { BalancerConfig } from '../config.js';
import type { ControlLoop } from '../control/control-loop.js';
import type { Placements } from '../control/placements.js';
import type { Fleet } from '../fleet/fleet.js';
import type { MetricsReader } from '../load/metrics-reader.js';
import type { Logger } from '../log.js';
import type { FleetStore } from '../store/fleet-store.js';
import type { PromMetrics } from './prometheus.js';

export interface AppContext {
  config: BalancerConfig;
  fleet: Fleet;
  reader: MetricsReader;
  /** The control loop: candidates with their loads, the leader's token, the balancers. */
  loop: ControlLoop;
  /** Provisions in flight and rooms just placed (the provision route counts into it). */
  placements: Placements;
  store: FleetStore;
  authSecret: string;
  log: Logger;
  prom: PromMetrics;
  /** Open /stats/stream responses, ended on stop. */
  streams: Set<Response>;
  /** True once stop() began: provisions answer 503 shutting_down. */
  isStopping(): boolean;
}
