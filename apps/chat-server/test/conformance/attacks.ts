// The abuse drivers of the conformance suite: fragment floods, refused upgrades, slow and split handshakes, quick connects and resets, each measured in memory and file descriptors.
import { frame, RawClient, upgradeRequest } from './raw-client.js';
import { openSession, pause } from './session.js';
import { retained, type Memory, type Target } from './targets.js';

/** Runs `task` for 0..n-1 with at most `parallel` at a time. */
export async function inBatches<T>(n: number, parallel: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/** Polls `check` every 20 ms until it holds or `ms` pass; returns whether it held (for figures that settle, not for assertions about time). */
export async function settle(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await pause(20);
  }
}

/**
 * Memory once the server has finished what it still had in flight (a closed
 * connection's Redis clean-up, say): probes until retained memory is back
 * within `slack` of `before`, or `ms` pass, and returns the last probe.
 */
export async function settledMemory(target: Target, before: Memory, slack: number, ms: number): Promise<Memory> {
  const deadline = performance.now() + ms;
  for (;;) {
    const now = await target.memory();
    if (retained(now) - retained(before) < slack || performance.now() > deadline) return now;
    await pause(200);
  }
}

/**
 * Retained growth a server may keep once settled: the code V8 compiles for paths an attack runs for
 * the first time, and its caches, move the heap by up to about 1 MiB (a server flooded six times in
 * a row stays within 0.4 MiB of where it started). 2 MiB over 2,000 connections still catches a
 * leak of 1 KiB per connection.
 */
export const MEMORY_SLACK = 2 * 1048576;

export interface FloodReport {
  kind: 'empty' | 'tiny';
  connections: number;
  /** Frames per connection at the held point, and the cap on frames sent per connection. */
  heldFrames: number;
  maxFrames: number;
  /** Retained memory (heap + Buffers after GC) growth per connection while `heldFrames` fragments of one message were pending. */
  heldBytesPerConnection: number;
  /** Peak RSS (sampled every 10 ms, no GC) over what it was just before the flood, while it ran to its end, bytes. */
  peakRssGrowth: number;
  /** Retained memory once every flooding connection was closed, against before they connected. */
  afterGrowth: number;
  /** Close codes the server sent, by code. */
  closes: Record<string, number>;
  /** Bytes the clients wrote in all. */
  bytesSent: number;
}

/**
 * A message that never ends: a text frame without FIN, then continuation
 * frames without FIN, empty (6 bytes each on the wire) or of one byte, on
 * `connections` connections at once. First `heldFrames` frames each, then
 * the memory the server holds for them; then on until the server closes the
 * connection or `maxFrames` were sent.
 */
export async function fragmentFlood(
  target: Target,
  kind: 'empty' | 'tiny',
  options: { connections: number; heldFrames: number; maxFrames: number },
): Promise<FloodReport> {
  const before = await target.memory();
  const clients = await inBatches(options.connections, 25, (i) => openSession(target, `flood-${kind}-${i}`));
  const connected = await target.memory();
  const body = kind === 'empty' ? '' : 'x';
  const piece = frame(0, body, { fin: false });
  const batch = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, () => piece));
  const held = Buffer.concat([frame(1, body, { fin: false }), batch(options.heldFrames - 1), frame(9, 'held')]);
  // RSS as the process shows it (no GC) from just before the flood to its end.
  const baseRss = target.rss();
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, target.rss());
  }, 10);
  let bytesSent = 0;
  await Promise.all(
    clients.map(async (client) => {
      await client.write(held);
      bytesSent += held.length;
      // The pong says every frame before the ping was read.
      await client.until(() => client.serverClosed || client.frames.some((f) => f.opcode === 10), 15_000);
    }),
  );
  const holding = await target.memory();
  const chunk = batch(2048);
  await Promise.all(
    clients.map(async (client) => {
      for (let sent = options.heldFrames; sent < options.maxFrames && !client.serverClosed; sent += 2048) {
        await client.write(chunk);
        bytesSent += chunk.length;
      }
      await client.until(() => client.serverClosed, 10_000);
    }),
  );
  clearInterval(sampler);
  peakRss = Math.max(peakRss, target.rss());
  const closes: Record<string, number> = {};
  for (const client of clients) {
    const key = String(client.closeFrame?.code ?? (client.serverClosed ? 'none' : 'open'));
    closes[key] = (closes[key] ?? 0) + 1;
    client.destroy();
  }
  await settle(() => target.fds() <= before.fds + 2, 5000);
  const after = await settledMemory(target, before, MEMORY_SLACK, 5000);
  return {
    kind,
    connections: options.connections,
    heldFrames: options.heldFrames,
    maxFrames: options.maxFrames,
    heldBytesPerConnection: Math.round((retained(holding) - retained(connected)) / options.connections),
    peakRssGrowth: peakRss - baseRss,
    afterGrowth: retained(after) - retained(before),
    closes,
    bytesSent,
  };
}

