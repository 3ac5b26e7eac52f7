// Instruction semantics: one handler per opcode-table form (indexed by Form.id). A handler
// runs with c.eip already pointing after the instruction (c.insnStart(i) is its start).
//
// Undefined flags: see the header of cpu.ts for the values this CPU chooses.

import type { Cpu } from './cpu';
import type { Insn } from './decoder';
import { FORMS, type Form } from './opcodes';
import {
  EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, ES, CS, SS, DS, CF, PF, AF, ZF, SF, TF, IF, DF, OF,
  NT, VM, ARITH, LZ_ADD, LZ_SUB, LZ_LOGIC, CR0_EM, CR0_TS, CR0_MP, CR0_PE, DE, UD, NM, BR, GP,
} from './consts';
import { v86IoplCheck } from './v86';
import { farCall, farJump, farRet } from './far-transfer';
import { iret } from './interrupts';
import { lar, lldt, lsl, ltr, verify } from './descriptor-insns';
import { checkGeneralDetect } from './debug-traps';

export type Handler = (c: Cpu, i: Insn) => void;

/** Byte register n (AL CL DL BL AH CH DH BH) → index into the Uint8Array view of regs. */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);
/** Forms that do port I/O (they end a decoded block so device interrupts are seen). */
export const IO_FORM = new Uint8Array(FORMS.length);

const REP_CHUNK = 4096;

// ---------------------------------------------------------------------------------------
// operand helpers

function rm8(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rd8(i.seg, c.ea(i)) : c.r8[R8[i.rm]];
}
function rm16(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rd16(i.seg, c.ea(i)) : c.r16[i.rm << 1];
}
function rm32(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rd32(i.seg, c.ea(i)) : c.regs[i.rm];
}
function setRm8(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.wr8(i.seg, c.ea(i), v);
  else c.r8[R8[i.rm]] = v;
}
function setRm16(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.wr16(i.seg, c.ea(i), v);
  else c.r16[i.rm << 1] = v;
}
function setRm32(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.wr32(i.seg, c.ea(i), v);
  else c.regs[i.rm] = v;
}
/** Read for read-modify-write (commit with commitRm*). */
function rmwRm8(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rmw8(i.seg, c.ea(i)) : c.r8[R8[i.rm]];
}
function rmwRm16(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rmw16(i.seg, c.ea(i)) : c.r16[i.rm << 1];
}
function rmwRm32(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rmw32(i.seg, c.ea(i)) : c.regs[i.rm];
}
function commitRm8(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.commit8(v);
  else c.r8[R8[i.rm]] = v;
}
function commitRm16(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.commit16(v);
  else c.r16[i.rm << 1] = v;
}
function commitRm32(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.commit32(v);
  else c.regs[i.rm] = v;
}

function setFlag(c: Cpu, bit: number, on: boolean | number): void {
  c.materialize(bit);
  if (on) c.flagsVal |= bit;
  else c.flagsVal &= ~bit;
}

function pushV(c: Cpu, i: Insn, v: number): void {
  if (i.op32) c.push32(v);
  else c.push16(v);
}
function popV(c: Cpu, i: Insn): number {
  return i.op32 ? c.pop32() : c.pop16();
}

function nextIp(c: Cpu, i: Insn, rel: number): number {
  return i.op32 ? (c.eip + rel) >>> 0 : (c.eip + rel) & 0xffff;
}

// ---------------------------------------------------------------------------------------
// ALU

export function alu8(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case 0: r = (a + b) & 0xff; k = LZ_ADD; break;
    case 1: r = a | b; k = LZ_LOGIC; break;
    case 2: r = (a + b + c.getCF()) & 0xff; k = LZ_ADD; break;
    case 3: r = (a - b - c.getCF()) & 0xff; k = LZ_SUB; break;
    case 4: r = a & b; k = LZ_LOGIC; break;
    case 6: r = a ^ b; k = LZ_LOGIC; break;
    default: r = (a - b) & 0xff; k = LZ_SUB; break;
  }
  c.lzOp = k;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzTop = 7;
  c.lazy = ARITH;
  return r;
}
export function alu16(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case 0: r = (a + b) & 0xffff; k = LZ_ADD; break;
    case 1: r = a | b; k = LZ_LOGIC; break;
    case 2: r = (a + b + c.getCF()) & 0xffff; k = LZ_ADD; break;
    case 3: r = (a - b - c.getCF()) & 0xffff; k = LZ_SUB; break;
    case 4: r = a & b; k = LZ_LOGIC; break;
    case 6: r = a ^ b; k = LZ_LOGIC; break;
    default: r = (a - b) & 0xffff; k = LZ_SUB; break;
  }
  c.lzOp = k;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzTop = 15;
  c.lazy = ARITH;
  return r;
}
export function alu32(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case 0: r = (a + b) | 0; k = LZ_ADD; break;
    case 1: r = a | b; k = LZ_LOGIC; break;
    case 2: r = (a + b + c.getCF()) | 0; k = LZ_ADD; break;
    case 3: r = (a - b - c.getCF()) | 0; k = LZ_SUB; break;
    case 4: r = a & b; k = LZ_LOGIC; break;
    case 6: r = a ^ b; k = LZ_LOGIC; break;
    default: r = (a - b) | 0; k = LZ_SUB; break;
  }
  c.lzOp = k;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzTop = 31;
  c.lazy = ARITH;
  return r;
}

function aluHandlers(op: number): Record<string, Handler> {
  const isCmp = op === 7;
  return {
    'rm8,r8': isCmp
      ? (c, i) => void alu8(c, op, rm8(c, i), c.r8[R8[i.reg]])
      : (c, i) => commitRm8(c, i, alu8(c, op, rmwRm8(c, i), c.r8[R8[i.reg]])),
    'rmv,rv': isCmp
      ? (c, i) => {
          if (i.op32) alu32(c, op, rm32(c, i), c.regs[i.reg]);
          else alu16(c, op, rm16(c, i), c.r16[i.reg << 1]);
        }
      : (c, i) => {
          if (i.op32) commitRm32(c, i, alu32(c, op, rmwRm32(c, i), c.regs[i.reg]));
          else commitRm16(c, i, alu16(c, op, rmwRm16(c, i), c.r16[i.reg << 1]));
        },
    'r8,rm8': (c, i) => {
      const r = alu8(c, op, c.r8[R8[i.reg]], rm8(c, i));
      if (!isCmp) c.r8[R8[i.reg]] = r;
    },
    'rv,rmv': (c, i) => {
      if (i.op32) {
        const r = alu32(c, op, c.regs[i.reg], rm32(c, i));
        if (!isCmp) c.regs[i.reg] = r;
      } else {
        const r = alu16(c, op, c.r16[i.reg << 1], rm16(c, i));
        if (!isCmp) c.r16[i.reg << 1] = r;
      }
    },
    'al,imm8': (c, i) => {
      const r = alu8(c, op, c.r8[0], i.imm & 0xff);
      if (!isCmp) c.r8[0] = r;
    },
    'eAX,immv': (c, i) => {
      if (i.op32) {
        const r = alu32(c, op, c.regs[0], i.imm | 0);
        if (!isCmp) c.regs[0] = r;
      } else {
        const r = alu16(c, op, c.r16[0], i.imm & 0xffff);
        if (!isCmp) c.r16[0] = r;
      }
    },
    'rm8,imm8': isCmp
      ? (c, i) => void alu8(c, op, rm8(c, i), i.imm & 0xff)
      : (c, i) => commitRm8(c, i, alu8(c, op, rmwRm8(c, i), i.imm & 0xff)),
    'rmv,immv': isCmp
      ? (c, i) => {
          if (i.op32) alu32(c, op, rm32(c, i), i.imm | 0);
          else alu16(c, op, rm16(c, i), i.imm & 0xffff);
        }
      : (c, i) => {
          if (i.op32) commitRm32(c, i, alu32(c, op, rmwRm32(c, i), i.imm | 0));
          else commitRm16(c, i, alu16(c, op, rmwRm16(c, i), i.imm & 0xffff));
        },
    'rmv,simm8': isCmp
      ? (c, i) => {
          if (i.op32) alu32(c, op, rm32(c, i), i.imm | 0);
          else alu16(c, op, rm16(c, i), i.imm & 0xffff);
        }
      : (c, i) => {
          if (i.op32) commitRm32(c, i, alu32(c, op, rmwRm32(c, i), i.imm | 0));
          else commitRm16(c, i, alu16(c, op, rmwRm16(c, i), i.imm & 0xffff));
        },
  };
}

function incdec(c: Cpu, v: number, dec: boolean, top: number): number {
  c.materialize(CF);
  const r = top === 31 ? (dec ? v - 1 : v + 1) | 0 : (dec ? v - 1 : v + 1) & ((1 << (top + 1)) - 1);
  c.lzOp = dec ? LZ_SUB : LZ_ADD;
  c.lzA = v;
  c.lzB = 1;
  c.lzRes = r;
  c.lzTop = top;
  c.lazy = ARITH & ~CF;
  return r;
}

