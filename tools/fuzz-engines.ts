// The engines' differential fuzz: seeded random programs run on two CPUs, one interpreting
// and one compiling every block on its first run, must end in the same state — registers,
// EFLAGS, EIP, segment selectors, CR2, the instruction count, the stop reason and every
// byte of memory. `npm run fuzz` runs 100,000 cases (`-- --cases N --seed S`);
// test/engine-fuzz.test.ts runs a seeded few hundred.
//
// A program is a row of chunks, each a loop (so blocks run again and are compiled) of random
// instructions biased to the forms the compiler writes out inline — ALU, TEST, MOV, INC/DEC,
// LEA, PUSH/POP, MOVZX/MOVSX, forward Jcc, CALL/RET — with operand-size and segment
// prefixes, memory operands through base registers kept in a data area, and some handler
// forms (shifts, MUL/DIV, XCHG, SETcc, string moves, PUSHF/POPF) and code that rewrites an
// immediate of its own loop (self-modifying code). Memory faults come from read-only and
// absent data pages. Every exception vector leads to a handler that resumes at the next
// chunk; a timer interrupt line fires every few hundred instructions (IF is set), at the end
// of a run() slice as the PC's devices raise theirs, so interrupts must be taken at the same
// instruction count by both engines (whatever their blocks).
// Modes: real mode, 32-bit ring 0 with paging, ring 3 with paging.

import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type Engine, type StopReason } from '../emulator/cpu/cpu';
import { CS, DS, ES, FS, GS, SS } from '../emulator/cpu/consts';
import type { InterruptLine } from '../emulator/cpu/bus';

export type FuzzMode = 'real' | 'pm0' | 'pm3';
export const FUZZ_MODES: readonly FuzzMode[] = ['real', 'pm0', 'pm3'];

/** xorshift32: a small seeded generator (the same numbers on every host). */
function rng(seed: number): (n: number) => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return n === 0 ? x : x % n;
  };
}

const MEM = 4 << 20;
// pm layout: tables, handler, code, data (identity-mapped 4 MB)
const GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, PD = 0x4000, PT = 0x5000;
const HANDLER = 0x8000, IRQ_STUB = 0x8100, RESUME = 0x9000, CODE = 0x10000, CODE_END = 0x80000;
const DATA = 0x100000, DATA_END = 0x140000, STACK0 = 0x2ff000, STACK3 = 0x2f0000;
// real-mode layout: CS = 0 (handlers, RESUME, code), DS = ES = 2000h, SS = 3000h
const R_HANDLER = 0x0800, R_IRQ = 0x0900, R_RESUME = 0x0f00, R_CODE = 0x1000, R_CODE_END = 0xf000;
const R_DS = 0x2000, R_SS = 0x3000;
const TIMER = 0x20;

/** Instruction bytes for one mode: 32-bit code (pm) or 16-bit code (real). */
class Gen {
  readonly out: number[] = [];
  constructor(readonly r: (n: number) => number, readonly bits: 16 | 32) {}

