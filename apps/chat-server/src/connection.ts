// One client connection: its identity, rooms, rate-limit state and the guarded send path (slow-consumer cut-off).
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { CloseCode, encodeServerFrame, type ErrorCode } from '@chatfleet/protocol';
import type { Bucket, Strikes } from './rate-limit.js';
import { frameString } from './wire.js';

/** What a connection needs from its server; shared by all connections. */
export interface ConnectionHost {
  readonly slowConsumerBytes: number;
  /** How long a slow consumer gets to take its close frame before the socket is cut. */
  readonly slowGraceMs: number;
  /** Counts every frame written to a socket (the `servers:cumulative-socket-writes` figure). */
  socketWrites: number;
  onSlowConsumer(connection: Connection): void;
  /** Uncorks `connection`'s socket once the current batch of writes is done. */
  queueUncork(connection: Connection): void;
  onMessage(connection: Connection, data: RawData, isBinary: boolean): void;
  onClose(connection: Connection): void;
  onSocketError(connection: Connection, error: Error): void;
}

/** Where a websocket keeps its Connection, so that one set of listener functions serves every socket. */
const CONNECTION = Symbol('connection');
type AttachedSocket = WebSocket & { [CONNECTION]: Connection };

function onWsMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const connection = (this as AttachedSocket)[CONNECTION];
  connection.host.onMessage(connection, data, isBinary);
}
function onWsPong(this: WebSocket): void {
  (this as AttachedSocket)[CONNECTION].alive = true;
}
function onWsClose(this: WebSocket): void {
  const connection = (this as AttachedSocket)[CONNECTION];
  connection.host.onClose(connection);
}
function onWsError(this: WebSocket, error: Error): void {
  const connection = (this as AttachedSocket)[CONNECTION];
  connection.host.onSocketError(connection, error);
}

const OPEN = WebSocket.OPEN;

/**
 * A connected client. Kept small on purpose: one of these lives per socket,
 * and room membership sets are only made once the client joins a room.
 */
export class Connection implements Bucket, Strikes {
  /** Rooms joined (including joins still replaying). */
  rooms: Set<string> | undefined = undefined;
  /** Users watched for online status. */
  watched: Set<string> | undefined = undefined;
  tokens: number;
  refilledAt: number;
  refused = 0;
  refusedSince = 0;
  /** Cleared by each ping, set by each pong. */
  alive = true;
  /** Set once the connection stops taking frames (closing, slow, drained). */
  closing = false;
  /** Set once the client has been sent a `redistribute` frame. */
  moving = false;
  /** True while the socket is corked for the current batch of writes. */
  corked = false;
  /** The TCP socket under the websocket; frames are written to it directly, already framed. */
  readonly socket: Socket;

  constructor(
    readonly ws: WebSocket,
    readonly userId: string,
    readonly connectedAt: number,
    readonly host: ConnectionHost,
    burst: number,
  ) {
    this.tokens = burst;
    this.refilledAt = connectedAt;
    // ws keeps its socket private; writing framed bytes to it directly lets one framed
    // buffer serve every recipient. Safe because ws only queues frames itself while
    // compressing (permessage-deflate is off) or reading Blobs (never sent here).
    this.socket = (ws as unknown as { _socket: Socket })._socket;
  }

  /** Starts listening to the websocket; the listeners are shared by all connections (no closures per socket). */
  attach(): void {
    const ws = this.ws as AttachedSocket;
    ws[CONNECTION] = this;
    ws.on('message', onWsMessage);
    ws.on('pong', onWsPong);
    ws.on('close', onWsClose);
    ws.on('error', onWsError);
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
    if (this.closing || this.ws.readyState !== OPEN) return;
    const socket = this.socket;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      this.host.queueUncork(this);
    }
    socket.write(framed);
    this.host.socketWrites += 1;
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

  /** Sends an `error` frame. */
  sendError(code: ErrorCode, message: string): void {
    this.send(encodeServerFrame('error', { code, message }));
  }

  /** Stops sending and closes with `code`; the socket is cut after `graceMs` if the close handshake stalls. */
  close(code: number, reason: string, graceMs: number): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
    const timer = setTimeout(() => this.ws.terminate(), graceMs);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  /** Closes as a slow consumer (4000). */
  closeSlow(): void {
    this.close(CloseCode.slowConsumer, 'slow consumer', this.host.slowGraceMs);
  }
}
