import { describe, expect, it } from 'vitest';
import { isValidCloseCode, readFrames, type FrameSink, type PendingFrames } from './frame-parser.js';

interface FrameOptions {
  fin?: boolean;
  masked?: boolean;
  rsv?: number;
  /** Forces the 16- or 64-bit length form even for short payloads. */
  lengthForm?: 16 | 64;
  /** Declared length, when it must differ from the payload's. */
  declared?: number;
}

/** A client frame as RFC 6455 section 5.2 lays it out, masked with a fixed non-zero key unless told otherwise. */
function frame(opcode: number, payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = options.declared ?? body.length;
  const masked = options.masked ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (options.lengthForm === 64 || length > 65_535) {
    head.push(maskBit | 127, 0, 0, 0, 0, (length >>> 24) & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255);
  } else if (options.lengthForm === 16 || length > 125) {
    head.push(maskBit | 126, length >> 8, length & 255);
  } else {
    head.push(maskBit | length);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), body]);
  const key = [0x37, 0xfa, 0x21, 0x3d];
  const out = Buffer.from(body.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), Buffer.from(key), out]);
}

function closePayload(code: number, reason = ''): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

/** Records what the parser reports, one line per event. */
class Recorder implements FrameSink {
  readonly events: string[] = [];
  onFrameMessage(data: Buffer, binary: boolean): void {
    this.events.push(binary ? `binary ${data.toString('hex')}` : `text ${data.toString()}`);
  }
  onFramePing(data: Buffer): void {
    this.events.push(`ping ${data.toString()}`);
  }
  onFramePong(data: Buffer): void {
    this.events.push(`pong ${data.toString()}`);
  }
  onFrameClose(code: number, reason: string): void {
    this.events.push(`close ${code} ${reason}`);
  }
  onFrameError(code: number): void {
    this.events.push(`error ${code}`);
  }
}

const MAX = 1000;
/** The fragment cap in these tests: a message may come in up to 8 frames. */
const FRAGMENTS = 8;

/**
 * Feeds `chunks` (copies: the parser unmasks in place) as a connection does,
 * reading nothing after a close or an error, and returns the events and the state left.
 */
function feed(chunks: Buffer[], max = MAX, maxFragments = FRAGMENTS): { events: string[]; pending: PendingFrames | undefined } {
  const sink = new Recorder();
  const limits = { maxPayload: max, maxFragments };
  let pending: PendingFrames | undefined;
  for (const chunk of chunks) {
    if (/^(close|error) /.test(sink.events.at(-1) ?? '')) break;
    pending = readFrames(pending, Buffer.from(chunk), limits, sink);
  }
  return { events: sink.events, pending };
}

const text = (s: string, o?: FrameOptions): Buffer => frame(1, s, o);
const utf8Bad = Buffer.from([0x68, 0xc3, 0x28]);

