// Operands of an instruction as the assembler sees them, and the registers it knows.

import type { Value } from './expr';

export type RegClass = 'gpr' | 'sreg' | 'cr' | 'dr' | 'tr';

export interface RegInfo {
  cls: RegClass;
  size: number;
  num: number;
}

export const REGS = new Map<string, RegInfo>();
['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'].forEach((r, i) => REGS.set(r, { cls: 'gpr', size: 8, num: i }));
['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'].forEach((r, i) => REGS.set(r, { cls: 'gpr', size: 16, num: i }));
['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].forEach((r, i) => REGS.set(r, { cls: 'gpr', size: 32, num: i }));
['es', 'cs', 'ss', 'ds', 'fs', 'gs'].forEach((r, i) => REGS.set(r, { cls: 'sreg', size: 16, num: i }));
for (let i = 0; i < 8; i++) {
  REGS.set(`cr${i}`, { cls: 'cr', size: 32, num: i });
  REGS.set(`dr${i}`, { cls: 'dr', size: 32, num: i });
  REGS.set(`tr${i}`, { cls: 'tr', size: 32, num: i });
}

export const SIZE_WORDS: Readonly<Record<string, number>> = { byte: 8, word: 16, dword: 32, qword: 64, tword: 80, oword: 128 };

export interface RegOp {
  type: 'reg';
  name: string;
  reg: RegInfo;
  /** An explicit size keyword in front of the register (`word es`), or 0. */
  size: number;
  col: number;
}

export interface MemOp {
  type: 'mem';
  /** Explicit size (byte=8 ... tword=80), or 0. */
  size: number;
  far: boolean;
  /** Segment override register number, or -1. */
  seg: number;
  /** Register numbers, or -1. For 16-bit addressing `rm16` holds the r/m code instead. */
  base: number;
  index: number;
  scale: number;
  /** 16 or 32 when registers fix the address size, else 0. */
  asize: number;
  /** 16-bit addressing: the r/m field (0-7), or -1 for a plain displacement. */
  rm16: number;
  disp: Value;
  /** A `[byte ...]`/`[word ...]`/`[dword ...]` hint, or 0. */
  dispHint: number;
  nosplit: boolean;
  /** True when there is no register: a plain address. */
  noRegs: boolean;
  col: number;
}

export interface ImmOp {
  type: 'imm';
  size: number;
  strict: boolean;
  /** 'short', 'near', 'far' or ''. */
  jump: string;
  value: Value;
  col: number;
}

export interface FarOp {
  type: 'far';
  size: number;
  seg: Value;
  off: Value;
  col: number;
}

export type Operand = RegOp | MemOp | ImmOp | FarOp;
