// Add, subtract and logic (with their flags), TEST, NOT, NEG, INC, DEC.

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';
import type { AddHandler, Handler } from './operands';
import { CF, ARITH, LZ_ADD, LZ_SUB, LZ_LOGIC } from '../consts';
import { R8, commitRm16, commitRm32, commitRm8, rm16, rm32, rm8, rmwRm16, rmwRm32, rmwRm8 } from './operands';

/** Records the lazy flags of an add, subtract or logic result (operands a, b; kind k: LZ_*;
 *  top: the sign bit, 7/15/31). */
export function setArith(c: Cpu, a: number, b: number, r: number, k: number, top: number): void {
  c.lzOp = k;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzTop = top;
  c.lazy = ARITH;
}

export function alu8(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case 0: r = (a + b) & 0xff; k = LZ_ADD; break;
    case 1: r = a | b; k = LZ_LOGIC; break;
    case 2: r = (a + b + c.getCF()) & 0xff; k = LZ_ADD; break;
    case 3: r = (a - b - c.getCF()) & 0xff; k = LZ_SUB; break;
    case 4: r = a & b; k = LZ_LOGIC; break;
    case 6: r = a ^ b; k = LZ_LOGIC; break;
    default: r = (a - b) & 0xff; k = LZ_SUB; break;
  }
  setArith(c, a, b, r, k, 7);
  return r;
}
export function alu16(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case 0: r = (a + b) & 0xffff; k = LZ_ADD; break;
    case 1: r = a | b; k = LZ_LOGIC; break;
    case 2: r = (a + b + c.getCF()) & 0xffff; k = LZ_ADD; break;
    case 3: r = (a - b - c.getCF()) & 0xffff; k = LZ_SUB; break;
    case 4: r = a & b; k = LZ_LOGIC; break;
    case 6: r = a ^ b; k = LZ_LOGIC; break;
    default: r = (a - b) & 0xffff; k = LZ_SUB; break;
  }
  setArith(c, a, b, r, k, 15);
  return r;
}
export function alu32(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case 0: r = (a + b) | 0; k = LZ_ADD; break;
    case 1: r = a | b; k = LZ_LOGIC; break;
    case 2: r = (a + b + c.getCF()) | 0; k = LZ_ADD; break;
    case 3: r = (a - b - c.getCF()) | 0; k = LZ_SUB; break;
    case 4: r = a & b; k = LZ_LOGIC; break;
    case 6: r = a ^ b; k = LZ_LOGIC; break;
    default: r = (a - b) | 0; k = LZ_SUB; break;
  }
  setArith(c, a, b, r, k, 31);
  return r;
}

function aluHandlers(op: number): Record<string, Handler> {
  const isCmp = op === 7;
  return {
    'rm8,r8': isCmp
      ? (c, i) => void alu8(c, op, rm8(c, i), c.r8[R8[i.reg]])
      : (c, i) => commitRm8(c, i, alu8(c, op, rmwRm8(c, i), c.r8[R8[i.reg]])),
    'rmv,rv': isCmp
      ? (c, i) => {
          if (i.op32) alu32(c, op, rm32(c, i), c.regs[i.reg]);
          else alu16(c, op, rm16(c, i), c.r16[i.reg << 1]);
        }
      : (c, i) => {
          if (i.op32) commitRm32(c, i, alu32(c, op, rmwRm32(c, i), c.regs[i.reg]));
          else commitRm16(c, i, alu16(c, op, rmwRm16(c, i), c.r16[i.reg << 1]));
        },
    'r8,rm8': (c, i) => {
      const r = alu8(c, op, c.r8[R8[i.reg]], rm8(c, i));
      if (!isCmp) c.r8[R8[i.reg]] = r;
    },
    'rv,rmv': (c, i) => {
      if (i.op32) {
        const r = alu32(c, op, c.regs[i.reg], rm32(c, i));
        if (!isCmp) c.regs[i.reg] = r;
      } else {
        const r = alu16(c, op, c.r16[i.reg << 1], rm16(c, i));
        if (!isCmp) c.r16[i.reg << 1] = r;
      }
    },
    'al,imm8': (c, i) => {
      const r = alu8(c, op, c.r8[0], i.imm & 0xff);
      if (!isCmp) c.r8[0] = r;
    },
    'eAX,immv': (c, i) => {
      if (i.op32) {
        const r = alu32(c, op, c.regs[0], i.imm | 0);
        if (!isCmp) c.regs[0] = r;
      } else {
        const r = alu16(c, op, c.r16[0], i.imm & 0xffff);
        if (!isCmp) c.r16[0] = r;
      }
    },
    'rm8,imm8': isCmp
      ? (c, i) => void alu8(c, op, rm8(c, i), i.imm & 0xff)
      : (c, i) => commitRm8(c, i, alu8(c, op, rmwRm8(c, i), i.imm & 0xff)),
    'rmv,immv': isCmp
      ? (c, i) => {
          if (i.op32) alu32(c, op, rm32(c, i), i.imm | 0);
          else alu16(c, op, rm16(c, i), i.imm & 0xffff);
        }
      : (c, i) => {
          if (i.op32) commitRm32(c, i, alu32(c, op, rmwRm32(c, i), i.imm | 0));
          else commitRm16(c, i, alu16(c, op, rmwRm16(c, i), i.imm & 0xffff));
        },
    'rmv,simm8': isCmp
      ? (c, i) => {
          if (i.op32) alu32(c, op, rm32(c, i), i.imm | 0);
          else alu16(c, op, rm16(c, i), i.imm & 0xffff);
        }
      : (c, i) => {
          if (i.op32) commitRm32(c, i, alu32(c, op, rmwRm32(c, i), i.imm | 0));
          else commitRm16(c, i, alu16(c, op, rmwRm16(c, i), i.imm & 0xffff));
        },
  };
}

