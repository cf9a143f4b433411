// One load-driver process of the c100k scenario, forked by the bench: its share of the connections, each provisioned
// through the balancer from its own loopback source address, registered in a room; one member per room chats; a
// dropped connection provisions again and resumes with `since`. It answers the bench's commands over IPC.
import { Agent, get as httpGet, type AgentOptions } from 'node:http';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';

/** What the bench tells a driver when it forks it (argv[2], JSON). */
export interface DriverSetup {
  /** The balancer's base URL, `http://host:port`. */
  balancer: string;
  /** Source address of every websocket of this driver (127.0.0.x): one address has about 28k local ports. */
  localAddress: string;
  /** Global index of this driver's first connection, and how many it opens. */
  first: number;
  count: number;
  /** Members per room; the first of each room chats. Rooms never span two drivers. */
  roomSize: number;
  /** Provision-and-connect attempts in flight at once. */
  concurrency: number;
}

/** Commands from the bench. */
export type DriverCommand =
  | { type: 'connect' }
  | { type: 'chat'; intervalMs: number }
  | { type: 'latency-reset' }
  | { type: 'latency-take' }
  | { type: 'chat-stop' }
  | { type: 'account' }
  | { type: 'close' };

/** Reports to the bench. */
export type DriverReport =
  | {
      type: 'progress';
      registered: number;
      failed: number;
      dropped: number;
      back: number;
      /** Dropped and not registered again yet (still provisioning or connecting). */
      down: number;
      lastBackAt: number;
      refused503: number;
      connectErrors: number;
      /** Drops so far by close code and server. */
      closeCodes: Record<string, number>;
      /** By the server a client was dropped from: drops, how many are still down, and when the last came back (µs). */
      byServer: Record<string, { dropped: number; down: number; lastBackAt: number }>;
    }
  | { type: 'connected'; registered: number; failed: number; ms: number; refused503: number; cpuMicros: number; firstError?: string }
  | { type: 'latency'; histogram: string; count: number }
  | { type: 'account'; owed: number; lost: number; duplicated: number; acked: number; resumed: number; resumedLost: number; notRecovered: number; notBack: number; owedNotBack: number };

interface Conn {
  index: number;
  user: string;
  room: string;
  chatter: boolean;
  ws: WebSocket | undefined;
  registered: boolean;
  /** The newest chat id seen in the room: `since` on resume. */
  lastId: string | undefined;
  /** Bench sequence numbers of the room's messages this member received, in arrival order. */
  got: number[];
  /** Dropped by its server at least once and resumed with `since`. */
  resumed: boolean;
  notRecovered: boolean;
  /** The server that welcomed the current connection. */
  serverId: string;
}

const setup = JSON.parse(process.argv[2] ?? '{}') as DriverSetup;
const conns: Conn[] = [];
for (let k = 0; k < setup.count; k++) {
  const index = setup.first + k;
  conns.push({
    index,
    user: `c${index}`,
    room: `c100k-r${Math.floor(index / setup.roomSize)}`,
    chatter: index % setup.roomSize === 0,
    ws: undefined,
    registered: false,
    lastId: undefined,
    got: [],
    resumed: false,
    notRecovered: false,
    serverId: '',
  });
}

let closing = false;
let registered = 0;
let failed = 0;
let dropped = 0;
let back = 0;
let lastBackAt = 0;
let refused503 = 0;
let connectErrors = 0;
let down = 0;
const closeCodes: Record<string, number> = {};
const byServer: Record<string, { dropped: number; down: number; lastBackAt: number }> = {};
let firstError: string | undefined;
/** Messages this driver's chatters sent, by bench seq: their room and whether the server acked them. */
const sentRoom: string[] = [];
const acked: boolean[] = [];
/** The next bench sequence number; chat starts once every member is registered, so each acked message is owed to its whole room. */
let seq = 0;
let histogram = newHistogram();
let recording = false;
let chatTimer: NodeJS.Timeout | undefined;

/** Absolute microseconds, comparable across the bench's processes. */
function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function send(report: DriverReport): void {
  process.send?.(report);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Provision requests keep a few connections alive from the driver's own
 * source address: one loopback address has about 28k ports, and a storm of
 * fresh connections (or sockets left half-closed) from 127.0.0.1 runs it out.
 */
const provisionAgent = new Agent({ keepAlive: true, maxSockets: 64, localAddress: setup.localAddress } as AgentOptions);

/** One GET of the provision route; resolves its status and body, always read to the end so the socket is reused. */
function getProvision(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: provisionAgent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('provision timed out after 15 s')));
    req.on('error', reject);
  });
}

