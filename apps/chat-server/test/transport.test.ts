// The websocket transport seen from clients: handshake answers, pings, fragments, close codes and protocol errors over real sockets.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { SECRET, startServer, TestClient, waitUntil } from './support.js';

let redis: TestRedis;
let server: ChatServer;
const clients: TestClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  server = await startServer({
    redisUrl: redis.url,
    redisPrefix: uniquePrefix('chat-transport'),
    serverId: 'srv-transport',
    maxPayload: 2048,
    maxFragments: 16,
    upgradeTimeoutMs: 300,
    // Far longer than any wait here: a FIN seen in these tests is not this timer's.
    redirectGraceMs: 60_000,
    allowedOrigins: ['https://chat.example'],
  });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

async function connectClient(user: string): Promise<TestClient> {
  const client = await TestClient.connect(server.url, user);
  clients.push(client);
  return client;
}

/** A masked client frame (RFC 6455 section 5.2), or an unmasked one when told. */
function clientFrame(opcode: number, payload: Buffer | string, { masked = true, fin = true } = {}): Buffer {
  const body = Buffer.from(payload);
  const n = body.length;
  const head = n < 126 ? Buffer.from([0, n]) : Buffer.from([0, 126, n >> 8, n & 255]);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (!masked) return Buffer.concat([head, body]);
  head[1] = head[1]! | 0x80;
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([head, key, Buffer.from(body.map((b, i) => b ^ key[i % 4]!))]);
}

