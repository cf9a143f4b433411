// Client-to-server frames: the schemas, their types, and the one parser every chat server uses.
import { z } from 'zod';
import { ErrorCode, Limits } from './codes.js';
import { idSchema, messageIdSchema } from './ids.js';

const clientIdSchema = z.string().min(1).max(Limits.maxClientIdChars);
// Length is checked after parsing so that an over-long text gets `too_large`, not `bad_frame`.
const textSchema = z.string().min(1, 'must not be empty');

export const registerPayload = z.object({
  chatId: idSchema,
  since: messageIdSchema.optional(),
});
export const leavePayload = z.object({ chatId: idSchema });
export const chatPayload = z.object({
  message: textSchema,
  chatId: idSchema.optional(),
  clientId: clientIdSchema.optional(),
});
export const directPayload = z.object({
  to: idSchema,
  message: textSchema,
  clientId: clientIdSchema.optional(),
});
export const presencePayload = z.object({ chatId: idSchema });
// The count limit is checked after parsing so that too many users gets `too_many`.
export const watchPayload = z.object({ users: z.array(idSchema) });

export const clientFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('register'), payload: registerPayload }),
  z.object({ type: z.literal('leave'), payload: leavePayload }),
  z.object({ type: z.literal('chat'), payload: chatPayload }),
  z.object({ type: z.literal('direct'), payload: directPayload }),
  z.object({ type: z.literal('presence'), payload: presencePayload }),
  z.object({ type: z.literal('watch'), payload: watchPayload }),
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
export type ClientPayload<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>['payload'];

export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = [
  'register',
  'leave',
  'chat',
  'direct',
  'presence',
  'watch',
];

/**
 * The outcome of parsing one text frame from a client. A failed `chat` or
 * `direct` keeps the clientId it carried when that could still be read, so
 * the `error` frame can name the send it refuses.
 */
export type ParsedClientFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; clientId?: string };

/**
 * Parses one text frame. Never throws: bad input comes back as the error code
 * and a message naming what was wrong, ready for an `error` frame.
 */
export function parseClientFrame(text: string): ParsedClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.badFrame, message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.badFrame, message: 'frame must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, code: ErrorCode.badFrame, message: 'frame needs a string "type"' };
  }
  if (!(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      code: ErrorCode.unknownType,
      message: `unknown frame type "${type.slice(0, 40)}"; expected one of ${CLIENT_FRAME_TYPES.join(', ')}`,
    };
  }
  const result = clientFrameSchema.safeParse(value);
  if (!result.success) {
    return withClientId(
      { ok: false, code: ErrorCode.badFrame, message: describeIssues(type, result.error) },
      type === 'chat' || type === 'direct' ? readClientId(value) : undefined,
    );
  }
  const frame = result.data;
  if ((frame.type === 'chat' || frame.type === 'direct') && frame.payload.message.length > Limits.maxMessageChars) {
    return withClientId(
      {
        ok: false,
        code: ErrorCode.tooLarge,
        message: `message is ${frame.payload.message.length} characters; the limit is ${Limits.maxMessageChars}`,
      },
      frame.payload.clientId,
    );
  }
  if (frame.type === 'watch' && frame.payload.users.length > Limits.maxWatchedUsers) {
    return {
      ok: false,
      code: ErrorCode.tooMany,
      message: `watch names ${frame.payload.users.length} users; the limit is ${Limits.maxWatchedUsers}`,
    };
  }
  return { ok: true, frame };
}

/**
 * The clientId of a frame that failed its schema, read without trusting the
 * rest: only a non-empty string of at most `Limits.maxClientIdChars`
 * characters at `payload.clientId` counts.
 */
function readClientId(value: object): string | undefined {
  const payload = (value as { payload?: unknown }).payload;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const clientId = (payload as { clientId?: unknown }).clientId;
  return typeof clientId === 'string' && clientId.length > 0 && clientId.length <= Limits.maxClientIdChars
    ? clientId
    : undefined;
}

function withClientId<T extends { ok: false }>(failure: T, clientId: string | undefined): T & { clientId?: string } {
  return clientId === undefined ? failure : { ...failure, clientId };
}

function describeIssues(type: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : 'frame';
    return `${path}: ${issue.message}`;
  });
  return `bad "${type}" frame: ${parts.join('; ')}`;
}