  /** A register a random instruction may write: mostly EAX/EDX, rarely any. */
  dst(): number {
    return this.r(40) === 0 ? this.r(8) : this.r(2) * 2;
  }
  /** An 8-bit register it may write: AL, DL, AH, DH. */
  dst8(): number {
    return [0, 2, 4, 6][this.r(4)];
  }
  imm(size: number): number[] {
    const v = this.r(0);
    return size === 1 ? [v & 0xff] : size === 2 ? [v & 0xff, (v >>> 8) & 0xff] : [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  }
  /** ModRM (+SIB, displacement) of a memory operand in the data area, reg field `reg`. */
  mem(reg: number): number[] {
    const r = this.r;
    if (this.bits === 16) {
      const mod = r(3), rm = r(8);
      const disp = mod === 1 || (mod === 0 && rm === 6) ? (mod === 1 ? 1 : 2) : mod === 2 ? 2 : 0;
      return [(mod << 6) | (reg << 3) | rm, ...this.imm(disp).map((b, k) => (k === 1 ? b & 0x7f : b))];
    }
    // bases EBX EBP ESI EDI point into the data area; an index is ECX (the loop count)
    const base = [3, 5, 6, 7][r(4)];
    const mod = 1 + r(2);
    const disp = mod === 1 ? [r(128)] : [r(0x1000) & 0xff, r(0x1000) >> 8, 0, 0];
    if (r(4) === 0) return [(mod << 6) | (reg << 3) | 4, (r(4) << 6) | (1 << 3) | base, ...disp];
    return [(mod << 6) | (reg << 3) | base, ...disp];
  }
  /** r/m operand: a register (a writable one when `write`) or memory. */
  rm(reg: number, write: boolean, byte: boolean): number[] {
    if (this.r(2) === 0) return this.mem(reg);
    const rm = write ? (byte ? this.dst8() : this.dst()) : this.r(8);
    return [0xc0 | (reg << 3) | rm];
  }
  /** Operand size of the next instruction: v = 2 or 4 bytes (with or without 66h). */
  prefixes(): number {
    const r = this.r;
    if (r(12) === 0) this.out.push([0x26, 0x3e, 0x36][r(3)]);
    if (r(60) === 0) this.out.push(0xf0);
    const o = r(5) === 0;
    if (o) this.out.push(0x66);
    return (this.bits === 32) !== o ? 4 : 2;
  }

  /** One random instruction; returns where its bytes start. */
  insn(): number {
    const r = this.r, o = this.out;
    const at = o.length;
    const v = this.prefixes();
    const t = r(24);
    if (t < 6) {
      // ALU: rm,r / r,rm (byte or v)
      const op = r(8), byte = r(3) === 0, dir = r(2) * 2;
      o.push(op * 8 + dir + (byte ? 0 : 1));
      if (dir) o.push(...this.rm(byte ? this.dst8() : this.dst(), false, byte));
      else o.push(...this.rm(r(8), true, byte));
    } else if (t < 9) {
      const op = r(8), k = r(3);
      o.push([0x80, 0x81, 0x83][k], ...this.rm(op, true, k === 0), ...this.imm(k === 1 ? v : 1));
    } else if (t < 10) {
      const op = r(8);
      if (r(2)) o.push(op * 8 + 4, ...this.imm(1));
      else o.push(op * 8 + 5, ...this.imm(v));
    } else if (t < 11) {
      switch (r(4)) {
        case 0: o.push(0x84 + r(2), ...this.rm(r(8), false, false)); break;
        case 1: o.push(0xa8, ...this.imm(1)); break;
        case 2: o.push(0xa9, ...this.imm(v)); break;
        default: o.push(0xf7, ...this.rm(0, false, false), ...this.imm(v));
      }
    } else if (t < 15) {
      switch (r(7)) {
        case 0: o.push(0x88 + r(2), ...this.rm(r(8), true, true)); break;
        case 1: o.push(0x8a, ...this.rm(this.dst8(), false, true)); break;
        case 2: o.push(0x8b, ...this.rm(this.dst(), false, false)); break;
        case 3: o.push(0xb0 + this.dst8(), ...this.imm(1)); break;
        case 4: o.push(0xb8 + this.dst(), ...this.imm(v)); break;
        case 5:
          if (r(2)) o.push(0xc6, ...this.mem(0), ...this.imm(1));
          else o.push(0xc7, ...this.mem(0), ...this.imm(v));
          break;
        default: o.push(0x89, ...this.rm(r(8), true, false));
      }
    } else if (t < 17) {
      switch (r(3)) {
        case 0: o.push((r(2) ? 0x48 : 0x40) + this.dst()); break;
        case 1: o.push(0xfe, ...this.rm(r(2), true, true)); break;
        default: o.push(0xff, ...this.rm(r(2), true, false));
      }
    } else if (t < 18) {
      o.push(0x8d, ...this.mem(this.dst()));
    } else if (t < 19) {
      switch (r(4)) {
        case 0: o.push(0x50 + r(8)); break;
        case 1: o.push(0x58 + this.dst()); break;
        case 2: o.push(0x6a, ...this.imm(1)); break;
        default: o.push(0x68, ...this.imm(v));
      }
    } else if (t < 20) {
      o.push(0x0f, [0xb6, 0xb7, 0xbe, 0xbf][r(4)], ...this.rm(this.dst(), false, false));
    } else {
      // forms that call their handler
      switch (r(14)) {
        case 0: o.push(0xc1, ...this.rm(r(8), true, false), r(40)); break;
        case 1: o.push(0xd3, ...this.rm([0, 1, 4, 5, 7][r(5)], true, false)); break;
        case 2: o.push(0xf7, ...this.rm(2 + r(6), false, false)); break;
        case 3: o.push(0x99); break;
        case 4: o.push(0x0f, 0x90 + r(16), ...this.rm(0, true, true)); break;
        case 5: o.push(0x87, 0xc0 | (this.dst() << 3) | this.dst()); break;
        case 6: o.push(0x0f, 0xa3, ...this.rm(r(8), false, false)); break;
        case 7: o.push([0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad][r(6)]); break;
        case 8: o.push(0x9c); break;
        case 9: o.push(0x9c, 0x9d); break;
        case 10: o.push([0xf8, 0xf9, 0xfc, 0xf5][r(4)]); break;
        case 11: o.push(0xd1, ...this.rm(r(8), true, false)); break;
        case 12: o.push(0x0f, 0xaf, ...this.rm(this.dst(), false, false)); break;
        default: o.push(0x86, ...this.rm(this.dst8(), true, true));
      }
    }
    return at;
  }
}

function le(v: number, size: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < size; k++) out.push((v >>> (8 * k)) & 0xff);
  return out;
}

