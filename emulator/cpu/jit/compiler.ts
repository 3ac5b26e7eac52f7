// The block compiler: a decoded block (the interpreter's Insn[] and their handlers) becomes
// one JavaScript function, built with `new Function`. The frequent instruction forms are
// written out inline (register moves, ALU, TEST, INC/DEC, LEA, MOVZX/MOVSX, 32-bit shifts by
// a constant, PUSH/POP, near branches (a direct JMP/CALL the block goes on through, too),
// memory operands through the Cpu's TLB fast path:
// rd*/wr*/rmw*); every other instruction calls
// its interpreter handler directly, with its Insn as a closed-over constant.
//
// The contract with Cpu.execBlock (which calls a compiled block only when the whole block
// fits in the instruction budget and no hook is active) is the interpreter's, instruction
// for instruction, as far as anything can see:
//  - on entry c.eip is the block's start E (an argument: the same RAM bytes can run at
//    another EIP through another CS base), c.blockBreak false;
//  - the registers it uses whole, the lazy flags, the instruction count, EIP and the segment
//    state its memory accesses test live in JS locals; the Cpu's copies are made exact where
//    something can look: before a handler call (which sees everything, with c.eip the
//    address after the instruction, and may change everything: the locals are loaded
//    again after it), before a call of the Cpu's slow memory path (c.icount, c.startEsp: a
//    device or a fault may see them), on a fault (the catch sets c.curEip to the faulting
//    instruction's start, icount to the instructions before it, c.startEsp to ESP at its
//    start, and rethrows: Cpu.onFault then restores EIP/ESP and delivers it, as for the
//    interpreter) and on the way out (the finally);
//  - after an instruction that can set c.blockBreak (handlers, the slow memory path: a write
//    to the block's own page, a device callback) the block returns with c.eip after it.
// The inline TLB fast path neither faults nor is observed, so it skips all of this
// bookkeeping: that, and no per-instruction dispatch, is the gain.
//
// A block compiles as a region of one block: a region (regionSource) is several blocks of
// one page in one function, each keeping this contract, with a loop that goes on to the
// block at the new EIP while the chain in execBlock would go on to it: no exit, no
// interrupt pending, the budget holds the whole block, the TLB and the page's code are as
// at entry. A region compiled while the segments it accesses are flat (what a flat 32-bit
// guest runs) leaves out the segment limit tests for as long as they stay flat (see
// regionSource); one compiled with a segment that is not flat keeps them (compileRegion).
//
// Lazy flags: the inline forms keep the same lz* fields the handlers do, in locals (so the
// flags, and a snapshot of the CPU, are the same whichever engine ran).

import type { Cpu } from '../cpu';
import { Insn } from '../decoder';
import type { Handler } from '../handlers';
import { R8 } from '../handlers';
import { AF, ARITH, CF, ESP, IF, LZ_ADD, LZ_LOGIC, LZ_SUB, OF, PF, SF, SS, ZF } from '../consts';

/** A compiled block or region: runs the block's instructions from EIP `eip` (see the contract
 *  above); a region goes on with its other blocks while they fit the budget `end`. */
export type CompiledBlock = (c: Cpu, eip: number, end: number) => void;

/** Makes the function of a compiled source over a block's handlers and Insns; `full` makes
 *  the same region's function with every segment limit test (see regionSource's `flat`). */
type Factory = (h: readonly Handler[], ins: readonly Insn[], offs: Int32Array, kin: Int32Array, full: () => CompiledBlock) => CompiledBlock;

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CC = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'];

// Markers in an instruction's code, replaced where the function is put together: around a
// call of a Cpu method that uses c.regs, the registers kept in locals are stored (SAVE) and
// loaded after (LOAD); before a call of the Cpu's slow memory path, the state it may see
// or a fault needs (SYNC: an expression; icount, ESP at the instruction's start, and the
// note that the block's end must look at what the call may have changed); before code that
// reads the Cpu's lazy flags, the flag locals are stored (FLUSH).
const SAVE = '/*save*/', LOAD = '/*load*/', SYNC = '/*sync*/0', FLUSH = '/*flush*/';
// In the slow path's SYNC: the pages the fast path knows are forgotten (the slow path may
// fill or flush the TLB, or make a page code)
const FORGET = '/*forget*/';

/** How an instruction's code relates to the bookkeeping. */
const enum Kind {
  /** registers only: cannot fault, nothing observes it */
  Pure,
  /** may fault or touch memory (inline) */
  Mem,
  /** a handler call */
  Call,
  /** an inline near branch (ends the block; sets ip) */
  Branch,
  /** a direct JMP/CALL the block goes on through (Cpu.buildBlock): the next instruction is
   *  at its target; it ends the block, as JMP_ON/CALL_ON do, when the target wraps IP */
  On,
}

/** What an inline instruction does to the lazy flags (for the dead-flags pass). */
const enum Flags {
  /** reads them, or may be observed (a fault, a handler): the flags before it are live */
  Read,
  /** neither reads nor writes them */
  None,
  /** writes lzOp, lzRes, lzTop and lazy, reads nothing (TEST: lzA/lzB are left alone) */
  Logic,
  /** writes every lazy-flag field, reads nothing (the ALU forms but ADC/SBB) */
  Full,
}

/** What the flags an inline instruction sets are made of: its result (local fx), for ADD and
 *  SUB its operands (fa, fb), and its width (top bit), so that a Jcc (or the CF an INC/DEC
 *  keeps) later in the block can test them without the lazy-flag fields. */
interface Flagged {
  op: 'add' | 'sub' | 'logic' | 'result';
  top: number;
}

interface Piece {
  kind: Kind;
  code: string;
  /** sets the flags from fx/fa/fb; null: sets them otherwise; absent: leaves them alone */
  sets?: Flagged | null;
  /** a Jcc: its condition code (its code stores the flag locals and calls c.cond(cc)) */
  cc?: number;
  /** may change ESP */
  esp: boolean;
  /** Flags.Read when absent */
  flags?: Flags;
  /** the code when no one reads the flags it writes before they are overwritten */
  dead?: string;
  /** INC/DEC: it overwrites every lazy-flag field and reads none (Flags.Full) when the CF it
   *  keeps comes from fx/fa/fb (a flag writer before it in the block) */
  keepsCF?: boolean;
}

/** Source of an n-bit general register (n = 8, 16, 32). */
function reg(n: number, w: number): string {
  return w === 32 ? `r[${n}]` : w === 16 ? `r16[${n << 1}]` : `r8[${R8[n]}]`;
}
function writesEsp(n: number, w: number): boolean {
  return n === ESP && w !== 8;
}

/** The effective address expression of the memory operand (as Cpu.ea). */
function ea(i: Insn): string {
  let a = `${i.disp}`;
  if (i.base >= 0) a += ` + r[${i.base}]`;
  if (i.index >= 0) a += ` + (r[${i.index}] << ${i.scale})`;
  return i.ad32 ? `((${a}) >>> 0)` : `((${a}) & 0xffff)`;
}

