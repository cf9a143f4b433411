// What rooms, users, frames and the server need from a client connection, whatever carries it (a websocket or the SSE fallback).
import type { Socket } from 'node:net';
import type { ErrorCode } from '@chatfleet/protocol';
import type { Bucket, Strikes } from './rate-limit.js';

/**
 * One connected client as the rest of the server sees it. The websocket
 * `Connection` and the fallback's `FallbackConnection` both implement it, so
 * a room writes the same serialized-once frame to either kind of member.
 */
export interface ClientConnection extends Bucket, Strikes {
  readonly userId: string;
  readonly connectedAt: number;
  /** The TCP socket under it; its `writableLength` is what a slow consumer has queued. */
  readonly socket: Socket;
  /** Users watched for online status. */
  watched: Set<string> | undefined;
  /** Set once the client has been sent a `redistribute` frame. */
  moving: boolean;
  /** Set once a close was started or the connection is cut: nothing more is sent. */
  closing: boolean;
  /**
   * 0 once the last ping was answered; else the ping wheel's tick of the ping
   * still unanswered (the fallback, which has no pong, always reads 0 and
   * stays until its socket fails).
   */
  unanswered: number;

  /** Number of rooms joined. */
  readonly roomCount: number;
  inRoom(chatId: string): boolean;
  /** The rooms joined, as a fresh array. */
  roomIds(): string[];
  addRoom(chatId: string): void;
  /** Forgets a room; false when the connection was not in it. */
  removeRoom(chatId: string): boolean;

  /** Sends one serialized frame (JSON text). */
  send(frame: string): void;
  /**
   * Sends a frame already framed as a websocket text frame by `frameText`
   * (serialized once for every recipient); a transport that does not speak
   * websocket takes the JSON back out of it.
   */
  sendFramed(framed: Buffer): void;
  /** Sends an `error` frame; `clientId` names the refused chat or direct. */
  sendError(code: ErrorCode, message: string, clientId?: string): void;
  /** Flushes the writes of this event-loop turn and checks for a slow consumer. */
  uncork(): void;
  /** Sends a keep-alive (a websocket ping). */
  ping(): void;
  /** Starts a close with a websocket close code; the connection is cut after `graceMs` if it does not end. */
  close(code: number, reason: string, graceMs: number): void;
  /** Closes as a slow consumer (4000). */
  closeSlow(): void;
  /** Cuts the connection at once. */
  terminate(): void;
}
