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

/**
 * A server's abuse figures as `/servers` shows them (docs/http-api.md):
 * counters since the server started, by reason (see abuse.ts), and the
 * refusals, abuse closes and refused upgrades per second at the last reading.
 */
export const serverAbuseSchema = z.object({
  refused: z.record(z.string(), z.number()),
  closed: z.record(z.string(), z.number()),
  upgradesRefused: z.record(z.string(), z.number()),
  perSecond: z.number(),
});
export type ServerAbuse = z.infer<typeof serverAbuseSchema>;

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
  /** Extension: the HOST_ID of the machine it runs on ('' when the server does not say). */
  hostId: z.string().optional(),
  /** Extension: the id of the balancer that manages it ('' for a remote server no balancer owns). */
  owner: z.string().optional(),
  /**
   * The server's pub/sub bus: `healthy` while its canary's probes come back,
   * `repairs` = gap repairs since it started (each a pass over its rooms and
   * users reading what the bus may have missed from history),
   * `repairedMessages` = room messages those repairs delivered, `rebuilds` =
   * subscriber connections replaced after going deaf, `probesMissed`.
   */
  bus: z.object({
    healthy: z.boolean(),
    repairs: z.number(),
    repairedMessages: z.number(),
    rebuilds: z.number(),
    probesMissed: z.number(),
  }),
  /** Absent only from balancers older than the field. */
  abuse: serverAbuseSchema.optional(),
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

/** One room in the capacity planner (extension): means over the planner's window. */
export const roomCapacitySchema = z.object({
  /** Members (connections) in the room, fleet-wide. */
  members: z.number(),
  /** Messages sent to the room per second. */
  messagesPerSec: z.number(),
  /** members x messages/s (= members² x each member's rate): every message is written to every member. */
  predictedWritesPerSec: z.number(),
  /** The room's socket writes/s as the servers counted them. */
  measuredWritesPerSec: z.number(),
  /** Servers the room's predicted load needs at SPAWN_WRITES_PER_SEC each (at least 1 for a room with members). */
  serversNeeded: z.number(),
  /** Servers holding members of the room now: each message of the room is delivered by Redis to each of them. */
  servers: z.number(),
});
export type RoomCapacity = z.infer<typeof roomCapacitySchema>;

/**
 * `/stats` `capacity` (extension): what the rooms predict against what the
 * servers measured, over the same window (the last `windowSeconds` s).
 */
export const capacitySchema = z.object({
  windowSeconds: z.number(),
  /** Sum of the rooms' predicted writes/s. */
  predictedWritesPerSec: z.number(),
  /** Sum of the servers' measured socket writes/s. */
  measuredWritesPerSec: z.number(),
  /** Servers the predicted load needs at SPAWN_WRITES_PER_SEC each: ceil(predicted / SPAWN_WRITES_PER_SEC), at least 1 with any members. */
  serversNeeded: z.number(),
  /** Messages per second, fleet-wide. */
  messagesPerSec: z.number(),
  /** Redis pub/sub deliveries per second: each room's messages/s times the servers holding it. */
  deliveriesPerSec: z.number(),
  /** deliveriesPerSec / messagesPerSec: copies of one message Redis hands to servers (1 when no room is split; 0 without traffic). */
  copiesPerMessage: z.number(),
  rooms: z.record(z.string(), roomCapacitySchema),
});
export type Capacity = z.infer<typeof capacitySchema>;

/** One balancer as `GET /balancers` lists it (SPEC section 2). */
export const balancerInfoSchema = z.object({
  id: idSchema,
  /** The balancer's HTTP base URL. */
  url: z.string(),
  /** Its HOST_ID: the host whose chat servers it spawns and stops. */
  host: z.string(),
  /** True for the holder of the leader lease, which runs the scaling policy. */
  leader: z.boolean(),
  startedAt: z.number(),
  /** Its last heartbeat, ms epoch. */
  heartbeat: z.number(),
});
export type BalancerInfo = z.infer<typeof balancerInfoSchema>;

/** `GET /stats` and each `GET /stats/stream` event: the last 100 s, one value a second, oldest first. */
export const statsSnapshotSchema = z.object({
  ts: z.number(),
  servers: z.array(serverInfoSchema.extend({ history: serverHistorySchema })),
  rooms: z.record(z.string(), roomHistorySchema),
  provisionsPerSec: z.array(z.number()),
  events: z.array(fleetEventSchema),
  /** The capacity planner (extension; see docs/autoscaling.md). */
  capacity: capacitySchema.optional(),
  /** Extension: every live balancer of the fleet, as `GET /balancers` lists them. */
  balancers: z.array(balancerInfoSchema).optional(),
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
