// The one home of every Redis key and channel name, each built from the optional fleet prefix.
import { isId } from './ids.js';

/**
 * Every Redis name chatfleet uses (SPEC section 4), built once from the fleet's
 * `REDIS_PREFIX`. Nothing else in the code writes a key as a string literal.
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
  /** Sorted set; member = room id, score = connections in the room across the fleet. Each server moves it once a second by the change of its `server:{id}:rooms` share (ROOM_SHARES_SCRIPT, so it heals after a lost write or an emptied Redis); the balancer subtracts a dead server's share. */
  readonly roomsClients: string;
  /** Sorted set; member = room id, score = messages ever sent to the room (ZINCRBY by the publishing server). */
  readonly roomsCumulativeMessages: string;
  /** Sorted set; member = room id, score = socket writes ever made for the room, fleet-wide (ZINCRBY once a second). */
  readonly roomsCumulativeSocketWrites: string;
  /** Hash of one server: id, url, pid, host, startedAt, heartbeat (ms epoch), status, rssBytes, heapUsedBytes, clients. Written once a second by the server; removed by it on exit, or by the balancer when the heartbeat is stale. */
  server(id: string): string;
  /** Hash; field = room id, value = this server's local connections in it. Replaced once a second (ROOM_SHARES_SCRIPT); gives room affinity. */
  serverRooms(id: string): string;
  /** Hash; field = `${chatId} ${userId}`, value = this server's connections of that user in that room. Lets the balancer undo a dead server's share of `presence`. */
  serverPresence(id: string): string;
  /** Hash; field = user id, value = this server's connections of that user. Lets the balancer undo a dead server's share of `usersOnline`. */
  serverUsers(id: string): string;
  /** Channel of JSON commands for one server (`redistribute`, `drain`). */
  serverCommands(id: string): string;
  /** Hash; field = user id, value = that user's connections in the room across the fleet (HINCRBY on join and leave). */
  presence(chatId: string): string;
  /** Hash; field = user id, value = that user's connections across the fleet. */
  readonly usersOnline: string;
  /** Channel carrying each room message as its complete chat frame. */
  room(chatId: string): string;
  /** Channel of JSON user events (direct messages, online status). */
  user(userId: string): string;
  /** Stream of a room's messages; entry id = message id, field `t` = the chat frame tail. Capped near HISTORY_LIMIT with XADD MAXLEN ~. */
  history(chatId: string): string;
  /** SCAN globs that together match every key of this fleet, for clean-up on shutdown. */
  readonly fleetKeyPatterns: readonly string[];
}

/** Builds every key and channel name from `prefix` (may be empty). */
export function redisKeys(prefix = ''): RedisKeys {
  const p = prefix;
  const checked = (kind: string, id: string): string => {
    if (!isId(id)) throw new TypeError(`invalid ${kind} id for a Redis key: ${JSON.stringify(id)}`);
    return id;
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
    server: (id) => `${p}server:${checked('server', id)}`,
    serverRooms: (id) => `${p}server:${checked('server', id)}:rooms`,
    serverPresence: (id) => `${p}server:${checked('server', id)}:presence`,
    serverUsers: (id) => `${p}server:${checked('server', id)}:users`,
    serverCommands: (id) => `${p}server:${checked('server', id)}:commands`,
    presence: (chatId) => `${p}presence:${checked('room', chatId)}`,
    usersOnline: `${p}users:online`,
    room: (chatId) => `${p}room:${checked('room', chatId)}`,
    user: (userId) => `${p}user:${checked('user', userId)}`,
    history: (chatId) => `${p}history:${checked('room', chatId)}`,
    fleetKeyPatterns: ['servers:*', 'chat-rooms:*', 'server:*', 'presence:*', 'users:online', 'history:*'].map(
      (family) => `${escapeGlob(p)}${family}`,
    ),
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
