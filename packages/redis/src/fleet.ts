// Taking one server out of the fleet's Redis structures: what a server does on exit and the balancer after a crash.
import {
  removeServerPresenceArgs,
  syncOnlineArgs,
  SYNC_ONLINE_SCRIPT,
  SYNC_PRESENCE_SCRIPT,
  type RedisKeys,
} from '@chatfleet/protocol';
import type { RedisLink } from './link.js';
import { RedisScript } from './script.js';

const syncPresence = new RedisScript(SYNC_PRESENCE_SCRIPT);
const syncOnline = new RedisScript(SYNC_ONLINE_SCRIPT);

/**
 * Removes a server from the fleet: its fields in the presence of every room
 * its share `server:{id}:rooms` names, its count in `online:{user}` of every
 * user its share `server:{id}:users` names (publishing `offline` for users who
 * had no other connection), then its hashes and its members of the
 * `servers:*` sorted sets. Every step touches one hash slot and can be
 * repeated, so a clean-up cut short is finished by the next one: the shares
 * go last. Resolves with the number of rooms and users it cleaned.
 */
export async function removeServer(link: RedisLink, keys: RedisKeys, serverId: string): Promise<{ rooms: number; users: number }> {
  const c = link.commands;
  const [rooms, users] = await Promise.all([c.hKeys(keys.serverRooms(serverId)), c.hKeys(keys.serverUsers(serverId))]);
  await Promise.all([
    ...rooms.map((chatId) => {
      const args = removeServerPresenceArgs(keys, serverId, String(chatId));
      return link.run(syncPresence, args.keys, args.arguments);
    }),
    ...users.map((userId) => {
      const args = syncOnlineArgs(keys, serverId, String(userId), 0, link.publishCommand);
      return link.run(syncOnline, args.keys, args.arguments);
    }),
  ]);
  await Promise.all([
    c.zRem(keys.serversClients, serverId),
    c.zRem(keys.serversCumulativeSocketWrites, serverId),
    c.zRem(keys.serversEventLoop, serverId),
    c.zRem(keys.serversFanout, serverId),
  ]);
  await c.del([keys.server(serverId), keys.serverRooms(serverId), keys.serverUsers(serverId)]);
  return { rooms: rooms.length, users: users.length };
}
