// The client's errors: one class with a stable string code, for rejected promises and `error` events.

/** Codes of errors the client itself raises; server `error` frames keep the server's code. */
export const ClientErrorCode = {
  /** The balancer answered provision with an error body or an unexpected status. */
  provisionFailed: 'provision_failed',
  /** The balancer could not be reached. */
  balancerUnreachable: 'balancer_unreachable',
  /** The websocket did not open, or opened without a `welcome`, in time. */
  connectFailed: 'connect_failed',
  /** An operation needs an open connection and there is none right now. */
  notConnected: 'not_connected',
  /** `send` named a room this client has not joined. */
  notJoined: 'not_joined',
  /** A send was neither acked nor seen echoed back within `sendTimeoutMs`; it was not retried. */
  sendTimeout: 'send_timeout',
  /** The connection dropped while a direct message was unacked; it may or may not have been delivered. */
  connectionLost: 'connection_lost',
  /** `close()` was called. */
  closed: 'closed',
  /** A frame from the server could not be read. */
  badServerFrame: 'bad_server_frame',
  /** Bad arguments (an invalid room id, an empty or over-long text, an unknown option value). */
  invalidArgument: 'invalid_argument',
  /** A balancer URL that is not an absolute http:// or https:// URL (thrown by `connect()` at once). */
  invalidUrl: 'invalid_url',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * Every error the client emits or rejects with. `code` is either a
 * ClientErrorCode or the code of a server `error` frame (`rate_limited`, ...).
 * `status` is the HTTP status for provision errors.
 */
export class ChatClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    /** The balancer's own error code (`no_ready_server`, `forbidden`, ...) for provision errors. */
    readonly remoteCode?: string,
  ) {
    super(message);
    this.name = 'ChatClientError';
  }

  /** True for failures worth retrying with backoff; false for ones that will fail again the same way. */
  get retryable(): boolean {
    if (this.code === ClientErrorCode.provisionFailed) {
      // 5xx and 429 come and go; 400/401/403 will not change by retrying.
      return this.status === undefined || this.status >= 500 || this.status === 429 || this.status === 408;
    }
    return this.code !== ClientErrorCode.invalidArgument && this.code !== ClientErrorCode.invalidUrl && this.code !== ClientErrorCode.closed;
  }
}