/** The program's code from `base` (its linear address): chunks of loops, then CLI, HLT. */
function program(r: (n: number) => number, bits: 16 | 32, base: number, end: number): number[] {
  const g = new Gen(r, bits);
  const o = g.out;
  const w = bits / 8;
  const chunks = 2 + r(5);
  for (let c = 0; c < chunks && base + o.length < end - 0x1000; c++) {
    // where the exception handler resumes: the next chunk (patched below)
    const resumeAt = o.length;
    if (bits === 32) o.push(0xc7, 0x05, ...le(RESUME, 4), 0, 0, 0, 0);
    else o.push(0x2e, 0xc7, 0x06, ...le(R_RESUME, 2), 0, 0);
    o.push(0xb9, ...le(1 + r(60), w));
    const body = o.length;
    const imm8s: number[] = [];
    const n = 3 + r(30);
    for (let k = 0; k < n; k++) {
      const t = r(20);
      if (t === 0) {
        // Jcc over the next one or two instructions
        o.push(0x70 + r(16), 0);
        const at = o.length;
        for (let j = r(2); j >= 0; j--) g.insn();
        o[at - 1] = o.length - at;
      } else if (t === 1) {
        // CALL a local function, JMP over it
        o.push(0xe8, ...le(2, w), 0xeb, 0);
        const at = o.length;
        g.insn();
        o.push(0xc3);
        o[at - 1] = o.length - at;
      } else if (t === 2) {
        // an immediate this loop rewrites
        o.push(0xb0 + g.dst8(), r(256));
        imm8s.push(base + o.length - 1);
      } else if (t === 3 && imm8s.length) {
        const at = imm8s[r(imm8s.length)];
        if (bits === 32) o.push(0xc6, 0x05, ...le(at, 4), r(256));
        else o.push(0x2e, 0xc6, 0x06, ...le(at, 2), r(256));
      } else g.insn();
    }
    // dec eCX; jnz body
    o.push(0x49, 0x0f, 0x85, ...le(body - (o.length + 3 + w), w));
    const next = base + o.length;
    for (let k = 0; k < w; k++) o[resumeAt + (bits === 32 ? 6 : 5) + k] = (next >>> (8 * k)) & 0xff;
  }
  o.push(0xfa, 0xf4, 0xeb, 0xfc);
  return o;
}

/** An interrupt controller that raises the timer vector every `period` instructions. */
class Timer implements InterruptLine {
  next: number;
  cpu: Cpu | null = null;
  constructor(readonly period: number) {
    this.next = period;
  }
  hasInterrupt(): boolean {
    return this.cpu !== null && this.cpu.icount >= this.next;
  }
  acknowledge(): number {
    this.next = this.cpu!.icount + this.period;
    return TIMER;
  }
}

function desc(mem: PhysicalMemory, sel: number, base: number, limit: number, access: number, flags: number): void {
  const at = GDT + (sel & ~7);
  mem.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  mem.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff));
}

/** Enters 32-bit protected mode at ring 0 on a bare CPU: GDTR (and IDTR), CS = 08h and
 *  every data segment 10h (flat descriptors the caller wrote at gdt + 8 and gdt + 16). */
export function enterFlatProtectedMode(cpu: Cpu, gdt: number, gdtLimit: number, idt = 0, idtLimit = 0x3ff): void {
  cpu.gdtBase = gdt;
  cpu.gdtLimit = gdtLimit;
  cpu.idtBase = idt;
  cpu.idtLimit = idtLimit;
  cpu.setCr0(1);
  cpu.readDescriptor(0x08);
  cpu.loadCsDesc(0x08, 0);
  for (const s of [DS, ES, SS, FS, GS]) cpu.loadSeg(s, 0x10);
}

/** One machine per engine, cleared for each case (allocating 12 MB per case was most of
 *  the fuzz's time). */
