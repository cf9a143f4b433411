// The fleet simulator end to end at a tiny size: both policies run a day's slice, the figures hold together, the CLI prints JSON.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSimArgs } from './main.js';
import { formatReport } from './report.js';
import { runSimulation, type SimReport } from './run.js';

const tiny = ['--users', '3000', '--rooms', '60', '--hours', '3', '--flash', '30:1:2000', '--spawn-writes', '2000', '--hosts', '2', '--cores', '4'];

describe('the fleet simulator', () => {
  it('runs both policies over a tiny day and reports figures that hold together', () => {
    const { options } = parseSimArgs(tiny);
    const report = runSimulation(options);
    expect(report.policies.map((p) => p.name)).toEqual(['today', 'planner']);
    for (const p of report.policies) {
      expect(p.hourly).toHaveLength(3);
      expect(p.servers.mean).toBeGreaterThan(0);
      expect(p.servers.max).toBeGreaterThanOrEqual(Math.ceil(p.servers.mean));
      // Every message reaches at least one server; a room on several servers costs more than one delivery.
      expect(p.fanout.deliveriesPerMessage).toBeGreaterThanOrEqual(1);
      expect(p.fanout.serversPerRoom).toBeGreaterThanOrEqual(1);
      // Every move has a cause, and the planner's moves add up by kind.
      const byCause = Object.values(p.decisions.movedBy).reduce((a, b) => a + b, 0);
      expect(p.clientsMoved.total).toBe(byCause);
      expect(Object.values(p.decisions.plannedKinds).reduce((a, b) => a + b, 0)).toBe(p.decisions.movedBy['planned'] ?? 0);
      expect(p.imbalance.within20Share).toBeGreaterThanOrEqual(0);
      expect(p.imbalance.within20Share).toBeLessThanOrEqual(1);
    }
    // The flash crowd (2,000 at 1 h in a 2,000-writes/s world) is a room too big for one server.
    expect(report.policies[1]!.fanout.flashRoomServersMax).toBeGreaterThan(1);
    const text = formatReport(report);
    expect(text).toContain("today's policy");
    expect(text).toContain('Redis deliveries per message');
  });

  it('gives the same figures for the same seed', () => {
    const strip = (r: SimReport) => JSON.stringify(r.policies);
    const { options } = parseSimArgs([...tiny, '--hours', '1', '--seed', '7']);
    expect(strip(runSimulation(options))).toBe(strip(runSimulation(options)));
  });

  it('prints one JSON object with --json, and refuses a bad flag with the usage and exit code 2', () => {
    const main = fileURLToPath(new URL('../../dist/sim/main.js', import.meta.url));
    const ok = spawnSync(process.execPath, [main, ...tiny, '--hours', '1', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(ok.status).toBe(0);
    const report = JSON.parse(ok.stdout) as SimReport;
    expect(report.policies).toHaveLength(2);
    const bad = spawnSync(process.execPath, [main, '--users', 'many'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--users must be a whole number');
    expect(bad.stderr).toContain('usage: npm run simulate');
  });
});
