// A DebugTarget over a tiny scripted machine, for testing the GDB stub before the real CPU
// exists. It interprets a handful of 32-bit x86 instructions (real encodings, so gdb can
// disassemble them) over 1 MiB of flat memory with optional "not present" pages.
import { DebugPoints } from '../emulator/debug/points';
import type { BreakpointKind, DebugTarget, RegisterName, StopReason, WatchKind } from '../emulator/debug/target';

const NAMES: RegisterName[] = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eip', 'eflags',
  'cs', 'ss', 'ds', 'es', 'fs', 'gs', 'cr0', 'cr2', 'cr3',
];
const ZF = 1 << 6;

export class FakeTarget implements DebugTarget {
  readonly mem = new Uint8Array(1 << 20);
  readonly regs = new Map<RegisterName, number>();
  /** Linear pages (addr >>> 12) whose translation is "not present". */
  readonly absentPages = new Set<number>();
  /** Breakpoints and watchpoints, kept as a real CPU would keep them. */
  readonly points = new DebugPoints();
  /** Instructions executed (steps and runs). */
  icount = 0;
  exited = false;

  constructor(opts: { realMode?: boolean } = {}) {
    for (const n of NAMES) this.regs.set(n, 0);
    this.regs.set('eflags', 2);
    this.regs.set('cr0', opts.realMode ? 0x10 : 0x11);
    this.regs.set('cs', opts.realMode ? 0 : 8);
  }

  load(addr: number, bytes: number[]): void {
    this.mem.set(bytes, addr);
  }

  get(n: RegisterName): number {
    return this.regs.get(n)!;
  }

  // ---- DebugTarget ----

  readRegister(name: RegisterName): number {
    return this.regs.get(name)! >>> 0;
  }

  writeRegister(name: RegisterName, value: number): boolean {
    if (!this.regs.has(name)) return false;
    this.regs.set(name, value >>> 0);
    return true;
  }

  isRealMode(): boolean {
    return (this.get('cr0') & 1) === 0;
  }

  translateLinear(linear: number): number {
    if (this.absentPages.has(linear >>> 12)) return -1;
    return linear >>> 0;
  }

  readPhysical(addr: number, dst: Uint8Array): boolean {
    if (addr + dst.length > this.mem.length) return false;
    dst.set(this.mem.subarray(addr, addr + dst.length));
    return true;
  }

  writePhysical(addr: number, src: Uint8Array): boolean {
    if (addr + src.length > this.mem.length) return false;
    this.mem.set(src, addr);
    return true;
  }

  addBreakpoint(linear: number, type: BreakpointKind): void {
    this.points.addBreakpoint(linear, type);
  }

  removeBreakpoint(linear: number, type: BreakpointKind): void {
    this.points.removeBreakpoint(linear, type);
  }

  addWatchpoint(addr: number, len: number, type: WatchKind): void {
    this.points.addWatchpoint(addr, len, type);
  }

  removeWatchpoint(addr: number, len: number, type: WatchKind): void {
    this.points.removeWatchpoint(addr, len, type);
  }

  clearAllBreakpoints(): void {
    this.points.clearAll();
  }

  step(): StopReason {
    return this.exec() ?? { kind: 'step' };
  }

  run(max: number): StopReason {
    for (let i = 0; i < max; i++) {
      const pc = this.get('eip');
      if (this.points.anyBreakpoint) {
        const k = this.points.breakpointAt(pc);
        if (k !== null) return this.points.breakpointStop(pc, k);
      }
      const r = this.exec();
      if (r) return r;
    }
    return { kind: 'budget' };
  }

  // ---- the interpreter ----

  private rd32(a: number): number {
    return (this.mem[a] | (this.mem[a + 1] << 8) | (this.mem[a + 2] << 16) | (this.mem[a + 3] << 24)) >>> 0;
  }

  private access(addr: number, len: number, write: boolean): void {
    if (this.points.anyWatchpoint) this.points.onAccess(addr, len, write);
  }

