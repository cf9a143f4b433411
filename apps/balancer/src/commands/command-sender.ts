// Sends commands to chat servers with an id, reads their acks from Redis and resends until confirmed or given up (the tracker decides).
import { randomBytes } from 'node:crypto';
import { parseCommandAck, type CommandAck, type RedisKeys, type ServerCommand } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';
import { recordPublish, stepTracker, trackCommand, type TrackerAction, type TrackerState } from './command-tracker.js';

/** How a command ended. */
export type CommandOutcome =
  | { ok: true; id: string; serverId: string; ack: CommandAck; tries: number; ms: number }
  | { ok: false; id: string; serverId: string; reason: string; ack?: CommandAck };

/**
 * How commands reach servers and acks come back: a seam, so the sender runs
 * over the balancer's store as well as over a bare Redis link
 * (`redisCommandTransport`).
 */
export interface CommandTransport {
  /** Publishes `command` on the server's channel; resolves with the subscribers Redis counted. */
  publish(serverId: string, command: ServerCommand): Promise<number>;
  /** The acks of these commands that the servers wrote (missing ones left out). */
  readAcks(pending: ReadonlyArray<{ serverId: string; id: string }>): Promise<Map<string, CommandAck>>;
}

/** The transport over a Redis link: PUBLISH on `server:{id}:commands`, GET of `server:{id}:ack:<id>`. */
export function redisCommandTransport(redis: RedisLink, keys: RedisKeys): CommandTransport {
  return {
    publish: (serverId, command) => redis.publish(keys.serverCommands(serverId), JSON.stringify(command)),
    async readAcks(pending) {
      // One GET per ack: each lives in its server's slot.
      const texts = await Promise.all(pending.map((p) => redis.commands.get(keys.commandAck(p.serverId, p.id))));
      const acks = new Map<string, CommandAck>();
      texts.forEach((text, i) => {
        const ack = parseCommandAck(text as string | null);
        const p = pending[i]!;
        if (ack !== undefined && ack.id === p.id) acks.set(p.id, ack);
      });
      return acks;
    },
  };
}

export interface CommandSenderOptions {
  transport: CommandTransport;
  /** COMMAND_RESEND_MS: an unconfirmed command is sent again after this, ms. */
  resendMs: number;
  /** COMMAND_MAX_TRIES: sends at most before giving up. */
  maxTries: number;
  /** How often the acks of pending commands are read, ms; default a quarter of resendMs (at least 10). */
  pollMs?: number;
  /** Start of every command id (an id-safe string, e.g. the balancer's id); default `c-` and 6 random hex digits. */
  idPrefix?: string;
  /** Each command's end: confirmed, refused or given up. The caller records it (a fleet event with the reason). */
  onOutcome?: (outcome: CommandOutcome) => void;
  /** Every publish, first sends and resends, with the subscribers Redis counted (undefined when the publish failed). */
  onSend?: (sent: { id: string; serverId: string; attempt: number; receivers: number | undefined }) => void;
  /** Whether a server is known to be gone (its commands are dropped at once). */
  isGone?: (serverId: string) => boolean;
}

/**
 * Commands to chat servers that are not lost quietly: each gets an id, the
 * server confirms it under `commandAck(serverId, id)` (and carries a repeated
 * id out only once), and this sender reads those acks (through its
 * transport) every `pollMs`, resends
 * what is unconfirmed after `resendMs` and gives up after `maxTries` sends,
 * through the pure tracker (`command-tracker.ts`). Acks live in Redis, not on
 * a reply channel, so a balancer that missed a moment, or took over as leader,
 * still finds them, and no subscriber is needed.
 */
export class CommandSender {
  private state: TrackerState = new Map();
  private readonly waiters = new Map<string, (outcome: CommandOutcome) => void>();
  private readonly idPrefix: string;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: CommandSenderOptions) {
    this.idPrefix = options.idPrefix ?? `c-${randomBytes(3).toString('hex')}-`;
  }

  /** Commands sent and not yet settled. */
  get pending(): number {
    return this.state.size;
  }

  /** Starts reading acks every `pollMs`. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const every = this.options.pollMs ?? Math.max(10, Math.floor(this.options.resendMs / 4));
    this.timer = setInterval(() => {
      void this.tick();
    }, every);
  }

  /** Stops the timer, waits for a pass in flight, and settles what is pending as not confirmed. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    for (const pending of this.state.values()) {
      this.settle({ ok: false, id: pending.id, serverId: pending.serverId, reason: `${pending.command.type} ${pending.id} to ${pending.serverId} not confirmed: the balancer stopped` });
    }
    this.state = new Map();
  }

  /**
   * Publishes `command` to `serverId` with a fresh id and resolves once it is
   * settled: confirmed (with the server's ack), refused, or given up. Never rejects.
   */
  send(serverId: string, command: ServerCommand, now = Date.now()): Promise<CommandOutcome> {
    const id = `${this.idPrefix}${++this.seq}`;
    if (this.stopped) return Promise.resolve({ ok: false, id, serverId, reason: 'the balancer is stopping' });
    const outcome = new Promise<CommandOutcome>((resolve) => this.waiters.set(id, resolve));
    const step = trackCommand(this.state, id, serverId, command, now);
    this.state = step.state;
    void this.perform(step.actions);
    return outcome;
  }

  /** One pass: reads the acks of pending commands, then resends, settles or gives up as the tracker says. */
  tick(now = Date.now()): Promise<void> {
    if (this.ticking !== undefined) return this.ticking;
    this.ticking = this.pass(now).finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async pass(now: number): Promise<void> {
    if (this.state.size === 0) return;
    const pending = [...this.state.values()];
    let acks = new Map<string, CommandAck>();
    try {
      acks = await this.options.transport.readAcks(pending);
    } catch {
      // Redis did not answer: nothing is known this pass; the tracker's clock still runs on the sends.
    }
    const gone = new Set(pending.map((p) => p.serverId).filter((id) => this.options.isGone?.(id) === true));
    const step = stepTracker(this.state, acks, gone, { resendMs: this.options.resendMs, maxTries: this.options.maxTries }, now);
    this.state = step.state;
    await this.perform(step.actions);
  }

  private async perform(actions: readonly TrackerAction[]): Promise<void> {
    await Promise.all(
      actions.map(async (action) => {
        switch (action.type) {
          case 'send': {
            let receivers: number | undefined;
            try {
              receivers = await this.options.transport.publish(action.serverId, action.command);
              this.state = recordPublish(this.state, action.id, receivers);
            } catch {
              receivers = undefined; // counted as a try all the same: resent after resendMs
            }
            this.options.onSend?.({ id: action.id, serverId: action.serverId, attempt: action.attempt, receivers });
            return;
          }
          case 'confirmed':
            this.settle({ ok: true, id: action.id, serverId: action.serverId, ack: action.ack, tries: action.tries, ms: action.ms });
            return;
          case 'refused':
            this.settle({ ok: false, id: action.id, serverId: action.serverId, reason: action.reason, ack: action.ack });
            return;
          case 'gave-up':
            this.settle({ ok: false, id: action.id, serverId: action.serverId, reason: action.reason });
        }
      }),
    );
  }

  private settle(outcome: CommandOutcome): void {
    const resolve = this.waiters.get(outcome.id);
    this.waiters.delete(outcome.id);
    this.options.onOutcome?.(outcome);
    resolve?.(outcome);
  }
}
