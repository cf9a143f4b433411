// The load driver: raw `ws` clients speaking chatfleet's protocol or Socket.IO's (Engine.IO v4), paced senders, and delivery accounting.
import { performance } from 'node:perf_hooks';
import { mintTicket, withToken } from '@chatfleet/protocol/tickets';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { BENCH_AUTH_SECRET, speaksChatfleet, type TargetName } from './targets.js';

export interface DriverOptions {
  target: TargetName;
  /** Websocket base URLs of the target's servers; client i connects to `urls[floor(i / rooms) % urls.length]`, so every room spans every server. */
  urls: readonly string[];
  clients: number;
  /** Client i joins room i % rooms. */
  rooms: number;
  /** Clients opening at the same time. */
  connectConcurrency?: number;
}

export interface StepOptions {
  /** Messages per second over all senders; each goes to every member of the sender's room. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** How long at most to wait after the last send for the measured messages to arrive. */
  graceMs: number;
  /** Stop waiting earlier when no measured message arrived for this long: what is missing then is lost, not late. */
  stallMs: number;
  /** Called at the start and end of the measured window (CPU snapshots). */
  onMeasureStart(): void;
  onMeasureEnd(): void;
  /** Polled every tick; true stops the step early (a server crashed). */
  shouldAbort(): boolean;
}

export interface StepFigures {
  offeredMsgsPerSec: number;
  /** Messages actually sent per second in the window (below offered when the driver falls behind). */
  sentMsgsPerSec: number;
  windowMs: number;
  /** Deliveries that arrived inside the measured window. */
  windowDeliveries: number;
  deliveriesPerSec: number;
  /** Deliveries owed per second by the messages sent in the window: what a target that keeps up delivers. */
  offeredDeliveriesPerSec: number;
  /** Deliveries owed for the messages sent inside the window, and how many of them arrived. */
  expectedDeliveries: number;
  receivedDeliveries: number;
  /** Deliveries owed by messages sent in the window that never arrived (refused messages excluded). */
  lost: number;
  /**
   * Messages the server refused with an error naming them (chatfleet answers
   * `rate_limited` past PUBLISH_QUEUE_LIMIT rather than queue without bound):
   * not published, so nobody was owed them.
   */
  refused: number;
  duplicated: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * The same latency split at the server's `ts` stamp (its clock reading when
   * it took the chat, whole ms): from the sender to the server, and from the
   * server to the member. Where a target's time goes: reading and parsing,
   * or publishing, fan-out and writing. ±1 ms from the stamp's resolution.
   */
  toServerP50Ms?: number;
  toServerP99Ms?: number;
  fromServerP50Ms?: number;
  fromServerP99Ms?: number;
  disconnects: number;
  errors: number;
  aborted: boolean;
}

interface Client {
  ws: WebSocket;
  room: number;
  open: boolean;
}

/** Marks a bench message inside any frame: the text is `bm:<seq>:<send time, µs>`. */
const MARK = Buffer.from('"bm:');
const COLON = 58;

/** Microseconds on the driver's one monotonic clock. */
function nowMicros(): number {
  return Math.round(performance.now() * 1000);
}

/** Drives one target: opens the clients, registers them, sends paced messages and accounts for every delivery. */
export class LoadDriver {
  private readonly clients: Client[] = [];
  private readonly roomIds: string[];
  private readonly roomSizes: number[];
  private seq = 0;
  private nextSender = 0;
  // Per-step accounting, indexed by seq - seqBase.
  private seqBase = 0;
  private counts = new Uint16Array(0);
  private msgRooms = new Uint16Array(0);
  /** 1 for a message the server refused (its error named the message's clientId). */
  private refusedFlags = new Uint8Array(0);
  private measureFrom = Number.MAX_SAFE_INTEGER;
  private measureTo = Number.MAX_SAFE_INTEGER;
  private measuredExpected = 0;
  private measuredReceived = 0;
  private windowStart = Number.POSITIVE_INFINITY;
  private windowEnd = Number.POSITIVE_INFINITY;
  private windowDeliveries = 0;
  private histogram = newHistogram();
  private toServer = newHistogram();
  private fromServer = newHistogram();
  private disconnects = 0;
  private errors = 0;
  private closing = false;
  /** Close codes of clients the server dropped, for the report. */
  readonly closeCodes = new Map<number, number>();

  constructor(private readonly options: DriverOptions) {
    this.roomIds = Array.from({ length: options.rooms }, (_, r) => `r${r}`);
    this.roomSizes = new Array<number>(options.rooms).fill(0);
  }

