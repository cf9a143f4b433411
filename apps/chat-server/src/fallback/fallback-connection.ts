// One client on the fallback transport: frames go down a server-sent events response; what a room writes to it is the same bytes a websocket gets, unframed.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, encodeServerFrame, FallbackEvent, type ErrorCode } from '@chatfleet/protocol';
import type { ClientConnection } from '../client-connection.js';
import type { ConnectionHost } from '../connection.js';

const DATA = Buffer.from('data: ');
const END = Buffer.from('\n\n');
/** An SSE comment: keeps proxies from timing the stream out, and finds a dead peer by a failed write. */
const KEEP_ALIVE = Buffer.from(':\n\n');

/** Length of the websocket header `frameText` put before a payload (server frames are never masked). */
export function websocketHeaderLength(framed: Buffer): number {
  const length = (framed[1] ?? 0) & 0x7f;
  return length < 126 ? 2 : length === 126 ? 4 : 10;
}

/** One server frame as one SSE event: `data: <json>\n\n` (JSON text never holds a raw newline). */
export function sseEvent(json: Buffer): Buffer {
  return Buffer.concat([DATA, json, END], DATA.length + json.length + END.length);
}

/**
 * A client connected through the fallback. It holds the open event-stream
 * response; frames the client POSTs reach the server through the session
 * (see fallback-transport.ts) and enter `host.onMessage` like websocket
 * frames. Everything else (rooms, rate limit, redirects, slow-consumer
 * cut-off, drain) works as for a websocket `Connection`.
 */
export class FallbackConnection implements ClientConnection {
  watched: Set<string> | undefined = undefined;
  moving = false;
  closing = false;
  tokens: number;
  refilledAt: number;
  refused = 0;
  refusedSince = 0;
  private corked = false;
  private readonly joined = new Set<string>();
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly response: ServerResponse,
    readonly socket: Socket,
    readonly userId: string,
    readonly connectedAt: number,
    private readonly host: ConnectionHost,
    burst: number,
  ) {
    this.tokens = burst;
    this.refilledAt = connectedAt;
  }

  /** No pong comes over a stream: the connection counts as answered until its socket fails. */
  get unanswered(): number {
    return 0;
  }

  set unanswered(_tick: number) {}

  get roomCount(): number {
    return this.joined.size;
  }

  inRoom(chatId: string): boolean {
    return this.joined.has(chatId);
  }

  roomIds(): string[] {
    return [...this.joined];
  }

  addRoom(chatId: string): void {
    this.joined.add(chatId);
  }

  removeRoom(chatId: string): boolean {
    return this.joined.delete(chatId);
  }

  send(frame: string): void {
    this.write(sseEvent(Buffer.from(frame)));
    this.host.counters.socketWrites += 1;
  }

  sendFramed(framed: Buffer): void {
    this.write(sseEvent(framed.subarray(websocketHeaderLength(framed))));
    this.host.counters.socketWrites += 1;
  }

  sendError(code: ErrorCode, message: string, clientId?: string): void {
    this.host.abuse.refused(code);
    this.send(encodeServerFrame('error', clientId === undefined ? { code, message } : { code, message, clientId }));
  }

  /** Writes of one event-loop turn go out together, as for a websocket (see Connection.sendFramed). */
  private write(bytes: Buffer): void {
    const response = this.response;
    if (this.closing || !response.writable) return;
    if (!this.corked) {
      this.corked = true;
      response.cork();
      this.host.queueUncork(this);
    }
    response.write(bytes);
  }

  uncork(): void {
    this.corked = false;
    this.response.uncork();
    if (this.socket.writableLength > this.host.slowConsumerBytes && !this.closing) this.host.onSlowConsumer(this);
  }

  ping(): void {
    if (!this.closing && this.response.writable) this.response.write(KEEP_ALIVE);
  }

  /** Sends the `close` event with the websocket close code and ends the stream; cut after `graceMs` if it cannot end. */
  close(code: number, reason: string, graceMs: number): void {
    if (this.closing) return;
    this.host.abuse.closed(code);
    this.closing = true;
    if (!this.response.writable) return;
    if (this.corked) {
      this.corked = false;
      this.response.uncork();
    }
    this.response.end(`event: ${FallbackEvent.close}\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    this.closeTimer = setTimeout(() => this.socket.destroy(), graceMs);
    this.closeTimer.unref();
  }

  closeSlow(): void {
    this.close(CloseCode.slowConsumer, 'slow consumer', this.host.slowGraceMs);
  }

  terminate(): void {
    this.closing = true;
    this.response.destroy();
  }

  /** The response closed (ended, or the client went away): the connection ends here, once. */
  onClosed(): void {
    this.closing = true;
    clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.host.onClose(this);
  }
}
