// Reverse execution for the debuggers (the built-in one and the GDB stub), over the
// machine's history (emulator/history.ts). Nothing runs backwards: going back is a seek to an
// earlier instruction count, and finding where to go back to is a re-execution of the stretch
// before the current point, from its checkpoints, watching for what we look for:
//
//   reverse step N       seek(now - N)
//   reverse continue     the breakpoint and watchpoint hits of the stretch from the last
//                        checkpoint to now, with the debugger's breakpoints and watchpoints
//                        in place; the last hit is where we go. No hit: the stretch before it.
//   (reverse finish)     a pass over longer and longer stretches ending now (Debugger)
//
// Positions: a breakpoint hit is the moment before its instruction runs, as going forward. A
// watchpoint hit going backwards stops before the instruction that made the access (gdb's
// rule: undoing it is what crossed the watchpoint), one instruction before where going
// forward stops, after it.

import type { Machine } from '../machine';
import type { History } from '../history';
import type { CpuHooks } from '../cpu/bus';
import type { CpuDebugTarget } from './cpu-target';
import type { BreakpointKind, DebugTarget, StopReason, WatchKind } from './target';

export type ReverseStop =
  /** arrived where the step asked */
  | { kind: 'step' }
  | { kind: 'breakpoint'; address: number; type: BreakpointKind }
  | { kind: 'watchpoint'; type: WatchKind; address: number; watch: number }
  /** the start of history: nothing before it */
  | { kind: 'begin' };

/** What the GDB stub needs to go backwards (it knows no Machine). */
export interface ReverseControl {
  stepBack(n: number): ReverseStop;
  continueBack(): ReverseStop;
  /** Call after the debugger wrote memory or registers: the recorded future is no longer
   *  this one, and the change is kept (History.changed). */
  diverged(): void;
}

/** Decides on a hit found while re-executing (the machine is at the hit): a breakpoint's
 *  condition, say. */
export type HitFilter = (r: StopReason) => boolean;

export class Reverse implements ReverseControl {
  constructor(
    readonly machine: Machine,
    /** whose breakpoints and watchpoints reverse continue honours */
    readonly target: CpuDebugTarget | DebugTarget,
  ) {}

  get history(): History {
    const h = this.machine.history;
    if (!h) throw new RangeError('no history is kept of this run');
    return h;
  }

  diverged(): void {
    this.machine.history?.changed();
  }

  /** Back `n` instructions; to the start of history (`begin`) when there are fewer. */
  stepBack(n: number): ReverseStop {
    const h = this.history;
    const to = this.machine.instructions - n;
    if (to < h.start) {
      h.seek(h.start);
      return { kind: 'begin' };
    }
    h.seek(to);
    return { kind: 'step' };
  }

  /** Back to the last breakpoint or watchpoint hit (that `accept` takes) before now. */
  continueBack(accept: HitFilter = () => true): ReverseStop {
    const h = this.history;
    const m = this.machine;
    let end = m.instructions;
    for (;;) {
      const from = h.rewind(end);
      const hit = m.replay(() => this.lastHit(end, accept), true);
      if (hit) {
        h.seek(hit.at);
        return hit.stop;
      }
      if (from <= h.start) {
        h.seek(h.start);
        return { kind: 'begin' };
      }
      end = from;
    }
  }

  /** Runs to instruction `end` with the breakpoints and watchpoints in place; the last hit
   *  `accept` takes, with the instruction count to stop at going backwards. */
  private lastHit(end: number, accept: HitFilter): { at: number; stop: ReverseStop } | null {
    const m = this.machine, t = this.target;
    let last: { at: number; stop: ReverseStop } | null = null;
    const note = (r: StopReason): void => {
      if (r.kind === 'breakpoint' && accept(r)) last = { at: m.instructions, stop: { kind: 'breakpoint', address: r.address, type: r.type } };
      else if (r.kind === 'watchpoint' && accept(r)) last = { at: m.instructions - 1, stop: { kind: 'watchpoint', type: r.type, address: r.address, watch: r.watch } };
    };
    while (m.instructions < end) {
      const r = t.run(end - m.instructions);
      note(r);
      if (r.kind === 'breakpoint') note(t.step()); // on past it
      else if (r.kind !== 'budget' && r.kind !== 'watchpoint') break; // the guest's end: history ends there too
    }
    return last;
  }

  /**
   * Re-executes longer and longer stretches ending now — from the last checkpoint, then from
   * the one before, ... — with `hooks` as the only observer, until `pass.found()` (asked at
   * the end of a stretch) gives an instruction count, and goes there. `pass.begin()` starts
   * each stretch afresh. `begin` when even the whole history has no answer.
   */
  searchBack(pass: { begin(): void; hooks: CpuHooks; found(): number | null }): ReverseStop {
    const h = this.history;
    const m = this.machine;
    const end = m.instructions;
    let before = end;
    for (;;) {
      const from = h.rewind(before);
      pass.begin();
      const at = m.replay(() => {
        m.cpu.setHooks(pass.hooks);
        while (m.instructions < end) {
          const r = m.run(end - m.instructions);
          if (r.kind !== 'limit' && r.kind !== 'stopped') break;
        }
        return pass.found();
      }, false);
      if (at !== null) {
        h.seek(at);
        return { kind: 'step' };
      }
      if (from <= h.start) {
        h.seek(end);
        return { kind: 'begin' };
      }
      before = from;
    }
  }
}