export interface RefusalReport {
  refusals: number;
  /** Statuses answered, by status. */
  statuses: Record<string, number>;
  /** Refused clients that saw the server's FIN (they never closed their side). */
  finned: number;
  /** File descriptors the server process held over its baseline once every refusal was answered, the clients still connected. */
  fdsHeld: number;
}

/** The refused upgrades, in turn: no ticket (401), a malformed key (400), a POST (405), an Origin not allowed (403). */
const REFUSALS: Array<{ status: number; request: (target: Target, i: number) => string }> = [
  { status: 401, request: (t) => upgradeRequest(`127.0.0.1:${t.port}`, '/') },
  { status: 400, request: (t, i) => upgradeRequest(`127.0.0.1:${t.port}`, t.path(`refused-${i}`), { 'Sec-WebSocket-Key': 'c2hvcnQ=' }) },
  { status: 405, request: (t, i) => upgradeRequest(`127.0.0.1:${t.port}`, t.path(`refused-${i}`), {}, 'POST') },
  { status: 403, request: (t, i) => upgradeRequest(`127.0.0.1:${t.port}`, t.path(`refused-${i}`), { Origin: 'https://evil.example' }) },
];

/**
 * `n` refused upgrades whose clients keep their side open (no FIN, no
 * reset): a server that only ends its side keeps a file descriptor for each
 * as long as they stay. `plain` sends plain HTTP requests (426) instead.
 */
export async function refusedUpgrades(target: Target, n: number, plain = false): Promise<RefusalReport> {
  const baseFds = target.fds();
  const statuses: Record<string, number> = {};
  const clients = await inBatches(n, 20, async (i) => {
    const client = new RawClient(target.port);
    await client.ready();
    const request = plain ? `GET / HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n\r\n` : REFUSALS[i % REFUSALS.length]!.request(target, i);
    await client.write(request);
    await client.until(() => client.head !== undefined && client.serverClosed, 3000);
    statuses[String(client.status)] = (statuses[String(client.status)] ?? 0) + 1;
    return client;
  });
  // The server closes (or does not) as it answers; give it a moment to let go of what it will.
  await settle(() => target.fds() <= baseFds, 1000);
  const fdsHeld = Math.max(0, target.fds() - baseFds);
  const finned = clients.filter((c) => c.endedAt !== undefined).length;
  for (const client of clients) client.destroy();
  await settle(() => target.fds() <= baseFds, 3000);
  return { refusals: n, statuses, finned, fdsHeld };
}

export interface SlowReport {
  slow: number;
  silent: number;
  /** Connections the server cut within the window, and what it answered them. */
  cut: number;
  statuses: Record<string, number>;
  /** ms from connect to the server's close, for those cut. */
  cutAfterMs: number[];
  windowMs: number;
}

/**
 * Slowloris: `slow` connections dribble an upgrade request one byte every
 * 100 ms (never complete in the window), `silent` ones send nothing. Counts
 * those the server cuts within `windowMs`.
 */
export async function slowHandshakes(target: Target, slow: number, silent: number, windowMs: number): Promise<SlowReport> {
  const request = upgradeRequest(`127.0.0.1:${target.port}`, target.path('slowloris'), { 'X-Padding': 'p'.repeat(400) });
  const clients: Array<{ client: RawClient; openedAt: number }> = [];
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < slow + silent; i++) {
    const client = new RawClient(target.port);
    await client.ready();
    const openedAt = performance.now();
    clients.push({ client, openedAt });
    if (i < slow) {
      let at = 0;
      const timer = setInterval(() => {
        if (client.serverClosed || at >= request.length) return;
        void client.write(request.slice(at, at + 1));
        at += 1;
      }, 100);
      timers.push(timer);
    }
  }
  await settle(() => clients.every(({ client }) => client.serverClosed), windowMs);
  for (const timer of timers) clearInterval(timer);
  const statuses: Record<string, number> = {};
  const cutAfterMs: number[] = [];
  let cut = 0;
  for (const { client, openedAt } of clients) {
    if (client.serverClosed) {
      cut += 1;
      cutAfterMs.push(Math.round((client.endedAt ?? client.closedAt ?? performance.now()) - openedAt));
      statuses[String(client.status)] = (statuses[String(client.status)] ?? 0) + 1;
    }
    client.destroy();
  }
  return { slow, silent, cut, statuses, cutAfterMs, windowMs };
}

