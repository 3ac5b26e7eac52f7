// Protected-mode segment register loads and their checks (i386 manual 6.3.2): MOV/POP Sreg
// and LxS through a descriptor, and the data segments an outer privilege level may not keep.
// The segment caches themselves are the CPU's (Cpu.setSegCache); far transfers that load CS
// and SS with their own rules are in ../cpu/far-transfer.ts, interrupts.ts, task-switch.ts.

import type { Cpu } from '../cpu/cpu';
import { SS, ES, DS, FS, GS, NP, SSV } from '../cpu/consts';
import { descAR, descBase, descLimit, dplOf, present } from './descriptor';

/** MOV/POP Sreg, LxS in protected mode: a null selector (not for SS), a writable data
 *  segment at CPL for SS, data or readable code visible at max(CPL, RPL) for the others. */
export function loadSegProtected(c: Cpu, s: number, v: number): void {
  const rpl = v & 3;
  if ((v & 0xfffc) === 0) {
    if (s === SS) c.gp(0);
    c.setSegCache(s, v, 0, 0, 0);
    return;
  }
  c.readDescriptor(v);
  const ar = descAR(c.dHi);
  const dpl = dplOf(ar);
  const type = ar & 0x1f;
  if (s === SS) {
    // writable data segment, RPL = DPL = CPL
    if ((type & 0x1a) !== 0x12 || rpl !== c.cpl || dpl !== c.cpl) c.gp(v & 0xfffc);
    if (!present(ar)) c.fault(SSV, v & 0xfffc, true);
  } else {
    // data or readable code
    if ((type & 0x10) === 0 || (type & 0x1a) === 0x18) c.gp(v & 0xfffc);
    // data and non-conforming code: DPL >= max(CPL, RPL)
    if ((type & 0x1c) !== 0x1c && (dpl < c.cpl || dpl < rpl)) c.gp(v & 0xfffc);
    if (!present(ar)) c.fault(NP, v & 0xfffc, true);
  }
  c.setAccessed(v);
  c.setSegCache(s, v, descBase(c.dLo, c.dHi), descLimit(c.dLo, c.dHi), descAR(c.dHi));
}

const DATA_SEGS = [ES, DS, FS, GS];

/** After a return to an outer level: data segments the new CPL may not use become null. */
export function nullifyOuterSegments(c: Cpu): void {
  for (const s of DATA_SEGS) {
    const ar = c.segAR[s];
    const type = ar & 0x1f;
    if (!present(ar)) continue;
    const dataOrNonConf = (type & 0x18) !== 0x18 || (type & 4) === 0;
    if (dataOrNonConf && dplOf(ar) < c.cpl) c.setSegCache(s, 0, 0, 0, 0);
  }
}
