// The rooms table: filter by name, sort by any column, show the top N; a thousand rooms render as at most N rows.
import { useDeferredValue, useId, useMemo, useState } from 'react';
import { formatNumber } from '../data/format.js';
import { selectRooms, type RoomRow, type RoomSortKey, type SortDirection } from '../data/rooms.js';

const COLUMNS: { key: RoomSortKey; label: string; numeric: boolean; title?: string }[] = [
  { key: 'id', label: 'Room', numeric: false },
  { key: 'clients', label: 'Clients', numeric: true },
  { key: 'messagesPerSec', label: 'Msgs/s', numeric: true, title: 'messages per second, mean of the last 3 s' },
  { key: 'writesPerSec', label: 'Writes/s', numeric: true, title: 'socket writes per second, mean of the last 3 s' },
  { key: 'servers', label: 'Servers', numeric: true, title: 'servers hosting members of the room' },
];

const LIMITS = [25, 100, 500, Infinity] as const;

export function RoomsView({ rows }: { rows: RoomRow[] }) {
  const [filter, setFilter] = useState('');
  const [sortKey, setSortKey] = useState<RoomSortKey>('clients');
  const [direction, setDirection] = useState<SortDirection>('desc');
  const [limit, setLimit] = useState<number>(25);
  const [includeEmpty, setIncludeEmpty] = useState(false);
  const emptyId = useId();
  const deferredFilter = useDeferredValue(filter);
  const filterId = useId();
  const limitId = useId();

  const selection = useMemo(
    () => selectRooms(rows, { filter: deferredFilter, sortKey, direction, limit, includeEmpty }),
    [rows, deferredFilter, sortKey, direction, limit, includeEmpty],
  );

  const sortBy = (key: RoomSortKey): void => {
    if (key === sortKey) setDirection(direction === 'asc' ? 'desc' : 'asc');
    else {
      setSortKey(key);
      setDirection(key === 'id' ? 'asc' : 'desc');
    }
  };

  return (
    <section aria-labelledby="rooms-title" className="panel">
      <h2 id="rooms-title">Rooms</h2>
      <div className="toolbar">
        <label htmlFor={filterId}>Filter</label>
        <input id={filterId} type="search" placeholder="room name" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <label htmlFor={limitId}>Show</label>
        <select id={limitId} value={String(limit)} onChange={(e) => setLimit(Number(e.target.value))}>
          {LIMITS.map((n) => (
            <option key={n} value={String(n)}>
              {Number.isFinite(n) ? `top ${n}` : 'all'}
            </option>
          ))}
        </select>
        <label className="check" htmlFor={emptyId}>
          <input id={emptyId} type="checkbox" checked={includeEmpty} onChange={(e) => setIncludeEmpty(e.target.checked)} />
          empty rooms
        </label>
        <span className="muted" aria-live="polite" data-testid="rooms-count">
          {selection.rows.length} of {selection.matched}
          {selection.matched !== selection.total ? ` matching (${selection.total} rooms)` : ' rooms'}
          {selection.hiddenEmpty > 0 ? `, ${selection.hiddenEmpty} empty hidden` : ''}
        </span>
      </div>
      <div className="table-wrap rooms-wrap" tabIndex={0} role="region" aria-label="Rooms table, scrollable">
        <table className="rooms">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  className={c.numeric ? 'num' : ''}
                  aria-sort={c.key === sortKey ? (direction === 'asc' ? 'ascending' : 'descending') : 'none'}
                  title={c.title}
                >
                  <button type="button" className="sort" onClick={() => sortBy(c.key)}>
                    {c.label}
                    <span aria-hidden="true">{c.key === sortKey ? (direction === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {selection.rows.map((r) => (
              <tr key={r.id} data-room={r.id} className={r.clients === 0 ? 'empty' : undefined} title={r.clients === 0 ? 'no client now; listed for its recent traffic' : undefined}>
                <th scope="row">{r.id}</th>
                <td className="num">{formatNumber(r.clients)}</td>
                <td className="num">{formatNumber(r.messagesPerSec)}</td>
                <td className="num">{formatNumber(r.writesPerSec)}</td>
                <td className="num">{r.servers}</td>
              </tr>
            ))}
            {selection.rows.length === 0 && (
              <tr>
                <td colSpan={COLUMNS.length} className="muted">
                  {rows.length === 0 ? 'No rooms yet.' : selection.total === 0 ? 'No room has clients now.' : 'No room matches the filter.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