function logicFlags(c: Cpu, r: number, top: number): void {
  c.lzOp = LZ_LOGIC;
  c.lzRes = r;
  c.lzTop = top;
  c.lazy = ARITH;
}

// ---------------------------------------------------------------------------------------
// shifts and rotates

/** op = ModRM reg (rol ror rcl rcr shl shr sal sar); v masked to `bits`; n = count & 31. */
export function shift(c: Cpu, op: number, v: number, n: number, bits: number): number {
  if (n === 0) return v;
  const top = bits - 1;
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  let r: number, cf: number;
  switch (op) {
    case 0: { // ROL
      const k = n & top;
      r = k ? ((v << k) | (v >>> (bits - k))) & mask : v;
      cf = r & 1;
      c.setCFOF(cf, ((r >>> top) ^ cf) & 1);
      return r;
    }
    case 1: { // ROR
      const k = n & top;
      r = k ? ((v >>> k) | (v << (bits - k))) & mask : v;
      cf = (r >>> top) & 1;
      c.setCFOF(cf, ((r >>> top) ^ (r >>> (top - 1))) & 1);
      return r;
    }
    case 2: { // RCL
      const k = bits === 32 ? n : n % (bits + 1);
      cf = c.getCF();
      r = v;
      for (let j = 0; j < k; j++) {
        const out = (r >>> top) & 1;
        r = ((r << 1) | cf) & mask;
        cf = out;
      }
      c.setCFOF(cf, ((r >>> top) ^ cf) & 1);
      return r;
    }
    case 3: { // RCR
      const k = bits === 32 ? n : n % (bits + 1);
      cf = c.getCF();
      r = v;
      let of = ((r >>> top) ^ cf) & 1;
      for (let j = 0; j < k; j++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf << top)) & mask;
        cf = out;
      }
      if (k !== 1) of = ((r >>> top) ^ (r >>> (top - 1))) & 1;
      c.setCFOF(cf, of);
      return r;
    }
    case 4: case 6: { // SHL
      cf = n > bits ? 0 : n === bits ? v & 1 : (v >>> (bits - n)) & 1;
      r = n >= bits ? 0 : (v << n) & mask;
      c.setResultFlags(r, top, cf, ((r >>> top) ^ cf) & 1, 0);
      return r;
    }
    case 5: { // SHR
      cf = n > bits ? 0 : (v >>> (n - 1)) & 1;
      r = n >= bits ? 0 : (v >>> n) & mask;
      c.setResultFlags(r, top, cf, n === 1 ? (v >>> top) & 1 : 0, 0);
      return r;
    }
    default: { // SAR
      const sv = bits === 32 ? v | 0 : (v << (32 - bits)) >> (32 - bits);
      if (n >= bits) {
        r = sv < 0 ? mask : 0;
        cf = sv < 0 ? 1 : 0;
      } else {
        r = (sv >> n) & mask;
        cf = (sv >> (n - 1)) & 1;
      }
      c.setResultFlags(r, top, cf, 0, 0);
      return r;
    }
  }
}

function shiftHandlers(op: number): Record<string, Handler> {
  const mk8 = (cnt: (c: Cpu, i: Insn) => number): Handler => (c, i) => {
    const n = cnt(c, i) & 31;
    const v = rmwRm8(c, i);
    commitRm8(c, i, shift(c, op, v, n, 8));
  };
  const mkv = (cnt: (c: Cpu, i: Insn) => number): Handler => (c, i) => {
    const n = cnt(c, i) & 31;
    if (i.op32) commitRm32(c, i, shift(c, op, rmwRm32(c, i), n, 32));
    else commitRm16(c, i, shift(c, op, rmwRm16(c, i), n, 16));
  };
  const one = () => 1, cl = (c: Cpu) => c.r8[4], imm = (_c: Cpu, i: Insn) => i.imm;
  return {
    'rm8,1': mk8(one), 'rmv,1': mkv(one), 'rm8,cl': mk8(cl), 'rmv,cl': mkv(cl),
    'rm8,imm8': mk8(imm), 'rmv,imm8': mkv(imm),
  };
}

function shld(c: Cpu, i: Insn, n: number, right: boolean): void {
  n &= 31;
  if (n === 0) {
    // still a memory access (and its faults)
    if (i.op32) rmwRm32(c, i);
    else rmwRm16(c, i);
    return;
  }
  if (i.op32) {
    const d = rmwRm32(c, i), s = c.regs[i.reg];
    let r: number, cf: number;
    if (!right) {
      r = (d << n) | (s >>> (32 - n));
      cf = (d >>> (32 - n)) & 1;
    } else {
      r = (d >>> n) | (s << (32 - n));
      cf = (d >>> (n - 1)) & 1;
    }
    c.setResultFlags(r, 31, cf, ((r ^ d) >>> 31) & 1, 0);
    commitRm32(c, i, r);
  } else {
    const d = rmwRm16(c, i), s = c.r16[i.reg << 1];
    let r: number, cf: number;
    if (!right) {
      // 48-bit d:s:d rotated left, counts above 16 continue into the copy of d
      const x = (d << 16) | s;
      if (n <= 16) {
        r = (x >>> (16 - n)) & 0xffff;
        cf = (d >>> (16 - n)) & 1;
      } else {
        r = ((s << (n - 16)) | (d >>> (32 - n))) & 0xffff;
        cf = (s >>> (32 - n)) & 1;
      }
    } else {
      const x = (s << 16) | d;
      if (n <= 16) {
        r = (x >>> n) & 0xffff;
        cf = (d >>> (n - 1)) & 1;
      } else {
        r = ((s >>> (n - 16)) | (d << (32 - n))) & 0xffff;
        cf = (s >>> (n - 17)) & 1;
      }
    }
    c.setResultFlags(r, 15, cf, ((r ^ d) >>> 15) & 1, 0);
    commitRm16(c, i, r);
  }
}

// ---------------------------------------------------------------------------------------
// multiply / divide

