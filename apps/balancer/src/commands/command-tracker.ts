// The pure resend tracker of commands to chat servers: resend until confirmed, or give up visibly after N tries.
import type { CommandAck, ServerCommand } from '@chatfleet/protocol';

/** A command on its way: sent at least once, not yet confirmed. */
export interface PendingCommand {
  id: string;
  serverId: string;
  command: ServerCommand;
  /** When it was first sent (ms epoch). */
  firstSentAt: number;
  /** When it was last sent. */
  lastSentAt: number;
  /** Sends so far. */
  tries: number;
  /** Subscribers Redis counted at the last publish (0: nobody heard it); undefined until known. */
  heardBy: number | undefined;
}

/** Explicit state: the commands still waiting for their ack, by id. */
export type TrackerState = ReadonlyMap<string, PendingCommand>;

export interface TrackerConfig {
  /** A command not confirmed this long after its last send is sent again, ms (COMMAND_RESEND_MS). */
  resendMs: number;
  /** Sends at most; after the last one goes unanswered for resendMs the tracker gives up (COMMAND_MAX_TRIES). */
  maxTries: number;
}

export type TrackerAction =
  /** Publish `command` (with its id) on the server's channel. */
  | { type: 'send'; id: string; serverId: string; command: ServerCommand; attempt: number }
  /** The server confirmed and carried it out. */
  | { type: 'confirmed'; id: string; serverId: string; ack: CommandAck; tries: number; ms: number }
  /** The server confirmed it but refused it (`ok: false`): not resent. */
  | { type: 'refused'; id: string; serverId: string; ack: CommandAck; reason: string }
  /** No confirmation after every try, or the server is gone: an event with the reason. */
  | { type: 'gave-up'; id: string; serverId: string; command: ServerCommand; reason: string };

export interface TrackerStep {
  state: TrackerState;
  actions: TrackerAction[];
}

/** Starts tracking a new command: its first send. */
export function trackCommand(state: TrackerState, id: string, serverId: string, command: ServerCommand, now: number): TrackerStep {
  const next = new Map(state);
  next.set(id, { id, serverId, command: { ...command, id }, firstSentAt: now, lastSentAt: now, tries: 1, heardBy: undefined });
  return { state: next, actions: [{ type: 'send', id, serverId, command: { ...command, id }, attempt: 1 }] };
}

/** Records how many subscribers Redis counted for the latest publish of `id`. */
export function recordPublish(state: TrackerState, id: string, receivers: number): TrackerState {
  const pending = state.get(id);
  if (pending === undefined) return state;
  const next = new Map(state);
  next.set(id, { ...pending, heardBy: receivers });
  return next;
}

/**
 * One pass over the pending commands with the acks read from Redis (by
 * command id) and the servers known to be gone:
 * - an ack settles its command: `confirmed` (ok) or `refused` (not ok);
 * - a command to a gone server is given up at once;
 * - a command unconfirmed `resendMs` after its last send is sent again, or
 *   given up once it has been sent `maxTries` times, with a reason that says
 *   how many tries over how long and whether anyone heard the last one.
 */
export function stepTracker(
  state: TrackerState,
  acks: ReadonlyMap<string, CommandAck>,
  gone: ReadonlySet<string>,
  config: TrackerConfig,
  now: number,
): TrackerStep {
  const next = new Map(state);
  const actions: TrackerAction[] = [];
  for (const pending of state.values()) {
    const { id, serverId } = pending;
    const ack = acks.get(id);
    if (ack !== undefined) {
      next.delete(id);
      if (ack.ok) actions.push({ type: 'confirmed', id, serverId, ack, tries: pending.tries, ms: now - pending.firstSentAt });
      else actions.push({ type: 'refused', id, serverId, ack, reason: `${serverId} refused ${describe(pending)}: ${ack.detail}` });
      continue;
    }
    if (gone.has(serverId)) {
      next.delete(id);
      actions.push({ type: 'gave-up', id, serverId, command: pending.command, reason: `${describe(pending)} to ${serverId} dropped: the server is gone` });
      continue;
    }
    if (now - pending.lastSentAt < config.resendMs) continue;
    if (pending.tries >= config.maxTries) {
      next.delete(id);
      const heard =
        pending.heardBy === undefined ? '' : pending.heardBy === 0 ? '; the last publish reached no subscriber' : `; the last publish reached ${pending.heardBy} subscriber${pending.heardBy === 1 ? '' : 's'}`;
      actions.push({
        type: 'gave-up',
        id,
        serverId,
        command: pending.command,
        reason: `no confirmation of ${describe(pending)} from ${serverId} after ${pending.tries} tries over ${((now - pending.firstSentAt) / 1000).toFixed(1)} s${heard}`,
      });
      continue;
    }
    const attempt = pending.tries + 1;
    next.set(id, { ...pending, tries: attempt, lastSentAt: now, heardBy: undefined });
    actions.push({ type: 'send', id, serverId, command: pending.command, attempt });
  }
  return { state: next, actions };
}

/** "redistribute c-1" / "drain c-2". */
function describe(pending: PendingCommand): string {
  return `${pending.command.type} ${pending.id}`;
}
