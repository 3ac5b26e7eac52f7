// The descriptor-table instructions (i386 manual 6.3.1, chapter 17): LLDT and LTR load the
// LDT and task registers; LAR, LSL, VERR and VERW report on a selector through ZF and never
// fault for one they cannot reach (null, beyond its table, in the LDT while LDTR is null).

import type { Cpu } from './cpu';
import type { Insn } from './decoder';
import { NP } from './consts';
import { descAR, descBase, descLimit, dplOf, present } from '../mmu/descriptor';

export function lldt(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = 0;
    c.ldtLimit = 0;
    return;
  }
  if (sel & 4) c.gp(sel & 0xfffc);
  c.readDescriptor(sel);
  const ar = descAR(c.dHi);
  if ((ar & 0x1f) !== 2) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  c.ldtSel = sel;
  c.ldtBase = descBase(c.dLo, c.dHi);
  c.ldtLimit = descLimit(c.dLo, c.dHi);
}

export function ltr(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) c.gp(0);
  if (sel & 4) c.gp(sel & 0xfffc);
  c.readDescriptor(sel);
  const ar = descAR(c.dHi);
  const t = ar & 0x1f;
  if (t !== 1 && t !== 9) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  c.sysWrite8((c.descAddr(sel) + 5) | 0, ((c.dHi >>> 8) & 0xff) | 2);
  c.trSel = sel;
  c.trBase = descBase(c.dLo, c.dHi);
  c.trLimit = descLimit(c.dLo, c.dHi);
  c.trType = t | 2;
}

/** Reads a descriptor for LAR/LSL/VERR/VERW: false (ZF clear, no fault) for a selector
 *  they cannot reach: null, beyond its table, or in the LDT while LDTR is null. */
function peekDescriptor(c: Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  const idx = sel & 0xfff8;
  const limit = sel & 4 ? (c.ldtSel & 0xfffc ? c.ldtLimit : -1) : c.gdtLimit;
  if (idx + 7 > limit) return false;
  c.readDescriptor(sel);
  return true;
}

function visible(c: Cpu, sel: number, ar: number): boolean {
  const dpl = dplOf(ar);
  if ((ar & 0x1c) === 0x1c) return true; // conforming code
  return dpl >= c.cpl && dpl >= (sel & 3);
}

function setZ(c: Cpu, on: boolean): void {
  c.materialize(0x40);
  if (on) c.flagsVal |= 0x40;
  else c.flagsVal &= ~0x40;
}

export function lar(c: Cpu, i: Insn, sel: number): void {
  let ok = peekDescriptor(c, sel);
  const ar = descAR(c.dHi);
  if (ok) {
    if (ar & 0x10) ok = visible(c, sel, ar);
    else ok = [1, 2, 3, 4, 5, 9, 11, 12].includes(ar & 0xf) && visible(c, sel, ar);
  }
  setZ(c, ok);
  if (!ok) return;
  const v = c.dHi & (i.op32 ? 0x00f0ff00 : 0xff00);
  if (i.op32) c.regs[i.reg] = v;
  else c.r16[i.reg << 1] = v;
}

export function lsl(c: Cpu, i: Insn, sel: number): void {
  let ok = peekDescriptor(c, sel);
  const ar = descAR(c.dHi);
  if (ok) {
    if (ar & 0x10) ok = visible(c, sel, ar);
    else ok = [1, 2, 3, 9, 11].includes(ar & 0xf) && visible(c, sel, ar);
  }
  setZ(c, ok);
  if (!ok) return;
  const v = descLimit(c.dLo, c.dHi);
  if (i.op32) c.regs[i.reg] = v;
  else c.r16[i.reg << 1] = v;
}

export function verify(c: Cpu, sel: number, write: boolean): boolean {
  if (!peekDescriptor(c, sel)) return false;
  const ar = descAR(c.dHi);
  if ((ar & 0x10) === 0) return false;
  if (!visible(c, sel, ar)) return false;
  if (write) return (ar & 0x1a) === 0x12;
  return (ar & 0x18) !== 0x18 || (ar & 2) !== 0;
}

