// Protected-mode control transfers and system instructions: far JMP/CALL/RET through code
// descriptors, call gates and task gates; interrupt/trap/task gates in the IDT with the
// stack switch from the TSS; IRET to an outer level or back to the previous task; hardware
// task switches (32-bit and 16-bit TSS); LLDT, LTR, LAR, LSL, VERR, VERW.
//
// Selector error codes follow the i386: #GP/#NP/#TS/#SS(selector & ~3), IDT errors
// (vector * 8 + 2, + 1 for an external event).

import { Cpu } from '../cpu/cpu';
import type { Insn } from '../cpu/decoder';
import { iretToV86, enterV86 } from '../cpu/v86';
import { noteTaskTrap } from '../cpu/debug-traps';
import {
  CS, SS, ES, DS, FS, GS, ESP, IF, TF, NT, RF, VM, GP, NP, SSV, TS_V, CR0_TS, CR0_PG,
} from '../cpu/consts';

const JMP = 0, CALL = 1, IRET = 2, INT = 3;
const V86_DATA_SEGS = [ES, DS, FS, GS];

function isCode(ar: number): boolean {
  return (ar & 0x18) === 0x18;
}
function present(ar: number): boolean {
  return (ar & 0x80) !== 0;
}
function dplOf(ar: number): number {
  return (ar >> 5) & 3;
}

/** Checks a code-segment target of a far transfer (descriptor in c.dLo/dHi). */
function checkCode(c: Cpu, sel: number, ar: number, exact: boolean, vec = GP): void {
  if (!isCode(ar)) c.fault(vec, sel & 0xfffc, true);
  const dpl = dplOf(ar);
  if (ar & 4) {
    if (dpl > c.cpl) c.fault(vec, sel & 0xfffc, true);
  } else if (exact && ((sel & 3) > c.cpl || dpl !== c.cpl)) c.fault(vec, sel & 0xfffc, true);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
}

