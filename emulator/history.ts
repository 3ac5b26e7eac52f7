// Reverse execution's memory (issue 14 part 3): checkpoints taken as the machine runs
// forward, and the input that arrived between them, so that any earlier instruction count
// can be reached again by restoring the checkpoint before it and re-executing — the machine
// is deterministic (DESIGN decision 12), so re-execution retraces the same path.
//
// The history belongs to the Machine (Machine.recordHistory), not to a wrapper: the run loop
// is the one place that sees every slice boundary whoever drives the machine (the debugger,
// the GDB stub, the command line, a Library user calling run()), so checkpoints are taken and
// recorded input is delivered again however the machine is run.
//
// Costs (measured on the 16 MB forklab machine, see README "Reverse execution"): a full
// snapshot copies 16 MB (~9 ms); a checkpoint instead compares each 4 KiB page with the
// checkpoint before it and keeps only the pages that changed (the rest are shared), ~10 ms
// and a few hundred KB for a kernel that touches little memory. A checkpoint every
// DEFAULT_INTERVAL instructions keeps the cost of running under ~5% and bounds any seek to
// one restore plus at most that many instructions re-executed.
//
// Memory is bounded (maxBytes, default 256 MB, counting shared pages once): past it,
// checkpoints are dropped where they are densest relative to their distance from the current
// position, which leaves them exponentially spaced going away from it. The first checkpoint
// (the start of history) is never dropped; a seek into a thinned stretch re-executes further,
// and takes checkpoints again on the way.

import type { Machine } from './machine';
import { restoreSnapshot, takeSnapshot, type MachineState } from './snapshot';
import type { StateValue } from './state-data';

/** Instructions between checkpoints (a seek re-executes at most this many). */
export const DEFAULT_INTERVAL = 5_000_000;
/** Memory the checkpoints may hold. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

const PAGE_WORDS = 1024; // a 4 KiB page as 32-bit words

export interface HistoryOptions {
  /** Instructions between checkpoints (default 5 M). */
  interval?: number;
  /** Bound on the memory the checkpoints hold (default 256 MB). */
  maxBytes?: number;
}

interface Checkpoint {
  icount: number;
  /** clock time: with icount it names the moment (time passes in HLT without instructions) */
  time: number;
  /** everything but RAM */
  state: MachineState;
  /** RAM as pages, shared with other checkpoints where unchanged */
  pages: Int32Array[];
  /** bytes of `state` (the pages are counted once, in History.pageBytes) */
  bytes: number;
  /** inputs delivered before it was taken: restoring it makes the next one due */
  inputsBefore: number;
  /** taken right after a change from outside (a debugger's write): re-execution cannot
   *  reproduce the change, so no seek at or after it starts from an earlier checkpoint */
  barrier: boolean;
}

interface Input {
  time: number;
  apply: () => void;
}

export interface HistoryInfo {
  checkpoints: number;
  /** memory they hold (shared pages counted once) */
  bytes: number;
  maxBytes: number;
  /** the first and the furthest instruction count that can be reached */
  start: number;
  end: number;
  interval: number;
  /** instruction counts of the checkpoints, oldest first */
  at: number[];
}

export class History {
  readonly interval: number;
  readonly maxBytes: number;
  private readonly points: Checkpoint[] = [];
  private readonly pageRefs = new Map<Int32Array, number>();
  private pageBytes = 0;
  private stateBytes = 0;
  private readonly ram: Int32Array;
  private readonly inputs: Input[] = [];
  /** the next recorded input on this path (== inputs.length when running live) */
  private nextInput = 0;
  /** at this instruction count, see whether a checkpoint is due */
  private nextAt = 0;
  private furthest = 0;

