// Abuse accounting: refused frames, abuse closes and refused upgrades counted by reason for the metrics, and logged at most once per reason per window.
import {
  ABUSE_CLOSES,
  ABUSE_REFUSALS,
  emptyAbuseCounts,
  UpgradeRefusal,
  type AbuseClose,
  type AbuseCounts,
  type AbuseRefusal,
} from '@chatfleet/protocol';
import type { Logger } from './log.js';

/** How long a reason's log line covers: at most one line per reason per window, carrying the count. */
export const ABUSE_LOG_WINDOW_MS = 5000;

/**
 * Throttles log lines by key: the first event of a key is due at once, later
 * ones are counted until the window since that key's last line has passed.
 * Pure: the caller passes the clock.
 */
export class LogThrottle {
  /** Per key: events not logged yet, and when its last line went out. */
  private readonly keys = new Map<string, { pending: number; loggedAt: number }>();

  constructor(private readonly windowMs: number) {}

  /** Counts one event of `key`; returns how many events the line due now covers, or 0 when none is due. */
  note(key: string, now: number): number {
    let entry = this.keys.get(key);
    if (entry === undefined) {
      entry = { pending: 0, loggedAt: -Infinity };
      this.keys.set(key, entry);
    }
    entry.pending += 1;
    if (now - entry.loggedAt < this.windowMs) return 0;
    const count = entry.pending;
    entry.pending = 0;
    entry.loggedAt = now;
    return count;
  }

  /** The keys whose window has passed with events still unlogged, with their counts; marks them logged. */
  due(now: number): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [key, entry] of this.keys) {
      if (entry.pending === 0) {
        // A quiet key is forgotten once its window is over, so the map holds only recent reasons.
        if (now - entry.loggedAt >= this.windowMs) this.keys.delete(key);
        continue;
      }
      if (now - entry.loggedAt < this.windowMs) continue;
      out.push([key, entry.pending]);
      entry.pending = 0;
      entry.loggedAt = now;
    }
    return out;
  }
}

const REFUSALS: ReadonlySet<string> = new Set(ABUSE_REFUSALS);
const CLOSES: ReadonlySet<number> = new Set(ABUSE_CLOSES);

/**
 * A chat server's abuse counters since it started (written into its hash once
 * a second, see metrics.ts) and their throttled log: a flood shows as one
 * warning per reason every ABUSE_LOG_WINDOW_MS with how many it was, never
 * as a line per frame.
 */
export class AbuseCounters {
  readonly counts: AbuseCounts = emptyAbuseCounts();
  private readonly throttle: LogThrottle;

  constructor(
    private readonly log: Logger,
    windowMs = ABUSE_LOG_WINDOW_MS,
  ) {
    this.throttle = new LogThrottle(windowMs);
  }

  /** An `error` frame sent to a client; only the abuse codes (rate_limited, too_large, bad_frame) count. */
  refused(code: string, now = Date.now()): void {
    if (!REFUSALS.has(code)) return;
    this.counts.refused[code as AbuseRefusal] += 1;
    this.note(`refused ${code}`, now);
  }

  /** A close the server started; only the abuse codes (1002, 1007, 1008, 1009, 4000) count. */
  closed(code: number, now = Date.now()): void {
    if (!CLOSES.has(code)) return;
    this.counts.closed[String(code as AbuseClose) as `${AbuseClose}`] += 1;
    this.note(`closed ${code}`, now);
  }

  /** An upgrade (or plain HTTP request) refused, and the TCP connection closed. */
  upgradeRefused(reason: UpgradeRefusal, now = Date.now()): void {
    this.counts.upgradesRefused[reason] += 1;
    this.note(`upgrade ${reason}`, now);
  }

  /** Logs what the window held back; called once a second with the metrics write. */
  flush(now = Date.now()): void {
    for (const [key, count] of this.throttle.due(now)) this.write(key, count);
  }

  private note(key: string, now: number): void {
    const count = this.throttle.note(key, now);
    if (count > 0) this.write(key, count);
  }

  private write(key: string, count: number): void {
    const [kind, reason] = key.split(' ') as [string, string];
    const what =
      kind === 'refused'
        ? `frames refused with ${reason}`
        : kind === 'closed'
          ? `connections closed with ${reason}`
          : `upgrades refused (${reason}, ${UpgradeRefusal[reason as UpgradeRefusal]})`;
    this.log.warn({ abuse: kind, reason, count }, `abuse: ${count} ${what} since the last such line`);
  }
}
