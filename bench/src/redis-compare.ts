// The Redis scenario: the same room traffic on one Redis and on a 3-master Cluster, and Redis CPU per published message.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { CHAT_FRAME_HEAD, PUBLISH_CHATS_SCRIPT } from '@chatfleet/protocol';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { createClient } from 'redis';
import { startRedisServer } from '@chatfleet/redis-server';
import { startRedisCluster } from '@chatfleet/redis-server/cluster';
import { processCpuMicros } from './proc-stats.js';

const CHAT_SERVER_MAIN = fileURLToPath(new URL('../../apps/chat-server/dist/main.js', import.meta.url));
const SECRET = 'chatfleet-bench-redis-secret';

export interface RedisCompareOptions {
  /** Messages per second the senders offer, one step each. */
  rates: readonly number[];
  /** Rooms the traffic is spread over; each has one member on each of the two chat servers. */
  rooms: number;
  /** Seconds measured per step, after a warm-up. */
  durationS: number;
  warmupS: number;
  log: (line: string) => void;
}

/** One step on one setup. */
export interface RedisCompareStep {
  setup: 'one Redis' | '3-master Cluster';
  offered: number;
  /** Messages acked per second during the step. */
  published: number;
  /** Deliveries per second to the room members. */
  delivered: number;
  /**
   * Redis CPU per acked message, summed over every Redis process, µs: what the
   * messages added over the same processes at rest (cluster gossip, the
   * servers' metrics and probes), measured just before the steps.
   */
  redisMicrosPerMessage: number;
  /** The busiest Redis process's CPU share (1 = one core). */
  busiestRedisCores: number;
  /** Every Redis process's CPU share. */
  redisCores: number[];
  /**
   * Messages per second one Redis process could carry at this cost before it
   * saturates a core (1e6 µs / its share of the µs per message), and what the
   * whole setup would carry with one core per process.
   */
  ceilingPerProcess: number;
  ceilingSetup: number;
}

interface Setup {
  name: RedisCompareStep['setup'];
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

/** Runs every rate on one Redis, then on a Cluster of three masters (no replicas, so only the masters' work is measured). */
export async function runRedisCompare(options: RedisCompareOptions): Promise<RedisCompareStep[]> {
  const steps: RedisCompareStep[] = [];
  const setups: Array<() => Promise<Setup>> = [
    async () => {
      const redis = await startRedisServer();
      return { name: 'one Redis', url: redis.url, pids: [redis.pid], stop: () => redis.stop() };
    },
    async () => {
      const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
      return { name: '3-master Cluster', url: cluster.url, pids: cluster.nodes.map((n) => n.pid), stop: () => cluster.stop() };
    },
  ];
  for (const start of setups) {
    const setup = await start();
    const servers: ChildProcess[] = [];
    try {
      const urls: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { child, url } = await startChatServer(setup.url, `bench-redis-${i}`);
        servers.push(child);
        urls.push(url);
      }
      const members = await joinRooms(urls, options.rooms);
      const idle = await idleCores(setup, options.durationS);
      for (const rate of options.rates) {
        options.log(`redis scenario: ${setup.name}, ${rate} messages/s`);
        steps.push(await measureStep(setup, members, rate, idle, options));
      }
      for (const member of members) member.ws.terminate();
    } finally {
      for (const child of servers) child.kill('SIGTERM');
      await Promise.all(servers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))));
      await setup.stop();
    }
  }
  return steps;
}

function startChatServer(redisUrl: string, id: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(CHAT_SERVER_MAIN, [], {
      env: {
        PATH: process.env['PATH'] ?? '',
        REDIS_URL: redisUrl,
        SERVER_ID: id,
        AUTH_SECRET: SECRET,
        PORT: '0',
        LOG_LEVEL: 'warn',
        RATE_LIMIT: '100000',
        PUBLISH_QUEUE_LIMIT: '1000000',
        HISTORY_LIMIT: '1000',
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => reject(new Error(`chat server ${id} not ready in 20 s`)), 20_000);
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type !== 'ready' || message.url === undefined) return;
      clearTimeout(timer);
      resolve({ child, url: message.url });
    });
    child.once('exit', (code) => reject(new Error(`chat server ${id} exited with ${code}`)));
  });
}

interface Member {
  ws: WebSocket;
  room: string;
  received: number;
  acked: number;
}

/** One member per room on each server; resolves once every member is registered. */
async function joinRooms(urls: readonly string[], rooms: number): Promise<Member[]> {
  const members: Member[] = [];
  for (let r = 0; r < rooms; r++) {
    for (const [i, url] of urls.entries()) {
      const room = `bench-room-${r}`;
      const token = mintTicket(SECRET, `m${r}-${i}`, Date.now() + 600_000);
      const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
      const member: Member = { ws, room, received: 0, acked: 0 };
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data) => {
          const text = String(data);
          if (text.startsWith('{"type":"welcome"')) ws.send(JSON.stringify({ type: 'register', payload: { chatId: room } }));
          else if (text.startsWith('{"type":"registered"')) resolve();
          else if (text.startsWith('{"type":"chat"')) member.received++;
          else if (text.startsWith('{"type":"ack"')) member.acked++;
        });
      });
      members.push(member);
    }
  }
  return members;
}