  constructor(private readonly machine: Machine, options: HistoryOptions = {}) {
    this.interval = options.interval ?? DEFAULT_INTERVAL;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(Number.isInteger(this.interval) && this.interval >= 1)) throw new RangeError(`history: interval ${options.interval} is not a positive whole number`);
    if (!(this.maxBytes > 0)) throw new RangeError(`history: maxBytes ${options.maxBytes} is not positive`);
    const u8 = machine.mem.u8;
    this.ram = new Int32Array(u8.buffer, u8.byteOffset, u8.length >>> 2);
    this.take();
  }

  /** The first instruction count history reaches back to. */
  get start(): number {
    return this.points[0].icount;
  }

  /** The furthest instruction count the machine reached (seek goes no further). */
  get end(): number {
    return Math.max(this.furthest, this.machine.instructions);
  }

  get info(): HistoryInfo {
    return {
      checkpoints: this.points.length,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      start: this.start,
      end: this.end,
      interval: this.interval,
      at: this.points.map((p) => p.icount),
    };
  }

  get bytes(): number {
    return this.pageBytes + this.stateBytes;
  }

  /** Called by Machine.run between slices: delivers recorded input that is due again, takes
   *  a checkpoint when one is due. */
  boundary(): void {
    const m = this.machine;
    const now = m.clock.icount;
    while (this.nextInput < this.inputs.length && this.inputs[this.nextInput].time <= now) this.inputs[this.nextInput++].apply();
    const icount = m.instructions;
    if (icount > this.furthest) this.furthest = icount;
    if (icount < this.nextAt) return;
    const before = this.points[this.floor(now)];
    if (icount - before.icount >= this.interval) this.take();
    else this.nextAt = before.icount + this.interval;
  }

  /** Clock time until recorded input is due again: Machine.run ends its slice (and an idle
   *  stretch) there. */
  timeToInput(): number {
    if (this.nextInput >= this.inputs.length) return Infinity;
    return Math.max(1, this.inputs[this.nextInput].time - this.machine.clock.icount);
  }

  /** Input arriving now, from the host: delivered and written down. Input that was
   *  recorded after this moment on the old path (we are back in history) is dropped with
   *  the checkpoints that saw it: the future from here is a new one. */
  input(apply: () => void): void {
    this.diverge();
    this.inputs.push({ time: this.machine.clock.icount, apply });
    this.nextInput = this.inputs.length;
    apply();
  }

  /** Call after the machine was changed from outside in a way re-execution cannot repeat (a
   *  debugger wrote memory or registers): the future is dropped, and a checkpoint taken here
   *  holds the change. */
  changed(): void {
    this.diverge();
    const now = this.machine.clock.icount;
    for (let i = this.points.length - 1; i >= 0; i--) if (this.points[i].time >= now) this.drop(i); // they saw it before the change
    this.take(true);
  }

  /** What history holds after this moment is no longer the machine's future (input came):
   *  drop it. */
  private diverge(): void {
    const m = this.machine;
    const now = m.clock.icount;
    if (this.nextInput === this.inputs.length && this.points[this.points.length - 1].time <= now && this.furthest <= m.instructions) return;
    this.inputs.length = this.nextInput;
    for (let i = this.points.length - 1; i > 0; i--) {
      const p = this.points[i];
      if (p.inputsBefore > this.nextInput || p.time > now) this.drop(i);
    }
    this.furthest = m.instructions;
  }

  /**
   * Puts the machine at the first moment its instruction count was `icount`: restores the
   * last checkpoint before it and re-executes, without observers and with the guest's
   * output to the host muted. A one-line RangeError outside [start, end].
   */
  seek(icount: number): void {
    this.checkRange(icount);
    this.rewind(icount);
    this.machine.replay(() => {
      const m = this.machine;
      while (m.instructions < icount) {
        const r = m.run(icount - m.instructions);
        if (m.instructions < icount && r.kind !== 'limit') throw new Error(`history: re-execution stopped (${r.kind}) at instruction ${m.instructions}, before ${icount}`);
      }
    }, false);
  }

  /** Restores the last checkpoint before `icount` (the start for `icount` <= start);
   *  returns its instruction count. The caller re-executes from there. */
  rewind(icount: number): number {
    this.furthest = this.end; // where the machine is now stays reachable
    let i = this.points.length - 1;
    for (; i > 0; i--) {
      const p = this.points[i];
      if (p.icount < icount || (p.barrier && p.icount === icount)) break;
    }
    const p = this.points[i];
    const ram = this.ram;
    restoreSnapshot(this.machine, p.state, () => {
      for (let k = 0; k < p.pages.length; k++) ram.set(p.pages[k], k * PAGE_WORDS);
    });
    this.nextInput = p.inputsBefore;
    this.nextAt = p.icount + this.interval;
    return p.icount;
  }

  /** Why `icount` cannot be reached (one line), or null. */
  rangeProblem(icount: number): string | null {
    if (!Number.isSafeInteger(icount) || icount < 0) return `${icount} is not an instruction count`;
    if (icount < this.start) return `instruction ${icount} is before the start of history (${this.start})`;
    if (icount > this.end) return `instruction ${icount} is beyond the end of history (${this.end})`;
    return null;
  }

  private checkRange(icount: number): void {
    const p = this.rangeProblem(icount);
    if (p) throw new RangeError(p);
  }

  /** The last checkpoint at or before clock time `time`. */
  private floor(time: number): number {
    let lo = 0, hi = this.points.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.points[mid].time <= time) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private take(barrier = false): void {
    const m = this.machine;
    const time = m.clock.icount;
    const prev = this.points.length ? this.points[this.floor(time)] : null;
    const state = takeSnapshot(m, false);
    const ram = this.ram;
    const count = ram.length / PAGE_WORDS;
    const pages: Int32Array[] = new Array(count);
    for (let k = 0; k < count; k++) {
      const old = prev?.pages[k];
      const base = k * PAGE_WORDS;
      let same = old !== undefined;
      if (same) {
        for (let i = 0; i < PAGE_WORDS; i++) {
          if (old![i] !== ram[base + i]) {
            same = false;
            break;
          }
        }
      }
      const page = same ? old! : isZero(ram, base) ? ZERO_PAGE : ram.slice(base, base + PAGE_WORDS);
      pages[k] = page;
      const refs = this.pageRefs.get(page) ?? 0;
      if (refs === 0) this.pageBytes += PAGE_WORDS * 4;
      this.pageRefs.set(page, refs + 1);
    }
    const p: Checkpoint = { icount: m.instructions, time, state, pages, bytes: stateSize(state), inputsBefore: this.nextInput, barrier };
    this.stateBytes += p.bytes;
    let at = this.points.length;
    while (at > 0 && this.points[at - 1].time > time) at--;
    this.points.splice(at, 0, p);
    this.nextAt = p.icount + this.interval;
    this.thin();
  }

  private drop(i: number): void {
    const [p] = this.points.splice(i, 1);
    this.stateBytes -= p.bytes;
    for (const page of p.pages) {
      const refs = this.pageRefs.get(page)! - 1;
      if (refs === 0) {
        this.pageRefs.delete(page);
        this.pageBytes -= PAGE_WORDS * 4;
      } else this.pageRefs.set(page, refs);
    }
  }

  /** Over the bound: drop the checkpoint whose neighbours are closest together for its
   *  distance from where the machine is, until under it (the first and last stay). */
  private thin(): void {
    const now = this.machine.instructions;
    while (this.bytes > this.maxBytes && this.points.length > 2) {
      let best = -1, bestScore = Infinity;
      for (let i = 1; i < this.points.length - 1; i++) {
        if (this.points[i].barrier) continue;
        const gap = this.points[i + 1].icount - this.points[i - 1].icount;
        const score = gap / (1 + Math.abs(now - this.points[i].icount));
        if (score < bestScore) {
          bestScore = score;
          best = i;
        }
      }
      if (best < 0) break; // only barriers left between the ends
      this.drop(best);
    }
  }
}

/** One page of zeros, shared by every checkpoint (most of a fresh machine's RAM). */
const ZERO_PAGE = new Int32Array(PAGE_WORDS);

function isZero(ram: Int32Array, base: number): boolean {
  for (let i = 0; i < PAGE_WORDS; i++) if (ram[base + i] !== 0) return false;
  return true;
}

/** Bytes a state (without RAM) holds: its arrays and sectors, plus a little per field. */
function stateSize(s: MachineState): number {
  let n = 0;
  const walk = (v: StateValue): void => {
    if (v === null || typeof v !== 'object') n += 8;
    else if (ArrayBuffer.isView(v)) n += v.byteLength;
    else if (Array.isArray(v)) v.forEach(walk);
    else for (const k in v) walk(v[k]);
  };
  walk(s.parts);
  for (const d of Object.values(s.disks)) n += d ? d.data.length + d.lbas.length * 8 : 0;
  return n;
}
