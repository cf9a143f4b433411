// Error codes, close codes and limits that cross a process boundary, as `as const` maps.

/** Codes carried by the server's `error` frame (SPEC section 3). */
export const ErrorCode = {
  badFrame: 'bad_frame',
  unknownType: 'unknown_type',
  notRegistered: 'not_registered',
  tooLarge: 'too_large',
  rateLimited: 'rate_limited',
  forbidden: 'forbidden',
  tooMany: 'too_many',
  /** The server could not reach Redis: the chat or direct message was NOT sent; send it again later. */
  unavailable: 'unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Websocket close codes the chat server uses. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  slowConsumer: 4000,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes of the balancer's JSON error bodies (SPEC section 2). */
export const HttpErrorCode = {
  badRequest: 'bad_request',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  notFound: 'not_found',
  unknownServer: 'unknown_server',
  /** A request body over the balancer's limit (413). */
  tooLarge: 'too_large',
  fleetFull: 'fleet_full',
  noReadyServer: 'no_ready_server',
  noTarget: 'no_target',
  shuttingDown: 'shutting_down',
  /** Extension: the balancer that owns the server did not take the command (none listening on its channel). */
  ownerUnreachable: 'owner_unreachable',
  internal: 'internal',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** Fixed limits of the wire protocol. */
export const Limits = {
  /** Longest chat or direct text, in characters. */
  maxMessageChars: 4096,
  /** Rooms one connection may join. */
  maxRoomsPerConnection: 100,
  /** Users one connection may watch. */
  maxWatchedUsers: 100,
  /** Longest `clientId` a client may attach to a message. */
  maxClientIdChars: 64,
} as const;

/** Server statuses as the balancer reports them. */
export const ServerStatus = {
  starting: 'starting',
  ready: 'ready',
  draining: 'draining',
  gone: 'gone',
} as const;
export type ServerStatus = (typeof ServerStatus)[keyof typeof ServerStatus];
