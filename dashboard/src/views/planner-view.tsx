// The room planner's view: the fleet's predicted writes (members x messages/s per room) against the measured, the servers that
// load needs, the copies each message costs, the heaviest rooms, and a warning while a needed spawn is blocked.
import { formatNumber } from '../data/format.js';
import { heaviestRooms } from '../data/planner.js';
import type { Capacity, FleetEvent } from '../data/snapshot.js';

interface Props {
  capacity: Capacity | undefined;
  blocked: FleetEvent | undefined;
}

export function PlannerView({ capacity, blocked }: Props) {
  const rooms = heaviestRooms(capacity);
  return (
    <section aria-labelledby="planner-title" className="panel">
      <h2 id="planner-title">Room planner</h2>
      {blocked !== undefined && (
        <p className="banner warn" role="status" data-testid="no-spawn">
          No spawn: {blocked.detail}
        </p>
      )}
      {capacity === undefined ? (
        <p className="muted">Waiting for the balancer's first read of the rooms.</p>
      ) : (
        <>
          <p className="muted small">Per room, members × messages/s predicts writes; means over the last {capacity.windowSeconds} s.</p>
          <dl className="capacity">
            <div>
              <dt>Predicted writes/s</dt>
              <dd data-testid="planner-predicted">{formatNumber(capacity.predictedWritesPerSec)}</dd>
            </div>
            <div>
              <dt>Measured writes/s</dt>
              <dd>{formatNumber(capacity.measuredWritesPerSec)}</dd>
            </div>
            <div>
              <dt>Servers needed</dt>
              <dd>{capacity.serversNeeded}</dd>
            </div>
            <div>
              <dt>Redis deliveries per message</dt>
              <dd>{capacity.messagesPerSec > 0 ? capacity.copiesPerMessage.toFixed(2) : '–'}</dd>
            </div>
          </dl>
          {rooms.length > 0 && (
            <div className="table-wrap">
            <table className="planner-rooms">
              <thead>
                <tr>
                  <th scope="col">Room</th>
                  <th scope="col">Members</th>
                  <th scope="col">Msgs/s</th>
                  <th scope="col">Predicted writes/s</th>
                  <th scope="col">Servers (needed)</th>
                </tr>
              </thead>
              <tbody>
                {rooms.map((room) => (
                  <tr key={room.id}>
                    <td>{room.id}</td>
                    <td>{formatNumber(room.members)}</td>
                    <td>{formatNumber(room.messagesPerSec)}</td>
                    <td>{formatNumber(room.predictedWritesPerSec)}</td>
                    <td>
                      {room.servers} ({room.serversNeeded})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
