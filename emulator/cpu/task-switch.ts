// Hardware task switch (i386 manual 7.5-7.6): through a TSS descriptor or a task gate, from a
// far JMP or CALL, an interrupt, or IRET with NT back to the previous task; 32-bit and 16-bit
// TSS. The new task's state is read before the old one is saved, so a fault while reading it
// leaves the old task intact.

import type { Cpu } from './cpu';
import { enterV86 } from './v86';
import { noteTaskTrap } from './debug-traps';
import { CS, SS, ES, DS, FS, GS, NT, VM, NP, SSV, TS_V, CR0_TS, CR0_PG } from './consts';
import { descAR, descBase, descLimit, dplOf, isCode, present } from '../mmu/descriptor';

/** What started a task switch: the busy bits and the back link depend on it. */
export const JMP = 0, CALL = 1, IRET = 2, INT = 3;

/** Through the task gate in c.dLo/dHi: checks the TSS descriptor it names and switches. */
export function taskGate(c: Cpu, source: number): void {
  const tsel = (c.dLo >>> 16) & 0xffff;
  if (tsel & 4) c.gp(tsel & 0xfffc);
  c.readDescriptor(tsel);
  const ar = descAR(c.dHi);
  const t = ar & 0x1f;
  if (t !== 1 && t !== 9) c.gp(tsel & 0xfffc);
  if (!present(ar)) c.fault(NP, tsel & 0xfffc, true);
  taskSwitch(c, tsel, source);
}

const SEG_ORDER = [ES, CS, SS, DS, FS, GS];

/** Switches to the task whose TSS descriptor (selector tss) is in c.dLo/dHi. */
export function taskSwitch(c: Cpu, tss: number, source: number): void {
  const ar = descAR(c.dHi);
  const type = ar & 0x1f;
  const newBig = (type & 8) !== 0;
  const newBase = descBase(c.dLo, c.dHi);
  const newLimit = descLimit(c.dLo, c.dHi);
  if (newLimit < (newBig ? 0x67 : 0x2b)) c.fault(TS_V, tss & 0xfffc, true);
  if (!present(ar)) c.fault(NP, tss & 0xfffc, true);
  const newDescAddr = c.descAddr(tss);
  const newHi = c.dHi;

  // read the new task's state first (faults here leave the old task intact)
  const st = c.xfer.task;
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
  const car = descAR(c.dHi);
  if (!isCode(car)) c.fault(TS_V, cs & 0xfffc, true);
  const cdpl = dplOf(car);
  if (car & 4 ? cdpl > (cs & 3) : cdpl !== (cs & 3)) c.fault(TS_V, cs & 0xfffc, true);
  if (!present(car)) c.fault(NP, cs & 0xfffc, true);
  c.loadCsDesc(cs, cs & 3);
  // SS
  const ss = st.segs[SS];
  if ((ss & 0xfffc) === 0) c.fault(TS_V, 0, true);
  c.readDescriptor(ss, TS_V);
  const sar = descAR(c.dHi);
  if ((sar & 0x1a) !== 0x12 || dplOf(sar) !== c.cpl || (ss & 3) !== c.cpl) c.fault(TS_V, ss & 0xfffc, true);
  if (!present(sar)) c.fault(SSV, ss & 0xfffc, true);
  c.setAccessed(ss);
  c.setSegCache(SS, ss, descBase(c.dLo, c.dHi), descLimit(c.dLo, c.dHi), sar);
  for (const s of SEG_ORDER) {
    if (s === CS || s === SS) continue;
    const v = st.segs[s];
    if ((v & 0xfffc) === 0) {
      c.setSegCache(s, v, 0, 0, 0);
      continue;
    }
    c.readDescriptor(v, TS_V);
    const dar = descAR(c.dHi);
    if ((dar & 0x10) === 0 || (dar & 0x1a) === 0x18) c.fault(TS_V, v & 0xfffc, true);
    const ddpl = dplOf(dar);
    if ((dar & 0x1c) !== 0x1c && (ddpl < c.cpl || ddpl < (v & 3))) c.fault(TS_V, v & 0xfffc, true);
    if (!present(dar)) c.fault(NP, v & 0xfffc, true);
    c.setAccessed(v);
    c.setSegCache(s, v, descBase(c.dLo, c.dHi), descLimit(c.dLo, c.dHi), dar);
  }
  c.drChanged();
}

function loadLdtFromTask(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = 0;
    c.ldtLimit = 0;
    return;
  }
  if (sel & 4) c.fault(TS_V, sel & 0xfffc, true);
  c.readDescriptor(sel, TS_V);
  const ar = descAR(c.dHi);
  if ((ar & 0x1f) !== 2) c.fault(TS_V, sel & 0xfffc, true);
  if (!present(ar)) c.fault(TS_V, sel & 0xfffc, true);
  c.ldtSel = sel;
  c.ldtBase = descBase(c.dLo, c.dHi);
  c.ldtLimit = descLimit(c.dLo, c.dHi);
}
