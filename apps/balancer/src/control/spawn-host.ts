// Where the leader starts a server (the host with the fewest servers) and the spawns it asked of other balancers, until they show up.

/** A live balancer as the leader sees it in its hash. */
export interface SpawnSite {
  id: string;
  host: string;
  /** Its servers that are not gone. */
  servers: number;
  /** Children it ever forked: it rises when a requested spawn was carried out. */
  spawns: number;
}

/**
 * The balancer to ask for a new server: on the host with the fewest servers
 * (counting every balancer of that host), the leader's own host winning a tie,
 * then the smaller host name; on that host, the balancer with the fewest
 * servers, the leader first on a tie, then the smaller id. Undefined only when
 * `sites` is empty. (Placement by spare cores may replace this rule.)
 */
export function chooseSpawnSite(sites: readonly SpawnSite[], selfId: string): SpawnSite | undefined {
  const selfHost = sites.find((s) => s.id === selfId)?.host;
  const perHost = new Map<string, number>();
  for (const site of sites) perHost.set(site.host, (perHost.get(site.host) ?? 0) + site.servers);
  let bestHost: string | undefined;
  for (const [host, servers] of perHost) {
    if (bestHost === undefined) {
      bestHost = host;
      continue;
    }
    const best = perHost.get(bestHost)!;
    if (servers < best || (servers === best && (host === selfHost || (bestHost !== selfHost && host < bestHost)))) bestHost = host;
  }
  const onHost = sites.filter((s) => s.host === bestHost);
  return onHost.sort((a, b) => a.servers - b.servers || Number(b.id === selfId) - Number(a.id === selfId) || a.id.localeCompare(b.id))[0];
}

interface Request {
  balancerId: string;
  spawnsBefore: number;
  until: number;
}

/**
 * Spawns the leader asked of other balancers. A request counts as a server
 * starting until the asked balancer's `spawns` counter shows it was carried
 * out (from then on that balancer reports the server itself) or it expires,
 * so the leader never asks twice for the same need.
 */
export class SpawnRequests {
  private requests: Request[] = [];

  /**
   * Notes a request to `site`, valid until `until` (ms epoch). Noted before
   * the request is sent, so a decision taken meanwhile already counts it;
   * `withdraw` it when nobody took it.
   */
  add(site: SpawnSite, until: number): object {
    const request: Request = { balancerId: site.id, spawnsBefore: site.spawns, until };
    this.requests.push(request);
    return request;
  }

  /** Forgets a request that was not delivered. */
  withdraw(request: object): void {
    this.requests = this.requests.filter((r) => r !== request);
  }

  /** Requests still pending, given the balancers as just read. */
  pending(sites: readonly SpawnSite[], now: number): number {
    const spawns = new Map(sites.map((s) => [s.id, s.spawns]));
    this.requests = this.requests.filter((r) => {
      const current = spawns.get(r.balancerId);
      return now < r.until && current !== undefined && current <= r.spawnsBefore;
    });
    return this.requests.length;
  }

  /** Forgets every request (leadership lost). */
  clear(): void {
    this.requests = [];
  }
}
