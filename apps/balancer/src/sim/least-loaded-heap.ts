// A heap of provisioning candidates by the balancer's least-loaded order, so the simulator finds today's fallback server without scanning the fleet.
import { loadOf, type Candidate } from '../load/selection.js';

/** The order of `leastLoaded`: lower load, then fewer clients, then the smaller id. */
function before(a: Candidate, b: Candidate): boolean {
  const la = loadOf(a.socketWrites);
  const lb = loadOf(b.socketWrites);
  if (la !== lb) return la < lb;
  if (a.clients !== b.clients) return a.clients < b.clients;
  return a.id < b.id;
}

/** An indexed binary heap: `peek()` is what `leastLoaded` over the same candidates returns. */
export class LeastLoadedHeap<C extends Candidate> {
  private readonly items: C[] = [];
  private readonly at = new Map<string, number>();

  constructor(candidates: Iterable<C>) {
    for (const c of candidates) {
      this.at.set(c.id, this.items.length);
      this.items.push(c);
    }
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  peek(): C | undefined {
    return this.items[0];
  }

  /** Puts `c` in place of the candidate with its id (it must be in the heap). */
  update(c: C): void {
    const i = this.at.get(c.id);
    if (i === undefined) return;
    this.items[i] = c;
    this.up(i);
    this.down(this.at.get(c.id)!);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    this.at.set(b.id, i);
    this.at.set(a.id, j);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(this.items[i]!, this.items[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < this.items.length && before(this.items[l]!, this.items[best]!)) best = l;
      if (r < this.items.length && before(this.items[r]!, this.items[best]!)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}
