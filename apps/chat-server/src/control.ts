// Where clients go when this server moves them: reading peers from Redis, choosing targets, spreading clients by load.
import { isId, type RedisKeys } from '@chatfleet/protocol';
import type { Redis } from './lua.js';

/** A peer server as its hash in Redis describes it. */
export interface Peer {
  id: string;
  url: string;
  status: string;
  heartbeat: number;
  clients: number;
}

/**
 * The peers a draining server may send clients to: ready, with a fresh
 * heartbeat, not itself; least loaded first.
 */
export function drainTargets(peers: readonly Peer[], selfId: string, now: number, heartbeatTimeoutMs: number): Peer[] {
  return peers
    .filter(
      (peer) =>
        peer.id !== selfId &&
        peer.status === 'ready' &&
        peer.url !== '' &&
        now - peer.heartbeat <= heartbeatTimeoutMs,
    )
    .sort((a, b) => a.clients - b.clients || a.id.localeCompare(b.id));
}

/**
 * Spreads `count` clients over `targets`: each client goes to the target with
 * the fewest clients counting those already sent to it, so loads even out.
 * Returns one base URL per client; '' for all when there is no target.
 */
export function spreadClients(targets: readonly Peer[], count: number): string[] {
  if (targets.length === 0) return new Array<string>(count).fill('');
  const loads = targets.map((target) => target.clients);
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let t = 1; t < loads.length; t++) if (loads[t]! < loads[best]!) best = t;
    loads[best]! += 1;
    urls.push(targets[best]!.url);
  }
  return urls;
}

/** Reads every server registered in `servers:clients` with its hash. */
export async function readPeers(redis: Redis, keys: RedisKeys): Promise<Peer[]> {
  const ids = (await redis.zRange(keys.serversClients, 0, -1)).filter(isId);
  if (ids.length === 0) return [];
  const multi = redis.multi();
  for (const id of ids) multi.hGetAll(keys.server(id));
  const hashes = (await multi.exec()) as unknown as Array<Record<string, string>>;
  return ids.map((id, i) => {
    const hash = hashes[i] ?? {};
    return {
      id,
      url: hash['url'] ?? '',
      status: hash['status'] ?? '',
      heartbeat: Number(hash['heartbeat'] ?? 0),
      clients: Number(hash['clients'] ?? 0),
    };
  });
}
