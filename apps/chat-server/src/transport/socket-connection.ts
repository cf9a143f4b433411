// One websocket over a TCP socket after the handshake: parsing, ping/pong, the close handshake; no streams or closures per socket.
import type { Socket } from 'node:net';
import { NO_STATUS, readFrames, type FrameLimits, type FrameSink, type PendingFrames } from './frame-parser.js';

/** Where a socket keeps its connection, so one set of listener functions serves every socket. */
const PEER = Symbol('websocket');
type PeerSocket = Socket & { [PEER]: SocketConnection };

/** Every ping is the same two bytes: FIN + ping, no payload. */
const PING = Buffer.from([0x89, 0x00]);

/** The socket's 'data' listener: parses the chunk after what the last one left. */
function onSocketData(this: Socket, chunk: Buffer): void {
  const peer = (this as PeerSocket)[PEER];
  peer.partial = readFrames(peer.partial, chunk, peer.limits, peer);
}

/** The socket's 'close' listener: whoever closed it, the connection ends here, once. */
function onSocketClose(this: Socket): void {
  const peer = (this as PeerSocket)[PEER];
  peer.closing = true;
  peer.partial = undefined;
  if (peer.closeTimer !== undefined) {
    clearTimeout(peer.closeTimer);
    peer.closeTimer = undefined;
  }
  peer.onClosed();
}

/** The close timer's callback: the peer did not finish the close handshake in time. */
function destroyAfterGrace(socket: Socket): void {
  socket.destroy();
}

/**
 * The server side of one websocket (RFC 6455), written for many idle
 * connections: the only state is a few fields on this object; parser state
 * exists only while a frame is incomplete, and the socket's listeners are
 * shared functions that find their connection through a symbol on the socket.
 * Subclasses get whole messages and the end of the connection.
 */
export abstract class SocketConnection implements FrameSink {
  /** 0 once the last ping was answered; else the ping wheel's tick of the ping still unanswered (see ping-wheel.ts). */
  unanswered = 0;
  /** Set once a close frame was sent or the socket is cut: nothing more is sent then (nor after the peer's FIN: the socket is no longer writable). */
  closing = false;
  /** What the parser kept from the last chunk; undefined for an idle connection. */
  partial: PendingFrames | undefined = undefined;
  /** Cuts the socket when the close handshake stalls. */
  closeTimer: NodeJS.Timeout | undefined = undefined;

  constructor(readonly socket: Socket) {}

  /** The caps on one message (bytes and fragments); a message past them fails the connection (1009, 1008). */
  abstract get limits(): FrameLimits;
  /** How long the peer gets to answer a close frame the peer started. */
  abstract get closeGraceMs(): number;
  /** One whole message from the peer. */
  abstract onMessage(data: Buffer, binary: boolean): void;
  /** The peer broke the protocol; the connection is being closed with `code`. */
  abstract onProtocolError(code: number, reason: string): void;
  /** The socket closed, whoever closed it. Called once. */
  abstract onClosed(): void;

  /** Starts reading: `head` holds any bytes that came with the upgrade request. */
  attach(head: Buffer): void {
    const socket = this.socket as PeerSocket;
    socket[PEER] = this;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    // A peer that half-closes gets our FIN back (what `ws` does; no close frame after a FIN), by
    // Node itself: cheaper than an 'end' listener, which would turn the socket's one into an array.
    socket.allowHalfOpen = false;
    socket.on('close', onSocketClose);
    // Data flows from the next tick on, so `head` is parsed first (and may already stop the reading).
    socket.on('data', onSocketData);
    if (head.length > 0) onSocketData.call(socket, Buffer.from(head));
  }

  /** Sends a ping; the pong clears `unanswered`. */
  ping(): void {
    if (!this.closing && this.socket.writable) this.socket.write(PING);
  }

  /** Starts the close: sends a close frame and stops sending; the socket is cut after `graceMs` if the peer does not close it. */
  close(code: number, reason: string, graceMs: number): void {
    if (this.closing) return;
    this.onCloseStarted(code);
    this.sendClose(code, reason, graceMs);
  }

  /** Called once when this side starts a close with `code` (not when it answers the peer's close frame). */
  protected onCloseStarted(_code: number): void {}

  /** Writes the close frame and arms the grace timer; the first close frame is the only one. */
  private sendClose(code: number, reason: string, graceMs: number): void {
    this.closing = true;
    if (!this.socket.writable) return;
    this.socket.write(closeFrame(code, reason));
    this.closeTimer = setTimeout(destroyAfterGrace, graceMs, this.socket);
    this.closeTimer.unref();
  }

  /** Cuts the socket at once (no close handshake). */
  terminate(): void {
    this.closing = true;
    this.socket.destroy();
  }

  /** FrameSink: data frames. */
  onFrameMessage(data: Buffer, binary: boolean): void {
    this.onMessage(data, binary);
  }

  /** FrameSink: answers a ping with a pong carrying the same payload. */
  onFramePing(data: Buffer): void {
    if (this.closing || !this.socket.writable) return;
    const frame = Buffer.allocUnsafe(2 + data.length);
    frame[0] = 0x8a;
    frame[1] = data.length;
    data.copy(frame, 2);
    this.socket.write(frame);
  }

  /** FrameSink: any pong proves the peer alive. */
  onFramePong(): void {
    this.unanswered = 0;
  }

  /** FrameSink: the peer's close frame. Echoes its code and reason unless a close frame went out already, then ends the socket. */
  onFrameClose(code: number, reason: string): void {
    this.stopReading();
    if (!this.closing) this.sendClose(code, reason, this.closeGraceMs);
    this.socket.end();
  }

  /**
   * FrameSink: a protocol violation (or a message past the caps). Fails the
   * connection (RFC 6455 section 7.1.7): the close frame with its code, then
   * our FIN right after it, without waiting for the peer's close frame; what
   * the peer sends from then on is read and dropped. The socket goes when the
   * peer closes its side (`allowHalfOpen` is off), or after `closeGraceMs`.
   */
  onFrameError(code: number, reason: string): void {
    this.stopReading();
    this.onProtocolError(code, reason);
    this.close(code, '', this.closeGraceMs);
    if (this.socket.writable) this.socket.end();
  }

  /** Ignores what the peer sends from now on, while still reading so that its FIN is seen. */
  private stopReading(): void {
    this.socket.off('data', onSocketData);
    this.socket.resume();
  }
}

/** A close frame with `code` and a short `reason`; NO_STATUS makes an empty one. */
export function closeFrame(code: number, reason: string): Buffer {
  if (code === NO_STATUS) return Buffer.from([0x88, 0x00]);
  const text = Buffer.from(reason.slice(0, 123));
  const length = Math.min(2 + text.length, 125);
  const frame = Buffer.allocUnsafe(2 + length);
  frame[0] = 0x88;
  frame[1] = length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4, 0, length - 2);
  return frame;
}
