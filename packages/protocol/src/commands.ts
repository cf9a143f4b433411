// Messages between processes: balancer-to-server commands on Redis, user-channel events, and the child IPC handshake.
import { z } from 'zod';
import { idSchema } from './ids.js';

/** One room's share of a room-aware `redistribute`: move `n` of this server's members of `room`. */
export const roomMoveSchema = z.object({ room: idSchema, n: z.number().int().min(1) });
export type RoomMove = z.infer<typeof roomMoveSchema>;

/** Where a draining server sends the members of one room (a websocket base URL). */
export const drainRouteSchema = z.object({ room: idSchema, redirect: z.string().min(1) });
export type DrainRoute = z.infer<typeof drainRouteSchema>;

/** Most room entries one command carries (`moves` or `routes`); a plan names far fewer. */
export const COMMAND_ROOMS_LIMIT = 10_000;

/**
 * Commands published on `server:{id}:commands` (SPEC section 4).
 *
 * - `redistribute`: move `n` of this server's clients to `redirect`, a
 *   websocket base URL such as `ws://127.0.0.1:4100/`; the server adds a fresh
 *   token for each user it moves. With `moves` (extension), the clients are
 *   members of those rooms, `n` of each (single-room members first), and the
 *   command's `n` caps the total; without it, any `n` clients.
 * - `drain`: stop accepting, move every client (to `redirect` when given,
 *   else to the least-loaded other server it can see in Redis), then exit.
 *   With `routes` (extension), members of a listed room go to that room's
 *   redirect instead.
 *
 * `token` (extension) is the fencing token of the leader lease the sender
 * acted under. A server remembers the newest token it has seen and ignores a
 * command with an older one (a leader that lost its lease without knowing
 * it); a command without a token (a tool, an operator) is always carried out.
 *
 * Either may carry an `id` (extension): the server then confirms it with a
 * `CommandAck` under `commandAck(serverId, id)` (`ok: false` for a command it
 * ignored or refused) and carries out a command id it has seen already only
 * once (a resend gets the same ack again). Redirects to one target are spread
 * over time at `REDIRECT_RATE_PER_SEC` with jitter (docs/autoscaling.md).
 */
export const serverCommandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('redistribute'),
    n: z.number().int().min(0),
    redirect: z.string().min(1),
    reason: z.string().optional(),
    token: z.number().int().min(0).optional(),
    id: idSchema.optional(),
    moves: z.array(roomMoveSchema).max(COMMAND_ROOMS_LIMIT).optional(),
  }),
  z.object({
    type: z.literal('drain'),
    redirect: z.string().min(1).optional(),
    reason: z.string().optional(),
    token: z.number().int().min(0).optional(),
    id: idSchema.optional(),
    routes: z.array(drainRouteSchema).max(COMMAND_ROOMS_LIMIT).optional(),
  }),
]);
export type ServerCommand = z.infer<typeof serverCommandSchema>;

/**
 * A server's confirmation of a command that carried an `id` (extension),
 * stored as JSON under `commandAck(serverId, id)`: `ok` false when the server
 * refused it (e.g. a redistribute while draining), `detail` says what it did
 * with numbers, `moved` = clients it is redirecting for it, `at` = ms epoch.
 */
export const commandAckSchema = z.object({
  id: idSchema,
  serverId: idSchema,
  ok: z.boolean(),
  detail: z.string(),
  moved: z.number().int().min(0).optional(),
  at: z.number(),
});
export type CommandAck = z.infer<typeof commandAckSchema>;

/** Parses a stored `CommandAck`; undefined for anything malformed. */
export function parseCommandAck(text: string | null | undefined): CommandAck | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const result = commandAckSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a command from its channel message; returns undefined for anything malformed. */
export function parseServerCommand(text: string): ServerCommand | undefined {
  try {
    const result = serverCommandSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Commands published on a balancer's channel `balancer:{id}:commands`
 * (extension): how an action reaches the balancer that owns a server or a host.
 *
 * - `spawn`: the leader asks this balancer to fork one chat server on its host.
 * - `drain`: drain `serverId`, one of this balancer's servers (an admin
 *   request made at another balancer, or the leader's scale-down); `routes`
 *   name the server each listed room's members go to, `fallback` where the
 *   rest go (server ids; the owner turns them into redirects).
 * - `redistribute`: tell `serverId`, one of this balancer's servers, to move
 *   `n` clients to server `to`; with `moves`, members of those rooms.
 * - `demand`: a provision found no ready server at another balancer; the
 *   leader starts a spawn if none is under way.
 *
 * `token` is the sender's newest known fencing token; `from` the sender's id.
 */
export const balancerCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('spawn'), from: idSchema, reason: z.string(), token: z.number().int().min(0) }),
  z.object({
    type: z.literal('drain'),
    from: idSchema,
    serverId: idSchema,
    reason: z.string(),
    token: z.number().int().min(0),
    routes: z.array(z.object({ room: idSchema, to: idSchema })).max(COMMAND_ROOMS_LIMIT).optional(),
    fallback: idSchema.optional(),
  }),
  z.object({
    type: z.literal('redistribute'),
    from: idSchema,
    serverId: idSchema,
    n: z.number().int().min(1),
    to: idSchema,
    reason: z.string(),
    token: z.number().int().min(0),
    moves: z.array(roomMoveSchema).max(COMMAND_ROOMS_LIMIT).optional(),
  }),
  z.object({ type: z.literal('demand'), from: idSchema }),
]);
export type BalancerCommand = z.infer<typeof balancerCommandSchema>;

/** Parses a balancer command from its channel message; undefined for anything malformed. */
export function parseBalancerCommand(text: string): BalancerCommand | undefined {
  try {
    const result = balancerCommandSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

// `user:{userId}` carries complete server frames: `direct` frames for the user (PUBLISH_DIRECT_SCRIPT)
// and `status` frames about the user (ONLINE_DELTA_SCRIPT, SYNC_ONLINE_SCRIPT); see keys.ts.

/** Messages a managed chat server sends its balancer over the IPC channel. */
export const childMessageSchema = z.discriminatedUnion('type', [
  /** The server listens and is connected to Redis; `url` is its websocket base URL. */
  z.object({ type: z.literal('ready'), id: idSchema, url: z.string(), pid: z.number().int() }),
  /** The server has begun draining (after a `drain` command or a signal). */
  z.object({ type: z.literal('draining'), id: idSchema }),
]);
export type ChildMessage = z.infer<typeof childMessageSchema>;
