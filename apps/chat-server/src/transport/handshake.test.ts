import { describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { acceptKey, checkUpgrade, refusal, switchingProtocols } from './handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const good: IncomingHttpHeaders = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': KEY,
  'sec-websocket-version': '13',
};

describe('checkUpgrade', () => {
  it.each<[string, string, IncomingHttpHeaders, number | 'ok']>([
    ['a well-formed request', 'GET', good, 'ok'],
    ['Upgrade in another case', 'GET', { ...good, upgrade: 'WebSocket' }, 'ok'],
    ['extensions offered (ignored)', 'GET', { ...good, 'sec-websocket-extensions': 'permessage-deflate' }, 'ok'],
    ['a POST', 'POST', good, 405],
    ['another Upgrade', 'GET', { ...good, upgrade: 'h2c' }, 400],
    ['no Upgrade', 'GET', { ...good, upgrade: undefined }, 400],
    ['no key', 'GET', { ...good, 'sec-websocket-key': undefined }, 400],
    ['a key that is not 16 bytes of base64', 'GET', { ...good, 'sec-websocket-key': 'c2hvcnQ=' }, 400],
    ['version 8', 'GET', { ...good, 'sec-websocket-version': '8' }, 400],
    ['no version', 'GET', { ...good, 'sec-websocket-version': undefined }, 400],
    ['a malformed subprotocol', 'GET', { ...good, 'sec-websocket-protocol': 'a b' }, 400],
  ])('answers %s with %s', (_name, method, headers, expected) => {
    const check = checkUpgrade(method, headers);
    expect(check.ok ? 'ok' : check.status).toBe(expected);
  });

  it('names the version it speaks when refusing another', () => {
    const check = checkUpgrade('GET', { ...good, 'sec-websocket-version': '8' });
    expect(check.ok ? undefined : check.headers).toEqual({ 'Sec-WebSocket-Version': '13' });
  });

  it('echoes the first subprotocol offered', () => {
    expect(checkUpgrade('GET', { ...good, 'sec-websocket-protocol': 'chat.v2, chat.v1' })).toEqual({ ok: true, key: KEY, protocol: 'chat.v2' });
  });
});

describe('the 101 answer', () => {
  it('computes Sec-WebSocket-Accept as in RFC 6455 section 1.3', () => {
    expect(acceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('switches protocols with the accept key and no extensions', () => {
    const answer = switchingProtocols(KEY, undefined);
    expect(answer.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    expect(answer).toContain('\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(answer).not.toContain('Extensions');
    expect(answer.endsWith('\r\n\r\n')).toBe(true);
  });

  it('writes a refusal with its status, length and extra headers', () => {
    expect(refusal(400, 'nope', { 'Sec-WebSocket-Version': '13' })).toBe(
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nSec-WebSocket-Version: 13\r\n\r\nnope',
    );
  });
});
