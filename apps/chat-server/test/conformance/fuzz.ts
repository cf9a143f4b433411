// The seeded random-frame fuzz: a reproducible stream of frames, valid and not, written with random splits, and a healthy chat pair whose deliveries are timed meanwhile.
import { closePayload, frame, type RawClient } from './raw-client.js';
import type { Target } from './targets.js';
import { openSession } from './session.js';

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same fuzz. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One unit of fuzz: the frames to write (already laid out) and how many frames that is. */
export interface FuzzUnit {
  kind: string;
  bytes: Buffer;
  frames: number;
}

/** Builds random units; `chat(message)` makes a valid chat frame's text for the target. */
export class FuzzSource {
  constructor(
    private readonly random: () => number,
    private readonly chat: (message: string) => string,
    private readonly maxPayload: number,
  ) {}

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }

  private mask(): Buffer {
    return this.bytes(4);
  }

  private ascii(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(32, 126));
    return s;
  }

  /** The next unit, drawn by weight. */
  next(): FuzzUnit {
    const r = this.random();
    const maskKey = this.mask();
    if (r < 0.2) return { kind: 'chat', bytes: frame(1, this.chat(`fuzz ${this.ascii(this.int(1, 40))}`), { maskKey }), frames: 1 };
    if (r < 0.3) return { kind: 'json-garbage', bytes: frame(1, JSON.stringify({ type: this.ascii(this.int(0, 12)), payload: this.ascii(this.int(0, 60)) }), { maskKey }), frames: 1 };
    if (r < 0.4) return { kind: 'random-text', bytes: frame(1, this.bytes(this.int(0, 300)), { maskKey }), frames: 1 };
    if (r < 0.47) return { kind: 'binary', bytes: frame(2, this.bytes(this.int(0, 2000)), { maskKey }), frames: 1 };
    if (r < 0.56) return { kind: 'ping', bytes: frame(9, this.bytes(this.int(0, 130)), { maskKey }), frames: 1 };
    if (r < 0.6) return { kind: 'pong', bytes: frame(10, this.bytes(this.int(0, 125)), { maskKey }), frames: 1 };
    if (r < 0.63) {
      const code = this.random() < 0.5 ? this.int(0, 5000) : [1000, 1001, 1005, 1006, 3000, 4999][this.int(0, 5)]!;
      const reason = this.random() < 0.7 ? Buffer.from(this.ascii(this.int(0, 60))) : this.bytes(this.int(0, 130));
      return { kind: 'close', bytes: frame(8, closePayload(code, reason), { maskKey }), frames: 1 };
    }
    if (r < 0.7) return { kind: 'random-opcode', bytes: frame(this.int(0, 15), this.bytes(this.int(0, 200)), { maskKey, fin: this.random() < 0.7 }), frames: 1 };
    if (r < 0.74) return { kind: 'reserved-bits', bytes: frame(1, this.chat('rsv'), { maskKey, rsv: this.int(1, 7) }), frames: 1 };
    if (r < 0.76) return { kind: 'unmasked', bytes: frame(1, this.chat('bare'), { masked: false }), frames: 1 };
    if (r < 0.9) return this.fragmented();
    if (r < 0.95) {
      // A length that lies: the frames after it are read as its payload.
      const actual = this.int(0, 100);
      return { kind: 'short-payload', bytes: frame(this.int(1, 2), this.bytes(actual), { maskKey, declared: actual + this.int(1, 3000) }), frames: 1 };
    }
    return { kind: 'oversized', bytes: frame(this.int(1, 2), this.bytes(this.int(0, 50)), { maskKey, declared: this.maxPayload + this.int(1, 10 * this.maxPayload) }), frames: 1 };
  }

  /** A fragmented message: sometimes whole and valid, sometimes broken (no start, a new start inside, control frames between). */
  private fragmented(): FuzzUnit {
    const parts: Buffer[] = [];
    const count = this.int(0, 60);
    const opcode = this.random() < 0.8 ? 1 : 2;
    const whole = Buffer.from(this.chat(this.ascii(this.int(1, 200))));
    const broken = this.random() < 0.25;
    if (!broken || this.random() < 0.5) parts.push(frame(opcode, whole.subarray(0, 3), { fin: false, maskKey: this.mask() }));
    for (let i = 0; i < count; i++) {
      const roll = this.random();
      if (roll < 0.1) parts.push(frame(9, this.bytes(this.int(0, 20)), { maskKey: this.mask() }));
      else if (roll < 0.35) parts.push(frame(0, '', { fin: false, maskKey: this.mask() }));
      else if (broken && roll < 0.4) parts.push(frame(1, 'restart', { fin: false, maskKey: this.mask() }));
      else parts.push(frame(0, this.bytes(this.int(0, 3)), { fin: false, maskKey: this.mask() }));
    }
    parts.push(frame(0, whole.subarray(3), { maskKey: this.mask() }));
    return { kind: broken ? 'broken-fragments' : 'fragments', bytes: Buffer.concat(parts), frames: parts.length };
  }

  /** Cut points for writing `n` bytes: most units in one write, some split at random places. */
  splits(n: number): number[] {
    if (n < 2 || this.random() < 0.6) return [n];
    const cuts = new Set<number>();
    const pieces = this.int(1, Math.min(8, n - 1));
    while (cuts.size < pieces) cuts.add(this.int(1, n - 1));
    return [...cuts, n].sort((a, b) => a - b);
  }
}

