// One server as a balancer knows it: its life (the status inside it changes only through server-life.ts), its process, and what its hash says.
import type { ServerStatus } from '@chatfleet/protocol';
import { ChatServerChild, type ServerProcess } from './child-process.js';
import type { ServerLife } from './server-life.js';

/** Event kinds of `/stats` `events` (team brief). */
export type FleetEventKind =
  | 'spawn'
  | 'ready'
  | 'exit'
  | 'crash'
  | 'respawn'
  | 'drain'
  | 'redistribute'
  | 'evict'
  | 'adopt'
  | 'lead'
  | 'follow'
  | 'remote-join'
  | 'remote-gone'
  /** A needed spawn the hosts or FLEET_MAX block (docs/autoscaling.md). */
  | 'no-spawn'
  /** Lag at idle: another program's load, not a reason to act. */
  | 'idle-lag'
  /** A server confirmed a command but did not carry it out (stale fencing token, draining). */
  | 'command-refused'
  /** A command no server confirmed after COMMAND_MAX_TRIES sends, or whose server went. */
  | 'command-given-up';

/** One server as this balancer knows it. Its status is its life's, changed only by `transition`. */
export class ServerRecord {
  life: ServerLife;
  /** Websocket base URL; '' until a forked child is ready. */
  url = '';
  pid: number | null;
  /** The host put into its URL. */
  host: string;
  /** HOST_ID of the machine it runs on. */
  hostId: string;
  /** The balancer that owns it: this one for own servers, '' for remote servers nobody owns. */
  owner: string;
  /** Spawned by a balancer (`managed` in its hash), whoever owns it now. */
  managed: boolean;
  startedAt: number;
  /** Last heartbeat read from its hash (ms epoch). */
  heartbeat: number | undefined;
  /** The process, for own servers. */
  process: ServerProcess | undefined;
  /** Settles once an own server's exit was handled (keys removed). */
  exitHandled: Promise<void> | undefined;
  /** Why it is drained, for its drain command (clients see it in `redistribute`). */
  drainReason = 'drain';
  /** Where the planner sends each room of a draining server (server ids), and the rest. */
  drainRoutes: ReadonlyArray<{ room: string; to: string }> = [];
  drainFallback: string | undefined;

  constructor(
    readonly id: string,
    init: { life: ServerLife; pid: number | null; host: string; hostId: string; owner: string; managed: boolean; startedAt: number },
  ) {
    this.life = init.life;
    this.pid = init.pid;
    this.host = init.host;
    this.hostId = init.hostId;
    this.owner = init.owner;
    this.managed = init.managed;
    this.startedAt = init.startedAt;
  }

  get status(): ServerStatus {
    return this.life.status;
  }

  /** The forked child, when this balancer forked it. */
  get child(): ChatServerChild | undefined {
    return this.process instanceof ChatServerChild ? this.process : undefined;
  }
}
