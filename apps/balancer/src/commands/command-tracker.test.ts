// Table tests of command resends: confirmed, refused, resent until heard, given up after N tries or when the server is gone.
import { describe, expect, it } from 'vitest';
import type { CommandAck, ServerCommand } from '@chatfleet/protocol';
import { recordPublish, stepTracker, trackCommand, type TrackerState } from './command-tracker.js';

const config = { resendMs: 1000, maxTries: 3 };
const command: ServerCommand = { type: 'redistribute', n: 5, redirect: 'ws://h:1/', moves: [{ room: 'r', n: 5 }] };
const ack = (over: Partial<CommandAck> = {}): CommandAck => ({ id: 'c-1', serverId: 's1', ok: true, detail: 'moving 5', moved: 5, at: 0, ...over });
const none = new Map<string, CommandAck>();
const noneGone = new Set<string>();

/** Tracks c-1 at t=0 and returns the state. */
function started(): TrackerState {
  return trackCommand(new Map(), 'c-1', 's1', command, 0).state;
}

describe('trackCommand', () => {
  it('sends the command once, stamped with its id', () => {
    const { state, actions } = trackCommand(new Map(), 'c-1', 's1', command, 0);
    expect(actions).toEqual([{ type: 'send', id: 'c-1', serverId: 's1', command: { ...command, id: 'c-1' }, attempt: 1 }]);
    expect(state.get('c-1')).toMatchObject({ tries: 1, firstSentAt: 0, lastSentAt: 0 });
  });
});

describe('stepTracker', () => {
  it.each([
    {
      name: 'waits while the last send is younger than resendMs',
      acks: none,
      gone: noneGone,
      now: 999,
      actions: [],
      left: ['c-1'],
    },
    {
      name: 'resends an unconfirmed command after resendMs',
      acks: none,
      gone: noneGone,
      now: 1000,
      actions: [{ type: 'send', id: 'c-1', serverId: 's1', command: { ...command, id: 'c-1' }, attempt: 2 }],
      left: ['c-1'],
    },
    {
      name: 'settles a confirmed command',
      acks: new Map([['c-1', ack()]]),
      gone: noneGone,
      now: 400,
      actions: [{ type: 'confirmed', id: 'c-1', serverId: 's1', ack: ack(), tries: 1, ms: 400 }],
      left: [],
    },
    {
      name: 'settles a refused command without resending it',
      acks: new Map([['c-1', ack({ ok: false, detail: 'draining: not moving clients' })]]),
      gone: noneGone,
      now: 5000,
      actions: [
        {
          type: 'refused',
          id: 'c-1',
          serverId: 's1',
          ack: ack({ ok: false, detail: 'draining: not moving clients' }),
          reason: 's1 refused redistribute c-1: draining: not moving clients',
        },
      ],
      left: [],
    },
    {
      name: 'gives up at once on a server that is gone',
      acks: none,
      gone: new Set(['s1']),
      now: 10,
      actions: [{ type: 'gave-up', id: 'c-1', serverId: 's1', command: { ...command, id: 'c-1' }, reason: 'redistribute c-1 to s1 dropped: the server is gone' }],
      left: [],
    },
  ])('$name', ({ acks, gone, now, actions, left }) => {
    const step = stepTracker(started(), acks, gone, config, now);
    expect(step.actions).toEqual(actions);
    expect([...step.state.keys()]).toEqual(left);
  });

  it('resends until the last try, then gives up visibly with tries, time and whether anyone heard it', () => {
    let state = started();
    state = recordPublish(state, 'c-1', 0);
    const sends: number[] = [];
    const reasons: string[] = [];
    for (let now = 0; now <= 6000; now += 250) {
      const step = stepTracker(state, none, noneGone, config, now);
      state = step.state;
      for (const action of step.actions) {
        if (action.type === 'send') {
          sends.push(now);
          state = recordPublish(state, action.id, 0);
        }
        if (action.type === 'gave-up') reasons.push(action.reason);
      }
    }
    expect(sends).toEqual([1000, 2000]);
    expect(reasons).toEqual(['no confirmation of redistribute c-1 from s1 after 3 tries over 3.0 s; the last publish reached no subscriber']);
    expect(state.size).toBe(0);
  });

  it('confirms a command that was heard only on a resend, counting its tries', () => {
    let state = stepTracker(started(), none, noneGone, config, 1000).state;
    const step = stepTracker(state, new Map([['c-1', ack()]]), noneGone, config, 1300);
    expect(step.actions).toEqual([{ type: 'confirmed', id: 'c-1', serverId: 's1', ack: ack(), tries: 2, ms: 1300 }]);
    state = step.state;
    expect(state.size).toBe(0);
  });

  it('ignores acks of commands it does not track and publishes it no longer tracks', () => {
    const state = started();
    expect(recordPublish(state, 'other', 0)).toBe(state);
    const step = stepTracker(state, new Map([['other', ack({ id: 'other' })]]), noneGone, config, 10);
    expect(step.actions).toEqual([]);
  });
});
