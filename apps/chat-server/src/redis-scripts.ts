// The protocol's Lua scripts as this server runs them: by SHA, through its Redis link.
import {
  COUNTER_DELTA_SCRIPT,
  DIRECTS_FROM_SCRIPT,
  HISTORY_AFTER_SCRIPT,
  ONLINE_DELTA_SCRIPT,
  PUBLISH_CHATS_SCRIPT,
  PUBLISH_DIRECT_SCRIPT,
  REGISTER_SCRIPT,
  REPLACE_HASH_SCRIPT,
  SYNC_ONLINE_SCRIPT,
  SYNC_PRESENCE_SCRIPT,
} from '@chatfleet/protocol';
import { RedisScript } from '@chatfleet/redis';

export const publishChats = new RedisScript(PUBLISH_CHATS_SCRIPT);
export const register = new RedisScript(REGISTER_SCRIPT);
export const historyAfter = new RedisScript(HISTORY_AFTER_SCRIPT);
export const counterDelta = new RedisScript(COUNTER_DELTA_SCRIPT);
export const onlineDelta = new RedisScript(ONLINE_DELTA_SCRIPT);
export const publishDirect = new RedisScript(PUBLISH_DIRECT_SCRIPT);
export const directsFrom = new RedisScript(DIRECTS_FROM_SCRIPT);
export const syncPresence = new RedisScript(SYNC_PRESENCE_SCRIPT);
export const syncOnline = new RedisScript(SYNC_ONLINE_SCRIPT);
export const replaceHash = new RedisScript(REPLACE_HASH_SCRIPT);

/** Reads a script reply of `[..., id, tail, id, tail]` from `start` on into pairs. */
export function entryPairs(reply: unknown[], start: number): Array<[id: string, tail: string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = start; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
  return pairs;
}

/** Every script above, for loading them all at once. */
export const ALL_SCRIPTS = [
  publishChats,
  register,
  historyAfter,
  counterDelta,
  onlineDelta,
  publishDirect,
  directsFrom,
  syncPresence,
  syncOnline,
  replaceHash,
];
