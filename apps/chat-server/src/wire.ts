// Websocket framing done once per message: a server text frame is the same bytes for every recipient.

/**
 * Frames `payload` (UTF-8 JSON) as one unmasked, final websocket text frame
 * (RFC 6455 section 5.2). Server-to-client frames are never masked, so the
 * result can be written as is to every socket that should get the message.
 */
export function frameText(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + text opcode
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/** Frames a string as a text frame. */
export function frameString(text: string): Buffer {
  return frameText(Buffer.from(text));
}
