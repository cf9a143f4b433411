// The simulator's synthetic day: who is online when (a daily curve), how users spread over Zipf rooms, a flash crowd, churn and message rates.
import { zipfShares } from './prng.js';

export interface TrafficOptions {
  /** Users online at the daily peak. */
  users: number;
  rooms: number;
  /** Zipf exponent of room sizes. */
  zipf: number;
  /** Seconds between two messages of one user, on average. */
  messageIntervalS: number;
  /** Most messages per second one room carries (a huge room's chat is capped by what people read). */
  roomRateCap: number;
  /** Mean session length, minutes: users leave and others join all day. */
  sessionMinutes: number;
  /** Share of the peak online at the daily low (05:00); the peak is at 21:00. */
  troughShare: number;
  /** The flash crowd: a small room (by rank) that suddenly draws `members` extra users. */
  flash: { rank: number; atHour: number; members: number; riseMinutes: number; holdMinutes: number; fallMinutes: number } | undefined;
}

export const DEFAULT_TRAFFIC: TrafficOptions = {
  users: 200_000,
  rooms: 10_000,
  zipf: 1.0,
  messageIntervalS: 300,
  roomRateCap: 20,
  sessionMinutes: 60,
  troughShare: 0.25,
  flash: { rank: 5000, atHour: 19.5, members: 50_000, riseMinutes: 10, holdMinutes: 40, fallMinutes: 20 },
};

/** Share of the peak online at `hour` (0-24): rising from 05:00 to 21:00, falling from 21:00 to 05:00, cosine-shaped. */
export function dailyShare(hour: number, trough: number): number {
  const h = ((hour % 24) + 24) % 24;
  let wave: number;
  if (h >= 5 && h < 21) wave = (1 - Math.cos((Math.PI * (h - 5)) / 16)) / 2;
  else wave = (1 + Math.cos((Math.PI * ((h - 21 + 24) % 24)) / 8)) / 2;
  return trough + (1 - trough) * wave;
}

/** The flash crowd's extra members at `hour`. */
export function flashMembers(hour: number, flash: TrafficOptions['flash']): number {
  if (flash === undefined) return 0;
  const m = (hour - flash.atHour) * 60;
  if (m < 0) return 0;
  if (m < flash.riseMinutes) return (flash.members * m) / flash.riseMinutes;
  if (m < flash.riseMinutes + flash.holdMinutes) return flash.members;
  const f = m - flash.riseMinutes - flash.holdMinutes;
  return f < flash.fallMinutes ? flash.members * (1 - f / flash.fallMinutes) : 0;
}

/** The day's traffic: each room's target members at an hour, and its message rate for a member count. */
export class Traffic {
  readonly shares: Float64Array;
  /** A fixed offset per room, so fractional targets round the same way hour after hour (no flicker). */
  private readonly offsets: Float64Array;
  readonly ids: string[];

  constructor(
    readonly options: TrafficOptions,
    random: () => number,
  ) {
    this.shares = zipfShares(options.rooms, options.zipf);
    this.offsets = new Float64Array(options.rooms);
    for (let i = 0; i < options.rooms; i++) this.offsets[i] = random();
    this.ids = Array.from({ length: options.rooms }, (_, i) => `r${i + 1}`);
  }

  /** Users online at `hour` (the flash crowd not included). */
  online(hour: number): number {
    return this.options.users * dailyShare(hour, this.options.troughShare);
  }

  /** Target members of room index `i` at `hour`. */
  target(i: number, hour: number, online = this.online(hour)): number {
    const base = Math.floor(this.shares[i]! * online + this.offsets[i]!);
    const flash = this.options.flash;
    return flash !== undefined && i === flash.rank - 1 ? base + Math.round(flashMembers(hour, flash)) : base;
  }

  /** Messages per second of a room of `members`: each member every messageIntervalS, capped. */
  rate(members: number): number {
    return Math.min(members / this.options.messageIntervalS, this.options.roomRateCap);
  }
}
