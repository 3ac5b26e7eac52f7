// The interpreter's fast forms: the few instruction forms most of real work is made of
// (register and memory moves, 32-bit ALU, TEST, INC/DEC, PUSH/POP, near branches, calls and
// returns), chosen per decoded instruction (operand size, register or memory) by fastOf.
// Cpu.execBlock runs them inline, in a `switch` on Insn.fast, each as the composition of the
// same flag and memory helpers its table handler uses; every other instruction calls its
// handler. A call through the handler table (hundreds of targets at one call site) cost more
// than most of these instructions: the profile of the CPU loops put dispatch at half the time.
// The table handlers stay the instructions' handlers for the block compiler and the slow paths.
//
// Contract (execBlock relies on it, not to record ESP before each of them): a fast form that
// faults leaves ESP as it was at its start (pushes write before they move ESP, pops read
// before; a call or return whose target faults puts ESP back).

import type { Cpu } from '../cpu';
import type { Insn } from '../decoder';
import { ESP } from '../consts';

/** The fast forms (Insn.fast); None: the instruction runs through its table handler. The
 *  near control transfers come last (from Jcc32 on: they read or set c.eip; execBlock keeps
 *  EIP in a local across the others). */
export const enum Fast {
  None,
  MovRR32, MovRmR32, MovRR16, MovRmR16,
  Load32, Load16, Load8, Store32, Store16, Store8,
  MovRImm32, StoreImm32, StoreImm16, StoreImm8, Lea32,
  MovzxR8, MovzxM8, MovzxR16, MovzxM16,
  AddRmR32, OrRmR32, AndRmR32, SubRmR32, XorRmR32, CmpRmR32,
  AddRRm32, OrRRm32, AndRRm32, SubRRm32, XorRRm32, CmpRRm32,
  AddRmR16, SubRmR16, XorRmR16, CmpRmR16,
  AddRI32, OrRI32, AndRI32, SubRI32, XorRI32, CmpRI32,
  AddMI32, SubMI32, CmpMI32, CmpMR32, CmpRM32,
  TestRR32, TestRI32,
  IncR32, DecR32, IncM32, DecM32, IncM16,
  Shl1R32, ShlR32, ShrR32, SarR32, Shl1R16,
  PushR32, PopR32, PushR16, PopR16,
  Jcc32, Jcc16, JmpOn, CallOn32, CallOn16, Call32, Ret32, Ret16, Loop16,
}

/** Near CALL to `t`: pushes the return address (c.eip); a target outside CS faults after
 *  the push, with ESP put back. */
export function callNear(c: Cpu, t: number, op32: boolean): void {
  const sp = c.regs[ESP];
  if (op32) c.push32(c.eip);
  else c.push16(c.eip);
  if (t >= c.csEnd) {
    c.regs[ESP] = sp;
    c.gp(0);
  }
  c.eip = t;
}

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
// Per ALU op (add or adc sbb and sub xor cmp): the fast form of 'op rmv,rv', 'op rv,rmv' and
// 'op rmv,imm' on 32-bit registers, and of 'op rmv,rv' on 16-bit ones (None: none)
const RM_R32 = [Fast.AddRmR32, Fast.OrRmR32, Fast.None, Fast.None, Fast.AndRmR32, Fast.SubRmR32, Fast.XorRmR32, Fast.CmpRmR32];
const R_RM32 = [Fast.AddRRm32, Fast.OrRRm32, Fast.None, Fast.None, Fast.AndRRm32, Fast.SubRRm32, Fast.XorRRm32, Fast.CmpRRm32];
const R_I32 = [Fast.AddRI32, Fast.OrRI32, Fast.None, Fast.None, Fast.AndRI32, Fast.SubRI32, Fast.XorRI32, Fast.CmpRI32];
const RM_R16 = [Fast.AddRmR16, Fast.None, Fast.None, Fast.None, Fast.None, Fast.SubRmR16, Fast.XorRmR16, Fast.CmpRmR16];
// a form's operands and "mnemonic operands", by form id (made once: blocks are decoded often)
const OPERANDS: string[] = [];
const KEYS: string[] = [];
const JCC: boolean[] = [];

/** The fast form of a decoded instruction, or Fast.None. `through`: a direct JMP or CALL the
 *  block goes on through (Cpu.buildBlock). A LOCK prefix leaves the table handler (its
 *  checks). */
