// A DebugTarget over our Cpu (emulator/cpu/cpu.ts), built on the CPU's observer hooks
// (CpuHooks: beforeInstruction, memoryAccess) and DebugPoints. While no breakpoint or
// watchpoint is set the CPU runs with no hooks at all (DESIGN decision 8); with breakpoints
// only, the instruction hook; with watchpoints, the memory hook too (the CPU then takes its
// slow memory path).
//
// The CPU has one hook slot; to share it with other observers (a trace recorder), pass a
// HookSlot from a HookHub (emulator/debug/hooks.ts). By default this target sets the CPU's
// hooks directly.
//
// A machine (devices, clock) passes its own `run(max)` so time advances while the guest
// runs under the debugger (machine-target.ts); the default runs the bare CPU.

import type { CpuHooks } from '../cpu/bus';
import type { Cpu, StopReason as CpuStop } from '../cpu/cpu';
import { peekTranslate } from '../mmu/paging';
import { PAGE_NONE } from '../memory';
import type { HookSlot } from './hooks';
import { DebugPoints } from './points';
import type { BreakpointKind, DebugTarget, RegisterName, StopReason, WatchKind } from './target';

const STEP: StopReason = { kind: 'step' };
const BUDGET: StopReason = { kind: 'budget' };
const HALTED: StopReason = { kind: 'halted' };

export class CpuDebugTarget implements DebugTarget {
  readonly points = new DebugPoints();
  private ignoreBreakpoints = false;
  private bpKind: BreakpointKind | null = null;
  private bpAddr = 0;
  private readonly tripleFault = { kind: 'triple-fault' as const, message: '' };

  private readonly onInstruction = (linear: number): boolean => {
    if (this.ignoreBreakpoints || !this.points.anyBreakpoint) return false;
    const k = this.points.breakpointAt(linear);
    if (k === null) return false;
    this.bpKind = k;
    this.bpAddr = linear;
    return true;
  };

  private readonly onAccess = (kind: 'r' | 'w', linear: number, size: number): void => {
    if (!this.points.anyWatchpoint) return;
    this.points.onAccess(linear, size, kind === 'w');
    if (this.points.hitPending) this.cpu.stop();
  };

  private readonly breakHooks: CpuHooks = { beforeInstruction: this.onInstruction };
  private readonly allHooks: CpuHooks = { beforeInstruction: this.onInstruction, memoryAccess: this.onAccess };

  private readonly runGuest: (max: number) => StopReason;
  private readonly slot: HookSlot;
  private current: CpuHooks | null = null;

  /**
   * `run` runs the guest for up to `max` instructions and says why it returned, as a
   * DebugTarget StopReason (`budget` when it may go on, including when the CPU stopped for
   * this target's breakpoint or watchpoint: those are recognised here). The default runs
   * the bare CPU; a machine passes its own (machineDebugTarget in machine-target.ts).
   */
  constructor(
    readonly cpu: Cpu,
    options: { run?: (max: number) => StopReason; hooks?: HookSlot } = {},
  ) {
    this.runGuest = options.run ?? ((max) => this.fromCpu(cpu.run(max)));
    this.slot = options.hooks ?? { set: (h) => cpu.setHooks(h) };
  }

  private updateHooks(): void {
    const want = this.points.anyWatchpoint ? this.allHooks : this.points.anyBreakpoint ? this.breakHooks : null;
    if (this.current !== want) {
      this.current = want;
      this.slot.set(want);
    }
  }

  // ---- registers ----

  // One register accessor for every debugger: the CPU's own (cpu.ts readRegister /
  // writeRegister, the contract of target.ts), so the gdb stub and the built-in debugger
  // cannot differ on what writing CS or EFLAGS does.
  readRegister(name: RegisterName): number {
    return this.cpu.readRegister(name);
  }

  writeRegister(name: RegisterName, value: number): boolean {
    return this.cpu.writeRegister(name, value);
  }

  isRealMode(): boolean {
    return (this.cpu.cr0 & 1) === 0;
  }

  describeState(): string {
    return this.cpu.dumpState();
  }

  // ---- memory ----

  translateLinear(linear: number): number {
    return peekTranslate(this.cpu, linear >>> 0);
  }

  readPhysical(addr: number, dst: Uint8Array): boolean {
    const mem = this.cpu.mem;
    for (let i = 0; i < dst.length; i++) {
      const a = addr + i;
      if (a > 0xffffffff || mem.pageKind[a >>> 12] === PAGE_NONE) return false;
    }
    // RAM, ROM and MMIO (the VGA text window reads without side effects).
    for (let i = 0; i < dst.length; i++) dst[i] = mem.read8((addr + i) >>> 0);
    return true;
  }

  writePhysical(addr: number, src: Uint8Array): boolean {
    const mem = this.cpu.mem;
    for (let i = 0; i < src.length; i++) {
      const a = addr + i;
      if (a > 0xffffffff || mem.pageKind[a >>> 12] === PAGE_NONE) return false;
    }
    // load() writes RAM and ROM and drops decoded code; MMIO bytes go to the device.
    for (let i = 0; i < src.length; ) {
      const a = (addr + i) >>> 0;
      if (mem.ramOffset(a >>> 12) >= 0) {
        const n = Math.min(src.length - i, 4096 - (a & 0xfff));
        mem.load(a, src.subarray(i, i + n));
        i += n;
      } else {
        mem.write8(a, src[i]);
        i++;
      }
    }
    return true;
  }

  // ---- run control ----

  /** The bare CPU's stop reasons as DebugTarget ones. */
  private fromCpu(r: CpuStop): StopReason {
    switch (r) {
      case 'budget':
      case 'stopped':
        return BUDGET;
      case 'halted':
        return HALTED;
      case 'waiting':
        // HLT waiting for an interrupt: a bare CPU with no interrupt source never wakes.
        return this.cpu.irq === null ? HALTED : BUDGET;
      case 'triple-fault':
        this.tripleFault.message = this.cpu.shutdownReport || 'triple fault';
        return this.tripleFault;
    }
  }

  /** This target's own stops (breakpoint, watchpoint) come first. */
  private translate(r: StopReason): StopReason {
    if (this.bpKind !== null) {
      const k = this.bpKind;
      this.bpKind = null;
      return this.points.breakpointStop(this.bpAddr, k);
    }
    if (this.points.hitPending) return this.points.takeHit();
    return r;
  }

  run(maxInstructions: number): StopReason {
    this.bpKind = null;
    return this.translate(this.runGuest(maxInstructions));
  }

  step(): StopReason {
    this.bpKind = null;
    this.ignoreBreakpoints = true;
    try {
      const r = this.translate(this.runGuest(1));
      return r.kind === 'budget' ? STEP : r; // by kind: a machine's run returns its own objects
    } finally {
      this.ignoreBreakpoints = false;
    }
  }

  // ---- points ----

  addBreakpoint(linear: number, type: BreakpointKind): void {
    this.points.addBreakpoint(linear, type);
    this.updateHooks();
  }

  removeBreakpoint(linear: number, type: BreakpointKind): void {
    this.points.removeBreakpoint(linear, type);
    this.updateHooks();
  }

  addWatchpoint(linear: number, length: number, type: WatchKind): void {
    this.points.addWatchpoint(linear, length, type);
    this.updateHooks();
  }

  removeWatchpoint(linear: number, length: number, type: WatchKind): void {
    this.points.removeWatchpoint(linear, length, type);
    this.updateHooks();
  }

  clearAllBreakpoints(): void {
    this.points.clearAll();
    this.updateHooks();
  }
}
