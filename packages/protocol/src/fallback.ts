// The fallback transport's names (server-sent events down, HTTP POST up, on the chat server's port): paths, events and the URL mapping.

/** `GET <FALLBACK_PATH>?token=<ticket>` opens the event stream; `POST <FALLBACK_PATH>/<session>` carries frames up. */
export const FALLBACK_PATH = '/sse';

/** Event names on the fallback stream; a frame is an event without a name (`message`). */
export const FallbackEvent = {
  /** First event: `{"post": "<path to POST frames to>"}`. */
  session: 'session',
  /** Last event before the server ends the stream: `{"code", "reason"}`, a websocket close code. */
  close: 'close',
} as const;
export type FallbackEvent = (typeof FallbackEvent)[keyof typeof FallbackEvent];

/** Longest session id the server issues (base64url of 18 random bytes is 24). */
export const FALLBACK_SESSION_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The fallback stream URL for a provisioned websocket URL: same host, port
 * and ticket, `ws:` becomes `http:` and `wss:` becomes `https:`, the path
 * becomes FALLBACK_PATH. Throws a TypeError for a URL that is not ws(s).
 */
export function fallbackUrl(websocketUrl: string): string {
  const url = new URL(websocketUrl);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  else throw new TypeError(`not a websocket URL: ${url.protocol}`);
  url.pathname = FALLBACK_PATH;
  return url.toString();
}
