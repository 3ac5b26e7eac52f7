// String instructions (MOVS CMPS STOS LODS SCAS INS OUTS), with REP done in page-sized bulk
// where nothing can observe the difference.

import type { Cpu } from '../cpu';
import type { AddHandler, Handler } from './operands';
import { ECX, EDX, ESI, EDI, ES, DS, DF } from '../consts';
import { alu16, alu32, alu8 } from './alu';

/** Iterations of a REP string instruction at most per execution: then it ends the block and
 *  runs again with the updated registers (so interrupts are taken between chunks). */
const REP_CHUNK = 4096;

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

/** REP INS/OUTS forward (DF=0) with their memory side in one page of plain RAM, inside the
 *  segment limit: up to `max` port transfers without the per-element translation (a disk
 *  sector is 256 of them); returns how many (0: take the element loop). Updates EDI/ESI.
 *  A port hook sees the element loop (it may look at EDI/ESI between transfers). */
function bulkPort(c: Cpu, ins: boolean, sz: number, seg: number, ad: boolean, max: number): number {
  if (c.hooks !== null && c.hooks.portIo !== undefined) return 0;
  const r = ins ? EDI : ESI, s = ins ? ES : seg;
  const off = idx(c, r, ad);
  const lin = (c.segBase[s] + off) | 0;
  let n = Math.min(max, Math.floor((0x1000 - (lin & 0xfff)) / sz));
  if (!ad) n = Math.min(n, Math.floor((0x10000 - off) / sz));
  if (n <= 1) return 0;
  if (off < c.segMin[s] || off + n * sz > (ins ? c.segEndW[s] : c.segEndR[s])) return 0;
  const need = ins ? c.needW : c.needR;
  const e = c.tlb[lin >>> 12];
  if ((e & need) !== need) return 0;
  const pa = (e & ~0xfff) | (lin & 0xfff), page = pa >>> 12;
  const port = c.r16[EDX << 1], u8 = c.u8;
  let k = 0;
  if (ins) {
    // (a write to decoded code takes the element loop, which invalidates it)
    for (; k < n && c.codePage[page] === 0; k++) {
      const v = inS(c, port, sz), a = pa + k * sz;
      u8[a] = v;
      if (sz > 1) u8[a + 1] = v >> 8;
      if (sz > 2) {
        u8[a + 2] = v >> 16;
        u8[a + 3] = v >> 24;
      }
    }
  } else {
    for (; k < n; k++) {
      const a = pa + k * sz;
      outS(c, port, sz, sz === 1 ? u8[a] : sz === 2 ? u8[a] | (u8[a + 1] << 8) : u8[a] | (u8[a + 1] << 8) | (u8[a + 2] << 16) | (u8[a + 3] << 24));
    }
  }
  setIdx(c, r, ad, ad ? (off + k * sz) | 0 : (off + k * sz) & 0xffff);
  return k;
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
      if (rep && d > 0 && (kind === 0 || kind === 2 || kind >= 5) && cnt > 1) {
        // bulk path: as many whole elements as stay inside one source and one destination
        // page of plain RAM (same result as the element loop; hooks and breakpoints make the
        // TLB check fail, so they always see the element loop)
        const max = Math.min(cnt, REP_CHUNK - k);
        const n = kind >= 5 ? bulkPort(c, kind === 5, sz, seg, ad, max) : bulkString(c, kind, sz, seg, ad, max);
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

export function addStrings(add: AddHandler): void {
  const STR = ['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'];
  STR.forEach((name, k) => {
    add(`${name}b -`, stringOp(k, 1));
    add(`${name}w -`, stringOp(k, 2));
    add(`${name}d -`, stringOp(k, 4));
  });
}
