// The harness CLI as a real child process against a real fleet: lossless runs, a server killed mid-run, a redistribution mid-run, bad flags.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetBuilt, startFleet, until, type TestFleet } from '../../packages/client/test/support/fleet.js';
import { HARNESS_MAIN, report, runCli, type CliRun } from './support.js';

describe('harness command line', () => {
  it.each([
    [['--users', 'many'], '--users'],
    [['--interval', '400-200'], '--interval'],
    [['--bogus'], '--bogus'],
  ])('rejects %j with exit code 2 naming %s', async (args, flag) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(flag);
  });

  it('rejects a bad environment value with exit code 2 naming the variable', async () => {
    const run = await new Promise<CliRun>((resolve) => {
      const child = spawn(process.execPath, [HARNESS_MAIN], { env: { PATH: process.env.PATH ?? '', CHATTER_COUNT: 'lots' } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', (code) => resolve({ code, stdout: '', stderr }));
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CHATTER_COUNT');
  });
});

const built = fleetBuilt();

describe.skipIf(!built)('harness against a real fleet', () => {
  let fleet: TestFleet;

  beforeAll(async () => {
    fleet = await startFleet({ fleetMin: 2 });
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 30_000);

  const base = (prefix: string) => [
    '--users', '200', '--rooms', '4', '--interval', '200-400', '--stagger', '5',
    '--reconnect-delay', '100', '--settle', '15', '--room-prefix', prefix, '--json',
  ];

  it('delivers every message exactly once: 200 users, 4 rooms, 200-400 ms', async () => {
    const run = await runCli(['--url', fleet.url, ...base('plain-'), '--duration', '4']);
    const r = report(run);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.sent).toBeGreaterThan(1000);
    expect(r.expected).toBeGreaterThan(40_000);
    expect(r.delivered).toBe(r.expected);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.unregisteredUsers).toBe(0);
    expect(r.latencyMs.count).toBeGreaterThanOrEqual(r.delivered);
    expect(r.latencyMs.p99).toBeGreaterThan(0);
    expect(r.predictedWritesPerSec).toBeCloseTo(200 ** 2 / (0.3 * 4), 0);
    expect(r.measuredWritesPerSec).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/users \d+\/200 connected \| \d+ msgs\/s/);
  }, 60_000);

  it('loses nothing when a chat server is killed mid-run: the users come back with since', async () => {
    await fleet.waitReady(2);
    let killedPid: number | undefined;
    const run = await runCli(['--url', fleet.url, ...base('kill-'), '--duration', '7'], async (stderr) => {
      await until(() => /users 200\/200 connected \| [1-9]/.test(stderr()), 'all users connected and sending', 20_000);
      // The balancer's client counts come once a second: wait until a server shows users, then kill it.
      await until(async () => {
        const victim = (await fleet.servers()).find((s) => s.status === 'ready' && s.clients > 0 && typeof s.pid === 'number');
        killedPid = victim?.pid ?? undefined;
        return killedPid !== undefined;
      }, 'a ready server to report clients', 20_000);
      if (killedPid !== undefined) process.kill(killedPid, 'SIGKILL');
    });
    expect(run.duringError).toBeUndefined();
    expect(killedPid).toBeTypeOf('number');
    const r = report(run);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(r.reconnects).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.delivered).toBe(r.expected);
    // The balancer replaces the dead server for the next test.
    await fleet.waitReady(2, 20_000);
  }, 90_000);

  it('loses nothing when clients are redistributed mid-run: they follow the redirect', async () => {
    await fleet.waitReady(2);
    const run = await runCli(['--url', fleet.url, ...base('move-'), '--duration', '6'], async (stderr) => {
      await until(() => /users 200\/200 connected \| [1-9]/.test(stderr()), 'all users connected and sending', 20_000);
      // The balancer's client counts come once a second: wait until they show the users, then move from the fullest server.
      let source: { id: string; clients: number } | undefined;
      await until(async () => {
        source = (await fleet.servers()).filter((s) => s.status === 'ready').sort((a, b) => b.clients - a.clients)[0];
        return (source?.clients ?? 0) >= 40;
      }, 'a server to report 40 clients or more', 20_000);
      const response = await fleet.admin('POST', `/servers/${source?.id}/redistribute`, { count: 40 });
      expect(response.status).toBe(202);
    });
    expect(run.duringError).toBeUndefined();
    const r = report(run);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(r.redirects).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
  }, 90_000);
});
