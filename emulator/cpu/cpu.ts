// The i386 CPU core: registers, lazy flags, segment caches, memory access through the TLB,
// decoded-block cache and run loop. Instruction semantics live in handlers/ (by family); far
// JMP/CALL/RET and call gates in far-transfer.ts; interrupt and exception delivery and IRET
// in interrupts.ts (with the inner-stack switch of stack-switch.ts); task switches in
// task-switch.ts; LLDT/LTR/LAR/LSL/VERR/VERW in descriptor-insns.ts; virtual-8086 mode in
// v86.ts; DR6/DR7.GD, the TSS T bit and RF in debug-traps.ts; descriptor fields in
// ../mmu/descriptor.ts; protected-mode segment loads in ../mmu/segments.ts; the page walk
// in ../mmu/paging.ts.
//
// Embedding:
//   const mem = new PhysicalMemory(16 << 20);          // ../memory.ts (ROM/MMIO pages, A20)
//   const cpu = new Cpu(mem, ioBus, interruptLine);     // ./bus.ts interfaces
//   cpu.run(n) → 'budget' | 'halted' (HLT, IF=0) | 'waiting' (HLT, IF=1) | 'triple-fault'
//              | 'stopped' (a hook or stop());  cpu.icount counts retired instructions;
//   cpu.step(); cpu.readRegister/writeRegister(name); cpu.state(); cpu.setHooks({...}).
//   After 'triple-fault', cpu.shutdownState / shutdownReport describe the CPU; the machine
//   stops or calls cpu.reset() (a PC resets).
//
// Execution: instructions are decoded once per physical address into blocks (ended by a
// control transfer, a mode change, port I/O, 32 instructions or the page end; a direct JMP or
// CALL to the same page does not end one: the block goes on at the target), cached by RAM
// offset and invalidated through PhysicalMemory's per-page code generations (a block whose
// own bytes did not change is kept). Blocks chain across near branches, each remembering the
// blocks that followed it at two exits (followed without the lookup within one chain and no
// TLB change); the chain ends at mode changes, port I/O and pending interrupts. execBlock is
// the loop: one lookup or link per block, then its instructions: the frequent forms inline
// ("the interpreter's fast forms" below say which, and why), the others through their
// handlers.
// Faults throw the CPU's preallocated faultState; the run loop restores EIP/ESP of the instruction and
// delivers it (double fault, triple fault). Observers: with a before-instruction hook, TF or
// DR7 breakpoints the loop runs one instruction at a time; memory hooks and data breakpoints
// route every data access through the slow path; none of this costs anything when absent.
// With the jit engine a block run JIT_THRESHOLD times is compiled to a JavaScript function
// (jit/compiler.ts) that keeps the interpreter's contract; it runs in place of the block's
// handlers, through the same lookup and links (both engines decode the same blocks); with the
// hot blocks of its page that it leads to, it becomes a region (one function that goes from
// block to block while the chain would). In the one-at-a-time loop and on the slow memory
// path the interpreter runs.
//
// Undefined flags (documented choices): logic ops (AND/OR/XOR/TEST) clear AF; MUL/IMUL set
// SF/ZF/PF from the low half of the result and clear AF; DIV/IDIV leave all flags unchanged;
// shifts clear AF, and use the count-1 OF formula for every count; BSF/BSR with a zero source
// leave the destination unchanged; BT/BTS/BTR/BTC leave OF SF ZF AF PF unchanged; DAA/DAS
// set OF from the adjustment's signed overflow.

import { decode, Insn, MAX_INSN_LENGTH, type CodeSource } from './decoder';
import { FORMS, type Form } from './opcodes';
import { PAGE_RAM, PhysicalMemory, zeroedBuffer } from '../memory';
import { NULL_IO, type IoBus, type InterruptLine, type CpuHooks } from './bus';
import {
  CS, SS, ESP, CF, PF, AF, ZF, SF, TF, IF, OF, RF, VM,
  CR0_PE, CR0_PG, CR0_WP, LZ_ADD, LZ_SUB, LZ_LOGIC, ECX, PARITY, T_VALID, T_UREAD, T_SWRITE, T_UWRITE, T_RAM,
  T_RAMW, T_NEVER, GP, SSV, DB, UD, NMI as NMI_V,
} from './consts';
import { DR6_BS, DR6_BT } from './debug-traps';
import { buildHandlers, IO_FORM, R8, SPECIAL, type Handler } from './handlers';
import { CALL_ON, JMP_ON } from './handlers/control';
import { incdec, logicFlags, setArith } from './handlers/alu';
import { sar, shl, shr } from './handlers/shift';
import { walk } from '../mmu/paging';
import { deliverException, deliverInterrupt } from './interrupts';
import { TransferScratch } from './stack-switch';
import { descAR, descBase, descLimit } from '../mmu/descriptor';
import { loadSegProtected } from '../mmu/segments';
import { loadSegV86, lockChecked } from './v86';
import { blockExits, compileBlock, compileRegion, type CompiledBlock, type RegionBlock } from './jit/compiler';
import { CodeCache, type JitHolder } from './jit/code-cache';

/** What a CPU exception looks like in flight: one preallocated object per CPU
 *  (Cpu.faultState), thrown. */
export class CpuFault {
  vector = 0;
  code = 0;
  hasCode = false;
}

export type StopReason =
  /** the instruction budget ran out */
  | 'budget'
  /** HLT with IF=0: nothing but NMI/reset can wake the CPU */
  | 'halted'
  /** HLT with IF=1: waiting for an interrupt (the machine advances time and calls run again) */
  | 'waiting'
  | 'triple-fault'
  /** a hook or stop() asked to stop */
  | 'stopped';

const BLOCK_MAX = 32;
const CACHE_SIZE = 1 << 14;
/** runs of a block after which the jit engine compiles it */
export const JIT_THRESHOLD = 4096;
/** blocks and instructions in a compiled region at most (its function's size), and region
 *  drops (its page written) after which a block is compiled alone */
const REGION_BLOCKS = 16;
const REGION_INSNS = 128;
const REGION_DROPS_MAX = 4;

/** The execution engines: both give the same results (DESIGN decision 11). */
export const ENGINES = ['jit', 'interp'] as const;
export type Engine = (typeof ENGINES)[number];
/** The jit: hot loops run several times as fast as on the interpreter; short runs whose code is
 *  not hot for long (Linux 0.11's boot to its prompt) are slower on it (the README's
 *  Benchmark section has the figures). */
export const DEFAULT_ENGINE: Engine = 'jit';

class Block implements JitHolder {
  tag = -1;
  gen = -1;
  /** bytes covered */
  len = 0;
  n = 0;
  /** the last instruction may change mode, privilege or interrupt state: leave the chain */
  exit = false;
  /** a block of one instruction that crosses into the next linear page: that page's RAM
   *  page and code generation when decoded (-1: no crossing) */
  page2 = -1;
  gen1 = -1;
  gen2 = -1;
  insns: Insn[] = [];
  fns: Handler[] = [];
  /** runs since decoded, and the compiled function (jit engine; dropped when rebuilt) */
  hits = 0;
  jit: CompiledBlock | null = null;
  jitSlot = -1;
  /** jit is a region (compile()): valid for the code generation it was compiled at only; and
   *  how often one was dropped since decoded (then only the block is compiled) */
  jitRegion = false;
  regionDrops = 0;
  /** The region's other blocks: their decoded bytes as runs (RAM address, length) and a copy
   *  of them, so that the region outlives a write elsewhere in the page (regionUnchanged) */
  regionRuns: number[] = [];
  regionBytes: Uint8Array | null = null;
  /** RAM page of the first instruction */
  page = 0;
  /** The bytes decoded, as runs (offset from the block's start, length: a run ends at a
   *  direct JMP/CALL the block goes on through) and a copy of them: when the page is written
   *  elsewhere (data sharing a page with code), the block is kept if its bytes are unchanged. */
  runs: number[] = [];
  bytes: Uint8Array | null = null;
  /** Chaining (execBlock): the blocks that followed this one at EIP eipA / eipB (-1: none),
   *  with the tags they had then; valid while the Cpu's chainEpoch is linkEpoch. */
  linkEpoch = -1;
  eipA = -1;
  eipB = -1;
  nextA: Block | null = null;
  nextB: Block | null = null;
  tagA = -1;
  tagB = -1;
}

/** Reads instruction bytes for block building from RAM: `first` bytes at `base`, the rest
 *  (an instruction crossing into the next page) at `base2`; notes overruns. */
class RamSource implements CodeSource {
  u8: Uint8Array;
  base = 0;
  base2 = 0;
  first = 0x1000;
  start = 0;
  avail = 0;
  over = false;
  constructor(u8: Uint8Array) {
    this.u8 = u8;
  }
  codeByte(o: number): number {
    const k = this.start + o;
    if (k >= this.avail) {
      this.over = true;
      return 0;
    }
    return k < this.first ? this.u8[this.base + k] : this.u8[this.base2 + k - this.first];
  }
}

/** Reads instruction bytes through full translation (MMIO, CS limit). */
class SlowSource implements CodeSource {
  constructor(private cpu: Cpu) {}
  codeByte(o: number): number {
    return this.cpu.fetchByteSlow(o);
  }
}

// The handler table and its STOP/CHAIN attributes: built once, by the first Cpu, shared and
// never written after (immutable, so two machines may share it).
let HANDLERS: Handler[] = [];
const STOP = new Uint8Array(FORMS.length);
/** 'stop' forms after which block chaining may continue (near branches). */
const CHAIN = new Uint8Array(FORMS.length);
/** Direct JMP and CALL forms a block goes on through (to a target in the same page). */
const THROUGH = new Uint8Array(FORMS.length);
function initTables(): void {
  if (HANDLERS.length) return;
  HANDLERS = buildHandlers();
  for (const f of FORMS) if (['jmp rel8', 'jmp relv', 'call relv'].includes(`${f.mnemonic} ${f.operands.join(',')}`)) THROUGH[f.id] = 1;
  for (const f of FORMS) if (f.attrs.has('stop') || IO_FORM[f.id]) STOP[f.id] = 1;
  for (const f of FORMS) {
    const m = f.mnemonic;
    const near = f.operands.length === 0 || !['ptr', 'mfar'].includes(f.operands[0]);
    if ((/^j/.test(m) || m === 'call' || m === 'ret' || /^loop/.test(m)) && near && !IO_FORM[f.id]) CHAIN[f.id] = 1;
  }
}

// The interpreter's fast forms: the few instruction forms most of real work is made of
// (register and memory moves, 32-bit ALU, TEST, INC/DEC, PUSH/POP, near branches, calls and
// returns), chosen per decoded instruction (operand size, register or memory) by fastOf.
// execBlock runs them inline, in a `switch` on Insn.fast, each as the composition of the
// same flag and memory helpers its table handler uses; every other instruction calls its
// handler. A call through the handler table (hundreds of targets at one call site) cost more
// than most of these instructions: the profile of the CPU loops put dispatch at half the time.
// The table handlers stay the instructions' handlers for the block compiler and the slow paths
// (and for the interpreter while memory hooks watch every access). The inline code is written
// out in execBlock's switch, not called as functions: V8 inlines only so much into
// one function, and a call per instruction is what this is meant to save (measured: the loop
// in a function of its own, or each form as a function, gave back most of the gain). The
// forms with a memory operand are the exception: one switch of their own in memForm, called
// from execBlock's, which has its own inlining budget for rd32/wr32/rmw32 (V8's for
// execBlock ran out before them) and keeps execBlock's graph, compiled again after each
// deoptimisation, smaller (measured: fewer host instructions per guest instruction on
// every loop, and Linux's boot faster). The forms are numbered here, beside the switches,
// so that their cases are constants wherever the file is compiled on its own (tsx, vitest),
// not only in the bundle.
//
// Contract (execBlock relies on it, not to record ESP before each of them): a fast form that
// faults leaves ESP as it was at its start (pushes write before they move ESP, pops read
// before; a call or return whose target faults puts ESP back).

/** The fast forms (Insn.fast); None: the instruction runs through its table handler. In
 *  three runs, as execBlock tells them apart: register-only forms; forms with a memory
 *  operand (from Load32: memForm runs them, computing the offset once); near control
 *  transfers (from Jcc32: they read or set c.eip, which execBlock keeps in a local across the
 *  others). */
export enum Fast {
  None,
  MovRR32, MovRmR32, MovRR16, MovRmR16, MovRImm32, MovzxR8, MovzxR16,
  AddRmR32, OrRmR32, AndRmR32, SubRmR32, XorRmR32, CmpRmR32,
  AddRRm32, OrRRm32, AndRRm32, SubRRm32, XorRRm32, CmpRRm32,
  AddRmR16, SubRmR16, XorRmR16, CmpRmR16,
  AddRI32, OrRI32, AndRI32, SubRI32, XorRI32, CmpRI32,
  TestRR32, TestRI32, IncR32, DecR32,
  Shl1R32, ShlR32, ShrR32, SarR32, Shl1R16,
  PushR32, PopR32, PushR16, PopR16,
  Load32, Load16, Load8, Store32, Store16, Store8, StoreImm32, StoreImm16, StoreImm8, Lea32,
  MovzxM8, MovzxM16, AddMI32, SubMI32, CmpMI32, CmpMR32, CmpRM32, TestMR32, IncM32, DecM32, IncM16,
  Jcc32, JzNz32, Jcc16, JmpOn, CallOn32, CallOn16, Call32, Ret32, Ret16, Loop16, Loop32,
}