/** Source of the r/m operand of width w (a read). */
function rmRead(i: Insn, w: number): string {
  return i.hasMem ? memRead(w, i.seg, ea(i)) : reg(i.rm, w);
}

// The memory fast path inline, for bytes and aligned words and dwords: the Cpu's rd/wr/rmw tests
// (segment limits, the TLB entry's rights, a write to a code page) written out over the
// function's locals, with the Cpu's method (which repeats the tests, faults or takes the
// slow path) when any fails. Temporaries o (offset), l (linear), e (TLB entry), p (RAM
// address) are the function's: an instruction has one memory operand.

/** The fast-path test of an access of w bits at segment s, offset expression `addr`, with
 *  the rights `need` ('R' or 'W'); sets p. The segment's base and limits and the rights
 *  needed are the function's locals (sbN, mnN, eRN/eWN, nR/nW: see stateLocals).
 *  The linear page the segment's last write went to (kpN) skips the TLB: its entry had the
 *  rights of a write (those of a read, too) and it was not a code page, and nothing that
 *  could change that has run since (the slow path and handlers forget it: FORGET, stateLocals). */
function fastTest(w: number, s: number, addr: string, need: 'R' | 'W'): string {
  const align = w === 32 ? '(l & 3) === 0 && ' : w === 16 ? '(l & 1) === 0 && ' : '';
  const code = need === 'W' ? ` && cp[p >>> 12] === 0 && (kp${s} = l >>> 12, kq${s} = e & ~0xfff, true)` : '';
  return `(o = ${addr}, l = (sb${s} + o) | 0, ${align}((l >>> 12) === kp${s} ? (p = kq${s} | (l & 0xfff), true) : ` +
    `(e = tlb[l >>> 12], p = (e & ~0xfff) | (l & 0xfff), (e & n${need}) === n${need}${code})) && o >= mn${s} && o + ${w >> 3} <= e${need}${s})`;
}
/** The segment limit tests fastTest writes: the segment (2) and rights (1) of each. */
const LIMIT_TEST = / && o >= mn(\d) && o \+ \d <= e([RW])\d/g;
function ramAt(w: number): string {
  return w === 32 ? 'i32[p >>> 2]' : w === 16 ? 'u16[p >>> 1]' : 'u8[p]';
}
/** A read of w bits (an expression). */
function memRead(w: number, s: number, addr: string): string {
  return `(${fastTest(w, s, addr, 'R')} ? ${ramAt(w)} : (${SYNC}, c.rd${w}(${s}, o)))`;
}
/** A write of w bits of `v` (a statement; v has no side effects and is evaluated once). */
function memWrite(w: number, s: number, addr: string, v: string): string {
  return `if (${fastTest(w, s, addr, 'W')}) ${ramAt(w)} = ${v}; else { ${SYNC}; c.wr${w}(${s}, o, ${v}); }`;
}
/** The read of a read-modify-write (an expression; memCommit writes). */
function memRmw(w: number, s: number, addr: string): string {
  return `(${fastTest(w, s, addr, 'W')} ? ${ramAt(w)} : (p = -1, ${SYNC}, c.rmw${w}(${s}, o)))`;
}
/** The write of a read-modify-write's result x (p: as memRmw left it). */
function memCommit(w: number): string {
  return `if (p >= 0) ${ramAt(w)} = x; else c.commit${w}(x);`;
}

/** The lazy-flag state of an ALU result x of operands a, b (as alu8/16/32), in the
 *  function's locals (fo fa fb fx ft fl: the Cpu's lzOp lzA lzB lzRes lzTop lazy; fd: they
 *  differ from the Cpu's). */
function aluFlags(kind: number, top: number): string {
  return `fo = ${kind}; fa = a; fb = b; fx = x; ft = ${top}; fl = ${ARITH}; fd = true;`;
}
/** CF of the flag locals (as Cpu.getCF; fv: the Cpu's flagsVal). */
const CF_NOW = `((fl & ${CF}) === 0 ? fv & ${CF} : fo === ${LZ_ADD} ? (((fa & fb) | ((fa | fb) & ~fx)) >>> ft) & 1 : ` +
  `fo === ${LZ_SUB} ? (((~fa & fb) | ((~fa | fb) & fx)) >>> ft) & 1 : 0)`;

function aluExpr(op: number, w: number): { expr: string; kind: number } {
  const m = w === 32 ? ' | 0' : w === 16 ? ' & 0xffff' : ' & 0xff';
  switch (op) {
    case 0: return { expr: `(a + b)${m}`, kind: LZ_ADD };
    case 1: return { expr: 'a | b', kind: LZ_LOGIC };
    case 2: return { expr: `(a + b + ${CF_NOW})${m}`, kind: LZ_ADD };
    case 3: return { expr: `(a - b - ${CF_NOW})${m}`, kind: LZ_SUB };
    case 4: return { expr: 'a & b', kind: LZ_LOGIC };
    case 6: return { expr: 'a ^ b', kind: LZ_LOGIC };
    default: return { expr: `(a - b)${m}`, kind: LZ_SUB };
  }
}

function immOf(i: Insn, w: number): string {
  return `${w === 32 ? i.imm | 0 : w === 16 ? i.imm & 0xffff : i.imm & 0xff}`;
}

/**
 * An ALU instruction: destination is the r/m operand ('rm'), the reg operand ('reg') or AL/eAX
 * ('acc'); source b is given.
 */
function alu(i: Insn, op: number, w: number, dst: 'rm' | 'reg' | 'acc', b: string): Piece {
  const { expr, kind } = aluExpr(op, w);
  const top = w - 1;
  const cmp = op === 7;
  // ADC and SBB read CF (and are not kept in fx/fa/fb)
  const sets: Flagged | null = op === 2 || op === 3 ? null : { op: kind === LZ_ADD ? 'add' : kind === LZ_SUB ? 'sub' : 'logic', top };
  if (dst === 'rm' && i.hasMem) {
    const a = cmp ? memRead(w, i.seg, ea(i)) : memRmw(w, i.seg, ea(i));
    const commit = cmp ? '' : ` ${memCommit(w)}`;
    return { kind: Kind.Mem, code: `{ const a = ${a}, b = ${b}; const x = ${expr}; ${aluFlags(kind, top)}${commit} }`, esp: false, sets };
  }
  const dreg = dst === 'rm' ? i.rm : dst === 'reg' ? i.reg : 0;
  const d = reg(dreg, w);
  const store = cmp ? '' : ` ${d} = x;`;
  const mem = dst === 'reg' && i.hasMem;
  const full = !mem && sets !== null;
  return {
    kind: mem ? Kind.Mem : Kind.Pure,
    code: `{ const a = ${d}, b = ${b}; const x = ${expr}; ${aluFlags(kind, top)}${store} }`,
    sets,
    esp: !cmp && writesEsp(dreg, w),
    flags: full ? Flags.Full : Flags.Read,
    // (fx/fa/fb still: the CF an INC/DEC after it keeps may come from them)
    dead: full ? `{ const a = ${d}, b = ${b}; const x = ${expr}; fx = x; fa = a; fb = b;${store} }` : undefined,
  };
}