/** Timings of the healthy pair: one member chats, the other receives. */
export interface HealthyReport {
  sent: number;
  delivered: number;
  /** Deliveries in each quarter of the watched window. */
  perQuarter: number[];
  latenciesMs: number[];
}

/**
 * Two well-behaved clients in `room`: `sender` chats every `everyMs`, the
 * `receiver` records when each message arrives. `stop()` ends the chatting
 * and waits (up to 10 s) for what is still on its way.
 */
export async function healthyPair(target: Target, room: string, everyMs: number) {
  const sender = await openSession(target, 'healthy-sender');
  const receiver = await openSession(target, 'healthy-receiver');
  for (const client of [sender, receiver]) {
    await client.write(frame(1, target.registerFrame(room)));
    await client.until(() => client.dataFrames().some((f) => f.payload.toString().includes('"registered"')), 10_000);
  }
  const sentAt = new Map<number, number>();
  const arrivals: Array<{ seq: number; at: number }> = [];
  let seen = 0;
  const read = (): void => {
    const frames = receiver.frames;
    for (; seen < frames.length; seen++) {
      const match = /"message":"h-(\d+)"/.exec(frames[seen]!.payload.toString());
      if (match !== null) arrivals.push({ seq: Number(match[1]), at: performance.now() });
    }
  };
  receiver.socket.on('data', () => setImmediate(read));
  let seq = 0;
  const timer = setInterval(() => {
    seq += 1;
    sentAt.set(seq, performance.now());
    void sender.write(frame(1, target.chatFrame(room, `h-${seq}`)));
  }, everyMs);
  return {
    sender,
    receiver,
    /** Deliveries so far. */
    delivered: (): number => arrivals.length,
    async stop(window: { from: number; to: number }): Promise<HealthyReport> {
      clearInterval(timer);
      const sent = seq;
      await receiver.until(() => {
        read();
        return arrivals.length >= sent;
      }, 10_000);
      read();
      sender.destroy();
      receiver.destroy();
      const quarter = (window.to - window.from) / 4;
      const perQuarter = [0, 0, 0, 0];
      for (const a of arrivals) {
        const q = Math.floor((a.at - window.from) / quarter);
        if (q >= 0 && q < 4) perQuarter[q]! += 1;
      }
      const latenciesMs = arrivals.map((a) => a.at - (sentAt.get(a.seq) ?? a.at));
      return { sent, delivered: new Set(arrivals.map((a) => a.seq)).size, perQuarter, latenciesMs };
    },
  };
}

/** What one fuzz run wrote and what the server did. */
export interface FuzzReport {
  seed: number;
  connections: number;
  frames: number;
  bytes: number;
  units: Record<string, number>;
  /** Close codes the server sent, by code ('none' when it cut without one). */
  closes: Record<string, number>;
  ms: number;
}

/**
 * Fuzzes `target` with up to `maxFrames` frames or `maxMs`, `parallel`
 * connections at a time; each connection joins `room` first, then takes
 * random units until the server closes it or it has sent 40 units.
 */
export async function fuzz(target: Target, room: string, seed: number, limits: { maxFrames: number; maxMs: number; parallel: number; maxPayload: number }): Promise<FuzzReport> {
  const report: FuzzReport = { seed, connections: 0, frames: 0, bytes: 0, units: {}, closes: {}, ms: 0 };
  const started = performance.now();
  const over = (): boolean => report.frames >= limits.maxFrames || performance.now() - started >= limits.maxMs;
  // Each worker draws from its own stream (seed + worker), so a run is the same whatever the interleaving.
  const worker = async (w: number): Promise<void> => {
    const random = seededRandom(seed + w);
    const source = new FuzzSource(random, (message) => target.chatFrame(room, message), limits.maxPayload);
    while (!over()) {
      report.connections += 1;
      const client: RawClient = await openSession(target, `fuzz-${w}-${report.connections}`);
      await client.write(frame(1, target.registerFrame(room)));
      for (let unit = 0; unit < 40 && !client.serverClosed && !over(); unit++) {
        const next = source.next();
        report.units[next.kind] = (report.units[next.kind] ?? 0) + 1;
        report.frames += next.frames;
        report.bytes += next.bytes.length;
        let from = 0;
        for (const to of source.splits(next.bytes.length)) {
          await client.write(next.bytes.subarray(from, to));
          from = to;
        }
      }
      // Give the server its say (a close, or nothing), then go, cleanly or not.
      await client.until(() => client.serverClosed, client.serverClosed ? 0 : 50);
      const code = client.closeFrame?.code;
      const key = code === undefined ? (client.serverClosed ? 'none' : 'open') : String(code);
      report.closes[key] = (report.closes[key] ?? 0) + 1;
      if (random() < 0.5) client.destroy();
      else client.end();
      setTimeout(() => client.destroy(), 1000).unref();
    }
  };
  await Promise.all(Array.from({ length: limits.parallel }, (_, w) => worker(w)));
  report.ms = Math.round(performance.now() - started);
  return report;
}
