// Data movement: MOV in all its forms (segment, control, debug and test registers), MOVZX,
// MOVSX, XCHG, LEA, LDS/LES/LSS/LFS/LGS, PUSH/POP (also PUSHA, PUSHF/POPF), ENTER/LEAVE,
// SAHF/LAHF, CBW/CWDE/CWD/CDQ, XLAT, BOUND, ARPL.

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';
import type { AddHandler, Handler } from './operands';
import { EDX, EBX, ESP, EBP, ES, CS, SS, DS, CF, PF, AF, ZF, SF, TF, IF, UD, BR } from '../consts';
import { checkGeneralDetect } from '../debug-traps';
import { v86IoplCheck } from '../v86';
import { R8, commitRm16, commitRm32, commitRm8, farTarget, popV, pushV, rm16, rm32, rm8, rmwRm16, rmwRm32, rmwRm8, setFlag, setRm16, setRm32, setRm8 } from './operands';

function loadFarPtr(s: number): Handler {
  return (c, i) => {
    const sel = farTarget(c, i);
    const off = c.farOff;
    c.loadSeg(s, sel);
    if (i.op32) c.regs[i.reg] = off;
    else c.r16[i.reg << 1] = off;
  };
}

function popfH(c: Cpu, i: Insn): void {
  v86IoplCheck(c);
  const v = popV(c, i);
  let mask = 0x4dd5 | TF | IF | 0x3000;
  if (c.pe) {
    if (c.cpl > 0) mask &= ~0x3000;
    if (c.cpl > ((c.flagsVal >> 12) & 3)) mask &= ~IF;
  }
  if (!i.op32) mask &= 0xffff;
  c.setFlags(v, mask);
  c.blockBreak = true;
}

