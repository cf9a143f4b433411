// What the HTTP layer needs from the running balancer, passed in rather than imported.
import type { RedisKeys } from '@chatfleet/protocol';
import type { Response } from 'express';
import type { BalancerConfig } from '../config.js';
import type { Fleet } from '../fleet/fleet.js';
import type { MetricsReader } from '../load/metrics-reader.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/client.js';
import type { PromMetrics } from './prometheus.js';

export interface AppContext {
  config: BalancerConfig;
  fleet: Fleet;
  reader: MetricsReader;
  redis: RedisClient;
  keys: RedisKeys;
  authSecret: string;
  log: Logger;
  prom: PromMetrics;
  /** Open /stats/stream responses, ended on stop. */
  streams: Set<Response>;
  /** True once stop() began: provisions answer 503 shutting_down. */
  isStopping(): boolean;
}
