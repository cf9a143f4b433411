// Shared pieces of the chat server's measurement scripts: a private redis-server, a forked chat server, raw websocket clients, /proc figures.
// Developer tools only (not run by tests). Build first: `npx tsc -b apps/chat-server`.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { mintTicket } from '@chatfleet/protocol/tickets';

export const SECRET = 'measure-secret';
/** The server to measure; CHAT_SERVER_MAIN points at another build (e.g. a saved baseline) for A/B runs. */
const MAIN = process.env.CHAT_SERVER_MAIN ?? fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CLOCK_TICKS = 100;

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a throw-away redis-server (no persistence); returns { url, pid, stop }. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

/** Forks dist/main.js as a managed server; resolves with { url, pid, inspectorUrl?, stop } after its `ready`. */
export async function startChatServer(redisUrl, { execArgv = [], env = {} } = {}) {
  const child = fork(MAIN, [], {
    execArgv,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redisUrl,
      AUTH_SECRET: SECRET,
      RATE_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let inspectorUrl;
  child.stderr.on('data', (chunk) => {
    const text = String(chunk);
    const match = /Debugger listening on (ws:\/\/\S+)/.exec(text);
    if (match) inspectorUrl = match[1];
    else if (!text.includes('For help, see') && !text.includes('Debugger')) process.stderr.write(text);
  });
  const ready = await new Promise((resolve, reject) => {
    child.on('message', (m) => m.type === 'ready' && resolve(m));
    child.once('exit', (code) => reject(new Error(`chat server exited ${code}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return { url: ready.url, pid: child.pid, get inspectorUrl() { return inspectorUrl; }, child, stop };
}

/** utime+stime of a process in microseconds (10 ms resolution). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** Resident set size of a process in bytes. */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
}

/** Write system calls made by a process so far (syscw of /proc/<pid>/io). */
export function writeSyscalls(pid) {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/syscw:\s+(\d+)/.exec(io)[1]);
}

/** Full GC in another node process through its inspector; returns { heapUsed, rss } from inside it. */
export async function collectGarbage(inspectorUrl) {
  const ws = new WebSocket(inspectorUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let id = 0;
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const mine = ++id;
      const onMessage = (data) => {
        const reply = JSON.parse(String(data));
        if (reply.id !== mine) return;
        ws.off('message', onMessage);
        resolve(reply.result);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.evaluate', {
    expression: 'JSON.stringify(process.memoryUsage())',
    returnByValue: true,
  });
  ws.terminate();
  return JSON.parse(usage.result.value);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Masked (zero key) client text frame. */
export function clientFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n, 0, 0, 0, 0]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255, 0, 0, 0, 0]);
  return Buffer.concat([head, payload]);
}

/**
 * A raw websocket client over net: handshake, then `onPayload(buffer)` per
 * server frame (unmasked; fragments not expected). Cheap enough that the
 * driver is not what limits a measurement.
 */
export function rawClient(serverUrl, userId, query, onPayload) {
  const url = new URL(serverUrl);
  const token = mintTicket(SECRET, userId, Date.now() + 3_600_000);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    let upgraded = false;
    socket.once('connect', () => {
      socket.write(
        `GET /?token=${encodeURIComponent(token)}${query} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (!upgraded) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        if (!pending.subarray(0, 12).toString().includes('101')) return reject(new Error(pending.toString()));
        upgraded = true;
        pending = pending.subarray(end + 4);
        resolve(socket);
      }
      let offset = 0;
      for (;;) {
        if (pending.length - offset < 2) break;
        let length = pending[offset + 1] & 0x7f;
        let head = 2;
        if (length === 126) {
          if (pending.length - offset < 4) break;
          length = pending.readUInt16BE(offset + 2);
          head = 4;
        } else if (length === 127) {
          if (pending.length - offset < 10) break;
          length = pending.readUInt32BE(offset + 6);
          head = 10;
        }
        if (pending.length - offset < head + length) break;
        const opcode = pending[offset] & 0x0f;
        const payload = pending.subarray(offset + head, offset + head + length);
        if (opcode === 0x9) socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | length, 0, 0, 0, 0]), payload]));
        else if (opcode === 0x1) onPayload(payload);
        offset += head + length;
      }
      pending = offset === pending.length ? Buffer.alloc(0) : pending.subarray(offset);
    });
  });
}