const cases: Array<[string, Buffer[], string[]]> = [
  ['a short text', [text('hello')], ['text hello']],
  ['an empty text', [text('')], ['text ']],
  ['a text with a 16-bit length', [text('x'.repeat(300))], [`text ${'x'.repeat(300)}`]],
  ['a short text in the 64-bit length form', [text('long form', { lengthForm: 64 })], ['text long form']],
  ['a binary message', [frame(2, Buffer.from([1, 2, 3]))], ['binary 010203']],
  ['multi-byte UTF-8', [text('héllo ✓ 😀')], ['text héllo ✓ 😀']],
  ['an unmasked-key (all zero) frame', [Buffer.concat([Buffer.from([0x81, 0x82, 0, 0, 0, 0]), Buffer.from('hi')])], ['text hi']],
  ['three frames in one chunk', [Buffer.concat([text('a'), text('b'), text('c')])], ['text a', 'text b', 'text c']],
  [
    'a fragmented text with a ping in between',
    [Buffer.concat([text('hel', { fin: false }), frame(9, 'p'), frame(0, 'lo', { fin: false }), frame(0, ' you')])],
    ['ping p', 'text hello you'],
  ],
  ['a fragmented binary', [Buffer.concat([frame(2, Buffer.from([9]), { fin: false }), frame(0, Buffer.from([8]))])], ['binary 0908']],
  ['a character split across fragments', [Buffer.concat([frame(1, Buffer.from([0xc3]), { fin: false }), frame(0, Buffer.from([0xa9]))])], ['text é']],
  ['ping with a payload', [frame(9, 'are you there')], ['ping are you there']],
  ['pong', [frame(10, '')], ['pong ']],
  ['close with a code and reason', [frame(8, closePayload(1000, 'bye')), text('ignored')], ['close 1000 bye']],
  ['close without a code', [frame(8, '')], ['close 1005 ']],
  ['close with an application code', [frame(8, closePayload(4321))], ['close 4321 ']],
  ['an unmasked frame', [text('hi', { masked: false })], ['error 1002']],
  ['reserved bit 1', [text('hi', { rsv: 4 })], ['error 1002']],
  ['reserved bit 3', [text('hi', { rsv: 1 })], ['error 1002']],
  ['an unknown data opcode', [frame(3, 'x')], ['error 1002']],
  ['an unknown control opcode', [frame(11, 'x')], ['error 1002']],
  ['a fragmented ping', [frame(9, 'x', { fin: false })], ['error 1002']],
  ['a ping over 125 bytes', [frame(9, 'p'.repeat(126))], ['error 1002']],
  ['a continuation with nothing to continue', [frame(0, 'x')], ['error 1002']],
  ['a new text inside a fragmented one', [Buffer.concat([text('a', { fin: false }), text('b')])], ['error 1002']],
  ['a close with a 1-byte payload', [frame(8, Buffer.from([3]))], ['error 1002']],
  ['a close with code 1005', [frame(8, closePayload(1005))], ['error 1002']],
  ['a close with code 999', [frame(8, closePayload(999))], ['error 1002']],
  ['a close with code 5000', [frame(8, closePayload(5000))], ['error 1002']],
  ['a close whose reason is not UTF-8', [frame(8, Buffer.concat([closePayload(1000), utf8Bad]))], ['error 1007']],
  ['a text that is not UTF-8', [frame(1, utf8Bad), text('after')], ['error 1007']],
  ['a fragmented text that is not UTF-8 once joined', [Buffer.concat([frame(1, utf8Bad.subarray(0, 2), { fin: false }), frame(0, utf8Bad.subarray(2))])], ['error 1007']],
  ['a binary that is not UTF-8 (fine)', [frame(2, utf8Bad)], ['binary 68c328']],
  ['a message of exactly MAX_PAYLOAD', [text('m'.repeat(MAX))], [`text ${'m'.repeat(MAX)}`]],
  ['a message one byte over MAX_PAYLOAD', [text('m'.repeat(MAX + 1))], ['error 1009']],
  ['fragments that together pass MAX_PAYLOAD', [Buffer.concat([text('m'.repeat(600), { fin: false }), frame(0, 'm'.repeat(401))])], ['error 1009']],
  ['a frame that declares 4 GiB or more', [Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4])], ['error 1009']],
  [
    'a message in exactly MAX_FRAGMENTS frames',
    [Buffer.concat([text('a', { fin: false }), ...Array.from({ length: FRAGMENTS - 2 }, () => frame(0, 'b', { fin: false })), frame(0, 'c')])],
    [`text a${'b'.repeat(FRAGMENTS - 2)}c`],
  ],
  [
    'a message in one frame more than MAX_FRAGMENTS',
    [Buffer.concat([text('a', { fin: false }), ...Array.from({ length: FRAGMENTS - 1 }, () => frame(0, 'b', { fin: false })), frame(0, 'c')])],
    ['error 1008'],
  ],
  [
    'empty fragments past MAX_FRAGMENTS (the empty-fragment flood)',
    [Buffer.concat([text('', { fin: false }), ...Array.from({ length: FRAGMENTS + 3 }, () => frame(0, '', { fin: false }))])],
    ['error 1008'],
  ],
  [
    'an all-empty fragmented message',
    [Buffer.concat([text('', { fin: false }), frame(0, '', { fin: false }), frame(0, '')])],
    ['text '],
  ],
  [
    'empty fragments between full ones',
    [Buffer.concat([text('he', { fin: false }), frame(0, '', { fin: false }), frame(0, 'll', { fin: false }), frame(0, ''), text('o')])],
    ['text hell', 'text o'],
  ],
  [
    'control frames between fragments do not count as fragments',
    [Buffer.concat([text('a', { fin: false }), ...Array.from({ length: FRAGMENTS + 2 }, () => frame(9, '')), frame(0, 'z')])],
    [...Array.from({ length: FRAGMENTS + 2 }, () => 'ping '), 'text az'],
  ],
  [
    'two messages in a row of MAX_FRAGMENTS frames each (the count starts again)',
    [
      Buffer.concat(
        [1, 2].flatMap((n) => [
          text(`m${n}`, { fin: false }),
          ...Array.from({ length: FRAGMENTS - 2 }, () => frame(0, '.', { fin: false })),
          frame(0, '!'),
        ]),
      ),
    ],
    [`text m1${'.'.repeat(FRAGMENTS - 2)}!`, `text m2${'.'.repeat(FRAGMENTS - 2)}!`],
  ],
  [
    'a fragmented binary message of exactly MAX_PAYLOAD in uneven fragments',
    [Buffer.concat([frame(2, Buffer.alloc(333, 1), { fin: false }), frame(0, Buffer.alloc(600, 2), { fin: false }), frame(0, Buffer.alloc(67, 3))])],
    [`binary ${Buffer.concat([Buffer.alloc(333, 1), Buffer.alloc(600, 2), Buffer.alloc(67, 3)]).toString('hex')}`],
  ],
  ['events before an error are kept, after it dropped', [Buffer.concat([text('ok'), text('bad', { masked: false }), text('never')])], ['text ok', 'error 1002']],
];

