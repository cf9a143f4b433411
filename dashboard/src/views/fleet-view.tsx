// The fleet table: one row per server with its live figures and its drain / redistribute controls.
import { useEffect, useState, type FormEvent } from 'react';
import { drainServer, redistributeServer } from '../api/admin.js';
import type { ServerRow } from '../data/fleet.js';
import { formatBytes, formatDuration, formatNumber } from '../data/format.js';
import type { Admin } from '../use-admin.js';

const CONFIRM_MS = 5000;

export function FleetView({ rows, admin }: { rows: ServerRow[]; admin: Admin }) {
  return (
    <section aria-labelledby="fleet-title" className="panel">
      <h2 id="fleet-title">Servers</h2>
      {rows.length === 0 ? (
        <p className="muted">No servers yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="fleet cards-on-phone">
            <thead>
              <tr>
                <th scope="col">Server</th>
                <th scope="col">Status</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">PID</th>
                <th scope="col" className="num">Uptime</th>
                <th scope="col" className="num">Clients</th>
                <th scope="col" className="num">Writes/s</th>
                <th scope="col" className="num">Loop lag</th>
                <th scope="col" className="num">Memory</th>
                <th scope="col" className="num">Rooms</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <ServerRowView key={row.id} row={row} admin={admin} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ServerRowView({ row, admin }: { row: ServerRow; admin: Admin }) {
  const [confirming, setConfirming] = useState(false);
  const [percent, setPercent] = useState('10');
  useEffect(() => {
    if (!confirming) return;
    const timer = setTimeout(() => setConfirming(false), CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [confirming]);

  const live = row.status === 'ready' || row.status === 'starting';
  const drainKey = `drain:${row.id}`;
  const moveKey = `move:${row.id}`;
  const pct = Number(percent);
  const pctValid = Number.isFinite(pct) && pct > 0 && pct <= 100;

  const drain = (): void => {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    admin.run({
      key: drainKey,
      label: `Drain ${row.id}`,
      call: (token) => drainServer(token, row.id),
      done: () => `${row.id} is draining: its clients are being moved to other servers.`,
    });
  };

  const move = (event: FormEvent): void => {
    event.preventDefault();
    if (!pctValid) return;
    admin.run({
      key: moveKey,
      label: `Redistribute ${pct}% of ${row.id}`,
      call: (token) => redistributeServer(token, row.id, pct / 100),
      done: () => `Asked ${row.id} to move ${pct}% of its clients to the least-loaded server.`,
    });
  };

  const rooms = row.rooms.length;
  return (
    <tr data-server-id={row.id} data-status={row.status}>
      <th scope="row" data-label="Server">
        <span className="swatch" style={{ background: row.color }} aria-hidden="true" />
        <span className="server-id">{row.id}</span>
        <span className="server-url" title={`host ${row.host}`}>
          {row.url}
        </span>
      </th>
      <td data-label="Status">
        <span className={`badge status-${row.status}`}>{row.status}</span>
        {row.status !== 'gone' && !row.busHealthy ? (
          <span className="badge bus-unhealthy" title="Its bus canary misses probes: room messages may be late until it repairs the gap from history">
            bus
          </span>
        ) : null}
        {row.status !== 'gone' && row.abusePerSecond > 0 ? (
          <span className="badge abuse-flood" title={`Refused or closed for abuse since it started: ${row.abuseSummary}`}>
            abuse {formatNumber(row.abusePerSecond)}/s
          </span>
        ) : null}
        {row.busRepairs > 0 ? (
          <span className="bus-repairs" title="Gap repairs since it started: passes that read what its bus may have missed from history">
            {' '}
            {formatNumber(row.busRepairs)} repair{row.busRepairs === 1 ? '' : 's'}
          </span>
        ) : null}
      </td>
      <td data-label="Kind">{row.managed ? 'managed' : 'remote'}</td>
      <td data-label="PID" className="num">
        {row.pid ?? '–'}
      </td>
      <td data-label="Uptime" className="num">
        {formatDuration(row.uptimeMs)}
      </td>
      <td data-label="Clients" className="num">
        {formatNumber(row.clients)}
      </td>
      <td data-label="Writes/s" className="num">
        {formatNumber(row.writesPerSec)}
      </td>
      <td data-label="Loop lag" className="num">
        {formatNumber(row.eventLoopMs)} ms
      </td>
      <td data-label="Memory" className="num">
        {formatBytes(row.rssBytes)}
      </td>
      <td data-label="Rooms" className="num" title={row.rooms.slice(0, 50).join(', ') + (rooms > 50 ? ', …' : '')}>
        {formatNumber(rooms)}
      </td>
      <td data-label="Actions" className="actions">
        <div className="actions-inner">
          <button
            type="button"
            className={confirming ? 'danger' : ''}
            onClick={drain}
            disabled={!live || admin.busy.has(drainKey)}
            aria-label={confirming ? `Confirm drain of ${row.id}` : `Drain ${row.id}`}
          >
            {confirming ? 'Confirm drain' : 'Drain'}
          </button>
          <form className="move" onSubmit={move}>
            <label>
              <span className="visually-hidden">Percent of {row.id}'s clients to move</span>
              <input
                type="number"
                min={1}
                max={100}
                step={1}
                inputMode="numeric"
                value={percent}
                onChange={(e) => setPercent(e.target.value)}
                aria-invalid={!pctValid}
              />
            </label>
            <span aria-hidden="true">%</span>
            <button type="submit" disabled={row.status !== 'ready' || !pctValid || admin.busy.has(moveKey)} aria-label={`Redistribute ${percent}% of ${row.id}'s clients`}>
              Move
            </button>
          </form>
        </div>
      </td>
    </tr>
  );
}