/** The operand width of a 'v' operand. */
function vw(i: Insn): number {
  return i.op32 ? 32 : 16;
}

/** A direct JMP or CALL in the middle of a block: the interpreter's JMP_ON/CALL_ON inline.
 *  `next` is the address after it; `k` its index. */
function jumpOn(i: Insn, key: string, next: string, k: number): Piece | null {
  if (key !== 'jmp rel8' && key !== 'jmp relv' && key !== 'call relv') return null;
  const raw = `${next} + ${i.imm}`;
  const t = i.op32 ? `(${raw}) >>> 0` : `(${raw}) & 0xffff`;
  const pushed = key === 'call relv' ? ` ${push(vw(i), next)}` : '';
  // a wrap, or the push writing the block's own page, ends the block at the target
  return {
    kind: Kind.On,
    code: `{ const t = ${t};${pushed} ${checkTarget('t')} if (t !== ${raw} || (sy !== 0 && c.blockBreak)) { ic += ${k + 1}; ip = t; return; } }`,
    esp: pushed !== '',
  };
}

/** The inline code of one instruction, or null (it calls its handler). `next` is the
 *  expression of the address after it. */
function inline(i: Insn, key: string, next: string): Piece | null {
  const f = i.form!;
  const m = f.mnemonic;
  const ops = key.slice(m.length + 1);
  const op = ALU.indexOf(m);
  if (op >= 0) {
    switch (ops) {
      case 'rm8,r8': return alu(i, op, 8, 'rm', reg(i.reg, 8));
      case 'rmv,rv': return alu(i, op, vw(i), 'rm', reg(i.reg, vw(i)));
      case 'r8,rm8': return alu(i, op, 8, 'reg', rmRead(i, 8));
      case 'rv,rmv': return alu(i, op, vw(i), 'reg', rmRead(i, vw(i)));
      case 'al,imm8': return alu(i, op, 8, 'acc', immOf(i, 8));
      case 'eAX,immv': return alu(i, op, vw(i), 'acc', immOf(i, vw(i)));
      case 'rm8,imm8': return alu(i, op, 8, 'rm', immOf(i, 8));
      case 'rmv,immv': case 'rmv,simm8': return alu(i, op, vw(i), 'rm', immOf(i, vw(i)));
    }
    return null;
  }
  if ((m === 'shl' || m === 'sal' || m === 'shr' || m === 'sar') && (ops === 'rmv,1' || ops === 'rmv,imm8')) {
    return shift(i, m, ops === 'rmv,1' ? 1 : i.imm & 31, vw(i));
  }
  switch (key) {
    case 'test rm8,r8': return test(i, 8, rmRead(i, 8), reg(i.reg, 8));
    case 'test rmv,rv': return test(i, vw(i), rmRead(i, vw(i)), `r[${i.reg}]`);
    case 'test al,imm8': return test(i, 8, 'r8[0]', immOf(i, 8));
    case 'test eAX,immv': return test(i, vw(i), 'r[0]', `${i.imm}`);
    case 'test rm8,imm8': return test(i, 8, rmRead(i, 8), immOf(i, 8));
    case 'test rmv,immv': return test(i, vw(i), rmRead(i, vw(i)), `${i.imm}`);
    case 'inc rv': case 'dec rv': return incdec(i, m === 'dec', vw(i), reg(i.opReg, vw(i)), i.opReg);
    case 'inc rmv': case 'dec rmv': return incdec(i, m === 'dec', vw(i), null, i.rm);
    case 'inc rm8': case 'dec rm8': return incdec(i, m === 'dec', 8, null, i.rm);
    case 'mov rm8,r8': return mov(i, 8, reg(i.reg, 8));
    case 'mov rmv,rv': return mov(i, vw(i), reg(i.reg, vw(i)));
    case 'mov rm8,imm8': return mov(i, 8, `${i.imm}`);
    case 'mov rmv,immv': return mov(i, vw(i), `${i.imm}`);
    case 'mov r8,rm8': return toReg(i.reg, 8, rmRead(i, 8), i.hasMem);
    case 'mov rv,rmv': return toReg(i.reg, vw(i), rmRead(i, vw(i)), i.hasMem);
    case 'mov r8,imm8': return toReg(i.opReg, 8, `${i.imm}`, false);
    case 'mov rv,immv': return toReg(i.opReg, vw(i), `${i.imm}`, false);
    case 'mov al,moffs8': return toReg(0, 8, memRead(8, i.seg, moffs(i)), true);
    case 'mov eAX,moffsv': return toReg(0, vw(i), memRead(vw(i), i.seg, moffs(i)), true);
    case 'mov moffs8,al': return { kind: Kind.Mem, code: memWrite(8, i.seg, moffs(i), 'r8[0]'), esp: false };
    case 'mov moffsv,eAX': return { kind: Kind.Mem, code: memWrite(vw(i), i.seg, moffs(i), reg(0, vw(i))), esp: false };
    case 'movzx rv,rm8': return toReg(i.reg, vw(i), rmRead(i, 8), i.hasMem);
    case 'movzx rv,rm16': return toReg(i.reg, vw(i), rmRead(i, 16), i.hasMem);
    case 'movsx rv,rm8': return toReg(i.reg, vw(i), `((${rmRead(i, 8)}) << 24) >> 24`, i.hasMem);
    case 'movsx rv,rm16': return toReg(i.reg, vw(i), `((${rmRead(i, 16)}) << 16) >> 16`, i.hasMem);
    case 'lea rv,m': return i.hasMem ? toReg(i.reg, vw(i), ea(i), false) : null;
    case 'nop -': return { kind: Kind.Pure, code: '', esp: false, flags: Flags.None };
    case 'push rv': return { kind: Kind.Mem, code: push(vw(i), reg(i.opReg, vw(i))), esp: true };
    case 'pop rv': return { kind: Kind.Mem, code: pop(vw(i), (v) => `${reg(i.opReg, vw(i))} = ${v};`), esp: true };
    case 'push simm8': case 'push immv': return { kind: Kind.Mem, code: push(vw(i), `${i.op32 ? i.imm | 0 : i.imm}`), esp: true };
    // near branches that end the block (its last instruction)
    case 'jmp rel8': case 'jmp relv': return branch(jump(target(i, next)), false);
    case 'jmp rmv': return branch(jump(i.op32 ? `${rmRead(i, 32)} >>> 0` : rmRead(i, 16)), false);
    case 'call relv': return branch(`{ const t = ${target(i, next)}; ${push(vw(i), next)} ${checkTarget('t')} ip = t; }`, true);
    case 'ret -': return branch(pop(vw(i), (v) => jump(i.op32 ? `${v} >>> 0` : v)), true);
  }
  if (key === 'loop rel8') {
    // the counter is CX or ECX by the address size
    const cx = i.ad32 ? 'r[1]' : 'r16[2]';
    return branch(`{ const x = (${cx} - 1)${i.ad32 ? ' | 0' : ' & 0xffff'}; ${cx} = x; if (x !== 0) ${jump(target(i, next))} else ip = ${next}; }`, false);
  }
  if (m.length <= 3 && m[0] === 'j' && (ops === 'rel8' || ops === 'relv')) {
    const cc = CC.indexOf(m.slice(1));
    // (the test on the Cpu's flags, c.cond, when no flag writer before it in the block is known)
    if (cc >= 0) return { ...branch(`${FLUSH} if (c.cond(${cc})) ${jump(target(i, next))} else ip = ${next};`, false), cc };
  }
  return null;
}

