// The chat client: provision, connect, join rooms, send, and keep it all alive across drops and redirects.
import {
  ID_PATTERN,
  Limits,
  serverFrameSchema,
  type ChatMessage,
  type ServerPayload,
} from '@chatfleet/protocol';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { ChatClientError, ClientErrorCode } from './errors.js';
import { provision } from './provision.js';
import { RoomCursors } from './room-cursors.js';
import { defaultSocketFactory, SOCKET_OPEN, type SocketFactory, type SocketLike } from './socket.js';

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export type DirectMessage = ServerPayload<'direct'>;
export type RegisteredInfo = ServerPayload<'registered'>;
export type WelcomeInfo = ServerPayload<'welcome'>;

export interface ChatClientOptions {
  /** Balancer base URL, e.g. `http://localhost:3000`. */
  balancer: string;
  /** User id to claim; anonymous (the balancer names one, anew on each provision) when left out. */
  user?: string | undefined;
  /** HMAC of `user` under the fleet's USER_SECRET, when the fleet requires one. */
  sig?: string | undefined;
  /** Reconnect backoff; `baseMs` is the harness's RECONNECT_DELAY_MS. */
  backoff?: Partial<BackoffOptions> | undefined;
  /** Time for a websocket to open and say `welcome`, else the attempt counts as failed. Default 10 s. */
  connectTimeoutMs?: number | undefined;
  /** Time for a send to be acked (or seen echoed back after a reconnect), else it is rejected. Default 10 s. */
  sendTimeoutMs?: number | undefined;
  /** How far before its first registration a room's resume point lies when the server sent no `lastId`, to absorb clock skew. Default 1 s. */
  sinceMarginMs?: number | undefined;
  /** How long a server whose connection failed is not connected to again. Default 5 s. */
  avoidFailedServerMs?: number | undefined;
  /** Makes websockets; default: global WebSocket, else `ws`. */
  socketFactory?: SocketFactory | undefined;
  fetch?: typeof fetch | undefined;
  random?: (() => number) | undefined;
}

export interface ChatClientEvents {
  /** Every state change. */
  state: { state: ClientState; previous: ClientState };
  /** A connection is open; its rooms are being registered again. */
  welcome: WelcomeInfo;
  /** A room message, each id at most once and in order within its room. */
  message: ChatMessage;
  direct: DirectMessage;
  registered: RegisteredInfo;
  status: ServerPayload<'status'>;
  /** The server asked this client to move; `url` is '' when the client provisions again instead. */
  redirect: { reason: string; url: string };
  /** A reconnect is scheduled after a drop or a failed attempt. */
  reconnect: { attempt: number; delayMs: number; reason: string };
  /** A room message at or before the room's last seen id was dropped. */
  duplicate: { chatId: string; id: string; clientId: string | undefined };
  /** Server `error` frames (the server's code) and the client's own failures. */
  error: ChatClientError;
}

/** Counters a harness or a dashboard can read. */
export interface ChatClientStats {
  /** Connections that reached `welcome`. */
  connects: number;
  /** Reconnects scheduled after drops or failed attempts. */
  reconnects: number;
  /** `redistribute` frames followed. */
  redirects: number;
  /** Room messages dropped as already seen. */
  duplicatesDropped: number;
}

interface PendingSend {
  resolve: (id: string) => void;
  reject: (error: ChatClientError) => void;
  /** The room of a chat; undefined for a direct message. */
  room: string | undefined;
  deadline: number;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: ChatClientError) => void;
}

// Close codes after which the server is presumed dead or leaving, so it is avoided for a while.
const SERVER_GONE_CODES = new Set([1001, 1006, 1011, 1012, 1013]);

