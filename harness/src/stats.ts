// The harness's books: every message sent, every user's registration and receipts, latencies, errors; what was expected and lost.
import * as hdr from 'hdr-histogram-js';

/** A growable Float64Array: amortized pushes without boxing numbers. */
class Column {
  data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }
  push(value: number): number {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length] = value;
    return this.length++;
  }
}

/** Message state. */
const SENT = 0;
const PUBLISHED = 1;
const FAILED = 2;

/** Totals computed at a point in time. */
export interface Tally {
  sent: number;
  /** Sends confirmed: acked, or seen by any member. */
  published: number;
  /** Sends neither acked nor seen (rejected, timed out, or still pending). */
  unconfirmed: number;
  /** Receipts of messages each receiver had to get. */
  delivered: number;
  /** Messages each registered user had to get, summed over users. */
  expected: number;
  lost: number;
  /** Receipts of an id a user had already received. */
  duplicated: number;
  /** Receipts of messages sent before the receiver first registered (fine, not required). */
  extra: number;
  /** Users that never registered in their room. */
  unregisteredUsers: number;
}

/**
 * Message numbers (`gm`) are given out in send order; the clientId of message
 * gm is gm in base 36, so a receipt finds its message without a map. Each
 * registration and each send takes a number from one event sequence, on the
 * harness's single clock: a message sent after a user's `registered` arrived
 * was published after that user's subscription, so that user must get it.
 */
export class Ledger {
  readonly users: number;
  readonly rooms: number;
  /** Room of each user. */
  readonly userRoom: Int32Array;
  /** Event sequence number of each user's first `registered`; -1 before it. */
  readonly registeredAt: Float64Array;
  readonly receivedExpected: Uint32Array;
  readonly receivedExtra: Uint32Array;
  readonly duplicates: Uint32Array;
  /** Latency of every receipt, microseconds. */
  readonly latency = newHistogram();
  /** The same, for the last progress interval only; the progress line resets it. */
  readonly recentLatency = newHistogram();
  readonly errors = new Map<string, number>();
  /** Send turns skipped because the user's room was not live (mid-reconnect). */
  skippedTurns = 0;

  readonly #sendSeq = new Column();
  readonly #sendTime = new Column();
  readonly #sender = new Column();
  readonly #room = new Column();
  #state = new Uint8Array(1024);
  /** Per room, the message numbers sent into it in order. */
  readonly #roomMessages: Column[];
  #seq = 0;
  #receipts = 0;
  #sends = 0;
  /** When the first message was sent (send clock), if any was. */
  firstSendAt: number | undefined;

  constructor(userRoom: Int32Array, rooms: number) {
    this.users = userRoom.length;
    this.rooms = rooms;
    this.userRoom = userRoom;
    this.registeredAt = new Float64Array(this.users).fill(-1);
    this.receivedExpected = new Uint32Array(this.users);
    this.receivedExtra = new Uint32Array(this.users);
    this.duplicates = new Uint32Array(this.users);
    this.#roomMessages = Array.from({ length: rooms }, () => new Column(256));
  }

  /** All receipts so far (expected and extra), for rates. */
  get receipts(): number {
    return this.#receipts;
  }

  get sends(): number {
    return this.#sends;
  }

  /** Notes a user's `registered`; only the first one defines what it must receive. True for that first one. */
  registered(user: number): boolean {
    if ((this.registeredAt[user] as number) >= 0) return false;
    this.registeredAt[user] = ++this.#seq;
    return true;
  }