/** SHL/SHR/SAR of a w-bit operand (16 or 32) by a constant 1 to w - 1, with the flags of the
 *  handlers' shl/shr/sar (a count of 0 changes nothing but still accesses memory, a 16-bit
 *  operand's count of 16 or more clears it: left to the handler). */
function shift(i: Insn, m: string, n: number, w: number): Piece | null {
  if (n === 0 || n >= w) return null;
  const t = w - 1;
  const read = i.hasMem ? memRmw(w, i.seg, ea(i)) : reg(i.rm, w);
  const store = i.hasMem ? memCommit(w) : `${reg(i.rm, w)} = x;`;
  // (a 16-bit operand is read unsigned, a 32-bit one signed)
  let calc: string;
  if (m === 'shr') calc = `const cf = (v >>> ${n - 1}) & 1; const x = (v >>> ${n}) & -1; ${resultFlags(n === 1 ? `(v >>> ${t}) & 1` : '0', t)}`;
  else if (m === 'sar') {
    const sv = w === 32 ? 'v' : '((v << 16) >> 16)';
    calc = `const cf = (${sv} >> ${n - 1}) & 1; const x = (${sv} >> ${n})${w === 16 ? ' & 0xffff' : ''}; ${resultFlags('0', t)}`;
  } else calc = `const cf = (v >>> ${w - n}) & 1; const x = (v << ${n})${w === 16 ? ' & 0xffff' : ''}; ${resultFlags(`((x >>> ${t}) ^ cf) & 1`, t)}`;
  return { kind: i.hasMem ? Kind.Mem : Kind.Pure, code: `{ const v = ${read}; ${calc} ${store} }`, esp: !i.hasMem && writesEsp(i.rm, w), sets: { op: 'result', top: t } };
}
/** The flags of a shift's result x (top bit t), its CF cf and OF `of` (as Cpu.setResultFlags). */
function resultFlags(of: string, t: number): string {
  return `fo = ${LZ_LOGIC}; fx = x; ft = ${t}; fl = ${SF | ZF | PF}; fv = (fv & ${~(CF | OF | AF | SF | ZF | PF)}) | cf | ((${of}) << 11); fd = true;`;
}

// PUSH and POP: through the inline memory fast path (ESP changed after the access, as
// c.push16/push32/pop16/pop32 do), but a dword on a 16-bit stack: the Cpu's methods, which
// use c.regs (so registers kept in locals are stored around them).

/** The test of a 32-bit stack (local big: c.ssBig) before an inline push or pop. */
const IF_BIG = 'if (big)';
/** Pushes `v` (an expression without side effects) of w bits. */
function push(w: number, v: string): string {
  const small = w === 16 ? `{ const sp = (r[${ESP}] - 2) & 0xffff; ${memWrite(16, SS, 'sp', v)} r[${ESP}] = (r[${ESP}] & ~0xffff) | sp; }`
    : `{ ${SYNC}; ${SAVE} c.push32(${v}); ${LOAD} }`;
  return `${IF_BIG} { const sp = (r[${ESP}] - ${w >> 3}) >>> 0; ${memWrite(w, SS, 'sp', v)} r[${ESP}] = sp | 0; } else ${small}`;
}
/** Pops w bits into v and runs `use(v)`. */
function pop(w: number, use: (v: string) => string): string {
  const small = w === 16 ? `{ const sp = r[${ESP}] & 0xffff; v = ${memRead(16, SS, 'sp')}; r[${ESP}] = (r[${ESP}] & ~0xffff) | ((sp + 2) & 0xffff); }`
    : `{ ${SYNC}; ${SAVE} v = c.pop32(); ${LOAD} }`;
  return `{ let v = 0; ${IF_BIG} { const sp = r[${ESP}] >>> 0; v = ${memRead(w, SS, 'sp')}; r[${ESP}] = (sp + ${w >> 3}) | 0; } else ${small} ${use('v')} }`;
}

function branch(code: string, esp: boolean): Piece {
  return { kind: Kind.Branch, code, esp };
}
/** The CS limit test of a near branch's target t (as Cpu.jumpNear; ce: the CS limit). */
function checkTarget(t: string): string {
  return `if (${t} >= ce) c.gp(0);`;
}
/** A near branch to t: the EIP the function goes on at (ip). */
function jump(t: string): string {
  return `{ const t = ${t}; ${checkTarget('t')} ip = t; }`;
}
/** A near branch's target: the address after it plus the displacement, at operand size. */
function target(i: Insn, next: string): string {
  return i.op32 ? `(${next} + ${i.imm}) >>> 0` : `(${next} + ${i.imm}) & 0xffff`;
}
function moffs(i: Insn): string {
  return `${i.ad32 ? i.imm >>> 0 : i.imm & 0xffff}`;
}
function toReg(n: number, w: number, v: string, mem: boolean): Piece {
  // (as an Int32Array element: immediates and LEA are unsigned, a register in a local must not be)
  const val = w === 32 ? `(${v}) | 0` : v;
  return { kind: mem ? Kind.Mem : Kind.Pure, code: `${reg(n, w)} = ${val};`, esp: writesEsp(n, w), flags: mem ? Flags.Read : Flags.None };
}
function mov(i: Insn, w: number, v: string): Piece {
  if (i.hasMem) return { kind: Kind.Mem, code: memWrite(w, i.seg, ea(i), v), esp: false };
  return toReg(i.rm, w, v, false);
}
function test(i: Insn, w: number, a: string, b: string): Piece {
  // as the handlers' logicFlags: lzA/lzB are left alone
  const x = w === 16 ? `(${a}) & (${b}) & 0xffff` : `(${a}) & (${b})`;
  return {
    kind: i.hasMem ? Kind.Mem : Kind.Pure,
    code: `{ const x = ${x}; fo = ${LZ_LOGIC}; fx = x; ft = ${w - 1}; fl = ${ARITH}; fd = true; }`,
    esp: false,
    sets: { op: 'logic', top: w - 1 },
    flags: i.hasMem ? Flags.Read : Flags.Logic,
    dead: i.hasMem ? undefined : '',
  };
}
/** INC/DEC's CF: made concrete (in fv) from the flags before it (blockBody puts the test on a
 *  known flag writer in its place). */
const KEEP_CF = `fv = (fv & ${~CF}) | ${CF_NOW}; fd = true;`;
/** INC/DEC: CF kept (materialised after the read, as the handlers' incdec), the rest lazy. `src` is a
 *  register expression, or null for the r/m operand n. */
