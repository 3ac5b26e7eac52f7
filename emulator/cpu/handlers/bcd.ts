// BCD adjustments (DAA DAS AAA AAS AAM AAD), SALC, and the flag instructions (CLC STC CMC
// CLD STD CLI STI).

import type { Cpu } from '../cpu';
import type { AddHandler, Handler } from './operands';
import { CF, IF, DF, OF, DE } from '../consts';
import { alu8, logicFlags } from './alu';
import { setFlag } from './operands';

function bcdFlags(c: Cpu, al: number, cf: number, af: number): void {
  c.setResultFlags(al, 7, cf, 0, af);
}

const daa: Handler = (c) => {
  const old = c.r8[0], oldCf = c.getCF(), af0 = c.getAF();
  let al = old, cf = 0, af = 0;
  if ((al & 0xf) > 9 || af0) {
    cf = oldCf | (al + 6 > 0xff ? 1 : 0);
    al = (al + 6) & 0xff;
    af = 1;
  }
  if (old > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  }
  c.r8[0] = al;
  bcdFlags(c, al, cf, af);
  // OF undefined; the i386 leaves it as the add/sub that formed the result would: we use
  // the overflow of the adjustment (bit 7 went 0 → 1)
  setFlag(c, OF, (~old & al & 0x80) !== 0);
};
const das: Handler = (c) => {
  const old = c.r8[0], oldCf = c.getCF(), af0 = c.getAF();
  let al = old, cf = 0, af = 0;
  if ((al & 0xf) > 9 || af0) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = 1;
  }
  if (old > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  c.r8[0] = al;
  bcdFlags(c, al, cf, af);
  setFlag(c, OF, (old & ~al & 0x80) !== 0);
};
const aaa: Handler = (c) => {
  let ax = c.r16[0];
  let f = 0;
  if ((ax & 0xf) > 9 || c.getAF()) {
    ax = (ax + 0x106) & 0xffff;
    f = 1;
  }
  c.r16[0] = ax & 0xff0f;
  bcdFlags(c, ax & 0xff, f, f);
};
const aas: Handler = (c) => {
  let ax = c.r16[0];
  let f = 0;
  if ((ax & 0xf) > 9 || c.getAF()) {
    ax = (ax - 6) & 0xffff;
    ax = (ax - 0x100) & 0xffff;
    f = 1;
  }
  c.r16[0] = ax & 0xff0f;
  bcdFlags(c, ax & 0xff, f, f);
};
const aam: Handler = (c, i) => {
  const b = i.imm & 0xff;
  if (b === 0) c.fault(DE);
  const al = c.r8[0];
  c.r8[1] = Math.floor(al / b);
  c.r8[0] = al % b;
  logicFlags(c, c.r8[0], 7);
};
const aad: Handler = (c, i) => {
  const b = i.imm & 0xff;
  const al = c.r8[0], ah = c.r8[1];
  const r = alu8(c, 0, al, (ah * b) & 0xff);
  c.r16[0] = r;
};

export function addBcdAndFlags(add: AddHandler): void {
  add('daa -', daa);
  add('das -', das);
  add('aaa -', aaa);
  add('aas -', aas);
  add('aam imm8', aam);
  add('aad imm8', aad);
  add('salc -', (c) => {
    c.r8[0] = c.getCF() ? 0xff : 0;
  });
  add('clc -', (c) => setFlag(c, CF, 0));
  add('stc -', (c) => setFlag(c, CF, 1));
  add('cmc -', (c) => setFlag(c, CF, c.getCF() ^ 1));
  add('cld -', (c) => {
    c.flagsVal &= ~DF;
  });
  add('std -', (c) => {
    c.flagsVal |= DF;
  });
  const iopl = (c: Cpu) => {
    if (c.pe && c.cpl > ((c.flagsVal >> 12) & 3)) c.gp(0);
  };
  add('cli -', (c) => {
    iopl(c);
    c.flagsVal &= ~IF;
  });
  add('sti -', (c) => {
    iopl(c);
    if (!(c.flagsVal & IF)) c.inhibit = true;
    c.flagsVal |= IF;
  });
}
