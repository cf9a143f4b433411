// The end-of-run report: one object (printed as JSON with --json) and its table for people; plus the live progress line.
import type { HarnessArgs } from './args.js';
import type { Tally } from './stats.js';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface HarnessReport extends Tally {
  ok: boolean;
  config: {
    url: string;
    users: number;
    rooms: number;
    roomSizes: number[];
    intervalMs: [number, number];
    staggerMs: number;
    reconnectDelayMs: number;
    durationS: number;
    zipf: number | null;
  };
  /** Send turns skipped because the user was mid-reconnect. */
  skippedTurns: number;
  /** Seconds from the first send until sending stopped. */
  sendWindowS: number;
  /** Messages sent per second over the send window. */
  messagesPerSec: number;
  /** Receipts per second over the steady part of the window (all users in), else the whole window. */
  deliveriesPerSec: number;
  latencyMs: LatencySummary;
  /** Connections that reached `welcome`, over all users. */
  connects: number;
  /** Reconnect attempts scheduled after drops or failed attempts, over all users. */
  reconnects: number;
  /** `redistribute` frames followed, over all users. */
  redirects: number;
  errors: Record<string, number>;
  /** SPEC's u²/(m·r) for even rooms. */
  predictedWritesPerSec: number;
  /** Σ size²/m over the actual room sizes (equals the above for even rooms that divide evenly). */
  predictedWritesPerSecBySizes: number;
  /** What was measured: deliveries/s (each delivery is one socket write on a server). */
  measuredWritesPerSec: number;
  harnessCpu: {
    /** CPU seconds (user + system) of the harness process over the whole run. */
    seconds: number;
    /** Mean cores used over the send window. */
    cores: number;
    /** Cores the harness needs per 10k deliveries/s. */
    coresPer10kDeliveriesPerSec: number | null;
  };
  elapsedS: number;
}

/**
 * True when nothing was lost or duplicated and every user got into its room:
 * exit code 0. A user that never registered could not be checked at all, so
 * it fails the run too.
 */
export function isClean(
  tally: Pick<Tally, 'lost' | 'duplicated' | 'unregisteredUsers'> & Partial<Pick<Tally, 'directsLost' | 'directsDuplicated'>>,
): boolean {
  return (
    tally.lost === 0 &&
    tally.duplicated === 0 &&
    tally.unregisteredUsers === 0 &&
    (tally.directsLost ?? 0) === 0 &&
    (tally.directsDuplicated ?? 0) === 0
  );
}

/** The exit code of a finished run. */
export function exitCode(
  report: Pick<HarnessReport, 'lost' | 'duplicated' | 'unregisteredUsers'> & Partial<Pick<Tally, 'directsLost' | 'directsDuplicated'>>,
): number {
  return isClean(report) ? 0 : 1;
}

function verdict(report: HarnessReport): string {
  if (report.ok) return 'OK: every expected message arrived exactly once';
  const problems: string[] = [];
  if (report.lost > 0) problems.push(`${report.lost} lost`);
  if (report.duplicated > 0) problems.push(`${report.duplicated} duplicated`);
  if (report.directsLost > 0) problems.push(`${report.directsLost} direct messages lost`);
  if (report.directsDuplicated > 0) problems.push(`${report.directsDuplicated} direct messages duplicated`);
  if (report.unregisteredUsers > 0) problems.push(`${report.unregisteredUsers} users never got into their room`);
  return `FAILED: ${problems.join(', ')}`;
}