/** Unsigned 32x32 → 64: low in c.mulLo, high in c.mulHi (both as int32). */
function umul32(c: Cpu, a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  c.mulLo = ((mid << 16) | (ll & 0xffff)) | 0;
  c.mulHi = (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}
function smul32(c: Cpu, a: number, b: number): void {
  umul32(c, a, b);
  let hi = c.mulHi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  c.mulHi = hi;
}

function mulFlags(c: Cpu, lo: number, top: number, over: boolean): void {
  c.setResultFlags(lo, top, over ? 1 : 0, over ? 1 : 0, 0);
}

/** Unsigned (hi:lo) / d for 32-bit values into c.divQ, c.divR; false on overflow or d = 0. */
function udiv64(c: Cpu, hi: number, lo: number, d: number): boolean {
  hi >>>= 0;
  lo >>>= 0;
  d >>>= 0;
  if (d === 0 || hi >= d) return false;
  let r = hi;
  const x1 = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(x1 / d);
  r = x1 - q1 * d;
  const x2 = r * 65536 + (lo & 0xffff);
  const q2 = Math.floor(x2 / d);
  r = x2 - q2 * d;
  c.divQ = q1 * 65536 + q2;
  c.divR = r;
  return true;
}

function mulDiv(kind: number, bits: number): Handler {
  // kind: 4 mul, 5 imul, 6 div, 7 idiv
  return (c, i) => {
    if (bits === 8) {
      const s = rm8(c, i);
      const al = c.r8[0];
      switch (kind) {
        case 4: {
          const r = al * s;
          c.r16[0] = r;
          mulFlags(c, r & 0xff, 7, r > 0xff);
          return;
        }
        case 5: {
          const r = ((al << 24) >> 24) * ((s << 24) >> 24);
          c.r16[0] = r;
          mulFlags(c, r & 0xff, 7, r !== (r << 24) >> 24);
          return;
        }
        case 6: {
          const ax = c.r16[0];
          if (s === 0) c.fault(DE);
          const q = Math.floor(ax / s);
          if (q > 0xff) c.fault(DE);
          c.r8[0] = q;
          c.r8[1] = ax % s;
          return;
        }
        default: {
          const ax = (c.r16[0] << 16) >> 16;
          const d = (s << 24) >> 24;
          if (d === 0) c.fault(DE);
          const q = Math.trunc(ax / d);
          if (q > 127 || q < -128) c.fault(DE);
          c.r8[0] = q;
          c.r8[1] = ax % d;
          return;
        }
      }
    } else if (bits === 16) {
      const s = rm16(c, i);
      const ax = c.r16[0];
      switch (kind) {
        case 4: {
          const r = ax * s;
          c.r16[0] = r;
          c.r16[EDX << 1] = r >>> 16;
          mulFlags(c, r & 0xffff, 15, r > 0xffff);
          return;
        }
        case 5: {
          const r = ((ax << 16) >> 16) * ((s << 16) >> 16);
          c.r16[0] = r;
          c.r16[EDX << 1] = r >> 16;
          mulFlags(c, r & 0xffff, 15, r !== (r << 16) >> 16);
          return;
        }
        case 6: {
          const x = ((c.r16[EDX << 1] << 16) | ax) >>> 0;
          if (s === 0) c.fault(DE);
          const q = Math.floor(x / s);
          if (q > 0xffff) c.fault(DE);
          c.r16[0] = q;
          c.r16[EDX << 1] = x % s;
          return;
        }
        default: {
          const x = (c.r16[EDX << 1] << 16) | ax;
          const d = (s << 16) >> 16;
          if (d === 0) c.fault(DE);
          const q = Math.trunc(x / d);
          if (q > 32767 || q < -32768) c.fault(DE);
          c.r16[0] = q;
          c.r16[EDX << 1] = x % d;
          return;
        }
      }
    } else {
      const s = rm32(c, i);
      const eax = c.regs[EAX];
      switch (kind) {
        case 4:
          umul32(c, eax, s);
          c.regs[EAX] = c.mulLo;
          c.regs[EDX] = c.mulHi;
          mulFlags(c, c.mulLo, 31, c.mulHi !== 0);
          return;
        case 5:
          smul32(c, eax, s);
          c.regs[EAX] = c.mulLo;
          c.regs[EDX] = c.mulHi;
          mulFlags(c, c.mulLo, 31, c.mulHi !== c.mulLo >> 31);
          return;
        case 6:
          if (!udiv64(c, c.regs[EDX], eax, s)) c.fault(DE);
          c.regs[EAX] = c.divQ;
          c.regs[EDX] = c.divR;
          return;
        default: {
          let hi = c.regs[EDX], lo = eax;
          const neg = hi < 0;
          if (neg) {
            lo = (~lo + 1) | 0;
            hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
          }
          const dneg = s < 0;
          const d = dneg ? -s : s; // as a double: up to 2^31
          if (!udiv64(c, hi, lo, d >>> 0)) c.fault(DE);
          let q = neg !== dneg ? -c.divQ : c.divQ;
          const r = neg ? -c.divR : c.divR;
          if (q > 0x7fffffff || q < -0x80000000) c.fault(DE);
          q |= 0;
          c.regs[EAX] = q;
          c.regs[EDX] = r | 0;
          return;
        }
      }
    }
  };
}

function imul2(c: Cpu, i: Insn, a: number, b: number): void {
  if (i.op32) {
    smul32(c, a | 0, b | 0);
    c.regs[i.reg] = c.mulLo;
    mulFlags(c, c.mulLo, 31, c.mulHi !== c.mulLo >> 31);
  } else {
    const r = ((a << 16) >> 16) * ((b << 16) >> 16);
    c.r16[i.reg << 1] = r;
    mulFlags(c, r & 0xffff, 15, r !== (r << 16) >> 16);
  }
}

// ---------------------------------------------------------------------------------------
// string instructions

function idx(c: Cpu, r: number, ad32: boolean): number {
  return ad32 ? c.regs[r] >>> 0 : c.r16[r << 1];
}
function setIdx(c: Cpu, r: number, ad32: boolean, v: number): void {
  if (ad32) c.regs[r] = v;
  else c.r16[r << 1] = v;
}
function rdS(c: Cpu, s: number, off: number, sz: number): number {
  return sz === 1 ? c.rd8(s, off) : sz === 2 ? c.rd16(s, off) : c.rd32(s, off);
}
function wrS(c: Cpu, s: number, off: number, sz: number, v: number): void {
  if (sz === 1) c.wr8(s, off, v);
  else if (sz === 2) c.wr16(s, off, v);
  else c.wr32(s, off, v);
}
function aluS(c: Cpu, a: number, b: number, sz: number): void {
  if (sz === 1) alu8(c, 7, a, b);
  else if (sz === 2) alu16(c, 7, a, b);
  else alu32(c, 7, a, b);
}
function inS(c: Cpu, port: number, sz: number): number {
  return sz === 1 ? c.io.in8(port) & 0xff : sz === 2 ? c.io.in16(port) & 0xffff : c.io.in32(port) | 0;
}
function outS(c: Cpu, port: number, sz: number, v: number): void {
  if (sz === 1) c.io.out8(port, v & 0xff);
  else if (sz === 2) c.io.out16(port, v & 0xffff);
  else c.io.out32(port, v >>> 0);
}

/** REP MOVS/STOS forward (DF=0) over plain RAM: copies up to `max` elements that stay in
 *  one page on each side and inside the segment limits; returns how many (0: take the
 *  element loop). Updates ESI/EDI. */
function bulkString(c: Cpu, kind: number, sz: number, seg: number, ad: boolean, max: number): number {
  const di = idx(c, EDI, ad);
  const dlin = (c.segBase[ES] + di) | 0;
  let n = Math.min(max, Math.floor((0x1000 - (dlin & 0xfff)) / sz));
  if (!ad) n = Math.min(n, Math.floor((0x10000 - di) / sz));
  if (n <= 1) return 0;
  if (di < c.segMin[ES] || di + n * sz > c.segEndW[ES]) return 0;
  const de = c.tlb[dlin >>> 12];
  if ((de & c.needW) !== c.needW) return 0;
  const dpa = (de & ~0xfff) | (dlin & 0xfff);
  if (c.codePage[dpa >>> 12] !== 0) return 0;
  const u8 = c.u8;
  if (kind === 0) {
    const si = idx(c, ESI, ad);
    const slin = (c.segBase[seg] + si) | 0;
    n = Math.min(n, Math.floor((0x1000 - (slin & 0xfff)) / sz));
    if (!ad) n = Math.min(n, Math.floor((0x10000 - si) / sz));
    if (n <= 1) return 0;
    if (si < c.segMin[seg] || si + n * sz > c.segEndR[seg]) return 0;
    const se = c.tlb[slin >>> 12];
    if ((se & c.needR) !== c.needR) return 0;
    const spa = (se & ~0xfff) | (slin & 0xfff);
    // a forward element copy equals memmove unless the destination overlaps ahead of the source
    if (dpa > spa && dpa < spa + n * sz) return 0;
    u8.copyWithin(dpa, spa, spa + n * sz);
    setIdx(c, ESI, ad, ad ? (si + n * sz) | 0 : (si + n * sz) & 0xffff);
  } else {
    const v = sz === 1 ? c.r8[0] : sz === 2 ? c.r16[0] : c.regs[0];
    if (sz === 1) u8.fill(v, dpa, dpa + n);
    else if (sz === 4 && (dpa & 3) === 0) c.i32.fill(v, dpa >>> 2, (dpa >>> 2) + n);
    else if (sz === 2 && (dpa & 1) === 0) c.u16.fill(v, dpa >>> 1, (dpa >>> 1) + n);
    else {
      for (let j = 0; j < n * sz; j++) u8[dpa + j] = (v >>> (8 * (j % sz))) & 0xff;
    }
  }
  setIdx(c, EDI, ad, ad ? (di + n * sz) | 0 : (di + n * sz) & 0xffff);
  return n;
}

/** kind: 0 movs 1 cmps 2 stos 3 lods 4 scas 5 ins 6 outs */
function stringOp(kind: number, sz: number): Handler {
  return (c, i) => {
    const ad = i.ad32;
    const am = ad ? -1 : 0xffff;
    const seg = i.segOverride >= 0 ? i.segOverride : DS;
    const d = c.flagsVal & DF ? -sz : sz;
    const rep = i.rep !== 0;
    if (kind >= 5) c.ioCheck(c.r16[EDX << 1], sz);
    let cnt = rep ? idx(c, ECX, ad) : 1;
    let k = 0;
    while (cnt !== 0) {
      if (rep && d > 0 && (kind === 0 || kind === 2) && cnt > 1) {
        // bulk path: as many whole elements as stay inside one source and one destination
        // page of plain RAM (same result as the element loop; hooks and breakpoints make the
        // TLB check fail, so they always see the element loop)
        const n = bulkString(c, kind, sz, seg, ad, Math.min(cnt, REP_CHUNK - k));
        if (n > 0) {
          k += n;
          cnt = (cnt - n) & am;
          setIdx(c, ECX, ad, cnt);
          if (cnt === 0) return;
          if (k >= REP_CHUNK) {
            c.eip = c.insnStart(i);
            c.blockBreak = true;
            return;
          }
          continue;
        }
      }
      switch (kind) {
        case 0: {
          const si = idx(c, ESI, ad), di = idx(c, EDI, ad);
          wrS(c, ES, di, sz, rdS(c, seg, si, sz));
          setIdx(c, ESI, ad, (si + d) & am);
          setIdx(c, EDI, ad, (di + d) & am);
          break;
        }
        case 1: {
          const si = idx(c, ESI, ad), di = idx(c, EDI, ad);
          const a = rdS(c, seg, si, sz), b = rdS(c, ES, di, sz);
          aluS(c, a, b, sz);
          setIdx(c, ESI, ad, (si + d) & am);
          setIdx(c, EDI, ad, (di + d) & am);
          break;
        }
        case 2: {
          const di = idx(c, EDI, ad);
          wrS(c, ES, di, sz, sz === 1 ? c.r8[0] : sz === 2 ? c.r16[0] : c.regs[0]);
          setIdx(c, EDI, ad, (di + d) & am);
          break;
        }
        case 3: {
          const si = idx(c, ESI, ad);
          const v = rdS(c, seg, si, sz);
          if (sz === 1) c.r8[0] = v;
          else if (sz === 2) c.r16[0] = v;
          else c.regs[0] = v;
          setIdx(c, ESI, ad, (si + d) & am);
          break;
        }
        case 4: {
          const di = idx(c, EDI, ad);
          const b = rdS(c, ES, di, sz);
          aluS(c, sz === 1 ? c.r8[0] : sz === 2 ? c.r16[0] : c.regs[0], b, sz);
          setIdx(c, EDI, ad, (di + d) & am);
          break;
        }
        case 5: {
          const di = idx(c, EDI, ad);
          // check the destination before the port read has a side effect
          c.probeWrite(ES, di, sz);
          wrS(c, ES, di, sz, inS(c, c.r16[EDX << 1], sz));
          setIdx(c, EDI, ad, (di + d) & am);
          break;
        }
        default: {
          const si = idx(c, ESI, ad);
          outS(c, c.r16[EDX << 1], sz, rdS(c, seg, si, sz));
          setIdx(c, ESI, ad, (si + d) & am);
          break;
        }
      }
      if (!rep) return;
      cnt = (cnt - 1) & am;
      setIdx(c, ECX, ad, cnt);
      if ((kind === 1 || kind === 4) && cnt !== 0) {
        const z = c.getZF();
        if (i.rep === 0xf3 ? z === 0 : z !== 0) return;
      }
      if ((kind === 1 || kind === 4) && cnt === 0) return;
      if (++k >= REP_CHUNK && cnt !== 0) {
        // resume later: the instruction runs again with the updated registers
        c.eip = c.insnStart(i);
        c.blockBreak = true;
        return;
      }
    }
  };
}

// ---------------------------------------------------------------------------------------
// BCD

function bcdFlags(c: Cpu, al: number, cf: number, af: number): void {
  c.setResultFlags(al, 7, cf, 0, af);
}

const daa: Handler = (c) => {
  const old = c.r8[0], oldCf = c.getCF(), af0 = c.getAF();
  let al = old, cf = 0, af = 0;
  if ((al & 0xf) > 9 || af0) {
    cf = oldCf | (al + 6 > 0xff ? 1 : 0);
    al = (al + 6) & 0xff;
    af = 1;
  }
  if (old > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  }
  c.r8[0] = al;
  bcdFlags(c, al, cf, af);
  // OF undefined; the i386 leaves it as the add/sub that formed the result would: we use
  // the overflow of the adjustment (bit 7 went 0 → 1)
  setFlag(c, OF, (~old & al & 0x80) !== 0);
};
const das: Handler = (c) => {
  const old = c.r8[0], oldCf = c.getCF(), af0 = c.getAF();
  let al = old, cf = 0, af = 0;
  if ((al & 0xf) > 9 || af0) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = 1;
  }
  if (old > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  c.r8[0] = al;
  bcdFlags(c, al, cf, af);
  setFlag(c, OF, (old & ~al & 0x80) !== 0);
};
const aaa: Handler = (c) => {
  let ax = c.r16[0];
  let f = 0;
  if ((ax & 0xf) > 9 || c.getAF()) {
    ax = (ax + 0x106) & 0xffff;
    f = 1;
  }
  c.r16[0] = ax & 0xff0f;
  bcdFlags(c, ax & 0xff, f, f);
};
const aas: Handler = (c) => {
  let ax = c.r16[0];
  let f = 0;
  if ((ax & 0xf) > 9 || c.getAF()) {
    ax = (ax - 6) & 0xffff;
    ax = (ax - 0x100) & 0xffff;
    f = 1;
  }
  c.r16[0] = ax & 0xff0f;
  bcdFlags(c, ax & 0xff, f, f);
};
const aam: Handler = (c, i) => {
  const b = i.imm & 0xff;
  if (b === 0) c.fault(DE);
  const al = c.r8[0];
  c.r8[1] = Math.floor(al / b);
  c.r8[0] = al % b;
  logicFlags(c, c.r8[0], 7);
};
const aad: Handler = (c, i) => {
  const b = i.imm & 0xff;
  const al = c.r8[0], ah = c.r8[1];
  const r = alu8(c, 0, al, (ah * b) & 0xff);
  c.r16[0] = r;
};

// ---------------------------------------------------------------------------------------
// control transfer

const jcc = (cc: number): Handler => (c, i) => {
  if (c.cond(cc)) c.jumpNear(nextIp(c, i, i.imm));
};
const setcc = (cc: number): Handler => (c, i) => setRm8(c, i, c.cond(cc) ? 1 : 0);

function farTarget(c: Cpu, i: Insn): number {
  // reads a far pointer at the memory operand: the offset into c.farOff, returns the selector
  const off = c.ea(i);
  const am = i.ad32 ? -1 : 0xffff;
  if (i.op32) {
    c.farOff = c.rd32(i.seg, off) >>> 0;
    return c.rd16(i.seg, ((off + 4) & am) >>> 0);
  }
  c.farOff = c.rd16(i.seg, off);
  return c.rd16(i.seg, ((off + 2) & am) >>> 0);
}

function loadFarPtr(s: number): Handler {
  return (c, i) => {
    const sel = farTarget(c, i);
    const off = c.farOff;
    c.loadSeg(s, sel);
    if (i.op32) c.regs[i.reg] = off;
    else c.r16[i.reg << 1] = off;
  };
}

const loopH = (kind: number): Handler => (c, i) => {
  // kind 0 loopne, 1 loope, 2 loop, 3 jcxz
  let cnt: number;
  if (kind === 3) {
    cnt = i.ad32 ? c.regs[ECX] : c.r16[ECX << 1];
    if (cnt === 0) c.jumpNear(nextIp(c, i, i.imm));
    return;
  }
  if (i.ad32) cnt = c.regs[ECX] = (c.regs[ECX] - 1) | 0;
  else cnt = c.r16[ECX << 1] = c.r16[ECX << 1] - 1;
  if (cnt === 0) return;
  if (kind === 0 && c.getZF()) return;
  if (kind === 1 && !c.getZF()) return;
  c.jumpNear(nextIp(c, i, i.imm));
};

function popfH(c: Cpu, i: Insn): void {
  v86IoplCheck(c);
  const v = popV(c, i);
  let mask = 0x4dd5 | TF | IF | 0x3000;
  if (c.pe) {
    if (c.cpl > 0) mask &= ~0x3000;
    if (c.cpl > ((c.flagsVal >> 12) & 3)) mask &= ~IF;
  }
  if (!i.op32) mask &= 0xffff;
  c.setFlags(v, mask);
  c.blockBreak = true;
}

// ---------------------------------------------------------------------------------------
// x87 absent: ESC does nothing unless CR0.EM or CR0.TS asks for #NM

const fpu: Handler = (c) => {
  if (c.cr0 & (CR0_EM | CR0_TS)) c.fault(NM);
};

// ---------------------------------------------------------------------------------------
// the table

function bits(i: Insn): number {
  return i.op32 ? 32 : 16;
}

function buildNamed(): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = (k: string, h: Handler) => m.set(k, h);
  const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  ALU.forEach((name, op) => {
    const hs = aluHandlers(op);
    for (const [ops, h] of Object.entries(hs)) add(`${name} ${ops}`, h);
  });
  const SH = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
  SH.forEach((name, op) => {
    for (const [ops, h] of Object.entries(shiftHandlers(op))) add(`${name} ${ops}`, h);
  });
  const CC = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'];
  CC.forEach((cc, n) => {
    add(`j${cc} rel8`, jcc(n));
    add(`j${cc} relv`, jcc(n));
    add(`set${cc} rm8`, setcc(n));
  });

  // test
  const test8 = (c: Cpu, a: number, b: number) => logicFlags(c, a & b, 7);
  const testv = (c: Cpu, i: Insn, a: number, b: number) => {
    if (i.op32) logicFlags(c, a & b, 31);
    else logicFlags(c, a & b & 0xffff, 15);
  };
  add('test rm8,r8', (c, i) => test8(c, rm8(c, i), c.r8[R8[i.reg]]));
  add('test rmv,rv', (c, i) => testv(c, i, i.op32 ? rm32(c, i) : rm16(c, i), c.regs[i.reg]));
  add('test al,imm8', (c, i) => test8(c, c.r8[0], i.imm & 0xff));
  add('test eAX,immv', (c, i) => testv(c, i, c.regs[0], i.imm));
  add('test rm8,imm8', (c, i) => test8(c, rm8(c, i), i.imm & 0xff));
  add('test rmv,immv', (c, i) => testv(c, i, i.op32 ? rm32(c, i) : rm16(c, i), i.imm));

  add('not rm8', (c, i) => commitRm8(c, i, ~rmwRm8(c, i) & 0xff));
  add('not rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, ~rmwRm32(c, i));
    else commitRm16(c, i, ~rmwRm16(c, i) & 0xffff);
  });
  add('neg rm8', (c, i) => commitRm8(c, i, alu8(c, 5, 0, rmwRm8(c, i))));
  add('neg rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, alu32(c, 5, 0, rmwRm32(c, i)));
    else commitRm16(c, i, alu16(c, 5, 0, rmwRm16(c, i)));
  });
  const md = ['mul', 'imul', 'div', 'idiv'];
  md.forEach((name, k) => {
    add(`${name} rm8`, mulDiv(k + 4, 8));
    const h16 = mulDiv(k + 4, 16), h32 = mulDiv(k + 4, 32);
    add(`${name} rmv`, (c, i) => (i.op32 ? h32 : h16)(c, i));
  });
  add('imul rv,rmv', (c, i) => imul2(c, i, c.regs[i.reg], i.op32 ? rm32(c, i) : rm16(c, i)));
  add('imul rv,rmv,simm8', (c, i) => imul2(c, i, i.op32 ? rm32(c, i) : rm16(c, i), i.imm));
  add('imul rv,rmv,immv', (c, i) => imul2(c, i, i.op32 ? rm32(c, i) : rm16(c, i), i.imm));

  add('inc rv', (c, i) => {
    if (i.op32) c.regs[i.opReg] = incdec(c, c.regs[i.opReg], false, 31);
    else c.r16[i.opReg << 1] = incdec(c, c.r16[i.opReg << 1], false, 15);
  });
  add('dec rv', (c, i) => {
    if (i.op32) c.regs[i.opReg] = incdec(c, c.regs[i.opReg], true, 31);
    else c.r16[i.opReg << 1] = incdec(c, c.r16[i.opReg << 1], true, 15);
  });
  add('inc rm8', (c, i) => commitRm8(c, i, incdec(c, rmwRm8(c, i), false, 7)));
  add('dec rm8', (c, i) => commitRm8(c, i, incdec(c, rmwRm8(c, i), true, 7)));
  add('inc rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, incdec(c, rmwRm32(c, i), false, 31));
    else commitRm16(c, i, incdec(c, rmwRm16(c, i), false, 15));
  });
  add('dec rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, incdec(c, rmwRm32(c, i), true, 31));
    else commitRm16(c, i, incdec(c, rmwRm16(c, i), true, 15));
  });
  add('shld rmv,rv,imm8', (c, i) => shld(c, i, i.imm, false));
  add('shld rmv,rv,cl', (c, i) => shld(c, i, c.r8[4], false));
  add('shrd rmv,rv,imm8', (c, i) => shld(c, i, i.imm, true));
  add('shrd rmv,rv,cl', (c, i) => shld(c, i, c.r8[4], true));

  // data movement
  add('mov rm8,r8', (c, i) => setRm8(c, i, c.r8[R8[i.reg]]));
  add('mov rmv,rv', (c, i) => {
    if (i.op32) setRm32(c, i, c.regs[i.reg]);
    else setRm16(c, i, c.r16[i.reg << 1]);
  });
  add('mov r8,rm8', (c, i) => {
    c.r8[R8[i.reg]] = rm8(c, i);
  });
  add('mov rv,rmv', (c, i) => {
    if (i.op32) c.regs[i.reg] = rm32(c, i);
    else c.r16[i.reg << 1] = rm16(c, i);
  });
  add('mov rrv,sreg', (c, i) => {
    if (i.reg > 5) c.fault(UD);
    if (i.op32) c.regs[i.rm] = c.sel[i.reg];
    else c.r16[i.rm << 1] = c.sel[i.reg];
  });
  add('mov m16,sreg', (c, i) => {
    if (i.reg > 5) c.fault(UD);
    c.wr16(i.seg, c.ea(i), c.sel[i.reg]);
  });
  const movSreg: Handler = (c, i) => {
    if (i.reg > 5 || i.reg === CS) c.fault(UD);
    c.loadSeg(i.reg, i.hasMem ? c.rd16(i.seg, c.ea(i)) : c.r16[i.rm << 1]);
    if (i.reg === SS) c.inhibit = true;
  };
  add('mov sreg,rrw', movSreg);
  add('mov sreg,m16', movSreg);
  add('mov al,moffs8', (c, i) => {
    c.r8[0] = c.rd8(i.seg, i.ad32 ? i.imm >>> 0 : i.imm & 0xffff);
  });
  add('mov eAX,moffsv', (c, i) => {
    const off = i.ad32 ? i.imm >>> 0 : i.imm & 0xffff;
    if (i.op32) c.regs[0] = c.rd32(i.seg, off);
    else c.r16[0] = c.rd16(i.seg, off);
  });
  add('mov moffs8,al', (c, i) => c.wr8(i.seg, i.ad32 ? i.imm >>> 0 : i.imm & 0xffff, c.r8[0]));
  add('mov moffsv,eAX', (c, i) => {
    const off = i.ad32 ? i.imm >>> 0 : i.imm & 0xffff;
    if (i.op32) c.wr32(i.seg, off, c.regs[0]);
    else c.wr16(i.seg, off, c.r16[0]);
  });
  add('mov r8,imm8', (c, i) => {
    c.r8[R8[i.opReg]] = i.imm;
  });
  add('mov rv,immv', (c, i) => {
    if (i.op32) c.regs[i.opReg] = i.imm;
    else c.r16[i.opReg << 1] = i.imm;
  });
  add('mov rm8,imm8', (c, i) => setRm8(c, i, i.imm));
  add('mov rmv,immv', (c, i) => {
    if (i.op32) setRm32(c, i, i.imm);
    else setRm16(c, i, i.imm);
  });
  add('mov rr32,cr', (c, i) => {
    const r = i.reg;
    if (r === 0) c.regs[i.rm] = c.cr0;
    else if (r === 2) c.regs[i.rm] = c.cr2;
    else if (r === 3) c.regs[i.rm] = c.cr3;
    else c.fault(UD);
  });
  add('mov cr,rr32', (c, i) => {
    const r = i.reg, v = c.regs[i.rm];
    if (r === 0) c.setCr0(v);
    else if (r === 2) c.cr2 = v;
    else if (r === 3) c.setCr3(v);
    else c.fault(UD);
    c.blockBreak = true;
  });
  add('mov rr32,dr', (c, i) => {
    checkGeneralDetect(c);
    const r = i.reg === 4 ? 6 : i.reg === 5 ? 7 : i.reg;
    c.regs[i.rm] = c.dr[r];
  });
  add('mov dr,rr32', (c, i) => {
    checkGeneralDetect(c);
    const r = i.reg === 4 ? 6 : i.reg === 5 ? 7 : i.reg;
    c.dr[r] = c.regs[i.rm];
    if (r === 7) c.drChanged();
    c.blockBreak = true;
  });
  add('mov rr32,tr', (c, i) => {
    c.regs[i.rm] = c.trReg[i.reg];
  });
  add('mov tr,rr32', (c, i) => {
    c.trReg[i.reg] = c.regs[i.rm];
  });
  add('movzx rv,rm8', (c, i) => {
    if (i.op32) c.regs[i.reg] = rm8(c, i);
    else c.r16[i.reg << 1] = rm8(c, i);
  });
  add('movzx rv,rm16', (c, i) => {
    if (i.op32) c.regs[i.reg] = rm16(c, i);
    else c.r16[i.reg << 1] = rm16(c, i);
  });
  add('movsx rv,rm8', (c, i) => {
    const v = (rm8(c, i) << 24) >> 24;
    if (i.op32) c.regs[i.reg] = v;
    else c.r16[i.reg << 1] = v;
  });
  add('movsx rv,rm16', (c, i) => {
    const v = (rm16(c, i) << 16) >> 16;
    if (i.op32) c.regs[i.reg] = v;
    else c.r16[i.reg << 1] = v;
  });
  add('nop -', () => {});
  add('xchg eAX,rv', (c, i) => {
    const r = i.opReg;
    if (i.op32) {
      const t = c.regs[0];
      c.regs[0] = c.regs[r];
      c.regs[r] = t;
    } else {
      const t = c.r16[0];
      c.r16[0] = c.r16[r << 1];
      c.r16[r << 1] = t;
    }
  });
  add('xchg rm8,r8', (c, i) => {
    const v = rmwRm8(c, i);
    commitRm8(c, i, c.r8[R8[i.reg]]);
    c.r8[R8[i.reg]] = v;
  });
  add('xchg rmv,rv', (c, i) => {
    if (i.op32) {
      const v = rmwRm32(c, i);
      commitRm32(c, i, c.regs[i.reg]);
      c.regs[i.reg] = v;
    } else {
      const v = rmwRm16(c, i);
      commitRm16(c, i, c.r16[i.reg << 1]);
      c.r16[i.reg << 1] = v;
    }
  });
  add('lea rv,m', (c, i) => {
    const a = c.ea(i);
    if (i.op32) c.regs[i.reg] = a;
    else c.r16[i.reg << 1] = a;
  });
  add('les rv,mfar', loadFarPtr(ES));
  add('lds rv,mfar', loadFarPtr(DS));
  add('lss rv,mfar', loadFarPtr(SS));
  add('lfs rv,mfar', loadFarPtr(4));
  add('lgs rv,mfar', loadFarPtr(5));
  add('push rv', (c, i) => {
    if (i.op32) c.push32(c.regs[i.opReg]);
    else c.push16(c.r16[i.opReg << 1]);
  });
  add('pop rv', (c, i) => {
    if (i.op32) {
      const v = c.pop32();
      c.regs[i.opReg] = v;
    } else {
      const v = c.pop16();
      c.r16[i.opReg << 1] = v;
    }
  });
  add('push rmv', (c, i) => pushV(c, i, i.op32 ? rm32(c, i) : rm16(c, i)));
  add('pop rmv', (c, i) => {
    if (i.reg !== 0) c.fault(UD);
    const v = popV(c, i);
    if (i.op32) setRm32(c, i, v);
    else setRm16(c, i, v);
  });
  add('push simm8', (c, i) => pushV(c, i, i.imm));
  add('push immv', (c, i) => pushV(c, i, i.imm));
  for (const [name, s] of [['es', 0], ['cs', 1], ['ss', 2], ['ds', 3], ['fs', 4], ['gs', 5]] as const) {
    add(`push ${name}`, (c, i) => pushV(c, i, c.sel[s]));
    if (s !== CS) {
      add(`pop ${name}`, (c, i) => {
        const v = i.op32 ? c.peek32(0) & 0xffff : c.peek16(0);
        // the old stack's size steps SP or ESP (POP SS may change it)
        const big = c.ssBig;
        c.loadSeg(s, v);
        if (big) c.regs[ESP] = (c.regs[ESP] + (i.op32 ? 4 : 2)) | 0;
        else c.r16[ESP << 1] = c.regs[ESP] + (i.op32 ? 4 : 2);
        if (s === SS) c.inhibit = true;
      });
    }
  }
  const pusha: Handler = (c, i) => {
    const sp = c.regs[ESP];
    for (let r = 0; r < 8; r++) {
      const v = r === ESP ? sp : c.regs[r];
      pushV(c, i, v);
    }
  };
  const popa: Handler = (c, i) => {
    for (let r = 7; r >= 0; r--) {
      const v = popV(c, i);
      if (r === ESP) continue;
      if (i.op32) c.regs[r] = v;
      else c.r16[r << 1] = v;
    }
  };
  add('pusha -', pusha);
  add('pushad -', pusha);
  add('popa -', popa);
  add('popad -', popa);
  const pushf: Handler = (c, i) => {
    v86IoplCheck(c);
    pushV(c, i, c.getFlags() & 0x7fd7);
  };
  add('pushf -', pushf);
  add('pushfd -', pushf);
  add('popf -', popfH);
  add('popfd -', popfH);
  add('sahf -', (c) => c.setFlags(c.r8[1], SF | ZF | AF | PF | CF));
  add('lahf -', (c) => {
    c.r8[1] = (c.getFlags() & 0xd5) | 2;
  });
  add('cbw -', (c) => {
    c.r16[0] = (c.r8[0] << 24) >> 24;
  });
  add('cwde -', (c) => {
    c.regs[0] = (c.r16[0] << 16) >> 16;
  });
  add('cwd -', (c) => {
    c.r16[EDX << 1] = c.r16[0] & 0x8000 ? 0xffff : 0;
  });
  add('cdq -', (c) => {
    c.regs[EDX] = c.regs[0] >> 31;
  });
  add('xlatb -', (c, i) => {
    const seg = i.segOverride >= 0 ? i.segOverride : DS;
    const off = i.ad32 ? (c.regs[EBX] + c.r8[0]) >>> 0 : (c.r16[EBX << 1] + c.r8[0]) & 0xffff;
    c.r8[0] = c.rd8(seg, off);
  });
  add('bound rv,m', (c, i) => {
    const off = c.ea(i);
    const am = i.ad32 ? -1 : 0xffff;
    let v: number, lo: number, hi: number;
    if (i.op32) {
      v = c.regs[i.reg];
      lo = c.rd32(i.seg, off);
      hi = c.rd32(i.seg, ((off + 4) & am) >>> 0);
    } else {
      v = (c.r16[i.reg << 1] << 16) >> 16;
      lo = (c.rd16(i.seg, off) << 16) >> 16;
      hi = (c.rd16(i.seg, ((off + 2) & am) >>> 0) << 16) >> 16;
    }
    if (v < lo || v > hi) c.fault(BR);
  });
  add('arpl rm16,r16', (c, i) => {
    // a 386 reads the operand and writes it only when the RPL changes (test386 ARPL: a
    // read-only destination with nothing to change does not fault)
    const d = rm16(c, i), s = c.r16[i.reg << 1];
    if ((d & 3) < (s & 3)) {
      setRm16(c, i, (d & ~3) | (s & 3));
      setFlag(c, ZF, 1);
    } else setFlag(c, ZF, 0);
  });
  add('enter imm16,imm8', (c, i) => {
    const size = i.op32 ? 4 : 2;
    const level = i.imm2 & 31;
    pushV(c, i, c.regs[EBP]);
    // the whole ESP, also on a 16-bit stack (test386 ENTER: o32 enter on SS.B = 0 keeps
    // ESP's high half in the frame pointer)
    const frame = c.regs[ESP];
    if (level > 0) {
      let bp = c.ssBig ? c.regs[EBP] : c.r16[EBP << 1];
      for (let k = 1; k < level; k++) {
        bp = c.ssBig ? (bp - size) | 0 : (bp - size) & 0xffff;
        const v = i.op32 ? c.rd32(SS, bp >>> 0) : c.rd16(SS, bp);
        pushV(c, i, v);
      }
      pushV(c, i, frame);
    }
    // the i386 faults (#PF, #SS) when a write at the final stack pointer would, before
    // committing anything (test386 ENTER page-fault check)
    const sp = c.ssBig ? (c.regs[ESP] - (i.imm & 0xffff)) >>> 0 : (c.r16[ESP << 1] - (i.imm & 0xffff)) & 0xffff;
    c.probeWrite(SS, sp, size);
    if (i.op32) c.regs[EBP] = frame;
    else c.r16[EBP << 1] = frame;
    if (c.ssBig) c.regs[ESP] = sp;
    else c.r16[ESP << 1] = sp;
  });
  add('leave -', (c, i) => {
    if (c.ssBig) c.regs[ESP] = c.regs[EBP];
    else c.r16[ESP << 1] = c.r16[EBP << 1];
    const v = popV(c, i);
    if (i.op32) c.regs[EBP] = v;
    else c.r16[EBP << 1] = v;
  });

  // bit operations
  const btOp = (kind: number, immForm: boolean): Handler => (c, i) => {
    // kind 0 bt 1 bts 2 btr 3 btc
    const w = bits(i);
    let bit: number;
    if (immForm) bit = i.imm & (w - 1);
    else bit = i.op32 ? c.regs[i.reg] : (c.r16[i.reg << 1] << 16) >> 16;
    if (!i.hasMem) {
      bit &= w - 1;
      const v = i.op32 ? c.regs[i.rm] : c.r16[i.rm << 1];
      setFlag(c, CF, (v >>> bit) & 1);
      if (kind === 0) return;
      const r = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
      if (i.op32) c.regs[i.rm] = r;
      else c.r16[i.rm << 1] = r;
      return;
    }
    let off = c.ea(i);
    if (!immForm) {
      const am = i.ad32 ? -1 : 0xffff;
      off = ((off + (w === 32 ? (bit >> 5) * 4 : (bit >> 4) * 2)) & am) >>> 0;
      bit &= w - 1;
    }
    if (kind === 0) {
      const v = i.op32 ? c.rd32(i.seg, off) : c.rd16(i.seg, off);
      setFlag(c, CF, (v >>> bit) & 1);
      return;
    }
    const v = i.op32 ? c.rmw32(i.seg, off) : c.rmw16(i.seg, off);
    setFlag(c, CF, (v >>> bit) & 1);
    const r = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
    if (i.op32) c.commit32(r);
    else c.commit16(r & 0xffff);
  };
  ['bt', 'bts', 'btr', 'btc'].forEach((name, k) => {
    add(`${name} rmv,rv`, btOp(k, false));
    add(`${name} rmv,imm8`, btOp(k, true));
  });
  add('bsf rv,rmv', (c, i) => {
    const v = i.op32 ? rm32(c, i) : rm16(c, i);
    if (v === 0) {
      setFlag(c, ZF, 1);
      return;
    }
    setFlag(c, ZF, 0);
    const r = 31 - Math.clz32(v & -v);
    if (i.op32) c.regs[i.reg] = r;
    else c.r16[i.reg << 1] = r;
  });
  add('bsr rv,rmv', (c, i) => {
    const v = i.op32 ? rm32(c, i) : rm16(c, i);
    if (v === 0) {
      setFlag(c, ZF, 1);
      return;
    }
    setFlag(c, ZF, 0);
    const r = 31 - Math.clz32(v);
    if (i.op32) c.regs[i.reg] = r;
    else c.r16[i.reg << 1] = r;
  });

  // BCD and flags
  add('daa -', daa);
  add('das -', das);
  add('aaa -', aaa);
  add('aas -', aas);
  add('aam imm8', aam);
  add('aad imm8', aad);
  add('salc -', (c) => {
    c.r8[0] = c.getCF() ? 0xff : 0;
  });
  add('clc -', (c) => setFlag(c, CF, 0));
  add('stc -', (c) => setFlag(c, CF, 1));
  add('cmc -', (c) => setFlag(c, CF, c.getCF() ^ 1));
  add('cld -', (c) => {
    c.flagsVal &= ~DF;
  });
  add('std -', (c) => {
    c.flagsVal |= DF;
  });
  const iopl = (c: Cpu) => {
    if (c.pe && c.cpl > ((c.flagsVal >> 12) & 3)) c.gp(0);
  };
  add('cli -', (c) => {
    iopl(c);
    c.flagsVal &= ~IF;
  });
  add('sti -', (c) => {
    iopl(c);
    if (!(c.flagsVal & IF)) c.inhibit = true;
    c.flagsVal |= IF;
  });

  // control transfer
  add('jmp rel8', (c, i) => c.jumpNear(nextIp(c, i, i.imm)));
  add('jmp relv', (c, i) => c.jumpNear(nextIp(c, i, i.imm)));
  add('jmp rmv', (c, i) => c.jumpNear(i.op32 ? rm32(c, i) >>> 0 : rm16(c, i)));
  add('jmp ptr', (c, i) => farJump(c, i.imm2, i.op32 ? i.imm >>> 0 : i.imm & 0xffff, i.op32));
  add('jmp mfar', (c, i) => {
    const sel = farTarget(c, i);
    farJump(c, sel, c.farOff, i.op32);
  });
  add('call relv', (c, i) => {
    const t = nextIp(c, i, i.imm);
    pushV(c, i, c.eip);
    c.jumpNear(t);
  });
  add('call rmv', (c, i) => {
    const t = i.op32 ? rm32(c, i) >>> 0 : rm16(c, i);
    pushV(c, i, c.eip);
    c.jumpNear(t);
  });
  add('call ptr', (c, i) => farCall(c, i.imm2, i.op32 ? i.imm >>> 0 : i.imm & 0xffff, i.op32));
  add('call mfar', (c, i) => {
    const sel = farTarget(c, i);
    farCall(c, sel, c.farOff, i.op32);
  });
  add('ret -', (c, i) => c.jumpNear(i.op32 ? c.pop32() >>> 0 : c.pop16()));
  add('ret imm16', (c, i) => {
    c.jumpNear(i.op32 ? c.pop32() >>> 0 : c.pop16());
    c.addSp(i.imm & 0xffff);
  });
  add('retf -', (c, i) => farRet(c, i.op32, 0));
  add('retf imm16', (c, i) => farRet(c, i.op32, i.imm & 0xffff));
  add('jcxz rel8', loopH(3));
  add('jecxz rel8', loopH(3));
  add('loop rel8', (c, i) => {
    if (i.ad32) {
      if ((c.regs[ECX] = (c.regs[ECX] - 1) | 0) !== 0) c.jumpNear(nextIp(c, i, i.imm));
    } else if ((c.r16[ECX << 1] = c.r16[ECX << 1] - 1) !== 0) c.jumpNear(i.op32 ? (c.eip + i.imm) >>> 0 : (c.eip + i.imm) & 0xffff);
  });
  add('loope rel8', loopH(1));
  add('loopne rel8', loopH(0));
  add('int3 -', (c) => c.interrupt(3, true, false, 0));
  add('int imm8', (c, i) => {
    v86IoplCheck(c);
    c.interrupt(i.imm & 0xff, true, false, 0);
  });
  add('into -', (c) => {
    if (c.getOF()) c.interrupt(4, true, false, 0);
  });
  add('int1 -', (c) => c.interrupt(1, false, false, 0));
  add('iret -', (c, i) => iret(c, i.op32));
  add('iretd -', (c, i) => iret(c, i.op32));
  add('hlt -', (c) => {
    c.halted = true;
    c.blockBreak = true;
  });

  // I/O
  add('in al,imm8', (c, i) => {
    c.ioCheck(i.imm & 0xff, 1);
    c.r8[0] = c.io.in8(i.imm & 0xff);
  });
  add('in eAX,imm8', (c, i) => {
    const p = i.imm & 0xff;
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.regs[0] = c.io.in32(p);
    else c.r16[0] = c.io.in16(p);
  });
  add('in al,dx', (c) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, 1);
    c.r8[0] = c.io.in8(p);
  });
  add('in eAX,dx', (c, i) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.regs[0] = c.io.in32(p);
    else c.r16[0] = c.io.in16(p);
  });
  add('out imm8,al', (c, i) => {
    c.ioCheck(i.imm & 0xff, 1);
    c.io.out8(i.imm & 0xff, c.r8[0]);
  });
  add('out imm8,eAX', (c, i) => {
    const p = i.imm & 0xff;
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.io.out32(p, c.regs[0] >>> 0);
    else c.io.out16(p, c.r16[0]);
  });
  add('out dx,al', (c) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, 1);
    c.io.out8(p, c.r8[0]);
  });
  add('out dx,eAX', (c, i) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.io.out32(p, c.regs[0] >>> 0);
    else c.io.out16(p, c.r16[0]);
  });
  const STR = ['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'];
  STR.forEach((name, k) => {
    add(`${name}b -`, stringOp(k, 1));
    add(`${name}w -`, stringOp(k, 2));
    add(`${name}d -`, stringOp(k, 4));
  });

  // system
  const storeSys = (get: (c: Cpu) => number): Handler => (c, i) => {
    // register forms write the whole register at 32-bit operand size; memory is 16 bits
    if (i.hasMem) c.wr16(i.seg, c.ea(i), get(c) & 0xffff);
    else if (i.op32) c.regs[i.rm] = get(c);
    else c.r16[i.rm << 1] = get(c);
  };
  const sldt = storeSys((c) => c.ldtSel), str = storeSys((c) => c.trSel), smsw = storeSys((c) => c.cr0);
  add('sldt rm16', sldt);
  add('sldt rrv', sldt);
  add('sldt m16', sldt);
  add('str rm16', str);
  add('str rrv', str);
  add('str m16', str);
  add('smsw rm16', smsw);
  add('smsw rrv', smsw);
  add('smsw m16', smsw);
  add('lldt rm16', (c, i) => lldt(c, rm16(c, i)));
  add('ltr rm16', (c, i) => ltr(c, rm16(c, i)));
  add('verr rm16', (c, i) => setFlag(c, ZF, verify(c, rm16(c, i), false)));
  add('verw rm16', (c, i) => setFlag(c, ZF, verify(c, rm16(c, i), true)));
  const sdt = (which: number): Handler => (c, i) => {
    const off = c.ea(i);
    const am = i.ad32 ? -1 : 0xffff;
    const base = which === 0 ? c.gdtBase : c.idtBase;
    const limit = which === 0 ? c.gdtLimit : c.idtLimit;
    c.wr16(i.seg, off, limit);
    c.wr32(i.seg, ((off + 2) & am) >>> 0, i.op32 ? base : base & 0xffffff);
  };
  const ldt = (which: number): Handler => (c, i) => {
    const off = c.ea(i);
    const am = i.ad32 ? -1 : 0xffff;
    const limit = c.rd16(i.seg, off);
    let base = c.rd32(i.seg, ((off + 2) & am) >>> 0);
    if (!i.op32) base &= 0xffffff;
    if (which === 0) {
      c.gdtBase = base;
      c.gdtLimit = limit;
    } else {
      c.idtBase = base;
      c.idtLimit = limit;
    }
  };
  add('sgdt m', sdt(0));
  add('sidt m', sdt(1));
  add('lgdt m', ldt(0));
  add('lidt m', ldt(1));
  add('lmsw rm16', (c, i) => {
    const v = rm16(c, i);
    c.setCr0((c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & CR0_PE));
    c.blockBreak = true;
  });
  add('lar rv,rm16', (c, i) => lar(c, i, rm16(c, i)));
  add('lsl rv,rm16', (c, i) => lsl(c, i, rm16(c, i)));
  add('clts -', (c) => {
    c.cr0 &= ~CR0_TS;
  });

  // x87 (absent)
  for (const name of ['fninit -', 'fnclex -', 'fnstsw ax', 'fnstsw m16', 'fnstcw m16', 'fldcw m16', 'fnsave m', 'frstor m', 'esc -']) {
    add(name, fpu);
  }
  add('wait -', (c) => {
    if ((c.cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) c.fault(NM);
  });
  return m;
}