function upgradeRequest(user: string, headers: Record<string, string> = {}): string {
  const url = new URL(server.url);
  const token = mintTicket(SECRET, user, Date.now() + 60_000);
  const all: Record<string, string> = {
    Host: url.host,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return `GET /?token=${encodeURIComponent(token)} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/**
 * A raw TCP client that records everything the server sends and when it closes. `finned` resolves on
 * the server's FIN: the socket allows half-open, so this side never answers it by itself.
 */
async function rawSocket(): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<void>; finned: Promise<void> }> {
  const url = new URL(server.url);
  const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
  socket.setNoDelay(true);
  sockets.push(socket);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const finned = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => Buffer.concat(chunks), ended, finned };
}

/** The server frames after the 101 head: [opcode, payload] pairs (server frames are unmasked, short here). */
function serverFrames(bytes: Buffer): Array<[number, Buffer]> {
  let at = bytes.indexOf('\r\n\r\n') + 4;
  const frames: Array<[number, Buffer]> = [];
  while (at + 2 <= bytes.length) {
    let length = bytes[at + 1]! & 0x7f;
    let head = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      head = 4;
    }
    if (at + head + length > bytes.length) break;
    frames.push([bytes[at]! & 0x0f, bytes.subarray(at + head, at + head + length)]);
    at += head + length;
  }
  return frames;
}

describe('handshake', () => {
  it('answers 101 with the RFC accept key and no extension, even when deflate is offered', async () => {
    const raw = await rawSocket();
    raw.socket.write(upgradeRequest('hs', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }));
    await waitUntil(() => raw.received().includes('"welcome"'), 'welcome');
    const head = raw.received().toString('latin1').split('\r\n\r\n')[0]!;
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(head.toLowerCase()).not.toContain('sec-websocket-extensions');
  });

  it.each([
    ['version 8', { 'Sec-WebSocket-Version': '8' }],
    ['a short key', { 'Sec-WebSocket-Key': 'c2hvcnQ=' }],
  ])('answers 400 to %s', async (_name, headers) => {
    const raw = await rawSocket();
    raw.socket.write(upgradeRequest('hs400', headers));
    await raw.finned;
    expect(raw.received().toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
  });

  it.each([
    ['no ticket', (r: string) => r.replace(/\?token=[^ ]+/, ''), 401],
    ['a POST', (r: string) => r.replace(/^GET/, 'POST'), 405],
    ['an Origin not allowed', (r: string) => r.replace('\r\n\r\n', '\r\nOrigin: https://evil.example\r\n\r\n'), 403],
    ['a malformed key', (r: string) => r.replace('dGhlIHNhbXBsZSBub25jZQ==', 'c2hvcnQ='), 400],
  ])('closes TCP once it has refused %s, while the client keeps its side open', async (_name, edit, status) => {
    const raw = await rawSocket();
    raw.socket.write(edit(upgradeRequest('refused')));
    // The server's FIN comes by itself (that it also lets go of its socket is measured, in file
    // descriptors, by the conformance suite).
    await raw.finned;
    expect(raw.received().toString('latin1')).toMatch(new RegExp(`^HTTP/1\\.1 ${status} [^\r]*\r\nConnection: close\r\n`));
  });

  it('closes TCP once it has answered a plain HTTP request with 426', async () => {
    const raw = await rawSocket();
    raw.socket.write(`GET / HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`);
    await raw.finned;
    expect(raw.received().toString('latin1')).toMatch(/^HTTP\/1\.1 426 /);
  });

  it('keeps answering /healthz on a kept-alive connection', async () => {
    const raw = await rawSocket();
    const request = `GET /healthz HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`;
    raw.socket.write(request + request);
    await waitUntil(() => raw.received().toString().split('HTTP/1.1 200').length === 3, 'two answers');
  });

  it.each([
    ['sends nothing', ''],
    ['sends its upgrade request too slowly', 'GET /?token=x HTTP/1.1\r\nHost: a\r\n'],
  ])('cuts a connection that %s within UPGRADE_TIMEOUT_MS, with 408', async (_name, partial) => {
    const raw = await rawSocket();
    if (partial !== '') raw.socket.write(partial);
    await raw.finned;
    expect(raw.received().toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers bytes that are not HTTP with 400 and closes', async () => {
    const raw = await rawSocket();
    raw.socket.write('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n');
    await raw.finned;
    expect(raw.received().toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('leaves an open fallback stream (SSE) alone once UPGRADE_TIMEOUT_MS has passed', async () => {
    const raw = await rawSocket();
    const token = mintTicket(SECRET, 'streamer', Date.now() + 60_000);
    raw.socket.write(`GET /sse?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`);
    await waitUntil(() => raw.received().includes('"welcome"'), 'welcome');
    let finned = false;
    void raw.finned.then(() => (finned = true));
    // A fixed wait that proves nothing happens: three times the 300 ms upgrade timeout.
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(finned).toBe(false);
    expect(raw.received().toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('leaves an open websocket alone once UPGRADE_TIMEOUT_MS has passed', async () => {
    const client = await connectClient('lasting');
    // A fixed wait that proves nothing happens: three times the 300 ms upgrade timeout.
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    const pong = new Promise<string>((resolve) => client.ws.once('pong', (data) => resolve(data.toString())));
    client.ws.ping('still here');
    expect(await pong).toBe('still here');
  });

  it('reads frames that come in the same packet as the upgrade request', async () => {
    const raw = await rawSocket();
    const register = clientFrame(1, JSON.stringify({ type: 'register', payload: { chatId: 'head' } }));
    raw.socket.write(Buffer.concat([Buffer.from(upgradeRequest('eager')), register]));
    await waitUntil(() => raw.received().includes('"registered"'), 'registered');
  });

  it('fails a protocol error that comes in the same packet as the upgrade request with 1002', async () => {
    const raw = await rawSocket();
    raw.socket.write(Buffer.concat([Buffer.from(upgradeRequest('hasty')), clientFrame(1, 'unmasked', { masked: false })]));
    await waitUntil(() => serverFrames(raw.received()).some(([op]) => op === 8), 'a close frame');
    const close = serverFrames(raw.received()).find(([op]) => op === 8)!;
    expect(close[1].readUInt16BE(0)).toBe(1002);
  });
});

describe('frames', () => {
  it('reads a frame written one byte at a time', async () => {
    const raw = await rawSocket();
    raw.socket.write(upgradeRequest('dribble'));
    await waitUntil(() => raw.received().includes('"welcome"'), 'welcome');
    const register = clientFrame(1, JSON.stringify({ type: 'register', payload: { chatId: 'slowly' } }));
    for (const byte of register) {
      raw.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitUntil(() => raw.received().includes('"registered"'), 'registered');
  });

  it('joins a fragmented message and answers it as one frame', async () => {
    const client = await connectClient('frag');
    const text = JSON.stringify({ type: 'register', payload: { chatId: 'pieces' } });
    client.ws.send(text.slice(0, 10), { fin: false });
    client.ws.send(text.slice(10, 20), { fin: false });
    client.ws.send(text.slice(20), { fin: true });
    expect((await client.next('registered')).chatId).toBe('pieces');
  });

  it('answers a ping with a pong carrying the same payload', async () => {
    const client = await connectClient('pinger');
    const pong = new Promise<string>((resolve) => client.ws.once('pong', (data) => resolve(data.toString())));
    client.ws.ping('are you there');
    expect(await pong).toBe('are you there');
  });

  it('closes with 1002 on an unmasked frame', async () => {
    const raw = await rawSocket();
    raw.socket.write(upgradeRequest('unmasked'));
    await waitUntil(() => raw.received().includes('"welcome"'), 'welcome');
    raw.socket.write(clientFrame(1, '{"type":"presence","payload":{"chatId":"x"}}', { masked: false }));
    await waitUntil(() => serverFrames(raw.received()).some(([op]) => op === 8), 'a close frame');
    const close = serverFrames(raw.received()).find(([op]) => op === 8)!;
    expect(close[1].readUInt16BE(0)).toBe(1002);
  });

  it('closes with 1007 on text that is not UTF-8', async () => {
    const client = await connectClient('garbled');
    client.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    expect(await client.closed).toBe(1007);
  });

  it('closes with 1008 on a message in more than MAX_FRAGMENTS frames', async () => {
    const client = await connectClient('splinters');
    client.ws.send('', { fin: false });
    for (let i = 0; i < 16; i++) client.ws.send('', { fin: false });
    expect(await client.closed).toBe(1008);
  });

  it('takes a message in exactly MAX_FRAGMENTS frames', async () => {
    const client = await connectClient('pieces16');
    const text = JSON.stringify({ type: 'register', payload: { chatId: 'sixteen' } });
    const size = Math.ceil(text.length / 16);
    for (let i = 0; i < 16; i++) client.ws.send(text.slice(i * size, (i + 1) * size), { fin: i === 15 });
    expect((await client.next('registered')).chatId).toBe('sixteen');
  });

  it.each([
    ['an unmasked frame', 1002, clientFrame(1, 'x', { masked: false })],
    ['text that is not UTF-8', 1007, clientFrame(1, Buffer.from([0xc3, 0x28]))],
    ['a frame over MAX_PAYLOAD', 1009, clientFrame(2, Buffer.alloc(3000))],
  ])('fails the connection on %s: close frame %d, then its FIN at once', async (_name, code, bytes) => {
    const raw = await rawSocket();
    raw.socket.write(upgradeRequest('failing'));
    await waitUntil(() => raw.received().includes('"welcome"'), 'welcome');
    raw.socket.write(bytes);
    // REDIRECT_GRACE_MS is a minute here: the FIN follows the close frame, it does not wait for ours.
    await raw.finned;
    const close = serverFrames(raw.received()).find(([op]) => op === 8)!;
    expect(close[1].readUInt16BE(0)).toBe(code);
  });

  it('closes with 1009 on a fragmented message that grows past MAX_PAYLOAD', async () => {
    const client = await connectClient('grower');
    client.ws.send('a'.repeat(1500), { fin: false });
    client.ws.send('a'.repeat(1500), { fin: true });
    expect(await client.closed).toBe(1009);
  });
});

describe('closing', () => {
  it('echoes the close code of a client that closes, and forgets the connection', async () => {
    const health = server.url.replace('ws://', 'http://') + 'healthz';
    const clientsNow = async (): Promise<number> => ((await (await fetch(health)).json()) as { clients: number }).clients;
    const before = await clientsNow();
    const client = await TestClient.connect(server.url, 'leaver');
    expect(await clientsNow()).toBe(before + 1);
    client.ws.close(4321, 'bye');
    expect(await client.closed).toBe(4321);
    await waitUntil(async () => (await clientsNow()) === before, 'the server to forget the connection');
  });

  it('closes its side when the client half-closes the TCP connection', async () => {
    const raw = await rawSocket();
    raw.socket.write(upgradeRequest('halfway'));
    await waitUntil(() => raw.received().includes('"welcome"'), 'welcome');
    raw.socket.end();
    await raw.ended;
  });

  it('answers a close frame without a code with one without a code (1005 to the client)', async () => {
    const client = await connectClient('quiet');
    client.ws.close();
    expect(await client.closed).toBe(1005);
    expect(client.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
