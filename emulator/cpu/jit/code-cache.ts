// The bounded set of live compiled blocks. A compiled function belongs to a decoded block
// (the block drops it whenever it is rebuilt: code written, page remapped, cache flushed);
// this cache bounds how many exist at once, evicting the oldest first, so a guest that runs
// ever new code (a long fork loop, a JIT inside the guest) keeps a flat heap.

import type { CompiledBlock } from './compiler';

/** What holds a compiled block (the CPU's decoded block). */
export interface JitHolder {
  jit: CompiledBlock | null;
  /** this holder's place in the cache while it holds a function from it */
  jitSlot: number;
}

/** At most this many compiled blocks by default. */
export const CODE_CACHE_SIZE = 4096;

export class CodeCache {
  private readonly ring: (JitHolder | null)[];
  private next = 0;
  /** compiled blocks ever added (regions among them), and evicted (for tests and reports) */
  added = 0;
  regions = 0;
  evicted = 0;

  constructor(readonly capacity = CODE_CACHE_SIZE) {
    this.ring = new Array<JitHolder | null>(capacity).fill(null);
  }

  /** Gives `h` the compiled block (or region) `fn`, evicting the oldest entry when full. */
  add(h: JitHolder, fn: CompiledBlock, region = false): void {
    const slot = this.next;
    const old = this.ring[slot];
    // (a holder recompiled since it took this slot owns another slot now)
    if (old !== null && old.jitSlot === slot && old.jit !== null) {
      old.jit = null;
      old.jitSlot = -1;
      this.evicted++;
    }
    this.ring[slot] = h;
    h.jit = fn;
    h.jitSlot = slot;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    this.added++;
    if (region) this.regions++;
  }

  /** Compiled blocks alive now. */
  get live(): number {
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      const h = this.ring[s];
      if (h !== null && h.jitSlot === s && h.jit !== null) n++;
    }
    return n;
  }
}
