// Shifts and rotates, SHLD/SHRD, and the bit instructions (BT/BTS/BTR/BTC, BSF/BSR).

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';
import type { AddHandler, Handler } from './operands';
import { CF, ZF } from '../consts';
import { bits, commitRm16, commitRm32, commitRm8, rm16, rm32, rmwRm16, rmwRm32, rmwRm8, setFlag } from './operands';

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
    case 4: case 6: return shl(c, v, n, bits);
    case 5: return shr(c, v, n, bits);
    default: return sar(c, v, n, bits);
  }
}

// SHL, SHR and SAR on their own (small: the interpreter's loop inlines them), for a count
// n of 1 to 31 (shift() returns v for 0)
export function shl(c: Cpu, v: number, n: number, bits: number): number {
  const top = bits - 1;
  const cf = n > bits ? 0 : n === bits ? v & 1 : (v >>> (bits - n)) & 1;
  const r = n >= bits ? 0 : (v << n) & (bits === 32 ? -1 : (1 << bits) - 1);
  c.setResultFlags(r, top, cf, ((r >>> top) ^ cf) & 1, 0);
  return r;
}
export function shr(c: Cpu, v: number, n: number, bits: number): number {
  const top = bits - 1;
  const cf = n > bits ? 0 : (v >>> (n - 1)) & 1;
  const r = n >= bits ? 0 : (v >>> n) & (bits === 32 ? -1 : (1 << bits) - 1);
  c.setResultFlags(r, top, cf, n === 1 ? (v >>> top) & 1 : 0, 0);
  return r;
}
export function sar(c: Cpu, v: number, n: number, bits: number): number {
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  const sv = bits === 32 ? v | 0 : (v << (32 - bits)) >> (32 - bits);
  let r: number, cf: number;
  if (n >= bits) {
    r = sv < 0 ? mask : 0;
    cf = sv < 0 ? 1 : 0;
  } else {
    r = (sv >> n) & mask;
    cf = (sv >> (n - 1)) & 1;
  }
  c.setResultFlags(r, bits - 1, cf, 0, 0);
  return r;
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

export function addShifts(add: AddHandler): void {
  const SH = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
  SH.forEach((name, op) => {
    for (const [ops, h] of Object.entries(shiftHandlers(op))) add(`${name} ${ops}`, h);
  });
  add('shld rmv,rv,imm8', (c, i) => shld(c, i, i.imm, false));
  add('shld rmv,rv,cl', (c, i) => shld(c, i, c.r8[4], false));
  add('shrd rmv,rv,imm8', (c, i) => shld(c, i, i.imm, true));
  add('shrd rmv,rv,cl', (c, i) => shld(c, i, c.r8[4], true));
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
}