const machines = new Map<Engine, { cpu: Cpu; mem: PhysicalMemory }>();

/** Builds case `seed` of `mode` on the cleared machine of `engine`. */
function machine(seed: number, mode: FuzzMode, engine: Engine): { cpu: Cpu; mem: PhysicalMemory } {
  const r = rng(seed);
  let m = machines.get(engine);
  if (m === undefined) {
    const mem = new PhysicalMemory(MEM);
    // every block is compiled on its first run: the compiled code is what runs
    machines.set(engine, (m = { mem, cpu: new Cpu(mem, undefined, null, { engine, jitThreshold: 1 }) }));
  }
  const { cpu, mem } = m;
  mem.u8.fill(0);
  cpu.reset();
  cpu.flushCodeCache();
  cpu.icount = 0;
  cpu.lastException = -1;
  const timer = new Timer(200 + r(800));
  cpu.irq = timer;
  timer.cpu = cpu;
  if (mode === 'real') {
    for (let a = R_DS << 2; a < (R_SS + 0x1000) << 2; a++) mem.i32[a] = r(0);
    for (let v = 0; v < 256; v++) mem.write32(v * 4, v === TIMER ? R_IRQ : R_HANDLER);
    mem.load(R_HANDLER, Uint8Array.from([0xbc, 0x00, 0xf0, 0x2e, 0xff, 0x06, ...le(R_RESUME + 2, 2), 0x68, 0x02, 0x02,
      0x6a, 0x00, 0x2e, 0xff, 0x36, ...le(R_RESUME, 2), 0xcf]));
    mem.write8(R_IRQ, 0xcf);
    mem.load(R_CODE, Uint8Array.from(program(r, 16, R_CODE, R_CODE_END)));
    mem.write16(R_RESUME, R_CODE_END - 4);
    cpu.setRealMode(0, R_CODE);
    for (const s of [DS, ES]) cpu.loadSeg(s, R_DS);
    cpu.loadSeg(SS, R_SS);
    cpu.regs[4] = 0xf000;
    for (const k of [0, 2, 3, 5, 6, 7]) cpu.regs[k] = r(0x10000);
  } else {
    for (let a = DATA >>> 2; a < DATA_END >>> 2; a++) mem.i32[a] = r(0);
    desc(mem, 0x08, 0, 0xfffff, 0x9a, 0xc);
    desc(mem, 0x10, 0, 0xfffff, 0x92, 0xc);
    desc(mem, 0x18, 0, 0xfffff, 0xfa, 0xc);
    desc(mem, 0x20, 0, 0xfffff, 0xf2, 0xc);
    desc(mem, 0x28, TSS, 0x67, 0x89, 0);
    mem.write32(TSS + 4, STACK0);
    mem.write32(TSS + 8, 0x10);
    for (let v = 0; v < 256; v++) {
      const off = v === TIMER ? IRQ_STUB : HANDLER;
      mem.write32(IDT + v * 8, (0x08 << 16) | off);
      mem.write32(IDT + v * 8 + 4, 0xee00);
    }
    const frame = mode === 'pm3'
      ? [0x6a, 0x23, 0x68, ...le(STACK3, 4), 0x68, 0x02, 0x02, 0, 0, 0x6a, 0x1b]
      : [0x68, 0x02, 0x02, 0, 0, 0x6a, 0x08];
    mem.load(HANDLER, Uint8Array.from([0xbc, ...le(STACK0, 4), 0xff, 0x05, ...le(RESUME + 4, 4), ...frame, 0xff, 0x35, ...le(RESUME, 4), 0xcf]));
    mem.write8(IRQ_STUB, 0xcf);
    mem.load(CODE, Uint8Array.from(program(r, 32, CODE, CODE_END)));
    mem.write32(RESUME, CODE_END - 4);
    // identity map of 4 MB: system pages supervisor-only; some data pages read-only or absent
    mem.write32(PD, PT | 7);
    for (let p = 0; p < 1024; p++) {
      const a = p << 12;
      let bits = a < CODE && !(a >= RESUME && a < RESUME + 0x1000) ? 3 : 7;
      if (a >= DATA && a < DATA_END) bits = r(24) === 0 ? 0 : r(12) === 0 ? 5 : 7;
      mem.write32(PT + p * 4, a | bits);
    }
    enterFlatProtectedMode(cpu, GDT, 0x2f, IDT, 0x7ff);
    cpu.trSel = 0x28;
    cpu.trBase = TSS;
    cpu.trLimit = 0x67;
    cpu.trType = 11;
    cpu.setCr3(PD);
    cpu.setCr0(0x80000001);
    cpu.eip = CODE;
    cpu.regs[4] = STACK0;
    if (mode === 'pm3') {
      cpu.readDescriptor(0x18);
      cpu.loadCsDesc(0x1b, 3);
      for (const s of [DS, ES, SS, FS, GS]) cpu.loadSeg(s, 0x23);
      cpu.regs[4] = STACK3;
    }
    // bases in the data area: displacements (< 1000h) and ECX * 8 stay inside it
    cpu.regs[3] = DATA + r(0x20000);
    cpu.regs[5] = DATA + 0x20000 + r(0x10000);
    cpu.regs[6] = DATA + 0x30000 + r(0xc000);
    cpu.regs[7] = DATA + 0x30000 + r(0xc000);
    cpu.regs[0] = r(0);
    cpu.regs[2] = r(0);
  }
  cpu.setFlags(0x202 | (r(0) & 0x8d5), 0xffff);
  return { cpu, mem };
}

