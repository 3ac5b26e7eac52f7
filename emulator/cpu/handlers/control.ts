// Near jumps, calls, returns and loops; Jcc and SETcc; far JMP/CALL/RET (far-transfer.ts);
// INT, INTO, IRET (interrupts.ts); HLT.

import type { AddHandler, Handler } from './operands';
import { ECX } from '../consts';
import { farCall, farJump, farRet } from '../far-transfer';
import { iret } from '../interrupts';
import { v86IoplCheck } from '../v86';
import { farTarget, nextIp, pushV, rm16, rm32, setRm8 } from './operands';

const jcc = (cc: number): Handler => (c, i) => {
  if (c.cond(cc)) c.jumpNear(nextIp(c, i, i.imm));
};
const setcc = (cc: number): Handler => (c, i) => setRm8(c, i, c.cond(cc) ? 1 : 0);

const loopH = (kind: number): Handler => (c, i) => {
  // kind 0 loopne, 1 loope, 2 loop, 3 jcxz
  let cnt: number;
  if (kind === 3) {
    cnt = i.ad32 ? c.regs[ECX] : c.r16[ECX << 1];
    if (cnt === 0) c.jumpNear(nextIp(c, i, i.imm));
    return;
  }
  if (i.ad32) cnt = c.regs[ECX] = (c.regs[ECX] - 1) | 0;
  else cnt = c.r16[ECX << 1] = c.r16[ECX << 1] - 1;
  if (cnt === 0) return;
  if (kind === 0 && c.getZF()) return;
  if (kind === 1 && !c.getZF()) return;
  c.jumpNear(nextIp(c, i, i.imm));
};

// A direct JMP or CALL in the middle of a block that goes on at its target (cpu.ts
// buildBlock): the block was decoded for a target reached without wrapping IP, so a wrap
// (the same bytes run at another EIP) ends the block and the next is looked up at EIP.
export const JMP_ON: Handler = (c, i) => {
  const t = nextIp(c, i, i.imm);
  const wrapped = t !== c.eip + i.imm;
  c.jumpNear(t);
  if (wrapped) c.blockBreak = true;
};
export const CALL_ON: Handler = (c, i) => {
  const t = nextIp(c, i, i.imm);
  const wrapped = t !== c.eip + i.imm;
  pushV(c, i, c.eip);
  c.jumpNear(t);
  if (wrapped) c.blockBreak = true;
};

export function addControl(add: AddHandler): void {
  const CC = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'];
  CC.forEach((cc, n) => {
    add(`j${cc} rel8`, jcc(n));
    add(`j${cc} relv`, jcc(n));
    add(`set${cc} rm8`, setcc(n));
  });
  add('jmp rel8', (c, i) => c.jumpNear(nextIp(c, i, i.imm)));
  add('jmp relv', (c, i) => c.jumpNear(nextIp(c, i, i.imm)));
  add('jmp rmv', (c, i) => c.jumpNear(i.op32 ? rm32(c, i) >>> 0 : rm16(c, i)));
  add('jmp ptr', (c, i) => farJump(c, i.imm2, i.op32 ? i.imm >>> 0 : i.imm & 0xffff, i.op32));
  add('jmp mfar', (c, i) => {
    const sel = farTarget(c, i);
    farJump(c, sel, c.farOff, i.op32);
  });
  add('call relv', (c, i) => {
    const t = nextIp(c, i, i.imm);
    pushV(c, i, c.eip);
    c.jumpNear(t);
  });
  add('call rmv', (c, i) => {
    const t = i.op32 ? rm32(c, i) >>> 0 : rm16(c, i);
    pushV(c, i, c.eip);
    c.jumpNear(t);
  });
  add('call ptr', (c, i) => farCall(c, i.imm2, i.op32 ? i.imm >>> 0 : i.imm & 0xffff, i.op32));
  add('call mfar', (c, i) => {
    const sel = farTarget(c, i);
    farCall(c, sel, c.farOff, i.op32);
  });
  add('ret -', (c, i) => c.jumpNear(i.op32 ? c.pop32() >>> 0 : c.pop16()));
  add('ret imm16', (c, i) => {
    c.jumpNear(i.op32 ? c.pop32() >>> 0 : c.pop16());
    c.addSp(i.imm & 0xffff);
  });
  add('retf -', (c, i) => farRet(c, i.op32, 0));
  add('retf imm16', (c, i) => farRet(c, i.op32, i.imm & 0xffff));
  add('jcxz rel8', loopH(3));
  add('jecxz rel8', loopH(3));
  add('loop rel8', (c, i) => {
    if (i.ad32) {
      if ((c.regs[ECX] = (c.regs[ECX] - 1) | 0) !== 0) c.jumpNear(nextIp(c, i, i.imm));
    } else if ((c.r16[ECX << 1] = c.r16[ECX << 1] - 1) !== 0) c.jumpNear(i.op32 ? (c.eip + i.imm) >>> 0 : (c.eip + i.imm) & 0xffff);
  });
  add('loope rel8', loopH(1));
  add('loopne rel8', loopH(0));
  add('int3 -', (c) => c.interrupt(3, true, false, 0));
  add('int imm8', (c, i) => {
    v86IoplCheck(c);
    c.interrupt(i.imm & 0xff, true, false, 0);
  });
  add('into -', (c) => {
    if (c.getOF()) c.interrupt(4, true, false, 0);
  });
  add('int1 -', (c) => c.interrupt(1, false, false, 0));
  add('iret -', (c, i) => iret(c, i.op32));
  add('iretd -', (c, i) => iret(c, i.op32));
  add('hlt -', (c) => {
    c.halted = true;
    c.blockBreak = true;
  });
}