function incdec(i: Insn, dec: boolean, w: number, src: string | null, n: number): Piece {
  const mem = src === null && i.hasMem;
  const read = mem ? memRmw(w, i.seg, ea(i)) : src ?? reg(n, w);
  const r = w === 32 ? `(v ${dec ? '-' : '+'} 1) | 0` : `(v ${dec ? '-' : '+'} 1) & ${(1 << w) - 1}`;
  const store = mem ? memCommit(w) : `${src ?? reg(n, w)} = x;`;
  return {
    kind: mem ? Kind.Mem : Kind.Pure,
    code: `{ const v = ${read}; ${KEEP_CF} const x = ${r}; fo = ${dec ? LZ_SUB : LZ_ADD}; ` +
      `fa = v; fb = 1; fx = x; ft = ${w - 1}; fl = ${ARITH & ~CF}; fd = true; ${store} }`,
    dead: `{ const v = ${read}; ${KEEP_CF} const x = ${r}; fx = x; ${store} }`,
    esp: !mem && writesEsp(n, w),
    sets: { op: 'result', top: w - 1 },
    keepsCF: true,
  };
}

/** `mnemonic operands` of each form, by form id. */
const KEYS: string[] = [];
function formKey(i: Insn): string {
  const f = i.form!;
  let k = KEYS[f.id];
  if (k === undefined) k = KEYS[f.id] = `${f.mnemonic} ${f.operands.length ? f.operands.join(',') : '-'}`;
  return k;
}

/**
 * The dead-flags pass: which register-only instructions write flags that no one sees (the
 * next instructions overwrite them before anything reads them, faults or leaves the
 * block) and so need only their result. Two kinds of liveness, backwards from the block's
 * exit (where all is live): lzOp/lzRes/lzTop/lazy (overwritten by TEST and the ALU forms)
 * and lzA/lzB (by the ALU forms only; TEST leaves them), so that the CPU's lazy-flag
 * fields, not only the flags, end as the interpreter leaves them.
 */
function deadFlags(flags: readonly Flags[]): boolean[] {
  const dead = flags.map(() => false);
  let live = true, liveAB = true;
  for (let k = flags.length - 1; k >= 0; k--) {
    const f = flags[k];
    if (f === Flags.Full) {
      dead[k] = !live && !liveAB;
      live = liveAB = false;
    } else if (f === Flags.Logic) {
      dead[k] = !live;
      live = false;
    } else if (f === Flags.Read) live = liveAB = true;
  }
  return dead;
}

/** Where each of a block's first n instructions is: offs[k] is instruction k's offset from
 *  the block's start (offs[n]: where the block goes on), after[k] of the byte after it, on[k]
 *  whether it is a direct JMP/CALL the block goes on through. A direct JMP/CALL that is not
 *  the last instruction is one (every other branch ends a block): the next instruction is at
 *  its target, which Cpu.buildBlock took only when reached without wrapping IP. */
function layout(insns: readonly Insn[], n: number): { offs: Int32Array; after: Int32Array; on: boolean[] } {
  const offs = new Int32Array(n + 1), after = new Int32Array(n), on: boolean[] = [];
  for (let k = 0; k < n; k++) {
    const i = insns[k];
    after[k] = offs[k] + i.length;
    on.push(k < n - 1 && i.form !== null && !i.lock && THROUGH_KEYS.includes(formKey(i)));
    offs[k + 1] = on[k] ? after[k] + i.imm : after[k];
  }
  return { offs, after, on };
}
const THROUGH_KEYS = ['jmp rel8', 'jmp relv', 'call relv'];

/**
 * The code of a block of n instructions that starts at E + d (E: the function's entry EIP),
 * its instructions numbered from g in the function's arrays (h, ins, offs): the statements
 * of its instructions with their bookkeeping (see the contract at the top). `ic` holds the
 * instruction count at the block's start; at its end it is the count after it, and ip the
 * EIP it goes on at.
 */
function blockBody(insns: readonly Insn[], n: number, d: number, g: number): { body: string; offsets: Int32Array } {
  const { offs, after, on } = layout(insns, n);
  const pieces: (Piece | null)[] = [];
  for (let k = 0; k < n; k++) {
    const i = insns[k];
    const next = `E + ${d + after[k]}`;
    pieces.push(i.form === null || i.lock ? null : (on[k] ? jumpOn(i, formKey(i), next, k) : null) ?? inline(i, formKey(i), next));
  }
  const out: string[] = [];
  // se (ESP at the start of the instruction, for a fault) is stale
  let espDirty = true;
  let ended = false;
  // before[k]: what the flags before instruction k are made of, when an instruction of this
  // block set them last (in fx/fa/fb)
  const before: (Flagged | null)[] = [];
  let last: Flagged | null = null;
  for (const p of pieces) {
    before.push(last);
    if (p === null) last = null;
    else if (p.sets !== undefined) last = p.sets;
  }
  const known = (k: number) => before[k] !== null && before[k]!.op !== 'result';
  const dead = deadFlags(pieces.map((p, k) => (p === null || p.kind !== Kind.Pure ? Flags.Read : p.keepsCF && known(k) ? Flags.Full : p.flags ?? Flags.Read)));
  for (let k = 0; k < n; k++) {
    const next = `E + ${d + after[k]}`;
    const p = pieces[k];
    const kind = p === null ? Kind.Call : p.kind;
    if (kind !== Kind.Pure) {
      // what a fault needs: the instruction's index, ESP at its start
      out.push(`k = ${g + k};${espDirty ? ` se = r[${ESP}];` : ''}`);
      espDirty = false;
    }
    if (p === null) {
      // a handler: it sees the Cpu's state exact, and may change any of it
      out.push(`c.eip = ${next}; c.icount = ic + ${k}; c.startEsp = se; ${FLUSH} ${SAVE} h[${g + k}](c, I${g + k}); ${LOAD} ${RELOAD} ip = c.eip; sy = 1;`);
      out.push(`if (c.blockBreak${STILL_FLAT}) { ic += ${k + 1}; return; }`);
      espDirty = true;
      if (k === n - 1) ended = true;
      continue;
    }
    let code = (dead[k] ? p.dead! : p.code).replaceAll(SYNC, `sy = 1, c.icount = ic + ${k}, c.startEsp = se${FORGET}`);
    const flagged = before[k];
    if (flagged !== null && p.cc !== undefined) {
      const test = condition(p.cc, flagged);
      if (test !== null) code = code.replace(`${FLUSH} if (c.cond(${p.cc}))`, `if (${test})`);
    }
    if (flagged !== null && known(k)) {
      // INC/DEC keep CF: known here
      code = code.replace(KEEP_CF, `fv = (fv & ${~CF}) | (${condition(2, flagged)} ? 1 : 0);`);
    }
    out.push(code);
    if (p.esp) espDirty = true;
    if (kind === Kind.Branch) {
      ended = true;
      break;
    }
    // (only the slow path, which sets sy, can end the block)
    if (kind === Kind.Mem) out.push(`if (sy !== 0 && c.blockBreak) { ic += ${k + 1}; ip = ${next}; return; }`);
  }
  out.push(`ic += ${n};`);
  if (!ended) out.push(`ip = E + ${d + offs[n]};`);
  return { body: out.join('\n'), offsets: offs };
}

