import { describe, expect, it } from 'vitest';
import { Emitter } from './emitter.js';

interface Events {
  ping: number;
  error: Error;
}

class TestEmitter extends Emitter<Events> {
  fire<K extends keyof Events>(event: K, value: Events[K]): void {
    this.emit(event, value);
  }
}

describe('Emitter', () => {
  it('calls listeners in order and stops after unsubscribe', () => {
    const emitter = new TestEmitter();
    const seen: string[] = [];
    const off = emitter.on('ping', (n) => seen.push(`a${n}`));
    emitter.on('ping', (n) => seen.push(`b${n}`));
    emitter.fire('ping', 1);
    off();
    emitter.fire('ping', 2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
  });

  it('runs a once listener a single time', () => {
    const emitter = new TestEmitter();
    let count = 0;
    emitter.once('ping', () => count++);
    emitter.fire('ping', 1);
    emitter.fire('ping', 2);
    expect(count).toBe(1);
    expect(emitter.has('ping')).toBe(false);
  });

  it('drops an error event nobody listens to', () => {
    const emitter = new TestEmitter();
    expect(() => emitter.fire('error', new Error('x'))).not.toThrow();
  });
});
