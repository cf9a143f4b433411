// The chat client: provision, connect, join rooms, send, and keep it all alive across drops and redirects.
import { compareMessageIds, ID_PATTERN, Limits, serverFrameSchema } from '@chatfleet/protocol';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { BalancerList } from './balancers.js';
import { Emitter } from './emitter.js';
import { ChatClientError, ClientErrorCode } from './errors.js';
import { provision } from './provision.js';
import { RoomCursors } from './room-cursors.js';
import { defaultSocketFactory, SOCKET_OPEN, type SocketFactory, type SocketLike } from './socket.js';
import { SseSocket } from './sse-socket.js';
import type { ChatMessage, DirectMessage, RegisteredInfo, StatusInfo, WelcomeInfo } from './types.js';

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * How the client reaches a chat server. `auto`: a websocket, and when one
 * fails before the server said `welcome`, the fallback (server-sent events
 * plus POST) on the same server at once; once the fallback worked the client
 * stays on it. `websocket` or `sse`: only that one.
 */
export type TransportMode = 'auto' | 'websocket' | 'sse';
/** The transport of a connection. */
export type TransportName = 'websocket' | 'sse';

const TRANSPORT_MODES: readonly TransportMode[] = ['auto', 'websocket', 'sse'];

export interface ChatClientOptions {
  /**
   * Balancer base URL, e.g. `http://localhost:3000`, or several balancers of
   * one fleet: a balancer that fails (unreachable, 5xx) is left for the next
   * one in the list, with the reconnect backoff in between.
   */
  balancer: string | readonly string[];
  /** User id to claim; anonymous (the balancer names one, anew on each provision) when left out. */
  user?: string | undefined;
  /** HMAC of `user` under the fleet's USER_SECRET, when the fleet requires one. */
  sig?: string | undefined;
  /** Reconnect backoff; `baseMs` is the harness's RECONNECT_DELAY_MS. */
  backoff?: Partial<BackoffOptions> | undefined;
  /** Time for a provision to answer, and for a connection to open and say `welcome`, else the attempt counts as failed. Default 10 s. */
  connectTimeoutMs?: number | undefined;
  /**
   * Time `start()` / `connect()` keeps trying for the first connection;
   * then the client closes and the promise rejects with the last failure's
   * code (`balancer_unreachable`, `provision_failed`, `connect_failed`).
   * 0: keep trying until `close()`. Default 10 s.
   */
  startTimeoutMs?: number | undefined;
  /** `auto` (default), `websocket` or `sse`; see TransportMode. */
  transport?: TransportMode | undefined;
  /** Time for a send to be acked (or seen echoed back after a reconnect), else it is rejected. Default 10 s. */
  sendTimeoutMs?: number | undefined;
  /** How far before its first registration a room's resume point lies when the server sent no `lastId`, to absorb clock skew. Default 1 s. */
  sinceMarginMs?: number | undefined;
  /** How long a server whose connection failed is not connected to again. Default 5 s. */
  avoidFailedServerMs?: number | undefined;
  /**
   * How to follow a `redistribute`. `true` (default), make before break: the
   * client opens the new connection and registers every room there while the
   * old one keeps delivering, and closes the old one only once the new one
   * confirmed every room (or gives up on the move after `connectTimeoutMs`
   * and stays, to be moved or reconnected later). `false`: close first, then
   * connect, as a client that lost its connection does.
   */
  makeBeforeBreak?: boolean | undefined;
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
  status: StatusInfo;
  /** A websocket failed before `welcome` and the client tries the fallback transport (`auto` mode). */
  fallback: { reason: string };
  /** A move completed make before break: the new connection took over after `ms`. */
  moved: { serverId: string; ms: number };
  /** The server asked this client to move; `url` is '' when the client provisions again instead. */
  redirect: { reason: string; url: string };
  /** A reconnect is scheduled after a drop or a failed attempt. */
  reconnect: { attempt: number; delayMs: number; reason: string };
  /** A room message at or before the room's last seen id was dropped. */
  duplicate: { chatId: string; id: string; clientId: string | undefined };
  /**
   * History could not fill a gap in a room (`registered` with `recovered: false`):
   * messages between the last one this client saw and `lastId` may be missing
   * for good (history trimmed past the resume point, or lost with a Redis
   * that came back empty). Delivery goes on from there.
   */
  gap: { chatId: string; since: string | undefined; lastId: string | undefined };
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
  /** Room and direct messages dropped as already seen. */
  duplicatesDropped: number;
  /** `gap` events: rooms where history could not fill a gap. */
  gaps: number;
  /** Moves completed make before break. */
  moves: number;
  /** Room messages dropped because both connections of a move delivered them (not counted as duplicates). */
  overlapDropped: number;
}

