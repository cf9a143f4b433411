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

  const keepsClientId: Array<[string, unknown, string, string | undefined]> = [
    ['a chat over 4096 characters', { type: 'chat', payload: { message: 'x'.repeat(4097), clientId: 'c1' } }, 'too_large', 'c1'],
    ['a direct over 4096 characters', { type: 'direct', payload: { to: 'b', message: 'x'.repeat(4097), clientId: 'd1' } }, 'too_large', 'd1'],
    ['a chat with an empty message', { type: 'chat', payload: { message: '', clientId: 'c2' } }, 'bad_frame', 'c2'],
    ['a chat with a bad room id', { type: 'chat', payload: { chatId: 'a b', message: 'hi', clientId: 'c3' } }, 'bad_frame', 'c3'],
    ['a direct without to', { type: 'direct', payload: { message: 'm', clientId: 'd2' } }, 'bad_frame', 'd2'],
    ['a clientId of exactly 64 characters', { type: 'chat', payload: { message: '', clientId: 'k'.repeat(64) } }, 'bad_frame', 'k'.repeat(64)],
    ['a clientId of 65 characters', { type: 'chat', payload: { message: 'hi', clientId: 'k'.repeat(65) } }, 'bad_frame', undefined],
    ['an empty clientId', { type: 'chat', payload: { message: 'hi', clientId: '' } }, 'bad_frame', undefined],
    ['a clientId that is a number', { type: 'chat', payload: { message: 'hi', clientId: 7 } }, 'bad_frame', undefined],
    ['a payload that is a string', { type: 'chat', payload: 'hi' }, 'bad_frame', undefined],
    ['a payload that is null', { type: 'direct', payload: null }, 'bad_frame', undefined],
    ['a chat without payload', { type: 'chat', clientId: 'top' }, 'bad_frame', undefined],
    ['a register (not a send) with a clientId', { type: 'register', payload: { chatId: 'a b', clientId: 'r1' } }, 'bad_frame', undefined],
    ['an unknown type with a clientId', { type: 'shout', payload: { clientId: 's1' } }, 'unknown_type', undefined],
  ];
  it.each(keepsClientId)('reads the clientId of %s defensively', (_name, frame, code, clientId) => {
    const result = parseClientFrame(JSON.stringify(frame));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.clientId).toBe(clientId);
      if (clientId === undefined) expect('clientId' in result).toBe(false);
    }
  });
});
