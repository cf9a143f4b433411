// The client package's public surface: connect, the client class, its errors, its data types, and the pure helpers it is built from.
export { ChatClient, connect } from './chat-client.js';
export type { ChatClientEvents, ChatClientOptions, ChatClientStats, ClientState, TransportMode, TransportName } from './chat-client.js';
export type { ChatMessage, DirectMessage, ProvisionAnswer, RegisteredInfo, StatusInfo, WelcomeInfo } from './types.js';
export { ChatClientError, ClientErrorCode } from './errors.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { BalancerList, checkBalancerUrl } from './balancers.js';
export { RoomCursors, type CursorVerdict } from './room-cursors.js';
export { provision, provisionUrl, type ProvisionRequest } from './provision.js';
export { defaultSocketFactory, type SocketFactory, type SocketLike } from './socket.js';
export { SseSocket } from './sse-socket.js';
