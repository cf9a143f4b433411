// A distinct colour per server: handed out from a palette in order of appearance, kept while the server is listed.

/**
 * Colour-blind-friendly hues (Okabe-Ito without black and its pale yellow, which vanishes on white,
 * plus a violet and a brown), readable on light and dark backgrounds.
 */
export const SERVER_PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7F7FFF', '#A0785A'] as const;

/** Colour `n` past the palette: hues a golden angle apart, so any number of servers stay distinct. */
export function extraColor(n: number): string {
  return `hsl(${Math.round((n * 137.508 + 20) % 360)} 60% 48%)`;
}

/** A server as the colour assignment needs it. */
export interface ColoredServer {
  id: string;
  startedAt: number;
}

/**
 * Colours for `servers` (the servers a snapshot lists), given the last
 * assignment. A server keeps its colour while it is listed; a new one takes
 * the first palette colour no listed server holds, in order of appearance
 * (start time, then id), and past the palette a generated one. No two listed
 * servers ever share a colour. Returns a new map; `previous` is not changed.
 */
export function assignColors(previous: ReadonlyMap<string, string>, servers: readonly ColoredServer[]): Map<string, string> {
  const next = new Map<string, string>();
  for (const s of servers) {
    const color = previous.get(s.id);
    if (color !== undefined) next.set(s.id, color);
  }
  const used = new Set(next.values());
  const fresh = servers.filter((s) => !next.has(s.id)).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  let extra = 0;
  for (const s of fresh) {
    let color: string | undefined = SERVER_PALETTE.find((c) => !used.has(c));
    while (color === undefined) {
      const candidate = extraColor(extra++);
      if (!used.has(candidate)) color = candidate;
    }
    used.add(color);
    next.set(s.id, color);
  }
  return next;
}
