// A websocket client on a bare TCP socket for the conformance suite: writes any bytes, valid or not, parses what the server sends, and records when and how the server closes.
import { connect, type Socket } from 'node:net';

/** One frame from the server (server frames are never masked). */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Options of a frame written by the client. */
export interface FrameOptions {
  fin?: boolean;
  /** The three reserved bits as a number 0-7 (RSV1 = 4). */
  rsv?: number;
  /** Client frames must be masked (RFC 6455 section 5.3); false writes an unmasked one. */
  masked?: boolean;
  /** Masking key; a fixed non-zero one when not given. */
  maskKey?: Buffer;
  /** Declares a length other than the payload's (a lie, for the fuzz). */
  declared?: number;
}

const DEFAULT_MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** A client frame laid out as RFC 6455 section 5.2 says. */
export function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: FrameOptions = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = options.declared ?? body.length;
  const masked = options.masked ?? true;
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  let head: Buffer;
  if (length > 65_535) {
    head = Buffer.alloc(10);
    head[1] = maskBit | 127;
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length >>> 0, 6);
  } else if (length > 125) {
    head = Buffer.alloc(4);
    head[1] = maskBit | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head = Buffer.alloc(2);
    head[1] = maskBit | length;
  }
  head[0] = b0;
  if (!masked) return Buffer.concat([head, body]);
  const key = options.maskKey ?? DEFAULT_MASK;
  const out = Buffer.allocUnsafe(body.length);
  for (let i = 0; i < body.length; i++) out[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([head, key, out]);
}

/** A close frame's payload: the code and a reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const text = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

/** The request line and headers of an RFC 6455 upgrade. */
export function upgradeRequest(host: string, path: string, extra: Record<string, string> = {}, method = 'GET'): string {
  const headers: Record<string, string> = {
    Host: host,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/**
 * A raw connection. `allowHalfOpen` is on, so the server's FIN is seen on its
 * own (`endedAt`) and this side never answers it by itself: what the server
 * does after its FIN (destroy at once, or wait for ours) stays visible.
 */
export class RawClient {
  readonly socket: Socket;
  /** The HTTP answer's head (status line and headers), once complete. */
  head: string | undefined;
  status = 0;
  /** Frames after the head, in order. */
  readonly frames: ServerFrame[] = [];
  /** ms timestamps (performance.now) of the server's FIN, of the socket's close, and the error that ended it, if any. */
  endedAt: number | undefined;
  closedAt: number | undefined;
  error: string | undefined;
  /** Bytes received in all. */
  received = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly connected: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect({ port, host, allowHalfOpen: true });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => {
      this.endedAt ??= performance.now();
      this.wake();
    });
    this.socket.on('close', () => {
      this.closedAt = performance.now();
      this.wake();
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error ??= err.code ?? err.message;
      this.wake();
    });
  }

  /** Resolves once the TCP connection is up. */
  ready(): Promise<void> {
    return this.connected;
  }

  /** Writes bytes; resolves once they are handed to the kernel (or the socket failed). */
  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) {
        resolve();
        return;
      }
      this.socket.write(bytes, () => resolve());
    });
  }

  /** True once the server has closed its side (FIN, reset or close). */
  get serverClosed(): boolean {
    return this.endedAt !== undefined || this.closedAt !== undefined || this.error !== undefined;
  }

  /** The first close frame the server sent: its code (1005 when it carried none) and reason. */
  get closeFrame(): { code: number; reason: string } | undefined {
    const close = this.frames.find((f) => f.opcode === 8);
    if (close === undefined) return undefined;
    if (close.payload.length < 2) return { code: 1005, reason: '' };
    return { code: close.payload.readUInt16BE(0), reason: close.payload.subarray(2).toString() };
  }

  /** Data frames (text, binary and their continuations) the server sent. */
  dataFrames(): ServerFrame[] {
    return this.frames.filter((f) => f.opcode < 8);
  }

  /** Resolves when `check` holds, or false after `ms`. */
  until(check: () => boolean, ms: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(check());
      }, ms);
      const wake = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }

  /** Ends our side (FIN). */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.head === undefined) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end === -1) {
        this.wake();
        return;
      }
      this.head = this.pending.subarray(0, end).toString('latin1');
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1] ?? 0);
      this.pending = this.pending.subarray(end + 4);
      if (this.status !== 101) {
        // A refusal: its body is not frames.
        this.pending = Buffer.alloc(0);
        this.wake();
        return;
      }
    }
    this.parseFrames();
    this.wake();
  }

  private parseFrames(): void {
    let at = 0;
    const data = this.pending;
    while (data.length - at >= 2) {
      let length = data[at + 1]! & 0x7f;
      let head = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        head = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = data.readUInt32BE(at + 2) * 2 ** 32 + data.readUInt32BE(at + 6);
        head = 10;
      }
      if (data.length - at - head < length) break;
      this.frames.push({
        fin: (data[at]! & 0x80) !== 0,
        opcode: data[at]! & 0x0f,
        payload: Buffer.from(data.subarray(at + head, at + head + length)),
      });
      at += head + length;
    }
    this.pending = at === 0 ? data : Buffer.from(data.subarray(at));
  }
}
