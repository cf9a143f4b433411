// DURABLE_ACKS: a message is acked only once N replicas confirmed it (WAIT), and refused while they cannot.
import type { RedisLink } from '@chatfleet/redis';
import type { Logger } from './log.js';

/** One master's state: is it confirming, and the WAIT shared by the writes of this turn. */
interface Master {
  /** False after a WAIT fell short, until a probe WAIT sees enough replicas again. */
  accepting: boolean;
  /** The WAIT that confirms every write made on this master's connection until it is sent. */
  wait: Promise<boolean> | undefined;
  probe: NodeJS.Timeout | undefined;
}

/**
 * With `replicas` = 0 everything is accepted and confirmed at once: a message
 * is acked when Redis took it. With N > 0, each write is followed by a WAIT on
 * the connection that made it (the writes of one event-loop turn share one
 * WAIT per master), and acked only when N replicas confirmed it within
 * `timeoutMs`; a failover can then not lose an acked message. Where a WAIT
 * falls short (right after a failover, before a replica is back), that
 * master's messages are refused up front, before anything is written, until
 * a probe WAIT (every `probeMs`) sees N replicas again.
 *
 * Writes go through `link`: its own connection when N > 0 (see chat-server.ts),
 * so a WAIT that blocks for `timeoutMs` holds up no other command.
 */
export class Durability {
  private readonly masters = new Map<string, Master>();
  private closed = false;

  constructor(
    readonly link: RedisLink,
    readonly replicas: number,
    private readonly timeoutMs: number,
    private readonly probeMs: number,
    private readonly log: Logger,
  ) {}

  /** False when messages to `key` are refused now (their master lacks replicas). */
  accepting(key: string): boolean {
    if (this.replicas === 0) return true;
    return this.masters.get(this.link.masterOf(key))?.accepting ?? true;
  }

  /** Resolves true once every write made so far on `key`'s master is on `replicas` replicas (at once when 0). */
  confirm(key: string): Promise<boolean> {
    if (this.replicas === 0) return Promise.resolve(true);
    const name = this.link.masterOf(key);
    const master = this.master(name);
    // Writes issued in this turn are all on the wire before the WAIT that a microtask later sends.
    master.wait ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        master.wait = undefined;
        return this.link.wait(key, this.replicas, this.timeoutMs);
      })
      .then(
        (confirmed) => {
          if (confirmed >= this.replicas) return true;
          this.fallShort(name, master, key, confirmed);
          return false;
        },
        (err: unknown) => {
          this.log.warn({ err }, 'WAIT failed');
          return false;
        },
      );
    return master.wait;
  }

  /** The `unavailable` message for a chat or direct refused before it was written. */
  refusal(type: string, clientId: string | undefined): string {
    const what = clientId === undefined ? type : `${type} (clientId ${clientId})`;
    return `${what} not sent: DURABLE_ACKS=${this.replicas} and fewer replicas confirm writes right now; retry later`;
  }

  /** The `unavailable` message for one written but not confirmed in time. */
  unconfirmed(type: string, clientId: string | undefined, id: string): string {
    const what = clientId === undefined ? type : `${type} (clientId ${clientId})`;
    return `${what} was written as ${id} but not confirmed by ${this.replicas} replica(s) within ${this.timeoutMs} ms: it may be delivered or lost in a failover; not acked`;
  }

  close(): void {
    this.closed = true;
    for (const master of this.masters.values()) clearTimeout(master.probe);
  }

  private master(name: string): Master {
    let master = this.masters.get(name);
    if (master === undefined) {
      master = { accepting: true, wait: undefined, probe: undefined };
      this.masters.set(name, master);
    }
    return master;
  }

  private fallShort(name: string, master: Master, key: string, confirmed: number): void {
    if (!master.accepting) return;
    master.accepting = false;
    this.log.warn({ master: name || 'master', confirmed, wanted: this.replicas }, 'too few replicas confirm writes: refusing messages until they do');
    const probe = (): void => {
      if (this.closed) return;
      this.link
        .wait(key, this.replicas, Math.min(100, this.timeoutMs))
        .then((n) => {
          if (n >= this.replicas) {
            master.accepting = true;
            master.probe = undefined;
            this.log.info({ master: name || 'master', confirmed: n }, 'replicas confirm writes again: accepting messages');
            return;
          }
          master.probe = setTimeout(probe, this.probeMs);
        })
        .catch(() => {
          master.probe = setTimeout(probe, this.probeMs);
        });
    };
    master.probe = setTimeout(probe, this.probeMs);
  }
}
