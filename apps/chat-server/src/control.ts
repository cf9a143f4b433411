// Where clients go when this server moves them: reading peers from Redis, choosing targets, spreading clients by load.
import { isId, type RedisKeys } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';

/** A peer server as its hash in Redis describes it. */
export interface Peer {
  id: string;
  url: string;
  status: string;
  heartbeat: number;
  clients: number;
  /** Its MAX_CONNECTIONS; 0 when its hash does not say (no cap known). */
  maxClients?: number;
}

/** How many more clients `peer` takes (Infinity when its cap is not known). */
function roomOf(peer: Peer, clients = peer.clients): number {
  const max = peer.maxClients ?? 0;
  return max > 0 ? max - clients : Infinity;
}

/**
 * The peers a draining server may send clients to: ready, with a fresh
 * heartbeat, not full, not itself; least loaded first.
 */
export function drainTargets(peers: readonly Peer[], selfId: string, now: number, heartbeatTimeoutMs: number): Peer[] {
  return peers
    .filter(
      (peer) =>
        peer.id !== selfId &&
        peer.status === 'ready' &&
        peer.url !== '' &&
        roomOf(peer) > 0 &&
        now - peer.heartbeat <= heartbeatTimeoutMs,
    )
    .sort((a, b) => a.clients - b.clients || a.id.localeCompare(b.id));
}

/**
 * Spreads `count` clients over `targets`: each client goes to the target with
 * the fewest clients counting those already sent to it, so loads even out,
 * and no target gets more than its cap allows. Returns one base URL per
 * client; '' (provision again) for those no target has room for.
 */
export function spreadClients(targets: readonly Peer[], count: number): string[] {
  if (targets.length === 0) return new Array<string>(count).fill('');
  const loads = targets.map((target) => target.clients);
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    let best = -1;
    for (let t = 0; t < loads.length; t++) {
      if (roomOf(targets[t]!, loads[t]) <= 0) continue;
      if (best === -1 || loads[t]! < loads[best]!) best = t;
    }
    if (best === -1) {
      urls.push('');
      continue;
    }
    loads[best]! += 1;
    urls.push(targets[best]!.url);
  }
  return urls;
}

/** Reads every server registered in `servers:clients` with its hash. */
export async function readPeers(redis: RedisLink, keys: RedisKeys): Promise<Peer[]> {
  const ids = (await redis.commands.zRange(keys.serversClients, 0, -1)).map(String).filter(isId);
  if (ids.length === 0) return [];
  // One read per hash: on a Cluster each lives in its server's own slot.
  const hashes = (await Promise.all(ids.map((id) => redis.commands.hGetAll(keys.server(id))))) as Array<Record<string, string>>;
  return ids.map((id, i) => {
    const hash = hashes[i] ?? {};
    return {
      id,
      url: hash['url'] ?? '',
      status: hash['status'] ?? '',
      heartbeat: Number(hash['heartbeat'] ?? 0),
      clients: Number(hash['clients'] ?? 0),
      maxClients: Number(hash['maxClients'] ?? 0) || 0,
    };
  });
}
