// The balancer's HTTP API bodies (SPEC section 2) as schemas, for the balancer, the client and the dashboard.
import { z } from 'zod';
import { ServerStatus } from './codes.js';
import { idSchema } from './ids.js';

/** `GET /servers/provision` query. */
export const provisionQuerySchema = z.object({
  room: idSchema.optional(),
  user: idSchema.optional(),
  sig: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits').optional(),
});
export type ProvisionQuery = z.infer<typeof provisionQuerySchema>;

/** `GET /servers/provision` answer. */
export const provisionResponseSchema = z.object({
  id: idSchema,
  url: z.string(),
  token: z.string(),
  expiresAt: z.number(),
});
export type ProvisionResponse = z.infer<typeof provisionResponseSchema>;

const statusSchema = z.enum([ServerStatus.starting, ServerStatus.ready, ServerStatus.draining, ServerStatus.gone]);

/** One server as `GET /servers` lists it. */
export const serverInfoSchema = z.object({
  id: idSchema,
  url: z.string(),
  pid: z.number().nullable(),
  host: z.string(),
  status: statusSchema,
  managed: z.boolean(),
  startedAt: z.number(),
  clients: z.number(),
  writesPerSec: z.number(),
  eventLoopMs: z.number(),
  rssBytes: z.number(),
  rooms: z.array(idSchema),
});
export type ServerInfo = z.infer<typeof serverInfoSchema>;

/** `POST /servers/:id/redistribute` body: exactly one of the two. */
export const redistributeBodySchema = z.union([
  z.object({ count: z.number().int().min(1).max(1_000_000) }).strict(),
  z.object({ fraction: z.number().gt(0).max(1) }).strict(),
]);
export type RedistributeBody = z.infer<typeof redistributeBodySchema>;

export const serverHistorySchema = z.object({
  clients: z.array(z.number()),
  socketWrites: z.array(z.number()),
  eventLoopMs: z.array(z.number()),
  fanouts: z.array(z.number()),
  rssBytes: z.array(z.number()),
});
export type ServerHistory = z.infer<typeof serverHistorySchema>;

export const roomHistorySchema = z.object({
  clients: z.array(z.number()),
  messages: z.array(z.number()),
  socketWrites: z.array(z.number()),
});
export type RoomHistory = z.infer<typeof roomHistorySchema>;

export const fleetEventSchema = z.object({
  ts: z.number(),
  kind: z.string(),
  serverId: z.string().nullable(),
  detail: z.string(),
});
export type FleetEvent = z.infer<typeof fleetEventSchema>;

/** `GET /stats` and each `GET /stats/stream` event: the last 100 s, one value a second, oldest first. */
export const statsSnapshotSchema = z.object({
  ts: z.number(),
  servers: z.array(serverInfoSchema.extend({ history: serverHistorySchema })),
  rooms: z.record(z.string(), roomHistorySchema),
  provisionsPerSec: z.array(z.number()),
  events: z.array(fleetEventSchema),
  config: z
    .object({
      fleetMin: z.number(),
      fleetMax: z.number(),
      spawnWritesPerSec: z.number(),
    })
    .optional(),
});
export type StatsSnapshot = z.infer<typeof statsSnapshotSchema>;

/** Every error body of the balancer. */
export const errorBodySchema = z.object({ error: z.string(), message: z.string() });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** Seconds of history the balancer keeps and `/stats` returns. */
export const STATS_WINDOW_SECONDS = 100;
