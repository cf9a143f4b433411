// The websocket seam: the browser's (or runtime's) global WebSocket when there is one, else `ws` on Node.

/** The part of the WHATWG WebSocket API the client uses; both the browser's and `ws` provide it. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

export type SocketFactory = (url: string) => SocketLike;

/** `WebSocket.OPEN` in both implementations. */
export const SOCKET_OPEN = 1;

let cached: Promise<SocketFactory> | undefined;

/**
 * Resolves the socket factory once: the global WebSocket when present
 * (browsers, Deno, Node 22+), else the `ws` package, imported only then so
 * that nothing else in the client is Node-only.
 */
export function defaultSocketFactory(): Promise<SocketFactory> {
  cached ??= resolveFactory();
  return cached;
}

async function resolveFactory(): Promise<SocketFactory> {
  const Global = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (Global !== undefined) return (url) => new Global(url);
  // A variable specifier keeps browser bundlers from trying to pull `ws` in.
  const specifier = 'ws';
  const mod = (await import(/* @vite-ignore */ specifier)) as { default: new (url: string, options?: object) => SocketLike };
  const Ws = mod.default;
  // No per-message deflate: chat frames are small and compression costs CPU on both ends.
  return (url) => new Ws(url, { perMessageDeflate: false });
}
