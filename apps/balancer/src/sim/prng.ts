// Seeded randomness for the fleet simulator, so a run is repeatable from its --seed.

/** A PRNG (mulberry32) returning floats in [0, 1); the same seed gives the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rounds `x` down or up at random so that the mean is `x` (small fractional flows stay right on average). */
export function stochasticRound(x: number, random: () => number): number {
  const floor = Math.floor(x);
  return floor + (random() < x - floor ? 1 : 0);
}

/** The shares of `n` ranks under a Zipf law with exponent `s` (rank 1 the largest); they sum to 1. */
export function zipfShares(n: number, s: number): Float64Array {
  const shares = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    shares[i] = 1 / (i + 1) ** s;
    sum += shares[i]!;
  }
  for (let i = 0; i < n; i++) shares[i]! /= sum;
  return shares;
}