  /** Opens and registers every client, `connectConcurrency` at a time; rejects after `timeoutMs`. */
  async connect(timeoutMs: number): Promise<void> {
    const total = this.options.clients;
    const concurrency = Math.min(this.options.connectConcurrency ?? 100, total);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total && !this.closing) {
        const index = next++;
        await this.openClient(index);
      }
    };
    await withTimeout(
      Promise.all(Array.from({ length: concurrency }, worker)),
      timeoutMs,
      `connecting ${total} ${this.options.target} clients`,
    );
  }

  /** Runs one paced step: warm-up, measured window, then waits for the window's messages. */
  async runStep(step: StepOptions): Promise<StepFigures> {
    this.resetStep(step);
    const start = performance.now();
    const warmEnd = start + step.warmupMs;
    const measureEnd = warmEnd + step.measureMs;
    let sent = 0;
    let aborted = false;
    let sentInWindow = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        if (step.shouldAbort()) {
          aborted = true;
          if (this.windowStart !== Number.POSITIVE_INFINITY && this.windowEnd === Number.POSITIVE_INFINITY) {
            this.closeWindow(now, step);
          }
          return resolve();
        }
        if (now >= warmEnd && this.windowStart === Number.POSITIVE_INFINITY) {
          this.measureFrom = this.seq;
          this.windowStart = now;
          step.onMeasureStart();
        }
        if (now >= measureEnd) {
          this.closeWindow(now, step);
          return resolve();
        }
        const due = Math.floor(((now - start) * step.rate) / 1000) - sent;
        for (let i = 0; i < due; i++) this.sendOne(this.windowStart !== Number.POSITIVE_INFINITY);
        sent += due;
        if (this.windowStart !== Number.POSITIVE_INFINITY) sentInWindow += due;
        setTimeout(tick, 1);
      };
      tick();
    });
    if (!aborted) {
      const graceEnd = performance.now() + step.graceMs;
      let lastProgress = performance.now();
      let lastReceived = this.measuredReceived;
      while (this.measuredReceived < this.measuredExpected && performance.now() < graceEnd && !step.shouldAbort()) {
        await sleep(20);
        if (this.measuredReceived !== lastReceived) {
          lastReceived = this.measuredReceived;
          lastProgress = performance.now();
        } else if (performance.now() - lastProgress > step.stallMs) {
          break;
        }
      }
    }
    return this.figures(step, sentInWindow, aborted);
  }

  /** Terminates every client. */
  close(): void {
    this.closing = true;
    for (const client of this.clients) client.ws.terminate();
  }

  /** How many clients are open and registered now. */
  openClients(): number {
    let open = 0;
    for (const client of this.clients) if (client.open) open++;
    return open;
  }

  private closeWindow(now: number, step: StepOptions): void {
    this.measureTo = this.seq;
    this.windowEnd = now;
    step.onMeasureEnd();
  }

  private resetStep(step: StepOptions): void {
    const capacity = Math.ceil((step.rate * (step.warmupMs + step.measureMs + 1000)) / 1000 * 1.2) + 1024;
    this.seqBase = this.seq;
    this.counts = new Uint16Array(capacity);
    this.msgRooms = new Uint16Array(capacity);
    this.refusedFlags = new Uint8Array(capacity);
    this.measureFrom = Number.MAX_SAFE_INTEGER;
    this.measureTo = Number.MAX_SAFE_INTEGER;
    this.measuredExpected = 0;
    this.measuredReceived = 0;
    this.windowStart = Number.POSITIVE_INFINITY;
    this.windowEnd = Number.POSITIVE_INFINITY;
    this.windowDeliveries = 0;
    this.histogram = newHistogram();
    this.toServer = newHistogram();
    this.fromServer = newHistogram();
    this.disconnects = 0;
    this.errors = 0;
  }

  private figures(step: StepOptions, sentInWindow: number, aborted: boolean): StepFigures {
    let lost = 0;
    let refused = 0;
    let refusedDeliveries = 0;
    let duplicated = 0;
    const from = this.measureFrom - this.seqBase;
    const to = Math.min(this.measureTo, this.seq) - this.seqBase;
    for (let k = Math.max(0, from); k < to; k++) {
      if (this.refusedFlags[k] === 1) {
        refused++;
        refusedDeliveries += this.roomSizes[this.msgRooms[k] ?? 0] ?? 0;
        continue;
      }
      const expected = this.roomSizes[this.msgRooms[k] ?? 0] ?? 0;
      const got = this.counts[k] ?? 0;
      if (got < expected) lost += expected - got;
      else if (got > expected) duplicated += got - expected;
    }
    const windowMs =
      this.windowStart === Number.POSITIVE_INFINITY ? 0 : (this.windowEnd === Number.POSITIVE_INFINITY ? performance.now() : this.windowEnd) - this.windowStart;
    const seconds = windowMs / 1000;
    const hasLatency = this.histogram.totalCount > 0;
    return {
      offeredMsgsPerSec: step.rate,
      sentMsgsPerSec: seconds > 0 ? sentInWindow / seconds : 0,
      windowMs,
      windowDeliveries: this.windowDeliveries,
      deliveriesPerSec: seconds > 0 ? this.windowDeliveries / seconds : 0,
      offeredDeliveriesPerSec: seconds > 0 ? (this.measuredExpected - refusedDeliveries) / seconds : 0,
      expectedDeliveries: this.measuredExpected - refusedDeliveries,
      receivedDeliveries: this.measuredReceived,
      lost,
      refused,
      duplicated,
      p50Ms: hasLatency ? this.histogram.getValueAtPercentile(50) / 1000 : Number.NaN,
      p99Ms: hasLatency ? this.histogram.getValueAtPercentile(99) / 1000 : Number.NaN,
      maxMs: hasLatency ? this.histogram.maxValue / 1000 : Number.NaN,
      ...(this.fromServer.totalCount > 0
        ? {
            toServerP50Ms: this.toServer.getValueAtPercentile(50) / 1000,
            toServerP99Ms: this.toServer.getValueAtPercentile(99) / 1000,
            fromServerP50Ms: this.fromServer.getValueAtPercentile(50) / 1000,
            fromServerP99Ms: this.fromServer.getValueAtPercentile(99) / 1000,
          }
        : {}),
      disconnects: this.disconnects,
      errors: this.errors,
      aborted,
    };
  }

  private sendOne(measured: boolean): void {
    const clients = this.clients;
    let client: Client | undefined;
    for (let tries = 0; tries < clients.length; tries++) {
      const candidate = clients[this.nextSender++ % clients.length];
      if (candidate?.open === true) {
        client = candidate;
        break;
      }
    }
    if (client === undefined) return;
    const seq = this.seq++;
    const k = seq - this.seqBase;
    if (k >= this.msgRooms.length) this.grow();
    this.msgRooms[k] = client.room;
    if (measured) this.measuredExpected += this.roomSizes[client.room] ?? 0;
    const text = `bm:${seq}:${nowMicros()}`;
    const chatId = this.roomIds[client.room] ?? 'r0';
    client.ws.send(
      speaksChatfleet(this.options.target)
        ? // The clientId lets a refusal name the message; Socket.IO has no refusals to tell apart.
          `{"type":"chat","payload":{"chatId":"${chatId}","message":"${text}","clientId":"${seq}"}}`
        : `42["chat",{"chatId":"${chatId}","message":"${text}"}]`,
    );
  }

  private grow(): void {
    const counts = new Uint16Array(this.counts.length * 2);
    counts.set(this.counts);
    this.counts = counts;
    const rooms = new Uint16Array(this.msgRooms.length * 2);
    rooms.set(this.msgRooms);
    this.msgRooms = rooms;
    const refused = new Uint8Array(this.refusedFlags.length * 2);
    refused.set(this.refusedFlags);
    this.refusedFlags = refused;
  }

  /** The hot path: one delivered chat frame. Reads seq and send time from the bytes; no JSON.parse. */
  private onDelivery(data: Buffer, at: number): void {
    const receivedAt = performance.now();
    let i = at + MARK.length;
    let seq = 0;
    let c = data[i] ?? 0;
    while (c >= 48 && c <= 57) {
      seq = seq * 10 + c - 48;
      c = data[++i] ?? 0;
    }
    if (c !== COLON) return;
    let sentAt = 0;
    c = data[++i] ?? 0;
    while (c >= 48 && c <= 57) {
      sentAt = sentAt * 10 + c - 48;
      c = data[++i] ?? 0;
    }
    if (receivedAt >= this.windowStart && receivedAt < this.windowEnd) this.windowDeliveries++;
    const k = seq - this.seqBase;
    if (k < 0 || k >= this.counts.length) return;
    this.counts[k] = (this.counts[k] ?? 0) + 1;
    if (seq >= this.measureFrom && seq < this.measureTo) {
      this.measuredReceived++;
      const receivedMicros = Math.round(receivedAt * 1000);
      this.histogram.recordValue(Math.max(1, receivedMicros - sentAt));
      const ts = serverStamp(data, i);
      if (ts !== undefined) {
        // The stamp is wall-clock ms; the driver's µs clock is moved onto the wall clock through timeOrigin.
        const stampMicros = ts * 1000 - ORIGIN_MICROS;
        this.toServer.recordValue(Math.max(1, stampMicros - sentAt));
        this.fromServer.recordValue(Math.max(1, receivedMicros - stampMicros));
      }
    }
  }

  private openClient(index: number): Promise<void> {
    const { target, urls, rooms } = this.options;
    const room = index % rooms;
    const user = `u${index}`;
    const base = urls[Math.floor(index / rooms) % urls.length] ?? '';
    const url =
      speaksChatfleet(target)
        ? withToken(base, mintTicket(BENCH_AUTH_SECRET, user, Date.now() + 3_600_000))
        : `${base}socket.io/?EIO=4&transport=websocket&user=${user}`;
    const chatId = this.roomIds[room] ?? 'r0';
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 10_000 });
    const client: Client = { ws, room, open: false };
    this.clients.push(client);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const registered = (): void => {
        if (settled) return;
        settled = true;
        client.open = true;
        this.roomSizes[room] = (this.roomSizes[room] ?? 0) + 1;
        resolve();
      };
      const failed = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      ws.on('message', (data: Buffer) => {
        const at = data.indexOf(MARK);
        if (at !== -1) {
          this.onDelivery(data, at);
          return;
        }
        if (speaksChatfleet(target)) this.onChatfleetControl(data, registered);
        else this.onSocketIoControl(ws, data, chatId, registered, failed);
      });
      ws.on('open', () => {
        if (speaksChatfleet(target)) ws.send(`{"type":"register","payload":{"chatId":"${chatId}"}}`);
      });
      ws.on('unexpected-response', (_request, response) => {
        failed(new Error(`${target} client ${user}: upgrade answered ${response.statusCode}`));
        ws.terminate();
      });
      ws.on('error', (error) => failed(error));
      ws.on('close', (code) => {
        failed(new Error(`${target} client ${user} closed (${code}) before registering`));
        if (client.open && !this.closing) {
          this.disconnects++;
          this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
        }
        client.open = false;
      });
    });
  }

  private onChatfleetControl(data: Buffer, registered: () => void): void {
    // Only setup frames, acks and errors get here; acks are one per message, not one per delivery.
    const text = data.toString();
    if (text.startsWith('{"type":"registered"')) registered();
    else if (text.startsWith('{"type":"error"')) this.onChatfleetError(text);
  }

  /** Counts an error; one that names a message marks it refused, so nobody is owed it. */
  private onChatfleetError(text: string): void {
    this.errors++;
    const clientId = (JSON.parse(text) as { payload?: { clientId?: unknown } }).payload?.clientId;
    if (typeof clientId !== 'string') return;
    const k = Number(clientId) - this.seqBase;
    if (Number.isInteger(k) && k >= 0 && k < this.refusedFlags.length) this.refusedFlags[k] = 1;
  }

  private onSocketIoControl(
    ws: WebSocket,
    data: Buffer,
    chatId: string,
    registered: () => void,
    failed: (error: Error) => void,
  ): void {
    const kind = data[0];
    const sub = data[1];
    if (kind === 0x32 /* 2 ping */) ws.send('3');
    else if (kind === 0x30 /* 0 open */) ws.send('40');
    else if (kind === 0x34 /* 4 message */) {
      if (sub === 0x30 /* 40 connected */) ws.send(`421["register",{"chatId":"${chatId}"}]`);
      else if (sub === 0x33 /* 43 ack */) registered();
      else if (sub === 0x34 /* 44 connect error */) failed(new Error(`socket.io connect error: ${data.toString()}`));
    }
  }
}

const TS = Buffer.from('"ts":');
const ORIGIN_MICROS = Math.round(performance.timeOrigin * 1000);

/** The server's `"ts":<ms>` stamp after `from` in a chat frame, if any. */
function serverStamp(data: Buffer, from: number): number | undefined {
  const at = data.indexOf(TS, from);
  if (at === -1) return undefined;
  let i = at + TS.length;
  let c = data[i] ?? 0;
  let ts = 0;
  while (c >= 48 && c <= 57) {
    ts = ts * 10 + c - 48;
    c = data[++i] ?? 0;
  }
  return ts > 0 ? ts : undefined;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a message naming `what` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
