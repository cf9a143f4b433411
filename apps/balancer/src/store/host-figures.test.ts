import { describe, expect, it } from 'vitest';
import { decodeHostFigures, encodeHostFigures } from './fleet-store.js';

describe('hostFigures in a balancer hash', () => {
  const figures = {
    hostId: 'h1',
    cores: 2,
    busyShare: 0.9,
    fleetShare: 0.2,
    othersShare: 0.7,
    processCores: new Map([[42, 0.3]]),
    windowMs: 3000,
    at: 1_763_877_100_000,
  };

  it('round-trips without the per-process figures, under the host the hash names', () => {
    expect(decodeHostFigures(encodeHostFigures(figures), 'h2')).toEqual({ ...figures, hostId: 'h2', processCores: new Map() });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['not JSON', '{'],
    ['a field missing', JSON.stringify({ cores: 2, busyShare: 0.5, fleetShare: 0.1, othersShare: 0.4, windowMs: 3000 })],
    ['a field not a number', JSON.stringify({ cores: '2', busyShare: 0.5, fleetShare: 0.1, othersShare: 0.4, windowMs: 3000, at: 1 })],
  ])('reads %s as unknown', (_name, text) => {
    expect(decodeHostFigures(text, 'h1')).toBeUndefined();
  });
});
