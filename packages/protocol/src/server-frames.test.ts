import { describe, expect, it } from 'vitest';
import { chatFrameId, encodeChatFrameTail, encodeServerFrame, joinChatFrame, parseServerFrame } from './server-frames.js';

describe('chat frames built around their id', () => {
  const cases = [
    { chatId: 'r1', from: 'alice', message: 'hello', ts: 1 },
    { chatId: 'r1', from: 'bob', message: 'quotes " and \\ and \u2028 and emoji 😀', ts: 2, clientId: 'c-9' },
  ];
  it.each(cases)('joins head, id and tail into the frame JSON.stringify would give (%#)', (message) => {
    const frame = joinChatFrame('1700000000000-7', encodeChatFrameTail(message));
    expect(JSON.parse(frame)).toEqual({ type: 'chat', payload: { id: '1700000000000-7', ...message } });
    expect(parseServerFrame(frame).type).toBe('chat');
    expect(chatFrameId(frame)).toBe('1700000000000-7');
  });

  it('finds no id in other frames', () => {
    expect(chatFrameId(encodeServerFrame('ack', { id: '1-1' }))).toBeUndefined();
  });
});

describe('error frames', () => {
  it('carry the refused send clientId when there is one, and parse without it as before', () => {
    const named = encodeServerFrame('error', { code: 'rate_limited', message: 'busy', clientId: 'c-1' });
    expect(parseServerFrame(named)).toEqual({ type: 'error', payload: { code: 'rate_limited', message: 'busy', clientId: 'c-1' } });
    const plain = encodeServerFrame('error', { code: 'bad_frame', message: 'nope' });
    expect(plain).toBe('{"type":"error","payload":{"code":"bad_frame","message":"nope"}}');
    expect(parseServerFrame(plain)).toEqual({ type: 'error', payload: { code: 'bad_frame', message: 'nope' } });
  });
});
