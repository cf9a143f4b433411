// The event log: what the balancer did and why, newest first, capped so an hour of churn stays light.
import type { FleetEvent } from '../data/snapshot.js';
import { formatClock } from '../data/format.js';

const SHOWN = 200;

export function EventsView({ events }: { events: FleetEvent[] }) {
  const newest = events.slice(-SHOWN).reverse();
  // Keys from the event itself (not its position) so a new event does not re-create every row.
  const seen = new Map<string, number>();
  const keys = newest.map((e) => {
    const base = `${e.ts}|${e.kind}|${e.serverId ?? ''}|${e.detail}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return `${base}|${n}`;
  });
  return (
    <section aria-labelledby="events-title" className="panel">
      <h2 id="events-title">Events</h2>
      {newest.length === 0 ? (
        <p className="muted">Nothing has happened yet.</p>
      ) : (
        <ol className="events" tabIndex={0} aria-label="Fleet events, newest first">
          {newest.map((e, i) => (
            <li key={keys[i]} data-kind={e.kind}>
              <time dateTime={new Date(e.ts).toISOString()}>{formatClock(e.ts)}</time>
              <span className={`badge kind-${e.kind}`}>{e.kind}</span>
              {e.serverId !== null && <span className="event-server">{e.serverId}</span>}
              <span className="event-detail">{e.detail}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
