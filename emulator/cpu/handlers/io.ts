// Port I/O: IN and OUT (the string forms are in string.ts); permission from IOPL and the
// TSS bitmap (Cpu.ioCheck).

import type { AddHandler } from './operands';
import { EDX } from '../consts';

export function addIo(add: AddHandler): void {
  add('in al,imm8', (c, i) => {
    c.ioCheck(i.imm & 0xff, 1);
    c.r8[0] = c.io.in8(i.imm & 0xff);
  });
  add('in eAX,imm8', (c, i) => {
    const p = i.imm & 0xff;
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.regs[0] = c.io.in32(p);
    else c.r16[0] = c.io.in16(p);
  });
  add('in al,dx', (c) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, 1);
    c.r8[0] = c.io.in8(p);
  });
  add('in eAX,dx', (c, i) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.regs[0] = c.io.in32(p);
    else c.r16[0] = c.io.in16(p);
  });
  add('out imm8,al', (c, i) => {
    c.ioCheck(i.imm & 0xff, 1);
    c.io.out8(i.imm & 0xff, c.r8[0]);
  });
  add('out imm8,eAX', (c, i) => {
    const p = i.imm & 0xff;
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.io.out32(p, c.regs[0] >>> 0);
    else c.io.out16(p, c.r16[0]);
  });
  add('out dx,al', (c) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, 1);
    c.io.out8(p, c.r8[0]);
  });
  add('out dx,eAX', (c, i) => {
    const p = c.r16[EDX << 1];
    c.ioCheck(p, i.op32 ? 4 : 2);
    if (i.op32) c.io.out32(p, c.regs[0] >>> 0);
    else c.io.out16(p, c.r16[0]);
  });
}
