// Instruction semantics: one handler per opcode-table form (indexed by Form.id). A handler
// runs with c.eip already pointing after the instruction (c.insnStart(i) is its start).
//
// Undefined flags: see the header of cpu.ts for the values this CPU chooses.
//
// The handlers live in one file per instruction family (alu, shift, muldiv, string, bcd,
// control, move, io, system; operand access in operands.ts); this file assembles the table
// (with the cpl0/pm attribute checks) and the specialised handlers.

import type { Insn } from '../decoder';
import { FORMS, type Form } from '../opcodes';
import type { Cpu } from '../cpu';
import { LZ_ADD, LZ_LOGIC, LZ_SUB, UD } from '../consts';
import type { Handler } from './operands';
import { addAlu, alu16, alu32, incdec, logicFlags, setArith } from './alu';
import { addShifts, shift } from './shift';
import { R8 } from './operands';
import { addMulDiv } from './muldiv';
import { addStrings } from './string';
import { addBcdAndFlags } from './bcd';
import { addControl } from './control';
import { addMoves } from './move';
import { addIo } from './io';
import { addSystem } from './system';

export type { Handler } from './operands';
export { R8 } from './operands';
export { alu8, alu16, alu32 } from './alu';
export { shift } from './shift';

/** Forms that do port I/O (they end a decoded block so device interrupts are seen). */
export const IO_FORM = new Uint8Array(FORMS.length);

function buildNamed(): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = (k: string, h: Handler) => m.set(k, h);
  addAlu(add);
  addShifts(add);
  addMulDiv(add);
  addStrings(add);
  addBcdAndFlags(add);
  addControl(add);
  addMoves(add);
  addIo(add);
  addSystem(add);
  return m;
}

function wrapAttrs(f: Form, h: Handler): Handler {
  let out = h;
  if (f.attrs.has('cpl0')) {
    const inner = out;
    out = (c, i) => {
      if (c.pe && c.cpl !== 0) c.gp(0);
      inner(c, i);
    };
  }
  if (f.attrs.has('pm')) {
    const inner = out;
    out = (c, i) => {
      if (!c.pe) c.fault(UD);
      inner(c, i);
    };
  }
  return out;
}

export const MISSING_FORMS: string[] = [];

/** Handler per form id (index 0 is also used as a placeholder). */
export function buildHandlers(): Handler[] {
  buildSpecial();
  const named = buildNamed();
  const ud: Handler = (c) => c.fault(UD);
  const out: Handler[] = [];
  for (const f of FORMS) {
    const key = `${f.mnemonic} ${f.operands.length ? f.operands.join(',') : '-'}`;
    const h = named.get(key);
    if (f.attrs.has('prefix') || f.attrs.has('asm')) {
      out.push(ud);
      continue;
    }
    if (!h) {
      MISSING_FORMS.push(key);
      out.push(ud);
      continue;
    }
    if (f.mnemonic === 'in' || f.mnemonic === 'out' || /^(ins|outs)[bwd]$/.test(f.mnemonic)) IO_FORM[f.id] = 1;
    out.push(wrapAttrs(f, h));
  }
  return out;
}

// ---------------------------------------------------------------------------------------

// specialised handlers: chosen per decoded instruction (operand size, register or memory)
// for the most frequent forms, so the hot path skips those tests

function aluRR32(op: number, toReg: boolean): Handler | null {
  // toReg: 'rv,rmv' (destination in reg), else 'rmv,rv' (destination in rm)
  const set = (c: Cpu, i: Insn, a: number, b: number, r: number, k: number): void => {
    setArith(c, a, b, r, k, 31);
    if (toReg) c.regs[i.reg] = r;
    else c.regs[i.rm] = r;
  };
  switch (op) {
    case 0: return toReg
      ? (c, i) => { const a = c.regs[i.reg], b = c.regs[i.rm]; set(c, i, a, b, (a + b) | 0, LZ_ADD); }
      : (c, i) => { const a = c.regs[i.rm], b = c.regs[i.reg]; set(c, i, a, b, (a + b) | 0, LZ_ADD); };
    case 5: return toReg
      ? (c, i) => { const a = c.regs[i.reg], b = c.regs[i.rm]; set(c, i, a, b, (a - b) | 0, LZ_SUB); }
      : (c, i) => { const a = c.regs[i.rm], b = c.regs[i.reg]; set(c, i, a, b, (a - b) | 0, LZ_SUB); };
    case 6: return toReg
      ? (c, i) => { const a = c.regs[i.reg], b = c.regs[i.rm]; set(c, i, a, b, a ^ b, LZ_LOGIC); }
      : (c, i) => { const a = c.regs[i.rm], b = c.regs[i.reg]; set(c, i, a, b, a ^ b, LZ_LOGIC); };
    case 7: return toReg
      ? (c, i) => void alu32(c, 7, c.regs[i.reg], c.regs[i.rm])
      : (c, i) => void alu32(c, 7, c.regs[i.rm], c.regs[i.reg]);
    default: return null;
  }
}

