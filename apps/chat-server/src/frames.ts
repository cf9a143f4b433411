// Client frames: the rate limit, parsing, and what each frame type does.
import {
  CloseCode,
  encodeChatFrameTail,
  encodeServerFrame,
  ErrorCode,
  Limits,
  parseClientFrame,
  presenceMembers,
  type ClientFrame,
  type RedisKeys,
} from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';
import type { ChatServerConfig } from './config.js';
import type { ClientConnection as Connection } from './client-connection.js';
import type { Durability } from './durability.js';
import type { Logger } from './log.js';
import type { Publisher } from './publisher.js';
import { countStrike, takeToken } from './rate-limit.js';
import type { Rooms } from './rooms.js';
import type { Users } from './users.js';

/** Turns client frames into room, user and Redis actions. */
export class FrameHandler {
  /** Chat publishes sent to Redis and not answered yet. */
  private publishing = 0;
  /** Frame failures since the last one logged; logged at most once a second so a Redis stall cannot flood the log. */
  private failures = 0;
  private failureLoggedAt = 0;
  /** Chats refused as busy since the last such log line (at most one a second). */
  private refused = 0;
  private refusedLoggedAt = 0;

  constructor(
    private readonly config: ChatServerConfig,
    private readonly log: Logger,
    private readonly redis: RedisLink,
    private readonly keys: RedisKeys,
    private readonly rooms: Rooms,
    private readonly users: Users,
    private readonly publisher: Publisher,
    private readonly durability: Durability,
  ) {}

  /** Handles one frame from a client: rate limit, parse, dispatch. Never throws. */
  onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (connection.closing) return;
    const now = Date.now();
    // Frames refused here by the rate limit are not parsed, so their error names no clientId: parsing a
    // flood only to answer it would cost what the limit saves. The client's send timeout covers them.
    if (!takeToken(connection, now, this.config.rateLimit, this.config.rateLimit * 2)) {
      if (countStrike(connection, now, this.config.rateLimit)) {
        connection.sendError(ErrorCode.rateLimited, 'too many frames; closing');
        connection.close(CloseCode.policyViolation, 'rate limit exceeded', this.config.redirectGraceMs);
      } else {
        connection.sendError(ErrorCode.rateLimited, `more than ${this.config.rateLimit} frames per second`);
      }
      return;
    }
    if (isBinary) {
      connection.sendError(ErrorCode.badFrame, 'frames must be JSON text, not binary');
      return;
    }
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) {
      connection.sendError(parsed.code, parsed.message, parsed.clientId);
      return;
    }
    this.handleFrame(connection, parsed.frame).catch((err: unknown) => this.onFailure(err, parsed.frame, connection));
  }

  private onFailure(err: unknown, frame: ClientFrame, connection: Connection): void {
    const type = frame.type;
    // Every step that can fail here is a Redis call: the client must learn that its frame had no effect.
    connection.sendError(
      ErrorCode.unavailable,
      `${type} failed: the server could not reach Redis; nothing was done, retry later`,
      sendClientId(frame),
    );
    this.failures += 1;
    const now = Date.now();
    if (now - this.failureLoggedAt < 1000) return;
    this.failureLoggedAt = now;
    this.log.warn({ err, type, userId: connection.userId, failures: this.failures }, 'frame handling failed');
    this.failures = 0;
  }

  private onBusy(): void {
    this.refused += 1;
    const now = Date.now();
    if (now - this.refusedLoggedAt < 1000) return;
    this.refusedLoggedAt = now;
    this.log.warn({ refused: this.refused, waiting: this.publishing }, 'publish queue full: refusing chats');
    this.refused = 0;
  }

  private async handleFrame(connection: Connection, frame: ClientFrame): Promise<void> {
    // While Redis is unreachable, refuse at once rather than queue: a queued publish would only time out
    // (or arrive late, after clients stopped waiting), and a busy client would pile publishes up meanwhile.
    if (frame.type !== 'leave' && !this.redis.isReady) {
      const clientId = sendClientId(frame);
      const what = clientId === undefined ? '' : ` (clientId ${clientId})`;
      connection.sendError(
        ErrorCode.unavailable,
        `${frame.type}${what} not done: the server cannot reach Redis right now; retry later`,
        clientId,
      );
      return;
    }
    switch (frame.type) {
      case 'register': {
        const { chatId, since } = frame.payload;
        if (!connection.inRoom(chatId) && connection.roomCount >= Limits.maxRoomsPerConnection) {
          connection.sendError(ErrorCode.tooMany, `a connection may join up to ${Limits.maxRoomsPerConnection} rooms`);
          return;
        }
        await this.rooms.join(connection, chatId, since);
        return;
      }
      case 'leave': {
        if (!this.rooms.leave(connection, frame.payload.chatId)) {
          connection.sendError(ErrorCode.notRegistered, `not in room "${frame.payload.chatId}"`);
        }
        return;
      }
      case 'chat': {
        const { message, clientId } = frame.payload;
        let chatId = frame.payload.chatId;
        if (chatId === undefined) {
          const joined = connection.roomCount;
          if (joined === 0) {
            connection.sendError(ErrorCode.notRegistered, 'join a room before sending', clientId);
            return;
          }
          if (joined > 1) {
            connection.sendError(ErrorCode.badFrame, 'chatId is required when the connection has joined several rooms', clientId);
            return;
          }
          chatId = connection.roomIds()[0]!;
        } else if (!connection.inRoom(chatId)) {
          connection.sendError(ErrorCode.notRegistered, `not in room "${chatId}"`, clientId);
          return;
        }
        if (this.publishing >= this.config.publishQueueLimit) {
          connection.sendError(ErrorCode.rateLimited, 'server busy: the message was not sent, retry later', clientId);
          this.onBusy();
          return;
        }
        const history = this.keys.history(chatId);
        if (!this.durability.accepting(history)) {
          connection.sendError(ErrorCode.unavailable, this.durability.refusal('chat', clientId), clientId);
          return;
        }
        const tail = encodeChatFrameTail({
          chatId,
          from: connection.userId,
          message,
          ts: Date.now(),
          ...(clientId === undefined ? {} : { clientId }),
        });
        this.publishing += 1;
        let id: string;
        try {
          id = await this.publisher.publish(chatId, tail);
        } finally {
          this.publishing -= 1;
        }
        this.rooms.countPublished(chatId, 1);
        if (!(await this.durability.confirm(history))) {
          connection.sendError(ErrorCode.unavailable, this.durability.unconfirmed('chat', clientId, id), clientId);
          return;
        }
        connection.send(encodeServerFrame('ack', clientId === undefined ? { id } : { clientId, id }));
        return;
      }
      case 'direct': {
        const { to, message, clientId } = frame.payload;
        await this.users.direct(connection, to, message, clientId);
        return;
      }
      case 'presence': {
        const chatId = frame.payload.chatId;
        const users = presenceMembers(await this.redis.commands.hKeys(this.keys.presence(chatId)));
        connection.send(encodeServerFrame('presence', { chatId, users }));
        return;
      }
      case 'watch': {
        await this.users.watch(connection, frame.payload.users);
        return;
      }
    }
  }
}

/** The clientId of a chat or direct, which every `error` refusing it echoes; undefined for other frames. */
function sendClientId(frame: ClientFrame): string | undefined {
  return frame.type === 'chat' || frame.type === 'direct' ? frame.payload.clientId : undefined;
}
