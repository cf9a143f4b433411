// The bench's output: the table on screen, the chatfleet / Socket.IO ratios, and the JSON lines kept in bench/results/.
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { IdleRecord, StepRecord } from './scenarios.js';

export type BenchRecord = StepRecord | IdleRecord;

export interface Machine {
  cores: number;
  cpu: string;
  node: string;
}

/** chatfleet's figure divided by Socket.IO's for one step (or the idle scenario). */
export interface RatioRecord {
  kind: 'ratio';
  scenario: string;
  rate?: number;
  deliveriesPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  serverUsPerDelivery?: number;
  redisUsPerDelivery?: number;
  driverCpuPct?: number;
  bytesPerConnection?: number;
  heapBytesPerConnection?: number;
}

export function machine(): Machine {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** Pairs chatfleet and Socket.IO records of the same step and divides their figures. */
export function ratios(records: readonly BenchRecord[]): RatioRecord[] {
  const out: RatioRecord[] = [];
  for (const cf of records) {
    if (cf.target !== 'chatfleet') continue;
    if (cf.kind === 'idle') {
      const sio = records.find((r): r is IdleRecord => r.kind === 'idle' && r.target === 'socketio');
      if (sio !== undefined) {
        out.push({
          kind: 'ratio',
          scenario: 'idle',
          bytesPerConnection: ratio(cf.bytesPerConnection, sio.bytesPerConnection),
          heapBytesPerConnection: ratio(cf.heapBytesPerConnection, sio.heapBytesPerConnection),
        });
      }
      continue;
    }
    const sio = records.find(
      (r): r is StepRecord => r.kind === 'step' && r.target === 'socketio' && r.scenario === cf.scenario && r.rate === cf.rate,
    );
    if (sio === undefined) continue;
    out.push({
      kind: 'ratio',
      scenario: cf.scenario,
      rate: cf.rate,
      deliveriesPerSec: ratio(cf.deliveriesPerSec, sio.deliveriesPerSec),
      p50Ms: ratio(cf.p50Ms, sio.p50Ms),
      p99Ms: ratio(cf.p99Ms, sio.p99Ms),
      serverUsPerDelivery: ratio(cf.serverUsPerDelivery, sio.serverUsPerDelivery),
      redisUsPerDelivery: ratio(cf.redisUsPerDelivery, sio.redisUsPerDelivery),
      driverCpuPct: ratio(cf.driverCpuPct, sio.driverCpuPct),
    });
  }
  return out;
}

function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 10_000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function x(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(2)}x`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The table people read: one row per target and step, a ratio row under each pair. */
export function formatTable(records: readonly BenchRecord[], when: Date, host: Machine): string {
  const steps = records.filter((r): r is StepRecord => r.kind === 'step');
  const idle = records.filter((r): r is IdleRecord => r.kind === 'idle');
  const pairRatios = ratios(records);
  const out: string[] = [`chatfleet bench ${when.toISOString()} - ${host.cores} cores, ${host.cpu}, node ${host.node}`, ''];
  if (steps.length > 0) {
    const rows: string[][] = [];
    let last = '';
    for (const r of steps) {
      const key = `${r.scenario}@${r.rate}`;
      if (key !== last && last !== '') {
        const [scenario, rate] = last.split('@');
        const q = pairRatios.find((p) => p.scenario === scenario && String(p.rate) === rate);
        if (q !== undefined) {
          rows.push(['', '', 'cf/sio', x(q.deliveriesPerSec), x(q.p50Ms), x(q.p99Ms), '', '', x(q.serverUsPerDelivery), x(q.redisUsPerDelivery), x(q.driverCpuPct), '', '', '']);
        }
      }
      last = key;
      rows.push([
        `${r.scenario} (${r.servers} srv, ${r.clients} cl, ${r.rooms} rooms)`,
        `${r.rate}`,
        r.target,
        r.deliveriesPerSec === undefined ? '-' : Math.round(r.deliveriesPerSec).toLocaleString('en-US'),
        fmt(r.p50Ms, 2),
        fmt(r.p99Ms, 2),
        fmt(r.maxMs, 1),
        r.lost === undefined ? '-' : String(r.lost),
        fmt(r.serverUsPerDelivery, 2),
        fmt(r.redisUsPerDelivery, 2),
        fmt(r.driverCpuPct, 0),
        fmt(r.serverRssMb, 0),
        fmt(r.otherCpuPct, 0),
        r.status + (r.note !== undefined && r.status !== 'ok' ? `: ${r.note.slice(0, 80)}` : ''),
      ]);
    }
    if (last !== '') {
      const [scenario, rate] = last.split('@');
      const q = pairRatios.find((p) => p.scenario === scenario && String(p.rate) === rate);
      if (q !== undefined) {
        rows.push(['', '', 'cf/sio', x(q.deliveriesPerSec), x(q.p50Ms), x(q.p99Ms), '', '', x(q.serverUsPerDelivery), x(q.redisUsPerDelivery), x(q.driverCpuPct), '', '', '']);
      }
    }
    out.push(
      table(
        ['scenario', 'msgs/s', 'target', 'deliv/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'srv us/dlv', 'redis us/dlv', 'driver %cpu', 'srv RSS MB', 'other %cpu', 'status'],
        rows,
      ),
    );
  }
  if (idle.length > 0) {
    const rows = idle.map((r) => [
      `idle (${r.rooms} rooms)`,
      String(r.connections),
      r.target,
      fmt(r.rssBeforeMb, 1),
      fmt(r.rssAfterMb, 1),
      fmt(r.bytesPerConnection, 0),
      fmt(r.heapBytesPerConnection, 0),
      r.status + (r.note !== undefined ? `: ${r.note.slice(0, 80)}` : ''),
    ]);
    const q = pairRatios.find((p) => p.scenario === 'idle');
    if (q !== undefined) rows.push(['', '', 'cf/sio', '', '', x(q.bytesPerConnection), x(q.heapBytesPerConnection), '']);
    out.push('', table(['scenario', 'conns', 'target', 'RSS before MB', 'RSS after MB', 'RSS B/conn', 'heap B/conn', 'status'], rows));
  }
  return out.join('\n');
}

/** Appends one JSON line per record (and per ratio) to bench/results/<date>.jsonl; returns the file. */
export function appendResults(records: readonly BenchRecord[], when: Date, host: Machine, options: Record<string, unknown>): string {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${when.toISOString().slice(0, 10)}.jsonl`;
  const run = when.toISOString();
  const lines = [...records, ...ratios(records)].map((record) => JSON.stringify({ run, machine: host, options, ...record }));
  appendFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