describe('readFrames', () => {
  it.each(cases)('parses %s', (_name, chunks, expected) => {
    expect(feed(chunks).events).toEqual(expected);
  });

  it.each(cases)('parses %s the same when split at every byte boundary', (_name, chunks, expected) => {
    const whole = Buffer.concat(chunks);
    for (let at = 1; at < whole.length; at++) {
      expect(feed([whole.subarray(0, at), whole.subarray(at)]).events, `split at ${at}`).toEqual(expected);
    }
  });

  it.each(cases.filter(([, chunks]) => Buffer.concat(chunks).length < 400))('parses %s the same one byte at a time', (_name, chunks, expected) => {
    const whole = Buffer.concat(chunks);
    const bytes = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
    expect(feed(bytes).events).toEqual(expected);
  });

  it('fails an oversized message from its header alone, before its payload arrives', () => {
    const header = text('m'.repeat(MAX + 1)).subarray(0, 8);
    expect(feed([header])).toEqual({ events: ['error 1009'], pending: undefined });
  });

  it('keeps no state between whole frames, and some while a frame or a message is incomplete', () => {
    expect(feed([text('a')]).pending).toBeUndefined();
    expect(feed([text('abc').subarray(0, 1)]).pending?.head?.length).toBe(1);
    const partial = feed([text('abcdef').subarray(0, 9)]).pending;
    expect(partial?.length).toBe(6);
    expect(partial?.filled).toBe(3);
    expect(feed([text('ab', { fin: false })]).pending).toMatchObject({ fragments: 1, messageLength: 2, messageOpcode: 1 });
    expect(feed([Buffer.concat([text('ab', { fin: false }), frame(0, 'c')])]).pending).toBeUndefined();
  });

  it('buffers no more than twice what has arrived of a large frame, whatever its header declares', () => {
    const header = text('m'.repeat(MAX)).subarray(0, 8);
    const pending = feed([Buffer.concat([header, Buffer.from('m'.repeat(300))])]).pending;
    expect(pending?.length).toBe(MAX);
    expect(pending?.payload?.length).toBeLessThanOrEqual(600);
  });

  it('reads a 70,000-byte message in the 64-bit length form when MAX_PAYLOAD allows it', () => {
    const big = 'q'.repeat(70_000);
    const whole = text(big);
    expect(whole[1]! & 0x7f).toBe(127);
    expect(feed([whole.subarray(0, 5000), whole.subarray(5000, 40_000), whole.subarray(40_000)], 100_000).events).toEqual([`text ${big}`]);
  });
});

