// The server side of the RFC 6455 opening handshake: checking the upgrade request and the 101 answer (no extensions).
import { createHash } from 'node:crypto';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';

/** The GUID every Sec-WebSocket-Accept is made with (RFC 6455 section 1.3). */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A Sec-WebSocket-Key: 16 bytes in base64. */
const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
/** An HTTP token (RFC 7230), what a subprotocol name must be. */
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** An upgrade request that can be accepted, or the HTTP answer that refuses it. */
export type UpgradeCheck =
  | { ok: true; key: string; protocol: string | undefined }
  | { ok: false; status: number; message: string; headers?: Record<string, string> };

/**
 * Checks the websocket parts of an upgrade request (the ticket and Origin are
 * the server's business): GET, `Upgrade: websocket`, `Sec-WebSocket-Version: 13`
 * and a well-formed `Sec-WebSocket-Key`. The first offered subprotocol, if
 * any, is echoed, as the `ws` library did; extensions are never negotiated.
 */
export function checkUpgrade(method: string | undefined, headers: IncomingHttpHeaders): UpgradeCheck {
  if (method !== 'GET') return { ok: false, status: 405, message: 'Invalid HTTP method' };
  if (headers.upgrade?.toLowerCase() !== 'websocket') return { ok: false, status: 400, message: 'Invalid Upgrade header' };
  const key = headers['sec-websocket-key'];
  if (key === undefined || !KEY_PATTERN.test(key)) {
    return { ok: false, status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  }
  if (headers['sec-websocket-version'] !== '13') {
    return {
      ok: false,
      status: 400,
      message: 'Missing or invalid Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  const offered = headers['sec-websocket-protocol'];
  let protocol: string | undefined;
  if (offered !== undefined) {
    protocol = offered.split(',')[0]!.trim();
    if (!TOKEN_PATTERN.test(protocol)) return { ok: false, status: 400, message: 'Invalid Sec-WebSocket-Protocol header' };
  }
  return { ok: true, key, protocol };
}

/** `Sec-WebSocket-Accept` for a key: base64 of SHA-1 over the key and the GUID. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** The 101 answer that opens the websocket. */
export function switchingProtocols(key: string, protocol: string | undefined): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
    (protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
    '\r\n'
  );
}

/** A complete HTTP answer that refuses an upgrade (`Connection: close`: the socket is closed after it). */
export function refusal(status: number, message: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(message)}\r\n${extra}\r\n${message}`
  );
}