/** Upgrade requests written in pieces: byte by byte, and in three parts 100 ms apart. Returns the statuses. */
export async function splitHandshakes(target: Target, n: number): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  await inBatches(n, 10, async (i) => {
    const client = new RawClient(target.port);
    await client.ready();
    const request = Buffer.from(upgradeRequest(`127.0.0.1:${target.port}`, target.path(`split-${i}`)));
    if (i % 2 === 0) {
      for (let at = 0; at < request.length; at++) {
        await client.write(request.subarray(at, at + 1));
        await new Promise((resolve) => setImmediate(resolve));
      }
    } else {
      const third = Math.ceil(request.length / 3);
      for (let at = 0; at < request.length; at += third) {
        await client.write(request.subarray(at, at + third));
        await pause(100);
      }
    }
    await client.until(() => client.head !== undefined || client.serverClosed, 5000);
    statuses[String(client.status)] = (statuses[String(client.status)] ?? 0) + 1;
    client.destroy();
  });
  return statuses;
}

export interface QuickReport {
  connects: number;
  opened: number;
  ms: number;
  fdsBefore: number;
  fdsAfter: number;
  retainedGrowth: number;
}

/** `n` connections that upgrade and leave at once, half with a close frame, half by cutting TCP. */
export async function quickConnects(target: Target, n: number, parallel: number): Promise<QuickReport> {
  const before = await target.memory();
  const started = performance.now();
  const opened = await inBatches(n, parallel, async (i) => {
    const client = new RawClient(target.port);
    try {
      await client.ready();
      await client.write(upgradeRequest(`127.0.0.1:${target.port}`, target.path(`quick-${i}`)));
      await client.until(() => client.head !== undefined || client.serverClosed, 10_000);
      if (client.status !== 101) return 0;
      if (i % 2 === 0) {
        await client.write(frame(8, Buffer.from([0x03, 0xe8])));
        await client.until(() => client.serverClosed, 5000);
      }
      return 1;
    } finally {
      client.destroy();
    }
  });
  const ms = Math.round(performance.now() - started);
  await settle(() => target.fds() <= before.fds + 2, 10_000);
  const after = await settledMemory(target, before, MEMORY_SLACK, 5000);
  return {
    connects: n,
    opened: opened.reduce((a: number, b) => a + b, 0),
    ms,
    fdsBefore: before.fds,
    fdsAfter: after.fds,
    retainedGrowth: retained(after) - retained(before),
  };
}

export interface ResetReport {
  resets: number;
  fdsBefore: number;
  fdsAfter: number;
  retainedGrowth: number;
}

/** `n` connections reset (RST) in the middle of a frame: in a header, in a payload, in a fragmented message. */
export async function midFrameResets(target: Target, n: number): Promise<ResetReport> {
  const before = await target.memory();
  const partial = [
    frame(1, 'x'.repeat(1000)).subarray(0, 1),
    frame(1, 'x'.repeat(1000)).subarray(0, 600),
    Buffer.concat([frame(1, 'ab', { fin: false }), frame(0, 'cd', { fin: false }), frame(0, 'x'.repeat(300)).subarray(0, 100)]),
    frame(2, Buffer.alloc(60_000, 7)).subarray(0, 30_000),
  ];
  await inBatches(n, 20, async (i) => {
    const client = await openSession(target, `reset-${i}`);
    await client.write(partial[i % partial.length]!);
    client.socket.resetAndDestroy();
  });
  await settle(() => target.fds() <= before.fds + 2, 10_000);
  const after = await settledMemory(target, before, MEMORY_SLACK, 5000);
  return { resets: n, fdsBefore: before.fds, fdsAfter: after.fds, retainedGrowth: retained(after) - retained(before) };
}

/** Memory as the report shows it. */
export function describeMemory(memory: Memory): string {
  return `${(retained(memory) / 1048576).toFixed(1)} MiB retained, ${(memory.rss / 1048576).toFixed(1)} MiB RSS, ${memory.fds} fds`;
}
