// A connection failure that node-redis left unhandled must not end a chat server or a balancer.
import * as redis from 'redis';

/**
 * node-redis' errors for a connection that closed, timed out or could not be
 * made: what a Redis outage, a failover or a replaced connection rejects the
 * commands in flight with.
 */
const CONNECTION_ERRORS: ReadonlyArray<new (...args: never[]) => Error> = [
  redis.ClientClosedError,
  redis.ClientOfflineError,
  redis.ConnectionTimeoutError,
  redis.DisconnectsClientError,
  redis.ReconnectStrategyError,
  redis.RootNodesUnavailableError,
  redis.SocketClosedUnexpectedlyError,
  redis.SocketTimeoutError,
];

/** Whether `reason` is one of node-redis' connection errors. */
export function isRedisConnectionError(reason: unknown): boolean {
  return CONNECTION_ERRORS.some((type) => reason instanceof type);
}

interface RejectionLog {
  warn(fields: object, message: string): void;
  fatal(fields: object, message: string): void;
}

/**
 * Installs the process's `unhandledRejection` handler. node-redis still
 * starts some promises of its own and handles none of their failures (in 6.3:
 * a cluster client's rediscovery after a pub/sub MOVED); a connection error
 * there is logged as a warning and the process keeps serving, since the bus's
 * canary and the link's events already deal with what the failure means. Any
 * other unhandled rejection is a defect: it is logged and the process exits
 * with code 1, as Node would. Returns a function that removes the handler.
 */
export function guardRedisRejections(log: RejectionLog, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const onRejection = (reason: unknown): void => {
    if (isRedisConnectionError(reason)) {
      log.warn({ err: reason }, 'a Redis connection error went unhandled inside node-redis; serving on');
      return;
    }
    log.fatal({ err: reason }, 'unhandled promise rejection');
    exit(1);
  };
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('unhandledRejection', onRejection);
  };
}
