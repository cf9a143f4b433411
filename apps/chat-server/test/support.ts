// Test helpers for the chat server: start servers on port 0 against a test Redis, and websocket clients that record frames.
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { parseServerFrame, type ServerFrame, type ServerFrameType, type ServerPayload } from '@chatfleet/protocol';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { startChatServer, type ChatServer } from '../src/chat-server.js';
import { chatServerConfig, type ChatServerConfig } from '../src/config.js';
import { waitFor } from '../../../test/support/wait.js';

export const SECRET = 'test-secret';

/** Starts a chat server on a free port; quiet logs unless CHAT_TEST_LOG is set. */
export async function startServer(overrides: Partial<ChatServerConfig>): Promise<ChatServer> {
  const config = chatServerConfig({ authSecret: SECRET, port: 0, ...overrides });
  const log = pino({ level: process.env['CHAT_TEST_LOG'] ?? 'silent', base: { serverId: config.serverId } });
  return startChatServer(config, { log });
}

/** Polls `check` until it returns a truthy value or `ms` passes. */
export async function waitUntil<T>(check: () => T | Promise<T>, what: string, ms = 5000): Promise<T> {
  // Truthy, as these tests mean it: a count of 0 is still waiting.
  return waitFor(what, async () => (await check()) || undefined, ms, 10) as Promise<T>;
}

/** A websocket client that keeps every frame it gets. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(parseServerFrame(String(data))));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      });
    });
    ws.on('error', () => undefined);
  }

  /** Connects as `userId` with a fresh ticket and waits for `welcome`. */
  static async connect(serverUrl: string, userId: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const token = mintTicket(SECRET, userId, Date.now() + 60_000);
    return TestClient.open(`${serverUrl}?token=${encodeURIComponent(token)}`, options);
  }

  /** Connects to a complete URL (with its token) and waits for `welcome`. */
  static async open(url: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.next('welcome');
    return client;
  }

  send(type: string, payload: unknown): void {
    this.ws.send(JSON.stringify({ type, payload }));
  }

  /** Frames of one type received so far. */
  all<T extends ServerFrameType>(type: T): ServerPayload<T>[] {
    return this.frames.filter((f) => f.type === type).map((f) => f.payload as ServerPayload<T>);
  }

  /** Waits for the first frame of `type` (from the start) that matches `match`. */
  async next<T extends ServerFrameType>(
    type: T,
    match: (payload: ServerPayload<T>) => boolean = () => true,
    ms = 5000,
  ): Promise<ServerPayload<T>> {
    return waitUntil(() => this.all(type).find(match), `a "${type}" frame`, ms);
  }

  /** Waits until `count` frames of `type` have arrived. */
  async count<T extends ServerFrameType>(type: T, count: number, ms = 5000): Promise<ServerPayload<T>[]> {
    await waitUntil(() => this.all(type).length >= count, `${count} "${type}" frames (have ${this.all(type).length})`, ms);
    return this.all(type);
  }

  /** Registers in a room and waits for `registered`. */
  async register(chatId: string, since?: string): Promise<ServerPayload<'registered'>> {
    const before = this.all('registered').filter((r) => r.chatId === chatId).length;
    this.send('register', since === undefined ? { chatId } : { chatId, since });
    await waitUntil(() => this.all('registered').filter((r) => r.chatId === chatId).length > before, `registered ${chatId}`);
    return this.all('registered').filter((r) => r.chatId === chatId)[before]!;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

/** Tries an upgrade and returns the HTTP status the server answered with (101 when it opened). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}
