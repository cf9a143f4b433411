// The fallback transport as a websocket look-alike: server-sent events (read with fetch) down, HTTP POST up, same frames.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { fallbackUrl, FallbackEvent } from '@chatfleet/protocol';
import type { SocketLike } from './socket.js';

type Listeners = {
  open: Array<() => void>;
  message: Array<(event: { data: unknown }) => void>;
  close: Array<(event: { code: number; reason: string }) => void>;
  error: Array<(event: unknown) => void>;
};

/** Close code when the stream broke without the server's `close` event (as a websocket reports 1006). */
const ABNORMAL = 1006;

/**
 * One fallback connection to a chat server, shaped like a WHATWG WebSocket
 * so the client drives it exactly as it drives a websocket:
 *
 * - `GET /sse?token=<ticket>` (the provisioned URL, `ws:` made `http:`) is
 *   read as a stream of server-sent events. The first names the session's
 *   POST path (`open` fires then); every unnamed event is one server frame;
 *   a `close` event carries the close code, and the stream ends.
 * - `send()` queues frames; one POST at a time carries every queued frame,
 *   one per line, so the server gets them in the order they were sent.
 *
 * It reads the stream with `fetch` rather than `EventSource`, which Node 20
 * lacks and which would reconnect by itself behind the client's back.
 */
export class SseSocket implements SocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed, as WebSocket.readyState. */
  readyState = 0;
  readonly url: string;
  readonly #fetch: typeof fetch;
  readonly #abort = new AbortController();
  readonly #listeners: Listeners = { open: [], message: [], close: [], error: [] };
  #postUrl: string | undefined;
  #queue: string[] = [];
  #posting = false;
  #closeCode: number | undefined;
  #closeReason = '';

  constructor(websocketUrl: string, fetchImpl: typeof fetch = globalThis.fetch) {
    this.url = fallbackUrl(websocketUrl);
    // Called as a plain function: a browser's fetch called as a method of another object throws "Illegal invocation".
    this.#fetch = (input, init) => fetchImpl(input, init);
    void this.#read();
  }

  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: keyof Listeners, listener: (event: never) => void): void {
    (this.#listeners[type] as Array<(event: never) => void>).push(listener);
  }

  /** Queues one frame; it goes out with the next POST. Dropped once the socket is closing. */
  send(data: string): void {
    if (this.readyState !== 1) return;
    this.#queue.push(data);
    void this.#flush();
  }

  /** Ends the stream; the server sees its request aborted and closes the connection. */
  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.readyState = 2;
    this.#abort.abort();
  }

  async #read(): Promise<void> {
    try {
      const response = await this.#fetch(this.url, {
        headers: { accept: 'text/event-stream' },
        cache: 'no-store',
        signal: this.#abort.signal,
      });
      if (response.status !== 200 || response.body === null) {
        await response.body?.cancel().catch(() => undefined);
        this.#closeReason ||= `fallback stream answered HTTP ${response.status}`;
        return;
      }
      const parser = createParser({ onEvent: (event) => this.#onEvent(event) });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      while (this.readyState < 2 || this.#closeCode === undefined) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
      await reader.cancel().catch(() => undefined);
    } catch (error) {
      // Refused, reset or aborted: reported below as a close like a websocket's, with the reason.
      if (this.#closeCode === undefined) this.#closeReason ||= error instanceof Error ? error.message : String(error);
    } finally {
      this.#finish();
    }
  }

  #onEvent(event: EventSourceMessage): void {
    if (this.readyState >= 2 && this.#closeCode !== undefined) return;
    if (event.event === FallbackEvent.session) {
      const post = (JSON.parse(event.data) as { post?: unknown }).post;
      if (typeof post !== 'string') return;
      this.#postUrl = new URL(post, this.url).toString();
      this.readyState = 1;
      for (const listener of this.#listeners.open) listener();
      return;
    }
    if (event.event === FallbackEvent.close) {
      const { code, reason } = JSON.parse(event.data) as { code?: unknown; reason?: unknown };
      this.#closeCode = typeof code === 'number' ? code : ABNORMAL;
      this.#closeReason = typeof reason === 'string' ? reason : '';
      this.readyState = 2;
      return;
    }
    for (const listener of this.#listeners.message) listener({ data: event.data });
  }

  /** Sends what is queued, one POST at a time; a failed POST ends the connection. */
  async #flush(): Promise<void> {
    if (this.#posting || this.#queue.length === 0 || this.#postUrl === undefined) return;
    this.#posting = true;
    const body = this.#queue.join('\n');
    this.#queue = [];
    try {
      const response = await this.#fetch(this.#postUrl, {
        method: 'POST',
        // text/plain keeps the request "simple": no CORS preflight from a page on another origin.
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body,
        signal: this.#abort.signal,
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status !== 204) this.#fail(response.status === 413 ? 1009 : ABNORMAL, `POST answered HTTP ${response.status}`);
    } catch {
      this.#fail(ABNORMAL, 'POST failed');
    } finally {
      this.#posting = false;
    }
    if (this.readyState === 1) void this.#flush();
  }

  #fail(code: number, reason: string): void {
    if (this.readyState >= 2) return;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.readyState = 2;
    this.#abort.abort();
  }

  /** Reports the end once, as a websocket's `close` event. */
  #finish(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#queue = [];
    const event = { code: this.#closeCode ?? ABNORMAL, reason: this.#closeReason };
    for (const listener of this.#listeners.close) listener(event);
  }
}
