// Prints the simulator's figures: both policies side by side, then servers hour by hour.
import type { SimReport } from './run.js';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const dec = (n: number, d = 2) => n.toFixed(d);
const pct = (n: number) => `${(n * 100).toFixed(0)}%`;

/** The report as text: a table of figures per policy, then an hourly table of servers used. */
export function formatReport(report: SimReport): string {
  const o = report.options;
  const [today, planner] = report.policies;
  if (today === undefined || planner === undefined) return '';
  const rows: Array<[string, string, string]> = [
    ['servers used, mean', dec(today.servers.mean, 1), dec(planner.servers.mean, 1)],
    ['servers used, max', int(today.servers.max), int(planner.servers.max)],
    ['server-hours', int(today.servers.serverHours), int(planner.servers.serverHours)],
    ['clients moved', int(today.clientsMoved.total), int(planner.clientsMoved.total)],
    ['  by drains', int(today.decisions.movedBy['drain'] ?? 0), int(planner.decisions.movedBy['drain'] ?? 0)],
    ['  off hot servers (today) / to relieve (planner)', int(today.decisions.movedBy['hot'] ?? 0), int(planner.decisions.plannedKinds['relieve'] ?? 0)],
    ['  to consolidate split rooms', '-', int(planner.decisions.plannedKinds['consolidate'] ?? 0)],
    ['  to split rooms on purpose', '-', int(planner.decisions.plannedKinds['split'] ?? 0)],
    ['  to balance', '-', int(planner.decisions.plannedKinds['balance'] ?? 0)],
    ['clients moved, most in one hour', int(today.clientsMoved.maxPerHour), int(planner.clientsMoved.maxPerHour)],
    ['clients moved per 1,000 client-hours', dec(today.clientsMoved.perThousandClientHours, 1), dec(planner.clientsMoved.perThousandClientHours, 1)],
    ['Redis deliveries per message', dec(today.fanout.deliveriesPerMessage), dec(planner.fanout.deliveriesPerMessage)],
    ['servers per room (mean)', dec(today.fanout.serversPerRoom, 3), dec(planner.fanout.serversPerRoom, 3)],
    ['rooms split over servers (mean)', int(today.fanout.splitRooms), int(planner.fanout.splitRooms)],
    ['flash room: most servers holding it', int(today.fanout.flashRoomServersMax), int(planner.fanout.flashRoomServersMax)],
    ['Redis deliveries in the run', int(today.fanout.deliveriesPerDay), int(planner.fanout.deliveriesPerDay)],
    ['imbalance: writes/s CV (mean)', dec(today.imbalance.cvMean), dec(planner.imbalance.cvMean)],
    ['imbalance: busiest / mean (p95)', dec(today.imbalance.maxOverMeanP95), dec(planner.imbalance.maxOverMeanP95)],
    ['ticks with all servers within 20%', pct(today.imbalance.within20Share), pct(planner.imbalance.within20Share)],
    ['server-minutes at or past SPAWN_WRITES_PER_SEC', int(today.overload.hotServerMinutes), int(planner.overload.hotServerMinutes)],
    ['server-minutes saturated (queueing)', int(today.overload.saturatedServerMinutes), int(planner.overload.saturatedServerMinutes)],
    ['spawns', int(today.decisions.spawns), int(planner.decisions.spawns)],
    ['drains (scale-down)', int(today.decisions.drains), int(planner.decisions.drains)],
    ['redistribute commands', int(today.decisions.redistributes), int(planner.decisions.redistributes)],
    ['spawns refused (no spare cores / FLEET_MAX)', int(today.decisions.noSpawns), int(planner.decisions.noSpawns)],
    ['decisions per hour, mean', dec(today.decisions.perHourMean, 1), dec(planner.decisions.perHourMean, 1)],
    ['decisions per hour, max', int(today.decisions.perHourMax), int(planner.decisions.perHourMax)],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(8, ...rows.map((r) => r[1].length));
  const w2 = Math.max(8, ...rows.map((r) => r[2].length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(w2)}`;
  const out: string[] = [];
  const t = o.traffic;
  out.push(
    `chatfleet fleet simulator: ${int(t.users)} users at peak, ${int(t.rooms)} rooms (Zipf ${t.zipf}), ${o.hours} h from midnight, ` +
      `a message per user every ${t.messageIntervalS} s (rooms capped at ${t.roomRateCap}/s), sessions of ${t.sessionMinutes} min` +
      (t.flash === undefined ? '' : `, a flash crowd of ${int(t.flash.members)} in room r${t.flash.rank} at ${t.flash.atHour} h`) +
      `; SPAWN_WRITES_PER_SEC ${int(o.policy.spawnWritesPerSec)}, ${o.world.hosts} hosts x ${o.world.coresPerHost} cores` +
      (o.world.busyHost === undefined ? '' : `, host h1 busy with other programs ${o.world.busyHost[0]}-${o.world.busyHost[1]} h`) +
      `; traffic step ${o.stepSeconds} s, control loop every ${o.tickSeconds} s; seed ${o.seed}`,
  );
  out.push(`peak online ${int(report.peakOnline)}, ${int(report.messagesPerDay)} messages per day; ran in ${dec(report.wallMs / 1000, 1)} s`);
  out.push('');
  out.push(line('', "today's policy", 'room-aware planner'));
  for (const [a, b, c] of rows) out.push(line(a, b, c));
  out.push('');
  out.push('servers used, hour by hour (mean), and Redis deliveries per message:');
  out.push(`${'hour'.padEnd(5)} ${'today'.padStart(7)} ${'planner'.padStart(8)}   ${'today'.padStart(6)} ${'planner'.padStart(8)}`);
  for (let i = 0; i < today.hourly.length; i++) {
    const a = today.hourly[i]!;
    const b = planner.hourly[i];
    out.push(
      `${String(a.hour).padStart(2, '0')}:00 ${dec(a.servers, 1).padStart(7)} ${dec(b?.servers ?? 0, 1).padStart(8)}   ` +
        `${dec(a.deliveriesPerMessage).padStart(6)} ${dec(b?.deliveriesPerMessage ?? 0).padStart(8)}`,
    );
  }
  return out.join('\n');
}
