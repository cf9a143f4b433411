// One simulated user: a chat client in one room that sends when its turn comes and books everything it sees.
import { ChatClient, type ChatClientError, type ChatMessage, type DirectMessage } from '@chatfleet/client';
import type { Ledger } from './stats.js';

/** What every bot of a run shares. */
export interface BotContext {
  ledger: Ledger;
  /** Balancer URLs of the fleet; the client moves to the next one when one fails. */
  balancer: string | readonly string[];
  /** User names are `${userPrefix}${index}`; messages from anyone else are not this run's. */
  userPrefix: string;
  reconnectDelayMs: number;
  /** Puts the bot's next send on the shared timer wheel; `first` for its first turn after joining. */
  scheduleSend(index: number, first: boolean): void;
  /** True while the run is in its sending phase. */
  sending(): boolean;
  /** A user registered in its room for the first time. */
  firstRegistered(index: number): void;
  /** Open connections went up or down by one. */
  connectedChanged(delta: 1 | -1): void;
  /** Clock of sends and receipts (ms). */
  now(): number;
  /** Users in the run, and the share of turns that send a direct message instead (0 = none). */
  users: number;
  directShare: number;
  /** Follow moves break before make instead of make before break. */
  breakBeforeMake: boolean;
}

// Every message carries the same small text: the harness measures delivery, not payload handling.
const TEXT = 'harness message 0123456789abcdef';

/**
 * A simulated user. Its state is the client plus three fields; all books live
 * in the shared Ledger, indexed by the bot's number.
 */
export class Bot {
  readonly client: ChatClient;
  #scheduled = false;

  constructor(
    readonly index: number,
    readonly room: string,
    readonly context: BotContext,
  ) {
    this.client = new ChatClient({
      balancer: context.balancer,
      user: `${context.userPrefix}${index}`,
      backoff: { baseMs: context.reconnectDelayMs, maxMs: Math.max(5_000, context.reconnectDelayMs * 8) },
      sendTimeoutMs: 5_000,
      // A simulated user keeps trying for the whole run, as the harness counts failures itself.
      startTimeoutMs: 0,
      makeBeforeBreak: !context.breakBeforeMake,
    });
    const { ledger } = context;
    this.client.on('message', (message) => this.#onMessage(message));
    this.client.on('direct', (direct) => this.#onDirect(direct));
    this.client.on('duplicate', () => ledger.duplicate(index));
    this.client.on('gap', (gap) => {
      if (gap.chatId === room) ledger.gap(index);
    });
    this.client.on('registered', (info) => {
      if (info.chatId !== room) return;
      if (ledger.registered(index)) context.firstRegistered(index);
      if (!this.#scheduled && context.sending()) {
        this.#scheduled = true;
        context.scheduleSend(index, true);
      }
    });
    this.client.on('error', (error) => ledger.error(errorKey(error)));
    this.client.on('state', ({ state, previous }) => {
      if (state === 'open') context.connectedChanged(1);
      else if (previous === 'open') context.connectedChanged(-1);
    });
  }

  /** Provisions, connects and joins the room; failures are retried by the client and counted by code. */
  start(): void {
    this.client.start().catch((error: ChatClientError) => {
      if (error.code !== 'closed') this.context.ledger.error(`start:${errorKey(error)}`);
    });
    this.client.join(this.room).catch((error: ChatClientError) => {
      if (error.code !== 'closed') this.context.ledger.error(`join:${errorKey(error)}`);
    });
  }

  /** The bot's turn on the wheel: send one message when the room is live, then wait for the next turn. */
  turn(): void {
    if (!this.context.sending()) return;
    this.context.scheduleSend(this.index, false);
    if (!this.client.isLive(this.room)) {
      // Mid-reconnect: skip this turn rather than queue, as a person would.
      this.context.ledger.skippedTurns++;
      return;
    }
    const { ledger } = this.context;
    if (this.context.directShare > 0 && this.context.users > 1 && Math.random() < this.context.directShare) {
      this.#sendDirect();
      return;
    }
    const gm = ledger.send(this.index, this.context.now());
    this.client.send(this.room, TEXT, { clientId: gm.toString(36) }).then(
      () => ledger.acked(gm),
      (error: ChatClientError) => {
        if (error.code === 'unavailable') ledger.unconfirmed(gm);
        else ledger.failed(gm);
        ledger.error(`send:${errorKey(error)}`);
      },
    );
  }

  /** Sends a direct message to a random other user of the run; its clientId is `d` + its number in base 36. */
  #sendDirect(): void {
    const { ledger, users, userPrefix } = this.context;
    let to = Math.floor(Math.random() * (users - 1));
    if (to >= this.index) to += 1;
    const dn = ledger.sendDirect(this.index, to, this.context.now());
    this.client.direct(`${userPrefix}${to}`, TEXT, { clientId: `d${dn.toString(36)}` }).then(
      () => ledger.directAcked(dn),
      (error: ChatClientError) => {
        ledger.directFailed(dn);
        ledger.error(`direct:${errorKey(error)}`);
      },
    );
  }

  #onDirect(direct: DirectMessage): void {
    const { ledger, userPrefix } = this.context;
    const clientId = direct.clientId;
    const dn = clientId?.startsWith('d') === true ? Number.parseInt(clientId.slice(1), 36) : -1;
    if (
      !(dn >= 0 && dn < ledger.directSends) ||
      `${userPrefix}${ledger.directSenderOf(dn)}` !== direct.from ||
      !ledger.directReceived(this.index, dn, this.context.now())
    ) {
      ledger.error('foreign_direct');
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }

  #onMessage(message: ChatMessage): void {
    const { ledger, userPrefix } = this.context;
    const clientId = message.clientId;
    if (clientId === undefined || !message.from.startsWith(userPrefix)) {
      ledger.error('foreign_message');
      return;
    }
    const gm = Number.parseInt(clientId, 36);
    if (
      !(gm >= 0 && gm < ledger.sends) ||
      `${userPrefix}${ledger.senderOf(gm)}` !== message.from ||
      !ledger.received(this.index, gm, this.context.now())
    ) {
      ledger.error('foreign_message');
    }
  }
}

function errorKey(error: ChatClientError): string {
  if (error.code === 'provision_failed') return `provision_failed:${error.remoteCode ?? error.status ?? '?'}`;
  return error.code ?? 'unknown';
}
