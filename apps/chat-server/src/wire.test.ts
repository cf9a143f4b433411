import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { frameString } from './wire.js';

// ws's own framer, to check our bytes against it.
const require = createRequire(import.meta.url);
const { Sender } = require('ws') as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

describe('frameString', () => {
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_000])('frames %d bytes exactly as ws does', (size) => {
    const text = 'a'.repeat(size);
    const expected = Buffer.concat(
      Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }),
    );
    expect(frameString(text).equals(expected)).toBe(true);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const framed = frameString('é');
    expect(framed[1]).toBe(2);
  });
});
