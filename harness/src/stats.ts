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

/** What the sender learned of a message. */
const SENT = 0;
const ACKED = 1;
const FAILED = 2;
/** Refused with `unavailable`: maybe written, maybe not, never acked (DURABLE_ACKS could not confirm it). */
const UNCONFIRMED = 3;

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
  /**
   * Messages a user had to get and never did: acked ones, and ones seen by
   * others whose send never got a verdict. Outside reported gaps.
   */
  lost: number;
  /**
   * Messages the server refused as unconfirmed (`unavailable`: written, but
   * not confirmed by DURABLE_ACKS replicas in time) that some users got and
   * others never did: never acked, so not a broken promise.
   */
  lostUnconfirmed: number;
  /** Messages a user missed before the server told it history could not fill a gap (`registered.recovered: false`). */
  lostInGaps: number;
  /** Gap reports received (`registered` with `recovered: false`), over all users. */
  gaps: number;
  /** Direct messages sent (`--directs`). */
  directsSent: number;
  /** Direct messages that reached their recipient. */
  directsDelivered: number;
  /** Direct messages acked (or seen) that their recipient never got. */
  directsLost: number;
  /** Receipts of a direct message the recipient had already received. */
  directsDuplicated: number;
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
  /** Each message's place in its room's list, to mark receipts in the receivers' bitsets. */
  readonly #roomIndex = new Column();
  #state = new Uint8Array(1024);
  /** 1 once any member received the message: proof it was published, whatever its ack said. */
  #seen = new Uint8Array(1024);
  /** Per user, one bit per message of its room (by room index): received. */
  readonly #got: Uint8Array[];
  /** Per user, the event sequence numbers of its gap reports, ascending. */
  readonly #gaps: Array<number[] | undefined>;
  #gapCount = 0;
  readonly #directTo = new Column();
  readonly #directFrom = new Column();
  readonly #directSendTime = new Column();
  #directState = new Uint8Array(256);
  #directGot = new Uint8Array(256);
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
    this.#got = Array.from({ length: this.users }, () => new Uint8Array(0));
    this.#gaps = new Array<number[] | undefined>(this.users).fill(undefined);
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
      this.#state = grown(this.#state, this.#state.length * 2);
      this.#seen = grown(this.#seen, this.#seen.length * 2);
    }
    this.#state[gm] = SENT;
    this.#roomIndex.push((this.#roomMessages[room] as Column).push(gm));
    this.#sends++;
    return gm;
  }

  /** The send was acked. */
  acked(gm: number): void {
    if (gm < this.#sendSeq.length) this.#state[gm] = ACKED;
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
   * The server refused the send with `unavailable`: not acked, and perhaps
   * written after all (DURABLE_ACKS could not confirm it in time). Members
   * that got it and members that did not are both within the contract.
   */
  unconfirmed(gm: number): void {
    if (this.#state[gm] === SENT) this.#state[gm] = UNCONFIRMED;
  }

  /**
   * Books a receipt of message `gm` by `user` at `now` (ms on the send clock).
   * Returns false when gm is not a message of this run in the user's room.
   */
  received(user: number, gm: number, now: number): boolean {
    if (!(gm >= 0 && gm < this.#sendSeq.length) || this.#room.data[gm] !== this.userRoom[user]) return false;
    this.#receipts++;
    // A receipt proves the message was published, even if its ack never came.
    this.#seen[gm] = 1;
    const index = this.#roomIndex.data[gm] as number;
    let got = this.#got[user] as Uint8Array;
    if (index >> 3 >= got.length) got = this.#got[user] = grown(got, Math.max(64, (index >> 3) * 2 + 1));
    got[index >> 3] = (got[index >> 3] as number) | (1 << (index & 7));
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

  /**
   * The server told `user` that history could not fill a gap in its room:
   * what it missed of the messages sent before now is gone for good, and is
   * counted in `lostInGaps` rather than `lost`.
   */
  gap(user: number): void {
    this.#gapCount++;
    (this.#gaps[user] ??= []).push(++this.#seq);
  }

  /** Books a direct message about to be written from `from` to `to`; returns its number. */
  sendDirect(from: number, to: number, now: number): number {
    const dn = this.#directTo.push(to);
    this.#directFrom.push(from);
    this.#directSendTime.push(now);
    if (dn >= this.#directState.length) {
      this.#directState = grown(this.#directState, this.#directState.length * 2);
      this.#directGot = grown(this.#directGot, this.#directGot.length * 2);
    }
    this.#directState[dn] = SENT;
    return dn;
  }

  directAcked(dn: number): void {
    if (dn < this.#directTo.length) this.#directState[dn] = ACKED;
  }

  directFailed(dn: number): void {
    if (this.#directState[dn] === SENT) this.#directState[dn] = FAILED;
  }

  /**
   * Books a receipt of direct message `dn` by `user`. Returns false when it is
   * not a direct of this run to this user (duplicates are counted, true).
   */
  directReceived(user: number, dn: number, now: number): boolean {
    if (!(dn >= 0 && dn < this.#directTo.length) || this.#directTo.data[dn] !== user) return false;
    this.#directGot[dn] = Math.min(255, (this.#directGot[dn] as number) + 1);
    const micros = Math.max(1, Math.round((now - (this.#directSendTime.data[dn] as number)) * 1000));
    this.latency.recordValue(micros);
    this.recentLatency.recordValue(micros);
    return true;
  }

  /** The sender of direct `dn`. */
  directSenderOf(dn: number): number {
    return this.#directFrom.data[dn] as number;
  }

  get directSends(): number {
    return this.#directTo.length;
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
   * What every user had to receive, and what it did: for each registered user,
   * every published message of its room sent after its registration, checked
   * against the bits of what it received. A missed one counts in `lostInGaps`
   * when the user reported a gap after it was sent, else in `lostUnconfirmed`
   * when its send was refused with `unavailable`, else in `lost`.
   */
  tally(): Tally {
    let published = 0;
    const sends = this.#sendSeq.length;
    for (let gm = 0; gm < sends; gm++) if (this.#state[gm] === ACKED || this.#seen[gm] === 1) published++;
    let expected = 0;
    let delivered = 0;
    let lost = 0;
    let lostUnconfirmed = 0;
    let lostInGaps = 0;
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
      const list = this.#roomMessages[this.userRoom[user] as number] as Column;
      const got = this.#got[user] as Uint8Array;
      const gaps = this.#gaps[user];
      const lastGap = gaps === undefined ? -1 : (gaps[gaps.length - 1] as number);
      for (let i = firstSentAfter(list, this.#sendSeq.data, registeredAt); i < list.length; i++) {
        const gm = list.data[i] as number;
        const state = this.#state[gm];
        const seen = this.#seen[gm] === 1;
        if (state !== ACKED && !seen) continue; // never published: no one had to get it
        expected++;
        if ((((got[i >> 3] ?? 0) >> (i & 7)) & 1) === 1) {
          delivered++;
        } else if ((this.#sendSeq.data[gm] as number) < lastGap) {
          lostInGaps++;
        } else if (state === UNCONFIRMED) {
          lostUnconfirmed++;
        } else {
          lost++;
        }
      }
    }
    let directsDelivered = 0;
    let directsLost = 0;
    let directsDuplicated = 0;
    for (let dn = 0; dn < this.#directTo.length; dn++) {
      const got = this.#directGot[dn] as number;
      if (got > 0) {
        directsDelivered++;
        directsDuplicated += got - 1;
      } else if (this.#directState[dn] === ACKED) {
        directsLost++;
      }
    }
    return {
      sent: this.#sends,
      published,
      unconfirmed: this.#sends - published,
      delivered,
      expected,
      lost,
      lostUnconfirmed,
      lostInGaps,
      gaps: this.#gapCount,
      duplicated,
      extra,
      unregisteredUsers,
      directsSent: this.#directTo.length,
      directsDelivered,
      directsLost,
      directsDuplicated,
    };
  }
}

/** A copy of `array` with room for `length` elements. */
function grown(array: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(length);
  bigger.set(array);
  return bigger;
}

/** Index of the first message of a room's list sent after event `seq` (sends are in sequence order). */
function firstSentAfter(list: Column, sendSeq: Float64Array, seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sendSeq[list.data[mid] as number] as number) <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
