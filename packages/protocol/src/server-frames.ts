// Server-to-client frames: schemas, types, and builders that serialize each frame once.
import { z } from 'zod';
import { idSchema, messageIdSchema } from './ids.js';

export const welcomePayload = z.object({
  serverId: idSchema,
  userId: idSchema,
  connectedAt: z.number(),
});
export const registeredPayload = z.object({
  chatId: idSchema,
  /** User ids in the room across the fleet, this connection's user included. */
  members: z.array(idSchema),
  /**
   * The id of the room's newest history entry when the registration took
   * effect (read after the server's subscription was live, so every later
   * message reaches this connection). Absent when the history was empty.
   * A client that has seen no message yet resumes from it.
   */
  lastId: messageIdSchema.optional(),
  /**
   * With `since` (and when a server finds it missed messages of the room):
   * true when every message after `since` was still in history and is
   * replayed, false when some could not be (history trimmed past it, or lost
   * with a Redis that came back empty): the client then knows it has a gap.
   */
  recovered: z.boolean().optional(),
});
export const chatMessagePayload = z.object({
  id: messageIdSchema,
  chatId: idSchema,
  from: idSchema,
  message: z.string(),
  ts: z.number(),
  clientId: z.string().optional(),
});
export const directMessagePayload = z.object({
  /** Ordered per recipient: the entry id in the recipient's direct history (`<ms>-<seq>`). */
  id: messageIdSchema,
  from: idSchema,
  to: idSchema,
  message: z.string(),
  ts: z.number(),
  clientId: z.string().optional(),
});
export const ackPayload = z.object({
  clientId: z.string().optional(),
  id: z.string(),
});
export const presenceResultPayload = z.object({
  chatId: idSchema,
  users: z.array(idSchema),
});
export const statusPayload = z.object({
  userId: idSchema,
  online: z.boolean(),
});
export const redistributePayload = z.object({
  reason: z.string(),
  /**
   * A complete websocket URL with a fresh token. Empty when no other server
   * was ready: the client then provisions again from the balancer.
   */
  redirect: z.string(),
});
export const errorPayload = z.object({
  code: z.string(),
  message: z.string(),
  /**
   * Present when the refused frame carried a clientId (a `chat` or `direct`):
   * the client then knows which of its pending sends failed.
   */
  clientId: z.string().optional(),
});

export const serverFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), payload: welcomePayload }),
  z.object({ type: z.literal('registered'), payload: registeredPayload }),
  z.object({ type: z.literal('chat'), payload: chatMessagePayload }),
  z.object({ type: z.literal('direct'), payload: directMessagePayload }),
  z.object({ type: z.literal('ack'), payload: ackPayload }),
  z.object({ type: z.literal('presence'), payload: presenceResultPayload }),
  z.object({ type: z.literal('status'), payload: statusPayload }),
  z.object({ type: z.literal('redistribute'), payload: redistributePayload }),
  z.object({ type: z.literal('error'), payload: errorPayload }),
]);

export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type ServerFrameType = ServerFrame['type'];
export type ServerPayload<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>['payload'];
export type ChatMessage = ServerPayload<'chat'>;

/** Serializes one server frame; the result is what goes on the wire. */
export function encodeServerFrame<T extends ServerFrameType>(type: T, payload: ServerPayload<T>): string {
  return JSON.stringify({ type, payload });
}

/**
 * A chat frame is built around its id, which only Redis knows once the message
 * is appended to the room history. The frame is split into a fixed head and a
 * tail so that the id can be put between them without parsing or re-encoding:
 * `CHAT_FRAME_HEAD + id + tail`.
 */
export const CHAT_FRAME_HEAD = '{"type":"chat","payload":{"id":"';

/** The part of a chat frame after its id: `","chatId":...}}`. */
export function encodeChatFrameTail(message: Omit<ChatMessage, 'id'>): string {
  const rest: Omit<ChatMessage, 'id'> = {
    chatId: message.chatId,
    from: message.from,
    message: message.message,
    ts: message.ts,
  };
  if (message.clientId !== undefined) rest.clientId = message.clientId;
  // JSON.stringify gives `{"chatId":...}`; drop its `{` and join it after the id.
  return `",${JSON.stringify(rest).slice(1)}}`;
}

/** Joins a chat frame from its id and tail. */
export function joinChatFrame(id: string, tail: string): string {
  return CHAT_FRAME_HEAD + id + tail;
}

/**
 * Reads the id back out of a chat frame built by `joinChatFrame`, without
 * parsing the JSON. Returns undefined for anything else.
 */
export function chatFrameId(frame: string): string | undefined {
  if (!frame.startsWith(CHAT_FRAME_HEAD)) return undefined;
  const end = frame.indexOf('"', CHAT_FRAME_HEAD.length);
  return end === -1 ? undefined : frame.slice(CHAT_FRAME_HEAD.length, end);
}

/** A direct frame is built around its id like a chat frame: `DIRECT_FRAME_HEAD + id + tail`. */
export const DIRECT_FRAME_HEAD = '{"type":"direct","payload":{"id":"';

/** The part of a direct frame after its id: `","from":...}}`. */
export function encodeDirectFrameTail(message: Omit<ServerPayload<'direct'>, 'id'>): string {
  const rest: Omit<ServerPayload<'direct'>, 'id'> = {
    from: message.from,
    to: message.to,
    message: message.message,
    ts: message.ts,
  };
  if (message.clientId !== undefined) rest.clientId = message.clientId;
  return `",${JSON.stringify(rest).slice(1)}}`;
}

/** Joins a direct frame from its id and tail. */
export function joinDirectFrame(id: string, tail: string): string {
  return DIRECT_FRAME_HEAD + id + tail;
}

/** Reads the id back out of a direct frame built by `joinDirectFrame`; undefined for anything else. */
export function directFrameId(frame: string): string | undefined {
  if (!frame.startsWith(DIRECT_FRAME_HEAD)) return undefined;
  const end = frame.indexOf('"', DIRECT_FRAME_HEAD.length);
  return end === -1 ? undefined : frame.slice(DIRECT_FRAME_HEAD.length, end);
}

/** Parses a server frame (clients use this); throws a ZodError or SyntaxError on bad input. */
export function parseServerFrame(text: string): ServerFrame {
  return serverFrameSchema.parse(JSON.parse(text));
}