  /** Books a message about to be written; returns its number (its clientId in base 36). */
  send(user: number, now: number): number {
    this.firstSendAt ??= now;
    const gm = this.#sendSeq.push(++this.#seq);
    this.#sendTime.push(now);
    this.#sender.push(user);
    const room = this.userRoom[user] as number;
    this.#room.push(room);
    if (gm >= this.#state.length) {
      const bigger = new Uint8Array(this.#state.length * 2);
      bigger.set(this.#state);
      this.#state = bigger;
    }
    this.#state[gm] = SENT;
    (this.#roomMessages[room] as Column).push(gm);
    this.#sends++;
    return gm;
  }

  /** The send was acked. */
  acked(gm: number): void {
    if (this.#state[gm] !== undefined) this.#state[gm] = PUBLISHED;
  }

  /**
   * The send failed: never written, refused by the server (an `error` naming
   * its clientId), or timed out unconfirmed. No one is expected to receive it
   * unless a receipt shows it got through after all.
   */
  failed(gm: number): void {
    if (this.#state[gm] === SENT) this.#state[gm] = FAILED;
  }

  /**
   * Books a receipt of message `gm` by `user` at `now` (ms on the send clock).
   * Returns false when gm is not a message of this run in the user's room.
   */
  received(user: number, gm: number, now: number): boolean {
    if (!(gm >= 0 && gm < this.#sendSeq.length) || this.#room.data[gm] !== this.userRoom[user]) return false;
    this.#receipts++;
    // A receipt proves the message was published, even if its ack never came.
    this.#state[gm] = PUBLISHED;
    const micros = Math.max(1, Math.round(((now - (this.#sendTime.data[gm] as number)) * 1000)));
    this.latency.recordValue(micros);
    this.recentLatency.recordValue(micros);
    const registeredAt = this.registeredAt[user] as number;
    if (registeredAt >= 0 && (this.#sendSeq.data[gm] as number) > registeredAt) {
      this.receivedExpected[user] = (this.receivedExpected[user] as number) + 1;
    } else {
      this.receivedExtra[user] = (this.receivedExtra[user] as number) + 1;
    }
    return true;
  }

  /** A message id arrived that the user had already received. */
  duplicate(user: number): void {
    this.duplicates[user] = (this.duplicates[user] as number) + 1;
  }

  /** Counts an error by code. */
  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** The sender of message gm. */
  senderOf(gm: number): number {
    return this.#sender.data[gm] as number;
  }

  /**
   * What every user had to receive, and what it did: for each room the
   * published messages in send order, and for each registered user the
   * number of them sent after its registration (a binary search).
   */
  tally(): Tally {
    let published = 0;
    for (let gm = 0; gm < this.#sendSeq.length; gm++) if (this.#state[gm] === PUBLISHED) published++;
    // Per room: send sequence numbers of published messages, ascending (send order is sequence order).
    const publishedSeqs = this.#roomMessages.map((column) => {
      const seqs: number[] = [];
      for (let i = 0; i < column.length; i++) {
        const gm = column.data[i] as number;
        if (this.#state[gm] === PUBLISHED) seqs.push(this.#sendSeq.data[gm] as number);
      }
      return seqs;
    });
    let expected = 0;
    let delivered = 0;
    let lost = 0;
    let duplicated = 0;
    let extra = 0;
    let unregisteredUsers = 0;
    for (let user = 0; user < this.users; user++) {
      duplicated += this.duplicates[user] as number;
      extra += this.receivedExtra[user] as number;
      const registeredAt = this.registeredAt[user] as number;
      if (registeredAt < 0) {
        unregisteredUsers++;
        continue;
      }
      const seqs = publishedSeqs[this.userRoom[user] as number] as number[];
      const mustGet = seqs.length - upperBound(seqs, registeredAt);
      const got = this.receivedExpected[user] as number;
      expected += mustGet;
      delivered += Math.min(got, mustGet);
      lost += Math.max(0, mustGet - got);
    }
    return {
      sent: this.#sends,
      published,
      unconfirmed: this.#sends - published,
      delivered,
      expected,
      lost,
      duplicated,
      extra,
      unregisteredUsers,
    };
  }
}

/** A latency histogram in microseconds, 1 µs to 1 h, 3 significant digits. */
function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** Index of the first element greater than `value` in an ascending array. */
export function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts events per whole second since a start, for the progress line and rates. */
export class RateCounter {
  #count = 0;
  #lastCount = 0;
  #lastAt: number;
  constructor(now: number) {
    this.#lastAt = now;
  }
  add(n = 1): void {
    this.#count += n;
  }
  get total(): number {
    return this.#count;
  }
  /** Events per second since the previous call. */
  rate(now: number): number {
    const elapsed = (now - this.#lastAt) / 1000;
    const rate = elapsed > 0 ? (this.#count - this.#lastCount) / elapsed : 0;
    this.#lastCount = this.#count;
    this.#lastAt = now;
    return rate;
  }
}
