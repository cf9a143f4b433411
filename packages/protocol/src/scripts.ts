// Lua scripts that change several Redis structures of one hash slot at once; both apps run them so the rules live here.
import { presenceField, type RedisKeys } from './keys.js';
import { CHAT_FRAME_HEAD, DIRECT_FRAME_HEAD, encodeServerFrame } from './server-frames.js';

// Every script touches one hash slot only (a Cluster refuses anything else): its KEYS share a hash tag.
// Channels a script publishes on are passed in KEYS too, after the keys, so that a Cluster routes the
// script to the shard that owns them (SPUBLISH inside a script must stay within its slot). The publish
// command itself comes in ARGV: PUBLISH on one Redis or a Sentinel group, SPUBLISH on a Cluster.

/**
 * Lua shared by the scripts that read a stream: appends `id, tail` to `reply`
 * for every entry from `start` on (an XRANGE start: `(id` exclusive, `id`
 * inclusive) that is a message (has a `t` field; the marker entry has none).
 */
const APPEND_ENTRIES = `
local function append_entries(reply, key, start)
  for _, entry in ipairs(redis.call('XRANGE', key, start, '+')) do
    local fields = entry[2]
    for f = 1, #fields, 2 do
      if fields[f] == 't' then
        reply[#reply + 1] = entry[1]
        reply[#reply + 1] = fields[f + 1]
      end
    end
  end
end
`;

/**
 * Appends a batch of room messages to the room's history and publishes them,
 * atomically, so that every subscriber sees the room's messages in id order
 * whichever server sent them. The messages of one batch go out as one
 * publish, their frames joined by '\n' (JSON never contains a raw newline).
 * A history that does not exist yet starts with its marker entry.
 *
 * KEYS: history stream, room channel.
 * ARGV: HISTORY_LIMIT, publish command, chat frame head, tail 1, tail 2, ...
 * Returns the new message ids, in order.
 */