/** The human-readable table. */
export function formatReport(report: HarnessReport): string {
  const c = report.config;
  const lat = report.latencyMs;
  const errors = Object.entries(report.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['result', verdict(report)],
    ['run', `${c.users} users in ${c.rooms} rooms (${c.zipf === null ? 'even' : `zipf ${c.zipf}`}: ${abbreviate(c.roomSizes)}), interval ${c.intervalMs[0]}-${c.intervalMs[1]} ms, ${fmt(report.elapsedS, 1)} s`],
    ['sent', `${report.sent} (published ${report.published}, unconfirmed ${report.unconfirmed}; ${report.skippedTurns} turns skipped while reconnecting)`],
    ['delivered', `${report.delivered} of ${report.expected} expected`],
    ['lost', String(report.lost)],
    ['duplicated', String(report.duplicated)],
    ...(report.gaps > 0 || report.lostInGaps > 0
      ? [['lost in gaps', `${report.lostInGaps} (history could not fill ${report.gaps} reported gaps: registered.recovered false)`] as [string, string]]
      : []),
    ...(report.lostUnconfirmed > 0
      ? [['lost unconfirmed', `${report.lostUnconfirmed} (refused as unconfirmed by DURABLE_ACKS, seen by some members only)`] as [string, string]]
      : []),
    ...(report.directsSent > 0
      ? [
          [
            'directs',
            `${report.directsSent} sent, ${report.directsDelivered} delivered, ${report.directsLost} lost, ${report.directsDuplicated} duplicated`,
          ] as [string, string],
        ]
      : []),
    ['extra', `${report.extra} (sent before the receiver joined; not required)`],
    ['messages/s', fmt(report.messagesPerSec, 1)],
    ['deliveries/s', fmt(report.deliveriesPerSec, 0)],
    ['latency ms', `p50 ${fmt(lat.p50, 2)}  p90 ${fmt(lat.p90, 2)}  p99 ${fmt(lat.p99, 2)}  max ${fmt(lat.max, 2)}  (${lat.count} receipts)`],
    ['socket writes/s', `predicted u²/(m·r) ${fmt(report.predictedWritesPerSec, 0)} (by room sizes ${fmt(report.predictedWritesPerSecBySizes, 0)}), measured ${fmt(report.measuredWritesPerSec, 0)}`],
    ['connections', `${report.connects} opened, ${report.reconnects} reconnects, ${report.redirects} redirects, ${report.unregisteredUsers} users never registered`],
    ['errors', errors === '' ? 'none' : errors],
    [
      'harness cpu',
      `${fmt(report.harnessCpu.seconds, 2)} s, ${fmt(report.harnessCpu.cores, 2)} cores` +
        (report.harnessCpu.coresPer10kDeliveriesPerSec === null ? '' : `, ${fmt(report.harnessCpu.coresPer10kDeliveriesPerSec, 3)} cores per 10k deliveries/s`),
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** The live progress line. */
export function formatProgress(p: {
  elapsedS: number;
  connected: number;
  users: number;
  sentPerSec: number;
  deliveriesPerSec: number;
  p99Ms: number;
  /** p99 of the last interval only. */
  recentP99Ms: number;
  reconnects: number;
  phase: string;
}): string {
  return (
    `[${fmt(p.elapsedS, 0).padStart(4)} s ${p.phase}] users ${p.connected}/${p.users} connected` +
    ` | ${fmt(p.sentPerSec, 0)} msgs/s | ${fmt(p.deliveriesPerSec, 0)} deliveries/s | p99 ${fmt(p.p99Ms, 1)} ms (last 1 s ${fmt(p.recentP99Ms, 1)}) | reconnects ${p.reconnects}`
  );
}

function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function abbreviate(sizes: number[]): string {
  return sizes.length <= 8 ? sizes.join('/') : `${sizes.slice(0, 6).join('/')}/…/${sizes[sizes.length - 1]}`;
}

/** Builds the report config block from the parsed arguments. */
export function reportConfig(args: HarnessArgs, roomSizes: number[]): HarnessReport['config'] {
  return {
    url: args.url,
    users: args.users,
    rooms: args.rooms,
    roomSizes,
    intervalMs: [args.intervalMinMs, args.intervalMaxMs],
    staggerMs: args.staggerMs,
    reconnectDelayMs: args.reconnectDelayMs,
    durationS: args.durationS,
    zipf: args.zipf ?? null,
  };
}