/** Near CALL to `t`: pushes the return address (c.eip); a target outside CS faults after
 *  the push, with ESP put back. */
function callNear(c: Cpu, t: number, op32: boolean): void {
  const sp = c.regs[ESP];
  if (op32) c.push32(c.eip);
  else c.push16(c.eip);
  if (t >= c.csEnd) {
    c.regs[ESP] = sp;
    c.gp(0);
  }
  c.eip = t;
}

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
// Per ALU op (add or adc sbb and sub xor cmp): the fast form of 'op rmv,rv', 'op rv,rmv' and
// 'op rmv,imm' on 32-bit registers, and of 'op rmv,rv' on 16-bit ones (None: none)
const RM_R32 = [Fast.AddRmR32, Fast.OrRmR32, Fast.None, Fast.None, Fast.AndRmR32, Fast.SubRmR32, Fast.XorRmR32, Fast.CmpRmR32];
const R_RM32 = [Fast.AddRRm32, Fast.OrRRm32, Fast.None, Fast.None, Fast.AndRRm32, Fast.SubRRm32, Fast.XorRRm32, Fast.CmpRRm32];
const R_I32 = [Fast.AddRI32, Fast.OrRI32, Fast.None, Fast.None, Fast.AndRI32, Fast.SubRI32, Fast.XorRI32, Fast.CmpRI32];
const RM_R16 = [Fast.AddRmR16, Fast.None, Fast.None, Fast.None, Fast.None, Fast.SubRmR16, Fast.XorRmR16, Fast.CmpRmR16];

// What fastOf needs of a form's mnemonic and operands, as a number per form id: worked out
// once from the strings (fastOf runs for every decoded instruction, and comparing strings
// was a tenth of the time of a boot decoding new code). ALU forms: KIND_ALU_* + op.
const KIND_ALU_RM_R = 0x10, KIND_ALU_R_RM = 0x18, KIND_ALU_RM_I = 0x20, KIND_ALU_A_I = 0x38;
const KIND_BY_KEY: Record<string, number> = {
  'mov rv,rmv': 1, 'mov rmv,rv': 2, 'mov r8,rm8': 3, 'mov rm8,r8': 4, 'mov rv,immv': 5, 'mov rmv,immv': 6,
  'mov rm8,imm8': 7, 'lea rv,m': 8, 'movzx rv,rm8': 9, 'movzx rv,rm16': 10, 'test rmv,rv': 11, 'test rmv,immv': 12, 'test eAX,immv': 12,
  'inc rv': 13, 'dec rv': 14, 'inc rmv': 15, 'dec rmv': 0x28, 'shl rmv,1': 0x29, 'shl rmv,imm8': 0x2a,
  'shr rmv,imm8': 0x2b, 'sar rmv,imm8': 0x2c, 'push rv': 0x2d, 'pop rv': 0x2e, 'jmp rel8': 0x2f, 'jmp relv': 0x2f,
  'call relv': 0x30, 'ret -': 0x31, 'loop rel8': 0x32,
};
const KIND_JCC = 0x33, KIND_NONE = 0x34;
/** per form id: its kind, 0 until worked out */
const KINDS: number[] = [];
function kindOf(f: Form): number {
  const ops = f.operands.join(','), m = f.mnemonic, alu = ALU.indexOf(m);
  if (alu >= 0) {
    if (ops === 'rmv,rv') return KIND_ALU_RM_R + alu;
    if (ops === 'rv,rmv') return KIND_ALU_R_RM + alu;
    if (ops === 'rmv,immv' || ops === 'rmv,simm8') return KIND_ALU_RM_I + alu;
    // (no ModRM: Insn.rm stays 0, EAX, so the register forms of 'op rmv,imm' run them)
    if (ops === 'eAX,immv') return KIND_ALU_A_I + alu;
    return KIND_NONE;
  }
  const k = KIND_BY_KEY[`${m} ${ops || '-'}`];
  if (k !== undefined) return k;
  return /^j(?!mp|cxz|ecxz)[a-z]+$/.test(m) && (ops === 'rel8' || ops === 'relv') ? KIND_JCC : KIND_NONE;
}

/** The fast form of a decoded instruction, or Fast.None. `through`: a direct JMP or CALL the
 *  block goes on through (Cpu.buildBlock). A LOCK prefix leaves the table handler (its
 *  checks). */
export function fastOf(i: Insn, through: boolean): Fast {
  const f = i.form;
  if (f === null || i.lock) return Fast.None;
  const kind = KINDS[f.id] ||= kindOf(f);
  const o32 = i.op32, mem = i.hasMem;
  if (kind < KIND_ALU_RM_R) {
    switch (kind) {
      case 1: return o32 ? (mem ? Fast.Load32 : Fast.MovRR32) : mem ? Fast.Load16 : Fast.MovRR16;
      case 2: return o32 ? (mem ? Fast.Store32 : Fast.MovRmR32) : mem ? Fast.Store16 : Fast.MovRmR16;
      case 3: return mem ? Fast.Load8 : Fast.None;
      case 4: return mem ? Fast.Store8 : Fast.None;
      case 5: return o32 ? Fast.MovRImm32 : Fast.None;
      case 6: return mem ? (o32 ? Fast.StoreImm32 : Fast.StoreImm16) : Fast.None;
      case 7: return mem ? Fast.StoreImm8 : Fast.None;
      case 8: return mem && o32 ? Fast.Lea32 : Fast.None;
      case 9: return o32 ? (mem ? Fast.MovzxM8 : Fast.MovzxR8) : Fast.None;
      case 10: return o32 ? (mem ? Fast.MovzxM16 : Fast.MovzxR16) : Fast.None;
      case 11: return o32 ? (mem ? Fast.TestMR32 : Fast.TestRR32) : Fast.None;
      case 12: return o32 && !mem ? Fast.TestRI32 : Fast.None;
      case 13: return o32 ? Fast.IncR32 : Fast.None;
      case 14: return o32 ? Fast.DecR32 : Fast.None;
      default: return mem ? (o32 ? Fast.IncM32 : Fast.IncM16) : Fast.None; // inc rmv
    }
  }
  if (kind < KIND_ALU_RM_I + 8) {
    const alu = kind & 7;
    if (kind < KIND_ALU_R_RM) return mem ? (o32 && alu === 7 ? Fast.CmpMR32 : Fast.None) : o32 ? RM_R32[alu] : RM_R16[alu];
    if (kind < KIND_ALU_RM_I) return !o32 ? Fast.None : mem ? (alu === 7 ? Fast.CmpRM32 : Fast.None) : R_RM32[alu];
    if (!o32) return Fast.None;
    if (!mem) return R_I32[alu];
    return alu === 0 ? Fast.AddMI32 : alu === 5 ? Fast.SubMI32 : alu === 7 ? Fast.CmpMI32 : Fast.None;
  }
  switch (kind) {
    case 0x28: return mem && o32 ? Fast.DecM32 : Fast.None; // dec rmv
    case 0x29: return mem ? Fast.None : o32 ? Fast.Shl1R32 : Fast.Shl1R16;
    case 0x2a: return o32 && !mem ? Fast.ShlR32 : Fast.None;
    case 0x2b: return o32 && !mem ? Fast.ShrR32 : Fast.None;
    case 0x2c: return o32 && !mem ? Fast.SarR32 : Fast.None;
    case 0x2d: return o32 ? Fast.PushR32 : Fast.PushR16;
    case 0x2e: return o32 ? Fast.PopR32 : Fast.PopR16;
    case 0x2f: return through ? Fast.JmpOn : Fast.None;
    case 0x30: return through ? (o32 ? Fast.CallOn32 : Fast.CallOn16) : o32 ? Fast.Call32 : Fast.None;
    case 0x31: return o32 ? Fast.Ret32 : Fast.Ret16;
    case 0x32: return i.ad32 ? Fast.Loop32 : Fast.Loop16;
    case KIND_JCC: return !o32 ? Fast.Jcc16 : (i.opcode & 14) === 4 ? Fast.JzNz32 : Fast.Jcc32;
  }
  if (kind >= KIND_ALU_A_I && kind < KIND_ALU_A_I + 8) return o32 ? R_I32[kind & 7] : Fast.None;
  return Fast.None;
}

export interface CpuOptions {
  /** 486-style CR0.WP (write protect at CPL 0). Off by default: the i386 ignores R/W at CPL 0. */
  allowWP?: boolean;
  /** 'jit' compiles hot blocks to JavaScript, 'interp' only interprets (DEFAULT_ENGINE) */
  engine?: Engine;
  /** runs of a block before it is compiled (default JIT_THRESHOLD; tests use 1) */
  jitThreshold?: number;
}

export class Cpu {
  readonly mem: PhysicalMemory;
  io: IoBus;
  irq: InterruptLine | null = null;
  hooks: CpuHooks | null = null;
  readonly allowWP: boolean;
  readonly engine: Engine;
  private readonly jitThreshold: number;
  /** compiled blocks (jit engine) */
  readonly codeCache = new CodeCache();

  // ---- registers ----
  readonly regs = new Int32Array(8);
  readonly r8 = new Uint8Array(this.regs.buffer);
  readonly r16 = new Uint16Array(this.regs.buffer);
  /** EIP as an unsigned number */
  eip = 0;
  /** start of the executing instruction, and ESP at its start (restored on a fault) */
  curEip = 0;
  startEsp = 0;

  // flags: flagsVal holds every bit not in `lazy`; lazy bits come from lz*
  flagsVal = 2;
  lazy = 0;
  lzOp = 0;
  lzA = 0;
  lzB = 0;
  lzRes = 0;
  lzTop = 31;

  // segment registers and their descriptor caches
  readonly sel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Float64Array(6);
  /** access byte | (flags nibble << 12): bit 0x4000 = D/B, 0x8000 = G */
  readonly segAR = new Uint16Array(6);
  /** offsets o with segMin <= o and o + size <= segEndR (reads) / segEndW (writes) are valid */
  readonly segMin = new Float64Array(6);
  readonly segEndR = new Float64Array(6);
  readonly segEndW = new Float64Array(6);
  csEnd = 0x10000;
  csBig = false;
  ssBig = false;
  cpl = 0;

  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  readonly dr = new Int32Array(8);
  readonly trReg = new Int32Array(8);
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0x3ff;
  ldtSel = 0;
  ldtBase = 0;
  ldtLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  /** TSS descriptor type of TR (1/3: 16-bit, 9/11: 32-bit) */
  trType = 0;

  halted = false;
  shutdown = false;
  /** interrupts held off for one instruction (after MOV SS / POP SS / STI) */
  inhibit = false;
  /** set by an instruction to end the current block early */
  blockBreak = false;
  stopRequested = false;
  /** set by endSlice(): run() returns 'budget' after the current instruction */
  private sliceEnded = false;
  /** instructions retired (held as a double from the start: set in the constructor) */
  icount = 0;
  /** vector of the last exception or hardware interrupt delivered (tests, reports) */
  lastException = -1;
  /** a summary of the state at a triple fault */
  shutdownReport = '';

  // ---- TLB ----
  readonly tlb = new Int32Array(zeroedBuffer(4 << 20));
  readonly tlbPhys = new Int32Array(zeroedBuffer(4 << 20));
  private readonly tlbList = new Int32Array(4096);
  private tlbCount = 0;
  private tlbOverflow = false;
  private mapGen = -1;
  needR = T_VALID | T_RAM;
  needW = T_VALID | T_SWRITE | T_RAMW;
  private slowMem = false;

  // memory views (the same as mem's)
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly codePage: Uint8Array;

  // read-modify-write target of the last rmw* call
  rmwPa = -1;
  rmwLin = 0;

  // block cache
  private readonly cache: (Block | undefined)[] = new Array(CACHE_SIZE);
  private readonly ramSrc: RamSource;
  private readonly slowSrc: SlowSource;
  private readonly slowInsn = new Insn();
  private fetchBase = 0;
  /** RAM page and code generation of the executing block (read by compiled regions) */
  curPageGen = 0;
  curPage = -1;
  /** Block links (execBlock) are followed only within the epoch they were made in: a link
   *  holds while what lookup() reads to find a block stays as it was. A change of CS's base,
   *  limit or size (setSegCache), of CPL (setCpl) or of the TLB (flushTlb, flushTlbPage, a
   *  remap in translate) starts a new one; chains (execBlock calls) do not. Compiled regions
   *  leave when it changes. */
  chainEpoch = 0;

