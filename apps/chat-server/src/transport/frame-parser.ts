// Reads RFC 6455 client frames from socket chunks: a pure parser whose state exists only while a frame or message is incomplete.
import { isUtf8 } from 'node:buffer';

/** Close codes the parser fails a connection with (RFC 6455 section 7.4.1). */
export const ProtocolClose = {
  protocolError: 1002,
  invalidPayload: 1007,
  /** A message in more frames than `maxFragments` (what `ws` closes with for the same). */
  policyViolation: 1008,
  tooBig: 1009,
} as const;

/** The close code a close frame without one stands for (never sent on the wire). */
export const NO_STATUS = 1005;

/** The caps on what one message may cost; shared by every connection of a server. */
export interface FrameLimits {
  /** Largest message in bytes, its fragments joined (MAX_PAYLOAD); a larger one fails with 1009 from its header. */
  readonly maxPayload: number;
  /** Most frames one message may come in (MAX_FRAGMENTS); the next one fails with 1008 from its header. */
  readonly maxFragments: number;
}

/** What the parser reports; the connection implements it, so parsing needs no closure per socket. */
export interface FrameSink {
  /** A whole message (fragments joined); text is valid UTF-8. */
  onFrameMessage(data: Buffer, binary: boolean): void;
  onFramePing(data: Buffer): void;
  onFramePong(data: Buffer): void;
  /** The peer's close frame; `code` is NO_STATUS when it carried none. Nothing is parsed after it. */
  onFrameClose(code: number, reason: string): void;
  /** A protocol violation: the connection must be closed with `code`. Nothing is parsed after it. */
  onFrameError(code: number, reason: string): void;
}

/**
 * What is left over between two chunks. Made only when a chunk ends inside a
 * frame or a fragmented message is under way; an idle connection holds none.
 */
export class PendingFrames {
  /** Bytes of a frame whose header is not complete yet (under 14). */
  head: Buffer | undefined = undefined;
  /** Declared payload length of a frame whose header was read but not all its payload; -1 when none. */
  length = -1;
  /** Bytes of that frame's payload received so far. */
  filled = 0;
  opcode = 0;
  fin = false;
  mask = 0;
  /**
   * The payload so far of an unfinished frame that is not a fragment (a whole
   * message or a control frame), grown as bytes come, never ahead of them.
   * A fragment's bytes go straight into `message` instead.
   */
  payload: Buffer | undefined = undefined;
  /** Opcode (text or binary) of the fragmented message under way; 0 when none. */
  messageOpcode = 0;
  /** Frames of that message so far, the unfinished one included. */
  fragments = 0;
  /**
   * That message's bytes, `messageLength` of them complete and unmasked: one
   * buffer for every fragment, grown as bytes come (at least doubling, never
   * past `maxPayload`), so many small fragments cost a few copies, not an
   * allocation each, and an empty fragment costs nothing.
   */
  message: Buffer | undefined = undefined;
  messageLength = 0;
}

/** Frame opcodes (RFC 6455 section 5.2). */
const Op = {
  continuation: 0,
  text: 1,
  binary: 2,
  close: 8,
  ping: 9,
  pong: 10,
} as const;

/** Tells the caller to stop: a close frame or an error was reported. */
const STOP = null;

/** Empty payloads share one buffer. */
const EMPTY = Buffer.alloc(0);

/**
 * Parses `chunk` after what `pending` kept from earlier chunks, reports every
 * complete frame to `sink`, and returns what must be kept for the next chunk
 * (undefined when nothing is pending, and after a close frame or an error).
 * A data frame that would take its message past `limits.maxPayload` bytes
 * (1009) or `limits.maxFragments` frames (1008) fails as soon as its header
 * is read, before any of its payload is buffered.
 * Unmasks complete frames in place: `chunk` must belong to the caller.
 */
