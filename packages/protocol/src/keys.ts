// The one home of every Redis key and channel name, each built from the optional fleet prefix, hash tags included.
import { isId } from './ids.js';

/**
 * Every Redis name chatfleet uses (SPEC section 4), built once from the fleet's
 * `REDIS_PREFIX`. Nothing else in the code writes a key as a string literal.
 *
 * One layout serves a single Redis, a Sentinel group and a Cluster. Names
 * that must share a hash slot carry the same hash tag, the id in braces:
 * everything of one room (`history:{room}`, `presence:{room}`, the channel
 * `room:{room}`), of one user (`online:{user}`, `directs:{user}`, the channel
 * `user:{user}`) and of one server (`server:{id}`, `server:{id}:rooms`, ...).
 * The braces also delimit the id, so no id can forge another key (ids cannot
 * contain braces). The fleet-wide sorted sets are each one key; nothing writes
 * two of them atomically, so they need no common slot.
 */
export interface RedisKeys {
  readonly prefix: string;
  /** Sorted set; member = server id, score = connected clients. Written by each server once a second; read by the balancer. */
  readonly serversClients: string;
  /** Sorted set; member = server id, score = socket writes since the server started (a counter). The balancer derives writes/s. */
  readonly serversCumulativeSocketWrites: string;
  /** Sorted set; member = server id, score = event-loop lag in ms over the last second (p99 of the sampler). */
  readonly serversEventLoop: string;
  /** Sorted set; member = server id, score = room messages fanned out to local sockets in the last second. */
  readonly serversFanout: string;
  /**
   * Sorted set; member = room id, score = connections in the room across the
   * fleet. Derived: the balancer sums every live server's `server:{id}:rooms`
   * once a second and writes the result (rooms that emptied are removed), so
   * it needs no cross-slot update and heals by itself.
   */
  readonly roomsClients: string;
  /** Sorted set; member = room id, score = messages ever sent to the room. Each server adds what it published once a second. */
  readonly roomsCumulativeMessages: string;
  /** Sorted set; member = room id, score = socket writes ever made for the room, fleet-wide (ZINCRBY once a second by each server). */
  readonly roomsCumulativeSocketWrites: string;
  /** Hash of one server: id, url, pid, host, startedAt, heartbeat (ms epoch), status, memory, bus health. Written once a second by the server; removed by it on exit, or by the balancer when the heartbeat is stale. */
  server(id: string): string;
  /**
   * Hash; field = room id, value = this server's local connections in it.
   * Raised before the server adds its member to the room's presence, lowered
   * after it removed it, and rewritten whole once a second: so it always
   * names every room where this server may hold presence (what the balancer
   * cleans after a crash) and gives room affinity.
   */
  serverRooms(id: string): string;
  /** Hash; field = user id, value = this server's connections of that user; raised before `online:{user}`, so the balancer can undo a dead server's share. */
  serverUsers(id: string): string;
  /** Channel of JSON commands for one server (`redistribute`, `drain`). */
  serverCommands(id: string): string;
  /**
   * String (extension); the server's `CommandAck` JSON for the command `commandId` it got on
   * `server:{id}:commands`. Written by the server (SET with PX COMMAND_ACK_TTL_MS) once it has
   * taken the command; read by the balancer's command sender, which resends the command until
   * this key appears or it gives up. Expires by itself; in the server's hash slot.
   */
  commandAck(serverId: string, commandId: string): string;
  /**
   * Channel of a server's bus probes (its canary): the server publishes to it
   * once a second and checks its subscriber hears it. On a Cluster a server
   * keeps one per master, each with a `tag` that hashes into that master's
   * slots; elsewhere `tag` is ''.
   */
  busProbe(serverId: string, tag: string): string;
  /** Hash; field = `presenceField(serverId, userId)`, value = that server's connections of that user in the room. The room's members are the users of its fields. */
  presence(chatId: string): string;
  /** Channel carrying the room's messages: chat frames, several joined by '\n' when published together. */
  room(chatId: string): string;
  /** Stream of a room's messages; entry id = message id, field `t` = the chat frame tail. Its first entry ever is a marker (field `g`), so a stream that lost its history can be told apart. Capped near HISTORY_LIMIT with XADD MAXLEN ~. */
  history(chatId: string): string;
  /** Hash; field = server id, value = that server's connections of the user. Empty (absent) = offline. */
  online(userId: string): string;
  /** Channel of one user's events: `direct` frames for the user and `status` frames about the user, as complete server frames. */
  user(userId: string): string;
  /** Stream of the direct messages to one user; entry id = direct message id, field `t` = the direct frame tail. Capped near HISTORY_LIMIT. */
  directs(userId: string): string;
  /** String; the id of the first direct message that arrived while the user had no connection anywhere. Taken (and deleted) by the user's next connection without a resume point. */
  directsOffline(userId: string): string;
  /**
   * Hash of one balancer (extension of SPEC section 4's `balancer:{id}`):
   * `id`, `url`, `host` (its HOST_ID), `startedAt`, `heartbeat` (ms epoch),
   * `servers` (its chat servers not gone), `starting`, `spawns` (children it
   * ever forked, a counter the leader watches to know its spawn request was
   * carried out). Written by that balancer every control-loop turn with a
   * PEXPIRE, so a balancer that died leaves it behind only briefly; deleted by
   * it on a planned stop.
   */
  balancer(id: string): string;
  /**
   * Channel of JSON commands for one balancer (`spawn`, `drain`,
   * `redistribute`, `demand`: see commands.ts): how an admin action or the
   * leader's decision reaches the balancer that owns a server or a host.
   */
  balancerCommands(id: string): string;
  /**
   * Sorted set; member = balancer id, score = its last heartbeat (ms epoch).
   * Every balancer adds itself each turn; any balancer removes members whose
   * heartbeat is long stale. `GET /balancers` lists the fresh ones. Tagged
   * `{fleet}` with the lease.
   */
  readonly balancers: string;
  /**
   * String `"<token> <holder id>"` with a PX expiry: the leader lease. Taken
   * with SET NX PX (ACQUIRE_LEASE_SCRIPT, which also draws the fencing token),
   * renewed and released only by its holder (RENEW_LEASE_SCRIPT,
   * RELEASE_LEASE_SCRIPT).
   */
  readonly leaderLease: string;
  /** String counter: the newest fencing token handed out (INCR). Same `{fleet}` tag as the lease, so one script touches both. Never expires. */
  readonly leaderToken: string;
  /** SCAN globs that together match every key of this fleet, for clean-up on shutdown. */
  readonly fleetKeyPatterns: readonly string[];
}

