// Room messages on their way to Redis: one script call per room at a time, carrying every message that waited for it.
import { publishChatsArgs, type RedisKeys } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';
import { publishChats } from './redis-scripts.js';

interface Waiting {
  tail: string;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

interface RoomQueue {
  waiting: Waiting[];
  /** True while a script call for this room is on its way. */
  inFlight: boolean;
}

/** Most messages one script call carries; more wait for the next call. */
const MAX_BATCH = 256;

/**
 * Appends room messages to history and publishes them. Each room has at most
 * one PUBLISH_CHATS call on its way; the messages that arrive meanwhile go
 * together in the next one (and in one publish on the room's channel). So:
 * - ids are assigned in the order messages were sent, even when a call is
 *   retried (a Redis that lost its scripts answers NOSCRIPT and the call is
 *   repeated with EVAL: a second call in flight would overtake it);
 * - Redis spends its per-call and per-publish cost once per batch, and the
 *   busier a room, the larger its batches.
 */
export class Publisher {
  private readonly rooms = new Map<string, RoomQueue>();
  private readonly due = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
    private readonly historyLimit: number,
  ) {}

  /** Resolves with the message's id once Redis appended and published it. */
  publish(chatId: string, tail: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let queue = this.rooms.get(chatId);
      if (queue === undefined) {
        queue = { waiting: [], inFlight: false };
        this.rooms.set(chatId, queue);
      }
      queue.waiting.push({ tail, resolve, reject });
      if (queue.inFlight) return; // goes with the next call, when this one is answered
      this.due.add(chatId);
      if (!this.scheduled) {
        this.scheduled = true;
        // The rest of this turn's messages join the same call.
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    for (const chatId of this.due) this.send(chatId);
    this.due.clear();
  };

  private send(chatId: string): void {
    const queue = this.rooms.get(chatId);
    if (queue === undefined || queue.inFlight) return;
    if (queue.waiting.length === 0) {
      this.rooms.delete(chatId);
      return;
    }
    const batch = queue.waiting.splice(0, MAX_BATCH);
    queue.inFlight = true;
    const args = publishChatsArgs(this.keys, chatId, batch.map((w) => w.tail), this.historyLimit, this.link.publishCommand);
    this.link
      .run(publishChats, args.keys, args.arguments)
      .then(
        (reply) => {
          const ids = reply as unknown[];
          batch.forEach((w, i) => w.resolve(String(ids[i])));
        },
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        queue.inFlight = false;
        this.send(chatId);
      });
  }
}
