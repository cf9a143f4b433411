// The seam between a room's replayed history and its live messages: pure rules, no I/O.
import { chatFrameId, compareMessageIds } from '@chatfleet/protocol';

/**
 * True when a live chat frame comes after `floor` (the last id a connection
 * already got from history) and so must be delivered. Frames without a
 * readable id are delivered: dropping them would lose messages.
 */
export function isAfter(frame: string, floor: string | undefined): boolean {
  if (floor === undefined) return true;
  const id = chatFrameId(frame);
  return id === undefined || compareMessageIds(id, floor) > 0;
}

/**
 * The buffered live frames to send after a replay that ended at `floor`:
 * those after it, in arrival order (which is id order within a room).
 */
export function framesAfter(buffered: readonly string[], floor: string | undefined): string[] {
  if (floor === undefined) return buffered.slice();
  return buffered.filter((frame) => isAfter(frame, floor));
}
