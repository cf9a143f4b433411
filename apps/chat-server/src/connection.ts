// One client connection: its identity, rooms, rate-limit state and the guarded send path (slow-consumer cut-off).
import type { Socket } from 'node:net';
import { CloseCode, encodeServerFrame, type ErrorCode } from '@chatfleet/protocol';
import type { AbuseCounters } from './abuse.js';
import type { ClientConnection } from './client-connection.js';
import type { FrameLimits } from './transport/frame-parser.js';
import { SocketConnection } from './transport/socket-connection.js';
import { frameString } from './wire.js';

/** What a connection needs from its server; shared by all connections. */
export interface ConnectionHost {
  readonly slowConsumerBytes: number;
  /** How long a slow consumer gets to take its close frame before the socket is cut. */
  readonly slowGraceMs: number;
  /** Caps on one client message: MAX_PAYLOAD bytes (else 1009) and MAX_FRAGMENTS frames (else 1008). */
  readonly frameLimits: FrameLimits;
  /** `socketWrites` counts every frame written to a socket (the `servers:cumulative-socket-writes` figure). */
  readonly counters: { socketWrites: number };
  /** Refusals and abuse closes are counted here (by reason, for the metrics and a throttled log). */
  readonly abuse: AbuseCounters;
  onSlowConsumer(connection: ClientConnection): void;
  /** Uncorks `connection`'s socket once the current batch of writes is done. */
  queueUncork(connection: ClientConnection): void;
  onMessage(connection: ClientConnection, data: Buffer, isBinary: boolean): void;
  onClose(connection: ClientConnection): void;
  onProtocolError(connection: ClientConnection, code: number, reason: string): void;
}

/**
 * A connected client. Kept small on purpose: one of these lives per socket,
 * and a room membership set is only made once the client joins a second room.
 */
export class Connection extends SocketConnection implements ClientConnection {
  /**
   * Rooms joined (including joins still replaying): the id itself while there
   * is one, a set only from the second; most clients stay in one room.
   */
  private joined: string | Set<string> | undefined = undefined;
  /** Users watched for online status. */
  watched: Set<string> | undefined = undefined;
  tokens: number;
  refilledAt: number;
  refused = 0;
  refusedSince = 0;
  /** Set once the client has been sent a `redistribute` frame. */
  moving = false;
  /** True while the socket is corked for the current batch of writes. */
  corked = false;

  constructor(
    socket: Socket,
    readonly userId: string,
    readonly connectedAt: number,
    readonly host: ConnectionHost,
    burst: number,
  ) {
    super(socket);
    this.tokens = burst;
    this.refilledAt = connectedAt;
  }

  /** Number of rooms joined. */
  get roomCount(): number {
    const joined = this.joined;
    return joined === undefined ? 0 : typeof joined === 'string' ? 1 : joined.size;
  }

  /** True when the connection has joined `chatId`. */
  inRoom(chatId: string): boolean {
    const joined = this.joined;
    return joined === undefined ? false : typeof joined === 'string' ? joined === chatId : joined.has(chatId);
  }

  /** The rooms joined, as a fresh array (callers may leave rooms while going through it). */
  roomIds(): string[] {
    const joined = this.joined;
    return joined === undefined ? [] : typeof joined === 'string' ? [joined] : [...joined];
  }

  /** Records a joined room. */
  addRoom(chatId: string): void {
    const joined = this.joined;
    if (joined === undefined) this.joined = chatId;
    else if (typeof joined === 'string') {
      if (joined !== chatId) this.joined = new Set([joined, chatId]);
    } else joined.add(chatId);
  }

  /** Forgets a room; returns false when the connection was not in it. */
  removeRoom(chatId: string): boolean {
    const joined = this.joined;
    if (joined === undefined) return false;
    if (typeof joined === 'string') {
      if (joined !== chatId) return false;
      this.joined = undefined;
      return true;
    }
    if (!joined.delete(chatId)) return false;
    if (joined.size === 0) this.joined = undefined;
    return true;
  }

  override get limits(): FrameLimits {
    return this.host.frameLimits;
  }

  override get closeGraceMs(): number {
    return this.host.slowGraceMs;
  }

  override onMessage(data: Buffer, binary: boolean): void {
    this.host.onMessage(this, data, binary);
  }

  override onProtocolError(code: number, reason: string): void {
    this.host.onProtocolError(this, code, reason);
  }

  override onClosed(): void {
    this.host.onClose(this);
  }

  protected override onCloseStarted(code: number): void {
    this.host.abuse.closed(code);
  }

  /** Sends one serialized frame (JSON text). */
  send(frame: string): void {
    this.sendFramed(frameString(frame));
  }

  /**
   * Writes a frame already framed by `frameText`. Writes made in one turn of
   * the event loop are corked together into one system call per socket; the
   * slow-consumer check runs when they are flushed (see `uncork`).
   */
  sendFramed(framed: Buffer): void {
    const socket = this.socket;
    if (this.closing || !socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      this.host.queueUncork(this);
    }
    socket.write(framed);
    this.host.counters.socketWrites += 1;
  }

  /**
   * Flushes the batch. What the kernel did not take stays queued in the
   * socket; more than SLOW_CONSUMER_BYTES of it makes this a slow consumer.
   */
  uncork(): void {
    this.corked = false;
    const socket = this.socket;
    socket.uncork();
    if (socket.writableLength > this.host.slowConsumerBytes && !this.closing) this.host.onSlowConsumer(this);
  }

  /** Sends an `error` frame; `clientId` names the refused chat or direct that carried one. */
  sendError(code: ErrorCode, message: string, clientId?: string): void {
    this.host.abuse.refused(code);
    this.send(encodeServerFrame('error', clientId === undefined ? { code, message } : { code, message, clientId }));
  }

  /** Closes as a slow consumer (4000). */
  closeSlow(): void {
    this.close(CloseCode.slowConsumer, 'slow consumer', this.host.slowGraceMs);
  }
}