function wrapAttrs(f: Form, h: Handler): Handler {
  let out = h;
  if (f.attrs.has('cpl0')) {
    const inner = out;
    out = (c, i) => {
      if (c.pe && c.cpl !== 0) c.gp(0);
      inner(c, i);
    };
  }
  if (f.attrs.has('pm')) {
    const inner = out;
    out = (c, i) => {
      if (!c.pe) c.fault(UD);
      inner(c, i);
    };
  }
  return out;
}

export const MISSING_FORMS: string[] = [];

/** Handler per form id (index 0 is also used as a placeholder). */
export function buildHandlers(): Handler[] {
  buildSpecial();
  const named = buildNamed();
  const ud: Handler = (c) => c.fault(UD);
  const out: Handler[] = [];
  for (const f of FORMS) {
    const key = `${f.mnemonic} ${f.operands.length ? f.operands.join(',') : '-'}`;
    const h = named.get(key);
    if (f.attrs.has('prefix') || f.attrs.has('asm')) {
      out.push(ud);
      continue;
    }
    if (!h) {
      MISSING_FORMS.push(key);
      out.push(ud);
      continue;
    }
    if (f.mnemonic === 'in' || f.mnemonic === 'out' || /^(ins|outs)[bwd]$/.test(f.mnemonic)) IO_FORM[f.id] = 1;
    out.push(wrapAttrs(f, h));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// specialised handlers: chosen per decoded instruction (operand size, register or memory)
// for the most frequent forms, so the hot path skips those tests

function aluRR32(op: number, toReg: boolean): Handler | null {
  // toReg: 'rv,rmv' (destination in reg), else 'rmv,rv' (destination in rm)
  const set = (c: Cpu, i: Insn, a: number, b: number, r: number, k: number): void => {
    c.lzOp = k;
    c.lzA = a;
    c.lzB = b;
    c.lzRes = r;
    c.lzTop = 31;
    c.lazy = ARITH;
    if (toReg) c.regs[i.reg] = r;
    else c.regs[i.rm] = r;
  };
  switch (op) {
    case 0: return toReg
      ? (c, i) => { const a = c.regs[i.reg], b = c.regs[i.rm]; set(c, i, a, b, (a + b) | 0, LZ_ADD); }
      : (c, i) => { const a = c.regs[i.rm], b = c.regs[i.reg]; set(c, i, a, b, (a + b) | 0, LZ_ADD); };
    case 5: return toReg
      ? (c, i) => { const a = c.regs[i.reg], b = c.regs[i.rm]; set(c, i, a, b, (a - b) | 0, LZ_SUB); }
      : (c, i) => { const a = c.regs[i.rm], b = c.regs[i.reg]; set(c, i, a, b, (a - b) | 0, LZ_SUB); };
    case 6: return toReg
      ? (c, i) => { const a = c.regs[i.reg], b = c.regs[i.rm]; set(c, i, a, b, a ^ b, LZ_LOGIC); }
      : (c, i) => { const a = c.regs[i.rm], b = c.regs[i.reg]; set(c, i, a, b, a ^ b, LZ_LOGIC); };
    case 7: return toReg
      ? (c, i) => void alu32(c, 7, c.regs[i.reg], c.regs[i.rm])
      : (c, i) => void alu32(c, 7, c.regs[i.rm], c.regs[i.reg]);
    default: return null;
  }
}

/** Per form id: picks a faster handler for one decoded instruction, or null. */
export const SPECIAL: (((i: Insn) => Handler | null) | undefined)[] = [];

function buildSpecial(): void {
  const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  for (const f of FORMS) {
    if (f.attrs.has('asm') || f.attrs.has('prefix')) continue;
    const key = `${f.mnemonic} ${f.operands.join(',')}`;
    const op = ALU.indexOf(f.mnemonic);
    if (op >= 0 && (key.endsWith(' rmv,rv') || key.endsWith(' rv,rmv'))) {
      const toReg = key.endsWith(' rv,rmv');
      const rr = aluRR32(op, toReg);
      const rr16: Handler = toReg
        ? (c, i) => { const r = alu16(c, op, c.r16[i.reg << 1], c.r16[i.rm << 1]); if (op !== 7) c.r16[i.reg << 1] = r; }
        : (c, i) => { const r = alu16(c, op, c.r16[i.rm << 1], c.r16[i.reg << 1]); if (op !== 7) c.r16[i.rm << 1] = r; };
      SPECIAL[f.id] = (i) => (i.hasMem || i.lock ? null : i.op32 ? rr : rr16);
      continue;
    }
    switch (key) {
      case 'mov rv,rmv': {
        const rr: Handler = (c, i) => { c.regs[i.reg] = c.regs[i.rm]; };
        const rm: Handler = (c, i) => { c.regs[i.reg] = c.rd32(i.seg, c.ea(i)); };
        const rr16: Handler = (c, i) => { c.r16[i.reg << 1] = c.r16[i.rm << 1]; };
        const rm16: Handler = (c, i) => { c.r16[i.reg << 1] = c.rd16(i.seg, c.ea(i)); };
        SPECIAL[f.id] = (i) => (i.op32 ? (i.hasMem ? rm : rr) : i.hasMem ? rm16 : rr16);
        break;
      }
      case 'mov rmv,rv': {
        const rr: Handler = (c, i) => { c.regs[i.rm] = c.regs[i.reg]; };
        const mr: Handler = (c, i) => c.wr32(i.seg, c.ea(i), c.regs[i.reg]);
        const rr16: Handler = (c, i) => { c.r16[i.rm << 1] = c.r16[i.reg << 1]; };
        const mr16: Handler = (c, i) => c.wr16(i.seg, c.ea(i), c.r16[i.reg << 1]);
        SPECIAL[f.id] = (i) => (i.op32 ? (i.hasMem ? mr : rr) : i.hasMem ? mr16 : rr16);
        break;
      }
      case 'inc rv': case 'dec rv': {
        const dec = f.mnemonic === 'dec';
        const h: Handler = (c, i) => { c.regs[i.opReg] = incdec(c, c.regs[i.opReg], dec, 31); };
        const h16: Handler = (c, i) => { c.r16[i.opReg << 1] = incdec(c, c.r16[i.opReg << 1], dec, 15); };
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'push rv': {
        const h: Handler = (c, i) => c.push32(c.regs[i.opReg]);
        const h16: Handler = (c, i) => c.push16(c.r16[i.opReg << 1]);
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'pop rv': {
        const h: Handler = (c, i) => { const v = c.pop32(); c.regs[i.opReg] = v; };
        const h16: Handler = (c, i) => { const v = c.pop16(); c.r16[i.opReg << 1] = v; };
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'call relv': {
        const h: Handler = (c, i) => { const t = (c.eip + i.imm) >>> 0; c.push32(c.eip); c.jumpNear(t); };
        const h16: Handler = (c, i) => { const t = (c.eip + i.imm) & 0xffff; c.push16(c.eip); c.jumpNear(t); };
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'ret -': {
        const h: Handler = (c) => c.jumpNear(c.pop32() >>> 0);
        const h16: Handler = (c) => c.jumpNear(c.pop16());
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      default:
        if (/^j[a-z]+ rel(8|v)$/.test(key) && f.mnemonic !== 'jmp' && f.mnemonic !== 'jcxz' && f.mnemonic !== 'jecxz') {
          const cc = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'].indexOf(f.mnemonic.slice(1));
          if (cc < 0) break;
          const h32: Handler = (c, i) => { if (c.cond(cc)) c.jumpNear((c.eip + i.imm) >>> 0); };
          const h16: Handler = (c, i) => { if (c.cond(cc)) c.jumpNear((c.eip + i.imm) & 0xffff); };
          SPECIAL[f.id] = (i) => (i.op32 ? h32 : h16);
        }
    }
  }
}