/** ALU op with a 32-bit register destination and an immediate ('rmv,immv' / 'rmv,simm8' with
 *  a register operand: add/or/and/sub/xor/cmp reg, imm); adc/sbb stay generic. */
function aluRI32(op: number): Handler | null {
  switch (op) {
    case 0: return (c, i) => { const a = c.regs[i.rm], b = i.imm | 0, r = (a + b) | 0; setArith(c, a, b, r, LZ_ADD, 31); c.regs[i.rm] = r; };
    case 1: return (c, i) => { const a = c.regs[i.rm], b = i.imm | 0, r = a | b; setArith(c, a, b, r, LZ_LOGIC, 31); c.regs[i.rm] = r; };
    case 4: return (c, i) => { const a = c.regs[i.rm], b = i.imm | 0, r = a & b; setArith(c, a, b, r, LZ_LOGIC, 31); c.regs[i.rm] = r; };
    case 5: return (c, i) => { const a = c.regs[i.rm], b = i.imm | 0, r = (a - b) | 0; setArith(c, a, b, r, LZ_SUB, 31); c.regs[i.rm] = r; };
    case 6: return (c, i) => { const a = c.regs[i.rm], b = i.imm | 0, r = a ^ b; setArith(c, a, b, r, LZ_LOGIC, 31); c.regs[i.rm] = r; };
    case 7: return (c, i) => { const a = c.regs[i.rm], b = i.imm | 0; setArith(c, a, b, (a - b) | 0, LZ_SUB, 31); };
    default: return null;
  }
}

/** Per form id: picks a faster handler for one decoded instruction, or null. */
export const SPECIAL: (((i: Insn) => Handler | null) | undefined)[] = [];

