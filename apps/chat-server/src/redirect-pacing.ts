// Spreads redirects to one target over time at a rate with jitter, so a move or a drain does not send everyone at once.

/** The slot of the next redirect to one target: when it goes, and when the slot after it may start. */
export interface Slot {
  at: number;
  nextAt: number;
}

/**
 * Takes the next slot of a target: slots are `intervalMs` long and follow one
 * another from `nextAt` (or now, if that passed), and each redirect goes at a
 * random point inside its slot (`random` in [0, 1)). So a target never gets
 * more than one redirect per interval on average, their moments are jittered,
 * and a late timer does not make the next ones bunch up to catch up.
 */
export function takeSlot(nextAt: number | undefined, now: number, intervalMs: number, random: number): Slot {
  const start = nextAt === undefined || nextAt < now ? now : nextAt;
  return { at: start + random * intervalMs, nextAt: start + intervalMs };
}

/**
 * The interval between redirects to one target: 1000 / `ratePerSec`, shortened
 * when `count` redirects would not all go out within `withinMs` (a drain has a
 * deadline). `withinMs` undefined: no deadline.
 */
export function redirectInterval(ratePerSec: number, count: number, withinMs?: number): number {
  const interval = 1000 / ratePerSec;
  if (withinMs === undefined || count <= 0) return interval;
  return Math.min(interval, withinMs / count);
}

/** One redirect waiting for its slot. */
export interface PacedItem<T> {
  item: T;
  intervalMs: number;
}

interface Lane<T> {
  queue: Array<PacedItem<T>>;
  nextAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Queues per target and sends each item in its own slot (`takeSlot`). `send`
 * returns false for an item that no longer needs sending (its client left):
 * the next item then takes the slot at once. Timers are cleared by `stop()`.
 */
export class RedirectPacer<T> {
  private readonly lanes = new Map<string, Lane<T>>();

  constructor(
    private readonly send: (target: string, item: T) => boolean,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items queued and not yet sent, over every target. */
  get pending(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.queue.length;
    return n;
  }

  /** Queues `items` for `target`, one per `intervalMs`; returns about how long until the last goes, ms. */
  enqueue(target: string, items: readonly T[], intervalMs: number): number {
    if (items.length === 0) return 0;
    let lane = this.lanes.get(target);
    if (lane === undefined) {
      lane = { queue: [], nextAt: undefined, timer: undefined };
      this.lanes.set(target, lane);
    }
    for (const item of items) lane.queue.push({ item, intervalMs });
    const start = lane.nextAt === undefined ? this.now() : Math.max(this.now(), lane.nextAt);
    let wait = start - this.now();
    for (const queued of lane.queue) wait += queued.intervalMs;
    if (lane.timer === undefined) this.schedule(target, lane);
    return wait;
  }

  /** Sends every queued item now, in order (a drain's deadline came). */
  flush(): void {
    for (const [target, lane] of this.lanes) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
      const queue = lane.queue.splice(0);
      for (const { item } of queue) this.send(target, item);
    }
    this.lanes.clear();
  }

  /** Drops everything queued and clears the timers. */
  stop(): void {
    for (const lane of this.lanes.values()) clearTimeout(lane.timer);
    this.lanes.clear();
  }

  private schedule(target: string, lane: Lane<T>): void {
    const head = lane.queue[0];
    if (head === undefined) {
      this.lanes.delete(target);
      return;
    }
    const now = this.now();
    const slot = takeSlot(lane.nextAt, now, head.intervalMs, this.random());
    lane.nextAt = slot.nextAt;
    lane.timer = setTimeout(() => this.fire(target, lane), Math.max(0, slot.at - now));
  }

  private fire(target: string, lane: Lane<T>): void {
    lane.timer = undefined;
    if (this.lanes.get(target) !== lane) return;
    // Items whose client left take no slot: send the first one still wanted.
    for (let next = lane.queue.shift(); next !== undefined; next = lane.queue.shift()) {
      if (this.send(target, next.item)) break;
    }
    this.schedule(target, lane);
  }
}
