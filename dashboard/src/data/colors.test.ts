import { describe, expect, it } from 'vitest';
import { assignColors, SERVER_PALETTE } from './colors.js';

const s = (id: string, startedAt = 0) => ({ id, startedAt });

describe('assignColors', () => {
  it('hands out the palette in order of appearance', () => {
    const colors = assignColors(new Map(), [s('srv-b', 2), s('srv-a', 1), s('srv-c', 2)]);
    expect([colors.get('srv-a'), colors.get('srv-b'), colors.get('srv-c')]).toEqual(SERVER_PALETTE.slice(0, 3));
  });

  it('keeps a listed server its colour and gives a newcomer a colour no listed server holds', () => {
    const first = assignColors(new Map(), [s('srv-a', 1), s('srv-b', 2), s('srv-c', 3)]);
    // srv-b is dropped from the list; srv-d arrives and gets srv-b's freed colour, the others keep theirs.
    const second = assignColors(first, [s('srv-a', 1), s('srv-c', 3), s('srv-d', 4)]);
    expect(second.get('srv-a')).toBe(first.get('srv-a'));
    expect(second.get('srv-c')).toBe(first.get('srv-c'));
    expect(second.get('srv-d')).toBe(first.get('srv-b'));
    expect(second.has('srv-b')).toBe(false);
  });

  it('never gives two listed servers the same colour, past the palette too', () => {
    // Ids that the old hash put on the same colour are no longer a problem: colours are not derived from ids.
    const servers = Array.from({ length: 40 }, (_, i) => s(`srv-${i}`, i));
    let colors = assignColors(new Map(), servers.slice(0, 20));
    colors = assignColors(colors, servers.slice(10));
    expect(new Set(colors.values()).size).toBe(30);
  });
});