/**
 * One user's connection to a chatfleet. Create it with `connect()`.
 *
 * Delivery guarantees: room messages reach the `message` event in order and
 * at most once per id, also across reconnects and redirects (each room is
 * registered again with `since` = the last id seen).
 *
 * Sends are at most once. A chat that was unacked when its connection dropped
 * is NOT sent again: the server has no idempotency key, and a second copy
 * would get a new id that receivers could not tell from a new message.
 * Instead the send stays pending; after the reconnect the room's replay
 * (`since`) carries the message back to its sender if it did get through, and
 * that echo (same `clientId`, `from` = this user) resolves the promise with its
 * id. Otherwise the promise is rejected with `send_timeout` after
 * `sendTimeoutMs`, and the application may send again knowing the first copy
 * was most likely lost. Direct messages have no replay, so an unacked one is
 * rejected with `connection_lost` when its connection drops. A send the server
 * refuses with an `error` naming its clientId is rejected at once with the
 * server's code; `unavailable` and `rate_limited` mean it was not sent, and
 * whether to send it again is the caller's choice.
 */
export class ChatClient extends Emitter<ChatClientEvents> {
  readonly stats: ChatClientStats = { connects: 0, reconnects: 0, redirects: 0, duplicatesDropped: 0 };

  readonly #options: ChatClientOptions;
  readonly #backoff: BackoffOptions;
  readonly #connectTimeoutMs: number;
  readonly #sendTimeoutMs: number;
  readonly #sinceMarginMs: number;
  readonly #avoidMs: number;
  readonly #random: () => number;
  readonly #cursors = new RoomCursors();
  /** Rooms registered on the current connection. */
  readonly #live = new Set<string>();
  readonly #pending = new Map<string, PendingSend>();
  readonly #joinWaiters = new Map<string, Waiter<RegisteredInfo>[]>();
  readonly #presenceWaiters = new Map<string, Waiter<string[]>[]>();
  readonly #watched = new Set<string>();
  /** Server id -> until when it is not connected to again. */
  readonly #avoid = new Map<string, number>();
  readonly #clientIdPrefix: string;

  #state: ClientState = 'idle';
  #factory: SocketFactory | undefined;
  #socket: SocketLike | undefined;
  /** Bumped for each connection attempt; events of older sockets are ignored. */
  #generation = 0;
  #welcomed = false;
  /** Failed attempts since the last welcome. */
  #attempt = 0;
  #redirectUrl: string | undefined;
  #serverId: string | undefined;
  #userId: string | undefined;
  /** Server clock minus local clock, from the last welcome. */
  #serverOffsetMs = 0;
  #nextClientId = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #abort: AbortController | undefined;
  #started: Waiter<void> | undefined;
  #closedSocket: Promise<void> | undefined;

