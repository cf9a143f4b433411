// One timer for thousands of users: a hashed wheel of slots that fires each scheduled item once.

/**
 * A hashed timer wheel. `schedule(item, delay)` puts a number (a user index)
 * into the slot `delay` ahead; one interval timer walks the slots, catching up
 * when the event loop was late. Thousands of users cost one timer, no closure
 * per schedule, and an array push each.
 *
 * Delays round up to the tick and are capped at the wheel's span.
 */
export class TimerWheel {
  readonly #tickMs: number;
  readonly #slots: number[][];
  readonly #onDue: (item: number) => void;
  readonly #now: () => number;
  #spare: number[] = [];
  /** Index of the next slot to fire. */
  #cursor = 0;
  /** Time the next slot is due. */
  #nextAt = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #size = 0;

  constructor(options: { tickMs: number; spanMs: number; onDue: (item: number) => void; now?: () => number }) {
    this.#tickMs = options.tickMs;
    this.#slots = Array.from({ length: Math.ceil(options.spanMs / options.tickMs) + 2 }, () => []);
    this.#onDue = options.onDue;
    this.#now = options.now ?? (() => performance.now());
    this.#nextAt = this.#now() + this.#tickMs;
  }

  /** Items waiting to fire. */
  get size(): number {
    return this.#size;
  }

  /** Fires `item` about `delayMs` from now (never sooner than the next tick). */
  schedule(item: number, delayMs: number): void {
    const ahead = Math.min(this.#slots.length - 1, Math.max(0, Math.ceil((this.#now() + delayMs - this.#nextAt) / this.#tickMs)));
    (this.#slots[(this.#cursor + ahead) % this.#slots.length] as number[]).push(item);
    this.#size++;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#nextAt = this.#now() + this.#tickMs;
    this.#timer = setInterval(() => this.advance(), this.#tickMs);
  }

  /** Stops the timer and forgets everything scheduled. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const slot of this.#slots) slot.length = 0;
    this.#size = 0;
  }

  /** Fires every slot that is due by now; the interval calls it, tests may too. */
  advance(): void {
    const now = this.#now();
    while (this.#nextAt <= now) {
      const index = this.#cursor;
      const due = this.#slots[index] as number[];
      // Swap in an empty array so items scheduled while firing land in a fresh slot.
      this.#slots[index] = this.#spare;
      this.#cursor = (index + 1) % this.#slots.length;
      this.#nextAt += this.#tickMs;
      this.#size -= due.length;
      for (let i = 0; i < due.length; i++) this.#onDue(due[i] as number);
      due.length = 0;
      this.#spare = due;
    }
  }
}