  private setZ(v: number): void {
    const f = this.get('eflags');
    this.regs.set('eflags', v === 0 ? f | ZF : f & ~ZF);
  }

  /** Executes one instruction; returns a stop reason when one arises. */
  private exec(): StopReason | null {
    if (this.exited) return { kind: 'exited', code: 0 };
    const pc = this.get('eip');
    const op = this.mem[pc];
    this.icount++;
    const reg = (op & 7) as number;
    const rn = NAMES[reg];
    let next = pc + 1;
    let stop: StopReason | null = null;
    if (op === 0x90) {
      // nop
    } else if (op >= 0xb8 && op <= 0xbf) {
      this.regs.set(rn, this.rd32(pc + 1));
      next = pc + 5;
    } else if (op >= 0x40 && op <= 0x47) {
      const v = (this.get(rn) + 1) >>> 0;
      this.regs.set(rn, v);
      this.setZ(v);
    } else if (op >= 0x48 && op <= 0x4f) {
      const v = (this.get(rn) - 1) >>> 0;
      this.regs.set(rn, v);
      this.setZ(v);
    } else if (op === 0xa3) {
      const a = this.rd32(pc + 1);
      const v = this.get('eax');
      this.mem[a] = v;
      this.mem[a + 1] = v >>> 8;
      this.mem[a + 2] = v >>> 16;
      this.mem[a + 3] = v >>> 24;
      this.access(a, 4, true);
      next = pc + 5;
    } else if (op === 0xa1) {
      const a = this.rd32(pc + 1);
      this.regs.set('eax', this.rd32(a));
      this.access(a, 4, false);
      next = pc + 5;
    } else if (op === 0xeb) {
      next = pc + 2 + ((this.mem[pc + 1] << 24) >> 24);
    } else if (op === 0x75) {
      next = pc + 2 + ((this.get('eflags') & ZF) === 0 ? (this.mem[pc + 1] << 24) >> 24 : 0);
    } else if (op === 0xe6) {
      // out imm8, al: port 0xf4 is the exit port
      next = pc + 2;
      if (this.mem[pc + 1] === 0xf4) {
        this.exited = true;
        stop = { kind: 'exited', code: this.get('eax') & 0xff };
      }
    } else if (op === 0xf4) {
      next = pc + 1;
      this.regs.set('eip', next);
      return { kind: 'halted' };
    } else {
      return { kind: 'triple-fault', message: `fake target: unknown opcode ${op.toString(16)} at ${pc.toString(16)}` };
    }
    this.regs.set('eip', next >>> 0);
    if (this.points.hitPending) return this.points.takeHit();
    return stop;
  }
}

/** The test program, at 0x1000, data at 0x2000. */
export const PROGRAM_BASE = 0x1000;
export const DATA = 0x2000;
export const PROGRAM = [
  0xb8, 0x01, 0x00, 0x00, 0x00, // 1000 mov eax, 1
  0x40, //                         1005 inc eax
  0xa3, 0x00, 0x20, 0x00, 0x00, // 1006 mov [0x2000], eax
  0xb9, 0x05, 0x00, 0x00, 0x00, // 100b mov ecx, 5
  0x49, //                         1010 dec ecx
  0x75, 0xfd, //                   1011 jnz 1010
  0xa1, 0x00, 0x20, 0x00, 0x00, // 1013 mov eax, [0x2000]
  0x40, //                         1018 inc eax
  0xa3, 0x00, 0x20, 0x00, 0x00, // 1019 mov [0x2000], eax
  0xe6, 0xf4, //                   101e out 0xf4, al  (exit with code al = 3)
  0xeb, 0xfe, //                   1020 jmp $
];

export function makeFake(opts: { realMode?: boolean } = {}): FakeTarget {
  const t = new FakeTarget(opts);
  t.load(PROGRAM_BASE, PROGRAM);
  t.regs.set('eip', PROGRAM_BASE);
  t.regs.set('esp', 0x9000);
  return t;
}