  constructor(options: ChatClientOptions) {
    super();
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.#sinceMarginMs = options.sinceMarginMs ?? 1_000;
    this.#avoidMs = options.avoidFailedServerMs ?? 5_000;
    this.#random = options.random ?? Math.random;
    this.#factory = options.socketFactory;
    this.#clientIdPrefix = Math.floor(this.#random() * 36 ** 6).toString(36);
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The user id of the current (or last) connection, from its `welcome`. */
  get userId(): string | undefined {
    return this.#userId;
  }

  /** The server of the current (or last) connection. */
  get serverId(): string | undefined {
    return this.#serverId;
  }

  /** Rooms this client is in (it registers them again after every reconnect). */
  get rooms(): string[] {
    return this.#cursors.rooms();
  }

  /** True when `room` is registered on the current connection, so a send goes out now. */
  isLive(room: string): boolean {
    return this.#live.has(room);
  }

  /** The last message id seen in a room. */
  lastSeen(room: string): string | undefined {
    return this.#cursors.last(room);
  }

  /** Sends still waiting for their ack. */
  get pendingSends(): number {
    return this.#pending.size;
  }

  /**
   * Starts connecting; resolves at the first `welcome`. Retryable failures
   * (balancer unreachable, 503, a dead server) are retried with backoff until
   * `close()`; a failure that would only repeat (403, 401 from provision)
   * closes the client and rejects.
   */
  start(): Promise<void> {
    if (this.#state !== 'idle') {
      return Promise.reject(new ChatClientError(ClientErrorCode.invalidArgument, `start() called in state ${this.#state}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.#started = { resolve, reject };
      this.#setState('connecting');
      void this.#attemptConnect();
    });
  }

  /** Joins a room; resolves when the server confirms with `registered`. */
  join(room: string): Promise<RegisteredInfo> {
    if (!ID_PATTERN.test(room)) return Promise.reject(invalid(`invalid room id ${JSON.stringify(room)}`));
    if (this.#state === 'closed') return Promise.reject(closedError());
    if (!this.#cursors.has(room) && this.#cursors.size >= Limits.maxRoomsPerConnection) {
      return Promise.reject(invalid(`a client may join at most ${Limits.maxRoomsPerConnection} rooms`));
    }
    this.#cursors.add(room);
    return new Promise<RegisteredInfo>((resolve, reject) => {
      const list = this.#joinWaiters.get(room);
      if (list === undefined) this.#joinWaiters.set(room, [{ resolve, reject }]);
      else list.push({ resolve, reject });
      if (this.#welcomed) this.#register(room);
    });
  }

  /** Leaves a room and forgets its resume point. */
  leave(room: string): void {
    if (!this.#cursors.remove(room)) return;
    this.#live.delete(room);
    this.#rejectWaiters(this.#joinWaiters, room, new ChatClientError(ClientErrorCode.notJoined, `left room ${room}`));
    this.#write(JSON.stringify({ type: 'leave', payload: { chatId: room } }));
  }

  /**
   * Sends a chat message to a joined room; resolves with its id once acked.
   * `clientId` correlates the ack (and the echo); one is made up when absent.
   * Rejects at once with `not_connected` when the room is not registered on
   * the current connection (the client is reconnecting), and as soon as the
   * server refuses it with the server's code (`rate_limited`, `unavailable`,
   * `not_registered`, ...).
   */
  send(room: string, text: string, options: { clientId?: string } = {}): Promise<string> {
    if (!this.#cursors.has(room)) {
      return Promise.reject(new ChatClientError(ClientErrorCode.notJoined, `join room ${room} before sending to it`));
    }
    if (!this.#live.has(room)) {
      return Promise.reject(
        new ChatClientError(ClientErrorCode.notConnected, `room ${room} is not registered on a connection right now`),
      );
    }
    return this.#sendFrame('chat', room, { message: text, chatId: room }, text, options.clientId);
  }

  /** Sends a direct message to a user; resolves with its id once acked, rejects with the server's code if refused. */
  direct(to: string, text: string, options: { clientId?: string } = {}): Promise<string> {
    if (!ID_PATTERN.test(to)) return Promise.reject(invalid(`invalid user id ${JSON.stringify(to)}`));
    if (!this.#welcomed) return Promise.reject(new ChatClientError(ClientErrorCode.notConnected, 'not connected right now'));
    return this.#sendFrame('direct', undefined, { to, message: text }, text, options.clientId);
  }

  /** Asks who is in a room now, across the fleet. */
  presence(room: string): Promise<string[]> {
    if (!ID_PATTERN.test(room)) return Promise.reject(invalid(`invalid room id ${JSON.stringify(room)}`));
    if (!this.#welcomed) return Promise.reject(new ChatClientError(ClientErrorCode.notConnected, 'not connected right now'));
    return new Promise<string[]>((resolve, reject) => {
      const list = this.#presenceWaiters.get(room);
      if (list === undefined) this.#presenceWaiters.set(room, [{ resolve, reject }]);
      else list.push({ resolve, reject });
      this.#write(JSON.stringify({ type: 'presence', payload: { chatId: room } }));
    });
  }

  /** Subscribes to online/offline `status` events of these users (kept across reconnects). */
  watch(users: string[]): void {
    for (const user of users) {
      if (!ID_PATTERN.test(user)) throw invalid(`invalid user id ${JSON.stringify(user)}`);
    }
    // Counted as the server counts: distinct users, those already watched not again.
    const fresh = [...new Set(users)].filter((user) => !this.#watched.has(user));
    if (this.#watched.size + fresh.length > Limits.maxWatchedUsers) {
      throw invalid(`a client may watch at most ${Limits.maxWatchedUsers} users`);
    }
    for (const user of fresh) this.#watched.add(user);
    // The server answers one status per user named, so already watched users are asked again.
    this.#write(JSON.stringify({ type: 'watch', payload: { users } }));
  }

  /**
   * Closes the client for good: no reconnects, pending sends and joins are
   * rejected with `closed`. Resolves when the socket has closed (at most 1 s).
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.#state === 'closed') return this.#closedSocket ?? Promise.resolve();
    this.#shutdown(closedError());
    return this.#closedSocket ?? Promise.resolve();
  }

  // --- connection lifecycle -------------------------------------------------

  async #attemptConnect(): Promise<void> {
    const generation = ++this.#generation;
    this.#welcomed = false;
    this.#live.clear();
    let url = this.#redirectUrl;
    this.#redirectUrl = undefined;
    let serverId: string | undefined;
    if (url === undefined) {
      this.#abort = new AbortController();
      try {
        const answer = await provision({
          balancer: this.#options.balancer,
          user: this.#options.user,
          sig: this.#options.sig,
          room: this.#cursors.rooms()[0],
          signal: this.#abort.signal,
          fetch: this.#options.fetch,
        });
        url = answer.url;
        serverId = answer.id;
      } catch (error) {
        if (generation !== this.#generation || this.#state === 'closed') return;
        const failure = error instanceof ChatClientError ? error : new ChatClientError(ClientErrorCode.provisionFailed, String(error));
        this.emit('error', failure);
        if (!failure.retryable) {
          this.#shutdown(failure);
          return;
        }
        this.#scheduleReconnect(failure.message);
        return;
      } finally {
        this.#abort = undefined;
      }
      if (generation !== this.#generation || this.#state === 'closed') return;
      const until = this.#avoid.get(serverId);
      if (until !== undefined) {
        if (until > Date.now()) {
          this.#scheduleReconnect(`balancer offered ${serverId}, whose connection just failed`);
          return;
        }
        this.#avoid.delete(serverId);
      }
    }
    try {
      this.#factory ??= await defaultSocketFactory();
    } catch (error) {
      this.#shutdown(new ChatClientError(ClientErrorCode.connectFailed, `no websocket implementation: ${String(error)}`));
      return;
    }
    if (generation !== this.#generation || this.#state === 'closed') return;
    this.#serverId = serverId;
    let socket: SocketLike;
    try {
      socket = this.#factory(url);
    } catch (error) {
      this.emit('error', new ChatClientError(ClientErrorCode.connectFailed, `cannot open ${redact(url)}: ${String(error)}`));
      this.#scheduleReconnect('bad server url');
      return;
    }
    this.#socket = socket;
    this.#connectTimer = setTimeout(() => {
      if (generation !== this.#generation) return;
      this.emit('error', new ChatClientError(ClientErrorCode.connectFailed, `no welcome from ${redact(url)} in ${this.#connectTimeoutMs} ms`));
      this.#afterDrop(1006);
    }, this.#connectTimeoutMs);
    this.#listen(socket, generation);
  }

  #listen(socket: SocketLike, generation: number): void {
    const nodeSocket = socket as unknown as { on?: (event: string, listener: (data: unknown, isBinary: boolean) => void) => void };
    if (typeof nodeSocket.on === 'function') {
      // `ws`: its own event skips building a MessageEvent per frame.
      nodeSocket.on('message', (data, isBinary) => {
        if (generation === this.#generation && !isBinary) this.#onFrame(String(data));
      });
    } else {
      socket.addEventListener('message', (event) => {
        if (generation === this.#generation && typeof event.data === 'string') this.#onFrame(event.data);
      });
    }
    socket.addEventListener('close', (event) => {
      if (generation === this.#generation) this.#afterDrop(event.code);
    });
    // 'error' is always followed by 'close', which does the work.
    socket.addEventListener('error', () => undefined);
  }

  /** The current connection is gone (closed, failed, or timed out): clean up and reconnect with backoff. */
  #afterDrop(code: number): void {
    if (this.#state === 'closed') return;
    const wasWelcomed = this.#welcomed;
    this.#dropSocket(1000, 'abandoned');
    this.#welcomed = false;
    this.#live.clear();
    if (this.#serverId !== undefined && (!wasWelcomed || SERVER_GONE_CODES.has(code))) {
      this.#avoid.set(this.#serverId, Date.now() + this.#avoidMs);
    }
    this.#failInFlight();
    this.#scheduleReconnect(wasWelcomed ? `connection closed (${code})` : `connection failed (${code})`);
  }

  #scheduleReconnect(reason: string): void {
    if (this.#state === 'closed') return;
    const attempt = this.#attempt++;
    const delayMs = backoffDelay(attempt, this.#backoff, this.#random);
    this.stats.reconnects++;
    if (this.#state !== 'connecting') this.#setState('reconnecting');
    this.emit('reconnect', { attempt, delayMs, reason });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#attemptConnect();
    }, delayMs);
  }

  /** Follows a `redistribute`: leaves the current socket and connects to the redirect (or provisions) at once. */
  #follow(redirect: string): void {
    this.stats.redirects++;
    this.#redirectUrl = redirect === '' ? undefined : redirect;
    this.#dropSocket(1000, 'redirected');
    this.#welcomed = false;
    this.#live.clear();
    this.#failInFlight();
    this.#setState('reconnecting');
    void this.#attemptConnect();
  }

  /** Detaches from the current socket (its later events are ignored) and closes it. */
  #dropSocket(code: number, reason: string): void {
    clearTimeout(this.#connectTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    this.#generation++;
    if (socket === undefined) return;
    try {
      socket.close(code, reason);
    } catch {
      // Closing a socket that is still connecting throws in browsers; it is abandoned either way.
    }
  }

  #shutdown(error: ChatClientError): void {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    this.#abort?.abort();
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#closedSocket = socket === undefined ? Promise.resolve() : waitClosed(socket);
    this.#dropSocket(1000, 'client closed');
    this.#welcomed = false;
    this.#live.clear();
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    for (const room of [...this.#joinWaiters.keys()]) this.#rejectWaiters(this.#joinWaiters, room, error);
    for (const room of [...this.#presenceWaiters.keys()]) this.#rejectWaiters(this.#presenceWaiters, room, error);
    this.#setState('closed');
    this.#started?.reject(error);
    this.#started = undefined;
  }

  /** What a drop does to requests in flight: directs and presence queries fail; chats wait for their echo. */
  #failInFlight(): void {
    for (const [clientId, pending] of this.#pending) {
      if (pending.room !== undefined) continue;
      this.#pending.delete(clientId);
      pending.reject(new ChatClientError(ClientErrorCode.connectionLost, 'the connection dropped before the direct message was acked'));
    }
    for (const room of [...this.#presenceWaiters.keys()]) {
      this.#rejectWaiters(this.#presenceWaiters, room, new ChatClientError(ClientErrorCode.connectionLost, 'the connection dropped'));
    }
  }

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit('state', { state, previous });
  }

  // --- frames ---------------------------------------------------------------

  #write(text: string): boolean {
    const socket = this.#socket;
    if (socket === undefined || !this.#welcomed || socket.readyState !== SOCKET_OPEN) return false;
    socket.send(text);
    return true;
  }

  #register(room: string): void {
    const since = this.#cursors.since(room);
    const payload = since === undefined ? { chatId: room } : { chatId: room, since };
    this.#write(JSON.stringify({ type: 'register', payload }));
  }

  #sendFrame(
    type: 'chat' | 'direct',
    room: string | undefined,
    payload: Record<string, string>,
    text: string,
    clientId: string | undefined,
  ): Promise<string> {
    if (text.length === 0 || text.length > Limits.maxMessageChars) {
      return Promise.reject(invalid(`a message must have 1 to ${Limits.maxMessageChars} characters`));
    }
    const id = clientId ?? `${this.#clientIdPrefix}.${(this.#nextClientId++).toString(36)}`;
    if (this.#pending.has(id)) return Promise.reject(invalid(`clientId ${id} is already pending`));
    return new Promise<string>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, room, deadline: Date.now() + this.#sendTimeoutMs });
      this.#ensureSweep();
      payload.clientId = id;
      if (!this.#write(JSON.stringify({ type, payload }))) {
        this.#pending.delete(id);
        reject(new ChatClientError(ClientErrorCode.notConnected, 'not connected right now'));
      }
    });
  }

  #ensureSweep(): void {
    if (this.#sweepTimer !== undefined) return;
    const every = Math.max(50, Math.min(1_000, Math.floor(this.#sendTimeoutMs / 4)));
    this.#sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const [clientId, pending] of this.#pending) {
        if (pending.deadline > now) continue;
        this.#pending.delete(clientId);
        pending.reject(
          new ChatClientError(
            ClientErrorCode.sendTimeout,
            `message ${clientId} was neither acked nor echoed within ${this.#sendTimeoutMs} ms; it was not sent again`,
          ),
        );
      }
      if (this.#pending.size === 0) {
        clearInterval(this.#sweepTimer);
        this.#sweepTimer = undefined;
      }
    }, every);
  }

  #settle(clientId: string, id: string): void {
    const pending = this.#pending.get(clientId);
    if (pending === undefined) return;
    this.#pending.delete(clientId);
    pending.resolve(id);
  }

  #onFrame(text: string): void {
    let frame: { type?: unknown; payload?: unknown };
    try {
      frame = JSON.parse(text) as { type?: unknown; payload?: unknown };
    } catch {
      this.emit('error', new ChatClientError(ClientErrorCode.badServerFrame, `server sent a frame that is not JSON: ${text.slice(0, 80)}`));
      return;
    }
    if (frame.type === 'chat') {
      // The hot path: checked by hand, which costs far less than a schema per delivery.
      const message = frame.payload as ChatMessage | undefined;
      if (
        typeof message !== 'object' ||
        message === null ||
        typeof message.id !== 'string' ||
        typeof message.chatId !== 'string' ||
        typeof message.from !== 'string' ||
        typeof message.message !== 'string'
      ) {
        this.emit('error', new ChatClientError(ClientErrorCode.badServerFrame, `bad chat frame: ${text.slice(0, 120)}`));
        return;
      }
      this.#onChat(message);
      return;
    }
    const parsed = serverFrameSchema.safeParse(frame);
    if (!parsed.success) {
      this.emit('error', new ChatClientError(ClientErrorCode.badServerFrame, `bad server frame: ${text.slice(0, 120)}`));
      return;
    }
    const known = parsed.data;
    switch (known.type) {
      case 'welcome':
        this.#onWelcome(known.payload);
        break;
      case 'registered':
        this.#onRegistered(known.payload);
        break;
      case 'ack':
        if (known.payload.clientId !== undefined) this.#settle(known.payload.clientId, known.payload.id);
        break;
      case 'direct':
        this.emit('direct', known.payload);
        break;
      case 'presence': {
        const list = this.#presenceWaiters.get(known.payload.chatId);
        const waiter = list?.shift();
        if (list !== undefined && list.length === 0) this.#presenceWaiters.delete(known.payload.chatId);
        waiter?.resolve(known.payload.users);
        break;
      }
      case 'status':
        this.emit('status', known.payload);
        break;
      case 'redistribute':
        this.emit('redirect', { reason: known.payload.reason, url: known.payload.redirect });
        this.#follow(known.payload.redirect);
        break;
      case 'error':
        this.#onError(known.payload);
        break;
      case 'chat':
        this.#onChat(known.payload);
        break;
    }
  }

  /**
   * A server `error`. One that names a pending send's clientId refused that
   * send: it is rejected at once with the server's code rather than left to
   * time out. It is not sent again (`unavailable` and `rate_limited` mean it
   * was not sent and the caller may retry).
   */
  #onError(payload: ServerPayload<'error'>): void {
    const error = new ChatClientError(payload.code, payload.message);
    const clientId = payload.clientId;
    const pending = clientId === undefined ? undefined : this.#pending.get(clientId);
    if (clientId !== undefined && pending !== undefined) {
      this.#pending.delete(clientId);
      pending.reject(error);
    }
    this.emit('error', error);
  }

  #onChat(message: ChatMessage): void {
    const verdict = this.#cursors.accept(message.chatId, message.id);
    // The echo of this user's own message settles its send, even when it comes back in a replay.
    if (message.clientId !== undefined && message.from === this.#userId && this.#pending.size > 0) {
      this.#settle(message.clientId, message.id);
    }
    if (verdict === 'new') {
      this.emit('message', message);
    } else if (verdict === 'duplicate') {
      this.stats.duplicatesDropped++;
      if (this.has('duplicate')) this.emit('duplicate', { chatId: message.chatId, id: message.id, clientId: message.clientId });
    }
  }

  #onWelcome(welcome: WelcomeInfo): void {
    clearTimeout(this.#connectTimer);
    this.#welcomed = true;
    this.#attempt = 0;
    this.#serverId = welcome.serverId;
    this.#userId = welcome.userId;
    this.#serverOffsetMs = welcome.connectedAt - Date.now();
    this.stats.connects++;
    this.#setState('open');
    this.#started?.resolve();
    this.#started = undefined;
    this.emit('welcome', welcome);
    for (const room of this.#cursors.rooms()) this.#register(room);
    if (this.#watched.size > 0) this.#write(JSON.stringify({ type: 'watch', payload: { users: [...this.#watched] } }));
  }

  #onRegistered(info: RegisteredInfo): void {
    if (!this.#cursors.has(info.chatId)) return;
    this.#live.add(info.chatId);
    this.#cursors.registered(info.chatId, Date.now() + this.#serverOffsetMs, this.#sinceMarginMs, info.lastId);
    const waiters = this.#joinWaiters.get(info.chatId);
    if (waiters !== undefined) {
      this.#joinWaiters.delete(info.chatId);
      for (const waiter of waiters) waiter.resolve(info);
    }
    this.emit('registered', info);
  }

  #rejectWaiters<T>(map: Map<string, Waiter<T>[]>, room: string, error: ChatClientError): void {
    const list = map.get(room);
    if (list === undefined) return;
    map.delete(room);
    for (const waiter of list) waiter.reject(error);
  }
}

/** Creates a client and connects it; resolves once the first connection is open. */
export async function connect(options: ChatClientOptions): Promise<ChatClient> {
  const client = new ChatClient(options);
  await client.start();
  return client;
}

function invalid(message: string): ChatClientError {
  return new ChatClientError(ClientErrorCode.invalidArgument, message);
}

function closedError(): ChatClientError {
  return new ChatClientError(ClientErrorCode.closed, 'the client was closed');
}

/** A websocket URL without its token, fit for an error message. */
function redact(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : `${url.slice(0, query)}?token=…`;
}

function waitClosed(socket: SocketLike): Promise<void> {
  if (socket.readyState === 3) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    socket.addEventListener('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