/** Everything the two engines must agree on after a run. */
export interface EngineOutcome {
  reason: StopReason;
  icount: number;
  eip: number;
  flags: number;
  regs: number[];
  sel: number[];
  cr2: number;
  cpl: number;
  lastException: number;
  /** the engine's memory (valid until its next case) */
  memory: Uint8Array;
  /** blocks the jit engine compiled (not compared: the interpreter compiles none) */
  compiled: number;
}

/** Runs case `seed` of `mode` for `budget` instructions on `engine`. */
export function runCase(seed: number, mode: FuzzMode, engine: Engine, budget: number): EngineOutcome {
  const { cpu, mem } = machine(seed, mode, engine);
  const compiled0 = cpu.codeCache.added;
  let reason: StopReason = 'budget';
  const end = cpu.icount + budget;
  // in slices, as a machine runs it: a slice boundary must not change anything either
  while (cpu.icount < end) {
    // the timer raises its line at a slice's end, as a machine's devices do (an event due
    // inside a slice ends the slice there): where blocks end is no one's business. While it
    // is pending, one instruction at a time: its next period starts when it is taken.
    const toTimer = (cpu.irq as Timer).next - cpu.icount;
    reason = cpu.run(Math.min(end - cpu.icount, 97 + (cpu.icount % 389), toTimer > 0 ? toTimer : 1));
    if (reason !== 'budget') break;
  }
  return {
    reason, icount: cpu.icount, eip: cpu.eip, flags: cpu.getFlags(), regs: Array.from(cpu.regs), sel: Array.from(cpu.sel),
    cr2: cpu.cr2, cpl: cpu.cpl, lastException: cpu.lastException, memory: mem.u8, compiled: cpu.codeCache.added - compiled0,
  };
}

/** The first difference between two outcomes, or null. */
export function outcomeDifference(a: EngineOutcome, b: EngineOutcome): string | null {
  for (const k of ['reason', 'icount', 'eip', 'flags', 'cr2', 'cpl', 'lastException'] as const) {
    if (a[k] !== b[k]) return `${k}: ${String(a[k])} vs ${String(b[k])}`;
  }
  for (let k = 0; k < 8; k++) if (a.regs[k] !== b.regs[k]) return `register ${k}: ${a.regs[k] >>> 0} vs ${b.regs[k] >>> 0}`;
  for (let k = 0; k < 6; k++) if (a.sel[k] !== b.sel[k]) return `selector ${k}: ${a.sel[k]} vs ${b.sel[k]}`;
  if (Buffer.compare(a.memory, b.memory) !== 0) {
    let k = 0;
    while (a.memory[k] === b.memory[k]) k++;
    return `memory at ${k.toString(16)}h: ${a.memory[k]} vs ${b.memory[k]}`;
  }
  return null;
}

/** Runs `cases` cases from `seed` round the modes; returns the failures (one line each). */
export function fuzzEngines(seed: number, cases: number, budget = 3000, onProgress?: (done: number) => void): string[] {
  const failures: string[] = [];
  for (let k = 0; k < cases; k++) {
    const mode = FUZZ_MODES[k % FUZZ_MODES.length];
    const s = (seed + k) >>> 0;
    const a = runCase(s, mode, 'interp', budget);
    const b = runCase(s, mode, 'jit', budget);
    const d = outcomeDifference(a, b);
    if (d !== null) failures.push(`case seed ${s} (${mode}): interp and jit differ: ${d}`);
    if (onProgress && (k + 1) % 1000 === 0) onProgress(k + 1);
  }
  return failures;
}
