import { describe, expect, it } from 'vitest';
import { encodeChatFrameTail, joinChatFrame } from '@chatfleet/protocol';
import { framesAfter, isAfter } from './replay.js';

const frame = (id: string) => joinChatFrame(id, encodeChatFrameTail({ chatId: 'r', from: 'u', message: id, ts: 1 }));

describe('the since seam', () => {
  it.each([
    // [buffered ids, floor, delivered ids]
    [['5-0', '5-1', '6-0'], undefined, ['5-0', '5-1', '6-0']],
    [['5-0', '5-1', '6-0'], '5-0', ['5-1', '6-0']],
    [['5-0', '5-1', '6-0'], '6-0', []],
    [['9-0', '10-0'], '9-0', ['10-0']],
    [['10-0', '10-2'], '10-1', ['10-2']],
    [[], '3-0', []],
  ])('buffered %j after a replay ending at %s sends %j', (ids, floor, expected) => {
    const sent = framesAfter(ids.map(frame), floor);
    expect(sent).toEqual(expected.map(frame));
  });

  it('compares ids as numbers, not strings', () => {
    expect(isAfter(frame('10-0'), '9-5')).toBe(true);
    expect(isAfter(frame('9-5'), '10-0')).toBe(false);
  });

  it('delivers a frame whose id cannot be read rather than lose it', () => {
    expect(isAfter('{"type":"chat"}', '1-0')).toBe(true);
  });
});
