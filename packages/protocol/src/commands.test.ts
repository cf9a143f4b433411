// Table tests of the balancer-to-server commands: old forms keep working, the room-aware and acknowledged forms parse.
import { describe, expect, it } from 'vitest';
import { parseCommandAck, parseServerCommand } from './commands.js';

describe('parseServerCommand', () => {
  it.each([
    {
      name: 'the SPEC redistribute',
      text: '{"type":"redistribute","n":40,"redirect":"ws://h:1/"}',
      parsed: { type: 'redistribute', n: 40, redirect: 'ws://h:1/' },
    },
    { name: 'the SPEC drain', text: '{"type":"drain"}', parsed: { type: 'drain' } },
    {
      name: 'a room-aware redistribute with an id',
      text: '{"type":"redistribute","n":5,"redirect":"ws://h:1/","id":"c-1","moves":[{"room":"a","n":3},{"room":"b","n":2}]}',
      parsed: { type: 'redistribute', n: 5, redirect: 'ws://h:1/', id: 'c-1', moves: [{ room: 'a', n: 3 }, { room: 'b', n: 2 }] },
    },
    {
      name: 'a drain with routes',
      text: '{"type":"drain","id":"c-2","routes":[{"room":"a","redirect":"ws://h:2/"}]}',
      parsed: { type: 'drain', id: 'c-2', routes: [{ room: 'a', redirect: 'ws://h:2/' }] },
    },
  ])('parses $name', ({ text, parsed }) => {
    expect(parseServerCommand(text)).toEqual(parsed);
  });

  it.each([
    { name: 'a move of 0 members', text: '{"type":"redistribute","n":1,"redirect":"ws://h/","moves":[{"room":"a","n":0}]}' },
    { name: 'a move naming a bad room id', text: '{"type":"redistribute","n":1,"redirect":"ws://h/","moves":[{"room":"a b","n":1}]}' },
    { name: 'an id with braces', text: '{"type":"drain","id":"c}1"}' },
    { name: 'a route without a redirect', text: '{"type":"drain","routes":[{"room":"a"}]}' },
    { name: 'text that is not JSON', text: 'drain' },
  ])('refuses $name', ({ text }) => {
    expect(parseServerCommand(text)).toBeUndefined();
  });
});

describe('parseCommandAck', () => {
  it('reads an ack and refuses anything else', () => {
    const ack = { id: 'c-1', serverId: 'srv-a', ok: true, detail: 'moving 3', moved: 3, at: 5 };
    expect(parseCommandAck(JSON.stringify(ack))).toEqual(ack);
    expect(parseCommandAck(null)).toBeUndefined();
    expect(parseCommandAck('{"id":"c-1"}')).toBeUndefined();
    expect(parseCommandAck('nope')).toBeUndefined();
  });
});
