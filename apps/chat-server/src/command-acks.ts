// Confirms commands that carry an id: the ack in Redis for the balancer, and a memory of recent ids so a resend is carried out only once.
import type { CommandAck, RedisKeys } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';

/** Command ids remembered at most (commands come a few a minute; a resend comes seconds after the first). */
export const RECENT_COMMANDS = 256;

/**
 * The server's side of acknowledged commands. `seen(id)` tells a resend from
 * a new command (its ack is written again, the command is not run again);
 * `confirm(ack)` remembers the id and writes the ack under
 * `commandAck(serverId, id)` with a TTL. A failed write is thrown to the
 * caller: the balancer resends, and the resend writes it again.
 */
export class CommandAcks {
  private readonly recent = new Map<string, CommandAck>();

  constructor(
    private readonly redis: RedisLink,
    private readonly keys: RedisKeys,
    private readonly serverId: string,
    private readonly ttlMs: number,
  ) {}

  /** The ack of a command id already carried out, or undefined. */
  seen(id: string): CommandAck | undefined {
    return this.recent.get(id);
  }

  /** Builds an ack for command `id`. */
  ack(id: string, ok: boolean, detail: string, moved?: number): CommandAck {
    const ack: CommandAck = { id, serverId: this.serverId, ok, detail, at: Date.now() };
    if (moved !== undefined) ack.moved = moved;
    return ack;
  }

  /** Remembers the ack (so a resend is not carried out again) and writes it to Redis. */
  async confirm(ack: CommandAck): Promise<void> {
    this.recent.delete(ack.id);
    this.recent.set(ack.id, ack);
    while (this.recent.size > RECENT_COMMANDS) this.recent.delete(this.recent.keys().next().value!);
    await this.write(ack);
  }

  /** Writes an ack again (for a resend of a command already carried out). */
  async write(ack: CommandAck): Promise<void> {
    await this.redis.commands.set(this.keys.commandAck(this.serverId, ack.id), JSON.stringify(ack), {
      expiration: { type: 'PX', value: this.ttlMs },
    });
  }
}
