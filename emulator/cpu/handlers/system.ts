// System instructions: SLDT/STR/SMSW, LLDT/LTR/LAR/LSL/VERR/VERW (descriptor-insns.ts),
// SGDT/SIDT/LGDT/LIDT, LMSW, CLTS; the absent x87 (ESC and WAIT raise #NM as CR0 asks).

import type { Cpu } from '../cpu';
import type { AddHandler, Handler } from './operands';
import { ZF, CR0_EM, CR0_TS, CR0_MP, CR0_PE, NM } from '../consts';
import { lar, lldt, lsl, ltr, verify } from '../descriptor-insns';
import { rm16, setFlag } from './operands';

// x87 absent: ESC does nothing unless CR0.EM or CR0.TS asks for #NM
const fpu: Handler = (c) => {
  if (c.cr0 & (CR0_EM | CR0_TS)) c.fault(NM);
};

export function addSystem(add: AddHandler): void {
  const storeSys = (get: (c: Cpu) => number): Handler => (c, i) => {
    // register forms write the whole register at 32-bit operand size; memory is 16 bits
    if (i.hasMem) c.wr16(i.seg, c.ea(i), get(c) & 0xffff);
    else if (i.op32) c.regs[i.rm] = get(c);
    else c.r16[i.rm << 1] = get(c);
  };
  const sldt = storeSys((c) => c.ldtSel), str = storeSys((c) => c.trSel), smsw = storeSys((c) => c.cr0);
  add('sldt rm16', sldt);
  add('sldt rrv', sldt);
  add('sldt m16', sldt);
  add('str rm16', str);
  add('str rrv', str);
  add('str m16', str);
  add('smsw rm16', smsw);
  add('smsw rrv', smsw);
  add('smsw m16', smsw);
  add('lldt rm16', (c, i) => lldt(c, rm16(c, i)));
  add('ltr rm16', (c, i) => ltr(c, rm16(c, i)));
  add('verr rm16', (c, i) => setFlag(c, ZF, verify(c, rm16(c, i), false)));
  add('verw rm16', (c, i) => setFlag(c, ZF, verify(c, rm16(c, i), true)));
  const sdt = (which: number): Handler => (c, i) => {
    const off = c.ea(i);
    const am = i.ad32 ? -1 : 0xffff;
    const base = which === 0 ? c.gdtBase : c.idtBase;
    const limit = which === 0 ? c.gdtLimit : c.idtLimit;
    c.wr16(i.seg, off, limit);
    c.wr32(i.seg, ((off + 2) & am) >>> 0, i.op32 ? base : base & 0xffffff);
  };
  const ldt = (which: number): Handler => (c, i) => {
    const off = c.ea(i);
    const am = i.ad32 ? -1 : 0xffff;
    const limit = c.rd16(i.seg, off);
    let base = c.rd32(i.seg, ((off + 2) & am) >>> 0);
    if (!i.op32) base &= 0xffffff;
    if (which === 0) {
      c.gdtBase = base;
      c.gdtLimit = limit;
    } else {
      c.idtBase = base;
      c.idtLimit = limit;
    }
  };
  add('sgdt m', sdt(0));
  add('sidt m', sdt(1));
  add('lgdt m', ldt(0));
  add('lidt m', ldt(1));
  add('lmsw rm16', (c, i) => {
    const v = rm16(c, i);
    c.setCr0((c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & CR0_PE));
    c.blockBreak = true;
  });
  add('lar rv,rm16', (c, i) => lar(c, i, rm16(c, i)));
  add('lsl rv,rm16', (c, i) => lsl(c, i, rm16(c, i)));
  add('clts -', (c) => {
    c.cr0 &= ~CR0_TS;
  });
  // x87 (absent)
  for (const name of ['fninit -', 'fnclex -', 'fnstsw ax', 'fnstsw m16', 'fnstcw m16', 'fldcw m16', 'fnsave m', 'frstor m', 'esc -']) {
    add(name, fpu);
  }
  add('wait -', (c) => {
    if ((c.cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) c.fault(NM);
  });
}
