// The capacity panel: predicted fleet writes/s u^2/(m*r) for given users, rooms and interval, beside the measured
// figure, and the servers that load needs at SPAWN_WRITES_PER_SEC.
import { useId, useState } from 'react';
import { predictedWritesPerSec, serversNeeded, type CapacityInputs } from '../data/capacity.js';
import { formatNumber } from '../data/format.js';

interface Props {
  /** The inputs as the fleet is now; used until the operator edits a field. */
  live: CapacityInputs;
  /** Mean fleet writes/s over the same `windowS` seconds as the live inputs. */
  measuredWritesPerSec: number;
  windowS: number;
  spawnWritesPerSec: number;
  fleetMax: number | null;
  readyServers: number;
}

type Field = keyof CapacityInputs;

export function CapacityView({ live, measuredWritesPerSec, windowS, spawnWritesPerSec, fleetMax, readyServers }: Props) {
  const [edited, setEdited] = useState<Partial<Record<Field, string>>>({});
  const ids = { users: useId(), rooms: useId(), intervalSec: useId() };
  const value = (field: Field): string => edited[field] ?? String(live[field]);
  const inputs: CapacityInputs = {
    users: Number(value('users')),
    rooms: Number(value('rooms')),
    intervalSec: Number(value('intervalSec')),
  };
  const predicted = predictedWritesPerSec(inputs);
  const needed = serversNeeded(predicted, spawnWritesPerSec);
  const ratio = predicted > 0 ? measuredWritesPerSec / predicted : null;
  // The model counts chat frames only; every message also costs its sender one `ack` write.
  const acks = inputs.intervalSec > 0 && inputs.users > 0 ? inputs.users / inputs.intervalSec : 0;
  const anyEdited = Object.keys(edited).length > 0;

  const field = (name: Field, label: string, step: number) => (
    <div className="field">
      <label htmlFor={ids[name]}>{label}</label>
      <input
        id={ids[name]}
        type="number"
        min={name === 'users' ? 0 : step}
        step={step}
        inputMode="decimal"
        value={value(name)}
        onChange={(e) => setEdited({ ...edited, [name]: e.target.value })}
      />
    </div>
  );

  return (
    <section aria-labelledby="capacity-title" className="panel">
      <h2 id="capacity-title">Capacity</h2>
      <form className="capacity-inputs" onSubmit={(e) => e.preventDefault()}>
        {field('users', 'Users (u)', 1)}
        {field('rooms', 'Rooms (r)', 1)}
        {field('intervalSec', 'Message interval, s (m)', 0.1)}
        <button type="button" onClick={() => setEdited({})} disabled={!anyEdited}>
          Use live figures
        </button>
      </form>
      <p className="muted small">
        {anyEdited
          ? 'Your figures.'
          : `Live figures, means over the last ${windowS} s: connected clients, rooms with clients, interval from messages/s.`}
      </p>
      <dl className="capacity">
        <div>
          <dt>Predicted writes/s u²/(m·r)</dt>
          <dd data-testid="predicted">{formatNumber(predicted)}</dd>
        </div>
        <div>
          <dt>+ one ack per message, u/m</dt>
          <dd>{formatNumber(acks)}</dd>
        </div>
        <div>
          <dt>Measured writes/s, mean of {windowS} s</dt>
          <dd>
            {formatNumber(measuredWritesPerSec)}
            {ratio !== null && !anyEdited && <span className="muted small"> ({formatNumber(ratio * 100)}% of predicted)</span>}
          </dd>
        </div>
        <div>
          <dt>Servers needed at {formatNumber(spawnWritesPerSec)} writes/s each</dt>
          <dd>
            {needed}
            <span className="muted small">
              {' '}
              (ready now: {readyServers}
              {fleetMax !== null ? `, FLEET_MAX ${fleetMax}` : ''})
            </span>
            {fleetMax !== null && needed > fleetMax && <span className="warn"> more than FLEET_MAX allows</span>}
          </dd>
        </div>
      </dl>
    </section>
  );
}
