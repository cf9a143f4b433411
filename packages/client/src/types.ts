// The client's public data types, written out in full so that its published types need neither the protocol package nor zod.

/** A room message (the server's `chat` frame). */
export interface ChatMessage {
  /** `<ms>-<seq>`: unique and ordered within its room. */
  id: string;
  chatId: string;
  /** The sender's user id, set by the server. */
  from: string;
  message: string;
  /** The sending server's clock, ms since the epoch. */
  ts: number;
  /** The sender's correlation id, when it gave one. */
  clientId?: string | undefined;
}

/** A direct message (the server's `direct` frame). */
export interface DirectMessage {
  /** `<ms>-<seq>`, ordered per recipient: the entry id in the recipient's direct history. */
  id: string;
  from: string;
  to: string;
  message: string;
  ts: number;
  clientId?: string | undefined;
}

/** The server's answer to a join (`registered`). */
export interface RegisteredInfo {
  chatId: string;
  /** User ids in the room across the fleet, this user included. */
  members: string[];
  /** The room's newest message id when the join took effect; absent for an empty history. */
  lastId?: string | undefined;
  /** With `since`: false when history could not fill the gap since then (see the `gap` event). */
  recovered?: boolean | undefined;
}

/** The first frame on every connection (`welcome`). */
export interface WelcomeInfo {
  serverId: string;
  userId: string;
  connectedAt: number;
}

/** A watched user came online or went offline (`status`). */
export interface StatusInfo {
  userId: string;
  online: boolean;
}

/** The balancer's answer to `GET /servers/provision`. */
export interface ProvisionAnswer {
  /** The chosen server's id. */
  id: string;
  /** A complete websocket URL that already carries the ticket. */
  url: string;
  token: string;
  /** When the ticket expires, ms since the epoch. */
  expiresAt: number;
}