/** Asks the balancer for a server, retrying 503s and errors with a short jittered pause; resolves the ws URL. */
async function provision(conn: Conn): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    if (closing) throw new Error('closing');
    try {
      const response = await getProvision(`${setup.balancer}/servers/provision?room=${encodeURIComponent(conn.room)}&user=${conn.user}`);
      if (response.status === 200) return (JSON.parse(response.body) as { url: string }).url;
      if (response.status === 503) refused503++;
      else throw new Error(`provision answered ${response.status}: ${response.body}`);
    } catch (error) {
      if (attempt >= 50) throw error;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
    await sleep(100 + Math.random() * 200);
  }
}

/** Provisions, opens and registers one connection (resuming with `since` when it was on a server before). */
async function open(conn: Conn): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const url = await provision(conn);
    try {
      await connectOnce(conn, url);
      return;
    } catch (error) {
      // The balancer may hand out a server that just died until its heartbeat goes stale: provision again.
      connectErrors++;
      firstError ??= error instanceof Error ? error.message : String(error);
      if (attempt >= 50 || closing) throw error;
      await sleep(100 + Math.random() * 200);
    }
  }
}

function connectOnce(conn: Conn, url: string): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: setup.localAddress, handshakeTimeout: 15_000 });
  conn.ws = ws;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    /** Only a socket that got registered is a drop when it closes; a failed attempt's close is its own failure. */
    let registeredHere = false;
    // A server that accepts the socket but never answers the registration must not hold the client for good.
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(new Error('no registered answer within 20 s'));
    }, 20_000);
    ws.on('message', (data: Buffer) => onFrame(conn, data, () => {
      if (settled) return;
      settled = true;
      registeredHere = true;
      clearTimeout(timer);
      resolve();
    }));
    ws.on('open', () => {
      const payload = conn.lastId === undefined ? { chatId: conn.room } : { chatId: conn.room, since: conn.lastId };
      ws.send(JSON.stringify({ type: 'register', payload }));
    });
    ws.on('unexpected-response', (_request, response) => {
      ws.terminate();
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`upgrade answered ${response.statusCode}`));
      }
    });
    ws.on('error', (error) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    ws.on('close', (code) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`closed (${code}) before registering`));
        return;
      }
      if (closing || conn.ws !== ws || !registeredHere) return;
      // Dropped by the server (killed, drained): provision again and resume.
      conn.registered = false;
      conn.resumed = true;
      dropped++;
      down++;
      const key = `${code} from ${conn.serverId}`;
      closeCodes[key] = (closeCodes[key] ?? 0) + 1;
      const from = (byServer[conn.serverId] ??= { dropped: 0, down: 0, lastBackAt: 0 });
      from.dropped++;
      from.down++;
      void open(conn).then(
        () => {
          back++;
          down--;
          from.down--;
          lastBackAt = nowMicros();
          from.lastBackAt = lastBackAt;
        },
        () => {
          failed++;
          down--;
          from.down--;
        },
      );
    });
  });
}

function onFrame(conn: Conn, data: Buffer, registeredNow: () => void): void {
  const frame = JSON.parse(data.toString()) as { type: string; payload: Record<string, unknown> };
  const payload = frame.payload;
  if (frame.type === 'chat') {
    const id = payload['id'] as string;
    conn.lastId = id;
    const text = payload['message'] as string;
    if (!text.startsWith('bm:')) return;
    const [, seqText, sentText] = text.split(':');
    conn.got.push(Number(seqText));
    if (recording) histogram.recordValue(Math.max(1, nowMicros() - Number(sentText)));
  } else if (frame.type === 'welcome') {
    conn.serverId = String(payload['serverId']);
  } else if (frame.type === 'registered') {
    if (conn.resumed && payload['recovered'] === false) conn.notRecovered = true;
    if (conn.lastId === undefined && typeof payload['lastId'] === 'string') conn.lastId = payload['lastId'];
    if (!conn.registered) {
      conn.registered = true;
      registeredNow();
    }
  } else if (frame.type === 'ack') {
    const clientId = payload['clientId'];
    if (typeof clientId === 'string') acked[Number(clientId)] = true;
  } else if (frame.type === 'redistribute') {
    // Not expected (the bench turns rebalancing off); the close that follows resumes the connection.
  }
}

