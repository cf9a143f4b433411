// A chat server's life as the balancer sees it: one pure transition function, the only place a status changes.
import type { ServerStatus } from '@chatfleet/protocol';

/** What the balancer still owes a server: work its effects carry out, then confirm with an event. */
export interface Owed {
  /** A drain command still to publish (sent in the next turn, once the redirect target is known). */
  drainCommand: boolean;
  /** When the process must be stopped if it still runs (ms epoch): a drain deadline, a planned stop, an eviction. */
  killAt: number | undefined;
  /** SIGTERM (drain, then exit) or SIGKILL (frozen: evicted). */
  killSignal: 'SIGTERM' | 'SIGKILL';
  /** Its keys and its share of presence and online counts are still in Redis. */
  removeKeys: boolean;
  /** It went without being asked to: a replacement is due (when FLEET_MIN or the load needs it). */
  respawn: boolean;
}

/** One server's state. `own` servers are this balancer's processes (forked or adopted); the others are observed in Redis. */
export interface ServerLife {
  status: ServerStatus;
  own: boolean;
  everReady: boolean;
  /** Asked to go (a drain, a planned stop) or going by itself: its exit is not a crash. */
  leaving: boolean;
  /** When the drain was decided (ms epoch), while its command is owed. */
  drainSince: number | undefined;
  goneAt: number | undefined;
  owed: Owed;
}

/**
 * What can happen to a server:
 * - `ready`: its ready handshake, or its first fresh hash (observed and adopted servers);
 * - `drain`: this balancer decided to drain it (admin or policy); `killAfterMs` is the deadline for its own processes;
 * - `drain-sent`: the drain command went out;
 * - `draining`: the server reports it drains (IPC, or `status` in its hash);
 * - `stop`: this balancer stops (a planned stop): its own servers get SIGTERM now;
 * - `kill-sent`: the owed signal was sent;
 * - `exited`: its process ended (own servers);
 * - `stale`: its heartbeat is stale;
 * - `vanished`: its keys are gone from Redis (observed servers);
 * - `adopted`: this balancer took over a server whose balancer died (same host);
 * - `keys-removed`, `respawned`: an owed effect was carried out.
 */
export type LifeEvent =
  | { type: 'ready'; at: number }
  | { type: 'drain'; at: number; killAfterMs: number }
  | { type: 'drain-sent' }
  | { type: 'draining' }
  | { type: 'stop'; at: number }
  | { type: 'kill-sent' }
  | { type: 'exited'; at: number }
  | { type: 'stale'; at: number }
  | { type: 'vanished'; at: number }
  | { type: 'adopted' }
  | { type: 'keys-removed' }
  | { type: 'respawned' };

/** Event kinds a transition asks the fleet to record in `/stats` `events`. */
export type LifeRecord = 'ready' | 'drain' | 'exit' | 'crash' | 'evict' | 'remote-gone';

export interface Transition {
  life: ServerLife;
  /** An event worth recording, if any. */
  record: LifeRecord | undefined;
}

const NOTHING_OWED: Owed = { drainCommand: false, killAt: undefined, killSignal: 'SIGTERM', removeKeys: false, respawn: false };

/** A server this balancer just forked: starting. */
export function startingLife(): ServerLife {
  return { status: 'starting', own: true, everReady: false, leaving: false, drainSince: undefined, goneAt: undefined, owed: { ...NOTHING_OWED } };
}

/** A server found in Redis (observed, or adopted when `own`), with the status its hash reports. */
export function foundLife(status: 'ready' | 'draining', own: boolean): ServerLife {
  return {
    status,
    own,
    everReady: true,
    leaving: status === 'draining',
    drainSince: undefined,
    goneAt: undefined,
    owed: { ...NOTHING_OWED },
  };
}

/** The server's life after `event`. Pure: the same life and event give the same answer. */
export function transition(life: ServerLife, event: LifeEvent): Transition {
  const same: Transition = { life, record: undefined };
  const to = (patch: Partial<ServerLife>, owed: Partial<Owed> = {}, record?: LifeRecord): Transition => ({
    life: { ...life, ...patch, owed: { ...life.owed, ...owed } },
    record,
  });

  // Effects confirmed: the same in every status.
  switch (event.type) {
    case 'drain-sent':
      return life.owed.drainCommand ? to({ drainSince: undefined }, { drainCommand: false }) : same;
    case 'kill-sent':
      return life.owed.killAt === undefined ? same : to({}, { killAt: undefined });
    case 'keys-removed':
      return life.owed.removeKeys ? to({}, { removeKeys: false }) : same;
    case 'respawned':
      return life.owed.respawn ? to({}, { respawn: false }) : same;
  }

  if (life.status === 'gone') {
    // An evicted process exits after its SIGKILL: only now may its keys go (it can no longer write them back).
    if (event.type === 'exited' && life.own) return to({}, { removeKeys: true, killAt: undefined });
    return same;
  }

  switch (event.type) {
    case 'ready':
      return life.status === 'starting' ? to({ status: 'ready', everReady: true }, {}, 'ready') : same;

    case 'drain':
      if (life.status === 'starting') {
        // Nothing to move yet: a starting server is simply stopped.
        return to({ status: 'draining', leaving: true }, life.own ? { killAt: event.at, killSignal: 'SIGTERM' } : {}, 'drain');
      }
      if (life.status === 'draining') {
        // Already going (by itself): only the deadline is added.
        return life.own && life.owed.killAt === undefined ? to({ leaving: true }, { killAt: event.at + event.killAfterMs }) : same;
      }
      return to(
        { status: 'draining', leaving: true, drainSince: event.at },
        { drainCommand: true, ...(life.own ? { killAt: event.at + event.killAfterMs, killSignal: 'SIGTERM' as const } : {}) },
        'drain',
      );

    case 'draining':
      return life.status === 'draining' && life.leaving ? same : to({ status: 'draining', leaving: true });

    case 'stop':
      if (!life.own) return same;
      return to({ leaving: true }, { killAt: event.at, killSignal: 'SIGTERM', drainCommand: false });

    case 'exited':
      if (!life.own) return same;
      return to(
        { status: 'gone', goneAt: event.at, drainSince: undefined },
        { removeKeys: true, killAt: undefined, drainCommand: false, respawn: !life.leaving },
        life.leaving ? 'exit' : 'crash',
      );

    case 'stale':
      if (life.own) {
        // Frozen or hung: out of provisioning now, SIGKILL (works on a stopped process too); keys go once it exited.
        return to(
          { status: 'gone', goneAt: event.at, drainSince: undefined },
          { killAt: event.at, killSignal: 'SIGKILL', drainCommand: false, respawn: !life.leaving },
          'evict',
        );
      }
      return to({ status: 'gone', goneAt: event.at, drainSince: undefined }, { removeKeys: true, drainCommand: false }, 'remote-gone');

    case 'adopted':
      return life.own ? same : to({ own: true });

    case 'vanished':
      if (life.own) return same; // an own process is judged by its exit and heartbeat, not by missing keys
      return to({ status: 'gone', goneAt: event.at, drainSince: undefined }, { drainCommand: false }, 'remote-gone');
  }
}

/** Applies several events in order (tests and replays). */
export function replay(life: ServerLife, events: readonly LifeEvent[]): ServerLife {
  return events.reduce((current, event) => transition(current, event).life, life);
}