export function farJump(c: Cpu, sel: number, off: number, op32: boolean): void {
  if ((sel & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(sel);
  const ar = Cpu.descAR(c.dHi);
  if (ar & 0x10) {
    checkCode(c, sel, ar, true);
    const limit = Cpu.descLimit(c.dLo, c.dHi);
    if (off > limit) c.gp(0);
    c.loadCsDesc(sel, c.cpl);
    c.eip = off;
    return;
  }
  const type = ar & 0xf;
  const dpl = dplOf(ar);
  if (dpl < c.cpl || dpl < (sel & 3)) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  switch (type) {
    case 4: case 12: {
      const gsel = (c.dLo >>> 16) & 0xffff;
      let goff = (c.dLo & 0xffff) | (type === 12 ? c.dHi & 0xffff0000 : 0);
      goff >>>= 0;
      if ((gsel & 0xfffc) === 0) c.gp(0);
      c.readDescriptor(gsel);
      const car = Cpu.descAR(c.dHi);
      if (!isCode(car)) c.gp(gsel & 0xfffc);
      const cdpl = dplOf(car);
      if (car & 4 ? cdpl > c.cpl : cdpl !== c.cpl) c.gp(gsel & 0xfffc);
      if (!present(car)) c.fault(NP, gsel & 0xfffc, true);
      if (goff > Cpu.descLimit(c.dLo, c.dHi)) c.gp(0);
      c.loadCsDesc(gsel, c.cpl);
      c.eip = goff;
      return;
    }
    case 5:
      taskGate(c, JMP);
      return;
    case 1: case 9:
      taskSwitch(c, sel, JMP);
      return;
    default:
      c.gp(sel & 0xfffc);
  }
}

function taskGate(c: Cpu, source: number): void {
  const tsel = (c.dLo >>> 16) & 0xffff;
  if (tsel & 4) c.gp(tsel & 0xfffc);
  c.readDescriptor(tsel);
  const ar = Cpu.descAR(c.dHi);
  const t = ar & 0x1f;
  if (t !== 1 && t !== 9) c.gp(tsel & 0xfffc);
  if (!present(ar)) c.fault(NP, tsel & 0xfffc, true);
  taskSwitch(c, tsel, source);
}

/** Reads the inner stack pointer for privilege level `dpl` from the current TSS. */
function tssStack(c: Cpu, dpl: number): { ss: number; esp: number } {
  const big = c.trType === 9 || c.trType === 11;
  if (big) {
    const at = 4 + dpl * 8;
    if (at + 7 > c.trLimit) c.fault(TS_V, c.trSel & 0xfffc, true);
    tssOut.esp = c.sysRead32((c.trBase + at) | 0) >>> 0;
    tssOut.ss = c.sysRead16((c.trBase + at + 4) | 0);
  } else {
    const at = 2 + dpl * 4;
    if (at + 3 > c.trLimit) c.fault(TS_V, c.trSel & 0xfffc, true);
    tssOut.esp = c.sysRead16((c.trBase + at) | 0);
    tssOut.ss = c.sysRead16((c.trBase + at + 2) | 0);
  }
  return tssOut;
}
const tssOut = { ss: 0, esp: 0 };

/** Validates a new inner stack segment (for a stack switch); leaves its descriptor in
 *  ssLo/ssHi. Faults are #TS. */
let ssLo = 0, ssHi = 0;
function checkInnerSS(c: Cpu, ss: number, dpl: number): void {
  if ((ss & 0xfffc) === 0) c.fault(TS_V, 0, true);
  c.readDescriptor(ss, TS_V);
  const ar = Cpu.descAR(c.dHi);
  if ((ss & 3) !== dpl || dplOf(ar) !== dpl || (ar & 0x1a) !== 0x12) c.fault(TS_V, ss & 0xfffc, true);
  if (!present(ar)) c.fault(SSV, ss & 0xfffc, true);
  ssLo = c.dLo;
  ssHi = c.dHi;
}

/** Writes to a stack described by (base, big, limit fields) at offset sp - k: used when
 *  the new stack is not loaded yet. */
class NewStack {
  base = 0;
  big = false;
  min = 0;
  end = 0;
  sp = 0;
  user = false;
  sel = 0;
  setFromDesc(lo: number, hi: number, sel: number, sp: number): void {
    this.base = Cpu.descBase(lo, hi);
    const ar = Cpu.descAR(hi);
    const limit = Cpu.descLimit(lo, hi);
    this.big = (ar & 0x4000) !== 0;
    if (ar & 4) {
      this.min = limit + 1;
      this.end = this.big ? 0x100000000 : 0x10000;
    } else {
      this.min = 0;
      this.end = limit + 1;
    }
    this.sel = sel;
    this.sp = this.big ? sp >>> 0 : sp & 0xffff;
  }
  setFromCurrent(c: Cpu): void {
    this.base = c.segBase[SS];
    this.big = c.ssBig;
    this.min = c.segMin[SS];
    this.end = c.segEndW[SS];
    this.sel = c.sel[SS];
    this.sp = this.big ? c.regs[ESP] >>> 0 : c.regs[ESP] & 0xffff;
  }
  push(c: Cpu, v: number, size: number): void {
    const sp = this.big ? (this.sp - size) >>> 0 : (this.sp - size) & 0xffff;
    if (sp < this.min || sp + size > this.end) c.fault(SSV, this.sel === c.sel[SS] ? 0 : this.sel & 0xfffc, true);
    const lin = (this.base + sp) | 0;
    if (size === 4) writeStack32(c, lin, v, this.user);
    else writeStack16(c, lin, v, this.user);
    this.sp = sp;
  }
}
function writeStack16(c: Cpu, lin: number, v: number, user: boolean): void {
  if (user) {
    c.slowWrite(lin, 2, v & 0xffff);
  } else c.sysWrite16(lin, v & 0xffff);
}
function writeStack32(c: Cpu, lin: number, v: number, user: boolean): void {
  if (user) c.slowWrite(lin, 4, v | 0);
  else c.sysWrite32(lin, v | 0);
}
const stk = new NewStack();

export function farCall(c: Cpu, sel: number, off: number, op32: boolean): void {
  if ((sel & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(sel);
  const ar = Cpu.descAR(c.dHi);
  if (ar & 0x10) {
    checkCode(c, sel, ar, true);
    if (off > Cpu.descLimit(c.dLo, c.dHi)) c.gp(0);
    const lo = c.dLo, hi = c.dHi;
    pushReturn(c, op32);
    c.dLo = lo;
    c.dHi = hi;
    c.loadCsDesc(sel, c.cpl);
    c.eip = off;
    return;
  }
  const type = ar & 0xf;
  const dpl = dplOf(ar);
  if (dpl < c.cpl || dpl < (sel & 3)) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  if (type === 5) {
    taskGate(c, CALL);
    return;
  }
  if (type === 1 || type === 9) {
    taskSwitch(c, sel, CALL);
    return;
  }
  if (type !== 4 && type !== 12) c.gp(sel & 0xfffc);
  const gate32 = type === 12;
  const gsel = (c.dLo >>> 16) & 0xffff;
  const goff = ((c.dLo & 0xffff) | (gate32 ? c.dHi & 0xffff0000 : 0)) >>> 0;
  const params = c.dHi & 0x1f;
  if ((gsel & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(gsel);
  const car = Cpu.descAR(c.dHi);
  const cdpl = dplOf(car);
  if (!isCode(car) || cdpl > c.cpl) c.gp(gsel & 0xfffc);
  if (!present(car)) c.fault(NP, gsel & 0xfffc, true);
  if (goff > Cpu.descLimit(c.dLo, c.dHi)) c.gp(0);
  const clo = c.dLo, chi = c.dHi;
  const size = gate32 ? 4 : 2;
  if ((car & 4) === 0 && cdpl < c.cpl) {
    // to an inner level: new stack from the TSS, copy parameters
    const t = tssStack(c, cdpl);
    const nss = t.ss, nesp = t.esp;
    checkInnerSS(c, nss, cdpl);
    stk.setFromDesc(ssLo, ssHi, nss, nesp);
    stk.user = false;
    const oldSS = c.sel[SS], oldEsp = c.regs[ESP];
    stk.push(c, oldSS, size);
    stk.push(c, oldEsp, size);
    for (let k = params - 1; k >= 0; k--) {
      const v = size === 4 ? c.peek32(k * 4) : c.peek16(k * 2);
      stk.push(c, v, size);
    }
    stk.push(c, c.sel[CS], size);
    stk.push(c, c.eip, size);
    // commit
    c.dLo = ssLo;
    c.dHi = ssHi;
    c.setAccessed(nss);
    c.setSegCache(SS, nss, Cpu.descBase(ssLo, ssHi), Cpu.descLimit(ssLo, ssHi), Cpu.descAR(ssHi));
    c.regs[ESP] = stk.big ? stk.sp : (c.regs[ESP] & ~0xffff) | stk.sp;
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, cdpl);
    c.eip = goff;
  } else {
    pushReturn(c, size === 4);
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, c.cpl);
    c.eip = goff;
  }
}

/** A far call's return address at the same privilege level: CS then EIP, 16 or 32 bits. */
function pushReturn(c: Cpu, op32: boolean): void {
  if (op32) {
    c.push32(c.sel[CS]);
    c.push32(c.eip);
  } else {
    c.push16(c.sel[CS]);
    c.push16(c.eip);
  }
}

/** RETF (imm): same level, or to an outer level (pops SS:ESP). */
export function farRet(c: Cpu, op32: boolean, extra: number): void {
  const size = op32 ? 4 : 2;
  const eip = op32 ? c.peek32(0) >>> 0 : c.peek16(0);
  const cs = (op32 ? c.peek32(4) : c.peek16(2)) & 0xffff;
  if ((cs & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(cs);
  const ar = Cpu.descAR(c.dHi);
  const rpl = cs & 3;
  if (rpl < c.cpl) c.gp(cs & 0xfffc);
  if (!isCode(ar)) c.gp(cs & 0xfffc);
  const dpl = dplOf(ar);
  if (ar & 4 ? dpl > rpl : dpl !== rpl) c.gp(cs & 0xfffc);
  if (!present(ar)) c.fault(NP, cs & 0xfffc, true);
  if (eip > Cpu.descLimit(c.dLo, c.dHi)) c.gp(0);
  const clo = c.dLo, chi = c.dHi;
  if (rpl === c.cpl) {
    c.addSp(2 * size + extra);
    c.loadCsDesc(cs, c.cpl);
    c.eip = eip;
    return;
  }
  const esp = op32 ? c.peek32(2 * size + extra) : c.peek16(2 * size + extra);
  const ss = (op32 ? c.peek32(3 * size + extra) : c.peek16(3 * size + extra)) & 0xffff;
  // the outer SS, checked against the new CPL
  if ((ss & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(ss);
  const sar = Cpu.descAR(c.dHi);
  if ((ss & 3) !== rpl || dplOf(sar) !== rpl || (sar & 0x1a) !== 0x12) c.gp(ss & 0xfffc);
  if (!present(sar)) c.fault(SSV, ss & 0xfffc, true);
  const slo = c.dLo, shi = c.dHi;
  c.dLo = clo;
  c.dHi = chi;
  c.loadCsDesc(cs, rpl);
  c.eip = eip;
  c.dLo = slo;
  c.dHi = shi;
  c.setAccessed(ss);
  c.setSegCache(SS, ss, Cpu.descBase(slo, shi), Cpu.descLimit(slo, shi), Cpu.descAR(shi));
  if (c.ssBig) c.regs[ESP] = (esp + extra) | 0;
  else c.r16[ESP << 1] = esp + extra;
  c.nullifyOuterSegments();
}

/** IRET in protected mode. */
export function iret(c: Cpu, op32: boolean): void {
  if (c.flagsVal & NT) {
    // return to the previous task through the back link
    const link = c.sysRead16(c.trBase);
    if (link & 4) c.fault(TS_V, link & 0xfffc, true);
    c.readDescriptor(link, TS_V);
    const ar = Cpu.descAR(c.dHi);
    const t = ar & 0x1f;
    if (t !== 3 && t !== 11) c.fault(TS_V, link & 0xfffc, true);
    if (!present(ar)) c.fault(NP, link & 0xfffc, true);
    taskSwitch(c, link, IRET);
    return;
  }
  const size = op32 ? 4 : 2;
  const eip = op32 ? c.peek32(0) >>> 0 : c.peek16(0);
  const cs = (op32 ? c.peek32(4) : c.peek16(2)) & 0xffff;
  const fl = op32 ? c.peek32(8) : c.peek16(4);
  if (op32 && (fl & VM) !== 0 && c.cpl === 0) {
    iretToV86(c);
    return;
  }
  if ((cs & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(cs);
  const ar = Cpu.descAR(c.dHi);
  const rpl = cs & 3;
  if (rpl < c.cpl || !isCode(ar)) c.gp(cs & 0xfffc);
  const dpl = dplOf(ar);
  if (ar & 4 ? dpl > rpl : dpl !== rpl) c.gp(cs & 0xfffc);
  if (!present(ar)) c.fault(NP, cs & 0xfffc, true);
  if (eip > Cpu.descLimit(c.dLo, c.dHi)) c.gp(0);
  const clo = c.dLo, chi = c.dHi;
  // which flags the old CPL may change
  let mask = 0x4dd5 | TF | NT | RF;
  if (c.cpl === 0) mask |= 0x3000;
  if (c.cpl <= ((c.flagsVal >> 12) & 3)) mask |= IF;
  if (!op32) mask &= 0xffff;
  if (rpl === c.cpl) {
    c.addSp(3 * size);
    c.loadCsDesc(cs, c.cpl);
    c.eip = eip;
    c.setFlags(fl, mask);
    return;
  }
  const esp = op32 ? c.peek32(12) : c.peek16(6);
  const ss = (op32 ? c.peek32(16) : c.peek16(8)) & 0xffff;
  if ((ss & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(ss);
  const sar = Cpu.descAR(c.dHi);
  if ((ss & 3) !== rpl || dplOf(sar) !== rpl || (sar & 0x1a) !== 0x12) c.gp(ss & 0xfffc);
  if (!present(sar)) c.fault(SSV, ss & 0xfffc, true);
  const slo = c.dLo, shi = c.dHi;
  c.setFlags(fl, mask);
  c.dLo = clo;
  c.dHi = chi;
  c.loadCsDesc(cs, rpl);
  c.eip = eip;
  c.dLo = slo;
  c.dHi = shi;
  c.setAccessed(ss);
  c.setSegCache(SS, ss, Cpu.descBase(slo, shi), Cpu.descLimit(slo, shi), Cpu.descAR(shi));
  if (c.ssBig) c.regs[ESP] = esp;
  else c.r16[ESP << 1] = esp;
  c.nullifyOuterSegments();
}

/** Interrupt or exception through the IDT. c.eip is the return address. */
export function deliverProtected(c: Cpu, vector: number, software: boolean, hasCode: boolean, code: number): void {
  // EXT (bit 0 of an error code): the event was not caused by the program (an external
  // interrupt or an exception being delivered)
  const ext = software ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > c.idtLimit) c.gp(idtErr);
  const lo = c.sysRead32((c.idtBase + vector * 8) | 0);
  const hi = c.sysRead32((c.idtBase + vector * 8 + 4) | 0);
  const ar = Cpu.descAR(hi);
  const type = ar & 0x1f;
  if (type !== 5 && type !== 6 && type !== 7 && type !== 14 && type !== 15) c.gp(idtErr);
  if (software && dplOf(ar) < c.cpl) c.gp(idtErr);
  if (!present(ar)) c.fault(NP, idtErr, true);
  if (type === 5) {
    c.dLo = lo;
    c.dHi = hi;
    taskGate(c, INT);
    if (hasCode) {
      // the error code goes on the new task's stack
      if (c.ssBig) c.push32(code);
      else c.push16(code);
    }
    return;
  }
  const gate32 = (type & 8) !== 0;
  const size = gate32 ? 4 : 2;
  const gsel = (lo >>> 16) & 0xffff;
  const goff = ((lo & 0xffff) | (gate32 ? hi & 0xffff0000 : 0)) >>> 0;
  if ((gsel & 0xfffc) === 0) c.gp(ext);
  c.readDescriptor(gsel);
  const car = Cpu.descAR(c.dHi);
  const cdpl = dplOf(car);
  if (!isCode(car) || cdpl > c.cpl) c.gp((gsel & 0xfffc) + ext);
  if (!present(car)) c.fault(NP, (gsel & 0xfffc) + ext, true);
  if (goff > Cpu.descLimit(c.dLo, c.dHi)) c.gp(0);
  const clo = c.dLo, chi = c.dHi;
  const flags = c.getFlags();
  const fromV86 = (flags & VM) !== 0;
  // virtual-8086 mode leaves only through a non-conforming ring-0 handler
  if (fromV86 && ((car & 4) !== 0 || cdpl !== 0)) c.gp((gsel & 0xfffc) + ext);
  if ((car & 4) === 0 && cdpl < c.cpl) {
    const t = tssStack(c, cdpl);
    const nss = t.ss, nesp = t.esp;
    checkInnerSS(c, nss, cdpl);
    stk.setFromDesc(ssLo, ssHi, nss, nesp);
    stk.user = false;
    if (fromV86) {
      stk.push(c, c.sel[GS], size);
      stk.push(c, c.sel[FS], size);
      stk.push(c, c.sel[DS], size);
      stk.push(c, c.sel[ES], size);
    }
    stk.push(c, c.sel[SS], size);
    stk.push(c, c.regs[ESP], size);
    stk.push(c, flags, size);
    stk.push(c, c.sel[CS], size);
    stk.push(c, c.eip, size);
    if (hasCode) stk.push(c, code, size);
    c.dLo = ssLo;
    c.dHi = ssHi;
    c.setAccessed(nss);
    c.setSegCache(SS, nss, Cpu.descBase(ssLo, ssHi), Cpu.descLimit(ssLo, ssHi), Cpu.descAR(ssHi));
    c.regs[ESP] = stk.big ? stk.sp : (c.regs[ESP] & ~0xffff) | stk.sp;
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, cdpl);
    if (fromV86) for (const s of V86_DATA_SEGS) c.setSegCache(s, 0, 0, 0, 0);
    else c.nullifyOuterSegments();
  } else {
    if ((car & 4) === 0 && cdpl !== c.cpl) c.gp((gsel & 0xfffc) + ext);
    stk.setFromCurrent(c);
    stk.user = c.cpl === 3;
    stk.push(c, flags, size);
    stk.push(c, c.sel[CS], size);
    stk.push(c, c.eip, size);
    if (hasCode) stk.push(c, code, size);
    if (c.ssBig) c.regs[ESP] = stk.sp;
    else c.r16[ESP << 1] = stk.sp;
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, c.cpl);
  }
  c.eip = goff;
  let clear = TF | NT | RF | VM;
  if ((type & 1) === 0) clear |= IF; // interrupt gate
  c.flagsVal &= ~clear;
}

// ---------------------------------------------------------------------------------------
// task switch

const SEG_ORDER = [ES, CS, SS, DS, FS, GS];

/** Switches to the task whose TSS descriptor (selector tss) is in c.dLo/dHi. */
export function taskSwitch(c: Cpu, tss: number, source: number): void {
  const ar = Cpu.descAR(c.dHi);
  const type = ar & 0x1f;
  const newBig = (type & 8) !== 0;
  const newBase = Cpu.descBase(c.dLo, c.dHi);
  const newLimit = Cpu.descLimit(c.dLo, c.dHi);
  if (newLimit < (newBig ? 0x67 : 0x2b)) c.fault(TS_V, tss & 0xfffc, true);
  if (!present(ar)) c.fault(NP, tss & 0xfffc, true);
  const newDescAddr = c.descAddr(tss);
  const newHi = c.dHi;

  // read the new task's state first (faults here leave the old task intact)
  const st = newState;
  if (newBig) {
    st.cr3 = c.sysRead32((newBase + 0x1c) | 0);
    st.eip = c.sysRead32((newBase + 0x20) | 0) >>> 0;
    st.eflags = c.sysRead32((newBase + 0x24) | 0);
    for (let r = 0; r < 8; r++) st.regs[r] = c.sysRead32((newBase + 0x28 + r * 4) | 0);
    for (let s = 0; s < 6; s++) st.segs[s] = c.sysRead16((newBase + 0x48 + s * 4) | 0);
    st.ldt = c.sysRead16((newBase + 0x60) | 0);
  } else {
    st.cr3 = c.cr3;
    st.eip = c.sysRead16((newBase + 0x0e) | 0);
    st.eflags = c.sysRead16((newBase + 0x10) | 0) | (c.getFlags() & 0xffff0000 & ~VM);
    // a 386 fills the upper halves of the registers with ones (test386 stage 0x22)
    for (let r = 0; r < 8; r++) st.regs[r] = 0xffff0000 | c.sysRead16((newBase + 0x12 + r * 2) | 0);
    for (let s = 0; s < 4; s++) st.segs[s] = c.sysRead16((newBase + 0x22 + s * 2) | 0);
    st.segs[4] = st.segs[5] = 0;
    st.ldt = c.sysRead16((newBase + 0x2a) | 0);
  }

  // save the old task
  const oldBig = c.trType === 9 || c.trType === 11;
  const ob = c.trBase;
  let oflags = c.getFlags();
  if (source === IRET) oflags &= ~NT;
  if (oldBig) {
    c.sysWrite32((ob + 0x20) | 0, c.eip);
    c.sysWrite32((ob + 0x24) | 0, oflags);
    for (let r = 0; r < 8; r++) c.sysWrite32((ob + 0x28 + r * 4) | 0, c.regs[r]);
    for (let s = 0; s < 6; s++) c.sysWrite16((ob + 0x48 + s * 4) | 0, c.sel[s]);
  } else {
    c.sysWrite16((ob + 0x0e) | 0, c.eip);
    c.sysWrite16((ob + 0x10) | 0, oflags);
    for (let r = 0; r < 8; r++) c.sysWrite16((ob + 0x12 + r * 2) | 0, c.regs[r]);
    for (let s = 0; s < 4; s++) c.sysWrite16((ob + 0x22 + s * 2) | 0, c.sel[s]);
  }
  // busy bits
  if (source === JMP || source === IRET) {
    const oldAddr = c.descAddr(c.trSel);
    const b5 = c.sysRead8((oldAddr + 5) | 0);
    c.sysWrite8((oldAddr + 5) | 0, b5 & ~2);
  }
  if (source === CALL || source === INT) {
    c.sysWrite16(newBase, c.trSel);
    st.eflags |= NT;
  }
  if (source !== IRET) c.sysWrite8((newDescAddr + 5) | 0, ((newHi >>> 8) & 0xff) | 2);

  // load the new task
  c.trSel = tss;
  c.trBase = newBase;
  c.trLimit = newLimit;
  c.trType = type | 2;
  if (newBig && (c.cr0 & CR0_PG)) c.setCr3(st.cr3);
  else if (newBig) c.cr3 = st.cr3 & ~0xfff;
  c.cr0 |= CR0_TS;
  c.eip = st.eip;
  c.setFlags(st.eflags, 0x277fd5);
  if (newBig) noteTaskTrap(c, newBase);
  for (let r = 0; r < 8; r++) c.regs[r] = st.regs[r];
  // selectors first, without descriptors (as the i386 does), then validate
  for (let s = 0; s < 6; s++) c.sel[s] = st.segs[s];
  c.ldtSel = st.ldt;
  c.setCpl(st.segs[CS] & 3);
  // LDT
  loadLdtFromTask(c, st.ldt);
  if (c.flagsVal & VM) {
    // a virtual-8086 task: its selectors are paragraph numbers
    const g = st.segs;
    enterV86(c, g[ES], g[CS], g[SS], g[DS], g[FS], g[GS]);
    c.drChanged();
    return;
  }
  // CS
  const cs = st.segs[CS];
  if ((cs & 0xfffc) === 0) c.fault(TS_V, 0, true);
  c.readDescriptor(cs, TS_V);
  const car = Cpu.descAR(c.dHi);
  if (!isCode(car)) c.fault(TS_V, cs & 0xfffc, true);
  const cdpl = dplOf(car);
  if (car & 4 ? cdpl > (cs & 3) : cdpl !== (cs & 3)) c.fault(TS_V, cs & 0xfffc, true);
  if (!present(car)) c.fault(NP, cs & 0xfffc, true);
  c.loadCsDesc(cs, cs & 3);
  // SS
  const ss = st.segs[SS];
  if ((ss & 0xfffc) === 0) c.fault(TS_V, 0, true);
  c.readDescriptor(ss, TS_V);
  const sar = Cpu.descAR(c.dHi);
  if ((sar & 0x1a) !== 0x12 || dplOf(sar) !== c.cpl || (ss & 3) !== c.cpl) c.fault(TS_V, ss & 0xfffc, true);
  if (!present(sar)) c.fault(SSV, ss & 0xfffc, true);
  c.setAccessed(ss);
  c.setSegCache(SS, ss, Cpu.descBase(c.dLo, c.dHi), Cpu.descLimit(c.dLo, c.dHi), sar);
  for (const s of SEG_ORDER) {
    if (s === CS || s === SS) continue;
    const v = st.segs[s];
    if ((v & 0xfffc) === 0) {
      c.setSegCache(s, v, 0, 0, 0);
      continue;
    }
    c.readDescriptor(v, TS_V);
    const dar = Cpu.descAR(c.dHi);
    if ((dar & 0x10) === 0 || (dar & 0x1a) === 0x18) c.fault(TS_V, v & 0xfffc, true);
    const ddpl = dplOf(dar);
    if ((dar & 0x1c) !== 0x1c && (ddpl < c.cpl || ddpl < (v & 3))) c.fault(TS_V, v & 0xfffc, true);
    if (!present(dar)) c.fault(NP, v & 0xfffc, true);
    c.setAccessed(v);
    c.setSegCache(s, v, Cpu.descBase(c.dLo, c.dHi), Cpu.descLimit(c.dLo, c.dHi), dar);
  }
  c.drChanged();
}
const newState = { cr3: 0, eip: 0, eflags: 0, regs: new Int32Array(8), segs: new Uint16Array(6), ldt: 0 };

function loadLdtFromTask(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = 0;
    c.ldtLimit = 0;
    return;
  }
  if (sel & 4) c.fault(TS_V, sel & 0xfffc, true);
  c.readDescriptor(sel, TS_V);
  const ar = Cpu.descAR(c.dHi);
  if ((ar & 0x1f) !== 2) c.fault(TS_V, sel & 0xfffc, true);
  if (!present(ar)) c.fault(TS_V, sel & 0xfffc, true);
  c.ldtSel = sel;
  c.ldtBase = Cpu.descBase(c.dLo, c.dHi);
  c.ldtLimit = Cpu.descLimit(c.dLo, c.dHi);
}

// ---------------------------------------------------------------------------------------
// system instructions

export function lldt(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = 0;
    c.ldtLimit = 0;
    return;
  }
  if (sel & 4) c.gp(sel & 0xfffc);
  c.readDescriptor(sel);
  const ar = Cpu.descAR(c.dHi);
  if ((ar & 0x1f) !== 2) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  c.ldtSel = sel;
  c.ldtBase = Cpu.descBase(c.dLo, c.dHi);
  c.ldtLimit = Cpu.descLimit(c.dLo, c.dHi);
}

export function ltr(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) c.gp(0);
  if (sel & 4) c.gp(sel & 0xfffc);
  c.readDescriptor(sel);
  const ar = Cpu.descAR(c.dHi);
  const t = ar & 0x1f;
  if (t !== 1 && t !== 9) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  c.sysWrite8((c.descAddr(sel) + 5) | 0, ((c.dHi >>> 8) & 0xff) | 2);
  c.trSel = sel;
  c.trBase = Cpu.descBase(c.dLo, c.dHi);
  c.trLimit = Cpu.descLimit(c.dLo, c.dHi);
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
  const ar = Cpu.descAR(c.dHi);
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
  const ar = Cpu.descAR(c.dHi);
  if (ok) {
    if (ar & 0x10) ok = visible(c, sel, ar);
    else ok = [1, 2, 3, 9, 11].includes(ar & 0xf) && visible(c, sel, ar);
  }
  setZ(c, ok);
  if (!ok) return;
  const v = Cpu.descLimit(c.dLo, c.dHi);
  if (i.op32) c.regs[i.reg] = v;
  else c.r16[i.reg << 1] = v;
}

export function verify(c: Cpu, sel: number, write: boolean): boolean {
  if (!peekDescriptor(c, sel)) return false;
  const ar = Cpu.descAR(c.dHi);
  if ((ar & 0x10) === 0) return false;
  if (!visible(c, sel, ar)) return false;
  if (write) return (ar & 0x1a) === 0x12;
  return (ar & 0x18) !== 0x18 || (ar & 2) !== 0;
}