interface PendingSend {
  resolve: (id: string) => void;
  reject: (error: ChatClientError) => void;
  /** The room of a chat; undefined for a direct message. */
  room: string | undefined;
  deadline: number;
}

/** A move in progress (make before break). */
interface Move {
  socket: SocketLike | undefined;
  url: string;
  serverId: string | undefined;
  welcomed: boolean;
  welcome?: WelcomeInfo;
  /** Rooms confirmed on the new connection. */
  registered: Set<string>;
  timer: ReturnType<typeof setTimeout> | undefined;
  started: number;
  /** True when the target came from the balancer (no other to try after it). */
  provisioned: boolean;
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
  readonly stats: ChatClientStats = { connects: 0, reconnects: 0, redirects: 0, duplicatesDropped: 0, gaps: 0, moves: 0, overlapDropped: 0 };

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
  readonly #balancers: BalancerList;
  readonly #startTimeoutMs: number;
  readonly #mode: TransportMode;

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
  /** The newest direct message id seen: the resume point (`sinceDirect`) of the next connection. */
  #lastDirect: string | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #makeBeforeBreak: boolean;
  /** A move in progress (make before break): the new connection, until it confirmed every room. */
  #move: Move | undefined;
  /** After a move, each room's last id at the switch: the new connection's replay up to it repeats the old one's. */
  #overlap: Map<string, string> | undefined;
  /** The connection a move left: kept a moment for the acks of sends made on it, its deliveries ignored. */
  #leaving: { socket: SocketLike; timer: ReturnType<typeof setTimeout> } | undefined;
  /** Registers again the rooms a server could not register (`unavailable`), after a short wait. */
  #registerAgainTimer: ReturnType<typeof setTimeout> | undefined;
  #registerAgainAttempt = 0;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #abort: AbortController | undefined;
  #started: Waiter<void> | undefined;
  #closedSocket: Promise<void> | undefined;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last failure of a connection attempt, what a start timeout reports. */
  #lastFailure: ChatClientError | undefined;
  /** Set once the attempt in flight has recorded its failure: its first one says best why it failed. */
  #attemptFailed = false;
  /** What the attempt in flight is doing, for a start timeout that comes in the middle of it. */
  #phase: 'provision' | 'connect' | undefined;
  /** The transport of the current connection (or attempt). */
  #transport: TransportName = 'websocket';
  /** `auto` mode: set once the fallback worked; every later connection uses it. */
  #stayOnFallback = false;
  /** `auto` mode: the server URL whose websocket just failed, to be tried at once over the fallback. */
  #fallbackUrl: string | undefined;
  /** URL of the attempt in flight. */
  #attemptUrl: string | undefined;