export function readFrames(
  pending: PendingFrames | undefined,
  chunk: Buffer,
  limits: FrameLimits,
  sink: FrameSink,
): PendingFrames | undefined {
  let state = pending;
  let data = chunk;
  let offset = 0;
  if (state !== undefined) {
    if (state.length >= 0) {
      const take = Math.min(state.length - state.filled, data.length);
      offset = take;
      if (isFragment(state.opcode, state.fin)) {
        appendMessage(state, data, 0, take, limits.maxPayload);
        if (state.filled < state.length) return state;
        if (fragmentDone(state, sink) === STOP) return undefined;
      } else {
        append(state, data, 0, take);
        if (state.filled < state.length) return state;
        const payload = state.payload === undefined ? EMPTY : state.payload.subarray(0, state.length);
        state.length = -1;
        state.payload = undefined;
        state.filled = 0;
        unmask(payload, state.mask);
        if (frame(state, state.opcode, payload, sink) === STOP) return undefined;
      }
    } else if (state.head !== undefined) {
      data = Buffer.concat([state.head, data]);
      state.head = undefined;
    }
  }
  while (offset < data.length) {
    const available = data.length - offset;
    if (available < 2) {
      (state ??= new PendingFrames()).head = copy(data, offset, data.length);
      break;
    }
    const b0 = data[offset]!;
    const b1 = data[offset + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    const inMessage = state !== undefined && state.messageOpcode !== 0;
    const problem = headerProblem(b0, b1, opcode, fin, length, inMessage);
    if (problem !== undefined) return failed(sink, ProtocolClose.protocolError, problem);
    const headLength = 6 + (length === 126 ? 2 : length === 127 ? 8 : 0);
    if (available < headLength) {
      (state ??= new PendingFrames()).head = copy(data, offset, data.length);
      break;
    }
    if (length === 126) {
      length = data.readUInt16BE(offset + 2);
    } else if (length === 127) {
      // Over 4 GiB is over any MAX_PAYLOAD (and over 2^63 is not even a valid length).
      if (data.readUInt32BE(offset + 2) !== 0) return failed(sink, ProtocolClose.tooBig, 'message too big');
      length = data.readUInt32BE(offset + 6);
    }
    if (opcode < Op.close) {
      const sofar = inMessage ? state!.messageLength : 0;
      if (sofar + length > limits.maxPayload) return failed(sink, ProtocolClose.tooBig, 'message too big');
      if ((inMessage ? state!.fragments : 0) + 1 > limits.maxFragments) {
        return failed(sink, ProtocolClose.policyViolation, `message in more than ${limits.maxFragments} fragments`);
      }
    }
    const mask = data.readUInt32BE(offset + headLength - 4);
    const start = offset + headLength;
    const end = Math.min(data.length, start + length);
    if (isFragment(opcode, fin)) {
      state ??= new PendingFrames();
      if (opcode !== Op.continuation) state.messageOpcode = opcode;
      state.fragments += 1;
      state.length = length;
      state.opcode = opcode;
      state.fin = fin;
      state.mask = mask;
      appendMessage(state, data, start, end, limits.maxPayload);
      if (state.filled < length) return state;
      offset = end;
      if (fragmentDone(state, sink) === STOP) return undefined;
      continue;
    }
    if (end - start < length) {
      state ??= new PendingFrames();
      state.length = length;
      append(state, data, start, end);
      state.opcode = opcode;
      state.fin = fin;
      state.mask = mask;
      return state;
    }
    const payload = data.subarray(start, end);
    unmask(payload, mask);
    offset = end;
    const next = frame(state, opcode, payload, sink);
    if (next === STOP) return undefined;
    state = next;
  }
  return state === undefined || (state.head === undefined && state.messageOpcode === 0) ? undefined : state;
}

/** True for a data frame that is part of a fragmented message: its first (FIN clear), a middle or its last. */
function isFragment(opcode: number, fin: boolean): boolean {
  return opcode === Op.continuation || (opcode < Op.close && !fin);
}

/** Why a frame's first two bytes break RFC 6455 for a server, or undefined when they do not. */
function headerProblem(b0: number, b1: number, opcode: number, fin: boolean, length: number, inMessage: boolean): string | undefined {
  if ((b0 & 0x70) !== 0) return 'reserved bits set (no extension was negotiated)';
  if ((b1 & 0x80) === 0) return 'client frames must be masked';
  switch (opcode) {
    case Op.continuation:
      return inMessage ? undefined : 'continuation frame without a message to continue';
    case Op.text:
    case Op.binary:
      return inMessage ? 'new message inside a fragmented one' : undefined;
    case Op.close:
    case Op.ping:
    case Op.pong:
      if (!fin) return 'fragmented control frame';
      return length > 125 ? 'control frame over 125 bytes' : undefined;
    default:
      return `unknown opcode ${opcode}`;
  }
}

/** Handles one complete, unmasked frame that is not a fragment; returns the state to go on with, or STOP. */
function frame(
  state: PendingFrames | undefined,
  opcode: number,
  payload: Buffer,
  sink: FrameSink,
): PendingFrames | undefined | typeof STOP {
  switch (opcode) {
    case Op.text:
    case Op.binary:
      return message(state, opcode, payload, sink);
    case Op.ping:
      sink.onFramePing(payload);
      return state;
    case Op.pong:
      sink.onFramePong(payload);
      return state;
    default:
      return close(payload, sink);
  }
}

/**
 * A fragment's payload is all in `state.message`: unmasks it there, and on
 * the last fragment delivers the message and forgets it.
 */
function fragmentDone(state: PendingFrames, sink: FrameSink): PendingFrames | typeof STOP {
  const start = state.messageLength;
  const end = start + state.length;
  if (state.message !== undefined) unmask(state.message.subarray(start, end), state.mask);
  state.messageLength = end;
  state.length = -1;
  state.filled = 0;
  if (!state.fin) return state;
  const whole = state.message === undefined ? EMPTY : state.message.subarray(0, end);
  const opcode = state.messageOpcode;
  state.message = undefined;
  state.messageLength = 0;
  state.messageOpcode = 0;
  state.fragments = 0;
  return message(state, opcode, whole, sink) === STOP ? STOP : state;
}

/** Delivers a whole data message; text must be valid UTF-8 (else 1007). */
function message(state: PendingFrames | undefined, opcode: number, data: Buffer, sink: FrameSink): PendingFrames | undefined | typeof STOP {
  const binary = opcode === Op.binary;
  if (!binary && !isUtf8(data)) return fail(sink, ProtocolClose.invalidPayload, 'text is not valid UTF-8');
  sink.onFrameMessage(data, binary);
  return state;
}

/** Reads a close frame's code and reason (RFC 6455 section 5.5.1) and reports it, or the way it is malformed. */
function close(payload: Buffer, sink: FrameSink): typeof STOP {
  if (payload.length === 0) {
    sink.onFrameClose(NO_STATUS, '');
    return STOP;
  }
  if (payload.length === 1) return fail(sink, ProtocolClose.protocolError, 'close frame with a 1-byte payload');
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) return fail(sink, ProtocolClose.protocolError, `invalid close code ${code}`);
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) return fail(sink, ProtocolClose.invalidPayload, 'close reason is not valid UTF-8');
  sink.onFrameClose(code, reason.toString());
  return STOP;
}

