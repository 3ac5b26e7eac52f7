// Far JMP, CALL and RET (i386 manual 6.3, 7.5): in real and virtual-8086 addressing a plain
// CS:IP load; in protected mode through a code descriptor, a call gate (one decoder,
// gateTarget, for JMP, CALL and the IDT's interrupt and trap gates), a task gate or a TSS.
//
// Selector error codes follow the i386: #GP/#NP/#TS/#SS(selector & ~3).

import type { Cpu } from './cpu';
import { CS, SS, ESP, NP, SSV } from './consts';
import { descAR, descBase, descLimit, dplOf, isCode, present } from '../mmu/descriptor';
import { nullifyOuterSegments } from '../mmu/segments';
import { commitInnerStack, openInnerStack } from './stack-switch';
import { CALL, JMP, taskGate, taskSwitch } from './task-switch';

/** Reads the descriptor a far JMP or CALL names (into c.dLo/dHi); returns its access rights. */
function readTarget(c: Cpu, sel: number): number {
  if ((sel & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(sel);
  return descAR(c.dHi);
}

/** Checks a code segment a far JMP or CALL names directly (descriptor in c.dLo/dHi), and the
 *  offset into it: the same level, or conforming at or above it. */
function checkCode(c: Cpu, sel: number, ar: number, off: number): void {
  if (!isCode(ar)) c.gp(sel & 0xfffc);
  const dpl = dplOf(ar);
  if (ar & 4) {
    if (dpl > c.cpl) c.gp(sel & 0xfffc);
  } else if ((sel & 3) > c.cpl || dpl !== c.cpl) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  if (off > descLimit(c.dLo, c.dHi)) c.gp(0);
}

/**
 * Decodes a call, interrupt or trap gate (lo, hi) and checks the code segment it names:
 * leaves that segment's descriptor in c.dLo/dHi, the target in c.xfer.gateSel/gateOff, and
 * returns its access rights. `ext` is the EXT bit of the error codes (1 for an event the
 * program did not cause); `jump`: a JMP needs the target at the current level (or
 * conforming), a CALL or an interrupt may go inward.
 */
export function gateTarget(c: Cpu, lo: number, hi: number, ext: number, jump: boolean): number {
  const gsel = (lo >>> 16) & 0xffff;
  const goff = ((lo & 0xffff) | (descAR(hi) & 8 ? hi & 0xffff0000 : 0)) >>> 0;
  if ((gsel & 0xfffc) === 0) c.gp(ext);
  c.readDescriptor(gsel);
  const car = descAR(c.dHi);
  const cdpl = dplOf(car);
  const reachable = jump && (car & 4) === 0 ? cdpl === c.cpl : cdpl <= c.cpl;
  if (!isCode(car) || !reachable) c.gp((gsel & 0xfffc) + ext);
  if (!present(car)) c.fault(NP, (gsel & 0xfffc) + ext, true);
  if (goff > descLimit(c.dLo, c.dHi)) c.gp(0);
  c.xfer.gateSel = gsel;
  c.xfer.gateOff = goff;
  return car;
}

/** Checks a system-descriptor target of JMP/CALL (gate, TSS) and returns its type. */
function systemTarget(c: Cpu, sel: number, ar: number): number {
  const dpl = dplOf(ar);
  if (dpl < c.cpl || dpl < (sel & 3)) c.gp(sel & 0xfffc);
  if (!present(ar)) c.fault(NP, sel & 0xfffc, true);
  return ar & 0xf;
}

/** CS:EIP in real-address and virtual-8086 mode: #GP(0) beyond CS's limit. */
export function loadCsReal(c: Cpu, sel: number, off: number): void {
  if (off >= c.csEnd) c.gp(0);
  c.loadSegReal(CS, sel);
  c.eip = off;
}

export function farJump(c: Cpu, sel: number, off: number, op32: boolean): void {
  if (c.realAddressing) {
    loadCsReal(c, sel, off);
    return;
  }
  const ar = readTarget(c, sel);
  if (ar & 0x10) {
    checkCode(c, sel, ar, off);
    c.loadCsDesc(sel, c.cpl);
    c.eip = off;
    return;
  }
  switch (systemTarget(c, sel, ar)) {
    case 4: case 12:
      gateTarget(c, c.dLo, c.dHi, 0, true);
      c.loadCsDesc(c.xfer.gateSel, c.cpl);
      c.eip = c.xfer.gateOff;
      return;
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

export function farCall(c: Cpu, sel: number, off: number, op32: boolean): void {
  if (c.realAddressing) {
    pushReturn(c, op32);
    loadCsReal(c, sel, off);
    return;
  }
  const ar = readTarget(c, sel);
  if (ar & 0x10) {
    checkCode(c, sel, ar, off);
    const lo = c.dLo, hi = c.dHi;
    pushReturn(c, op32);
    c.dLo = lo;
    c.dHi = hi;
    c.loadCsDesc(sel, c.cpl);
    c.eip = off;
    return;
  }
  const type = systemTarget(c, sel, ar);
  if (type === 5) {
    taskGate(c, CALL);
    return;
  }
  if (type === 1 || type === 9) {
    taskSwitch(c, sel, CALL);
    return;
  }
  if (type !== 4 && type !== 12) c.gp(sel & 0xfffc);
  const size = type === 12 ? 4 : 2;
  const params = c.dHi & 0x1f;
  const car = gateTarget(c, c.dLo, c.dHi, 0, false);
  const gsel = c.xfer.gateSel, goff = c.xfer.gateOff;
  const cdpl = dplOf(car);
  const clo = c.dLo, chi = c.dHi;
  if ((car & 4) === 0 && cdpl < c.cpl) {
    // to an inner level: new stack from the TSS, copy parameters
    const nss = openInnerStack(c, cdpl);
    const stk = c.xfer.stack;
    stk.push(c, c.sel[SS], size);
    stk.push(c, c.regs[ESP], size);
    for (let k = params - 1; k >= 0; k--) {
      const v = size === 4 ? c.peek32(k * 4) : c.peek16(k * 2);
      stk.push(c, v, size);
    }
    stk.push(c, c.sel[CS], size);
    stk.push(c, c.eip, size);
    commitInnerStack(c, nss);
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, cdpl);
  } else {
    pushReturn(c, size === 4);
    c.dLo = clo;
    c.dHi = chi;
    c.loadCsDesc(gsel, c.cpl);
  }
  c.eip = goff;
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
  if (c.realAddressing) {
    const ip = op32 ? c.pop32() >>> 0 : c.pop16();
    const cs = op32 ? c.pop32() & 0xffff : c.pop16();
    loadCsReal(c, cs, ip);
    c.addSp(extra);
    return;
  }
  const size = op32 ? 4 : 2;
  const eip = op32 ? c.peek32(0) >>> 0 : c.peek16(0);
  const cs = (op32 ? c.peek32(4) : c.peek16(2)) & 0xffff;
  const rpl = checkReturnCs(c, cs, eip);
  if (rpl === c.cpl) {
    c.addSp(2 * size + extra);
    c.loadCsDesc(cs, c.cpl);
    c.eip = eip;
    return;
  }
  const esp = op32 ? c.peek32(2 * size + extra) : c.peek16(2 * size + extra);
  const ss = (op32 ? c.peek32(3 * size + extra) : c.peek16(3 * size + extra)) & 0xffff;
  returnToOuter(c, cs, eip, ss, (esp + extra) | 0, rpl, -1);
}

/** Checks the CS:EIP a far RET or IRET returns to (descriptor left in c.dLo/dHi); returns
 *  its RPL, the level returned to. */
export function checkReturnCs(c: Cpu, cs: number, eip: number): number {
  if ((cs & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(cs);
  const ar = descAR(c.dHi);
  const rpl = cs & 3;
  if (rpl < c.cpl || !isCode(ar)) c.gp(cs & 0xfffc);
  const dpl = dplOf(ar);
  if (ar & 4 ? dpl > rpl : dpl !== rpl) c.gp(cs & 0xfffc);
  if (!present(ar)) c.fault(NP, cs & 0xfffc, true);
  if (eip > descLimit(c.dLo, c.dHi)) c.gp(0);
  return rpl;
}

/**
 * The return to an outer level of a far RET or IRET, after checkReturnCs (CS's descriptor
 * in c.dLo/dHi): checks the outer SS, then loads EFLAGS (when flagsMask >= 0), CS:EIP, SS:ESP
 * and nulls the data segments the outer level may not see.
 */
export function returnToOuter(c: Cpu, cs: number, eip: number, ss: number, esp: number, rpl: number, flags: number, flagsMask = -1): void {
  const clo = c.dLo, chi = c.dHi;
  if ((ss & 0xfffc) === 0) c.gp(0);
  c.readDescriptor(ss);
  const sar = descAR(c.dHi);
  if ((ss & 3) !== rpl || dplOf(sar) !== rpl || (sar & 0x1a) !== 0x12) c.gp(ss & 0xfffc);
  if (!present(sar)) c.fault(SSV, ss & 0xfffc, true);
  const slo = c.dLo, shi = c.dHi;
  if (flagsMask !== -1) c.setFlags(flags, flagsMask);
  c.dLo = clo;
  c.dHi = chi;
  c.loadCsDesc(cs, rpl);
  c.eip = eip;
  c.dLo = slo;
  c.dHi = shi;
  c.setAccessed(ss);
  c.setSegCache(SS, ss, descBase(slo, shi), descLimit(slo, shi), descAR(shi));
  if (c.ssBig) c.regs[ESP] = esp;
  else c.r16[ESP << 1] = esp;
  nullifyOuterSegments(c);
}
