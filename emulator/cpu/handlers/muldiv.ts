// MUL, IMUL (one, two and three operands), DIV, IDIV; 32x32 and 64/32 in two 16-bit steps
// so that every intermediate stays exact in a double.

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';
import type { AddHandler, Handler } from './operands';
import { EAX, EDX, DE } from '../consts';
import { rm16, rm32, rm8 } from './operands';

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

export function addMulDiv(add: AddHandler): void {
  const md = ['mul', 'imul', 'div', 'idiv'];
  md.forEach((name, k) => {
    add(`${name} rm8`, mulDiv(k + 4, 8));
    const h16 = mulDiv(k + 4, 16), h32 = mulDiv(k + 4, 32);
    add(`${name} rmv`, (c, i) => (i.op32 ? h32 : h16)(c, i));
  });
  add('imul rv,rmv', (c, i) => imul2(c, i, c.regs[i.reg], i.op32 ? rm32(c, i) : rm16(c, i)));
  add('imul rv,rmv,simm8', (c, i) => imul2(c, i, i.op32 ? rm32(c, i) : rm16(c, i), i.imm));
  add('imul rv,rmv,immv', (c, i) => imul2(c, i, i.op32 ? rm32(c, i) : rm16(c, i), i.imm));
}