  /**
   * Checks the options and makes an idle client. Throws a ChatClientError at
   * once for a bad balancer URL (`invalid_url`) or option (`invalid_argument`).
   */
  constructor(options: ChatClientOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw invalid('connect() needs options: { balancer: "http://host:port" }');
    this.#balancers = new BalancerList(options.balancer);
    const mode = options.transport ?? 'auto';
    if (!TRANSPORT_MODES.includes(mode)) throw invalid(`transport must be one of ${TRANSPORT_MODES.join(', ')} (got ${JSON.stringify(mode)})`);
    this.#mode = mode;
    this.#transport = mode === 'sse' ? 'sse' : 'websocket';
    this.#startTimeoutMs = nonNegative(options.startTimeoutMs, 10_000, 'startTimeoutMs');
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#connectTimeoutMs = nonNegative(options.connectTimeoutMs, 10_000, 'connectTimeoutMs') || 10_000;
    this.#makeBeforeBreak = options.makeBeforeBreak ?? true;
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

  /** The transport of the current (or last) connection: `websocket` or `sse` (the fallback). */
  get transport(): TransportName {
    return this.#transport;
  }

  /** The balancer asked last (or next). */
  get balancer(): string {
    return this.#balancers.current;
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
   * (balancer unreachable, 503, a dead server) are retried with backoff, each
   * failed balancer left for the next one, for up to `startTimeoutMs`; then,
   * or at once on a failure that would only repeat (403, 401 from provision),
   * the client closes and the promise rejects with that failure's code.
   * After the first connection, drops are retried until `close()`.
   */
  start(): Promise<void> {
    if (this.#state !== 'idle') {
      return Promise.reject(new ChatClientError(ClientErrorCode.invalidArgument, `start() called in state ${this.#state}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.#started = { resolve, reject };
      this.#setState('connecting');
      if (this.#startTimeoutMs > 0) {
        this.#startTimer = setTimeout(() => this.#onStartTimeout(), this.#startTimeoutMs);
      }
      void this.#attemptConnect();
    });
  }

  /** No first connection within startTimeoutMs: give up with the reason the attempts failed. */
  #onStartTimeout(): void {
    this.#startTimer = undefined;
    if (this.#started === undefined || this.#state === 'closed') return;
    const last = this.#lastFailure;
    let code: string = last?.code ?? (this.#phase === 'connect' ? ClientErrorCode.connectFailed : ClientErrorCode.balancerUnreachable);
    if (this.#phase === 'provision' && last === undefined) code = ClientErrorCode.balancerUnreachable;
    const why = last?.message ?? (this.#phase === 'connect' ? 'the chat server did not answer' : `no answer from ${this.#balancers.urls.join(', ')}`);
    this.#shutdown(new ChatClientError(code, `could not connect within ${this.#startTimeoutMs} ms: ${why}`, last?.status, last?.remoteCode));
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
    this.#attemptFailed = false;
    this.#welcomed = false;
    this.#live.clear();
    let url = this.#fallbackUrl ?? this.#redirectUrl;
    const viaFallback = this.#fallbackUrl !== undefined;
    this.#fallbackUrl = undefined;
    this.#redirectUrl = undefined;
    let serverId: string | undefined = viaFallback ? this.#serverId : undefined;
    if (url === undefined) {
      const abort = new AbortController();
      this.#abort = abort;
      this.#phase = 'provision';
      const balancer = this.#balancers.current;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, this.#connectTimeoutMs);
      try {
        const answer = await provision({
          balancer,
          user: this.#options.user,
          sig: this.#options.sig,
          room: this.#cursors.rooms()[0],
          signal: abort.signal,
          fetch: this.#options.fetch,
        });
        url = answer.url;
        serverId = answer.id;
      } catch (error) {
        if (generation !== this.#generation || this.#state === 'closed') return;
        let failure = error instanceof ChatClientError ? error : new ChatClientError(ClientErrorCode.provisionFailed, String(error));
        if (timedOut) {
          failure = new ChatClientError(ClientErrorCode.balancerUnreachable, `balancer ${balancer} did not answer within ${this.#connectTimeoutMs} ms`);
        }
        this.#recordFailure(failure);
        this.emit('error', failure);
        if (!failure.retryable) {
          this.#shutdown(failure);
          return;
        }
        // Another balancer of the fleet may answer: the next attempt asks the next one.
        this.#balancers.failed();
        this.#scheduleReconnect(failure.message);
        return;
      } finally {
        clearTimeout(timer);
        if (this.#abort === abort) this.#abort = undefined;
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
    this.#phase = 'connect';
    const transport: TransportName = this.#mode === 'sse' || viaFallback || this.#stayOnFallback ? 'sse' : 'websocket';
    if (transport === 'websocket') {
      try {
        this.#factory ??= await defaultSocketFactory();
      } catch (error) {
        this.#shutdown(new ChatClientError(ClientErrorCode.connectFailed, `no websocket implementation: ${String(error)}`));
        return;
      }
    }
    if (generation !== this.#generation || this.#state === 'closed') return;
    this.#serverId = serverId;
    this.#transport = transport;
    this.#attemptUrl = url;
    let socket: SocketLike;
    try {
      const target = withDirectResume(url, this.#lastDirect);
      socket = transport === 'sse' ? new SseSocket(target, this.#options.fetch) : (this.#factory as SocketFactory)(target);
    } catch (error) {
      const failure = new ChatClientError(ClientErrorCode.connectFailed, `cannot open ${redact(url)}: ${String(error)}`);
      this.#recordFailure(failure);
      this.emit('error', failure);
      this.#scheduleReconnect('bad server url');
      return;
    }
    this.#socket = socket;
    this.#connectTimer = setTimeout(() => {
      if (generation !== this.#generation) return;
      const failure = new ChatClientError(ClientErrorCode.connectFailed, `no welcome from ${redact(url)} in ${this.#connectTimeoutMs} ms`);
      this.#recordFailure(failure);
      this.emit('error', failure);
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
    const move = this.#move;
    if (move !== undefined) {
      // Moving already: a new connection that said welcome takes over now (its rooms confirm as they come).
      if (move.welcome !== undefined) {
        this.#completeMove(move, move.welcome);
        return;
      }
      this.#abandonMoveQuietly(move);
    }
    const wasWelcomed = this.#welcomed;
    this.#dropSocket(1000, 'abandoned');
    this.#welcomed = false;
    this.#live.clear();
    if (!wasWelcomed) {
      this.#recordFailure(new ChatClientError(ClientErrorCode.connectFailed, `the ${this.#transport} connection closed before welcome (${code})`));
      if (this.#mode === 'auto' && this.#transport === 'websocket' && this.#attemptUrl !== undefined) {
        // Websockets may be blocked on the way (a proxy, a firewall): try the same server over the fallback now.
        this.#fallbackUrl = this.#attemptUrl;
        this.emit('fallback', { reason: `websocket failed before welcome (${code})` });
        void this.#attemptConnect();
        return;
      }
    }
    if (this.#serverId !== undefined && (!wasWelcomed || SERVER_GONE_CODES.has(code))) {
      this.#avoid.set(this.#serverId, Date.now() + this.#avoidMs);
    }
    this.#failInFlight();
    this.#scheduleReconnect(wasWelcomed ? `connection closed (${code})` : `connection failed (${code})`);
  }

  /** Keeps the first failure of the attempt in flight as the last failure, what a start timeout reports. */
  #recordFailure(failure: ChatClientError): void {
    if (this.#attemptFailed) return;
    this.#attemptFailed = true;
    this.#lastFailure = failure;
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

  /**
   * Follows a `redistribute`. Make before break (the default): a second
   * connection to the redirect (or to a newly provisioned server) registers
   * every room, then takes over; see `#startMove`. Otherwise, or when that
   * cannot start: leaves the current socket and connects at once.
   */
  #follow(redirect: string): void {
    this.stats.redirects++;
    if (this.#makeBeforeBreak && this.#welcomed && this.#socket !== undefined && this.#move === undefined) {
      void this.#startMove(redirect);
      return;
    }
    this.#breakAndFollow(redirect);
  }

  /** Break before make: leaves the current socket and connects to `redirect` (or provisions) at once. */
  #breakAndFollow(redirect: string): void {
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

  // --- moves (make before break) -------------------------------------------

  /**
   * Opens the connection a move goes to (provisioning first when the server
   * named none) beside the current one, which keeps delivering and taking
   * sends. Its frames go through `#onFrame` like the current one's (room
   * messages and directs are deduplicated by id, so the overlap shows nothing
   * twice), except `welcome` and `registered`, which drive the move.
   */
  async #startMove(redirect: string, retry = false): Promise<void> {
    const started = Date.now();
    const move: Move = {
      socket: undefined,
      url: redirect,
      serverId: undefined,
      welcomed: false,
      registered: new Set(),
      timer: undefined,
      started,
      provisioned: redirect === '' || retry,
    };
    this.#move = move;
    move.timer = setTimeout(() => this.#abandonMove(move, `the new server did not confirm every room in ${this.#connectTimeoutMs} ms`), this.#connectTimeoutMs);
    let url = redirect;
    if (url === '') {
      try {
        const answer = await provision({
          balancer: this.#balancers.current,
          user: this.#options.user,
          sig: this.#options.sig,
          room: this.#cursors.rooms()[0],
          fetch: this.#options.fetch,
        });
        url = answer.url;
        move.serverId = answer.id;
      } catch (error) {
        this.#abandonMove(move, `provisioning for the move failed: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
    if (this.#move !== move || this.#state === 'closed') return;
    move.url = url;
    let socket: SocketLike;
    try {
      const target = withDirectResume(url, this.#lastDirect);
      socket = this.#transport === 'sse' ? new SseSocket(target, this.#options.fetch) : (this.#factory as SocketFactory)(target);
    } catch (error) {
      this.#abandonMove(move, `cannot open ${redact(url)}: ${String(error)}`);
      return;
    }
    move.socket = socket;
    const onText = (text: string): void => {
      if (socket === this.#socket) this.#onFrame(text);
      else if (socket === this.#move?.socket) this.#onFrame(text, 'move');
    };
    const nodeSocket = socket as unknown as { on?: (event: string, listener: (data: unknown, isBinary: boolean) => void) => void };
    if (typeof nodeSocket.on === 'function') {
      nodeSocket.on('message', (data, isBinary) => {
        if (!isBinary) onText(String(data));
      });
    } else {
      socket.addEventListener('message', (event) => {
        if (typeof event.data === 'string') onText(event.data);
      });
    }
    socket.addEventListener('close', (event) => {
      if (socket === this.#socket) this.#afterDrop(event.code);
      else if (socket === this.#move?.socket) this.#abandonMove(move, `the new connection closed before it took over (${event.code})`);
    });
    socket.addEventListener('error', () => undefined);
  }

  /** The new connection said `welcome`: every room is registered there with its resume point, watches repeated. */
  #onMoveWelcome(welcome: WelcomeInfo): void {
    const move = this.#move;
    if (move === undefined || move.socket === undefined) return;
    move.welcomed = true;
    move.serverId = welcome.serverId;
    const rooms = this.#cursors.rooms();
    for (const room of rooms) {
      const since = this.#cursors.since(room);
      move.socket.send(JSON.stringify({ type: 'register', payload: since === undefined ? { chatId: room } : { chatId: room, since } }));
    }
    if (this.#watched.size > 0) move.socket.send(JSON.stringify({ type: 'watch', payload: { users: [...this.#watched] } }));
    if (rooms.length === 0) this.#completeMove(move, welcome);
    else move.welcome = welcome;
  }

  /** A room confirmed on the new connection; once all are, it takes over. */
  #onMoveRegistered(info: RegisteredInfo): void {
    const move = this.#move;
    if (move === undefined || !this.#cursors.has(info.chatId)) return;
    move.registered.add(info.chatId);
    if (info.recovered === false) {
      this.stats.gaps++;
      this.emit('gap', { chatId: info.chatId, since: this.#cursors.since(info.chatId), lastId: info.lastId });
    }
    if (this.#cursors.rooms().every((room) => move.registered.has(room)) && move.welcome !== undefined) {
      this.#completeMove(move, move.welcome);
    }
  }

  /** The new connection takes over; the old one is closed once the acks still owed on it came, or after a second. */
  #completeMove(move: Move, welcome: WelcomeInfo): void {
    if (this.#move !== move || move.socket === undefined) return;
    clearTimeout(move.timer);
    this.#move = undefined;
    const old = this.#socket;
    clearTimeout(this.#connectTimer);
    this.#generation++; // the old socket's listener goes quiet
    this.#socket = move.socket;
    this.#serverId = move.serverId ?? welcome.serverId;
    this.#serverOffsetMs = welcome.connectedAt - Date.now();
    this.#live.clear();
    for (const room of move.registered) this.#live.add(room);
    this.#overlap = new Map();
    for (const room of this.#cursors.rooms()) {
      const last = this.#cursors.last(room);
      if (last !== undefined) this.#overlap.set(room, last);
    }
    this.stats.moves++;
    this.emit('moved', { serverId: welcome.serverId, ms: Date.now() - move.started });
    if (old === undefined) return;
    this.#leave(old);
  }

  /** True for a copy of a message the old connection of the last move delivered before the switch. */
  #inOverlap(message: ChatMessage): boolean {
    const until = this.#overlap?.get(message.chatId);
    return until !== undefined && compareMessageIds(message.id, until) <= 0;
  }

  /** Keeps a left connection for the acks of sends made on it (at most a second), then closes it. */
  #leave(socket: SocketLike): void {
    const close = (): void => {
      if (this.#leaving?.socket === socket) {
        clearTimeout(this.#leaving.timer);
        this.#leaving = undefined;
      }
      try {
        socket.close(1000, 'moved');
      } catch {
        // closing a socket that is not open throws in browsers
      }
    };
    if (this.#leaving !== undefined) {
      const previous = this.#leaving;
      this.#leaving = undefined;
      clearTimeout(previous.timer);
      try {
        previous.socket.close(1000, 'moved');
      } catch {
        // already closed
      }
    }
    if (this.#pending.size === 0) {
      close();
      return;
    }
    this.#leaving = { socket, timer: setTimeout(close, 1000) };
    const settled = (event: { data: unknown }): void => {
      if (typeof event.data !== 'string' || !event.data.startsWith('{"type":"ack"')) return;
      this.#onFrame(event.data);
      if (this.#pending.size === 0) close();
    };
    const nodeSocket = socket as unknown as { on?: (event: string, listener: (data: unknown, isBinary: boolean) => void) => void };
    if (typeof nodeSocket.on === 'function') nodeSocket.on('message', (data, isBinary) => !isBinary && settled({ data: String(data) }));
    else socket.addEventListener('message', settled);
  }

  /** Drops a move without a word: the connection it was to replace is gone too, and a reconnect follows. */
  #abandonMoveQuietly(move: Move): void {
    this.#move = undefined;
    clearTimeout(move.timer);
    try {
      move.socket?.close(1000, 'move abandoned');
    } catch {
      // not open yet
    }
  }

  /** The move failed: the new connection goes, the current one stays (it is moved or reconnected later). */
  #abandonMove(move: Move, why: string): void {
    if (this.#move !== move) return;
    this.#move = undefined;
    clearTimeout(move.timer);
    try {
      move.socket?.close(1000, 'move abandoned');
    } catch {
      // not open yet
    }
    if (this.#socket === undefined || !this.#welcomed) {
      this.emit('error', new ChatClientError(ClientErrorCode.connectFailed, `could not move to ${redact(move.url)}: ${why}`));
      this.#breakAndFollow('');
      return;
    }
    if (!move.provisioned) {
      // The server it named is not there: move where the balancer says instead, still keeping this connection meanwhile.
      this.emit('error', new ChatClientError(ClientErrorCode.connectFailed, `could not move to ${redact(move.url)}: ${why}; provisioning instead`));
      void this.#startMove('', true);
      return;
    }
    // The old server closes this connection after its grace period; a reconnect then provisions anew.
    this.emit('error', new ChatClientError(ClientErrorCode.connectFailed, `could not move to ${redact(move.url)}: ${why}; staying`));
  }

  #shutdown(error: ChatClientError): void {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    this.#abort?.abort();
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#registerAgainTimer);
    this.#registerAgainTimer = undefined;
    if (this.#move !== undefined) {
      clearTimeout(this.#move.timer);
      try {
        this.#move.socket?.close(1000, 'client closed');
      } catch {
        // not open yet
      }
      this.#move = undefined;
    }
    if (this.#leaving !== undefined) {
      clearTimeout(this.#leaving.timer);
      try {
        this.#leaving.socket.close(1000, 'client closed');
      } catch {
        // already closed
      }
      this.#leaving = undefined;
    }
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
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

  /** One frame from the current connection, or (`via` = 'move') from the one a move is opening. */
  #onFrame(text: string, via: 'current' | 'move' = 'current'): void {
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
    if (via === 'move') {
      if (known.type === 'welcome') return this.#onMoveWelcome(known.payload);
      if (known.type === 'registered') return this.#onMoveRegistered(known.payload);
      if (known.type === 'redistribute') return; // the move is not done yet; a later one is followed then
    } else if (known.type === 'redistribute' && this.#move !== undefined) {
      return; // already moving
    }
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
        this.#onDirect(known.payload);
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
  #onError(payload: { code: string; message: string; clientId?: string | undefined }): void {
    const error = new ChatClientError(payload.code, payload.message);
    const clientId = payload.clientId;
    const pending = clientId === undefined ? undefined : this.#pending.get(clientId);
    if (clientId !== undefined && pending !== undefined) {
      this.#pending.delete(clientId);
      pending.reject(error);
    }
    // A register the server could not carry out (Redis unreachable, a slot moving) names no clientId:
    // rooms still waiting for `registered` are asked for again, with backoff, until they are live.
    if (payload.code === 'unavailable' && clientId === undefined) this.#registerAgainSoon();
    this.emit('error', error);
  }

  #registerAgainSoon(): void {
    if (this.#registerAgainTimer !== undefined) return;
    const delayMs = backoffDelay(this.#registerAgainAttempt++, this.#backoff, this.#random);
    this.#registerAgainTimer = setTimeout(() => {
      this.#registerAgainTimer = undefined;
      if (!this.#welcomed) return; // a reconnect registers every room anyway
      let waiting = false;
      for (const room of this.#cursors.rooms()) {
        if (this.#live.has(room)) continue;
        waiting = true;
        this.#register(room);
      }
      if (!waiting) this.#registerAgainAttempt = 0;
    }, delayMs);
  }

  #onChat(message: ChatMessage): void {
    const verdict = this.#cursors.accept(message.chatId, message.id);
    // The echo of this user's own message settles its send, even when it comes back in a replay.
    if (message.clientId !== undefined && message.from === this.#userId && this.#pending.size > 0) {
      this.#settle(message.clientId, message.id);
    }
    if (verdict === 'new') {
      this.emit('message', message);
      this.#overlap?.delete(message.chatId);
    } else if (verdict === 'duplicate' && (this.#move !== undefined || this.#inOverlap(message))) {
      // While a move overlaps two connections both deliver the room, and the new one replays what the old
      // delivered meanwhile: the second copy is expected, not a fault.
      this.stats.overlapDropped++;
    } else if (verdict === 'duplicate') {
      this.stats.duplicatesDropped++;
      if (this.has('duplicate')) this.emit('duplicate', { chatId: message.chatId, id: message.id, clientId: message.clientId });
    }
  }

  /** A direct message, each id once: ids are ordered per recipient, so one at or before the last seen was delivered. */
  #onDirect(direct: DirectMessage): void {
    if (this.#lastDirect !== undefined && compareMessageIds(direct.id, this.#lastDirect) <= 0) {
      this.stats.duplicatesDropped++;
      return;
    }
    this.#lastDirect = direct.id;
    this.emit('direct', direct);
  }

  #onWelcome(welcome: WelcomeInfo): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    this.#welcomed = true;
    this.#attempt = 0;
    this.#phase = undefined;
    this.#lastFailure = undefined;
    if (this.#transport === 'sse' && this.#mode === 'auto') this.#stayOnFallback = true;
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
    this.#registerAgainAttempt = 0;
    if (info.recovered === false) {
      this.stats.gaps++;
      this.emit('gap', { chatId: info.chatId, since: this.#cursors.since(info.chatId), lastId: info.lastId });
    }
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

/**
 * Creates a client and connects it; resolves once the first connection is
 * open. Rejects at once with `invalid_url` for a balancer URL that is not
 * http(s) (like `'localhost:3000'`), and after `startTimeoutMs` (10 s) with
 * the last failure's code when no connection could be made.
 */
export async function connect(options: ChatClientOptions): Promise<ChatClient> {
  const client = new ChatClient(options);
  await client.start();
  return client;
}

/** An optional non-negative number option; throws invalid_argument otherwise. */
function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(`${name} must be a number of ms >= 0 (got ${String(value)})`);
  return value;
}

function invalid(message: string): ChatClientError {
  return new ChatClientError(ClientErrorCode.invalidArgument, message);
}

function closedError(): ChatClientError {
  return new ChatClientError(ClientErrorCode.closed, 'the client was closed');
}

/**
 * The connect URL with the resume point of direct messages, so the server
 * sends exactly the directs after it (docs/protocol.md). Without one the
 * server sends those that arrived while the user had no connection anywhere.
 */
function withDirectResume(url: string, lastDirect: string | undefined): string {
  if (lastDirect === undefined) return url;
  return `${url}${url.includes('?') ? '&' : '?'}sinceDirect=${encodeURIComponent(lastDirect)}`;
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