/** Close codes a peer may send (RFC 6455 section 7.4 and the IANA registry): 1004-1006 and 1015 are never on the wire. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Reports a protocol violation and tells the caller to stop. */
function fail(sink: FrameSink, code: number, reason: string): typeof STOP {
  sink.onFrameError(code, reason);
  return STOP;
}

/** `fail` for readFrames, which answers with the state to keep: none. */
function failed(sink: FrameSink, code: number, reason: string): undefined {
  sink.onFrameError(code, reason);
  return undefined;
}

/** XORs `data` with the 32-bit masking key, in place. */
function unmask(data: Buffer, mask: number): void {
  if (mask === 0) return;
  const m0 = mask >>> 24;
  const m1 = (mask >>> 16) & 0xff;
  const m2 = (mask >>> 8) & 0xff;
  const m3 = mask & 0xff;
  const length = data.length;
  let i = 0;
  for (; i + 3 < length; i += 4) {
    data[i] = data[i]! ^ m0;
    data[i + 1] = data[i + 1]! ^ m1;
    data[i + 2] = data[i + 2]! ^ m2;
    data[i + 3] = data[i + 3]! ^ m3;
  }
  if (i < length) data[i] = data[i]! ^ m0;
  if (i + 1 < length) data[i + 1] = data[i + 1]! ^ m1;
  if (i + 2 < length) data[i + 2] = data[i + 2]! ^ m2;
}

/**
 * Adds bytes to the pending frame's payload. The buffer grows with what has
 * arrived (at least doubling, at most the declared length), so a peer that
 * only declares a large frame does not make the server allocate it.
 */
function append(state: PendingFrames, data: Buffer, start: number, end: number): void {
  if (end === start) return;
  const need = state.filled + (end - start);
  const have = state.payload?.length ?? 0;
  if (need > have) {
    const grown = Buffer.allocUnsafeSlow(Math.min(state.length, Math.max(need, 2 * have, 256)));
    state.payload?.copy(grown, 0, 0, state.filled);
    state.payload = grown;
  }
  data.copy(state.payload!, state.filled, start, end);
  state.filled = need;
}

/**
 * Adds a fragment's bytes to the message buffer, after the complete
 * fragments and what came of this one. The buffer grows with what has
 * arrived (at least doubling, never past `maxPayload`, which the header
 * check keeps the message within).
 */
function appendMessage(state: PendingFrames, data: Buffer, start: number, end: number, maxPayload: number): void {
  if (end === start) return;
  const at = state.messageLength + state.filled;
  const need = at + (end - start);
  const have = state.message?.length ?? 0;
  if (need > have) {
    const grown = Buffer.allocUnsafeSlow(Math.min(maxPayload, Math.max(need, 2 * have, 256)));
    state.message?.copy(grown, 0, 0, at);
    state.message = grown;
  }
  data.copy(state.message!, at, start, end);
  state.filled += end - start;
}

/** A copy in memory of its own, so a kept fragment does not pin the socket chunk (or a shared pool) it came in. */
function copy(data: Buffer, start: number, end: number): Buffer {
  const owned = Buffer.allocUnsafeSlow(end - start);
  data.copy(owned, 0, start, end);
  return owned;
}
