// A websocket-framed server frame turned back into its JSON for the event stream, at every header size.
import { describe, expect, it } from 'vitest';
import { frameText } from '../wire.js';
import { sseEvent, websocketHeaderLength } from './fallback-connection.js';

describe('websocketHeaderLength', () => {
  it.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65_535, 4],
    [65_536, 10],
    [200_000, 10],
  ])('a %i-byte payload has a %i-byte header', (size, header) => {
    const payload = Buffer.alloc(size, 0x61);
    const framed = frameText(payload);
    expect(websocketHeaderLength(framed)).toBe(header);
    expect(framed.subarray(websocketHeaderLength(framed)).equals(payload)).toBe(true);
  });
});

describe('sseEvent', () => {
  it('wraps JSON as one data line ending the event', () => {
    expect(sseEvent(Buffer.from('{"type":"ack","payload":{"id":"1-0"}}')).toString()).toBe('data: {"type":"ack","payload":{"id":"1-0"}}\n\n');
  });
});