/** The test of condition code cc (c.cond) on the flags `f` describes, or null. */
function condition(cc: number, f: Flagged): string | null {
  const t = f.top;
  const signed = (v: string) => (t === 31 ? `(${v} | 0)` : `((${v} << ${31 - t}) >> ${31 - t})`);
  const unsigned = (v: string) => (t === 31 ? `(${v} >>> 0)` : v);
  const z = 'fx === 0';
  const s = t === 31 ? '(fx | 0) < 0' : `(fx & ${1 << t}) !== 0`;
  // CF, and SF != OF
  let cf: string | null = null, lt: string | null = null;
  if (f.op === 'sub') {
    cf = `${unsigned('fa')} < ${unsigned('fb')}`;
    lt = `${signed('fa')} < ${signed('fb')}`;
  } else if (f.op === 'add') cf = `${unsigned('fx')} < ${unsigned('fa')}`;
  else if (f.op === 'logic') {
    cf = 'false';
    lt = s;
  }
  let r: string | null;
  switch (cc >> 1) {
    case 1: r = cf; break;
    case 2: r = z; break;
    case 3: r = cf === null ? null : `${cf} || ${z}`; break;
    case 4: r = s; break;
    case 6: r = lt; break;
    case 7: r = lt === null ? null : `${lt} || ${z}`; break;
    default: r = null;
  }
  return r === null ? null : (cc & 1) === 0 ? `(${r})` : `!(${r})`;
}


/** The registers a region's code can keep in JS locals: those it reads and writes only whole
 *  (r[n], not through r8/r16; the Cpu's methods that use c.regs are called between SAVE and
 *  LOAD). */
function localRegisters(code: string): number[] {
  const regs = new Set<number>();
  for (const m of code.matchAll(/\br\[(\d)\]/g)) regs.add(+m[1]);
  for (const m of code.matchAll(/\br8\[(\d+)\]/g)) regs.delete(+m[1] >> 2);
  for (const m of code.matchAll(/\br16\[(\d+)\]/g)) regs.delete(+m[1] >> 1);
  return [...regs].sort();
}

/** The Cpu state the function keeps in locals, by the name of the local: loaded at entry and
 *  after each handler call (which may change it). A segment's base, limits (offsets below
 *  mnN or from eRN/eWN on are out) and the TLB rights an access needs; the stack's size;
 *  the CS limit. */
function stateLocals(body: string): string[] {
  const locals: string[] = [];
  for (let s = 0; s < 6; s++) {
    if (!body.includes(`sb${s} +`)) continue;
    locals.push(`sb${s} = c.segBase[${s}]`, `kp${s} = -1`, `kq${s} = 0`);
    if (body.includes(`mn${s}`)) locals.push(`mn${s} = c.segMin[${s}]`);
    if (body.includes(`eR${s}`)) locals.push(`eR${s} = c.segEndR[${s}]`);
    if (body.includes(`eW${s}`)) locals.push(`eW${s} = c.segEndW[${s}]`);
  }
  if (body.includes('nR')) locals.push('nR = c.needR');
  if (body.includes('nW')) locals.push('nW = c.needW');
  if (body.includes(IF_BIG)) locals.push('big = c.ssBig');
  locals.push('ce = c.csEnd');
  return locals;
}
/** The lazy flags in locals (see aluFlags; fv: c.flagsVal), loaded at entry and after a
 *  handler call, stored where the Cpu's may be read (FLUSH) and on the way out. */
const FLAG_LOCALS = 'fo = c.lzOp, fa = c.lzA, fb = c.lzB, fx = c.lzRes, ft = c.lzTop, fl = c.lazy, fv = c.flagsVal';
const FLAG_STORE = 'if (fd) { c.lzOp = fo; c.lzA = fa; c.lzB = fb; c.lzRes = fx; c.lzTop = ft; c.lazy = fl; c.flagsVal = fv; fd = false; }';
// After a handler call: the Cpu state kept in locals, loaded again
const RELOAD = '/*reload*/';
// After a handler call, in a function without segment limit tests: the test that its
// segments are still flat (or it returns)
const STILL_FLAT = '/*flat*/';

/** What the limit tests of a region's code test: the segments (and the rights: 'R', 'W') of
 *  its accesses, and whether it pushes or pops inline (the stack's size). */
export interface FlatTests {
  big: boolean;
  segs: [number, 'R' | 'W'][];
}
function flatTests(body: string): FlatTests | null {
  const segs = new Map<string, [number, 'R' | 'W']>();
  for (const [, s, need] of body.matchAll(LIMIT_TEST)) segs.set(s + need, [+s, need as 'R' | 'W']);
  const big = body.includes(IF_BIG);
  return big || segs.size > 0 ? { big, segs: [...segs.values()] } : null;
}
/** The test that the segments and rights of the limit tests `t` are flat: base a multiple
 *  of 4, offsets 0 to 2^32 valid, so that no byte or aligned word or dword access (what the
 *  fast path takes) can be out of the limits (an aligned linear address is then an aligned
 *  offset, at most 2^32 minus its size); and the stack 32-bit when the code pushes or pops
 *  inline (the 16-bit stack's path is left out too). */
function flatTest(t: FlatTests): string {
  const tests = new Set<string>();
  if (t.big) tests.add('c.ssBig');
  for (const [s, need] of t.segs) {
    tests.add(`c.segMin[${s}] === 0 && (c.segBase[${s}] & 3) === 0`);
    tests.add(`c.segEnd${need}[${s}] === ${2 ** 32}`);
  }
  return [...tests].join(' && ');
}
/** flatTest on the Cpu `c` now. */
export function isFlat(c: Cpu, t: FlatTests): boolean {
  if (t.big && !c.ssBig) return false;
  for (const [s, need] of t.segs) {
    if (c.segMin[s] !== 0 || (c.segBase[s] & 3) !== 0 || (need === 'R' ? c.segEndR : c.segEndW)[s] !== 2 ** 32) return false;
  }
  return true;
}

/** The declarations a function body needs: the Insns of its handler calls (of the ins.length
 *  it has), the Cpu's views it reads, and the memory fast path's temporaries. */
function declarations(body: string, count: number): { consts: string; views: string[]; temps: string } {
  const consts: string[] = [];
  // (I, not i: i32 is a view)
  for (let k = 0; k < count; k++) if (body.includes(`, I${k})`)) consts.push(`I${k} = ins[${k}]`);
  const views = ['r = c.regs', 'r16 = c.r16', 'r8 = c.r8', 'u8 = c.u8', 'u16 = c.u16', 'i32 = c.i32', 'tlb = c.tlb', 'cp = c.codePage']
    .filter((v) => body.includes(`${v.slice(0, v.indexOf(' '))}[`));
  return {
    consts: consts.length ? `const ${consts.join(', ')};\n` : '',
    views,
    temps: body.includes('(o = ') ? ', o = 0, l = 0, e = 0, p = 0' : '',
  };
}

