// Breakpoint and watchpoint bookkeeping for the CPU side of a DebugTarget, so the CPU only
// has to ask two cheap questions:
//
//   before each instruction:   if (points.anyBreakpoint) {
//                                const k = points.breakpointAt(linearPc);
//                                if (k !== null) return points.breakpointStop(linearPc, k);
//                              }
//   on each data access:       if (points.anyWatchpoint) points.onAccess(linear, size, isWrite);
//   after each instruction:    if (points.hitPending) return points.takeHit();
//
// With nothing set, the cost is one boolean test per instruction and per access (DESIGN
// decision 8). Nothing here allocates on those paths: stop reasons are preallocated
// objects that are reused (read them before the next stop).
//
// DebugPoints implements the add/remove/clear methods of DebugTarget, so a target can
// delegate them: `addBreakpoint = (a, k) => this.points.addBreakpoint(a, k)` etc.

import type { BreakpointKind, StopReason, WatchKind } from './target';

const SW = 1;
const HW = 2;
const WRITE = 1;
const READ = 2;

interface Watch {
  addr: number;
  len: number;
  type: WatchKind;
  mask: number; // WRITE and/or READ
}

export class DebugPoints {
  /** True while any breakpoint is set. */
  anyBreakpoint = false;
  /** True while any watchpoint is set. */
  anyWatchpoint = false;
  /** True when the current instruction hit a watchpoint (set by onAccess). */
  hitPending = false;

  private readonly breakpoints = new Map<number, number>();
  private readonly watches: Watch[] = [];
  /** Per 4 KiB linear page, how many watchpoints touch it (allocated on first use). */
  private watchPages: Uint16Array | null = null;

  private readonly bpStop = { kind: 'breakpoint' as const, address: 0, type: 'sw' as BreakpointKind };
  private readonly watchStop = { kind: 'watchpoint' as const, type: 'write' as WatchKind, address: 0, watch: 0 };

  addBreakpoint(linear: number, type: BreakpointKind): void {
    linear >>>= 0;
    this.breakpoints.set(linear, (this.breakpoints.get(linear) ?? 0) | (type === 'sw' ? SW : HW));
    this.anyBreakpoint = true;
  }

  removeBreakpoint(linear: number, type: BreakpointKind): void {
    linear >>>= 0;
    const bits = (this.breakpoints.get(linear) ?? 0) & ~(type === 'sw' ? SW : HW);
    if (bits) this.breakpoints.set(linear, bits);
    else this.breakpoints.delete(linear);
    this.anyBreakpoint = this.breakpoints.size > 0;
  }

  /** The breakpoint at this linear address ('sw' wins when both are set), or null. */
  breakpointAt(linear: number): BreakpointKind | null {
    const bits = this.breakpoints.get(linear >>> 0);
    return bits === undefined ? null : bits & SW ? 'sw' : 'hw';
  }

  /** The (reused) stop reason for a breakpoint. */
  breakpointStop(linear: number, type: BreakpointKind): StopReason {
    this.bpStop.address = linear >>> 0;
    this.bpStop.type = type;
    return this.bpStop;
  }

  addWatchpoint(linear: number, len: number, type: WatchKind): void {
    if (len <= 0) return;
    const w: Watch = { addr: linear >>> 0, len, type, mask: type === 'write' ? WRITE : type === 'read' ? READ : WRITE | READ };
    this.watches.push(w);
    this.countPages(w, 1);
    this.anyWatchpoint = true;
  }

  removeWatchpoint(linear: number, len: number, type: WatchKind): void {
    const i = this.watches.findIndex((w) => w.addr === linear >>> 0 && w.len === len && w.type === type);
    if (i < 0) return;
    this.countPages(this.watches[i], -1);
    this.watches.splice(i, 1);
    this.anyWatchpoint = this.watches.length > 0;
  }

  clearAll(): void {
    this.breakpoints.clear();
    this.watches.length = 0;
    this.watchPages = null;
    this.anyBreakpoint = this.anyWatchpoint = this.hitPending = false;
  }

  private countPages(w: Watch, d: number): void {
    if (!this.watchPages) this.watchPages = new Uint16Array(1 << 20);
    const first = w.addr >>> 12;
    const last = ((w.addr + w.len - 1) >>> 0) >>> 12;
    // A range that wraps around 4 GiB touches the pages from first to the top and from 0.
    for (let p = first; ; p = (p + 1) & 0xfffff) {
      this.watchPages[p] += d;
      if (p === last) break;
    }
  }

  /**
   * A data access of `size` bytes at `linear`. When it overlaps a watchpoint of a matching
   * kind and no hit is pending yet for this instruction, records the hit.
   */
  onAccess(linear: number, size: number, write: boolean): void {
    if (this.hitPending) return;
    const pages = this.watchPages!;
    linear >>>= 0;
    const end = (linear + size - 1) >>> 0;
    if (pages[linear >>> 12] === 0 && pages[end >>> 12] === 0) return;
    const need = write ? WRITE : READ;
    for (let i = 0; i < this.watches.length; i++) {
      const w = this.watches[i];
      if ((w.mask & need) === 0) continue;
      // Overlap, modulo 2^32: the access starts inside the watch, or the watch inside the access.
      const off = (linear - w.addr) >>> 0;
      const back = (w.addr - linear) >>> 0;
      if (off < w.len || back < size) {
        this.hitPending = true;
        this.watchStop.type = w.type;
        this.watchStop.address = off < w.len ? linear : w.addr;
        this.watchStop.watch = w.addr;
        return;
      }
    }
  }

  /** The pending watchpoint hit as a (reused) stop reason; clears it. */
  takeHit(): StopReason {
    this.hitPending = false;
    return this.watchStop;
  }
}
