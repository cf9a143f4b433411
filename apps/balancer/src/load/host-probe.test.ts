// The host probe on the real /proc: it sees the machine's cores and tells a busy child of the fleet from other programs.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HostProbe } from './host-probe.js';

describe('HostProbe', () => {
  it('measures cores, busy share and the CPU of a busy fleet process over the window', async () => {
    // A child that spins for a while: the fleet's "chat server" for this test.
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 5000; while (Date.now() < end) {}'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const probe = new HostProbe({ hostId: 'test-host', windowMs: 300 });
      expect(await probe.sample([child.pid!])).toBeUndefined(); // the first sample has nothing to compare with
      // Wait for the spin to show: a window of at least 300 ms.
      let figures = await probe.sample([child.pid!]);
      const deadline = Date.now() + 4000;
      while ((figures === undefined || figures.windowMs < 300) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        figures = await probe.sample([child.pid!]);
      }
      expect(figures).toBeDefined();
      const f = figures!;
      expect(f.hostId).toBe('test-host');
      expect(f.cores).toBeGreaterThanOrEqual(1);
      expect(f.windowMs).toBeGreaterThanOrEqual(300);
      expect(f.busyShare).toBeGreaterThan(0);
      expect(f.busyShare).toBeLessThanOrEqual(1);
      // The spinning child is one of the fleet's processes: its core shows up as the fleet's, not others'.
      expect(f.processCores.get(child.pid!)).toBeGreaterThan(0.05);
      expect(f.fleetShare * f.cores).toBeGreaterThanOrEqual(f.processCores.get(child.pid!)! - 1e-9);
      expect(f.othersShare).toBeCloseTo(f.busyShare - f.fleetShare);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
