// Table tests of a server's life: every status change and every debt the balancer takes on or pays.
import { describe, expect, it } from 'vitest';
import { foundLife, replay, startingLife, transition, type LifeEvent, type ServerLife } from './server-life.js';

const T = 1_000_000;
const starting = startingLife();
const ready = replay(starting, [{ type: 'ready', at: T }]);
const observedReady = foundLife('ready', false);
const adoptedReady = foundLife('ready', true);
const drained = replay(ready, [{ type: 'drain', at: T, killAfterMs: 5000 }]);

type Row = [name: string, from: ServerLife, event: LifeEvent, expected: Partial<ServerLife> & { owed?: Partial<ServerLife['owed']> }, record?: string];

const rows: Row[] = [
  ['a starting child becomes ready on its handshake', starting, { type: 'ready', at: T }, { status: 'ready', everReady: true }, 'ready'],
  ['ready again changes nothing', ready, { type: 'ready', at: T }, { status: 'ready' }],
  [
    'a drain of a ready child owes the command and a kill deadline',
    ready,
    { type: 'drain', at: T, killAfterMs: 5000 },
    { status: 'draining', leaving: true, drainSince: T, owed: { drainCommand: true, killAt: T + 5000, killSignal: 'SIGTERM' } },
    'drain',
  ],
  [
    'a drain of an observed server owes the command only',
    observedReady,
    { type: 'drain', at: T, killAfterMs: 5000 },
    { status: 'draining', owed: { drainCommand: true, killAt: undefined } },
    'drain',
  ],
  [
    'a drain of a starting child stops it now, with nothing to move',
    starting,
    { type: 'drain', at: T, killAfterMs: 5000 },
    { status: 'draining', leaving: true, owed: { drainCommand: false, killAt: T } },
    'drain',
  ],
  ['a second drain changes nothing', drained, { type: 'drain', at: T + 10, killAfterMs: 5000 }, { owed: { drainCommand: true, killAt: T + 5000 } }],
  [
    'a drain of a server draining by itself adds the deadline only',
    replay(ready, [{ type: 'draining' }]),
    { type: 'drain', at: T, killAfterMs: 5000 },
    { status: 'draining', owed: { drainCommand: false, killAt: T + 5000 } },
  ],
  ['the command sent pays it', drained, { type: 'drain-sent' }, { status: 'draining', drainSince: undefined, owed: { drainCommand: false, killAt: T + 5000 } }],
  ['a server draining by itself is leaving', ready, { type: 'draining' }, { status: 'draining', leaving: true, owed: { drainCommand: false } }],
  [
    'an exit after a drain is an exit: keys owed, no respawn',
    drained,
    { type: 'exited', at: T + 1 },
    { status: 'gone', goneAt: T + 1, owed: { removeKeys: true, respawn: false, killAt: undefined, drainCommand: false } },
    'exit',
  ],
  [
    'an unasked exit is a crash: keys and a respawn owed',
    ready,
    { type: 'exited', at: T + 1 },
    { status: 'gone', owed: { removeKeys: true, respawn: true } },
    'crash',
  ],
  ['a child that never became ready and exits is a crash', starting, { type: 'exited', at: T }, { status: 'gone', everReady: false, owed: { respawn: true } }, 'crash'],
  [
    'a planned stop owes SIGTERM now and makes the exit expected',
    ready,
    { type: 'stop', at: T },
    { status: 'ready', leaving: true, owed: { killAt: T, killSignal: 'SIGTERM' } },
  ],
  ['a planned stop leaves observed servers alone', observedReady, { type: 'stop', at: T }, { leaving: false, owed: { killAt: undefined } }],
  [
    'a stale own server is evicted: gone at once, SIGKILL owed, keys only after its exit',
    ready,
    { type: 'stale', at: T },
    { status: 'gone', goneAt: T, owed: { killAt: T, killSignal: 'SIGKILL', removeKeys: false, respawn: true } },
    'evict',
  ],
  [
    'a stale observed server is gone and its keys owed',
    observedReady,
    { type: 'stale', at: T },
    { status: 'gone', owed: { removeKeys: true, killAt: undefined } },
    'remote-gone',
  ],
  ['an observed server whose keys vanished is gone', observedReady, { type: 'vanished', at: T }, { status: 'gone', owed: { removeKeys: false } }, 'remote-gone'],
  ['vanished keys do not end an own server', ready, { type: 'vanished', at: T }, { status: 'ready' }],
  [
    'an evicted process that exited now owes its keys',
    replay(ready, [{ type: 'stale', at: T }, { type: 'kill-sent' }]),
    { type: 'exited', at: T + 5 },
    { status: 'gone', goneAt: T, owed: { removeKeys: true, killAt: undefined, respawn: true } },
  ],
  ['an observed server is adopted', observedReady, { type: 'adopted' }, { own: true, status: 'ready' }],
  ['an adopted server exits like a child', adoptedReady, { type: 'exited', at: T }, { status: 'gone', owed: { removeKeys: true, respawn: true } }, 'crash'],
  ['a found draining server is leaving', foundLife('draining', true), { type: 'exited', at: T }, { status: 'gone', owed: { respawn: false } }, 'exit'],
  ['keys removed pays the debt', replay(ready, [{ type: 'exited', at: T }]), { type: 'keys-removed' }, { owed: { removeKeys: false, respawn: true } }],
  ['a respawn pays the debt', replay(ready, [{ type: 'exited', at: T }]), { type: 'respawned' }, { owed: { respawn: false, removeKeys: true } }],
  ['kill sent pays the deadline', drained, { type: 'kill-sent' }, { owed: { killAt: undefined, drainCommand: true } }],
  ['nothing brings a gone server back', replay(ready, [{ type: 'exited', at: T }]), { type: 'ready', at: T + 1 }, { status: 'gone' }],
  ['a gone server cannot be drained', replay(ready, [{ type: 'exited', at: T }]), { type: 'drain', at: T, killAfterMs: 1 }, { status: 'gone', owed: { drainCommand: false } }],
];

describe('server life transitions', () => {
  it.each(rows)('%s', (_name, from, event, expected, record) => {
    const { life, record: recorded } = transition(from, event);
    const { owed, ...rest } = expected;
    expect(life).toMatchObject(rest);
    if (owed !== undefined) expect(life.owed).toMatchObject(owed);
    expect(recorded).toBe(record);
  });

  it('never changes the life it is given', () => {
    const before = JSON.stringify(ready);
    transition(ready, { type: 'drain', at: T, killAfterMs: 1 });
    transition(ready, { type: 'stale', at: T });
    expect(JSON.stringify(ready)).toBe(before);
  });

  it('owes nothing once a drained child exited and its keys went', () => {
    const life = replay(ready, [
      { type: 'drain', at: T, killAfterMs: 1000 },
      { type: 'drain-sent' },
      { type: 'exited', at: T + 500 },
      { type: 'keys-removed' },
    ]);
    expect(life.status).toBe('gone');
    expect(life.owed).toEqual({ drainCommand: false, killAt: undefined, killSignal: 'SIGTERM', removeKeys: false, respawn: false });
  });
});