/** The function body of a block of n instructions alone (a region of one block). */
export function blockSource(insns: readonly Insn[], n: number): { source: string; offsets: Int32Array; inBlock: Int32Array } {
  return regionSource(regionCases([{ insns, fns: [], n, d: 0 }]), false);
}

/** A block of a region: its first n instructions, at offset d from the region's entry. */
export interface RegionBlock {
  insns: readonly Insn[];
  fns: readonly Handler[];
  n: number;
  d: number;
}

/** A region's blocks as the cases of its function (with the segment limit tests) and where
 *  its instructions are (regionSource makes its function of either variant). */
export interface RegionCases {
  limited: string;
  offsets: Int32Array;
  inBlock: Int32Array;
  /** the region's extent from E (its CS limit test) */
  hi: number;
  total: number;
  /** what the limit tests test; null: there are none (both variants are the same) */
  tests: FlatTests | null;
}
export function regionCases(blocks: readonly RegionBlock[]): RegionCases {
  const total = blocks.reduce((t, b) => t + b.n, 0);
  const offsets = new Int32Array(total), inBlock = new Int32Array(total);
  const cases: string[] = [];
  let g = 0, hi = 0;
  for (const b of blocks) {
    const { body, offsets: offs } = blockBody(b.insns, b.n, b.d, g);
    for (let k = 0; k < b.n; k++) {
      offsets[g + k] = b.d + offs[k];
      inBlock[g + k] = k;
      hi = Math.max(hi, b.d + offs[k] + b.insns[k].length);
    }
    cases.push(`case ${b.d}: {\nif (ic + ${b.n} > end) return;\n${body}\nbreak; }`);
    g += b.n;
  }
  const limited = cases.join('\n');
  return { limited, offsets, inBlock, hi, total, tests: flatTests(limited) };
}

/**
 * The function body of a region: blocks[0] (its entry, at E) and the blocks the code may go
 * on to in the same page, one `case` each of a loop over the EIP's offset from E. It keeps
 * the block contract for each block, and runs the next only while the chain would: no block
 * asked to leave (c.blockBreak), the block links' epoch (c.chainEpoch: CS, CPL and the TLB)
 * and the page's code generation are as at entry (only a handler or the slow memory path,
 * which set sy, can change those), no interrupt is pending, the next block is one of the
 * region's and fits the budget `end` whole (so icount, and the count an interrupt is taken
 * at, are the interpreter's). It goes beyond the entry only when every block is within the
 * CS limit.
 *
 * The registers it uses whole, the lazy flags, icount (ic), EIP (ip) and the segment state
 * its memory accesses test are JS locals; the Cpu's copies are exact where something can
 * see them (handler calls, the slow memory path, a fault, the way out: the finally).
 *
 * `flat`: the function leaves out the segment limit tests (and the 16-bit stack's path of its
 * pushes and pops). It runs only while the segments
 * they test are flat (flatTest): at entry it calls the function with them (made by its
 * factory's `full`) when they are not, and after a handler call it returns (c.eip after the
 * instruction, as for c.blockBreak) when they are no longer.
 */
export function regionSource(rc: RegionCases, flat: boolean): { source: string; offsets: Int32Array; inBlock: Int32Array } {
  const { limited, offsets, inBlock, hi, total } = rc;
  const flatIf = flat && rc.tests !== null ? flatTest(rc.tests) : null;
  const marked = flatIf === null ? limited.replaceAll(STILL_FLAT, '')
    : limited.replace(LIMIT_TEST, '').replaceAll(IF_BIG, 'if (true)').replaceAll(STILL_FLAT, ` || !(${flatIf})`);
  const { consts, views, temps } = declarations(marked, total);
  // registers in locals: loaded at entry, stored around handler calls and on every way out
  // but a fault in a handler (which may have changed c.regs: a REP MOVS stopped half-way):
  // `out` says c.regs holds them
  const regs = localRegisters(marked);
  // (a register the code only reads is always as in c.regs: not stored)
  const save = regs.filter((n) => new RegExp(`\\br\\[${n}\\] = `).test(marked)).map((n) => `r[${n}] = r${n};`).join(' ');
  const load = regs.map((n) => `r${n} = r[${n}];`).join(' ');
  const state = stateLocals(marked);
  const all = marked.replace(/\br\[(\d)\]/g, (m, n) => (regs.includes(+n) ? `r${n}` : m))
    .replaceAll(SAVE, `${save} out = true;`).replaceAll(LOAD, `${load} out = false;`)
    .replaceAll(FLUSH, FLAG_STORE)
    .replaceAll(FORGET, state.filter((v) => v.startsWith('kp')).map((v) => `, ${v}`).join(''))
    .replaceAll(RELOAD, `${[...state, FLAG_LOCALS].join('; ')};`);
  const locals = regs.map((n) => `, r${n} = r[${n}]`).join('');
  const source =
    `${consts}${flatIf === null ? '' : 'let limited = null;\n'}return function region(c, E, end) {\n` +
    `const ${[...views, 'cg = c.mem.codeGen', 'P = c.curPage', 'G = c.curPageGen', 'ep = c.chainEpoch', `lim = E + ${hi} <= c.csEnd`, 'irq = c.irq'].join(', ')};\n` +
    (flatIf === null ? '' : `if (!(${flatIf})) return (limited ??= full())(c, E, end);\n`) +
    `let k = 0, ic = c.icount, ip = E, d = 0, sy = 0, se = 0, out = false, fd = false, ${[...state, FLAG_LOCALS].join(', ')}${temps}${locals};\n` +
    `try {\nfor (;;) {\nswitch (d) {\n${all}\ndefault: return;\n}\n` +
    `if (!lim || (sy !== 0 && (sy = 0, c.blockBreak || c.chainEpoch !== ep || cg[P] !== G)) || ` +
    `((fv & ${IF}) !== 0 && irq !== null && (c.icount = ic, irq.hasInterrupt()))) return;\n` +
    'd = ip - E;\n}\n} catch (err) { c.curEip = E + offs[k]; ic += kin[k]; if (!out) c.startEsp = se; throw err; }' +
    ` finally { c.icount = ic; c.eip = ip; ${FLAG_STORE}${save ? ` if (!out) { ${save} }` : ''} }\n};`;
  return { source, offsets, inBlock };
}

/** The offsets (from the block's start) the block may go on at, known from its code: where it
 *  ends, a near branch's target, and the return address of each CALL in it. */
export function blockExits(insns: readonly Insn[], n: number): number[] {
  const { offs, after } = layout(insns, n);
  const exits = [offs[n]];
  for (let k = 0; k < n; k++) {
    const f = insns[k].form;
    if (f !== null && f.mnemonic === 'call' && f.operands[0] === 'relv') exits.push(after[k]);
  }
  const last = insns[n - 1];
  const f = last.form;
  if (f !== null && (f.operands[0] === 'rel8' || f.operands[0] === 'relv')) {
    // (rel8 is sign-extended, relv is not)
    exits.push(after[n - 1] + (last.op32 ? last.imm | 0 : (last.imm << 16) >> 16));
  }
  return exits;
}

