// A small in-process stand-in for a chatfleet (provision endpoint + websocket chat servers sharing one history), on real sockets.
// It lets the client's reconnect, redirect, resume and dedupe logic be tested with exact control over drops and frames.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

interface Entry {
  id: string;
  frame: string;
  clientId: string | undefined;
  from: string;
}

interface Member {
  socket: WebSocket;
  user: string;
  rooms: Set<string>;
}

/** Knobs a test turns to misbehave on purpose. */
export interface StubBehaviour {
  /** Publish chats but never ack them. */
  swallowAcks: boolean;
  /** Send every live chat frame twice. */
  doubleFrames: boolean;
  /** Drop chat frames on the floor (neither publish nor ack). */
  dropChats: boolean;
  /** Refuse chat and direct frames with an `error` of this code naming their clientId (neither publish nor ack). */
  refuseSends: string | undefined;
}

export class StubChatServer {
  readonly members = new Set<Member>();
  readonly registers: Array<{ user: string; chatId: string; since: string | undefined }> = [];
  readonly behaviour: StubBehaviour = { swallowAcks: false, doubleFrames: false, dropChats: false, refuseSends: undefined };
  alive = true;
  url = '';
  #wss: WebSocketServer | undefined;

  constructor(
    readonly id: string,
    readonly fleet: StubFleet,
  ) {}

  async start(): Promise<void> {
    this.#wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => this.#wss?.once('listening', () => resolve()));
    this.url = `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}/`;
    this.#wss.on('connection', (socket, request) => {
      const token = new URL(request.url ?? '/', 'ws://x').searchParams.get('token') ?? '';
      const user = token === '' ? `anon-${Math.random().toString(36).slice(2, 8)}` : token;
      const member: Member = { socket, user, rooms: new Set() };
      this.members.add(member);
      socket.on('close', () => this.members.delete(member));
      socket.on('message', (data) => this.#onFrame(member, String(data)));
      socket.send(JSON.stringify({ type: 'welcome', payload: { serverId: this.id, userId: user, connectedAt: Date.now() } }));
    });
  }

  /** Dies like kill -9: every socket is cut without a close frame, the port closes. */
  async kill(): Promise<void> {
    this.alive = false;
    for (const member of this.members) member.socket.terminate();
    this.members.clear();
    await new Promise<void>((resolve) => this.#wss?.close(() => resolve()));
  }

  /** Sends every client a `redistribute` frame. */
  redistribute(redirect: string): void {
    for (const member of this.members) {
      member.socket.send(JSON.stringify({ type: 'redistribute', payload: { reason: 'test', redirect } }));
    }
  }

  /** Sends raw text to every member of a room. */
  deliver(room: string, frame: string): void {
    for (const member of this.members) {
      if (!member.rooms.has(room)) continue;
      member.socket.send(frame);
      if (this.behaviour.doubleFrames) member.socket.send(frame);
    }
  }

  #onFrame(member: Member, text: string): void {
    const frame = JSON.parse(text) as { type: string; payload: Record<string, string> };
    const p = frame.payload;
    const refuse = this.behaviour.refuseSends;
    if (refuse !== undefined && (frame.type === 'chat' || frame.type === 'direct')) {
      member.socket.send(JSON.stringify({ type: 'error', payload: { code: refuse, message: 'stub refused it', clientId: p.clientId } }));
      return;
    }
    switch (frame.type) {
      case 'register': {
        const chatId = p.chatId as string;
        this.registers.push({ user: member.user, chatId, since: p.since });
        if (p.since !== undefined) {
          for (const entry of this.fleet.history(chatId)) {
            if (compareIds(entry.id, p.since) > 0) member.socket.send(entry.frame);
          }
        }
        member.rooms.add(chatId);
        const lastId = this.fleet.history(chatId).at(-1)?.id;
        member.socket.send(JSON.stringify({ type: 'registered', payload: { chatId, members: [member.user], lastId } }));
        break;
      }
      case 'leave':
        member.rooms.delete(p.chatId as string);
        break;
      case 'chat': {
        if (this.behaviour.dropChats) return;
        const chatId = p.chatId as string;
        const id = this.fleet.publish(chatId, member.user, p.message as string, p.clientId);
        if (!this.behaviour.swallowAcks) {
          member.socket.send(JSON.stringify({ type: 'ack', payload: { clientId: p.clientId, id } }));
        }
        break;
      }
      default:
        member.socket.send(JSON.stringify({ type: 'error', payload: { code: 'unknown_type', message: frame.type } }));
    }
  }
}

/** The stub fleet: an HTTP provision endpoint and any number of stub chat servers. */
export class StubFleet {
  readonly servers: StubChatServer[] = [];
  readonly provisions: string[] = [];
  /** Status codes to answer the next provisions with, before answering normally. */
  readonly failNext: number[] = [];
  balancer = '';
  #http: Server | undefined;
  #history = new Map<string, Entry[]>();
  #lastMs = 0;
  #seq = 0;
  #next = 0;

  async start(servers: number): Promise<void> {
    for (let i = 0; i < servers; i++) await this.addServer();
    this.#http = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const status = this.failNext.shift();
      if (status !== undefined) {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: status === 403 ? 'forbidden' : 'no_ready_server', message: 'stub' }));
        return;
      }
      const alive = this.servers.filter((s) => s.alive);
      const server = alive[this.#next++ % Math.max(1, alive.length)];
      if (url.pathname !== '/servers/provision' || server === undefined) {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'no_ready_server', message: 'none alive' }));
        return;
      }
      this.provisions.push(server.id);
      const user = url.searchParams.get('user') ?? '';
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ id: server.id, url: `${server.url}?token=${user}`, token: user, expiresAt: Date.now() + 60_000 }),
      );
    });
    await new Promise<void>((resolve) => this.#http?.listen(0, '127.0.0.1', () => resolve()));
    this.balancer = `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  async addServer(): Promise<StubChatServer> {
    const server = new StubChatServer(`stub-${this.servers.length + 1}`, this);
    await server.start();
    this.servers.push(server);
    return server;
  }

  history(room: string): Entry[] {
    return this.#history.get(room) ?? [];
  }

  /** Appends a message to the room history and fans it out to every live server; returns its id. */
  publish(room: string, from: string, message: string, clientId: string | undefined): string {
    // Ids like Redis stream ids: the clock in ms, then a sequence within the same ms.
    const now = Date.now();
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#seq = 0;
    } else this.#seq++;
    const id = `${this.#lastMs}-${this.#seq}`;
    const payload: Record<string, unknown> = { id, chatId: room, from, message, ts: Date.now() };
    if (clientId !== undefined) payload.clientId = clientId;
    const frame = JSON.stringify({ type: 'chat', payload });
    const list = this.#history.get(room) ?? [];
    list.push({ id, frame, clientId, from });
    this.#history.set(room, list);
    for (const server of this.servers) if (server.alive) server.deliver(room, frame);
    return id;
  }

  async stop(): Promise<void> {
    for (const server of this.servers) if (server.alive) await server.kill();
    await new Promise<void>((resolve) => (this.#http === undefined ? resolve() : this.#http.close(() => resolve())));
    this.#http?.closeAllConnections();
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}
