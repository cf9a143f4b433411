// Table tests of the capacity planner: members x messages/s predicts writes over the same window as the measured writes.
import { describe, expect, it } from 'vitest';
import { capacityOf } from './capacity.js';

const steady = (n: number, value: number) => new Array<number>(n).fill(value);

describe('capacityOf', () => {
  it('predicts each room as members x messages/s and sums the fleet over the same window', () => {
    const capacity = capacityOf({
      rooms: {
        // 100 members, 2 msg/s: 200 writes/s predicted; the servers counted 190.
        lobby: { clients: steady(20, 100), messages: steady(20, 2), socketWrites: steady(20, 190) },
        // 1,000 members, 60 msg/s: 60,000 writes/s, more than one server's 50,000.
        stage: { clients: steady(20, 1000), messages: steady(20, 60), socketWrites: steady(20, 59_000) },
      },
      serverWrites: [steady(20, 40_000), steady(20, 19_190)],
      roomServers: new Map([['stage', 2]]),
      spawnWritesPerSec: 50_000,
    });
    expect(capacity).toEqual({
      windowSeconds: 10,
      predictedWritesPerSec: 60_200,
      measuredWritesPerSec: 59_190,
      serversNeeded: 2,
      messagesPerSec: 62,
      deliveriesPerSec: 2 + 60 * 2,
      copiesPerMessage: 122 / 62,
      rooms: {
        lobby: { members: 100, messagesPerSec: 2, predictedWritesPerSec: 200, measuredWritesPerSec: 190, serversNeeded: 1, servers: 1 },
        stage: { members: 1000, messagesPerSec: 60, predictedWritesPerSec: 60_000, measuredWritesPerSec: 59_000, serversNeeded: 2, servers: 2 },
      },
    });
  });

  it('multiplies members and messages second by second, not their means', () => {
    // 10 members at 10 msg/s for 5 s, then 0 members at 0 msg/s: 100 writes/s half the window -> 50.
    const capacity = capacityOf({
      rooms: { r: { clients: [...steady(5, 10), ...steady(5, 0)], messages: [...steady(5, 10), ...steady(5, 0)], socketWrites: steady(10, 0) } },
      serverWrites: [],
      spawnWritesPerSec: 1000,
    });
    expect(capacity.rooms['r']!.predictedWritesPerSec).toBe(50);
    expect(capacity.rooms['r']!.members).toBe(5);
  });

  it('counts seconds without a sample as 0, for rooms and servers alike', () => {
    const capacity = capacityOf({
      rooms: { r: { clients: [10, 10], messages: [5, 5], socketWrites: [50, 50] } },
      serverWrites: [[50, 50]],
      spawnWritesPerSec: 1000,
      windowSeconds: 4,
    });
    expect(capacity).toMatchObject({ predictedWritesPerSec: 25, measuredWritesPerSec: 25 });
  });

  it('needs no server for an empty fleet', () => {
    expect(capacityOf({ rooms: {}, serverWrites: [steady(10, 0)], spawnWritesPerSec: 1000 })).toMatchObject({
      serversNeeded: 0,
      copiesPerMessage: 0,
      predictedWritesPerSec: 0,
    });
  });
});