function buildSpecial(): void {
  const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
  for (const f of FORMS) {
    if (f.attrs.has('asm') || f.attrs.has('prefix')) continue;
    const key = `${f.mnemonic} ${f.operands.join(',')}`;
    const op = ALU.indexOf(f.mnemonic);
    if (op >= 0 && (key.endsWith(' rmv,rv') || key.endsWith(' rv,rmv'))) {
      const toReg = key.endsWith(' rv,rmv');
      const rr = aluRR32(op, toReg);
      const rr16: Handler = toReg
        ? (c, i) => { const r = alu16(c, op, c.r16[i.reg << 1], c.r16[i.rm << 1]); if (op !== 7) c.r16[i.reg << 1] = r; }
        : (c, i) => { const r = alu16(c, op, c.r16[i.rm << 1], c.r16[i.reg << 1]); if (op !== 7) c.r16[i.rm << 1] = r; };
      // add [m],r and the like read, modify and write the 32-bit memory operand directly
      const mr: Handler | null = toReg ? null : op === 7
        ? (c, i) => void alu32(c, op, c.rd32(i.seg, c.ea(i)), c.regs[i.reg])
        : (c, i) => c.commit32(alu32(c, op, c.rmw32(i.seg, c.ea(i)), c.regs[i.reg]));
      SPECIAL[f.id] = (i) => (i.lock ? null : i.hasMem ? (i.op32 ? mr : null) : i.op32 ? rr : rr16);
      continue;
    }
    if (op >= 0 && (key.endsWith(' rmv,immv') || key.endsWith(' rmv,simm8'))) {
      const ri = aluRI32(op);
      const mi: Handler = op === 7
        ? (c, i) => void alu32(c, op, c.rd32(i.seg, c.ea(i)), i.imm | 0)
        : (c, i) => c.commit32(alu32(c, op, c.rmw32(i.seg, c.ea(i)), i.imm | 0));
      SPECIAL[f.id] = (i) => (i.lock || !i.op32 ? null : i.hasMem ? mi : ri);
      continue;
    }
    const sh = SHIFTS.indexOf(f.mnemonic);
    if (sh >= 0 && (key.endsWith(' rmv,1') || key.endsWith(' rmv,imm8'))) {
      // shifts and rotates of a register by a constant count
      const one = key.endsWith(',1');
      const r32: Handler = one
        ? (c, i) => { c.regs[i.rm] = shift(c, sh, c.regs[i.rm], 1, 32); }
        : (c, i) => { c.regs[i.rm] = shift(c, sh, c.regs[i.rm], i.imm & 31, 32); };
      const r16: Handler = one
        ? (c, i) => { c.r16[i.rm << 1] = shift(c, sh, c.r16[i.rm << 1], 1, 16); }
        : (c, i) => { c.r16[i.rm << 1] = shift(c, sh, c.r16[i.rm << 1], i.imm & 31, 16); };
      SPECIAL[f.id] = (i) => (i.hasMem ? null : i.op32 ? r32 : r16);
      continue;
    }
    switch (key) {
      case 'inc rmv': case 'dec rmv': {
        const dec = f.mnemonic === 'dec';
        const m32: Handler = (c, i) => c.commit32(incdec(c, c.rmw32(i.seg, c.ea(i)), dec, 31));
        const m16: Handler = (c, i) => c.commit16(incdec(c, c.rmw16(i.seg, c.ea(i)), dec, 15));
        SPECIAL[f.id] = (i) => (i.lock || !i.hasMem ? null : i.op32 ? m32 : m16);
        break;
      }
      case 'test rmv,immv': {
        const r32: Handler = (c, i) => logicFlags(c, c.regs[i.rm] & i.imm, 31);
        SPECIAL[f.id] = (i) => (i.hasMem || !i.op32 ? null : r32);
        break;
      }
      case 'test rmv,rv': {
        const r32: Handler = (c, i) => logicFlags(c, c.regs[i.rm] & c.regs[i.reg], 31);
        SPECIAL[f.id] = (i) => (i.hasMem || !i.op32 ? null : r32);
        break;
      }
      case 'movzx rv,rm8': {
        const r32: Handler = (c, i) => { c.regs[i.reg] = c.r8[R8[i.rm]]; };
        const m32: Handler = (c, i) => { c.regs[i.reg] = c.rd8(i.seg, c.ea(i)); };
        SPECIAL[f.id] = (i) => (!i.op32 ? null : i.hasMem ? m32 : r32);
        break;
      }
      case 'movzx rv,rm16': {
        const r32: Handler = (c, i) => { c.regs[i.reg] = c.r16[i.rm << 1]; };
        const m32: Handler = (c, i) => { c.regs[i.reg] = c.rd16(i.seg, c.ea(i)); };
        SPECIAL[f.id] = (i) => (!i.op32 ? null : i.hasMem ? m32 : r32);
        break;
      }
      case 'mov rv,rmv': {
        const rr: Handler = (c, i) => { c.regs[i.reg] = c.regs[i.rm]; };
        const rm: Handler = (c, i) => { c.regs[i.reg] = c.rd32(i.seg, c.ea(i)); };
        const rr16: Handler = (c, i) => { c.r16[i.reg << 1] = c.r16[i.rm << 1]; };
        const rm16: Handler = (c, i) => { c.r16[i.reg << 1] = c.rd16(i.seg, c.ea(i)); };
        SPECIAL[f.id] = (i) => (i.op32 ? (i.hasMem ? rm : rr) : i.hasMem ? rm16 : rr16);
        break;
      }
      case 'mov rmv,rv': {
        const rr: Handler = (c, i) => { c.regs[i.rm] = c.regs[i.reg]; };
        const mr: Handler = (c, i) => c.wr32(i.seg, c.ea(i), c.regs[i.reg]);
        const rr16: Handler = (c, i) => { c.r16[i.rm << 1] = c.r16[i.reg << 1]; };
        const mr16: Handler = (c, i) => c.wr16(i.seg, c.ea(i), c.r16[i.reg << 1]);
        SPECIAL[f.id] = (i) => (i.op32 ? (i.hasMem ? mr : rr) : i.hasMem ? mr16 : rr16);
        break;
      }
      case 'inc rv': case 'dec rv': {
        const dec = f.mnemonic === 'dec';
        const h: Handler = (c, i) => { c.regs[i.opReg] = incdec(c, c.regs[i.opReg], dec, 31); };
        const h16: Handler = (c, i) => { c.r16[i.opReg << 1] = incdec(c, c.r16[i.opReg << 1], dec, 15); };
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'push rv': {
        const h: Handler = (c, i) => c.push32(c.regs[i.opReg]);
        const h16: Handler = (c, i) => c.push16(c.r16[i.opReg << 1]);
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'pop rv': {
        const h: Handler = (c, i) => { const v = c.pop32(); c.regs[i.opReg] = v; };
        const h16: Handler = (c, i) => { const v = c.pop16(); c.r16[i.opReg << 1] = v; };
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'call relv': {
        const h: Handler = (c, i) => { const t = (c.eip + i.imm) >>> 0; c.push32(c.eip); c.jumpNear(t); };
        const h16: Handler = (c, i) => { const t = (c.eip + i.imm) & 0xffff; c.push16(c.eip); c.jumpNear(t); };
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      case 'ret -': {
        const h: Handler = (c) => c.jumpNear(c.pop32() >>> 0);
        const h16: Handler = (c) => c.jumpNear(c.pop16());
        SPECIAL[f.id] = (i) => (i.op32 ? h : h16);
        break;
      }
      default:
        if (/^j[a-z]+ rel(8|v)$/.test(key) && f.mnemonic !== 'jmp' && f.mnemonic !== 'jcxz' && f.mnemonic !== 'jecxz') {
          const cc = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'].indexOf(f.mnemonic.slice(1));
          if (cc < 0) break;
          const h32: Handler = (c, i) => { if (c.cond(cc)) c.jumpNear((c.eip + i.imm) >>> 0); };
          const h16: Handler = (c, i) => { if (c.cond(cc)) c.jumpNear((c.eip + i.imm) & 0xffff); };
          SPECIAL[f.id] = (i) => (i.op32 ? h32 : h16);
        }
    }
  }
}