export function fastOf(i: Insn, through: boolean): Fast {
  const f = i.form;
  if (f === null || i.lock) return Fast.None;
  const ops = OPERANDS[f.id] ??= f.operands.join(',');
  const m = f.mnemonic;
  const o32 = i.op32, mem = i.hasMem;
  const alu = ALU.indexOf(m);
  if (alu >= 0) {
    if (ops === 'rmv,rv') return mem ? (o32 && alu === 7 ? Fast.CmpMR32 : Fast.None) : o32 ? RM_R32[alu] : RM_R16[alu];
    if (ops === 'rv,rmv') return !o32 ? Fast.None : mem ? (alu === 7 ? Fast.CmpRM32 : Fast.None) : R_RM32[alu];
    if ((ops === 'rmv,immv' || ops === 'rmv,simm8') && o32) {
      if (!mem) return R_I32[alu];
      return alu === 0 ? Fast.AddMI32 : alu === 5 ? Fast.SubMI32 : alu === 7 ? Fast.CmpMI32 : Fast.None;
    }
    return Fast.None;
  }
  switch (KEYS[f.id] ??= `${m} ${ops || '-'}`) {
    case 'mov rv,rmv': return o32 ? (mem ? Fast.Load32 : Fast.MovRR32) : mem ? Fast.Load16 : Fast.MovRR16;
    case 'mov rmv,rv': return o32 ? (mem ? Fast.Store32 : Fast.MovRmR32) : mem ? Fast.Store16 : Fast.MovRmR16;
    case 'mov r8,rm8': return mem ? Fast.Load8 : Fast.None;
    case 'mov rm8,r8': return mem ? Fast.Store8 : Fast.None;
    case 'mov rv,immv': return o32 ? Fast.MovRImm32 : Fast.None;
    case 'mov rmv,immv': return mem ? (o32 ? Fast.StoreImm32 : Fast.StoreImm16) : Fast.None;
    case 'mov rm8,imm8': return mem ? Fast.StoreImm8 : Fast.None;
    case 'lea rv,m': return mem && o32 ? Fast.Lea32 : Fast.None;
    case 'movzx rv,rm8': return o32 ? (mem ? Fast.MovzxM8 : Fast.MovzxR8) : Fast.None;
    case 'movzx rv,rm16': return o32 ? (mem ? Fast.MovzxM16 : Fast.MovzxR16) : Fast.None;
    case 'test rmv,rv': return o32 && !mem ? Fast.TestRR32 : Fast.None;
    case 'test rmv,immv': return o32 && !mem ? Fast.TestRI32 : Fast.None;
    case 'inc rv': return o32 ? Fast.IncR32 : Fast.None;
    case 'dec rv': return o32 ? Fast.DecR32 : Fast.None;
    case 'inc rmv': return mem ? (o32 ? Fast.IncM32 : Fast.IncM16) : Fast.None;
    case 'dec rmv': return mem && o32 ? Fast.DecM32 : Fast.None;
    case 'shl rmv,1': return mem ? Fast.None : o32 ? Fast.Shl1R32 : Fast.Shl1R16;
    case 'shl rmv,imm8': return o32 && !mem ? Fast.ShlR32 : Fast.None;
    case 'shr rmv,imm8': return o32 && !mem ? Fast.ShrR32 : Fast.None;
    case 'sar rmv,imm8': return o32 && !mem ? Fast.SarR32 : Fast.None;
    case 'push rv': return o32 ? Fast.PushR32 : Fast.PushR16;
    case 'pop rv': return o32 ? Fast.PopR32 : Fast.PopR16;
    case 'jmp rel8': case 'jmp relv': return through ? Fast.JmpOn : Fast.None;
    case 'call relv': return through ? (o32 ? Fast.CallOn32 : Fast.CallOn16) : o32 ? Fast.Call32 : Fast.None;
    case 'ret -': return o32 ? Fast.Ret32 : Fast.Ret16;
    case 'loop rel8': return i.ad32 ? Fast.None : Fast.Loop16;
  }
  if (JCC[f.id] ??= /^j(?!mp|cxz|ecxz)[a-z]+$/.test(m) && (ops === 'rel8' || ops === 'relv')) return o32 ? Fast.Jcc32 : Fast.Jcc16;
  return Fast.None;
}