  constructor(mem: PhysicalMemory, io: IoBus = NULL_IO, irq: InterruptLine | null = null, options: CpuOptions = {}) {
    initTables();
    this.mem = mem;
    this.io = io;
    this.bus = io;
    this.irq = irq;
    this.allowWP = options.allowWP ?? false;
    this.engine = options.engine ?? DEFAULT_ENGINE;
    this.jitThreshold = options.jitThreshold ?? JIT_THRESHOLD;
    this.u8 = mem.u8;
    this.u16 = mem.u16;
    this.i32 = mem.i32;
    this.codePage = mem.codePage;
    this.ramSrc = new RamSource(mem.u8);
    this.slowSrc = new SlowSource(this);
    this.reset();
    // A count passes 2^31 after a few seconds of a jit run. Stored first as a small integer,
    // V8 would change the field's representation then, which deoptimises every function
    // that reads the Cpu (the peers bench's flat loop lost half its speed for ~0.5 s).
    this.icount = 2 ** 31;
    this.icount = 0;
  }

  /** The power-on state of an i386: real mode, CS:IP = F000:FFF0 with CS base FFFF0000. */
  reset(): void {
    this.regs.fill(0);
    this.regs[2] = 0x0303; // EDX: family 3 stepping
    this.flagsVal = 2;
    this.lazy = 0;
    this.cr0 = 0;
    this.cr2 = 0;
    this.cr3 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.cpl = 0;
    for (let s = 0; s < 6; s++) this.setSegCache(s, 0, 0, 0xffff, 0x93);
    this.setSegCache(CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    this.eip = 0xfff0;
    this.gdtBase = 0;
    this.gdtLimit = 0xffff;
    this.idtBase = 0;
    this.idtLimit = 0x3ff;
    this.ldtSel = this.ldtBase = 0;
    this.ldtLimit = 0xffff;
    this.trSel = this.trBase = this.trType = 0;
    this.trLimit = 0xffff;
    this.halted = this.shutdown = this.inhibit = false;
    this.nmiPending = this.nmiBlocked = this.taskTrap = false;
    this.shutdownReport = '';
    this.shutdownState = null;
    this.flushTlb();
    this.updateAccessMasks();
  }

  // ====================================================================================
  // flags

  getCF(): number {
    if (this.lazy & CF) {
      const a = this.lzA, b = this.lzB, r = this.lzRes;
      switch (this.lzOp) {
        case LZ_ADD: return (((a & b) | ((a | b) & ~r)) >>> this.lzTop) & 1;
        case LZ_SUB: return (((~a & b) | ((~a | b) & r)) >>> this.lzTop) & 1;
        default: return 0;
      }
    }
    return this.flagsVal & CF;
  }
  getZF(): number {
    if (this.lazy & ZF) return this.lzRes === 0 ? 1 : 0;
    return (this.flagsVal >> 6) & 1;
  }
  getSF(): number {
    if (this.lazy & SF) return (this.lzRes >>> this.lzTop) & 1;
    return (this.flagsVal >> 7) & 1;
  }
  getOF(): number {
    if (this.lazy & OF) {
      const a = this.lzA, b = this.lzB, r = this.lzRes;
      switch (this.lzOp) {
        case LZ_ADD: return (((a ^ r) & (b ^ r)) >>> this.lzTop) & 1;
        case LZ_SUB: return (((a ^ b) & (a ^ r)) >>> this.lzTop) & 1;
        default: return 0;
      }
    }
    return (this.flagsVal >> 11) & 1;
  }
  getPF(): number {
    if (this.lazy & PF) return PARITY[this.lzRes & 0xff] >> 2;
    return (this.flagsVal >> 2) & 1;
  }
  getAF(): number {
    if (this.lazy & AF) return this.lzOp === LZ_ADD || this.lzOp === LZ_SUB ? ((this.lzA ^ this.lzB ^ this.lzRes) >> 4) & 1 : 0;
    return (this.flagsVal >> 4) & 1;
  }

  /** The full EFLAGS value. */
  getFlags(): number {
    let f = this.flagsVal;
    const lz = this.lazy;
    if (lz !== 0) {
      f &= ~lz;
      if (lz & CF) f |= this.getCF();
      if (lz & PF) f |= PARITY[this.lzRes & 0xff];
      if (lz & AF) f |= this.getAF() << 4;
      if (lz & ZF) f |= this.lzRes === 0 ? ZF : 0;
      if (lz & SF) f |= this.getSF() << 7;
      if (lz & OF) f |= this.getOF() << 11;
    }
    return f;
  }

  /** Sets EFLAGS bits in `mask` from v (the caller applies privilege rules). */
  setFlags(v: number, mask: number): void {
    const old = this.getFlags();
    this.lazy = 0;
    let f = (old & ~mask) | (v & mask);
    f = (f & 0x00037fd5) | 2; // bits 1 set; 3, 5, 15 and above VM clear
    this.flagsVal = f;
  }

  /** Makes the flags in `mask` concrete in flagsVal (before a partial lazy update). */
  materialize(mask: number): void {
    const m = this.lazy & mask;
    if (m === 0) return;
    let f = this.flagsVal & ~m;
    if (m & CF) f |= this.getCF();
    if (m & PF) f |= PARITY[this.lzRes & 0xff];
    if (m & AF) f |= this.getAF() << 4;
    if (m & ZF) f |= this.lzRes === 0 ? ZF : 0;
    if (m & SF) f |= this.getSF() << 7;
    if (m & OF) f |= this.getOF() << 11;
    this.flagsVal = f;
    this.lazy &= ~m;
  }

  /** Sets CF/OF (rotates): other lazy flags keep their lazy state. */
  setCFOF(cf: number, of: number): void {
    this.lazy &= ~(CF | OF);
    this.flagsVal = (this.flagsVal & ~(CF | OF)) | cf | (of << 11);
  }

  /** Result-based flags (SF ZF PF) lazily from r; CF OF AF explicitly. */
  setResultFlags(r: number, top: number, cf: number, of: number, af: number): void {
    this.lzOp = 2;
    this.lzRes = r;
    this.lzTop = top;
    this.lazy = SF | ZF | PF;
    this.flagsVal = (this.flagsVal & ~(CF | OF | AF | SF | ZF | PF)) | cf | (of << 11) | (af << 4);
  }

  /** Condition code 0-15 (o no c nc z nz na a s ns pe po l nl ng g). */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.getOF() !== 0; break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF() !== 0; break;
      case 3: r = (this.getCF() | this.getZF()) !== 0; break;
      case 4: r = this.getSF() !== 0; break;
      case 5: r = this.getPF() !== 0; break;
      case 6: r = this.getSF() !== this.getOF(); break;
      default: r = this.getZF() !== 0 || this.getSF() !== this.getOF(); break;
    }
    return (cc & 1) === 0 ? r : !r;
  }

  // ====================================================================================
  // faults

  fault(vector: number, code = 0, hasCode = false): never {
    const f = this.faultState;
    f.vector = vector;
    f.code = code & 0xffff;
    f.hasCode = hasCode && this.pe;
    throw f;
  }
  gp(code = 0): never {
    return this.fault(GP, code, true);
  }
  segFault(s: number): never {
    return s === SS ? this.fault(SSV, 0, true) : this.fault(GP, 0, true);
  }

  get pe(): boolean {
    return (this.cr0 & CR0_PE) !== 0;
  }
  /** Segment registers hold paragraph numbers (real mode, or virtual-8086 mode). */
  get realAddressing(): boolean {
    return (this.cr0 & CR0_PE) === 0 || (this.flagsVal & VM) !== 0;
  }

  // ====================================================================================
  // segments

  /** Fills a segment cache. `ar` = access byte | (flags nibble << 12), as descAR gives. */
  setSegCache(s: number, selector: number, base: number, limit: number, ar: number): void {
    // every CS load comes here: one with another base, limit or size starts a new epoch of
    // block links (the code at an EIP is no longer the same)
    if (s === CS && ((base | 0) !== this.segBase[CS] || limit + 1 !== this.csEnd || ((ar & 0x4000) !== 0) !== this.csBig)) this.chainEpoch++;
    this.sel[s] = selector;
    this.segBase[s] = base | 0;
    this.segLimit[s] = limit;
    this.segAR[s] = ar;
    const type = ar & 0x1f;
    if ((ar & 0x80) === 0 || (ar & 0x10) === 0) {
      // unusable (null selector) or a system segment
      this.segMin[s] = 0;
      this.segEndR[s] = this.segEndW[s] = -1;
    } else if ((type & 0x18) === 0x18) {
      this.segMin[s] = 0;
      this.segEndR[s] = type & 2 ? limit + 1 : -1;
      this.segEndW[s] = -1;
    } else {
      let min = 0, end = limit + 1;
      if (type & 4) {
        min = limit + 1;
        end = ar & 0x4000 ? 0x100000000 : 0x10000;
      }
      this.segMin[s] = min;
      this.segEndR[s] = end;
      this.segEndW[s] = type & 2 ? end : -1;
    }
    if (s === CS) {
      this.csEnd = limit + 1;
      this.csBig = (ar & 0x4000) !== 0;
    } else if (s === SS) {
      this.ssBig = (ar & 0x4000) !== 0;
    }
  }

  /** Real-mode segment load: base = selector << 4; the limit is unchanged (so a limit set in
   *  protected mode stays, as on the i386). A far transfer in real mode gives CS real-mode
   *  access rights (16-bit: the i386 manual's way back to real mode relies on it); data
   *  segments keep their size attribute. */
  loadSegReal(s: number, v: number): void {
    v &= 0xffff;
    if (this.flagsVal & VM) {
      loadSegV86(this, s, v);
      return;
    }
    const keep = s === CS ? 0 : this.segAR[s] & 0xc000;
    this.setSegCache(s, v, v << 4, this.segLimit[s], (s === CS ? 0x9b : 0x93) | keep);
    if (s === CS) {
      // real mode code is always readable and writable through CS
      this.segEndR[CS] = this.segEndW[CS] = this.segLimit[CS] + 1;
    }
  }

  /** MOV/POP Sreg, LxS: loads a data or stack segment register with the mode's checks. */
  loadSeg(s: number, v: number): void {
    if (this.realAddressing) this.loadSegReal(s, v);
    else loadSegProtected(this, s, v & 0xffff);
  }

  // Scratch of one instruction, per CPU (never module-level: an observer hook of one machine
  // may run another machine in the middle of an instruction).
  // descriptor scratch (filled by readDescriptor)
  dLo = 0;
  dHi = 0;
  /** The fault in flight (thrown by fault()). */
  readonly faultState = new CpuFault();
  /** Protected-mode control transfers: gate target, inner stack, task image (stack-switch.ts). */
  readonly xfer = new TransferScratch();
  /** 32x32 multiply: low and high halves; 64/32 divide: quotient and remainder (handlers). */
  mulLo = 0;
  mulHi = 0;
  divQ = 0;
  divR = 0;
  /** The offset of a far pointer read from memory (far JMP/CALL, LxS). */
  farOff = 0;

  /** Reads the descriptor for `selector` into dLo/dHi; throws `vec`(selector) when outside
   *  its table. */
  readDescriptor(selector: number, vec = GP): void {
    const idx = selector & 0xfff8;
    let base: number, limit: number;
    if (selector & 4) {
      base = this.ldtBase;
      limit = this.ldtSel & 0xfffc ? this.ldtLimit : -1;
    } else {
      base = this.gdtBase;
      limit = this.gdtLimit;
    }
    if (idx + 7 > limit) this.fault(vec, selector & 0xfffc, true);
    this.dLo = this.sysRead32((base + idx) | 0);
    this.dHi = this.sysRead32((base + idx + 4) | 0);
  }
  /** Linear address of the descriptor for selector (after readDescriptor). */
  descAddr(selector: number): number {
    return ((selector & 4 ? this.ldtBase : this.gdtBase) + (selector & 0xfff8)) | 0;
  }

  /** Sets the accessed bit of the descriptor in dLo/dHi if clear. */
  setAccessed(selector: number): void {
    if ((this.dHi & 0x100) === 0) {
      this.dHi |= 0x100;
      this.sysWrite8((this.descAddr(selector) + 5) | 0, (this.dHi >>> 8) & 0xff);
    }
  }

  /** Loads CS from a code descriptor already in dLo/dHi (checks done by the caller). */
  loadCsDesc(selector: number, cpl: number): void {
    this.setAccessed(selector);
    this.setSegCache(CS, (selector & 0xfffc) | cpl, descBase(this.dLo, this.dHi), descLimit(this.dLo, this.dHi), descAR(this.dHi));
    this.setCpl(cpl);
  }

  setCpl(cpl: number): void {
    if (cpl !== this.cpl) {
      this.cpl = cpl;
      this.updateAccessMasks();
      // (a block link was made with the page rights of the old CPL)
      this.chainEpoch++;
    }
  }

  // ====================================================================================
  // TLB and translation

  flushTlb(): void {
    if (this.tlbOverflow) {
      this.tlb.fill(0);
      this.tlbOverflow = false;
    } else {
      const l = this.tlbList, t = this.tlb;
      for (let i = 0; i < this.tlbCount; i++) t[l[i]] = 0;
    }
    this.tlbCount = 0;
    this.mapGen = this.mem.mapGeneration;
    this.chainEpoch++;
  }

  /** Drops the TLB entry of one linear page (INVLPG is a 486 instruction; used internally). */
  flushTlbPage(lin: number): void {
    this.tlb[lin >>> 12] = 0;
    this.chainEpoch++;
  }

  updateAccessMasks(): void {
    const extra = this.slowMem ? T_NEVER : 0;
    if (this.cpl === 3) {
      this.needR = T_VALID | T_UREAD | T_RAM | extra;
      this.needW = T_VALID | T_UWRITE | T_RAMW | extra;
    } else {
      this.needR = T_VALID | T_RAM | extra;
      this.needW = T_VALID | T_SWRITE | T_RAMW | extra;
    }
  }

  /** Sends every data access down the slow path (memory hooks, data breakpoints). */
  setSlowMemory(on: boolean): void {
    this.slowMem = on;
    this.updateAccessMasks();
  }

  /** Linear → physical for an access; fills the TLB; raises #PF. */
  translate(lin: number, write: boolean, user: boolean): number {
    if (this.mapGen !== this.mem.mapGeneration) this.flushTlb();
    const lp = lin >>> 12;
    const e = this.tlb[lp];
    if (e & T_VALID) {
      const need = write ? (user ? T_UWRITE : T_SWRITE) : user ? T_UREAD : 0;
      if ((e & need) === need) return this.tlbPhys[lp] | (lin & 0xfff);
    }
    let phys: number, bits: number;
    if ((this.cr0 & CR0_PG) === 0) {
      phys = lin & this.mem.a20Mask & ~0xfff;
      bits = T_VALID | T_UREAD | T_SWRITE | T_UWRITE;
    } else {
      const w = walk(this, lin, write, user);
      phys = w & ~0xfff;
      bits = w & 0xfff;
    }
    const pp = phys >>> 12;
    const ram = this.mem.ramOffset(pp);
    const kind = this.mem.pageKind[pp];
    if (ram >= 0) bits |= kind === PAGE_RAM ? T_RAM | T_RAMW : T_RAM;
    if (this.tlbCount < this.tlbList.length) this.tlbList[this.tlbCount++] = lp;
    else this.tlbOverflow = true;
    // A refill of a valid entry (more rights wanted) may find the page mapped elsewhere (its
    // tables changed without a flush): block links made before it are not followed. An
    // entry that was not valid has not been since the last flush, which began a new epoch:
    // no link of this one goes through it (after a CR3 load the chains then survive the
    // refills of the working set).
    if ((e & T_VALID) !== 0 && this.tlbPhys[lp] !== phys) this.chainEpoch++;
    this.tlb[lp] = (ram >= 0 ? ram : 0) | bits;
    this.tlbPhys[lp] = phys;
    return phys | (lin & 0xfff);
  }

  private hookAccess(kind: 'r' | 'w', lin: number, n: number, v: number): void {
    const h = this.hooks;
    if (h && h.memoryAccess) h.memoryAccess(kind, lin >>> 0, n, n === 4 ? v >>> 0 : v);
  }

  slowRead(lin: number, n: number): number {
    const user = this.cpl === 3;
    let v: number;
    const off = lin & 0xfff;
    if (off + n <= 0x1000) {
      const pa = this.translate(lin, false, user);
      v = n === 1 ? this.mem.read8(pa) : n === 2 ? this.mem.read16(pa) : this.mem.read32(pa);
    } else {
      const pa = this.translate(lin, false, user);
      const pb = this.translate(((lin | 0xfff) + 1) | 0, false, user) & ~0xfff;
      const first = 0x1000 - off;
      v = 0;
      for (let k = 0; k < n; k++) v |= this.mem.read8(k < first ? pa + k : pb + k - first) << (8 * k);
      if (n === 2) v &= 0xffff;
    }
    if (this.slowMem) {
      if (this.drData) this.dataHits |= this.matchBreakpoints(lin, n, 3);
      this.hookAccess('r', lin, n, v);
    }
    return v;
  }

  slowWrite(lin: number, n: number, v: number): void {
    const user = this.cpl === 3;
    const off = lin & 0xfff;
    if (off + n <= 0x1000) {
      const pa = this.translate(lin, true, user);
      if (n === 1) this.mem.write8(pa, v);
      else if (n === 2) this.mem.write16(pa, v);
      else this.mem.write32(pa, v);
    } else {
      const pa = this.translate(lin, true, user);
      const pb = this.translate(((lin | 0xfff) + 1) | 0, true, user) & ~0xfff;
      const first = 0x1000 - off;
      for (let k = 0; k < n; k++) this.mem.write8(k < first ? pa + k : pb + k - first, (v >> (8 * k)) & 0xff);
    }
    // a write to the page of the executing block ends the block (self-modifying code)
    if (this.curPage >= 0 && this.mem.codeGen[this.curPage] !== this.curPageGen) this.blockBreak = true;
    if (this.slowMem) {
      if (this.drData) this.dataHits |= this.matchBreakpoints(lin, n, 1);
      this.hookAccess('w', lin, n, v);
    }
  }

  // supervisor (system) accesses: descriptor tables, TSS, IDT
  sysRead8(lin: number): number {
    return this.mem.read8(this.translate(lin, false, false));
  }
  sysRead16(lin: number): number {
    if ((lin & 0xfff) > 0xffe) return this.sysRead8(lin) | (this.sysRead8((lin + 1) | 0) << 8);
    return this.mem.read16(this.translate(lin, false, false));
  }
  sysRead32(lin: number): number {
    if ((lin & 0xfff) > 0xffc) return (this.sysRead16(lin) | (this.sysRead16((lin + 2) | 0) << 16)) | 0;
    return this.mem.read32(this.translate(lin, false, false));
  }
  // Observers see these writes too (interrupt frames pushed on a more privileged stack, TSS
  // saves, accessed bits): a watchpoint on a kernel stack must catch an INT's frame.
  sysWrite8(lin: number, v: number): void {
    this.mem.write8(this.translate(lin, true, false), v);
    if (this.slowMem) this.hookAccess('w', lin, 1, v);
  }
  sysWrite16(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffe) {
      this.sysWrite8(lin, v & 0xff);
      this.sysWrite8((lin + 1) | 0, (v >> 8) & 0xff);
      return;
    }
    this.mem.write16(this.translate(lin, true, false), v);
    if (this.slowMem) this.hookAccess('w', lin, 2, v);
  }
  sysWrite32(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffc) {
      this.sysWrite16(lin, v & 0xffff);
      this.sysWrite16((lin + 2) | 0, (v >>> 16) & 0xffff);
      return;
    }
    this.mem.write32(this.translate(lin, true, false), v);
    if (this.slowMem) this.hookAccess('w', lin, 4, v);
  }

  // ====================================================================================
  // data access through segments (fast paths inline the TLB hit)

  /** Effective address (offset) of the memory operand. */
  ea(i: Insn): number {
    let a = i.disp;
    if (i.base >= 0) a += this.regs[i.base];
    if (i.index >= 0) a += this.regs[i.index] << i.scale;
    return i.ad32 ? a >>> 0 : a & 0xffff;
  }

  rd8(s: number, off: number): number {
    if (off < this.segMin[s] || off + 1 > this.segEndR[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needR) === this.needR) return this.u8[(e & ~0xfff) | (lin & 0xfff)];
    return this.slowRead(lin, 1);
  }
  rd16(s: number, off: number): number {
    if (off < this.segMin[s] || off + 2 > this.segEndR[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needR) === this.needR && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return pa & 1 ? this.u8[pa] | (this.u8[pa + 1] << 8) : this.u16[pa >>> 1];
    }
    return this.slowRead(lin, 2);
  }
  rd32(s: number, off: number): number {
    if (off < this.segMin[s] || off + 4 > this.segEndR[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needR) === this.needR && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return (pa & 3) === 0 ? this.i32[pa >>> 2] : this.ramRead32(pa);
    }
    return this.slowRead(lin, 4);
  }
  wr8(s: number, off: number, v: number): void {
    if (off < this.segMin[s] || off + 1 > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needW) === this.needW) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePage[pa >>> 12] === 0) {
        this.u8[pa] = v;
        return;
      }
    }
    this.slowWrite(lin, 1, v & 0xff);
  }
  wr16(s: number, off: number, v: number): void {
    if (off < this.segMin[s] || off + 2 > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needW) === this.needW && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePage[pa >>> 12] === 0) {
        if (pa & 1) {
          this.u8[pa] = v;
          this.u8[pa + 1] = v >> 8;
        } else this.u16[pa >>> 1] = v;
        return;
      }
    }
    this.slowWrite(lin, 2, v & 0xffff);
  }
  wr32(s: number, off: number, v: number): void {
    if (off < this.segMin[s] || off + 4 > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needW) === this.needW && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePage[pa >>> 12] === 0) {
        if ((pa & 3) === 0) this.i32[pa >>> 2] = v;
        else this.ramWrite32(pa, v);
        return;
      }
    }
    this.slowWrite(lin, 4, v | 0);
  }

  // unaligned 32-bit RAM accesses within a page (out of the paths above, so that V8 inlines
  // those into the interpreter's loop)
  private ramRead32(pa: number): number {
    const u = this.u8;
    return u[pa] | (u[pa + 1] << 8) | (u[pa + 2] << 16) | (u[pa + 3] << 24);
  }
  private ramWrite32(pa: number, v: number): void {
    const u = this.u8;
    u[pa] = v;
    u[pa + 1] = v >> 8;
    u[pa + 2] = v >> 16;
    u[pa + 3] = v >> 24;
  }

  /** Checks that `size` bytes at seg:off may be written (limit, paging, A/D) without
   *  accessing them: INS validates its destination before the port read. */
  probeWrite(s: number, off: number, size: number): void {
    if (off < this.segMin[s] || off + size > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const user = this.cpl === 3;
    this.translate(lin, true, user);
    if ((lin & 0xfff) + size > 0x1000) this.translate(((lin | 0xfff) + 1) | 0, true, user);
  }

  /** Read for read-modify-write: checks write access first; rmwCommit* stores back. */
  rmw8(s: number, off: number): number {
    if (off < this.segMin[s] || off + 1 > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needW) === this.needW) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePage[pa >>> 12] === 0) {
        this.rmwPa = pa;
        return this.u8[pa];
      }
    }
    return this.rmwSlow(lin, 1);
  }
  rmw16(s: number, off: number): number {
    if (off < this.segMin[s] || off + 2 > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needW) === this.needW && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePage[pa >>> 12] === 0) {
        this.rmwPa = pa;
        return pa & 1 ? this.u8[pa] | (this.u8[pa + 1] << 8) : this.u16[pa >>> 1];
      }
    }
    return this.rmwSlow(lin, 2);
  }
  rmw32(s: number, off: number): number {
    if (off < this.segMin[s] || off + 4 > this.segEndW[s]) this.segFault(s);
    const lin = (this.segBase[s] + off) | 0;
    const e = this.tlb[lin >>> 12];
    if ((e & this.needW) === this.needW && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePage[pa >>> 12] === 0) {
        this.rmwPa = pa;
        return (pa & 3) === 0 ? this.i32[pa >>> 2] : this.ramRead32(pa);
      }
    }
    return this.rmwSlow(lin, 4);
  }
  /** rmw* off the TLB fast path: checks write access to every byte's page first (a
   *  separate method, so that the rmw* V8 inlines into the interpreter stay small). */
  private rmwSlow(lin: number, n: number): number {
    this.rmwPa = -1;
    this.rmwLin = lin;
    this.translate(lin, true, this.cpl === 3);
    if ((lin & 0xfff) + n > 0x1000) this.translate(((lin | 0xfff) + 1) | 0, true, this.cpl === 3);
    return this.slowRead(lin, n);
  }
  commit8(v: number): void {
    const pa = this.rmwPa;
    if (pa >= 0) this.u8[pa] = v;
    else this.slowWrite(this.rmwLin, 1, v & 0xff);
  }
  commit16(v: number): void {
    const pa = this.rmwPa;
    if (pa >= 0) {
      if (pa & 1) {
        this.u8[pa] = v;
        this.u8[pa + 1] = v >> 8;
      } else this.u16[pa >>> 1] = v;
    } else this.slowWrite(this.rmwLin, 2, v & 0xffff);
  }
  commit32(v: number): void {
    const pa = this.rmwPa;
    if (pa >= 0) {
      if ((pa & 3) === 0) this.i32[pa >>> 2] = v;
      else this.ramWrite32(pa, v);
    } else this.slowWrite(this.rmwLin, 4, v | 0);
  }

  // ---- stack ----
  push16(v: number): void {
    if (this.ssBig) {
      const sp = (this.regs[ESP] - 2) >>> 0;
      this.wr16(SS, sp, v);
      this.regs[ESP] = sp;
    } else {
      const sp = (this.regs[ESP] - 2) & 0xffff;
      this.wr16(SS, sp, v);
      this.r16[ESP << 1] = sp;
    }
  }
  push32(v: number): void {
    if (this.ssBig) {
      const sp = (this.regs[ESP] - 4) >>> 0;
      this.wr32(SS, sp, v);
      this.regs[ESP] = sp;
    } else {
      const sp = (this.regs[ESP] - 4) & 0xffff;
      this.wr32(SS, sp, v);
      this.r16[ESP << 1] = sp;
    }
  }
  pop16(): number {
    if (this.ssBig) {
      const sp = this.regs[ESP] >>> 0;
      const v = this.rd16(SS, sp);
      this.regs[ESP] = sp + 2;
      return v;
    }
    const sp = this.r16[ESP << 1];
    const v = this.rd16(SS, sp);
    this.r16[ESP << 1] = sp + 2;
    return v;
  }
  pop32(): number {
    if (this.ssBig) {
      const sp = this.regs[ESP] >>> 0;
      const v = this.rd32(SS, sp);
      this.regs[ESP] = sp + 4;
      return v;
    }
    const sp = this.r16[ESP << 1];
    const v = this.rd32(SS, sp);
    this.r16[ESP << 1] = sp + 4;
    return v;
  }
  /** Reads the stack at ESP + k without popping. */
  peek16(k: number): number {
    return this.rd16(SS, this.ssBig ? (this.regs[ESP] + k) >>> 0 : (this.regs[ESP] + k) & 0xffff);
  }
  peek32(k: number): number {
    return this.rd32(SS, this.ssBig ? (this.regs[ESP] + k) >>> 0 : (this.regs[ESP] + k) & 0xffff);
  }
  addSp(k: number): void {
    if (this.ssBig) this.regs[ESP] = (this.regs[ESP] + k) | 0;
    else this.r16[ESP << 1] = this.regs[ESP] + k;
  }

  // ====================================================================================
  // control

  /** Near jump to an offset (already sized): checks the CS limit. */
  jumpNear(target: number): void {
    if (target >= this.csEnd) this.gp(0);
    this.eip = target;
  }

  /** I/O permission: CPL <= IOPL, else the TSS bitmap must allow every port byte. */
  ioCheck(port: number, size: number): void {
    if (!this.pe) return;
    // in virtual-8086 mode the bitmap decides whatever IOPL is
    if (this.cpl <= ((this.flagsVal >> 12) & 3) && (this.flagsVal & VM) === 0) return;
    if (this.trType !== 9 && this.trType !== 11) this.gp(0);
    if (this.trLimit < 0x67) this.gp(0);
    const mapBase = this.sysRead16((this.trBase + 0x66) | 0);
    const off = mapBase + (port >>> 3);
    if (off + 1 > this.trLimit) this.gp(0);
    const bits = this.sysRead16((this.trBase + off) | 0);
    const mask = ((1 << size) - 1) << (port & 7);
    if (bits & mask) this.gp(0);
  }

  setCr0(v: number): void {
    const old = this.cr0;
    let keep = 0x8000001f;
    if (this.allowWP) keep |= CR0_WP;
    v = (v & keep) | 0;
    if ((v & CR0_PG) && !(v & CR0_PE)) this.gp(0);
    this.cr0 = v;
    if ((old ^ v) & (CR0_PG | CR0_PE | CR0_WP)) {
      this.flushTlb();
      if (!(v & CR0_PE)) this.setCpl(0);
    }
  }
  setCr3(v: number): void {
    this.cr3 = v & ~0xfff;
    this.flushTlb();
  }

  // ====================================================================================
  // interrupts and exceptions

  /** Delivers interrupt `vector`. software: INT n / INT3 / INTO (privilege checked against
   *  the gate DPL in protected mode); EIP must already be the return address. */
  interrupt(vector: number, software: boolean, hasCode: boolean, code: number): void {
    deliverInterrupt(this, vector, software, hasCode, code);
  }

  /** Delivers an exception (after a fault object was caught), with double/triple fault. */
  raiseException(vector: number, hasCode: boolean, code: number): void {
    deliverException(this, vector, hasCode, code);
  }

  /** The state when the CPU shut down (triple fault), for the machine's report. */
  shutdownState: CpuState | null = null;

  tripleFault(): void {
    this.shutdown = true;
    this.shutdownState = this.state();
    this.shutdownReport = `triple fault at ${hex(this.sel[CS], 4)}:${hex(this.eip, 8)}\n${this.dumpState()}`;
  }

  // ====================================================================================
  // execution

  /** Fetches one code byte at EIP+o for the slow decoder (checks CS limit; may fault). */
  fetchByteSlow(o: number): number {
    const off = this.csBig ? (this.fetchBase + o) >>> 0 : this.fetchBase + o;
    if (off >= this.csEnd) this.gp(0);
    const lin = (this.segBase[CS] + off) | 0;
    return this.mem.read8(this.translate(lin, false, this.cpl === 3));
  }

  /** Executes decoded blocks, chaining from one to the next, until `end` instructions have
   *  retired, an instruction asks to leave (blockBreak, mode changes), or an interrupt is
   *  pending. */
  private execBlock(end: number): void {
    const regs = this.regs, r16 = this.r16, r8 = this.r8;
    const codeGen = this.mem.codeGen;
    // constant within a chain: every instruction that changes it leaves the chain
    const csEnd = this.csEnd;
    // compiled blocks run when no observer needs the one-at-a-time loop or the slow memory
    // path (those fall back to the interpreter)
    const jit = this.engine === 'jit' && !this.slowStep && !this.slowMem;
    // the fast forms run inline unless memory hooks watch every access (a hook may read EIP,
    // which the inline forms keep in a local: the table handlers run then)
    const fastMask = this.slowMem ? 0 : -1;
    // start of the executing fast form (kept in a local; stored in curEip on a fault, with
    // startEsp: a fast form that faults leaves ESP as it was); -1 when none is executing
    let start = -1;
    // the block that ran last in this chain (its links lead to the next; links made by
    // earlier chains are followed while their epoch lasts)
    let prev: Block | null = null;
    try {
      for (;;) {
        let eip = this.eip;
        start = -1;
        // Chained: the block that followed the previous one at this EIP, found without the
        // lookup below. The link holds while its epoch does (the same CS base, limit and
        // size, CPL and TLB since it was made, in this chain or an earlier one), the block
        // still has its tag (the cache slot was not reused) and code generation (its page was
        // not written). (It fits the CS limit: lookup checked it when it linked the block in
        // this epoch, and a block rebuilt since in this epoch was decoded within the same
        // limit.)
        let b: Block | null = null;
        if (prev !== null && prev.linkEpoch === this.chainEpoch) {
          if (prev.eipA === eip) b = prev.nextA!.tag === prev.tagA ? prev.nextA : null;
          else if (prev.eipB === eip) b = prev.nextB!.tag === prev.tagB ? prev.nextB : null;
          if (b !== null && b.gen !== codeGen[b.page]) b = null;
        }
        if (b === null) {
          b = this.lookup(eip, prev);
          if (b === null) return;
        }
        const page = b.page;
        const insns = b.insns, fns = b.fns;
        let n = b.n;
        const budget = end - this.icount;
        if (n > budget) n = budget;
        this.blockBreak = false;
        this.curPage = page;
        this.curPageGen = b.gen;
        if (jit && n === b.n && (b.jit !== null || (++b.hits >= this.jitThreshold && this.compile(b)))) {
          // a compiled block runs whole (it fits the budget) in place of the handlers below;
          // the chain goes on as after an interpreted block, through the same links (a region
          // may have run further blocks of its page: the chain goes on from where it left)
          b.jit!(this, eip, end);
        } else {
          // The interpreter. Per instruction: EIP is the next instruction's while it runs
          // (handlers read it, branches set it); icount counts the instructions before it
          // whenever it may be read or the instruction may fault (port I/O, devices behind
          // memory, hooks, onFault: it is written before memory forms, branches and handlers,
          // not before the register-only forms, which cannot fault), and all of them at the
          // block's end; ESP at its start is in startEsp when a handler runs (the fast forms
          // leave ESP unchanged when they fault).
          const ic = this.icount;
          let i = 0;
          for (; i < n; ) {
            const ins = insns[i];
            start = eip;
            const fast = ins.fast & fastMask;
            if (fast !== Fast.None && fast < Fast.Jcc32) {
              // the fast forms that neither read nor set EIP: it stays in the local
              eip += ins.length;
              if (fast < Fast.Load32) {
                switch (fast) {
                  case Fast.MovRR32: regs[ins.reg] = regs[ins.rm]; break;
                  case Fast.MovRmR32: regs[ins.rm] = regs[ins.reg]; break;
                  case Fast.MovRR16: r16[ins.reg << 1] = r16[ins.rm << 1]; break;
                  case Fast.MovRmR16: r16[ins.rm << 1] = r16[ins.reg << 1]; break;
                  case Fast.MovRImm32: regs[ins.opReg] = ins.imm; break;
                  case Fast.MovzxR8: regs[ins.reg] = r8[R8[ins.rm]]; break;
                  case Fast.MovzxR16: regs[ins.reg] = r16[ins.rm << 1]; break;
                  // ALU 'op rmv,rv' (the result in rm) and 'op rv,rmv' (in reg) on registers
                  case Fast.AddRmR32: { const a = regs[ins.rm], b = regs[ins.reg], r = (a + b) | 0; setArith(this, a, b, r, LZ_ADD, 31); regs[ins.rm] = r; break; }
                  case Fast.OrRmR32: { const a = regs[ins.rm], b = regs[ins.reg], r = a | b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.rm] = r; break; }
                  case Fast.AndRmR32: { const a = regs[ins.rm], b = regs[ins.reg], r = a & b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.rm] = r; break; }
                  case Fast.SubRmR32: { const a = regs[ins.rm], b = regs[ins.reg], r = (a - b) | 0; setArith(this, a, b, r, LZ_SUB, 31); regs[ins.rm] = r; break; }
                  case Fast.XorRmR32: { const a = regs[ins.rm], b = regs[ins.reg], r = a ^ b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.rm] = r; break; }
                  case Fast.CmpRmR32: { const a = regs[ins.rm], b = regs[ins.reg]; setArith(this, a, b, (a - b) | 0, LZ_SUB, 31); break; }
                  case Fast.AddRRm32: { const a = regs[ins.reg], b = regs[ins.rm], r = (a + b) | 0; setArith(this, a, b, r, LZ_ADD, 31); regs[ins.reg] = r; break; }
                  case Fast.OrRRm32: { const a = regs[ins.reg], b = regs[ins.rm], r = a | b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.reg] = r; break; }
                  case Fast.AndRRm32: { const a = regs[ins.reg], b = regs[ins.rm], r = a & b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.reg] = r; break; }
                  case Fast.SubRRm32: { const a = regs[ins.reg], b = regs[ins.rm], r = (a - b) | 0; setArith(this, a, b, r, LZ_SUB, 31); regs[ins.reg] = r; break; }
                  case Fast.XorRRm32: { const a = regs[ins.reg], b = regs[ins.rm], r = a ^ b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.reg] = r; break; }
                  case Fast.CmpRRm32: { const a = regs[ins.reg], b = regs[ins.rm]; setArith(this, a, b, (a - b) | 0, LZ_SUB, 31); break; }
                  case Fast.AddRmR16: { const a = r16[ins.rm << 1], b = r16[ins.reg << 1], r = (a + b) & 0xffff; setArith(this, a, b, r, LZ_ADD, 15); r16[ins.rm << 1] = r; break; }
                  case Fast.SubRmR16: { const a = r16[ins.rm << 1], b = r16[ins.reg << 1], r = (a - b) & 0xffff; setArith(this, a, b, r, LZ_SUB, 15); r16[ins.rm << 1] = r; break; }
                  case Fast.XorRmR16: { const a = r16[ins.rm << 1], b = r16[ins.reg << 1], r = a ^ b; setArith(this, a, b, r, LZ_LOGIC, 15); r16[ins.rm << 1] = r; break; }
                  case Fast.CmpRmR16: { const a = r16[ins.rm << 1], b = r16[ins.reg << 1]; setArith(this, a, b, (a - b) & 0xffff, LZ_SUB, 15); break; }
                  // ALU 'op rmv,imm' on a register
                  case Fast.AddRI32: { const a = regs[ins.rm], b = ins.imm | 0, r = (a + b) | 0; setArith(this, a, b, r, LZ_ADD, 31); regs[ins.rm] = r; break; }
                  case Fast.OrRI32: { const a = regs[ins.rm], b = ins.imm | 0, r = a | b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.rm] = r; break; }
                  case Fast.AndRI32: { const a = regs[ins.rm], b = ins.imm | 0, r = a & b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.rm] = r; break; }
                  case Fast.SubRI32: { const a = regs[ins.rm], b = ins.imm | 0, r = (a - b) | 0; setArith(this, a, b, r, LZ_SUB, 31); regs[ins.rm] = r; break; }
                  case Fast.XorRI32: { const a = regs[ins.rm], b = ins.imm | 0, r = a ^ b; setArith(this, a, b, r, LZ_LOGIC, 31); regs[ins.rm] = r; break; }
                  case Fast.CmpRI32: { const a = regs[ins.rm], b = ins.imm | 0; setArith(this, a, b, (a - b) | 0, LZ_SUB, 31); break; }
                  case Fast.TestRR32: logicFlags(this, regs[ins.rm] & regs[ins.reg], 31); break;
                  case Fast.TestRI32: logicFlags(this, regs[ins.rm] & ins.imm, 31); break;
                  case Fast.IncR32: regs[ins.opReg] = incdec(this, regs[ins.opReg], false, 31); break;
                  case Fast.DecR32: regs[ins.opReg] = incdec(this, regs[ins.opReg], true, 31); break;
                  // shifts of a register by a constant (a count of 0 changes nothing)
                  case Fast.Shl1R32: regs[ins.rm] = shl(this, regs[ins.rm], 1, 32); break;
                  case Fast.ShlR32: if ((ins.imm & 31) !== 0) regs[ins.rm] = shl(this, regs[ins.rm], ins.imm & 31, 32); break;
                  case Fast.ShrR32: if ((ins.imm & 31) !== 0) regs[ins.rm] = shr(this, regs[ins.rm], ins.imm & 31, 32); break;
                  case Fast.SarR32: if ((ins.imm & 31) !== 0) regs[ins.rm] = sar(this, regs[ins.rm], ins.imm & 31, 32); break;
                  case Fast.Shl1R16: r16[ins.rm << 1] = shl(this, r16[ins.rm << 1], 1, 16); break;
                  // (push writes before it moves ESP, pop reads before)
                  case Fast.PushR32: this.icount = ic + i; this.push32(regs[ins.opReg]); break;
                  case Fast.PopR32: { this.icount = ic + i; const v = this.pop32(); regs[ins.opReg] = v; break; }
                  case Fast.PushR16: this.icount = ic + i; this.push16(r16[ins.opReg << 1]); break;
                  case Fast.PopR16: { this.icount = ic + i; const v = this.pop16(); r16[ins.opReg << 1] = v; break; }
                }
              } else {
                this.icount = ic + i;
                this.memForm(ins, fast);
              }
            } else {
              this.eip = eip + ins.length;
              this.icount = ic + i;
              switch (fast) {
                // near branches: Jcc's condition is the low nibble of its opcode (7x, 0F 8x)
                case Fast.Jcc32: if (this.cond(ins.opcode & 15)) this.jumpNear((this.eip + ins.imm) >>> 0); break;
                // JZ/JNZ (the most frequent): ZF alone, without cond's dispatch on the condition
                case Fast.JzNz32: if ((this.getZF() ^ (ins.opcode & 1)) !== 0) this.jumpNear((this.eip + ins.imm) >>> 0); break;
                case Fast.Jcc16: if (this.cond(ins.opcode & 15)) this.jumpNear((this.eip + ins.imm) & 0xffff); break;
                // a direct JMP or CALL the block goes on through (as JMP_ON/CALL_ON): a target that
                // wraps IP ends the block
                case Fast.JmpOn: { const raw = this.eip + ins.imm, t = ins.op32 ? raw >>> 0 : raw & 0xffff; this.jumpNear(t); if (t !== raw) this.blockBreak = true; break; }
                case Fast.CallOn32: { const raw = this.eip + ins.imm; callNear(this, raw >>> 0, true); if (raw >>> 0 !== raw) this.blockBreak = true; break; }
                case Fast.CallOn16: { const raw = this.eip + ins.imm; callNear(this, raw & 0xffff, false); if ((raw & 0xffff) !== raw) this.blockBreak = true; break; }
                case Fast.Call32: callNear(this, (this.eip + ins.imm) >>> 0, true); break;
                case Fast.Ret32: { const sp = regs[ESP], t = this.pop32() >>> 0; if (t >= csEnd) { regs[ESP] = sp; this.gp(0); } this.eip = t; break; }
                case Fast.Ret16: { const sp = regs[ESP], t = this.pop16(); if (t >= csEnd) { regs[ESP] = sp; this.gp(0); } this.eip = t; break; }
                case Fast.Loop16: {
                  const k = (r16[ECX << 1] - 1) & 0xffff;
                  r16[ECX << 1] = k;
                  if (k !== 0) this.jumpNear(ins.op32 ? (this.eip + ins.imm) >>> 0 : (this.eip + ins.imm) & 0xffff);
                  break;
                }
                case Fast.Loop32: {
                  const k = (regs[ECX] - 1) | 0;
                  regs[ECX] = k;
                  if (k !== 0) this.jumpNear(ins.op32 ? (this.eip + ins.imm) >>> 0 : (this.eip + ins.imm) & 0xffff);
                  break;
                }
                default:
                  // (a handler that faults may have moved ESP: its start is recorded now)
                  this.curEip = start;
                  this.startEsp = regs[ESP];
                  start = -1;
                  fns[i](this, ins);
              }
              // (a block goes on through direct jumps and calls: the next instruction is at EIP)
              eip = this.eip;
            }
            i++;
            if (this.blockBreak) break;
          }
          this.icount = ic + i;
          this.eip = eip;
          start = -1;
        }
        prev = b;
        if (this.blockBreak || b.exit || this.icount >= end) break;
        if ((this.flagsVal & IF) !== 0 && this.irq !== null && this.irq.hasInterrupt()) break;
      }
      this.curPage = -1;
    } catch (err) {
      this.curPage = -1;
      if (start >= 0) {
        this.curEip = start;
        this.startEsp = regs[ESP];
      }
      throw err;
    }
  }

  /** The fast forms with a memory operand (execBlock's second run of forms). */
  private memForm(ins: Insn, fast: number): void {
    const regs = this.regs, r16 = this.r16, r8 = this.r8;
    const s = ins.seg, off = this.ea(ins);
    switch (fast) {
      case Fast.Load32: regs[ins.reg] = this.rd32(s, off); break;
      case Fast.Load16: r16[ins.reg << 1] = this.rd16(s, off); break;
      case Fast.Load8: r8[R8[ins.reg]] = this.rd8(s, off); break;
      case Fast.Store32: this.wr32(s, off, regs[ins.reg]); break;
      case Fast.Store16: this.wr16(s, off, r16[ins.reg << 1]); break;
      case Fast.Store8: this.wr8(s, off, r8[R8[ins.reg]]); break;
      case Fast.StoreImm32: this.wr32(s, off, ins.imm); break;
      case Fast.StoreImm16: this.wr16(s, off, ins.imm); break;
      case Fast.StoreImm8: this.wr8(s, off, ins.imm); break;
      case Fast.Lea32: regs[ins.reg] = off; break;
      case Fast.MovzxM8: regs[ins.reg] = this.rd8(s, off); break;
      case Fast.MovzxM16: regs[ins.reg] = this.rd16(s, off); break;
      case Fast.AddMI32: { const a = this.rmw32(s, off), b = ins.imm | 0, r = (a + b) | 0; setArith(this, a, b, r, LZ_ADD, 31); this.commit32(r); break; }
      case Fast.SubMI32: { const a = this.rmw32(s, off), b = ins.imm | 0, r = (a - b) | 0; setArith(this, a, b, r, LZ_SUB, 31); this.commit32(r); break; }
      case Fast.CmpMI32: { const a = this.rd32(s, off), b = ins.imm | 0; setArith(this, a, b, (a - b) | 0, LZ_SUB, 31); break; }
      case Fast.CmpMR32: { const a = this.rd32(s, off), b = regs[ins.reg]; setArith(this, a, b, (a - b) | 0, LZ_SUB, 31); break; }
      case Fast.CmpRM32: { const a = regs[ins.reg], b = this.rd32(s, off); setArith(this, a, b, (a - b) | 0, LZ_SUB, 31); break; }
      case Fast.TestMR32: logicFlags(this, this.rd32(s, off) & regs[ins.reg], 31); break;
      case Fast.IncM32: this.commit32(incdec(this, this.rmw32(s, off), false, 31)); break;
      case Fast.DecM32: this.commit32(incdec(this, this.rmw32(s, off), true, 31)); break;
      case Fast.IncM16: this.commit16(incdec(this, this.rmw16(s, off), false, 15)); break;
    }
  }

  /** The block at EIP `eip` (not chained): through the TLB and the block cache, decoded if
   *  need be, and linked as the successor of `prev`; null when the instruction ran through the
   *  slow path instead (MMIO, a CS limit or page crossing the cache cannot hold). Out of
   *  execBlock: it runs once per unchained block, and execBlock is smaller to optimise. */
  private lookup(eip: number, prev: Block | null): Block | null {
    // (a fault in the lookup is the fetch's: of the instruction at EIP)
    this.curEip = eip;
    this.startEsp = this.regs[ESP];
    const csEnd = this.csEnd;
    const lin: number = (this.segBase[CS] + eip) | 0;
    const tlb = this.tlb, nr = this.needR & ~T_NEVER;
    let e: number = tlb[lin >>> 12];
    if ((e & nr) !== nr) {
      this.translate(lin, false, this.cpl === 3);
      e = tlb[lin >>> 12];
    }
    if ((e & T_RAM) === 0 || eip >= csEnd) {
      this.execSlowOne();
      return null;
    }
    const big = this.csBig ? 1 : 0;
    const ram: number = (e & ~0xfff) | (lin & 0xfff);
    const tag = ram * 2 + big;
    const slot: number = (ram ^ (ram >>> 14)) & (CACHE_SIZE - 1);
    const b = this.cache[slot] ?? (this.cache[slot] = new Block());
    if (b.tag !== tag || b.gen !== this.mem.codeGen[ram >>> 12] || eip + b.len > csEnd) {
      // the same tag: a page-crossing block (never passes the test above), a block whose
      // page was written elsewhere (data next to code), or a CS limit change
      const keep = b.tag === tag && (this.crossingValid(b, eip, lin) || (eip + b.len <= csEnd && this.unchanged(b, ram)));
      if (!keep && !this.buildBlock(b, ram, eip, big, lin)) {
        this.execSlowOne();
        return null;
      }
    }
    if (prev !== null) this.link(prev, eip, b);
    return b;
  }

  /** Compiles a hot block: not a page-crossing one (one instruction, nothing to gain); as a
   *  region with the hot blocks it leads to in its page when there are any. */
  private compile(b: Block): boolean {
    if (b.page2 >= 0) {
      b.hits = -0x40000000; // (not again until rebuilt)
      return false;
    }
    b.regionRuns.length = 0;
    const region = b.exit || b.regionDrops >= REGION_DROPS_MAX ? null : this.regionOf(b);
    b.jitRegion = region !== null;
    this.codeCache.add(b, region ?? compileBlock(b.insns, b.fns, b.n), region !== null);
    return true;
  }

  /** The region of the hot block `entry`: the valid, hot, decoded blocks of its page that its
   *  code may go on to (blockExits), and theirs, in turn; null when there are none and it
   *  does not loop to itself. */
  private regionOf(entry: Block): CompiledBlock | null {
    const ram0 = entry.tag >> 1, big = entry.tag & 1, page = entry.page;
    const gen = this.mem.codeGen[page];
    const blocks: RegionBlock[] = [{ insns: entry.insns, fns: entry.fns, n: entry.n, d: 0 }];
    let insns = entry.n, loops = false;
    for (let m = 0; m < blocks.length && blocks.length < REGION_BLOCKS; m++) {
      const from = ram0 + blocks[m].d;
      for (const x of blockExits(blocks[m].insns, blocks[m].n)) {
        const ram = from + x;
        if (ram === ram0) loops = true;
        if (ram >>> 12 !== page || blocks.some((r) => r.d === ram - ram0)) continue;
        const b = this.cache[(ram ^ (ram >>> 14)) & (CACHE_SIZE - 1)];
        if (b === undefined || b.tag !== ram * 2 + big || b.page2 >= 0 || b.exit) continue;
        // (a block of the page not run since the page was written: kept if its bytes are)
        if (b.gen !== gen && !this.unchanged(b, ram)) continue;
        if ((b.jit === null && b.hits * 2 < this.jitThreshold) || insns + b.n > REGION_INSNS) continue;
        blocks.push({ insns: b.insns, fns: b.fns, n: b.n, d: ram - ram0 });
        for (let r = 0; r < b.runs.length; r += 2) entry.regionRuns.push(ram + b.runs[r], b.runs[r + 1]);
        insns += b.n;
        if (blocks.length === REGION_BLOCKS) break;
      }
    }
    if (blocks.length === 1 && !loops) return null;
    const runs = entry.regionRuns;
    let size = 0;
    for (let r = 1; r < runs.length; r += 2) size += runs[r];
    const bytes = entry.regionBytes !== null && entry.regionBytes.length >= size ? entry.regionBytes : (entry.regionBytes = new Uint8Array(size));
    for (let r = 0, at = 0; r < runs.length; at += runs[r + 1], r += 2) bytes.set(this.u8.subarray(runs[r], runs[r] + runs[r + 1]), at);
    return compileRegion(blocks, this);
  }

  /** The region of `entry` (whose own bytes are unchanged) may run on after a write to its
   *  page: its other blocks' bytes are as they were compiled (marked as code again, so
   *  that a write to them is seen). */
  private regionUnchanged(entry: Block): boolean {
    const runs = entry.regionRuns, bytes = entry.regionBytes!, u8 = this.u8;
    for (let r = 0, at = 0; r < runs.length; at += runs[r + 1], r += 2) {
      const ram = runs[r], len = runs[r + 1];
      for (let k = 0; k < len; k++) if (u8[ram + k] !== bytes[at + k]) return false;
    }
    for (let r = 0; r < runs.length; r += 2) this.mem.markCode(runs[r], runs[r + 1]);
    return true;
  }

  /** Links `next` as the successor of `prev` at EIP `eip` (two exits: the newest replaces
   *  the older of the two). */
  private link(prev: Block, eip: number, next: Block): void {
    if (prev.linkEpoch !== this.chainEpoch) {
      prev.linkEpoch = this.chainEpoch;
      prev.eipA = prev.eipB = -1;
    }
    prev.eipB = prev.eipA;
    prev.nextB = prev.nextA;
    prev.tagB = prev.tagA;
    prev.eipA = eip;
    prev.nextA = next;
    prev.tagA = next.tag;
  }

  /** Start of the instruction `ins` that is executing (for handlers that restart it). */
  insnStart(ins: Insn): number {
    return this.csBig ? (this.eip - ins.length) >>> 0 : (this.eip - ins.length) & 0xffff;
  }

  /** RAM page of the linear page after `lin` (translating it: the crossing instruction is
   *  about to run, so a fault is its fetch's), or -1 when it is not RAM. */
  private nextPageRam(lin: number): number {
    const lin2 = ((lin | 0xfff) + 1) | 0;
    const nr = this.needR & ~T_NEVER;
    let e = this.tlb[lin2 >>> 12];
    if ((e & nr) !== nr) {
      this.translate(lin2, false, this.cpl === 3);
      e = this.tlb[lin2 >>> 12];
    }
    return (e & T_RAM) !== 0 ? e >>> 12 : -1;
  }

  /** A page-crossing block is still valid: neither page's bytes changed, the next linear
   *  page maps to the same RAM page, and the instruction is within the CS limit. */
  private crossingValid(b: Block, eip: number, lin: number): boolean {
    return b.page2 >= 0 && this.mem.codeGen[(b.tag / 2) >>> 12] === b.gen1 && eip + b.len <= this.csEnd &&
      this.nextPageRam(lin) === b.page2 && this.mem.codeGen[b.page2] === b.gen2;
  }

  /** Decodes a block at RAM offset `ram` (EIP `eip`, linear `lin`); an instruction that
   *  crosses into the next page ends the block before it, or, first, is a block of its own.
   *  False when the first instruction crosses the CS limit or into MMIO (then it runs
   *  through the slow path). */
  private buildBlock(b: Block, ram: number, eip: number, big: number, lin: number): boolean {
    const src = this.ramSrc;
    const toPageEnd = 0x1000 - (ram & 0xfff);
    src.base = ram;
    src.first = 0x1000;
    src.avail = Math.min(toPageEnd, this.csEnd - eip);
    src.start = 0;
    b.tag = -1;
    b.page2 = -1;
    b.hits = 0;
    b.jit = null;
    b.regionDrops = 0;
    // off: offset of the next instruction from the block's start; it jumps back or ahead
    // when the block goes on through an unconditional jump or call (runStart: where the
    // current straight run of bytes began, end: the furthest byte decoded)
    let n = 0, off = 0, runStart = 0, end = 0;
    b.runs.length = 0;
    const bits = big ? 32 : 16;
    for (;;) {
      let ins = b.insns[n];
      if (ins === undefined) {
        ins = b.insns[n] = new Insn();
        b.fns[n] = HANDLERS[0];
      }
      src.start = off;
      src.over = false;
      decode(src, bits, ins);
      if (src.over || ins.length > MAX_INSN_LENGTH) {
        if (n === 0) return src.over && toPageEnd < this.csEnd - eip && this.buildCrossing(b, ram, eip, big, lin);
        break;
      }
      n++;
      off += ins.length;
      if (off > end) end = off;
      const f = ins.form;
      const to = f !== null && THROUGH[f.id] === 1 && !ins.lock && n < BLOCK_MAX ? this.jumpInPage(ins, eip + off, lin - eip) : -1;
      if (to >= 0) {
        // the block goes on at the target: its handler ends the block should EIP wrap
        b.fns[n - 1] = f!.mnemonic === 'call' ? CALL_ON : JMP_ON;
        ins.fast = fastOf(ins, true);
        this.addRun(b, ram, runStart, off - runStart);
        off = runStart = to - eip;
        continue;
      }
      b.fns[n - 1] = this.handlerFor(ins);
      if (f === null || STOP[f.id] || n >= BLOCK_MAX || off >= src.avail) break;
    }
    b.n = n;
    b.len = end;
    const last = b.insns[n - 1].form;
    b.exit = last === null || (STOP[last.id] === 1 && CHAIN[last.id] === 0);
    this.addRun(b, ram, runStart, off - runStart);
    b.gen = this.mem.codeGen[ram >>> 12];
    b.page = ram >>> 12;
    b.tag = ram * 2 + big;
    return true;
  }

  /** Records the run of `len` decoded bytes at offset `at` of the block at `ram`, and marks
   *  them as code (a write to them invalidates the page's blocks). */
  private addRun(b: Block, ram: number, at: number, len: number): void {
    let used = 0;
    for (let k = 1; k < b.runs.length; k += 2) used += b.runs[k];
    const bytes = b.bytes ?? (b.bytes = new Uint8Array(BLOCK_MAX * MAX_INSN_LENGTH));
    // (copied byte by byte: a subarray view per run was garbage for every block decoded)
    const u8 = this.u8;
    for (let k = 0; k < len; k++) bytes[used + k] = u8[ram + at + k];
    b.runs.push(at, len);
    this.mem.markCode(ram + at, len);
  }

  /** The block at `ram` was decoded from the bytes that are there now (its page was written
   *  since, elsewhere): it becomes valid for the page's new code generation, its bytes marked
   *  as code again. False for a block that crosses a page or whose bytes changed. */
  private unchanged(b: Block, ram: number): boolean {
    if (b.page2 >= 0) return false;
    const runs = b.runs, bytes = b.bytes!, u8 = this.u8;
    let used = 0;
    for (let r = 0; r < runs.length; r += 2) {
      const at = ram + runs[r], len = runs[r + 1];
      for (let k = 0; k < len; k++) if (u8[at + k] !== bytes[used + k]) return false;
      used += len;
    }
    for (let r = 0; r < runs.length; r += 2) this.mem.markCode(ram + runs[r], runs[r + 1]);
    b.gen = this.mem.codeGen[ram >>> 12];
    // a region holds other blocks of the page: dropped (compiled again) if one changed
    if (b.jitRegion && b.jit !== null && !this.regionUnchanged(b)) {
      b.jit = null;
      b.regionDrops++;
    }
    return true;
  }

  /** The target EIP of the direct JMP/CALL `ins` ending at `next`, when a block may go on
   *  there: in the same linear page (so the same RAM page, covered by the block's code
   *  generation), within the CS limit, and reached without wrapping EIP; else -1. */
  private jumpInPage(ins: Insn, next: number, csBase: number): number {
    const raw = next + ins.imm;
    const to = ins.op32 ? raw >>> 0 : raw & 0xffff;
    if (to !== raw || to >= this.csEnd) return -1;
    return ((csBase + to) ^ (csBase + next - ins.length)) >>> 12 === 0 ? to : -1;
  }

  /** A block of the one instruction at `ram` that continues in the next linear page. */
  private buildCrossing(b: Block, ram: number, eip: number, big: number, lin: number): boolean {
    const page2 = this.nextPageRam(lin);
    if (page2 < 0) return false;
    b.hits = 0;
    b.jit = null;
    const src = this.ramSrc;
    src.base = ram;
    src.base2 = page2 << 12;
    src.first = 0x1000 - (ram & 0xfff);
    src.start = 0;
    src.avail = Math.min(MAX_INSN_LENGTH + 1, this.csEnd - eip);
    src.over = false;
    let ins = b.insns[0];
    if (ins === undefined) ins = b.insns[0] = new Insn();
    decode(src, big ? 32 : 16, ins);
    if (src.over || ins.length > MAX_INSN_LENGTH) return false;
    b.fns[0] = this.handlerFor(ins);
    b.n = 1;
    b.len = ins.length;
    b.exit = ins.form === null || (STOP[ins.form.id] === 1 && CHAIN[ins.form.id] === 0);
    this.mem.markCode(ram, src.first);
    this.mem.markCode(page2 << 12, ins.length - src.first);
    // gen never matches, so the fast test in execBlock sends this block to crossingValid
    b.gen = -1;
    b.gen1 = this.mem.codeGen[ram >>> 12];
    b.page2 = page2;
    b.gen2 = this.mem.codeGen[page2];
    b.page = ram >>> 12;
    b.tag = ram * 2 + big;
    return true;
  }

  /** The table handler of a decoded instruction; also sets its fast form. */
  private handlerFor(ins: Insn): Handler {
    ins.fast = fastOf(ins, false);
    const f = ins.form;
    if (f === null) return HANDLERS_UD;
    if (ins.lock) {
      if (!f.attrs.has('lock') || !ins.hasMem) return HANDLERS_UD;
      return LOCKED[f.id] ?? (LOCKED[f.id] = lockChecked(HANDLERS[f.id]));
    }
    const sp = SPECIAL[f.id];
    if (sp !== undefined) {
      const h = sp(ins);
      if (h !== null) return h;
    }
    return HANDLERS[f.id];
  }

  /** One instruction through the slow decoder (page-crossing, MMIO, near the CS limit). */
  private execSlowOne(): void {
    const ins = this.slowInsn;
    this.fetchBase = this.eip;
    this.curEip = this.eip;
    this.startEsp = this.regs[ESP];
    decode(this.slowSrc, this.csBig ? 32 : 16, ins);
    if (ins.length > MAX_INSN_LENGTH) this.gp(0);
    this.eip = this.csBig ? (this.eip + ins.length) >>> 0 : (this.eip + ins.length) & 0xffff;
    this.blockBreak = false;
    this.handlerFor(ins)(this, ins);
    this.icount++;
  }

  private takeInterrupt(): void {
    const v = this.irq!.acknowledge() & 0xff;
    this.curEip = this.eip;
    this.startEsp = this.regs[ESP];
    this.raiseException(v, false, 0);
    // an external interrupt is not a software one; raiseException handled faults
  }

  private onFault(e: unknown): void {
    const f = this.faultState;
    if (e !== f) throw e;
    this.eip = this.curEip;
    this.regs[ESP] = this.startEsp;
    // a faulting instruction counts as executed (so a guest in a fault loop still uses up
    // its budget, and step() always makes progress)
    this.icount++;
    // every fault's EFLAGS image has RF (see debug-traps.ts)
    this.flagsVal |= RF;
    this.raiseException(f.vector, f.hasCode, f.code);
  }

  /**
   * An opcode the decoder found invalid: #UD. In the block loop it is delivered here without
   * throwing, by the same steps as onFault (a guest looping through #UD and its handler ran
   * at about 1 MIPS, the unwinding being most of the cost); the block ends, as EIP moved. The
   * one-at-a-time path (hooks, TF, debug registers) throws as every fault does.
   */
  invalidOpcode(ins: Insn): void {
    if (this.slowStep) this.fault(UD);
    this.eip = this.curEip = this.insnStart(ins);
    this.regs[ESP] = this.startEsp;
    // (the block loop counts the instruction, as onFault does)
    this.flagsVal |= RF;
    this.raiseException(UD, false, 0);
    this.blockBreak = true;
  }
  /** stepSlow is running the instruction (its traps follow the instruction's end) */
  private slowStep = false;

  /** Delivers a #DB trap (after an instruction) with these DR6 status bits. */
  private debugTrap(dr6: number): void {
    this.dr[6] |= dr6;
    this.curEip = this.eip;
    this.startEsp = this.regs[ESP];
    this.raiseException(DB, false, 0);
  }

  /** Non-maskable interrupt: taken at the next instruction boundary whatever IF is, then
   *  held off until the handler's IRET. */
  raiseNmi(): void {
    this.nmiPending = true;
    this.blockBreak = true;
  }
  nmiPending = false;
  nmiBlocked = false;
  /** a task switch loaded a TSS with the T bit: #DB (BT) before the task's first instruction */
  taskTrap = false;

  private takeNmi(): void {
    this.nmiPending = false;
    this.nmiBlocked = true;
    this.curEip = this.eip;
    this.startEsp = this.regs[ESP];
    this.raiseException(NMI_V, false, 0);
  }

  /** Executes one instruction (or takes one pending interrupt first). */
  step(): StopReason {
    return this.run(1);
  }

  /** Runs up to maxInstructions instructions. */
  run(maxInstructions: number): StopReason {
    const end = this.icount + maxInstructions;
    this.stopRequested = false;
    this.sliceEnded = false;
    if (this.shutdown) return 'triple-fault';
    while (this.icount < end) {
      const nmi = this.nmiPending && !this.nmiBlocked;
      if (this.halted) {
        if (!nmi) {
          if ((this.flagsVal & IF) === 0) return 'halted';
          if (this.irq === null || !this.irq.hasInterrupt()) return 'waiting';
        }
        // the event that ends HLT is taken now (an STI just before HLT no longer shadows it)
        this.halted = false;
        this.inhibit = false;
      }
      try {
        if (this.inhibit) this.inhibit = false;
        else if (nmi) {
          this.takeNmi();
          if (this.shutdown) return 'triple-fault';
          this.inhibit = true;
        } else if ((this.flagsVal & IF) !== 0 && this.irq !== null && this.irq.hasInterrupt()) {
          this.takeInterrupt();
          if (this.shutdown) return 'triple-fault';
          // the handler's first instruction runs before the next interrupt is recognised
          this.inhibit = true;
        }
        // RF lasts one instruction: the one-at-a-time loop clears it
        if ((this.flagsVal & (TF | RF)) !== 0 || this.stepHook || this.drActive) this.stepSlow();
        else {
          // the machine may have changed the page map or A20 since the last chain (port I/O
          // ends a chain, so a change made by an OUT is seen here)
          if (this.mapGen !== this.mem.mapGeneration) this.flushTlb();
          this.execBlock(end);
        }
      } catch (e) {
        this.onFault(e);
      }
      if (this.taskTrap) {
        this.taskTrap = false;
        this.debugTrap(DR6_BT);
      }
      if (this.shutdown) return 'triple-fault';
      if (this.stopRequested) return 'stopped';
      if (this.sliceEnded) return 'budget';
    }
    return 'budget';
  }

  /** One instruction with hooks, debug-register breakpoints and single-step traps. */
  private stepSlow(): void {
    const h = this.hooks;
    const lin = (this.segBase[CS] + this.eip) | 0;
    if (h && h.beforeInstruction) {
      if (h.beforeInstruction(lin >>> 0)) {
        this.stopRequested = true;
        return;
      }
    }
    if (this.drActive && (this.flagsVal & RF) === 0) {
      // instruction breakpoints (DR7 R/W = 00) are faults, taken before the instruction
      // (RF in the frame, as for every fault)
      const hit = this.matchBreakpoints(lin, 1, 0);
      if (hit) {
        this.dr[6] |= hit;
        this.curEip = this.eip;
        this.startEsp = this.regs[ESP];
        this.flagsVal |= RF;
        this.raiseException(DB, false, 0);
        return;
      }
    }
    const tf = (this.flagsVal & TF) !== 0;
    // RF lasts one instruction: cleared before it runs, so an IRET or task switch that
    // loads RF keeps it, and a fault sets it again in the frame
    this.flagsVal &= ~RF;
    this.dataHits = 0;
    this.slowStep = true;
    try {
      if (this.mapGen !== this.mem.mapGeneration) this.flushTlb();
      this.execBlock(this.icount + 1);
    } finally {
      this.slowStep = false;
    }
    let bits = 0;
    if (this.dataHits) bits |= this.dataHits;
    if (tf && !this.halted) bits |= DR6_BS;
    if (this.taskTrap) {
      this.taskTrap = false;
      bits |= DR6_BT;
    }
    if (bits) this.debugTrap(bits);
  }

  /** DR0-DR3 hits (bit mask) for an access of `size` bytes at lin of kind rw (0 execute,
   *  1 write, 3 read or write; a read matches only 3). */
  matchBreakpoints(lin: number, size: number, rw: number): number {
    const d7 = this.dr[7];
    let hits = 0;
    for (let k = 0; k < 4; k++) {
      if (((d7 >> (k * 2)) & 3) === 0) continue;
      const brw = (d7 >>> (16 + k * 4)) & 3;
      const blen = ((d7 >>> (18 + k * 4)) & 3) + 1;
      if (rw === 0 ? brw !== 0 : brw === 0 || brw === 2 || (rw === 3 && brw !== 3)) continue;
      const start = this.dr[k] & ~(blen - 1);
      if (rw === 0) {
        if ((this.dr[k] | 0) === (lin | 0)) hits |= 1 << k;
      } else if ((lin >>> 0) < ((start + blen) >>> 0) && ((lin + size) >>> 0) > (start >>> 0)) hits |= 1 << k;
    }
    return hits;
  }

  /** Called when DR7 or the task changes: breakpoints make run() take the slow loop and
   *  data breakpoints the slow memory path. */
  drChanged(): void {
    const d7 = this.dr[7];
    this.drActive = (d7 & 0xff) !== 0;
    let data = false;
    for (let k = 0; k < 4; k++) if (((d7 >> (k * 2)) & 3) !== 0 && ((d7 >>> (16 + k * 4)) & 3) !== 0) data = true;
    this.drData = data;
    this.setSlowMemory(data || (this.hooks !== null && this.hooks.memoryAccess !== undefined));
  }
  drActive = false;
  drData = false;
  /** data breakpoint hits of the current instruction */
  dataHits = 0;

  /** Ends run() after the current instruction as if its budget ran out: the machine calls
   *  it when a device schedules an event sooner than the run was planned to last. */
  endSlice(): void {
    this.sliceEnded = true;
    this.blockBreak = true;
  }

  /** Asks run() to return 'stopped' at the next instruction boundary. */
  stop(): void {
    this.stopRequested = true;
    // also from inside an instruction (a device callback): end the block after it
    this.blockBreak = true;
  }

  // ====================================================================================
  // embedding helpers

  /** Sets the memory-hook / instruction-hook observer (null to detach). */
  setHooks(h: CpuHooks | null): void {
    this.hooks = h;
    this.stepHook = h !== null && h.beforeInstruction !== undefined;
    this.drChanged();
    const bus = this.bus;
    const io = h?.portIo;
    if (!io) {
      this.io = bus;
      return;
    }
    this.io = {
      in8: (p) => { const v = bus.in8(p); io('in', p, 1, v); return v; },
      in16: (p) => { const v = bus.in16(p); io('in', p, 2, v); return v; },
      in32: (p) => { const v = bus.in32(p); io('in', p, 4, v); return v; },
      out8: (p, v) => { bus.out8(p, v); io('out', p, 1, v); },
      out16: (p, v) => { bus.out16(p, v); io('out', p, 2, v); },
      out32: (p, v) => { bus.out32(p, v); io('out', p, 4, v); },
    };
  }

  /** Connects the I/O bus (the machine's). */
  setIo(bus: IoBus): void {
    this.bus = bus;
    this.setHooks(this.hooks);
  }
  /** a before-instruction hook is attached: run() takes the one-instruction loop */
  private stepHook = false;
  /** the machine's bus; `io` is it, or a wrapper that also calls the port hook */
  private bus: IoBus;

  /** Invalidates every decoded block (after an external change of code bytes the memory
   *  object did not see). */
  flushCodeCache(): void {
    for (let i = 0; i < CACHE_SIZE; i++) {
      const b = this.cache[i];
      if (b) b.tag = -1;
    }
  }

  /** Sets up real mode segment registers and EIP directly (tests, loaders). */
  setRealMode(cs: number, ip: number): void {
    this.cr0 &= ~(CR0_PE | CR0_PG);
    this.setCpl(0);
    this.loadSegReal(CS, cs);
    this.eip = ip;
    this.flushTlb();
  }

  // ---- registers by name (tests, debuggers: emulator/debug/target.ts contract) ----

  /** Architectural value of a register as an unsigned 32-bit number (segment registers:
   *  the selector; eflags with lazy flags materialised; eip without CS.base). */
  readRegister(name: string): number {
    const g = GPR_NAMES.indexOf(name);
    if (g >= 0) return this.regs[g] >>> 0;
    const sg = SEG_NAMES_ALL.indexOf(name);
    if (sg >= 0) return this.sel[sg];
    switch (name) {
      case 'eip': return this.eip >>> 0;
      case 'eflags': return this.getFlags() >>> 0;
      case 'cr0': return this.cr0 >>> 0;
      case 'cr2': return this.cr2 >>> 0;
      case 'cr3': return this.cr3 >>> 0;
      default: throw new Error(`unknown register ${name}`);
    }
  }

  /** Sets a register as the debugger contract says; false (unchanged) when a segment
   *  selector cannot be loaded (outside its table, or not present). */
  writeRegister(name: string, value: number): boolean {
    const g = GPR_NAMES.indexOf(name);
    if (g >= 0) {
      this.regs[g] = value;
      return true;
    }
    const sg = SEG_NAMES_ALL.indexOf(name);
    if (sg >= 0) {
      value &= 0xffff;
      if (this.realAddressing) {
        this.loadSegReal(sg, value);
        return true;
      }
      if ((value & 0xfffc) === 0) {
        if (sg === CS || sg === SS) return false;
        this.setSegCache(sg, value, 0, 0, 0);
        return true;
      }
      const idx = value & 0xfff8;
      const limit = value & 4 ? this.ldtLimit : this.gdtLimit;
      if (idx + 7 > limit) return false;
      try {
        this.readDescriptor(value);
      } catch (e) {
        if (e === this.faultState) return false;
        throw e;
      }
      const ar = descAR(this.dHi);
      if ((ar & 0x80) === 0) return false;
      this.setSegCache(sg, value, descBase(this.dLo, this.dHi), descLimit(this.dLo, this.dHi), ar);
      if (sg === CS) this.setCpl(value & 3);
      return true;
    }
    switch (name) {
      case 'eip':
        this.eip = value >>> 0;
        return true;
      case 'eflags':
        this.setFlags(value, 0x277fd5);
        return true;
      case 'cr0':
        if ((value & CR0_PG) && !(value & CR0_PE)) return false;
        this.setCr0(value);
        return true;
      case 'cr2':
        this.cr2 = value | 0;
        return true;
      case 'cr3':
        this.setCr3(value);
        return true;
      default:
        throw new Error(`unknown register ${name}`);
    }
  }

  /** A snapshot of the architectural state (reports, triple-fault dumps, tests). */
  state(): CpuState {
    const segs = SEG_NAMES_ALL.map((n, k) => ({
      name: n, selector: this.sel[k], base: this.segBase[k] >>> 0, limit: this.segLimit[k], access: this.segAR[k],
    }));
    return {
      regs: Object.fromEntries(GPR_NAMES.map((n, k) => [n, this.regs[k] >>> 0])),
      eip: this.eip >>> 0, eflags: this.getFlags() >>> 0, cpl: this.cpl,
      cr0: this.cr0 >>> 0, cr2: this.cr2 >>> 0, cr3: this.cr3 >>> 0,
      segments: segs,
      gdtr: { base: this.gdtBase >>> 0, limit: this.gdtLimit }, idtr: { base: this.idtBase >>> 0, limit: this.idtLimit },
      ldtr: this.ldtSel, tr: this.trSel, icount: this.icount,
    };
  }

  dumpState(): string {
    const r = this.regs;
    const n = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
    const segs = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
    const lines = [n.map((x, k) => `${x}=${hex(r[k], 8)}`).join(' ')];
    lines.push(`eip=${hex(this.eip, 8)} eflags=${hex(this.getFlags(), 8)} cpl=${this.cpl} cr0=${hex(this.cr0, 8)} cr2=${hex(this.cr2, 8)} cr3=${hex(this.cr3, 8)}`);
    lines.push(segs.map((x, k) => `${x}=${hex(this.sel[k], 4)}(${hex(this.segBase[k], 8)},${hex(this.segLimit[k], 8)},${hex(this.segAR[k], 3)})`).join(' '));
    lines.push(`gdt=${hex(this.gdtBase, 8)}/${hex(this.gdtLimit, 4)} idt=${hex(this.idtBase, 8)}/${hex(this.idtLimit, 4)} ldtr=${hex(this.ldtSel, 4)} tr=${hex(this.trSel, 4)}`);
    return lines.join('\n');
  }
}

const GPR_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEG_NAMES_ALL = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

export interface CpuState {
  regs: Record<string, number>;
  eip: number;
  eflags: number;
  cpl: number;
  cr0: number;
  cr2: number;
  cr3: number;
  segments: { name: string; selector: number; base: number; limit: number; access: number }[];
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
  ldtr: number;
  tr: number;
  icount: number;
}

function hex(v: number, w: number): string {
  return (v >>> 0).toString(16).padStart(w, '0');
}

const HANDLERS_UD: Handler = (c, ins) => c.invalidOpcode(ins);
/** LOCK-prefixed forms, with the virtual-8086 IOPL check (built when first decoded) */
const LOCKED: Handler[] = [];

