// Operand access shared by the handler families: the ModRM operand as register or memory
// (read, write, read-modify-write), flags one at a time, pushes and pops at the operand
// size, branch targets, far pointers in memory.

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';

export type Handler = (c: Cpu, i: Insn) => void;
/** Registers the handler of one opcode-table form, named "mnemonic operands". */
export type AddHandler = (key: string, h: Handler) => void;

/** Byte register n (AL CL DL BL AH CH DH BH) → index into the Uint8Array view of regs. */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

export function rm8(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rd8(i.seg, c.ea(i)) : c.r8[R8[i.rm]];
}
export function rm16(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rd16(i.seg, c.ea(i)) : c.r16[i.rm << 1];
}
export function rm32(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rd32(i.seg, c.ea(i)) : c.regs[i.rm];
}
export function setRm8(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.wr8(i.seg, c.ea(i), v);
  else c.r8[R8[i.rm]] = v;
}
export function setRm16(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.wr16(i.seg, c.ea(i), v);
  else c.r16[i.rm << 1] = v;
}
export function setRm32(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.wr32(i.seg, c.ea(i), v);
  else c.regs[i.rm] = v;
}
/** Read for read-modify-write (commit with commitRm*). */
export function rmwRm8(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rmw8(i.seg, c.ea(i)) : c.r8[R8[i.rm]];
}
export function rmwRm16(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rmw16(i.seg, c.ea(i)) : c.r16[i.rm << 1];
}
export function rmwRm32(c: Cpu, i: Insn): number {
  return i.hasMem ? c.rmw32(i.seg, c.ea(i)) : c.regs[i.rm];
}
export function commitRm8(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.commit8(v);
  else c.r8[R8[i.rm]] = v;
}
export function commitRm16(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.commit16(v);
  else c.r16[i.rm << 1] = v;
}
export function commitRm32(c: Cpu, i: Insn, v: number): void {
  if (i.hasMem) c.commit32(v);
  else c.regs[i.rm] = v;
}

export function setFlag(c: Cpu, bit: number, on: boolean | number): void {
  c.materialize(bit);
  if (on) c.flagsVal |= bit;
  else c.flagsVal &= ~bit;
}

export function pushV(c: Cpu, i: Insn, v: number): void {
  if (i.op32) c.push32(v);
  else c.push16(v);
}
export function popV(c: Cpu, i: Insn): number {
  return i.op32 ? c.pop32() : c.pop16();
}

export function nextIp(c: Cpu, i: Insn, rel: number): number {
  return i.op32 ? (c.eip + rel) >>> 0 : (c.eip + rel) & 0xffff;
}

export function bits(i: Insn): number {
  return i.op32 ? 32 : 16;
}

export function farTarget(c: Cpu, i: Insn): number {
  // reads a far pointer at the memory operand: the offset into c.farOff, returns the selector
  const off = c.ea(i);
  const am = i.ad32 ? -1 : 0xffff;
  if (i.op32) {
    c.farOff = c.rd32(i.seg, off) >>> 0;
    return c.rd16(i.seg, ((off + 4) & am) >>> 0);
  }
  c.farOff = c.rd16(i.seg, off);
  return c.rd16(i.seg, ((off + 2) & am) >>> 0);
}
