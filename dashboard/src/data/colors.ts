// A stable colour per server id, so a server keeps its colour across charts, rows and restarts of the page.

/**
 * Colour-blind-friendly hues (Okabe-Ito without black and its pale yellow, which vanishes on white,
 * plus a violet and a brown), readable on light and dark backgrounds.
 */
export const SERVER_PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7F7FFF', '#A0785A'] as const;

/** FNV-1a over the id, reduced to a palette slot. */
export function serverColor(id: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return SERVER_PALETTE[(hash >>> 0) % SERVER_PALETTE.length] ?? SERVER_PALETTE[0];
}