/** The hash tag of the fleet-wide balancer keys (lease, fencing counter, member list): one slot for all of them. */
export const FLEET_TAG = 'fleet';

/** Builds every key and channel name from `prefix` (may be empty). */
export function redisKeys(prefix = ''): RedisKeys {
  const p = prefix;
  const tag = (kind: string, id: string): string => {
    if (!isId(id)) throw new TypeError(`invalid ${kind} id for a Redis key: ${JSON.stringify(id)}`);
    return `{${id}}`;
  };
  return {
    prefix: p,
    serversClients: `${p}servers:clients`,
    serversCumulativeSocketWrites: `${p}servers:cumulative-socket-writes`,
    serversEventLoop: `${p}servers:event-loop`,
    serversFanout: `${p}servers:fanout`,
    roomsClients: `${p}chat-rooms:clients`,
    roomsCumulativeMessages: `${p}chat-rooms:cumulative-messages`,
    roomsCumulativeSocketWrites: `${p}chat-rooms:cumulative-socket-writes`,
    server: (id) => `${p}server:${tag('server', id)}`,
    serverRooms: (id) => `${p}server:${tag('server', id)}:rooms`,
    serverUsers: (id) => `${p}server:${tag('server', id)}:users`,
    serverCommands: (id) => `${p}server:${tag('server', id)}:commands`,
    commandAck: (serverId, commandId) => {
      if (!isId(commandId)) throw new TypeError(`invalid command id for a Redis key: ${JSON.stringify(commandId)}`);
      return `${p}server:${tag('server', serverId)}:ack:${commandId}`;
    },
    busProbe: (serverId, probeTag) =>
      probeTag === '' ? `${p}bus-probe:${tag('server', serverId)}` : `${p}bus-probe:${tag('probe', probeTag)}:${serverId}`,
    presence: (chatId) => `${p}presence:${tag('room', chatId)}`,
    room: (chatId) => `${p}room:${tag('room', chatId)}`,
    history: (chatId) => `${p}history:${tag('room', chatId)}`,
    online: (userId) => `${p}online:${tag('user', userId)}`,
    user: (userId) => `${p}user:${tag('user', userId)}`,
    directs: (userId) => `${p}directs:${tag('user', userId)}`,
    directsOffline: (userId) => `${p}directs:${tag('user', userId)}:offline`,
    balancer: (id) => `${p}balancer:${tag('balancer', id)}`,
    balancerCommands: (id) => `${p}balancer:${tag('balancer', id)}:commands`,
    balancers: `${p}balancer:{${FLEET_TAG}}:members`,
    leaderLease: `${p}balancer:{${FLEET_TAG}}:leader`,
    leaderToken: `${p}balancer:{${FLEET_TAG}}:token`,
    fleetKeyPatterns: ['servers:*', 'chat-rooms:*', 'server:*', 'presence:*', 'history:*', 'online:*', 'directs:*', 'balancer:*'].map(
      (family) => `${escapeGlob(p)}${family}`,
    ),
  };
}

/**
 * The id between the first pair of braces of a key or channel built here
 * (`room:{lobby}` -> `lobby`), or undefined.
 */
export function taggedId(name: string): string | undefined {
  const open = name.indexOf('{');
  const close = open === -1 ? -1 : name.indexOf('}', open + 1);
  return close === -1 ? undefined : name.slice(open + 1, close);
}

/** A field of `presence:{room}`: one server's connections of one user. */
export function presenceField(serverId: string, userId: string): string {
  return `${userId} ${serverId}`;
}

/** The user of a `presence:{room}` field. */
export function presenceUser(field: string): string {
  const space = field.indexOf(' ');
  return space === -1 ? field : field.slice(0, space);
}

/** The users of a room from its presence fields, each once, in first-seen order. */
export function presenceMembers(fields: readonly string[]): string[] {
  return [...new Set(fields.map(presenceUser))];
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
