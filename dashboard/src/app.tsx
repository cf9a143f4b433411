// The dashboard page: header with fleet summary and spawn, then servers, charts, rooms, capacity and events.
import { useMemo, useRef } from 'react';
import { spawnServer } from './api/admin.js';
import { capacityFromSnapshot, spawnWritesPerSec } from './data/capacity.js';
import { buildCharts } from './data/charts.js';
import { balancerRows } from './data/balancers.js';
import { assignColors } from './data/colors.js';
import { fleetTotals, serverRows } from './data/fleet.js';
import { formatBytes, formatClock, formatNumber } from './data/format.js';
import { roomRows } from './data/rooms.js';
import { useAdmin } from './use-admin.js';
import { useStats } from './use-stats.js';
import { useChartTheme } from './use-theme.js';
import { BalancersView } from './views/balancers-view.js';
import { CapacityView } from './views/capacity-view.js';
import { PlannerView } from './views/planner-view.js';
import { blockedSpawn } from './data/planner.js';
import { ChartsView } from './views/charts-view.js';
import { EventsView } from './views/events-view.js';
import { FleetView } from './views/fleet-view.js';
import { Notices } from './views/notices.js';
import { RoomsView } from './views/rooms-view.js';
import { StreamBanner } from './views/stream-banner.js';
import { TokenDialog } from './views/token-dialog.js';

const STATE_LABEL = { connecting: 'connecting', live: 'live', down: 'offline' } as const;

export function App() {
  const { snapshot, state, problem, reconnectNow } = useStats();
  const admin = useAdmin();
  const theme = useChartTheme();

  // Server colours carry over from snapshot to snapshot: a server keeps its colour while it is listed.
  const colors = useRef<ReadonlyMap<string, string>>(new Map());
  const view = useMemo(() => {
    if (snapshot === null) return null;
    colors.current = assignColors(colors.current, snapshot.servers);
    return {
      rows: serverRows(snapshot, colors.current),
      totals: fleetTotals(snapshot),
      charts: buildCharts(snapshot, colors.current),
      rooms: roomRows(snapshot),
      capacity: capacityFromSnapshot(snapshot),
      balancers: balancerRows(snapshot),
    };
  }, [snapshot]);

  const spawn = (): void =>
    admin.run({
      key: 'spawn',
      label: 'Spawn',
      call: spawnServer,
      done: (body) => {
        const id = typeof body === 'object' && body !== null && 'id' in body ? String((body as { id: unknown }).id) : 'a server';
        return `Spawned ${id}; it shows as starting until it is ready.`;
      },
    });

  const totals = view?.totals;
  return (
    <>
      <header className="top">
        <h1>chatfleet</h1>
        <span className={`pill stream-${state.kind}`} data-testid="stream-state">
          <span className="dot" aria-hidden="true" />
          {STATE_LABEL[state.kind]}
          {snapshot !== null && <span className="muted"> · {formatClock(snapshot.ts)}</span>}
        </span>
        {totals !== undefined && (
          <dl className="summary">
            <div>
              <dt>servers ready</dt>
              <dd>
                {totals.byStatus.ready}/{totals.servers}
              </dd>
            </div>
            <div>
              <dt>clients</dt>
              <dd>{formatNumber(totals.clients)}</dd>
            </div>
            <div>
              <dt>writes/s</dt>
              <dd>{formatNumber(totals.writesPerSec)}</dd>
            </div>
            <div>
              <dt>memory</dt>
              <dd>{formatBytes(totals.rssBytes)}</dd>
            </div>
            <div>
              <dt>active rooms</dt>
              <dd>{formatNumber(totals.activeRooms)}</dd>
            </div>
          </dl>
        )}
        <div className="top-actions">
          <button type="button" className="primary" onClick={spawn} disabled={admin.busy.has('spawn')}>
            Spawn server
          </button>
          <button type="button" onClick={admin.askToken}>
            Admin token…
          </button>
        </div>
      </header>
      <StreamBanner state={state} lastTs={snapshot?.ts ?? null} problem={problem} onRetry={reconnectNow} />
      <Notices notices={admin.notices} onDismiss={admin.dismiss} />
      <main>
        {view === null ? (
          <p className="muted loading">Waiting for the first snapshot from the balancer…</p>
        ) : (
          <>
            <FleetView rows={view.rows} admin={admin} />
            <ChartsView charts={view.charts} theme={theme} />
            <div className="columns">
              <RoomsView rows={view.rooms} />
              <div className="stack">
                <CapacityView
                  live={view.capacity.inputs}
                  measuredWritesPerSec={view.capacity.measuredWritesPerSec}
                  windowS={view.capacity.windowS}
                  spawnWritesPerSec={spawnWritesPerSec(snapshot)}
                  fleetMax={snapshot?.config?.fleetMax ?? null}
                  readyServers={view.totals.byStatus.ready}
                />
                <PlannerView capacity={snapshot?.capacity} blocked={blockedSpawn(snapshot?.events ?? [], snapshot?.ts ?? Date.now())} />
                <BalancersView rows={view.balancers} />
                <EventsView events={snapshot?.events ?? []} />
              </div>
            </div>
          </>
        )}
      </main>
      <TokenDialog prompt={admin.prompt} onCancel={admin.cancelPrompt} />
    </>
  );
}
