// Who is where: room names, room sizes (even or Zipf), the user-to-room assignment, and the predicted load.

/** Room `index` (0-based) as the original harness named it: `chat-room-1` .. `chat-room-R`. */
export function roomName(prefix: string, index: number): string {
  return `${prefix}${index + 1}`;
}

/** Even sizes: every room gets users/rooms, the first `users % rooms` rooms one more. */
export function evenSizes(users: number, rooms: number): number[] {
  const base = Math.floor(users / rooms);
  const extra = users % rooms;
  return Array.from({ length: rooms }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Zipf sizes: room k (1-based) gets a share proportional to 1/k^s. Every room
 * gets one user first (an empty room would measure nothing), the rest is
 * split by the weights with the largest-remainder method, so the sizes sum to
 * `users` exactly and never increase with k.
 */
export function zipfSizes(users: number, rooms: number, s: number): number[] {
  if (rooms > users) throw new RangeError(`${rooms} rooms need at least ${rooms} users`);
  const weights = Array.from({ length: rooms }, (_, i) => 1 / (i + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  const rest = users - rooms;
  const exact = weights.map((w) => (w / total) * rest);
  const sizes = exact.map((x) => 1 + Math.floor(x));
  let left = users - sizes.reduce((a, b) => a + b, 0);
  // Hand out what rounding down left over, largest remainder first; ties go to the bigger room.
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    sizes[i] = (sizes[i] as number) + 1;
    left--;
  }
  return sizes;
}

export function roomSizes(users: number, rooms: number, zipf: number | undefined): number[] {
  return zipf === undefined ? evenSizes(users, rooms) : zipfSizes(users, rooms, zipf);
}

/**
 * Assigns each user a room so that room r gets exactly sizes[r] users, in a
 * shuffled order: users connect one after another, and a shuffle makes every
 * room fill up during the ramp rather than one room after the other.
 */
export function assignRooms(sizes: readonly number[], random: () => number = Math.random): Int32Array {
  const users = sizes.reduce((a, b) => a + b, 0);
  const rooms = new Int32Array(users);
  let at = 0;
  sizes.forEach((size, room) => {
    rooms.fill(room, at, at + size);
    at += size;
  });
  for (let i = users - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = rooms[i] as number;
    rooms[i] = rooms[j] as number;
    rooms[j] = t;
  }
  return rooms;
}

/** SPEC's prediction for even rooms: u users sending every m seconds into r rooms cause u²/(m·r) socket writes/s. */
export function predictedWritesPerSec(users: number, meanIntervalS: number, rooms: number): number {
  return (users * users) / (meanIntervalS * rooms);
}

/** The same prediction for any room sizes: each of a room's s users sends 1/m messages/s to s members, Σ s²/m. */
export function predictedWritesBySizes(sizes: readonly number[], meanIntervalS: number): number {
  return sizes.reduce((sum, s) => sum + s * s, 0) / meanIntervalS;
}

/** A uniformly random whole number of ms in [min, max]. */
export function randomInterval(minMs: number, maxMs: number, random: () => number = Math.random): number {
  return minMs + Math.floor(random() * (maxMs - minMs + 1));
}
