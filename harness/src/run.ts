// One harness run: ramp users up, let them chat for the duration, settle, close, and report.
import type { HarnessArgs } from './args.js';
import { Bot, type BotContext } from './bot.js';
import { formatProgress, isClean, reportConfig, type HarnessReport } from './report.js';
import { assignRooms, predictedWritesBySizes, predictedWritesPerSec, randomInterval, roomName, roomSizes } from './scenarios.js';
import { Ledger, RateCounter } from './stats.js';
import { TimerWheel } from './timer-wheel.js';

export interface RunIo {
  /** Where the progress line goes. */
  progress: { write(text: string): unknown; isTTY?: boolean };
  /** Ends the sending phase early when it fires (Ctrl-C). */
  stopSignal?: AbortSignal;
}

const TICK_MS = 10;
const SETTLE_POLL_MS = 100;
const MIN_SETTLE_MS = 500;
// Users started per ramp tick when there is no stagger, so that 5,000 starts do not block the loop at once.
const BURST_PER_TICK = 250;

/** Runs the harness against a fleet and returns the report; never throws for fleet trouble, only counts it. */
export async function runHarness(args: HarnessArgs, io: RunIo): Promise<HarnessReport> {
  const startedAt = performance.now();
  const cpuStart = process.cpuUsage();
  const sizes = roomSizes(args.users, args.rooms, args.zipf);
  const userRoom = assignRooms(sizes);
  const ledger = new Ledger(userRoom, args.rooms);
  const roomNames = sizes.map((_, i) => roomName(args.roomPrefix, i));
  const runTag = Math.floor(Math.random() * 36 ** 5).toString(36);
  const bots: Bot[] = [];
  let connected = 0;
  let phase: 'sending' | 'settling' = 'sending';
  const sentRate = new RateCounter(startedAt);
  const receiptRate = new RateCounter(startedAt);

  // Rate marks: the moment every user had registered once, and the end of sending.
  let steadyAt: number | undefined;
  let steadyReceipts = 0;
  let steadyCpu: NodeJS.CpuUsage | undefined;
  let registeredUsers = 0;

  const wheel = new TimerWheel({
    tickMs: TICK_MS,
    spanMs: Math.max(args.intervalMaxMs, 1_000),
    onDue: (index) => bots[index]?.turn(),
  });

  const context: BotContext = {
    ledger,
    balancer: args.urls,
    userPrefix: `h${runTag}-`,
    reconnectDelayMs: args.reconnectDelayMs,
    scheduleSend: (index, first) => {
      const interval = randomInterval(args.intervalMinMs, args.intervalMaxMs);
      // A user's first turn comes at a random point of an interval, so the send rate is steady from the start
      // instead of arriving in a wave one interval after the ramp.
      // The wheel fires up to one tick late; half a tick early on average keeps the mean interval true.
      const delay = first ? Math.floor(Math.random() * interval) : interval - TICK_MS / 2;
      wheel.schedule(index, delay);
    },
    sending: () => phase === 'sending',
    firstRegistered: () => {
      registeredUsers++;
      if (registeredUsers === args.users) {
        steadyAt = performance.now();
        steadyReceipts = ledger.receipts;
        steadyCpu = process.cpuUsage();
      }
    },
    connectedChanged: (delta) => {
      connected += delta;
    },
    now: () => performance.now(),
    users: args.users,
    directShare: args.directShare,
    breakBeforeMake: args.breakBeforeMake,
  };

  wheel.start();

  // The ramp: user i starts about i * stagger ms after the start.
  let started = 0;
  const ramp = setInterval(() => {
    const elapsed = performance.now() - startedAt;
    const due = args.staggerMs === 0 ? args.users : Math.min(args.users, Math.floor(elapsed / args.staggerMs) + 1);
    const until = Math.min(due, started + (args.staggerMs === 0 ? BURST_PER_TICK : args.users));
    while (started < until) {
      const index = started++;
      const bot = new Bot(index, roomNames[userRoom[index] as number] as string, context);
      bots.push(bot);
      bot.start();
    }
    if (started >= args.users) clearInterval(ramp);
  }, TICK_MS);

  const progressTimer = setInterval(() => {
    const now = performance.now();
    const sendsNow = ledger.sends;
    sentRate.add(sendsNow - sentRate.total);
    receiptRate.add(ledger.receipts - receiptRate.total);
    const line = formatProgress({
      elapsedS: (now - startedAt) / 1000,
      connected,
      users: args.users,
      sentPerSec: sentRate.rate(now),
      deliveriesPerSec: receiptRate.rate(now),
      p99Ms: ledger.latency.totalCount === 0 ? 0 : ledger.latency.getValueAtPercentile(99) / 1000,
      recentP99Ms: ledger.recentLatency.totalCount === 0 ? 0 : ledger.recentLatency.getValueAtPercentile(99) / 1000,
      reconnects: bots.reduce((n, bot) => n + bot.client.stats.reconnects, 0),
      phase,
    });
    ledger.recentLatency.reset();
    io.progress.write(io.progress.isTTY === true ? `\r\x1b[2K${line}` : `${line}\n`);
  }, 1_000);

  // Sending phase: until the duration is over or the stop signal fires.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, args.durationS * 1000);
    io.stopSignal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  phase = 'settling';
  clearInterval(ramp);
  wheel.stop();
  const stoppedAt = performance.now();
  const stoppedReceipts = ledger.receipts;
  const stoppedCpu = process.cpuUsage();
  const firstSendAt = ledger.firstSendAt;

  // Settle: wait for acks and the last deliveries (including users still reconnecting), up to settleS,
  // and at least a moment so that a late duplicate still shows.
  const settleDeadline = stoppedAt + args.settleS * 1000;
  const settleMinimum = stoppedAt + Math.min(args.settleS * 1000, MIN_SETTLE_MS);
  for (;;) {
    await sleep(SETTLE_POLL_MS);
    const pending = bots.reduce((n, bot) => n + bot.client.pendingSends, 0);
    const now = performance.now();
    if (now >= settleDeadline) break;
    if (now >= settleMinimum && pending === 0) {
      const tally = ledger.tally();
      if (tally.lost === 0 && tally.directsLost === 0) break;
    }
  }
  clearInterval(progressTimer);
  if (io.progress.isTTY === true) io.progress.write('\n');

  const tally = ledger.tally();
  await Promise.all(bots.map((bot) => bot.close()));
  const endedAt = performance.now();
  const cpuEnd = process.cpuUsage(cpuStart);

  const windowS = firstSendAt === undefined ? 0 : (stoppedAt - firstSendAt) / 1000;
  const steadyS = steadyAt === undefined ? 0 : (stoppedAt - steadyAt) / 1000;
  const useSteady = steadyAt !== undefined && steadyS >= 1;
  const deliveriesPerSec = useSteady
    ? (stoppedReceipts - steadyReceipts) / steadyS
    : windowS > 0
      ? stoppedReceipts / windowS
      : 0;
  const windowCpuS = useSteady && steadyCpu !== undefined ? cpuSeconds(stoppedCpu) - cpuSeconds(steadyCpu) : cpuSeconds(stoppedCpu) - cpuSeconds(cpuStart);
  const windowCores = useSteady ? windowCpuS / steadyS : windowCpuS / Math.max(0.001, (stoppedAt - startedAt) / 1000);
  const meanIntervalS = (args.intervalMinMs + args.intervalMaxMs) / 2 / 1000;
  const lat = ledger.latency;
  const latencyMs = {
    count: lat.totalCount,
    p50: lat.totalCount === 0 ? 0 : lat.getValueAtPercentile(50) / 1000,
    p90: lat.totalCount === 0 ? 0 : lat.getValueAtPercentile(90) / 1000,
    p99: lat.totalCount === 0 ? 0 : lat.getValueAtPercentile(99) / 1000,
    max: lat.totalCount === 0 ? 0 : lat.maxValue / 1000,
    mean: lat.totalCount === 0 ? 0 : lat.mean / 1000,
  };
  const stats = bots.map((bot) => bot.client.stats);
  return {
    ok: isClean(tally),
    config: reportConfig(args, sizes),
    ...tally,
    skippedTurns: ledger.skippedTurns,
    sendWindowS: windowS,
    messagesPerSec: windowS > 0 ? ledger.sends / windowS : 0,
    deliveriesPerSec,
    latencyMs,
    connects: stats.reduce((n, s) => n + s.connects, 0),
    reconnects: stats.reduce((n, s) => n + s.reconnects, 0),
    redirects: stats.reduce((n, s) => n + s.redirects, 0),
    errors: Object.fromEntries([...ledger.errors.entries()].sort((a, b) => b[1] - a[1])),
    predictedWritesPerSec: predictedWritesPerSec(args.users, meanIntervalS, args.rooms),
    predictedWritesPerSecBySizes: predictedWritesBySizes(sizes, meanIntervalS),
    measuredWritesPerSec: deliveriesPerSec,
    harnessCpu: {
      seconds: cpuSeconds(cpuEnd),
      cores: windowCores,
      coresPer10kDeliveriesPerSec: deliveriesPerSec > 0 ? (windowCores * 10_000) / deliveriesPerSec : null,
    },
    elapsedS: (endedAt - startedAt) / 1000,
  };
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
