// The live /stats/stream subscription: parses snapshots, notices a dead or silent stream, reconnects with backoff.
import { snapshotProblem, type StatsSnapshot } from '../data/snapshot.js';
import { backoffDelay } from './backoff.js';

export type StreamState =
  /** `since`: when the stream went down, for a reconnect; null for the very first connect. */
  | { kind: 'connecting'; attempt: number; since: number | null; reason: string | null }
  | { kind: 'live'; since: number }
  | { kind: 'down'; since: number; reason: string; attempt: number; retryAt: number };

export interface StatsStreamOptions {
  url: string;
  /** A stream that sends nothing for this long counts as dropped (the balancer sends one a second). */
  staleAfterMs?: number;
  onSnapshot(snapshot: StatsSnapshot): void;
  onState(state: StreamState): void;
  /** A message arrived but is not a snapshot the dashboard can show. */
  onProblem(problem: string): void;
}

export interface StatsStream {
  /** Skips the wait and reconnects at once (the banner's "retry now"). */
  reconnectNow(): void;
  close(): void;
}

/**
 * Opens the stream. EventSource's own retry is not relied on: it gives up for good on a non-200
 * answer (a restarting balancer behind a proxy says 502), so every error closes it and a fresh
 * one is opened after a backoff delay. A watchdog turns a silent stream into a drop.
 */
export function openStatsStream(options: StatsStreamOptions): StatsStream {
  const staleAfterMs = options.staleAfterMs ?? 5000;
  let source: EventSource | null = null;
  let attempt = 0;
  let lastActivity = Date.now();
  let downSince: number | null = null;
  let downReason: string | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let live = false;

  const onMessage = (event: MessageEvent<string>): void => {
    lastActivity = Date.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      options.onProblem('the stream sent a message that is not JSON');
      return;
    }
    const problem = snapshotProblem(parsed);
    if (problem !== null) {
      options.onProblem(`the stream sent a snapshot the dashboard cannot read: ${problem}`);
      return;
    }
    attempt = 0;
    downSince = null;
    downReason = null;
    if (!live) {
      live = true;
      options.onState({ kind: 'live', since: lastActivity });
    }
    options.onSnapshot(parsed as StatsSnapshot);
  };

  const connect = (): void => {
    if (closed) return;
    retryTimer = undefined;
    live = false;
    lastActivity = Date.now();
    options.onState({ kind: 'connecting', attempt, since: downSince, reason: downReason });
    const es = new EventSource(options.url);
    es.addEventListener('message', onMessage);
    es.addEventListener('snapshot', onMessage as EventListener);
    es.addEventListener('error', () => fail(es.readyState === EventSource.CLOSED ? 'the balancer refused the stream' : 'the connection to the balancer broke'));
    source = es;
  };

  const fail = (reason: string): void => {
    if (closed || source === null) return;
    source.close();
    source = null;
    live = false;
    const now = Date.now();
    downSince ??= now;
    downReason = reason;
    const delay = backoffDelay(attempt);
    attempt++;
    options.onState({ kind: 'down', since: downSince, reason, attempt, retryAt: now + delay });
    retryTimer = setTimeout(connect, delay);
  };

  const watchdog = setInterval(() => {
    if (source !== null && Date.now() - lastActivity > staleAfterMs) {
      fail(`no update for ${Math.round(staleAfterMs / 1000)} s`);
    }
  }, 1000);

  connect();

  return {
    reconnectNow() {
      if (closed || source !== null) return;
      clearTimeout(retryTimer);
      connect();
    },
    close() {
      closed = true;
      clearInterval(watchdog);
      clearTimeout(retryTimer);
      source?.close();
      source = null;
    },
  };
}