export function incdec(c: Cpu, v: number, dec: boolean, top: number): number {
  // INC/DEC leave CF as it is: made concrete before the lazy state is replaced (CF alone,
  // not through materialize: this is small enough for V8 to inline into the interpreter)
  if (c.lazy & CF) c.flagsVal = (c.flagsVal & ~CF) | c.getCF();
  const r = top === 31 ? (dec ? v - 1 : v + 1) | 0 : (dec ? v - 1 : v + 1) & ((1 << (top + 1)) - 1);
  c.lzOp = dec ? LZ_SUB : LZ_ADD;
  c.lzA = v;
  c.lzB = 1;
  c.lzRes = r;
  c.lzTop = top;
  c.lazy = ARITH & ~CF;
  return r;
}

export function logicFlags(c: Cpu, r: number, top: number): void {
  c.lzOp = LZ_LOGIC;
  c.lzRes = r;
  c.lzTop = top;
  c.lazy = ARITH;
}

export function addAlu(add: AddHandler): void {
  const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  ALU.forEach((name, op) => {
    const hs = aluHandlers(op);
    for (const [ops, h] of Object.entries(hs)) add(`${name} ${ops}`, h);
  });
  // test
  const test8 = (c: Cpu, a: number, b: number) => logicFlags(c, a & b, 7);
  const testv = (c: Cpu, i: Insn, a: number, b: number) => {
    if (i.op32) logicFlags(c, a & b, 31);
    else logicFlags(c, a & b & 0xffff, 15);
  };
  add('test rm8,r8', (c, i) => test8(c, rm8(c, i), c.r8[R8[i.reg]]));
  add('test rmv,rv', (c, i) => testv(c, i, i.op32 ? rm32(c, i) : rm16(c, i), c.regs[i.reg]));
  add('test al,imm8', (c, i) => test8(c, c.r8[0], i.imm & 0xff));
  add('test eAX,immv', (c, i) => testv(c, i, c.regs[0], i.imm));
  add('test rm8,imm8', (c, i) => test8(c, rm8(c, i), i.imm & 0xff));
  add('test rmv,immv', (c, i) => testv(c, i, i.op32 ? rm32(c, i) : rm16(c, i), i.imm));

  add('not rm8', (c, i) => commitRm8(c, i, ~rmwRm8(c, i) & 0xff));
  add('not rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, ~rmwRm32(c, i));
    else commitRm16(c, i, ~rmwRm16(c, i) & 0xffff);
  });
  add('neg rm8', (c, i) => commitRm8(c, i, alu8(c, 5, 0, rmwRm8(c, i))));
  add('neg rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, alu32(c, 5, 0, rmwRm32(c, i)));
    else commitRm16(c, i, alu16(c, 5, 0, rmwRm16(c, i)));
  });
  add('inc rv', (c, i) => {
    if (i.op32) c.regs[i.opReg] = incdec(c, c.regs[i.opReg], false, 31);
    else c.r16[i.opReg << 1] = incdec(c, c.r16[i.opReg << 1], false, 15);
  });
  add('dec rv', (c, i) => {
    if (i.op32) c.regs[i.opReg] = incdec(c, c.regs[i.opReg], true, 31);
    else c.r16[i.opReg << 1] = incdec(c, c.r16[i.opReg << 1], true, 15);
  });
  add('inc rm8', (c, i) => commitRm8(c, i, incdec(c, rmwRm8(c, i), false, 7)));
  add('dec rm8', (c, i) => commitRm8(c, i, incdec(c, rmwRm8(c, i), true, 7)));
  add('inc rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, incdec(c, rmwRm32(c, i), false, 31));
    else commitRm16(c, i, incdec(c, rmwRm16(c, i), false, 15));
  });
  add('dec rmv', (c, i) => {
    if (i.op32) commitRm32(c, i, incdec(c, rmwRm32(c, i), true, 31));
    else commitRm16(c, i, incdec(c, rmwRm16(c, i), true, 15));
  });
}