/** Functions made with `new Function` (block and region factories), and region functions
 *  made by them (compileRegion), ever (for tests). */
export const compilerStats = { functions: 0, regionFunctions: 0 };

/** Compiled factories by source: identical blocks (the same code at another address, or
 *  rebuilt after an invalidation that did not change them) share one V8 function. */
const factories = new Map<string, Factory>();
/** The same, by the Insn fields the source is made of (blockKey): a block decoded again
 *  (a copy-on-write copy of a code page, a page written and rebuilt) finds its factory
 *  without building the source, which costs far more than the key. */
const byKey = new Map<string, Compiled>();
const FACTORY_MAX = 8192;
/** The same for regions, by their key alone (a region's source is its key's and can be tens
 *  of KB: fewer of them are kept) */
const regions = new Map<string, RegionEntry>();
const REGION_FACTORY_MAX = 256;

/** A factory and the arrays its functions take: the offset of each instruction from the
 *  function's entry, and (regions) its index in its block. */
interface Compiled {
  f: Factory;
  offsets: Int32Array;
  inBlock: Int32Array;
}

/** The compiled factory of the block source `build` makes, found by `key` when it can be. */
function factoryFor(key: string, build: () => { source: string; offsets: Int32Array; inBlock: Int32Array }): Compiled {
  let entry = byKey.get(key);
  if (entry === undefined) {
    const { source, offsets, inBlock } = build();
    let f = factories.get(source);
    if (f === undefined) {
      if (factories.size >= FACTORY_MAX) factories.clear();
      f = new Function('h', 'ins', 'offs', 'kin', 'full', source) as Factory;
      compilerStats.functions++;
      factories.set(source, f);
    }
    if (byKey.size >= FACTORY_MAX) byKey.clear();
    entry = { f, offsets, inBlock };
    byKey.set(key, entry);
  }
  return entry;
}

/** Every Insn field blockSource reads, for the first n instructions: equal keys give equal
 *  sources. */
export function blockKey(insns: readonly Insn[], n: number): string {
  let k = '';
  for (let j = 0; j < n; j++) {
    const i = insns[j];
    k += `${i.form === null ? -1 : i.form.id},${i.length},${+i.lock}${+i.op32}${+i.ad32}${+i.hasMem},${i.reg},${i.rm},${i.opReg},` +
      `${i.seg},${i.base},${i.index},${i.scale},${i.disp},${i.imm};`;
  }
  return k;
}

/** Compiles the first n instructions of a block. */
export function compileBlock(insns: readonly Insn[], fns: readonly Handler[], n: number): CompiledBlock {
  const { f, offsets, inBlock } = factoryFor(blockKey(insns, n), () => blockSource(insns, n));
  // the handlers and Insns as they are now: a block that is rebuilt drops this function
  return f(fns.slice(0, n), insns.slice(0, n), offsets, inBlock, noFull);
}
/** (a block alone keeps its limit tests: it has no other function to call) */
const noFull = (): CompiledBlock => {
  throw new Error('a block has no variant');
};

/** Compiles a region (regionSource): one variant only, the one the segments at `c` need now
 *  (V8 compiles every function it runs, and a region's is big): without the segment limit
 *  tests when they are flat (the function then makes the one with them the first time it
 *  runs with a segment that is not), else with them (which stays right, if slower, should
 *  they become flat). Its Insns are copies (and a later variant is made from them): a block
 *  of the region other than its entry may be rebuilt (its Insns decoded again) while the
 *  region lives.
 *
 *  A region compiled before with the same variant, Insns (every field: the handlers it calls
 *  may read any) and handlers is that function again, whichever Cpu compiled it (it keeps no
 *  state between calls): V8 optimises each function object on its own, and every new machine
 *  in a process (the tests, the web page's reset, the bench) had its regions compiled by
 *  TurboFan again, running them in V8's slower tiers meanwhile. */
export function compileRegion(blocks: readonly RegionBlock[], c: Cpu): CompiledBlock {
  const key = blocks.map((b) => `${b.d}: ${blockKey(b.insns, b.n)}`).join(' ');
  const entry = regionEntry(key, blocks);
  const flat = entry.cases.tests !== null && isFlat(c, entry.cases.tests);
  const exact = `${+flat} ${key} | ${blocks.map((b) => exactKey(b.insns, b.fns, b.n)).join(' | ')}`;
  let fn = regionFunctions.get(exact);
  if (fn === undefined) {
    const copies = blocks.map((b) => ({ ...b, insns: b.insns.slice(0, b.n).map((i) => Object.assign(new Insn(), i)), fns: b.fns.slice(0, b.n) }));
    const fns = copies.flatMap((b) => b.fns);
    const insns = copies.flatMap((b) => b.insns);
    const make = (flat: boolean): CompiledBlock => {
      const { f, offsets, inBlock } = (entry.variants[+flat] ??= regionFactory(regionSource(entry.cases, flat)));
      return f(fns, insns, offsets, inBlock, () => make(false));
    };
    fn = make(flat);
    compilerStats.regionFunctions++;
    if (regionFunctions.size >= REGION_FUNCTION_MAX) regionFunctions.clear();
    regionFunctions.set(exact, fn);
  }
  return fn;
}
/** The compiled regions by variant, Insns and handlers (compileRegion). */
const regionFunctions = new Map<string, CompiledBlock>();
const REGION_FUNCTION_MAX = 1024;

/** Every field of an Insn. */
const INSN_FIELDS = Object.keys(new Insn()) as (keyof Insn)[];
/** A number for each handler a compiled region calls (weakly held: specialised handlers
 *  may be made per instruction). */
const handlerIds = new WeakMap<Handler, number>();
let handlersSeen = 0;
/** Every field of the first n Insns, and their handlers. */
function exactKey(insns: readonly Insn[], fns: readonly Handler[], n: number): string {
  let k = '';
  for (let j = 0; j < n; j++) {
    const i = insns[j];
    for (const f of INSN_FIELDS) {
      const v = i[f];
      k += `${typeof v === 'object' && v !== null ? v.id : v},`;
    }
    let id = handlerIds.get(fns[j]);
    if (id === undefined) handlerIds.set(fns[j], (id = handlersSeen++));
    k += `h${id};`;
  }
  return k;
}
interface RegionEntry {
  cases: RegionCases;
  /** the compiled variants: [with the limit tests, without] */
  variants: (Compiled | undefined)[];
}
/** The region of `key` (its cases, and the variants compiled so far). */
function regionEntry(key: string, blocks: readonly RegionBlock[]): RegionEntry {
  let entry = regions.get(key);
  if (entry === undefined) {
    if (regions.size >= REGION_FACTORY_MAX) regions.clear();
    entry = { cases: regionCases(blocks), variants: [] };
    regions.set(key, entry);
  }
  return entry;
}
function regionFactory({ source, offsets, inBlock }: { source: string; offsets: Int32Array; inBlock: Int32Array }): Compiled {
  compilerStats.functions++;
  return { f: new Function('h', 'ins', 'offs', 'kin', 'full', source) as Factory, offsets, inBlock };
}
