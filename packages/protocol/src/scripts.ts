// Lua scripts that change several of the fleet's Redis structures at once; both apps run them so the rules live here.
import { CHAT_FRAME_HEAD } from './server-frames.js';
import type { RedisKeys } from './keys.js';

/**
 * Appends a room message to its history and publishes it, atomically, so that
 * every subscriber sees the room's messages in id order whichever server sent
 * them.
 *
 * KEYS: history stream, room channel, rooms cumulative-messages zset.
 * ARGV: HISTORY_LIMIT, frame tail, frame head, room id.
 * Returns the new message id.
 */
export const PUBLISH_CHAT_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3] .. id .. ARGV[2])
redis.call('ZINCRBY', KEYS[3], 1, ARGV[4])
return id
`;

/** KEYS and ARGV for PUBLISH_CHAT_SCRIPT. */
export function publishChatArgs(keys: RedisKeys, chatId: string, tail: string, historyLimit: number) {
  return {
    keys: [keys.history(chatId), keys.room(chatId), keys.roomsCumulativeMessages],
    arguments: [String(historyLimit), tail, CHAT_FRAME_HEAD, chatId],
  };
}

/**
 * Joins or leaves a room in the fleet-wide presence: adds `delta` (+1 or -1)
 * to `presence:{chatId}` and to the server's own share in
 * `server:{id}:presence`, dropping fields that reach zero.
 *
 * KEYS: presence hash of the room, server presence hash.
 * ARGV: user id, `${chatId} ${userId}`, delta.
 * Returns the user's connections left in the room, fleet-wide.
 */
export const PRESENCE_DELTA_SCRIPT = `
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[3])
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local mine = redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
if mine <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return left
`;

/** KEYS and ARGV for PRESENCE_DELTA_SCRIPT. */
export function presenceDeltaArgs(keys: RedisKeys, serverId: string, chatId: string, userId: string, delta: 1 | -1) {
  return {
    keys: [keys.presence(chatId), keys.serverPresence(serverId)],
    arguments: [userId, `${chatId} ${userId}`, String(delta)],
  };
}

/**
 * Counts a user's connection coming or going in `users:online` and in the
 * server's own share `server:{id}:users`, dropping fields that reach zero.
 *
 * KEYS: users online hash, server users hash. ARGV: user id, delta.
 * Returns the user's connections left across the fleet (0 = now offline).
 */
export const ONLINE_DELTA_SCRIPT = `
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local mine = redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
if mine <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return left
`;

/** KEYS and ARGV for ONLINE_DELTA_SCRIPT. */
export function onlineDeltaArgs(keys: RedisKeys, serverId: string, userId: string, delta: 1 | -1) {
  return { keys: [keys.usersOnline, keys.serverUsers(serverId)], arguments: [userId, String(delta)] };
}

/**
 * Removes one server from the fleet's Redis structures: its hashes, its
 * members of the `servers:*` sorted sets, and its share of the room client
 * counts, room presence and users online. A server runs it on a clean exit;
 * the balancer runs it for a server that crashed or froze.
 *
 * KEYS: server hash, server rooms, server presence, server users,
 *       servers:clients, servers:cumulative-socket-writes, servers:event-loop,
 *       servers:fanout, chat-rooms:clients, users:online.
 * ARGV: server id, fleet prefix.
 * Returns the user ids that went offline fleet-wide, so the caller can publish
 * their status.
 */
export const REMOVE_SERVER_SCRIPT = `
local rooms = redis.call('HGETALL', KEYS[2])
for i = 1, #rooms, 2 do
  local left = tonumber(redis.call('ZINCRBY', KEYS[9], -tonumber(rooms[i + 1]), rooms[i]))
  if left <= 0 then redis.call('ZREM', KEYS[9], rooms[i]) end
end
local presence = redis.call('HGETALL', KEYS[3])
for i = 1, #presence, 2 do
  local sep = string.find(presence[i], ' ', 1, true)
  if sep then
    local pkey = ARGV[2] .. 'presence:' .. string.sub(presence[i], 1, sep - 1)
    local user = string.sub(presence[i], sep + 1)
    local left = redis.call('HINCRBY', pkey, user, -tonumber(presence[i + 1]))
    if left <= 0 then redis.call('HDEL', pkey, user) end
  end
end
local offline = {}
local users = redis.call('HGETALL', KEYS[4])
for i = 1, #users, 2 do
  local left = redis.call('HINCRBY', KEYS[10], users[i], -tonumber(users[i + 1]))
  if left <= 0 then
    redis.call('HDEL', KEYS[10], users[i])
    table.insert(offline, users[i])
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
for k = 5, 8 do redis.call('ZREM', KEYS[k], ARGV[1]) end
return offline
`;

/** KEYS and ARGV for REMOVE_SERVER_SCRIPT. */
export function removeServerArgs(keys: RedisKeys, serverId: string) {
  return {
    keys: [
      keys.server(serverId),
      keys.serverRooms(serverId),
      keys.serverPresence(serverId),
      keys.serverUsers(serverId),
      keys.serversClients,
      keys.serversCumulativeSocketWrites,
      keys.serversEventLoop,
      keys.serversFanout,
      keys.roomsClients,
      keys.usersOnline,
    ],
    arguments: [serverId, keys.prefix],
  };
}