async function connectAll(): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < conns.length && !closing) {
      const conn = conns[next++]!;
      try {
        await open(conn);
        registered++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(setup.concurrency, conns.length) }, worker));
  const used = process.cpuUsage(cpu);
  send({ type: 'connected', registered, failed, ms: performance.now() - started, refused503, cpuMicros: used.user + used.system, firstError });
}

function startChat(intervalMs: number): void {
  const chatters = conns.filter((c) => c.chatter);
  // Spread the chatters over the interval: one tick every 20 ms sends the share due.
  let cursor = 0;
  let carry = 0;
  const perTick = (chatters.length * 20) / intervalMs;
  chatTimer = setInterval(() => {
    carry += perTick;
    for (; carry >= 1; carry--) {
      const chatter = chatters[cursor++ % chatters.length];
      if (chatter?.ws === undefined || !chatter.registered) continue;
      const s = seq++;
      sentRoom[s] = chatter.room;
      chatter.ws.send(`{"type":"chat","payload":{"chatId":"${chatter.room}","message":"bm:${s}:${nowMicros()}","clientId":"${s}"}}`);
    }
  }, 20);
}

/** Every acked message is owed once to every member of its room; counts what is missing or doubled. */
function account(): DriverReport {
  let owed = 0;
  let lost = 0;
  let duplicated = 0;
  let ackedCount = 0;
  let resumed = 0;
  let resumedLost = 0;
  let notRecovered = 0;
  const roomSeqs = new Map<string, number[]>();
  for (let s = 0; s < seq; s++) {
    if (acked[s] !== true) continue;
    ackedCount++;
    const room = sentRoom[s]!;
    const list = roomSeqs.get(room) ?? [];
    list.push(s);
    roomSeqs.set(room, list);
  }
  let notBack = 0;
  let owedNotBack = 0;
  for (const conn of conns) {
    const owedSeqs = roomSeqs.get(conn.room) ?? [];
    // A client still down at the end (dropped and never registered again) could not be sent anything since its drop:
    // what it misses is not a loss but a client not back, counted apart (the storm figures say how many).
    if (!conn.registered) {
      notBack++;
      owedNotBack += owedSeqs.length;
      continue;
    }
    const got = new Map<number, number>();
    for (const s of conn.got) got.set(s, (got.get(s) ?? 0) + 1);
    let missing = 0;
    for (const s of owedSeqs) {
      const n = got.get(s) ?? 0;
      if (n === 0) missing++;
      else if (n > 1) duplicated += n - 1;
    }
    owed += owedSeqs.length;
    lost += missing;
    if (conn.resumed) {
      resumed++;
      resumedLost += missing;
    }
    if (conn.notRecovered) notRecovered++;
  }
  return { type: 'account', owed, lost, duplicated, acked: ackedCount, resumed, resumedLost, notRecovered, notBack, owedNotBack };
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

const progress = setInterval(() => {
  let now = 0;
  for (const conn of conns) if (conn.registered) now++;
  send({ type: 'progress', registered: now, failed, dropped, back, down, lastBackAt, refused503, connectErrors, closeCodes, byServer });
}, 500);

process.on('message', (command: DriverCommand) => {
  switch (command.type) {
    case 'connect':
      void connectAll();
      break;
    case 'chat':
      startChat(command.intervalMs);
      break;
    case 'latency-reset':
      histogram = newHistogram();
      recording = true;
      break;
    case 'latency-take':
      recording = false;
      send({ type: 'latency', histogram: hdr.encodeIntoCompressedBase64(histogram), count: histogram.totalCount });
      break;
    case 'chat-stop':
      clearInterval(chatTimer);
      break;
    case 'account':
      send(account());
      break;
    case 'close':
      shutdown();
      break;
  }
});

function shutdown(): void {
  closing = true;
  clearInterval(progress);
  clearInterval(chatTimer);
  for (const conn of conns) conn.ws?.terminate();
  process.exit(0);
}
process.on('disconnect', shutdown);
