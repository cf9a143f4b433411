// The RFC 6455 cases of the conformance suite, after the Autobahn testsuite's case list (sections 1-7 and 9): what the client sends and what the RFC wants back.
import { closePayload, frame, type FrameOptions } from './raw-client.js';

/** Bytes to write; `chop` splits them into writes of that many bytes, `delayMs` waits before writing. */
export interface Step {
  bytes: Buffer;
  chop?: number;
  delayMs?: number;
}

/**
 * What the RFC wants:
 * - `accept`: the connection stays open, every message is taken whole
 *   (`answers`: the server answers each message once, chatfleet with an
 *   `error` or other frame, the reference with an echo; `markers` must appear
 *   in those answers, in order), every ping gets its pong (`pongs`, hex);
 * - `fail`: the server fails the connection with a close frame carrying one
 *   of `codes`, then closes TCP (RFC 6455 section 7.1.7);
 * - `close`: the client closed; the server answers with a close frame with
 *   one of `codes` (1005 = a close frame without a code), then closes TCP.
 */
export type Expect =
  | { kind: 'accept'; answers: number; markers?: string[]; pongs?: string[] }
  | { kind: 'fail'; codes: number[] }
  | { kind: 'close'; codes: number[]; answers?: number; pongs?: number; closeFrames?: number };

export interface Case {
  id: string;
  title: string;
  steps: Step[];
  expect: Expect;
}

const Op = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

const text = (payload: Buffer | string, options?: FrameOptions): Buffer => frame(Op.text, payload, options);
const binary = (payload: Buffer | string, options?: FrameOptions): Buffer => frame(Op.binary, payload, options);
const more = (payload: Buffer | string, options?: FrameOptions): Buffer => frame(Op.continuation, payload, options);
const ping = (payload: Buffer | string = ''): Buffer => frame(Op.ping, payload);
const pong = (payload: Buffer | string = ''): Buffer => frame(Op.pong, payload);
const close = (code?: number, reason: string | Buffer = ''): Buffer => frame(Op.close, code === undefined ? '' : closePayload(code, reason));
const hex = (payload: Buffer | string): string => Buffer.from(payload).toString('hex');

/** A JSON text of exactly `size` bytes whose `type` is `marker`: chatfleet names the marker in its `unknown_type` answer, the reference echoes it. */
export function markedText(marker: string, size?: number): string {
  const bare = JSON.stringify({ type: marker, pad: '' });
  if (size === undefined || size <= bare.length) return bare;
  return JSON.stringify({ type: marker, pad: 'x'.repeat(size - bare.length) });
}

/** Splits `payload` into fragments of `size` bytes: first a `opcode` frame, then continuations, the last with FIN. */
function fragmented(opcode: number, payload: Buffer, size: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at === 0 || at < payload.length; at += size) {
    const last = at + size >= payload.length;
    frames.push(frame(at === 0 ? opcode : Op.continuation, payload.subarray(at, at + size), { fin: last }));
  }
  return frames;
}

const one = (bytes: Buffer, chop?: number): Step[] => [{ bytes, ...(chop === undefined ? {} : { chop }) }];
const each = (frames: Buffer[], delayMs = 0, chop?: number): Step[] =>
  frames.map((bytes) => ({ bytes, ...(delayMs > 0 ? { delayMs } : {}), ...(chop === undefined ? {} : { chop }) }));

const accept = (answers: number, extra: { markers?: string[]; pongs?: string[] } = {}): Expect => ({ kind: 'accept', answers, ...extra });
const fail = (...codes: number[]): Expect => ({ kind: 'fail', codes });
const closing = (codes: number[], extra: { answers?: number; pongs?: number; closeFrames?: number } = {}): Expect => ({
  kind: 'close',
  codes,
  ...extra,
});

const KOSME = Buffer.from('κόσμε');

