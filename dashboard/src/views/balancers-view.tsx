// The balancers of the fleet: which one leads (runs the scaling policy), each one's host and address.
import type { BalancerRow } from '../data/balancers.js';

export function BalancersView({ rows }: { rows: BalancerRow[] }) {
  return (
    <section aria-labelledby="balancers-title" className="panel" data-testid="balancers">
      <h2 id="balancers-title">Balancers</h2>
      {rows.length === 0 ? (
        <p className="muted">No balancer has reported yet.</p>
      ) : (
        <ul className="balancers">
          {rows.map((b) => (
            <li key={b.id} data-leader={b.leader}>
              {b.leader ? <span className="badge kind-lead">leader</span> : <span className="badge">follower</span>}
              <span className="event-server">{b.host}</span>
              <a href={b.url}>{b.id}</a>
              <span className="muted">{b.heardSecondsAgo === 0 ? 'now' : `${b.heardSecondsAgo} s ago`}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