export const PUBLISH_CHATS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('XADD', KEYS[1], '*', 'g', '1') end
local ids = {}
local frames = {}
for i = 4, #ARGV do
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[i])
  ids[#ids + 1] = id
  frames[#frames + 1] = ARGV[3] .. id .. ARGV[i]
end
redis.call(ARGV[2], KEYS[2], table.concat(frames, '\\n'))
return ids
`;

/** KEYS and ARGV for PUBLISH_CHATS_SCRIPT. */
export function publishChatsArgs(
  keys: RedisKeys,
  chatId: string,
  tails: readonly string[],
  historyLimit: number,
  publishCommand: string,
) {
  return {
    keys: [keys.history(chatId), keys.room(chatId)],
    arguments: [String(historyLimit), publishCommand, CHAT_FRAME_HEAD, ...tails],
  };
}

/**
 * Joins a room's fleet-wide presence, makes sure its history exists (so there
 * is always a last id to resume from), and reads what registration answers:
 * the members, the id of the newest history entry, and, with `since`, the
 * entries after it and whether history still held every one of them.
 *
 * `since` is recovered when the entry `since` is still in the stream: entries
 * only ever leave a stream from its oldest end (MAXLEN trimming), so every
 * later entry is there too. When it is not, either trimming took it (the
 * marker entry is gone as well) or the stream never held it: it is a new
 * stream after Redis lost its data. Both mean a gap the client must know of.
 *
 * KEYS: history stream, presence hash.
 * ARGV: presence field, since ('' for none).
 * Returns { members' fields, last id, recovered (1, 0, or -1 without since), id 1, tail 1, id 2, tail 2, ... }.
 */
export const REGISTER_SCRIPT = `${APPEND_ENTRIES}
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('XADD', KEYS[1], '*', 'g', '1') end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local reply = { redis.call('HKEYS', KEYS[2]), newest[1][1], -1 }
if ARGV[2] ~= '' then
  local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2], 'COUNT', 1)
  reply[3] = (#found == 1) and 1 or 0
  append_entries(reply, KEYS[1], '(' .. ARGV[2])
end
return reply
`;

/** KEYS and ARGV for REGISTER_SCRIPT. */
export function registerArgs(keys: RedisKeys, serverId: string, chatId: string, userId: string, since: string | undefined) {
  return {
    keys: [keys.history(chatId), keys.presence(chatId)],
    arguments: [presenceField(serverId, userId), since ?? ''],
  };
}

/**
 * Reads a room's history after `since` for a server that may have missed
 * messages (its subscriber dropped or went deaf): the same rule as
 * REGISTER_SCRIPT tells whether anything between `since` and the first entry
 * returned is gone for good. A history that no longer exists (Redis came
 * back empty) starts again with its marker entry, so the newest id returned
 * is a point the next repair can start from.
 *
 * KEYS: history stream. ARGV: since.
 * Returns { recovered (1 or 0), newest id, id 1, tail 1, ... }.
 */
export const HISTORY_AFTER_SCRIPT = `${APPEND_ENTRIES}
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('XADD', KEYS[1], '*', 'g', '1') end
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1], 'COUNT', 1)
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local reply = { (#found == 1) and 1 or 0, newest[1][1] }
append_entries(reply, KEYS[1], '(' .. ARGV[1])
return reply
`;

/**
 * Moves one counter of a hash by `delta`, dropping the field when it reaches
 * zero or less. Serves the presence of a room (`presence:{room}`) and a
 * server's shares (`server:{id}:rooms`, `server:{id}:users`).
 *
 * KEYS: the hash. ARGV: field, delta. Returns the count left.
 */
export const COUNTER_DELTA_SCRIPT = `
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
`;

/** KEYS and ARGV for COUNTER_DELTA_SCRIPT. */
export function counterDeltaArgs(key: string, field: string, delta: number) {
  return { keys: [key], arguments: [field, String(delta)] };
}

/**
 * Counts one server's connection of a user coming or going in
 * `online:{user}`, and publishes the user's status on `user:{user}` when the
 * user came online (first connection anywhere) or went offline (last one).
 * A connection coming also takes the offline marker (the id of the first
 * direct message that arrived while the user had no connection anywhere) and
 * learns the id of the user's newest direct message.
 *
 * KEYS: online hash, user channel, offline marker, directs stream.
 * ARGV: server id, delta (+1 or -1), publish command, online status frame, offline status frame.
 * Returns { connections left fleet-wide, offline marker taken or '', newest direct id or '' }.
 */
export const ONLINE_DELTA_SCRIPT = `
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if mine <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local total = 0
local counts = redis.call('HVALS', KEYS[1])
for i = 1, #counts do total = total + tonumber(counts[i]) end
local delta = tonumber(ARGV[2])
if delta > 0 and total == delta then redis.call(ARGV[3], KEYS[2], ARGV[4]) end
if delta < 0 and total <= 0 and mine - delta > 0 then redis.call(ARGV[3], KEYS[2], ARGV[5]) end
local marker = ''
local newest = ''
if delta > 0 then
  marker = redis.call('GET', KEYS[3]) or ''
  if marker ~= '' then redis.call('DEL', KEYS[3]) end
  local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
  if #last == 1 then newest = last[1][1] end
end
return { total, marker, newest }
`;

/** KEYS and ARGV for ONLINE_DELTA_SCRIPT. */
export function onlineDeltaArgs(keys: RedisKeys, serverId: string, userId: string, delta: 1 | -1, publishCommand: string) {
  return {
    keys: [keys.online(userId), keys.user(userId), keys.directsOffline(userId), keys.directs(userId)],
    arguments: [serverId, String(delta), publishCommand, ...statusFrames(userId)],
  };
}

function statusFrames(userId: string): [string, string] {
  return [encodeServerFrame('status', { userId, online: true }), encodeServerFrame('status', { userId, online: false })];
}

/**
 * Keeps a direct message in the recipient's history and publishes it on the
 * recipient's channel, atomically, so the recipient's messages are ordered
 * and none can be seen live without being kept. When the recipient has no
 * connection anywhere, the first such message is remembered (the offline
 * marker), so the user's next connection gets everything from it on.
 *
 * KEYS: directs stream, online hash, offline marker, user channel.
 * ARGV: HISTORY_LIMIT, publish command, direct frame head, frame tail.
 * Returns the message id.
 */
export const PUBLISH_DIRECT_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[3], id, 'NX') end
redis.call(ARGV[2], KEYS[4], ARGV[3] .. id .. ARGV[4])
return id
`;

/** KEYS and ARGV for PUBLISH_DIRECT_SCRIPT. */
export function publishDirectArgs(keys: RedisKeys, to: string, tail: string, historyLimit: number, publishCommand: string) {
  return {
    keys: [keys.directs(to), keys.online(to), keys.directsOffline(to), keys.user(to)],
    arguments: [String(historyLimit), publishCommand, DIRECT_FRAME_HEAD, tail],
  };
}

/**
 * Reads a user's direct messages from `from` on: exclusive (a resume point,
 * `(id`) or inclusive (the offline marker, `id`).
 *
 * KEYS: directs stream. ARGV: start ('(' .. id, or id).
 * Returns { id 1, tail 1, id 2, tail 2, ... }.
 */
export const DIRECTS_FROM_SCRIPT = `${APPEND_ENTRIES}
local reply = {}
append_entries(reply, KEYS[1], ARGV[1])
return reply
`;

/**
 * Sets one server's fields of a room's presence to exactly the given counts:
 * its other fields there are dropped. With no pairs, removes the server from
 * the room (the balancer's clean-up after a crash); with pairs, a server puts
 * its presence back after Redis came back empty.
 *
 * KEYS: presence hash. ARGV: ' ' .. server id (the fields' suffix), then pairs (field, count).
 * Returns the number of fields removed.
 */
export const SYNC_PRESENCE_SCRIPT = `
local keep = {}
for i = 2, #ARGV, 2 do keep[ARGV[i]] = ARGV[i + 1] end
local removed = 0
local suffix = ARGV[1]
local fields = redis.call('HKEYS', KEYS[1])
for i = 1, #fields do
  local f = fields[i]
  if string.sub(f, -#suffix) == suffix and keep[f] == nil then
    redis.call('HDEL', KEYS[1], f)
    removed = removed + 1
  end
end
for f, count in pairs(keep) do redis.call('HSET', KEYS[1], f, count) end
return removed
`;

/** KEYS and ARGV for SYNC_PRESENCE_SCRIPT; `users` = user id -> this server's connections of that user in the room. */
export function syncPresenceArgs(keys: RedisKeys, serverId: string, chatId: string, users: ReadonlyMap<string, number>) {
  const args = [` ${serverId}`];
  for (const [userId, count] of users) if (count > 0) args.push(presenceField(serverId, userId), String(count));
  return { keys: [keys.presence(chatId)], arguments: args };
}

/** KEYS and ARGV for SYNC_PRESENCE_SCRIPT that take a server out of a room's presence. */
export function removeServerPresenceArgs(keys: RedisKeys, serverId: string, chatId: string) {
  return syncPresenceArgs(keys, serverId, chatId, new Map());
}

/**
 * Sets one server's share of a user's connections in `online:{user}` and
 * publishes the user's status when that made the user come online or go
 * offline fleet-wide. With count 0 it removes the server (the balancer's
 * clean-up after a crash).
 *
 * KEYS: online hash, user channel.
 * ARGV: server id, count, publish command, online status frame, offline status frame.
 * Returns the user's connections fleet-wide after the change.
 */
export const SYNC_ONLINE_SCRIPT = `
local function total()
  local sum = 0
  local counts = redis.call('HVALS', KEYS[1])
  for i = 1, #counts do sum = sum + tonumber(counts[i]) end
  return sum
end
local before = total()
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) else redis.call('HDEL', KEYS[1], ARGV[1]) end
local after = total()
if before <= 0 and after > 0 then redis.call(ARGV[3], KEYS[2], ARGV[4]) end
if before > 0 and after <= 0 then redis.call(ARGV[3], KEYS[2], ARGV[5]) end
return after
`;

/** KEYS and ARGV for SYNC_ONLINE_SCRIPT. */
export function syncOnlineArgs(keys: RedisKeys, serverId: string, userId: string, count: number, publishCommand: string) {
  return {
    keys: [keys.online(userId), keys.user(userId)],
    arguments: [serverId, String(count), publishCommand, ...statusFrames(userId)],
  };
}

/**
 * Replaces a hash with the given fields, atomically (a server's
 * `server:{id}:rooms` and `server:{id}:users`, once a second and after Redis
 * came back empty).
 *
 * KEYS: the hash. ARGV: field, value, field, value, ...
 */
export const REPLACE_HASH_SCRIPT = `
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return #ARGV / 2
`;

/** KEYS and ARGV for REPLACE_HASH_SCRIPT; counts of zero or less are left out. */
export function replaceCountsArgs(key: string, counts: ReadonlyMap<string, number>) {
  const args: string[] = [];
  for (const [field, count] of counts) if (count > 0) args.push(field, String(count));
  return { keys: [key], arguments: args };
}

/**
 * Takes the leader lease when nobody holds it, and draws its fencing token.
 * The token is the counter's next value, raised past `floor` (the newest token
 * the caller has seen anywhere, chat servers included) so that a Redis that
 * lost the counter can never hand out a token older than one servers obey.
 *
 * KEYS: lease (`balancer:{fleet}:leader`), token counter (`balancer:{fleet}:token`): one slot.
 * ARGV: holder id, lease time ms, floor token.
 * Returns the new token, or 0 when the lease is held.
 */
export const ACQUIRE_LEASE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
`;

/**
 * Extends the lease when the caller still holds it (same token, same holder).
 * KEYS: lease. ARGV: the lease's value `"<token> <holder>"`, lease time ms.
 * Returns 1 when renewed, 0 when the lease is gone or someone else's.
 */
export const RENEW_LEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * Gives the lease up (a planned stop) when the caller still holds it, so
 * another balancer leads at once instead of after the lease time.
 * KEYS: lease. ARGV: the lease's value. Returns 1 when released.
 */
export const RELEASE_LEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/** The value of the lease key for a holder and token, and back. */
export function leaseValue(token: number, holder: string): string {
  return `${token} ${holder}`;
}

/** Splits a lease value `"<token> <holder>"`; undefined for anything else. */
export function parseLeaseValue(value: string | null | undefined): { token: number; holder: string } | undefined {
  if (value === null || value === undefined) return undefined;
  const space = value.indexOf(' ');
  const token = Number(value.slice(0, space));
  if (space <= 0 || !Number.isSafeInteger(token) || token <= 0) return undefined;
  return { token, holder: value.slice(space + 1) };
}

/**
 * Makes a balancer the owner of a chat server (`owner` in `server:{id}`)
 * when the server still has the owner the caller saw: two balancers adopting
 * the same orphan cannot both win. A hash that is gone is not claimed.
 *
 * KEYS: server hash. ARGV: expected owner ('' = none), new owner.
 * Returns 1 when claimed.
 */
export const CLAIM_SERVER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local owner = redis.call('HGET', KEYS[1], 'owner') or ''
if owner ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
return 1
`;