/** Every case, given the server's MAX_PAYLOAD (the message caps of section 9 depend on it). */
export function conformanceCases(maxPayload: number): Case[] {
  const cases: Case[] = [];
  const add = (id: string, title: string, steps: Step[], expect: Expect): void => {
    cases.push({ id, title, steps, expect });
  };

  // 1 Framing: text and binary messages of the lengths around the 7-, 16- and 64-bit forms.
  const sizes = [0, 125, 126, 127, 128, 65_535, 65_536].filter((n) => n <= maxPayload);
  sizes.forEach((size, i) => {
    const marker = `c1.1.${i + 1}`;
    const payload = size === 0 ? '' : markedText(marker, size);
    add(`1.1.${i + 1}`, `text of ${size} bytes`, one(text(payload)), accept(1, size === 0 ? {} : { markers: [marker] }));
    add(`1.2.${i + 1}`, `binary of ${size} bytes`, one(binary(Buffer.alloc(size, 0xfe))), accept(1));
  });
  add('1.1.8', `text of ${maxPayload} bytes written in 997-byte chops`, one(text(markedText('c1.1.8', maxPayload)), 997), accept(1, { markers: ['c1.1.8'] }));
  add('1.2.8', `binary of ${maxPayload} bytes written in 997-byte chops`, one(binary(Buffer.alloc(maxPayload, 0xfe)), 997), accept(1));

  // 2 Pings and pongs.
  add('2.1', 'ping without payload', one(ping()), accept(0, { pongs: [''] }));
  add('2.2', 'ping with a text payload', one(ping('Hello, world!')), accept(0, { pongs: [hex('Hello, world!')] }));
  const bytes8 = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
  add('2.3', 'ping with a binary payload', one(ping(bytes8)), accept(0, { pongs: [hex(bytes8)] }));
  const p125 = Buffer.alloc(125, 0xfe);
  add('2.4', 'ping with a 125-byte payload', one(ping(p125)), accept(0, { pongs: [hex(p125)] }));
  add('2.5', 'ping with a 126-byte payload', one(ping(Buffer.alloc(126, 0xfe))), fail(1002));
  add('2.6', 'ping with a 125-byte payload written byte by byte', one(ping(p125), 1), accept(0, { pongs: [hex(p125)] }));
  add('2.7', 'unsolicited pong without payload', one(pong()), accept(0));
  add('2.8', 'unsolicited pong with a payload', one(pong('unsolicited pong payload')), accept(0));
  add('2.9', 'unsolicited pong, then a ping', each([pong('unsolicited'), ping('ping payload')]), accept(0, { pongs: [hex('ping payload')] }));
  const tenPings = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  add('2.10', '10 pings in one write', one(Buffer.concat(tenPings.map((p) => ping(p)))), accept(0, { pongs: tenPings.map(hex) }));
  add('2.11', '10 pings written byte by byte', one(Buffer.concat(tenPings.map((p) => ping(p))), 1), accept(0, { pongs: tenPings.map(hex) }));

  // 3 Reserved bits: no extension is negotiated, so any set bit fails the connection.
  add('3.1', 'text with RSV1', one(text('reserved', { rsv: 4 })), fail(1002));
  add('3.2', 'text, text with RSV2, ping', one(Buffer.concat([text(markedText('c3.2')), text('x', { rsv: 2 }), ping()])), fail(1002));
  add('3.3', 'the same frame by frame, RSV3', each([text(markedText('c3.3')), text('x', { rsv: 1 }), ping()], 10), fail(1002));
  add('3.4', 'the same byte by byte, RSV1+RSV2', one(Buffer.concat([text(markedText('c3.4')), text('x', { rsv: 6 }), ping()]), 1), fail(1002));
  add('3.5', 'binary with RSV1+RSV3', one(binary(Buffer.from([1, 2, 3]), { rsv: 5 })), fail(1002));
  add('3.6', 'ping with RSV2+RSV3', one(frame(Op.ping, 'x', { rsv: 3 })), fail(1002));
  add('3.7', 'close with every reserved bit', one(frame(Op.close, closePayload(1000), { rsv: 7 })), fail(1002));

  // 4 Opcodes: reserved data opcodes (3-7) and control opcodes (11-15).
  [3, 4, 5, 6, 7].forEach((op, i) => {
    const steps =
      i < 2
        ? one(frame(op, i === 0 ? '' : 'reserved opcode'))
        : one(Buffer.concat([text(markedText(`c4.1.${i + 1}`)), frame(op, 'x'), ping()]), i === 4 ? 1 : undefined);
    add(`4.1.${i + 1}`, `reserved data opcode ${op}`, steps, fail(1002));
  });
  [11, 12, 13, 14, 15].forEach((op, i) => {
    const steps =
      i < 2
        ? one(frame(op, i === 0 ? '' : 'reserved opcode'))
        : one(Buffer.concat([text(markedText(`c4.2.${i + 1}`)), frame(op, 'x'), ping()]), i === 4 ? 1 : undefined);
    add(`4.2.${i + 1}`, `reserved control opcode ${op}`, steps, fail(1002));
  });

  // 5 Fragmentation.
  add('5.1', 'ping in two fragments', one(Buffer.concat([frame(Op.ping, 'frag', { fin: false }), more('ment')])), fail(1002));
  add('5.2', 'pong in two fragments', one(Buffer.concat([frame(Op.pong, 'frag', { fin: false }), more('ment')])), fail(1002));
  const m53 = Buffer.from(markedText('c5.3'));
  const halves = (m: Buffer): Buffer[] => [text(m.subarray(0, 7), { fin: false }), more(m.subarray(7))];
  add('5.3', 'text in two fragments', one(Buffer.concat(halves(m53))), accept(1, { markers: ['c5.3'] }));
  const m54 = Buffer.from(markedText('c5.4'));
  add('5.4', 'the same frame by frame', each(halves(m54), 20), accept(1, { markers: ['c5.4'] }));
  const m55 = Buffer.from(markedText('c5.5'));
  add('5.5', 'the same byte by byte', one(Buffer.concat(halves(m55)), 1), accept(1, { markers: ['c5.5'] }));
  const withPing = (m: Buffer): Buffer[] => [text(m.subarray(0, 7), { fin: false }), ping('between'), more(m.subarray(7))];
  const m56 = Buffer.from(markedText('c5.6'));
  add('5.6', 'text in two fragments with a ping between', one(Buffer.concat(withPing(m56))), accept(1, { markers: ['c5.6'], pongs: [hex('between')] }));
  const m57 = Buffer.from(markedText('c5.7'));
  add('5.7', 'the same frame by frame', each(withPing(m57), 20), accept(1, { markers: ['c5.7'], pongs: [hex('between')] }));
  const m58 = Buffer.from(markedText('c5.8'));
  add('5.8', 'the same byte by byte', one(Buffer.concat(withPing(m58)), 1), accept(1, { markers: ['c5.8'], pongs: [hex('between')] }));
  const orphan = (fin: boolean): Buffer[] => [more('orphan', { fin }), text('frag', { fin: false }), more('ment')];
  add('5.9', 'a final continuation with nothing to continue, then a fragmented text', one(Buffer.concat(orphan(true))), fail(1002));
  add('5.10', 'the same frame by frame', each(orphan(true), 20), fail(1002));
  add('5.11', 'the same byte by byte', one(Buffer.concat(orphan(true)), 1), fail(1002));
  add('5.12', 'a non-final continuation with nothing to continue, then a fragmented text', one(Buffer.concat(orphan(false))), fail(1002));
  add('5.13', 'the same frame by frame', each(orphan(false), 20), fail(1002));
  add('5.14', 'the same byte by byte', one(Buffer.concat(orphan(false)), 1), fail(1002));
  const m515 = Buffer.from(markedText('c5.15'));
  add(
    '5.15',
    'a fragmented text, then a new fragmented text begun with a continuation',
    one(Buffer.concat([...halves(m515), more('x', { fin: false }), text('y')])),
    fail(1002),
  );
  const twice = (first: boolean): Buffer => Buffer.concat([0, 1].flatMap(() => [more('a', { fin: first }), text('b', { fin: false }), more('c')]));
  add('5.16', 'continuation, fragmented text, twice', one(twice(false)), fail(1002));
  add('5.17', 'final continuation, fragmented text, twice', one(twice(true)), fail(1002));
  add('5.18', 'a text fragment followed by a text frame instead of a continuation', one(Buffer.concat([text('frag', { fin: false }), text('ment')])), fail(1002));
  const m519 = Buffer.from(markedText('c5.19'));
  const five = (m: Buffer): Buffer[] => {
    const parts = [0, 5, 10, 15, 20].map((at, i, all) => m.subarray(at, i === all.length - 1 ? m.length : all[i + 1]));
    return [
      text(parts[0]!, { fin: false }),
      more(parts[1]!, { fin: false }),
      ping('pongme 1!'),
      more(parts[2]!, { fin: false }),
      more(parts[3]!, { fin: false }),
      ping('pongme 2!'),
      more(parts[4]!),
    ];
  };
  add('5.19', 'text in five fragments with two pings, frame by frame with pauses', each(five(m519), 40), accept(1, { markers: ['c5.19'], pongs: [hex('pongme 1!'), hex('pongme 2!')] }));
  const m520 = Buffer.from(markedText('c5.20'));
  add('5.20', 'the same byte by byte', one(Buffer.concat(five(m520)), 1), accept(1, { markers: ['c5.20'], pongs: [hex('pongme 1!'), hex('pongme 2!')] }));

  // 6 UTF-8 in text messages.
  add('6.1.1', 'an empty text', one(text('')), accept(1));
  add('6.1.2', 'an empty text in three empty fragments', one(Buffer.concat([text('', { fin: false }), more('', { fin: false }), more('')])), accept(1));
  add('6.1.3', 'empty, non-empty, empty fragments', one(Buffer.concat([text('', { fin: false }), more('middle', { fin: false }), more('')])), accept(1));
  const hello = Buffer.from(JSON.stringify({ type: 'c6.2', text: 'Hello-µ@ßöäüàá-UTF-8!!' }));
  add('6.2.1', 'valid UTF-8 in one frame', one(text(hello)), accept(1, { markers: ['c6.2'] }));
  add('6.2.2', 'valid UTF-8 in 16-byte fragments', one(Buffer.concat(fragmented(Op.text, hello, 16))), accept(1, { markers: ['c6.2'] }));
  add('6.2.3', 'valid UTF-8 in one-byte fragments (code points split)', one(Buffer.concat(fragmented(Op.text, hello, 1))), accept(1, { markers: ['c6.2'] }));
  add('6.2.4', 'κόσμε in one-byte fragments', one(Buffer.concat(fragmented(Op.text, KOSME, 1))), accept(1));
  const broken = Buffer.concat([KOSME, Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('edited')]);
  add('6.3.1', 'invalid UTF-8 in one frame', one(text(broken)), fail(1007));
  add('6.3.2', 'invalid UTF-8 in one-byte fragments', one(Buffer.concat(fragmented(Op.text, broken, 1))), fail(1007));
  add(
    '6.4.1',
    'invalid UTF-8 in the middle fragment, the last one a moment later',
    [{ bytes: Buffer.concat([text(KOSME, { fin: false }), more(Buffer.from([0xf4, 0x90, 0x80, 0x80]), { fin: false })]) }, { bytes: more('edited'), delayMs: 100 }],
    fail(1007),
  );
  add(
    '6.4.2',
    'a code point cut by a fragment boundary that turns out invalid',
    [{ bytes: Buffer.concat([text(Buffer.concat([KOSME, Buffer.from([0xf4])]), { fin: false }), more(Buffer.from([0x90, 0x80, 0x80]), { fin: false })]) }, { bytes: more('edited'), delayMs: 100 }],
    fail(1007),
  );
  // κόσμε cut after each byte: a text must end on a code point boundary.
  const boundaries = new Set([...'κόσμε'].map((_, i, all) => Buffer.byteLength(all.slice(0, i + 1).join(''))));
  for (let n = 1; n <= KOSME.length; n++) {
    add(`6.6.${n}`, `the first ${n} bytes of κόσμε`, one(text(KOSME.subarray(0, n))), boundaries.has(n) ? accept(1) : fail(1007));
  }
  const sequences: Array<[string, string, number[], boolean]> = [
    ['6.7.1', 'U+0000', [0x00], true],
    ['6.7.2', 'U+0080', [0xc2, 0x80], true],
    ['6.7.3', 'U+0800', [0xe0, 0xa0, 0x80], true],
    ['6.7.4', 'U+10000', [0xf0, 0x90, 0x80, 0x80], true],
    ['6.8.1', 'a 5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80], false],
    ['6.8.2', 'a 6-byte sequence', [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80], false],
    ['6.9.1', 'U+007F', [0x7f], true],
    ['6.9.2', 'U+07FF', [0xdf, 0xbf], true],
    ['6.9.3', 'U+FFFF', [0xef, 0xbf, 0xbf], true],
    ['6.9.4', 'U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], true],
    ['6.10.1', 'U+1FFFFF (past Unicode)', [0xf7, 0xbf, 0xbf, 0xbf], false],
    ['6.10.2', 'U+110000', [0xf4, 0x90, 0x80, 0x80], false],
    ['6.11.1', 'U+D7FF', [0xed, 0x9f, 0xbf], true],
    ['6.11.2', 'U+E000', [0xee, 0x80, 0x80], true],
    ['6.11.3', 'U+FFFD', [0xef, 0xbf, 0xbd], true],
    ['6.12.1', 'a lone continuation byte 0x80', [0x80], false],
    ['6.12.2', 'a lone continuation byte 0xbf', [0xbf], false],
    ['6.12.3', 'two continuation bytes', [0x80, 0xbf], false],
    ['6.13.1', 'a lone start byte followed by a space', [0xc0, 0x20], false],
    ['6.13.2', 'a 3-byte start followed by a space', [0xe0, 0x20], false],
    ['6.14.1', 'a 2-byte sequence without its last byte', [0xc2], false],
    ['6.14.2', 'a 3-byte sequence without its last byte', [0xe0, 0xa0], false],
    ['6.14.3', 'a 4-byte sequence without its last byte', [0xf0, 0x90, 0x80], false],
    ['6.16.1', 'the impossible byte 0xfe', [0xfe], false],
    ['6.16.2', 'the impossible byte 0xff', [0xff], false],
    ['6.17.1', 'an overlong /', [0xc0, 0xaf], false],
    ['6.17.2', 'a 3-byte overlong /', [0xe0, 0x80, 0xaf], false],
    ['6.17.3', 'a 4-byte overlong /', [0xf0, 0x80, 0x80, 0xaf], false],
    ['6.18.1', 'the largest 2-byte overlong', [0xc1, 0xbf], false],
    ['6.19.1', 'an overlong NUL', [0xc0, 0x80], false],
    ['6.20.1', 'the lone surrogate U+D800', [0xed, 0xa0, 0x80], false],
    ['6.20.2', 'the lone surrogate U+DFFF', [0xed, 0xbf, 0xbf], false],
    ['6.21.1', 'a surrogate pair in UTF-8', [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], false],
    ['6.22.1', 'the non-character U+FFFE', [0xef, 0xbf, 0xbe], true],
    ['6.22.2', 'the non-character U+1FFFF', [0xf0, 0x9f, 0xbf, 0xbf], true],
  ];
  for (const [id, title, seq, valid] of sequences) {
    const payload = Buffer.concat([Buffer.from('a'), Buffer.from(seq), Buffer.from('z')]);
    add(id, `${title} inside a text`, one(text(payload)), valid ? accept(1) : fail(1007));
  }

  // 7 Closing.
  add('7.1.1', 'a text, then a close', one(Buffer.concat([text(markedText('c7.1.1')), close(1000)])), closing([1000], { answers: 1 }));
  add('7.1.2', 'two closes', one(Buffer.concat([close(1000), close(1000)])), closing([1000], { closeFrames: 1 }));
  add('7.1.3', 'a close, then a ping (not answered)', one(Buffer.concat([close(1000), ping('too late')])), closing([1000], { pongs: 0 }));
  add('7.1.4', 'a close, then a text (not answered)', one(Buffer.concat([close(1000), text(markedText('late'))])), closing([1000], { answers: 0 }));
  add(
    '7.1.5',
    'a text fragment, a close, the last fragment',
    one(Buffer.concat([text('frag', { fin: false }), close(1000), more('ment')])),
    closing([1000], { answers: 0 }),
  );
  const big = Math.min(maxPayload, 60_000);
  add('7.1.6', `a ${big}-byte text, a close, a ping`, one(Buffer.concat([text(markedText('c7.1.6', big)), close(1000), ping()])), closing([1000], { answers: 1, pongs: 0 }));
  add('7.3.1', 'a close without payload', one(close()), closing([1005, 1000]));
  add('7.3.2', 'a close with a 1-byte payload', one(frame(Op.close, Buffer.from([0x03]))), fail(1002));
  add('7.3.3', 'a close with 1000 and no reason', one(close(1000)), closing([1000]));
  add('7.3.4', 'a close with 1000 and a reason', one(close(1000, 'Hello World!')), closing([1000]));
  add('7.3.5', 'a close with a 123-byte reason', one(close(1000, '*'.repeat(123))), closing([1000]));
  add('7.3.6', 'a close with a 124-byte reason (payload over 125)', one(close(1000, '*'.repeat(124))), fail(1002));
  add('7.5.1', 'a close whose reason is not UTF-8', one(close(1000, Buffer.concat([KOSME, Buffer.from([0xed, 0xa0, 0x80])]))), fail(1007, 1002));
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) =>
    add(`7.7.${i + 1}`, `a close with the valid code ${code}`, one(close(code)), closing([code])),
  );
  [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999].forEach((code, i) =>
    add(`7.9.${i + 1}`, `a close with the invalid code ${code}`, one(close(code)), fail(1002)),
  );
  [5000, 65_535].forEach((code, i) => add(`7.13.${i + 1}`, `a close with the invalid code ${code}`, one(close(code)), fail(1002)));

  // 9 Limits, at MAX_PAYLOAD: whole, fragmented and chopped messages up to it; over it 1009.
  const over = [4 * maxPayload, 16 * maxPayload];
  add('9.1.1', `text of ${maxPayload} bytes`, one(text(markedText('c9.1.1', maxPayload))), accept(1, { markers: ['c9.1.1'] }));
  over.forEach((size, i) => add(`9.1.${i + 2}`, `text of ${size} bytes`, one(text(Buffer.alloc(size, 0x2a))), fail(1009)));
  add('9.2.1', `binary of ${maxPayload} bytes`, one(binary(Buffer.alloc(maxPayload, 0xfe))), accept(1));
  over.forEach((size, i) => add(`9.2.${i + 2}`, `binary of ${size} bytes`, one(binary(Buffer.alloc(size, 0xfe))), fail(1009)));
  const max = Buffer.from(markedText('c9.3', maxPayload));
  [64, 256, 4096].forEach((size, i) =>
    add(`9.3.${i + 1}`, `text of ${maxPayload} bytes in ${size}-byte fragments`, one(Buffer.concat(fragmented(Op.text, max, size))), accept(1, { markers: ['c9.3'] })),
  );
  add('9.3.4', `text of ${over[0]} bytes in 4096-byte fragments`, one(Buffer.concat(fragmented(Op.text, Buffer.alloc(over[0]!, 0x2a), 4096))), fail(1009));
  const maxBinary = Buffer.alloc(maxPayload, 0xfe);
  [64, 4096].forEach((size, i) =>
    add(`9.4.${i + 1}`, `binary of ${maxPayload} bytes in ${size}-byte fragments`, one(Buffer.concat(fragmented(Op.binary, maxBinary, size))), accept(1)),
  );
  add('9.4.3', `binary of ${over[0]} bytes in ${maxPayload}-byte fragments`, one(Buffer.concat(fragmented(Op.binary, Buffer.alloc(over[0]!, 0xfe), maxPayload))), fail(1009));
  [64, 4096].forEach((chop, i) => {
    add(`9.5.${i + 1}`, `text of ${maxPayload} bytes written in ${chop}-byte chops`, one(text(max), chop), accept(1, { markers: ['c9.3'] }));
    add(`9.6.${i + 1}`, `binary of ${maxPayload} bytes written in ${chop}-byte chops`, one(binary(maxBinary), chop), accept(1));
  });
  const many = (count: number, make: (i: number) => Buffer): Buffer => Buffer.concat(Array.from({ length: count }, (_, i) => make(i)));
  add('9.7.1', '1000 empty texts', one(many(1000, () => text(''))), accept(1000));
  add('9.7.2', '1000 texts of 64 bytes', one(many(1000, (i) => text(markedText(`m${i}`, 64)))), accept(1000));
  add('9.7.3', '100 texts of 16 KiB', one(many(100, (i) => text(markedText(`m${i}`, 16_384)))), accept(100));
  add('9.8.1', '1000 binaries of 16 bytes', one(many(1000, () => binary(Buffer.alloc(16, 1)))), accept(1000));
  add('9.8.2', '100 binaries of 16 KiB', one(many(100, () => binary(Buffer.alloc(16_384, 1)))), accept(100));
  return cases;
}
