import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './client-frames.js';

describe('parseClientFrame', () => {
  const accepted: Array<[string, unknown]> = [
    ['register', { type: 'register', payload: { chatId: 'room-1' } }],
    ['register with since', { type: 'register', payload: { chatId: 'room-1', since: '1700000000000-3' } }],
    ['leave', { type: 'leave', payload: { chatId: 'a.b:c_d-e' } }],
    ['chat without chatId', { type: 'chat', payload: { message: 'hi' } }],
    ['chat with all fields', { type: 'chat', payload: { message: 'hi', chatId: 'r', clientId: 'c1' } }],
    ['direct', { type: 'direct', payload: { to: 'bob', message: 'psst' } }],
    ['presence', { type: 'presence', payload: { chatId: 'r' } }],
    ['watch', { type: 'watch', payload: { users: ['a', 'b'] } }],
    ['chat at the length limit', { type: 'chat', payload: { message: 'x'.repeat(4096) } }],
  ];
  it.each(accepted)('accepts %s', (_name, frame) => {
    const result = parseClientFrame(JSON.stringify(frame));
    expect(result).toEqual({ ok: true, frame });
  });

  const rejected: Array<[string, string, string, RegExp]> = [
    ['text that is not JSON', '{nope', 'bad_frame', /not valid JSON/],
    ['a JSON string', '"hello"', 'bad_frame', /JSON object/],
    ['a JSON array', '[1,2]', 'bad_frame', /JSON object/],
    ['null', 'null', 'bad_frame', /JSON object/],
    ['an object without type', '{"payload":{}}', 'bad_frame', /"type"/],
    ['an unknown type', '{"type":"dance","payload":{}}', 'unknown_type', /dance/],
    ['register without payload', '{"type":"register"}', 'bad_frame', /payload/],
    ['register with a bad room id', '{"type":"register","payload":{"chatId":"a b"}}', 'bad_frame', /chatId/],
    ['register with a bad since', '{"type":"register","payload":{"chatId":"r","since":"yesterday"}}', 'bad_frame', /since/],
    ['chat with a number message', '{"type":"chat","payload":{"message":5}}', 'bad_frame', /message/],
    ['chat with an empty message', '{"type":"chat","payload":{"message":""}}', 'bad_frame', /message/],
    ['chat over 4096 characters', JSON.stringify({ type: 'chat', payload: { message: 'x'.repeat(4097) } }), 'too_large', /4097/],
    ['direct over 4096 characters', JSON.stringify({ type: 'direct', payload: { to: 'b', message: 'x'.repeat(5000) } }), 'too_large', /5000/],
    ['direct without to', '{"type":"direct","payload":{"message":"m"}}', 'bad_frame', /to/],
    ['watch of 101 users', JSON.stringify({ type: 'watch', payload: { users: Array.from({ length: 101 }, (_, i) => `u${i}`) } }), 'too_many', /101/],
    ['a room id of 65 characters', JSON.stringify({ type: 'leave', payload: { chatId: 'r'.repeat(65) } }), 'bad_frame', /chatId/],
  ];
  it.each(rejected)('rejects %s', (_name, text, code, message) => {
    const result = parseClientFrame(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.message).toMatch(message);
    }
  });
});