/** Each Redis process's CPU share with the fleet connected and no traffic. */
async function idleCores(setup: Setup, seconds: number): Promise<number[]> {
  const cpu0 = setup.pids.map((pid) => processCpuMicros(pid) ?? 0);
  const started = performance.now();
  await sleep(seconds * 1000);
  const elapsedS = (performance.now() - started) / 1000;
  return setup.pids.map((pid, i) => ((processCpuMicros(pid) ?? 0) - cpu0[i]!) / 1e6 / elapsedS);
}

async function measureStep(
  setup: Setup,
  members: Member[],
  rate: number,
  idle: readonly number[],
  options: RedisCompareOptions,
): Promise<RedisCompareStep> {
  const senders = members.filter((_, i) => i % 2 === 0);
  // A tick every 10 ms; each tick sends rate/100 messages, round-robin over the rooms.
  let next = 0;
  let carry = 0;
  const timer = setInterval(() => {
    carry += rate / 100;
    for (; carry >= 1; carry--) {
      const sender = senders[next++ % senders.length]!;
      if (sender.ws.bufferedAmount < 1 << 20) sender.ws.send('{"type":"chat","payload":{"message":"bench redis message 0123456789"}}');
    }
  }, 10);
  try {
    await sleep(options.warmupS * 1000);
    const cpu0 = setup.pids.map((pid) => processCpuMicros(pid) ?? 0);
    const acked0 = sum(members.map((m) => m.acked));
    const received0 = sum(members.map((m) => m.received));
    const started = performance.now();
    await sleep(options.durationS * 1000);
    const elapsedS = (performance.now() - started) / 1000;
    const cpu = setup.pids.map((pid, i) => (processCpuMicros(pid) ?? 0) - cpu0[i]!);
    const acked = sum(members.map((m) => m.acked)) - acked0;
    const received = sum(members.map((m) => m.received)) - received0;
    const cores = cpu.map((micros) => micros / 1e6 / elapsedS);
    const added = cores.map((c, i) => Math.max(0, c - idle[i]!));
    const perMessage = acked === 0 ? 0 : (sum(added) * 1e6 * elapsedS) / acked;
    const busiest = Math.max(...cores);
    // The busiest process spends its share of every message's Redis time; the setup saturates when it reaches a core.
    const busiestShare = sum(added) === 0 ? 1 : Math.max(...added) / sum(added);
    const setupCeiling = perMessage === 0 ? 0 : 1e6 / (perMessage * busiestShare);
    return {
      setup: setup.name,
      offered: rate,
      published: acked / elapsedS,
      delivered: received / elapsedS,
      redisMicrosPerMessage: perMessage,
      busiestRedisCores: busiest,
      redisCores: cores,
      // Messages through one process when it saturates: each costs it the whole µs per message (one shard each).
      ceilingPerProcess: perMessage === 0 ? 0 : 1e6 / perMessage,
      ceilingSetup: setupCeiling,
    };
  } finally {
    clearInterval(timer);
    await sleep(500);
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The scenario's table. */
export function formatRedisCompare(steps: readonly RedisCompareStep[]): string {
  const rows = [
    '| setup | offered msgs/s | acked msgs/s | deliveries/s | Redis µs/msg (all processes) | Redis cores (each process) | one process saturates at | setup saturates at |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of steps) {
    rows.push(
      `| ${s.setup} | ${s.offered} | ${Math.round(s.published)} | ${Math.round(s.delivered)} | ${s.redisMicrosPerMessage.toFixed(1)} | ` +
        `${s.redisCores.map((c) => c.toFixed(2)).join(' / ')} | ${Math.round(s.ceilingPerProcess).toLocaleString('en')} msgs/s | ${Math.round(s.ceilingSetup).toLocaleString('en')} msgs/s |`,
    );
  }
  return rows.join('\n');
}

/**
 * The per-message script then and now, on Redis alone (no chat servers, so
 * nothing else moves its CPU): the script each message once ran by itself
 * (XADD, PUBLISH, ZINCRBY on the fleet-wide counter), against today's
 * PUBLISH_CHATS (a room's messages of one turn in one call, one publish; the
 * counter moved to the servers' once-a-second metrics write).
 */
export const OLD_PUBLISH_CHAT_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3] .. id .. ARGV[2])
redis.call('ZINCRBY', KEYS[3], 1, ARGV[4])
return id
`;

export interface ScriptCostStep {
  script: 'one call per message (XADD, PUBLISH, ZINCRBY)' | 'PUBLISH_CHATS, a room per turn';
  rooms: number;
  offered: number;
  /** Messages per script call, on average. */
  perCall: number;
  redisMicrosPerMessage: number;
  ceilingPerProcess: number;
}

/**
 * Sends `rate` messages/s for `durationS` over `rooms` rooms (10 ms ticks,
 * round-robin), each room's channel heard by two subscribers (two servers),
 * with each script; Redis CPU per message, minus Redis at rest.
 */
export async function runScriptCost(rates: readonly number[], roomCounts: readonly number[], durationS: number): Promise<ScriptCostStep[]> {
  const redis = await startRedisServer();
  const client = createClient({ url: redis.url });
  const subscribers = [client.duplicate(), client.duplicate()];
  const out: ScriptCostStep[] = [];
  try {
    await client.connect();
    for (const s of subscribers) await s.connect();
    const oldSha = await client.scriptLoad(OLD_PUBLISH_CHAT_SCRIPT);
    const newSha = await client.scriptLoad(PUBLISH_CHATS_SCRIPT);
    const maxRooms = Math.max(...roomCounts);
    for (const s of subscribers) for (let r = 0; r < maxRooms; r++) await s.subscribe(`room:{r${r}}`, () => undefined);
    const tail = ',"chatId":"r","from":"u","message":"bench redis message 0123456789","ts":1}}';
    const rest = await idleMicros(redis.pid, 2);
    for (const rooms of roomCounts) {
      for (const rate of rates) {
        for (const script of ['one call per message (XADD, PUBLISH, ZINCRBY)', 'PUBLISH_CHATS, a room per turn'] as const) {
          let calls = 0;
          let sent = 0;
          let next = 0;
          let carry = 0;
          // Replies are only counted: a failed call is an error of the whole measurement, reported at the end.
          let failure: unknown;
          let inFlight = 0;
          const track = (call: Promise<unknown>): void => {
            inFlight++;
            call.then(
              () => inFlight--,
              (error: unknown) => {
                inFlight--;
                failure ??= error;
              },
            );
          };
          const tick = (): void => {
            carry += rate / 100;
            const byRoom = new Map<number, number>();
            for (; carry >= 1; carry--) {
              const r = next++ % rooms;
              byRoom.set(r, (byRoom.get(r) ?? 0) + 1);
            }
            for (const [r, n] of byRoom) {
              const keys = [`history:{r${r}}`, `room:{r${r}}`];
              if (script.startsWith('one')) {
                for (let i = 0; i < n; i++) {
                  track(client.evalSha(oldSha, { keys: [...keys, 'chat-rooms:cumulative-messages'], arguments: ['1000', tail, CHAT_FRAME_HEAD, `r${r}`] }));
                  calls++;
                }
              } else {
                track(client.evalSha(newSha, { keys, arguments: ['1000', 'PUBLISH', CHAT_FRAME_HEAD, ...new Array<string>(n).fill(tail)] }));
                calls++;
              }
              sent += n;
            }
          };
          const timer = setInterval(tick, 10);
          await sleep(500);
          const cpu0 = processCpuMicros(redis.pid) ?? 0;
          const sent0 = sent;
          const calls0 = calls;
          const started = performance.now();
          await sleep(durationS * 1000);
          const elapsedS = (performance.now() - started) / 1000;
          const used = (processCpuMicros(redis.pid) ?? 0) - cpu0 - rest * elapsedS;
          const messages = sent - sent0;
          clearInterval(timer);
          while (inFlight > 0) await sleep(10);
          if (failure !== undefined) throw failure;
          const perMessage = messages > 0 ? Math.max(0, used) / messages : 0;
          out.push({
            script,
            rooms,
            offered: rate,
            perCall: calls - calls0 > 0 ? messages / (calls - calls0) : 0,
            redisMicrosPerMessage: perMessage,
            ceilingPerProcess: perMessage > 0 ? 1e6 / perMessage : 0,
          });
        }
      }
    }
  } finally {
    for (const s of subscribers) await s.quit().catch(() => undefined);
    await client.quit().catch(() => undefined);
    await redis.stop();
  }
  return out;
}

/** A process's CPU µs per second at rest. */
async function idleMicros(pid: number, seconds: number): Promise<number> {
  const cpu0 = processCpuMicros(pid) ?? 0;
  const started = performance.now();
  await sleep(seconds * 1000);
  return ((processCpuMicros(pid) ?? 0) - cpu0) / ((performance.now() - started) / 1000);
}

/** The script table. */
export function formatScriptCost(steps: readonly ScriptCostStep[]): string {
  const rows = ['| script | rooms | offered msgs/s | messages per call | Redis µs/msg | one Redis saturates at |', '| --- | --- | --- | --- | --- | --- |'];
  for (const s of steps) {
    rows.push(
      `| ${s.script} | ${s.rooms} | ${s.offered} | ${s.perCall.toFixed(1)} | ${s.redisMicrosPerMessage.toFixed(1)} | ${Math.round(s.ceilingPerProcess).toLocaleString('en')} msgs/s |`,
    );
  }
  return rows.join('\n');
}
