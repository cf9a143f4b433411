// When a server's heartbeat counts as stale: the rule that tells a frozen server from a Redis outage.
/**
 * A heartbeat is stale when the server has not written it for `timeoutMs`
 * while the balancer could see Redis. `steadySince` is when the balancer's own
 * reads last started to succeed again (its start, or the end of the last Redis
 * outage or stall); time before it does not count against the server, because
 * no server could write then and the balancer could not read. So after an
 * outage every server gets a full `timeoutMs` from the moment Redis answers the
 * balancer again before it is judged: a healthy one has reconnected and
 * written by then, a frozen (SIGSTOP) or hung one has not. A heartbeat never
 * read (undefined) is not stale: the server is still starting.
 */
export function heartbeatStale(heartbeat: number | undefined, now: number, steadySince: number, timeoutMs: number): boolean {
  if (heartbeat === undefined) return false;
  return now - Math.max(heartbeat, steadySince) > timeoutMs;
}

/**
 * True when a server's keys are missing only because Redis lost them (came
 * back empty) and the server has not had `timeoutMs` since to write them
 * again: the balancer should wait rather than call the server gone.
 */
export function withinRecovery(now: number, steadySince: number, timeoutMs: number): boolean {
  return now - steadySince <= timeoutMs;
}
