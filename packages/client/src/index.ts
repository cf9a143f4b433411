// The client package's public surface: connect, the client class, its errors, and the pure helpers it is built from.
export { ChatClient, connect } from './chat-client.js';
export type {
  ChatClientEvents,
  ChatClientOptions,
  ChatClientStats,
  ClientState,
  DirectMessage,
  RegisteredInfo,
  WelcomeInfo,
} from './chat-client.js';
export { ChatClientError, ClientErrorCode } from './errors.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { RoomCursors, type CursorVerdict } from './room-cursors.js';
export { provision, provisionUrl, type ProvisionRequest } from './provision.js';
export { defaultSocketFactory, type SocketFactory, type SocketLike } from './socket.js';
export type { ChatMessage } from '@chatfleet/protocol';
