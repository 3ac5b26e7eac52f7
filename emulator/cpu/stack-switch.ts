// The stack switch of a far CALL through a call gate and of an interrupt to an inner level:
// the inner SS:ESP read from the TSS, the new SS checked, the frame written to a stack that
// is not loaded yet. Also the per-CPU scratch of every protected-mode control transfer
// (far-transfer.ts, interrupts.ts, task-switch.ts): one object per Cpu, so that two machines
// in one process -- one observer hook running the other mid-instruction -- never share it.

import type { Cpu } from './cpu';
import { SS, ESP, SSV, TS_V } from './consts';
import { descAR, descBase, descLimit, dplOf, present } from '../mmu/descriptor';

/** Writes to a stack described by (base, big, limit fields) at offset sp - k: used when
 *  the new stack is not loaded yet. */
export class NewStack {
  base = 0;
  big = false;
  min = 0;
  end = 0;
  sp = 0;
  user = false;
  sel = 0;
  setFromDesc(lo: number, hi: number, sel: number, sp: number): void {
    this.base = descBase(lo, hi);
    const ar = descAR(hi);
    const limit = descLimit(lo, hi);
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
    if (size === 4) {
      if (this.user) c.slowWrite(lin, 4, v | 0);
      else c.sysWrite32(lin, v | 0);
    } else if (this.user) c.slowWrite(lin, 2, v & 0xffff);
    else c.sysWrite16(lin, v & 0xffff);
    this.sp = sp;
  }
}

/** A task's registers as read from its TSS before any of them is loaded. */
export class TaskImage {
  cr3 = 0;
  eip = 0;
  eflags = 0;
  readonly regs = new Int32Array(8);
  readonly segs = new Uint16Array(6);
  ldt = 0;
}

/** Scratch of the protected-mode control transfers, owned by one Cpu (c.xfer). */
export class TransferScratch {
  /** The inner stack from the TSS (tssStack). */
  tssSs = 0;
  tssEsp = 0;
  /** The descriptor of the inner SS (checkInnerSS). */
  ssLo = 0;
  ssHi = 0;
  /** The target of a call, jump or interrupt gate (far-transfer.ts gateTarget). */
  gateSel = 0;
  gateOff = 0;
  readonly stack = new NewStack();
  readonly task = new TaskImage();
}

/** Reads the inner stack pointer for privilege level `dpl` from the current TSS into
 *  c.xfer.tssSs / tssEsp. */
export function tssStack(c: Cpu, dpl: number): void {
  const x = c.xfer;
  const big = c.trType === 9 || c.trType === 11;
  if (big) {
    const at = 4 + dpl * 8;
    if (at + 7 > c.trLimit) c.fault(TS_V, c.trSel & 0xfffc, true);
    x.tssEsp = c.sysRead32((c.trBase + at) | 0) >>> 0;
    x.tssSs = c.sysRead16((c.trBase + at + 4) | 0);
  } else {
    const at = 2 + dpl * 4;
    if (at + 3 > c.trLimit) c.fault(TS_V, c.trSel & 0xfffc, true);
    x.tssEsp = c.sysRead16((c.trBase + at) | 0);
    x.tssSs = c.sysRead16((c.trBase + at + 2) | 0);
  }
}

/** Validates a new inner stack segment (for a stack switch); leaves its descriptor in
 *  c.xfer.ssLo/ssHi. Faults are #TS. */
export function checkInnerSS(c: Cpu, ss: number, dpl: number): void {
  if ((ss & 0xfffc) === 0) c.fault(TS_V, 0, true);
  c.readDescriptor(ss, TS_V);
  const ar = descAR(c.dHi);
  if ((ss & 3) !== dpl || dplOf(ar) !== dpl || (ar & 0x1a) !== 0x12) c.fault(TS_V, ss & 0xfffc, true);
  if (!present(ar)) c.fault(SSV, ss & 0xfffc, true);
  c.xfer.ssLo = c.dLo;
  c.xfer.ssHi = c.dHi;
}

/** Switches to the inner stack prepared in c.xfer (after the frame was written to
 *  c.xfer.stack): loads SS from c.xfer.ssLo/ssHi and ESP from the stack's pointer. */
export function commitInnerStack(c: Cpu, nss: number): void {
  const x = c.xfer;
  c.dLo = x.ssLo;
  c.dHi = x.ssHi;
  c.setAccessed(nss);
  c.setSegCache(SS, nss, descBase(x.ssLo, x.ssHi), descLimit(x.ssLo, x.ssHi), descAR(x.ssHi));
  c.regs[ESP] = x.stack.big ? x.stack.sp : (c.regs[ESP] & ~0xffff) | x.stack.sp;
}

/** Begins an inner-stack frame for privilege level `dpl`: reads and checks the TSS's
 *  SS:ESP and points c.xfer.stack at it. Returns the new SS selector. */
export function openInnerStack(c: Cpu, dpl: number): number {
  tssStack(c, dpl);
  const x = c.xfer;
  const nss = x.tssSs, nesp = x.tssEsp;
  checkInnerSS(c, nss, dpl);
  x.stack.setFromDesc(x.ssLo, x.ssHi, nss, nesp);
  x.stack.user = false;
  return nss;
}
