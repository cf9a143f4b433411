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
 * Writes a server's room shares: sets `server:{id}:rooms` to the given local
 * connection counts and moves `chat-rooms:clients` by the difference from what
 * that hash held before, dropping rooms that reach zero. The difference is
 * taken inside Redis, not from what the server remembers writing, so a write
 * that was lost, or a Redis that came back empty, heals on the next write.
 * Runs inside the server's once-a-second MULTI (with EVAL: no NOSCRIPT there).
 *
 * KEYS: server rooms hash, chat-rooms:clients. ARGV: room, count, room, count, ...
 */
export const ROOM_SHARES_SCRIPT = `
local delta = {}
local old = redis.call('HGETALL', KEYS[1])
for i = 1, #old, 2 do delta[old[i]] = -tonumber(old[i + 1]) end
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 2 do
  delta[ARGV[i]] = (delta[ARGV[i]] or 0) + tonumber(ARGV[i + 1])
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for room, d in pairs(delta) do
  if d ~= 0 then
    local left = tonumber(redis.call('ZINCRBY', KEYS[2], d, room))
    if left <= 0 then redis.call('ZREM', KEYS[2], room) end
  end
end
return 0
`;

/** KEYS and ARGV for ROOM_SHARES_SCRIPT; `counts` = room -> local connections. */
export function roomSharesArgs(keys: RedisKeys, serverId: string, counts: ReadonlyMap<string, number>) {
  const args: string[] = [];
  for (const [chatId, count] of counts) if (count > 0) args.push(chatId, String(count));
  return { keys: [keys.serverRooms(serverId), keys.roomsClients], arguments: args };
}

/**
 * Resets a server's share of room presence and users online to what it holds
 * locally: `server:{id}:presence` and `server:{id}:users` become the given
 * counts, and `presence:{room}` / `users:online` move by the difference from
 * what those hashes held (fields reaching zero are dropped). A server runs it
 * after its Redis connection comes back, so that a Redis that lost its data
 * (restarted without persistence) learns again who is where.
 *
 * KEYS: server presence hash, server users hash, users:online.
 * ARGV: fleet prefix, number of presence pairs P, then P pairs
 *       (`${chatId} ${userId}`, count), then pairs (user id, count).
 * Returns { users now online that were not, users now offline that were }.
 */
export const SYNC_SHARES_SCRIPT = `
local function bump(key, field, d)
  local left = redis.call('HINCRBY', key, field, d)
  if left <= 0 then redis.call('HDEL', key, field) end
  return left
end
local function sync(share, from, to, apply)
  local diff = {}
  local old = redis.call('HGETALL', share)
  for i = 1, #old, 2 do diff[old[i]] = -tonumber(old[i + 1]) end
  redis.call('DEL', share)
  for i = from, to, 2 do
    diff[ARGV[i]] = (diff[ARGV[i]] or 0) + tonumber(ARGV[i + 1])
    redis.call('HSET', share, ARGV[i], ARGV[i + 1])
  end
  for field, d in pairs(diff) do
    if d ~= 0 then apply(field, d) end
  end
end
local split = 3 + 2 * tonumber(ARGV[2])
sync(KEYS[1], 3, split - 1, function(field, d)
  local sep = string.find(field, ' ', 1, true)
  if sep then bump(ARGV[1] .. 'presence:' .. string.sub(field, 1, sep - 1), string.sub(field, sep + 1), d) end
end)
local online, offline = {}, {}
sync(KEYS[2], split, #ARGV, function(user, d)
  local left = bump(KEYS[3], user, d)
  if d > 0 and left == d then table.insert(online, user) end
  if d < 0 and left <= 0 then table.insert(offline, user) end
end)
return { online, offline }
`;

/**
 * KEYS and ARGV for SYNC_SHARES_SCRIPT. `presence` = `${chatId} ${userId}` ->
 * this server's connections of that user in that room; `users` = user id ->
 * this server's connections of that user.
 */
export function syncSharesArgs(
  keys: RedisKeys,
  serverId: string,
  presence: ReadonlyMap<string, number>,
  users: ReadonlyMap<string, number>,
) {
  const pairs: string[] = [];
  for (const [field, count] of presence) if (count > 0) pairs.push(field, String(count));
  const userPairs: string[] = [];
  for (const [userId, count] of users) if (count > 0) userPairs.push(userId, String(count));
  return {
    keys: [keys.serverPresence(serverId), keys.serverUsers(serverId), keys.usersOnline],
    arguments: [keys.prefix, String(pairs.length / 2), ...pairs, ...userPairs],
  };
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
