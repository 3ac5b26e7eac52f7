// Interrupts and exceptions (i386 manual chapter 9): delivery through the real-mode vector
// table or the IDT (interrupt, trap and task gates, with the stack switch from the TSS and
// the virtual-8086 frame), the double and triple fault, and IRET in every mode.
//
// IDT error codes: vector * 8 + 2, + 1 (EXT) for an event the program did not cause.

import type { Cpu } from './cpu';
import {
  CS, SS, ES, DS, FS, GS, ESP, IF, TF, NT, RF, VM, DE, GP, NP, TS_V, PFV, DF_V,
} from './consts';
import { descAR, dplOf, present } from '../mmu/descriptor';
import { nullifyOuterSegments } from '../mmu/segments';
import { iretInV86, iretToV86 } from './v86';
import { checkReturnCs, gateTarget, loadCsReal, returnToOuter } from './far-transfer';
import { commitInnerStack, openInnerStack } from './stack-switch';
import { INT, IRET, taskGate, taskSwitch } from './task-switch';

const V86_DATA_SEGS = [ES, DS, FS, GS];

/** Delivers interrupt `vector`. software: INT n / INT3 / INTO (privilege checked against
 *  the gate DPL in protected mode); EIP must already be the return address. */
export function deliverInterrupt(c: Cpu, vector: number, software: boolean, hasCode: boolean, code: number): void {
  if (c.hooks?.interrupt) c.hooks.interrupt(vector, software, code);
  c.halted = false;
  if (!c.pe) {
    if (vector * 4 + 3 > c.idtLimit) c.gp(0);
    const flags = c.getFlags();
    const ent = (c.idtBase + vector * 4) | 0;
    const ip = c.sysRead16(ent);
    const cs = c.sysRead16((ent + 2) | 0);
    c.push16(flags);
    c.push16(c.sel[CS]);
    c.push16(c.eip);
    c.flagsVal &= ~(IF | TF | RF);
    c.loadSegReal(CS, cs);
    c.eip = ip;
  } else {
    deliverProtected(c, vector, software, hasCode, code);
  }
}

/** Contributory exceptions (i386 manual 9.8.8): two in a row make a double fault. */
function contributory(v: number): boolean {
  return v === DE || (v >= TS_V && v <= GP);
}

/** Delivers an exception (after a fault object was caught), with double/triple fault. */
export function deliverException(c: Cpu, vector: number, hasCode: boolean, code: number): void {
  c.lastException = vector;
  const esp = c.regs[ESP];
  const f = c.faultState;
  try {
    deliverInterrupt(c, vector, false, hasCode, code);
  } catch (e) {
    if (e !== f) throw e;
    c.regs[ESP] = esp;
    const v2 = f.vector;
    if (vector === DF_V) {
      c.tripleFault();
      return;
    }
    const first = contributory(vector) ? 1 : vector === PFV ? 2 : 0;
    const second = contributory(v2) ? 1 : v2 === PFV ? 2 : 0;
    if ((first === 1 && second === 1) || (first === 2 && second !== 0)) {
      try {
        deliverInterrupt(c, DF_V, false, true, 0);
      } catch (e3) {
        if (e3 !== f) throw e3;
        c.tripleFault();
      }
    } else {
      deliverException(c, v2, f.hasCode, f.code);
    }
  }
}

/** Interrupt or exception through the IDT. c.eip is the return address. */
function deliverProtected(c: Cpu, vector: number, software: boolean, hasCode: boolean, code: number): void {
  // EXT (bit 0 of an error code): the event was not caused by the program (an external
  // interrupt or an exception being delivered)
  const ext = software ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > c.idtLimit) c.gp(idtErr);
  const lo = c.sysRead32((c.idtBase + vector * 8) | 0);
  const hi = c.sysRead32((c.idtBase + vector * 8 + 4) | 0);
  const ar = descAR(hi);
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
  const size = type & 8 ? 4 : 2;
  const car = gateTarget(c, lo, hi, ext, false);
  const gsel = c.xfer.gateSel, goff = c.xfer.gateOff;
  const cdpl = dplOf(car);
  const clo = c.dLo, chi = c.dHi;
  const flags = c.getFlags();
  const fromV86 = (flags & VM) !== 0;
  // virtual-8086 mode leaves only through a non-conforming ring-0 handler
  if (fromV86 && ((car & 4) !== 0 || cdpl !== 0)) c.gp((gsel & 0xfffc) + ext);
  const stk = c.xfer.stack;
  if ((car & 4) === 0 && cdpl < c.cpl) {
    const nss = openInnerStack(c, cdpl);
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
    commitInnerStack(c, nss);
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, cdpl);
    if (fromV86) for (const s of V86_DATA_SEGS) c.setSegCache(s, 0, 0, 0, 0);
    else nullifyOuterSegments(c);
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

/** IRET in real, virtual-8086 and protected mode. */
export function iret(c: Cpu, op32: boolean): void {
  // the NMI handler's IRET lets the next NMI in
  c.nmiBlocked = false;
  if (!c.pe) {
    const ip = op32 ? c.pop32() >>> 0 : c.pop16();
    const cs = op32 ? c.pop32() & 0xffff : c.pop16();
    const fl = op32 ? c.pop32() : c.pop16();
    loadCsReal(c, cs, ip);
    c.setFlags(fl, op32 ? 0x257fd5 : 0x7fd5);
  } else if (c.flagsVal & VM) iretInV86(c, op32);
  else iretProtected(c, op32);
  c.blockBreak = true;
}

function iretProtected(c: Cpu, op32: boolean): void {
  if (c.flagsVal & NT) {
    // return to the previous task through the back link
    const link = c.sysRead16(c.trBase);
    if (link & 4) c.fault(TS_V, link & 0xfffc, true);
    c.readDescriptor(link, TS_V);
    const ar = descAR(c.dHi);
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
  const rpl = checkReturnCs(c, cs, eip);
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
  returnToOuter(c, cs, eip, ss, esp, rpl, fl, mask);
}
