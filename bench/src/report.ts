// The bench's output: the table on screen, chatfleet's ratios to Socket.IO and to the bare broadcast, and the JSON lines kept in bench/results/.
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { IdleRecord, StepRecord } from './scenarios.js';
import type { TargetName } from './targets.js';
import type { WriteFloor } from './write-floor.js';

export type BenchRecord = StepRecord | IdleRecord;

export interface Machine {
  cores: number;
  cpu: string;
  node: string;
}

/** chatfleet's figure divided by another target's for one step (or the idle scenario): below 1 is chatfleet cheaper or faster. */
export interface RatioRecord {
  kind: 'ratio';
  scenario: string;
  /** The target chatfleet is divided by: `socketio` (the peer) or `bare` (the floor: a `ws` broadcast with no Redis). */
  against: Exclude<TargetName, 'chatfleet'>;
  rate?: number;
  deliveriesPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  serverUsPerDelivery?: number;
  redisUsPerDelivery?: number;
  driverCpuPct?: number;
  bytesPerConnection?: number;
  plainBytesPerConnection?: number;
  heapBytesPerConnection?: number;
}

export function machine(): Machine {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** Pairs every chatfleet record with the other targets' records of the same step and divides their figures. */
export function ratios(records: readonly BenchRecord[]): RatioRecord[] {
  const out: RatioRecord[] = [];
  for (const cf of records) {
    if (cf.target !== 'chatfleet') continue;
    for (const against of OTHERS) {
      if (cf.kind === 'idle') {
        const peer = records.find((r): r is IdleRecord => r.kind === 'idle' && r.target === against);
        if (peer === undefined) continue;
        out.push({
          kind: 'ratio',
          scenario: 'idle',
          against,
          bytesPerConnection: ratio(cf.bytesPerConnection, peer.bytesPerConnection),
          plainBytesPerConnection: ratio(cf.plainBytesPerConnection, peer.plainBytesPerConnection),
          heapBytesPerConnection: ratio(cf.heapBytesPerConnection, peer.heapBytesPerConnection),
        });
        continue;
      }
      const peer = records.find(
        (r): r is StepRecord => r.kind === 'step' && r.target === against && r.scenario === cf.scenario && r.rate === cf.rate,
      );
      if (peer === undefined) continue;
      out.push({
        kind: 'ratio',
        scenario: cf.scenario,
        against,
        rate: cf.rate,
        deliveriesPerSec: ratio(cf.deliveriesPerSec, peer.deliveriesPerSec),
        p50Ms: ratio(cf.p50Ms, peer.p50Ms),
        p99Ms: ratio(cf.p99Ms, peer.p99Ms),
        serverUsPerDelivery: ratio(cf.serverUsPerDelivery, peer.serverUsPerDelivery),
        redisUsPerDelivery: ratio(cf.redisUsPerDelivery, peer.redisUsPerDelivery),
        driverCpuPct: ratio(cf.driverCpuPct, peer.driverCpuPct),
      });
    }
  }
  return out;
}

const OTHERS = ['socketio', 'bare'] as const;
const SHORT: Record<RatioRecord['against'], string> = { socketio: 'cf/sio', bare: 'cf/bare' };

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

/** The table people read: one row per target and step, ratio rows (chatfleet over each other target) under each group. */
export function formatTable(records: readonly BenchRecord[], when: Date, host: Machine, floor?: WriteFloor): string {
  const steps = records.filter((r): r is StepRecord => r.kind === 'step');
  const idle = records.filter((r): r is IdleRecord => r.kind === 'idle');
  const pairRatios = ratios(records);
  const out: string[] = [`chatfleet bench ${when.toISOString()} - ${host.cores} cores, ${host.cpu}, node ${host.node}`, ''];
  if (floor !== undefined) {
    out.push(`raw write floor: ${floor.usPerWrite.toFixed(2)} us of sender CPU per loopback write() of ${floor.bytes} bytes (${floor.writes} writes over ${floor.sockets} sockets)`, '');
  }
  if (steps.length > 0) {
    const rows: string[][] = [];
    const ratioRows = (key: string): void => {
      const [scenario, rate] = key.split('@');
      for (const q of pairRatios.filter((p) => p.scenario === scenario && String(p.rate) === rate)) {
        rows.push(['', '', SHORT[q.against], x(q.deliveriesPerSec), x(q.p50Ms), x(q.p99Ms), '', '', x(q.serverUsPerDelivery), '', x(q.redisUsPerDelivery), '', x(q.driverCpuPct), '', '', '']);
      }
    };
    let last = '';
    for (const r of steps) {
      const key = `${r.scenario}@${r.rate}`;
      if (key !== last && last !== '') ratioRows(last);
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
        r.writeFloorMultiple === undefined ? '-' : `${r.writeFloorMultiple.toFixed(2)}x`,
        fmt(r.redisUsPerDelivery, 2),
        fmt(r.redisUsPerMessage, 1),
        fmt(r.driverCpuPct, 0),
        fmt(r.serverRssMb, 0),
        fmt(r.otherCpuPct, 0),
        r.status + (r.note !== undefined && r.status !== 'ok' ? `: ${r.note.slice(0, 80)}` : ''),
      ]);
    }
    if (last !== '') ratioRows(last);
    out.push(
      table(
        ['scenario', 'msgs/s', 'target', 'deliv/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'srv us/dlv', 'x floor', 'redis us/dlv', 'redis us/msg', 'driver %cpu', 'srv RSS MB', 'other %cpu', 'status'],
        rows,
      ),
    );
  }
  if (idle.length > 0) {
    const rows = idle.map((r) => [
      `idle (${r.rooms} rooms, ${fmt(r.idleSeconds, 0)} s)`,
      String(r.connections),
      r.target,
      fmt(r.rssBeforeMb, 1),
      fmt(r.rssAfterMb, 1),
      fmt(r.bytesPerConnection, 0),
      fmt(r.plainBytesPerConnection, 0),
      fmt(r.heapBytesPerConnection, 0),
      r.status + (r.note !== undefined ? `: ${r.note.slice(0, 80)}` : ''),
    ]);
    for (const q of pairRatios.filter((p) => p.scenario === 'idle')) {
      rows.push(['', '', SHORT[q.against], '', '', x(q.bytesPerConnection), x(q.plainBytesPerConnection), x(q.heapBytesPerConnection), '']);
    }
    out.push(
      '',
      table(['scenario', 'conns', 'target', 'RSS before MB', 'RSS after GC MB', 'RSS B/conn (GC)', 'RSS B/conn (plain)', 'heap B/conn', 'status'], rows),
    );
  }
  return out.join('\n');
}

/** Appends one JSON line per record (and per ratio) to bench/results/<date>.jsonl; returns the file. */
export function appendResults(
  records: readonly BenchRecord[],
  when: Date,
  host: Machine,
  options: Record<string, unknown>,
  extra: readonly object[] = [],
): string {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${when.toISOString().slice(0, 10)}.jsonl`;
  const run = when.toISOString();
  const lines = [...records, ...ratios(records), ...extra].map((record) => JSON.stringify({ run, machine: host, options, ...record }));
  appendFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
