// Smoke run of the bench (`--quick`): every target comes out of every default scenario with its figures, and chatfleet's ratios to the others.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Record {
  kind: string;
  scenario: string;
  target: string;
  status: string;
  note?: string;
  [figure: string]: unknown;
}

describe('bench --quick', () => {
  it('measures deliveries, latency, loss, CPU and idle memory for chatfleet, Socket.IO and the bare broadcast', async () => {
    const { stdout } = await run(process.execPath, [main, '--quick', '--json', '--no-save'], {
      timeout: 100_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { records: Record[]; ratios: Record[]; writeFloor?: { usPerWrite?: number } };
    expect(result.writeFloor?.usPerWrite).toBeGreaterThan(0);

    for (const target of ['chatfleet', 'socketio', 'bare']) {
      for (const scenario of ['single', 'dual']) {
        const step = result.records.find((r) => r.kind === 'step' && r.target === target && r.scenario === scenario);
        expect(step, `${target} ${scenario}`).toBeDefined();
        expect(['ok', 'behind', 'loss'], `${target} ${scenario}: ${step?.note ?? ''}`).toContain(step?.status);
        expect(step?.deliveriesPerSec).toBeGreaterThan(0);
        expect(step?.lost).toBeTypeOf('number');
        expect(step?.p50Ms).toBeGreaterThan(0);
        expect(step?.p99Ms).toBeGreaterThanOrEqual(step?.p50Ms as number);
        expect(step?.serverUsPerDelivery).toBeGreaterThan(0);
        expect(step?.driverCpuPct).toBeGreaterThan(0);
      }
      const idle = result.records.find((r) => r.kind === 'idle' && r.target === target);
      expect(idle?.status, `${target} idle: ${idle?.note ?? ''}`).toBe('ok');
      expect(idle?.bytesPerConnection).toBeTypeOf('number');
      expect(idle?.plainBytesPerConnection).toBeTypeOf('number');
    }
    const chatfleet = result.records.find((r) => r.kind === 'step' && r.target === 'chatfleet');
    expect(chatfleet?.writeFloorMultiple).toBeGreaterThan(0);
    for (const against of ['socketio', 'bare']) {
      expect(result.ratios.filter((r) => r.scenario !== 'idle' && r.against === against), against).toHaveLength(2);
      expect(result.ratios.find((r) => r.scenario === 'idle' && r.against === against), against).toBeDefined();
    }
  }, 120_000);
});
