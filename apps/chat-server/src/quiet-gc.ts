// A full, memory-reducing garbage collection once connections go quiet after a wave of connects or drops: what those
// left behind is returned while the server idles, instead of staying in its RSS until the old generation's next limit.
import { Session } from 'node:inspector';

/** Seconds without a connect or a close before the collection runs. */
export const QUIET_MS = 5000;

/**
 * A memory-reducing full collection, the one V8 runs on low memory: it also
 * shrinks the young generation back from the size a burst grew it to (a plain
 * `gc()` keeps up to 32 MB of it committed) and returns freed pages. Asked
 * through an inspector session inside the process (no `--inspect` or
 * `--expose-gc` needed); resolves once the collection is done. Rejects only
 * where the inspector is missing (a Node built without it).
 */
export function collectAndShrink(): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = new Session();
    try {
      session.connect();
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    session.post('HeapProfiler.collectGarbage', (error) => {
      // Disconnecting inside the callback keeps the process alive; one turn later it does not.
      setImmediate(() => session.disconnect());
      if (error === null) resolve();
      else reject(error);
    });
  });
}

/**
 * Counts connects and closes; once at least `churn` of them happened and
 * none for QUIET_MS, `due` says a collection should run now (and counts from
 * zero again). Pure: the caller passes the time and runs the collection.
 */
export class QuietCollector {
  private changes = 0;
  private lastChangeAt = 0;

  constructor(private readonly churn: number) {}

  /** A connection opened or closed at `now`. */
  note(now: number): void {
    this.changes++;
    this.lastChangeAt = now;
  }

  /** True (once) when `churn` changes are followed by QUIET_MS of none. */
  due(now: number): boolean {
    if (this.churn <= 0 || this.changes < this.churn || now - this.lastChangeAt < QUIET_MS) return false;
    this.changes = 0;
    return true;
  }
}