export function addMoves(add: AddHandler): void {
  add('mov rm8,r8', (c, i) => setRm8(c, i, c.r8[R8[i.reg]]));
  add('mov rmv,rv', (c, i) => {
    if (i.op32) setRm32(c, i, c.regs[i.reg]);
    else setRm16(c, i, c.r16[i.reg << 1]);
  });
  add('mov r8,rm8', (c, i) => {
    c.r8[R8[i.reg]] = rm8(c, i);
  });
  add('mov rv,rmv', (c, i) => {
    if (i.op32) c.regs[i.reg] = rm32(c, i);
    else c.r16[i.reg << 1] = rm16(c, i);
  });
  add('mov rrv,sreg', (c, i) => {
    if (i.reg > 5) c.fault(UD);
    if (i.op32) c.regs[i.rm] = c.sel[i.reg];
    else c.r16[i.rm << 1] = c.sel[i.reg];
  });
  add('mov m16,sreg', (c, i) => {
    if (i.reg > 5) c.fault(UD);
    c.wr16(i.seg, c.ea(i), c.sel[i.reg]);
  });
  const movSreg: Handler = (c, i) => {
    if (i.reg > 5 || i.reg === CS) c.fault(UD);
    c.loadSeg(i.reg, i.hasMem ? c.rd16(i.seg, c.ea(i)) : c.r16[i.rm << 1]);
    if (i.reg === SS) c.inhibit = true;
  };
  add('mov sreg,rrw', movSreg);
  add('mov sreg,m16', movSreg);
  add('mov al,moffs8', (c, i) => {
    c.r8[0] = c.rd8(i.seg, i.ad32 ? i.imm >>> 0 : i.imm & 0xffff);
  });
  add('mov eAX,moffsv', (c, i) => {
    const off = i.ad32 ? i.imm >>> 0 : i.imm & 0xffff;
    if (i.op32) c.regs[0] = c.rd32(i.seg, off);
    else c.r16[0] = c.rd16(i.seg, off);
  });
  add('mov moffs8,al', (c, i) => c.wr8(i.seg, i.ad32 ? i.imm >>> 0 : i.imm & 0xffff, c.r8[0]));
  add('mov moffsv,eAX', (c, i) => {
    const off = i.ad32 ? i.imm >>> 0 : i.imm & 0xffff;
    if (i.op32) c.wr32(i.seg, off, c.regs[0]);
    else c.wr16(i.seg, off, c.r16[0]);
  });
  add('mov r8,imm8', (c, i) => {
    c.r8[R8[i.opReg]] = i.imm;
  });
  add('mov rv,immv', (c, i) => {
    if (i.op32) c.regs[i.opReg] = i.imm;
    else c.r16[i.opReg << 1] = i.imm;
  });
  add('mov rm8,imm8', (c, i) => setRm8(c, i, i.imm));
  add('mov rmv,immv', (c, i) => {
    if (i.op32) setRm32(c, i, i.imm);
    else setRm16(c, i, i.imm);
  });
  add('mov rr32,cr', (c, i) => {
    const r = i.reg;
    if (r === 0) c.regs[i.rm] = c.cr0;
    else if (r === 2) c.regs[i.rm] = c.cr2;
    else if (r === 3) c.regs[i.rm] = c.cr3;
    else c.fault(UD);
  });
  add('mov cr,rr32', (c, i) => {
    const r = i.reg, v = c.regs[i.rm];
    if (r === 0) c.setCr0(v);
    else if (r === 2) c.cr2 = v;
    else if (r === 3) c.setCr3(v);
    else c.fault(UD);
    c.blockBreak = true;
  });
  add('mov rr32,dr', (c, i) => {
    checkGeneralDetect(c);
    const r = i.reg === 4 ? 6 : i.reg === 5 ? 7 : i.reg;
    c.regs[i.rm] = c.dr[r];
  });
  add('mov dr,rr32', (c, i) => {
    checkGeneralDetect(c);
    const r = i.reg === 4 ? 6 : i.reg === 5 ? 7 : i.reg;
    c.dr[r] = c.regs[i.rm];
    if (r === 7) c.drChanged();
    c.blockBreak = true;
  });
  add('mov rr32,tr', (c, i) => {
    c.regs[i.rm] = c.trReg[i.reg];
  });
  add('mov tr,rr32', (c, i) => {
    c.trReg[i.reg] = c.regs[i.rm];
  });
  add('movzx rv,rm8', (c, i) => {
    if (i.op32) c.regs[i.reg] = rm8(c, i);
    else c.r16[i.reg << 1] = rm8(c, i);
  });
  add('movzx rv,rm16', (c, i) => {
    if (i.op32) c.regs[i.reg] = rm16(c, i);
    else c.r16[i.reg << 1] = rm16(c, i);
  });
  add('movsx rv,rm8', (c, i) => {
    const v = (rm8(c, i) << 24) >> 24;
    if (i.op32) c.regs[i.reg] = v;
    else c.r16[i.reg << 1] = v;
  });
  add('movsx rv,rm16', (c, i) => {
    const v = (rm16(c, i) << 16) >> 16;
    if (i.op32) c.regs[i.reg] = v;
    else c.r16[i.reg << 1] = v;
  });
  add('nop -', () => {});
  add('xchg eAX,rv', (c, i) => {
    const r = i.opReg;
    if (i.op32) {
      const t = c.regs[0];
      c.regs[0] = c.regs[r];
      c.regs[r] = t;
    } else {
      const t = c.r16[0];
      c.r16[0] = c.r16[r << 1];
      c.r16[r << 1] = t;
    }
  });
  add('xchg rm8,r8', (c, i) => {
    const v = rmwRm8(c, i);
    commitRm8(c, i, c.r8[R8[i.reg]]);
    c.r8[R8[i.reg]] = v;
  });
  add('xchg rmv,rv', (c, i) => {
    if (i.op32) {
      const v = rmwRm32(c, i);
      commitRm32(c, i, c.regs[i.reg]);
      c.regs[i.reg] = v;
    } else {
      const v = rmwRm16(c, i);
      commitRm16(c, i, c.r16[i.reg << 1]);
      c.r16[i.reg << 1] = v;
    }
  });
  add('lea rv,m', (c, i) => {
    const a = c.ea(i);
    if (i.op32) c.regs[i.reg] = a;
    else c.r16[i.reg << 1] = a;
  });
  add('les rv,mfar', loadFarPtr(ES));
  add('lds rv,mfar', loadFarPtr(DS));
  add('lss rv,mfar', loadFarPtr(SS));
  add('lfs rv,mfar', loadFarPtr(4));
  add('lgs rv,mfar', loadFarPtr(5));
  add('push rv', (c, i) => {
    if (i.op32) c.push32(c.regs[i.opReg]);
    else c.push16(c.r16[i.opReg << 1]);
  });
  add('pop rv', (c, i) => {
    if (i.op32) {
      const v = c.pop32();
      c.regs[i.opReg] = v;
    } else {
      const v = c.pop16();
      c.r16[i.opReg << 1] = v;
    }
  });
  add('push rmv', (c, i) => pushV(c, i, i.op32 ? rm32(c, i) : rm16(c, i)));
  add('pop rmv', (c, i) => {
    if (i.reg !== 0) c.fault(UD);
    const v = popV(c, i);
    if (i.op32) setRm32(c, i, v);
    else setRm16(c, i, v);
  });
  add('push simm8', (c, i) => pushV(c, i, i.imm));
  add('push immv', (c, i) => pushV(c, i, i.imm));
  for (const [name, s] of [['es', 0], ['cs', 1], ['ss', 2], ['ds', 3], ['fs', 4], ['gs', 5]] as const) {
    add(`push ${name}`, (c, i) => pushV(c, i, c.sel[s]));
    if (s !== CS) {
      add(`pop ${name}`, (c, i) => {
        const v = i.op32 ? c.peek32(0) & 0xffff : c.peek16(0);
        // the old stack's size steps SP or ESP (POP SS may change it)
        const big = c.ssBig;
        c.loadSeg(s, v);
        if (big) c.regs[ESP] = (c.regs[ESP] + (i.op32 ? 4 : 2)) | 0;
        else c.r16[ESP << 1] = c.regs[ESP] + (i.op32 ? 4 : 2);
        if (s === SS) c.inhibit = true;
      });
    }
  }
  const pusha: Handler = (c, i) => {
    const sp = c.regs[ESP];
    for (let r = 0; r < 8; r++) {
      const v = r === ESP ? sp : c.regs[r];
      pushV(c, i, v);
    }
  };
  const popa: Handler = (c, i) => {
    for (let r = 7; r >= 0; r--) {
      const v = popV(c, i);
      if (r === ESP) continue;
      if (i.op32) c.regs[r] = v;
      else c.r16[r << 1] = v;
    }
  };
  add('pusha -', pusha);
  add('pushad -', pusha);
  add('popa -', popa);
  add('popad -', popa);
  const pushf: Handler = (c, i) => {
    v86IoplCheck(c);
    pushV(c, i, c.getFlags() & 0x7fd7);
  };
  add('pushf -', pushf);
  add('pushfd -', pushf);
  add('popf -', popfH);
  add('popfd -', popfH);
  add('sahf -', (c) => c.setFlags(c.r8[1], SF | ZF | AF | PF | CF));
  add('lahf -', (c) => {
    c.r8[1] = (c.getFlags() & 0xd5) | 2;
  });
  add('cbw -', (c) => {
    c.r16[0] = (c.r8[0] << 24) >> 24;
  });
  add('cwde -', (c) => {
    c.regs[0] = (c.r16[0] << 16) >> 16;
  });
  add('cwd -', (c) => {
    c.r16[EDX << 1] = c.r16[0] & 0x8000 ? 0xffff : 0;
  });
  add('cdq -', (c) => {
    c.regs[EDX] = c.regs[0] >> 31;
  });
  add('xlatb -', (c, i) => {
    const seg = i.segOverride >= 0 ? i.segOverride : DS;
    const off = i.ad32 ? (c.regs[EBX] + c.r8[0]) >>> 0 : (c.r16[EBX << 1] + c.r8[0]) & 0xffff;
    c.r8[0] = c.rd8(seg, off);
  });
  add('bound rv,m', (c, i) => {
    const off = c.ea(i);
    const am = i.ad32 ? -1 : 0xffff;
    let v: number, lo: number, hi: number;
    if (i.op32) {
      v = c.regs[i.reg];
      lo = c.rd32(i.seg, off);
      hi = c.rd32(i.seg, ((off + 4) & am) >>> 0);
    } else {
      v = (c.r16[i.reg << 1] << 16) >> 16;
      lo = (c.rd16(i.seg, off) << 16) >> 16;
      hi = (c.rd16(i.seg, ((off + 2) & am) >>> 0) << 16) >> 16;
    }
    if (v < lo || v > hi) c.fault(BR);
  });
  add('arpl rm16,r16', (c, i) => {
    // a 386 reads the operand and writes it only when the RPL changes (test386 ARPL: a
    // read-only destination with nothing to change does not fault)
    const d = rm16(c, i), s = c.r16[i.reg << 1];
    if ((d & 3) < (s & 3)) {
      setRm16(c, i, (d & ~3) | (s & 3));
      setFlag(c, ZF, 1);
    } else setFlag(c, ZF, 0);
  });
  add('enter imm16,imm8', (c, i) => {
    const size = i.op32 ? 4 : 2;
    const level = i.imm2 & 31;
    pushV(c, i, c.regs[EBP]);
    // the whole ESP, also on a 16-bit stack (test386 ENTER: o32 enter on SS.B = 0 keeps
    // ESP's high half in the frame pointer)
    const frame = c.regs[ESP];
    if (level > 0) {
      let bp = c.ssBig ? c.regs[EBP] : c.r16[EBP << 1];
      for (let k = 1; k < level; k++) {
        bp = c.ssBig ? (bp - size) | 0 : (bp - size) & 0xffff;
        const v = i.op32 ? c.rd32(SS, bp >>> 0) : c.rd16(SS, bp);
        pushV(c, i, v);
      }
      pushV(c, i, frame);
    }
    // the i386 faults (#PF, #SS) when a write at the final stack pointer would, before
    // committing anything (test386 ENTER page-fault check)
    const sp = c.ssBig ? (c.regs[ESP] - (i.imm & 0xffff)) >>> 0 : (c.r16[ESP << 1] - (i.imm & 0xffff)) & 0xffff;
    c.probeWrite(SS, sp, size);
    if (i.op32) c.regs[EBP] = frame;
    else c.r16[EBP << 1] = frame;
    if (c.ssBig) c.regs[ESP] = sp;
    else c.r16[ESP << 1] = sp;
  });
  add('leave -', (c, i) => {
    if (c.ssBig) c.regs[ESP] = c.regs[EBP];
    else c.r16[ESP << 1] = c.r16[EBP << 1];
    const v = popV(c, i);
    if (i.op32) c.regs[EBP] = v;
    else c.r16[EBP << 1] = v;
  });
}
