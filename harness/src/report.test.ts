import { describe, expect, it } from 'vitest';
import { DEFAULTS } from './args.js';
import { exitCode, formatProgress, formatReport, reportConfig, type HarnessReport } from './report.js';

function report(overrides: Partial<HarnessReport> = {}): HarnessReport {
  return {
    ok: true,
    config: reportConfig({ ...DEFAULTS, users: 200, rooms: 4 }, [50, 50, 50, 50]),
    sent: 1000,
    published: 1000,
    unconfirmed: 0,
    delivered: 50_000,
    expected: 50_000,
    lost: 0,
    duplicated: 0,
    extra: 12,
    unregisteredUsers: 0,
    skippedTurns: 0,
    sendWindowS: 3,
    messagesPerSec: 333.3,
    deliveriesPerSec: 16_666,
    latencyMs: { count: 50_012, p50: 1.2, p90: 2.5, p99: 4.75, max: 12, mean: 1.4 },
    connects: 200,
    reconnects: 0,
    redirects: 0,
    errors: {},
    predictedWritesPerSec: 16_666.7,
    predictedWritesPerSecBySizes: 16_666.7,
    measuredWritesPerSec: 16_666,
    harnessCpu: { seconds: 1.5, cores: 0.4, coresPer10kDeliveriesPerSec: 0.24 },
    elapsedS: 4.2,
    ...overrides,
  };
}

describe('exitCode', () => {
  it.each([
    [0, 0, 0, 0],
    [1, 0, 0, 1],
    [0, 2, 0, 1],
    [3, 3, 0, 1],
    [0, 0, 5, 1],
  ])('lost %i, duplicated %i, unregistered users %i -> exit %i', (lost, duplicated, unregisteredUsers, code) => {
    expect(exitCode({ lost, duplicated, unregisteredUsers })).toBe(code);
  });
});

describe('formatReport', () => {
  it('shows every figure SPEC section 6 asks for', () => {
    const text = formatReport(report({ errors: { rate_limited: 3, 'send:send_timeout': 1 } }));
    for (const needle of [
      'OK',
      'sent',
      '1000',
      'delivered',
      '50000 of 50000 expected',
      'lost',
      'duplicated',
      'deliveries/s',
      'p50 1.20',
      'p90 2.50',
      'p99 4.75',
      'max 12.00',
      'reconnects',
      'redirects',
      'predicted u²/(m·r) 16667',
      'measured 16666',
      'rate_limited 3',
      'send:send_timeout 1',
      '0.240 cores per 10k deliveries/s',
    ]) {
      expect(text).toContain(needle);
    }
  });

  it('says FAILED and why when something was lost or a user never got in', () => {
    expect(formatReport(report({ ok: false, lost: 3 }))).toContain('FAILED: 3 lost');
    expect(formatReport(report({ ok: false, unregisteredUsers: 2 }))).toContain('FAILED: 2 users never got into their room');
  });

  it('round-trips through JSON as one object', () => {
    const value = report();
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  });
});

describe('formatProgress', () => {
  it('names connected users, msgs/s and p99', () => {
    const line = formatProgress({ elapsedS: 12, connected: 198, users: 200, sentPerSec: 667, deliveriesPerSec: 33_350, p99Ms: 4.12, recentP99Ms: 3.5, reconnects: 2, phase: 'sending' });
    expect(line).toContain('198/200 connected');
    expect(line).toContain('667 msgs/s');
    expect(line).toContain('p99 4.1 ms');
  });
});
