// Messages between processes: balancer-to-server commands on Redis, user-channel events, and the child IPC handshake.
import { z } from 'zod';
import { directMessagePayload } from './server-frames.js';
import { idSchema } from './ids.js';

/**
 * Commands published on `server:{id}:commands` (SPEC section 4).
 *
 * - `redistribute`: move `n` of this server's clients to `redirect`, a
 *   websocket base URL such as `ws://127.0.0.1:4100/`; the server adds a fresh
 *   token for each user it moves.
 * - `drain`: stop accepting, move every client (to `redirect` when given,
 *   else to the least-loaded other server it can see in Redis), then exit.
 */
export const serverCommandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('redistribute'),
    n: z.number().int().min(0),
    redirect: z.string().min(1),
    reason: z.string().optional(),
  }),
  z.object({
    type: z.literal('drain'),
    redirect: z.string().min(1).optional(),
    reason: z.string().optional(),
  }),
]);
export type ServerCommand = z.infer<typeof serverCommandSchema>;

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
 * Events published on `user:{userId}`. Every server with a local connection of
 * that user (or a local watcher of that user) subscribes to the channel.
 */
export const userEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('direct'), payload: directMessagePayload }),
  z.object({ kind: z.literal('status'), userId: idSchema, online: z.boolean() }),
]);
export type UserEvent = z.infer<typeof userEventSchema>;

/** Messages a managed chat server sends its balancer over the IPC channel. */
export const childMessageSchema = z.discriminatedUnion('type', [
  /** The server listens and is connected to Redis; `url` is its websocket base URL. */
  z.object({ type: z.literal('ready'), id: idSchema, url: z.string(), pid: z.number().int() }),
  /** The server has begun draining (after a `drain` command or a signal). */
  z.object({ type: z.literal('draining'), id: idSchema }),
]);
export type ChildMessage = z.infer<typeof childMessageSchema>;
