// Says when the live stream is down (and since when the data shown is), counting down to the next reconnect.
import { useEffect, useState } from 'react';
import type { StreamState } from '../api/stats-stream.js';
import { formatClock } from '../data/format.js';

export function StreamBanner({ state, lastTs, problem, onRetry }: { state: StreamState; lastTs: number | null; problem: string | null; onRetry(): void }) {
  // Re-render twice a second while down so the countdown moves; the time itself is read at render.
  const [, setTick] = useState(0);
  useEffect(() => {
    if (state.kind !== 'down') return;
    const timer = setInterval(() => setTick((n) => n + 1), 500);
    return () => clearInterval(timer);
  }, [state.kind]);

  if (problem !== null) {
    return (
      <div className="banner warn" role="alert">
        The balancer sent data the dashboard cannot show: {problem}.
      </div>
    );
  }
  if (state.kind === 'live' || state.since === null) return null;
  const wait = state.kind === 'down' ? Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000)) : 0;
  return (
    <div className="banner error" role="alert" data-testid="stream-down">
      <span>
        Live updates stopped at {formatClock(state.since)} ({state.reason}).{' '}
        {lastTs !== null ? `Showing the last data, from ${formatClock(lastTs)}. ` : 'No data received yet. '}
        {wait > 0 ? `Reconnecting in ${wait} s (attempt ${state.attempt}).` : 'Reconnecting…'}
      </span>
      <button type="button" onClick={onRetry}>
        Retry now
      </button>
    </div>
  );
}
