// React hook over the stats stream: the latest snapshot (kept while the stream is down), the stream's state and any problem.
import { useEffect, useRef, useState } from 'react';
import { openStatsStream, type StatsStream, type StreamState } from './api/stats-stream.js';
import type { StatsSnapshot } from './data/snapshot.js';

export interface StatsView {
  snapshot: StatsSnapshot | null;
  state: StreamState;
  problem: string | null;
  reconnectNow(): void;
}

/** Subscribes for the component's lifetime; only the newest snapshot is held, so memory does not grow. */
export function useStats(url = '/stats/stream'): StatsView {
  const [snapshot, setSnapshot] = useState<StatsSnapshot | null>(null);
  const [state, setState] = useState<StreamState>({ kind: 'connecting', attempt: 0, since: null, reason: null });
  const [problem, setProblem] = useState<string | null>(null);
  const stream = useRef<StatsStream | null>(null);

  useEffect(() => {
    const s = openStatsStream({
      url,
      onSnapshot: (next) => {
        setSnapshot(next);
        setProblem(null);
      },
      onState: setState,
      onProblem: setProblem,
    });
    stream.current = s;
    return () => {
      s.close();
      stream.current = null;
    };
  }, [url]);

  return { snapshot, state, problem, reconnectNow: () => stream.current?.reconnectNow() };
}