describe('readFrames under fragment attacks', () => {
  const caps = { maxPayload: 65_536, maxFragments: 16_384 };
  const sink = (): Recorder => new Recorder();

  it('keeps nothing for empty fragments: no message buffer, however many come', () => {
    const recorder = sink();
    let pending = readFrames(undefined, text('', { fin: false }), caps, recorder);
    for (let i = 0; i < 10_000; i++) pending = readFrames(pending, frame(0, '', { fin: false }), caps, recorder);
    expect(pending?.message).toBeUndefined();
    expect(pending?.fragments).toBe(10_001);
    expect(recorder.events).toEqual([]);
  });

  it('gathers one-byte fragments in one buffer that grows by doubling, not one allocation each', () => {
    const recorder = sink();
    let pending = readFrames(undefined, text('x', { fin: false }), caps, recorder);
    const buffers = new Set<Buffer>();
    for (let i = 0; i < 5000; i++) {
      pending = readFrames(pending, frame(0, 'y', { fin: false }), caps, recorder);
      buffers.add(pending!.message!);
    }
    // 5001 bytes in a buffer that started at 256 bytes: 256, 512, ..., 8192.
    expect(buffers.size).toBeLessThanOrEqual(6);
    expect(pending!.message!.length).toBeLessThanOrEqual(2 * 5001);
    pending = readFrames(pending, frame(0, 'z'), caps, recorder);
    expect(pending).toBeUndefined();
    expect(recorder.events).toEqual([`text x${'y'.repeat(5000)}z`]);
  });

  it('never grows the message buffer past maxPayload', () => {
    const recorder = sink();
    const limits = { maxPayload: 1500, maxFragments: 100 };
    let pending = readFrames(undefined, text('a'.repeat(700), { fin: false }), limits, recorder);
    pending = readFrames(pending, frame(0, 'b'.repeat(700), { fin: false }), limits, recorder);
    expect(pending!.message!.length).toBeLessThanOrEqual(1500);
    pending = readFrames(pending, frame(0, 'c'.repeat(100)), limits, recorder);
    expect(recorder.events).toEqual([`text ${'a'.repeat(700)}${'b'.repeat(700)}${'c'.repeat(100)}`]);
  });

  it('fails the fragment past the cap from its header, before its payload arrives', () => {
    const limits = { maxPayload: 65_536, maxFragments: 2 };
    const third = frame(0, 'x'.repeat(500)).subarray(0, 8);
    const events = feed([Buffer.concat([text('a', { fin: false }), frame(0, 'b', { fin: false }), third])], 65_536, limits.maxFragments);
    expect(events).toEqual({ events: ['error 1008'], pending: undefined });
  });
});

describe('isValidCloseCode', () => {
  it.each([
    [1000, true],
    [1001, true],
    [1003, true],
    [1004, false],
    [1005, false],
    [1006, false],
    [1007, true],
    [1014, true],
    [1015, false],
    [2999, false],
    [3000, true],
    [4999, true],
    [5000, false],
  ])('says %d is valid on the wire: %s', (code, valid) => {
    expect(isValidCloseCode(code)).toBe(valid);
  });
});
