// Instruction decoder, built from the opcode table (emulator/cpu/opcodes.ts). It fills a
// caller-owned Insn in place, so the CPU can cache decoded instructions without allocating
// per instruction, and the disassembler formats the same Insn.

import { FORMS, MEM_ONLY_KINDS, REG_ONLY_KINDS, type Form, type OperandKind } from './opcodes';

/** Segment register numbers, in encoding order. */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** The longest instruction the i386 accepts; longer raises #GP(0). */
export const MAX_INSN_LENGTH = 15;

/** Where the decoder reads instruction bytes: offset is relative to the decode start. */
export interface CodeSource {
  codeByte(offset: number): number;
}

export class Insn {
  /** The table form, or null for an invalid opcode (#UD). */
  form: Form | null = null;
  /** Total length in bytes, prefixes included. */
  length = 0;
  /** Prefix bytes before the opcode. */
  prefixLength = 0;
  op32 = false;
  ad32 = false;
  /** Segment override (ES..GS) or -1. */
  segOverride = -1;
  /** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
  rep = 0;
  lock = false;
  /** The opcode byte that selected the form (the second byte for 0F xx). */
  opcode = 0;
  twoByte = false;
  /** ModRM fields (modrm = -1 when there is none). */
  modrm = -1;
  mod = 0;
  reg = 0;
  rm = 0;
  /** True when the r/m operand is memory. */
  hasMem = false;
  /** Effective address: base and index register numbers (-1 none), scale 0-3, disp. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Segment used for the memory operand: the override or the default (SS for BP/ESP bases). */
  seg = DS;
  /** First immediate (or branch displacement / offset), and the second (enter's level,
   *  a far pointer's selector). Immediates are stored zero-extended; simm8 sign-extended. */
  imm = 0;
  imm2 = 0;
  /** The register encoded in the opcode ('+r' forms). */
  opReg = 0;
  /** The code size decode() was called with (the disassembler needs it). */
  defaultBits: 16 | 32 = 16;
  /** The interpreter's fast form of this instruction (Fast in cpu.ts; 0: none), set with its
   *  handler when a block is built. */
  fast = 0;

  reset(): void {
    this.form = null;
    this.length = 0;
    this.prefixLength = 0;
    this.op32 = false;
    this.ad32 = false;
    this.segOverride = -1;
    this.rep = 0;
    this.lock = false;
    this.opcode = 0;
    this.twoByte = false;
    this.modrm = -1;
    this.mod = 0;
    this.reg = 0;
    this.rm = 0;
    this.hasMem = false;
    this.base = -1;
    this.index = -1;
    this.scale = 0;
    this.disp = 0;
    this.seg = DS;
    this.imm = 0;
    this.imm2 = 0;
    this.opReg = 0;
    this.fast = 0;
  }

  copyFrom(o: Insn): void {
    this.form = o.form;
    this.length = o.length;
    this.prefixLength = o.prefixLength;
    this.op32 = o.op32;
    this.ad32 = o.ad32;
    this.segOverride = o.segOverride;
    this.rep = o.rep;
    this.lock = o.lock;
    this.opcode = o.opcode;
    this.twoByte = o.twoByte;
    this.modrm = o.modrm;
    this.mod = o.mod;
    this.reg = o.reg;
    this.rm = o.rm;
    this.hasMem = o.hasMem;
    this.base = o.base;
    this.index = o.index;
    this.scale = o.scale;
    this.disp = o.disp;
    this.seg = o.seg;
    this.imm = o.imm;
    this.imm2 = o.imm2;
    this.opReg = o.opReg;
    this.defaultBits = o.defaultBits;
    this.fast = o.fast;
  }
}

// ---- dispatch tables, built once from the table ----

const SLOT_INVALID = 0, SLOT_PLAIN = 1, SLOT_MODRM = 2, SLOT_PREFIX = 3;

/** Per opcode slot (0-255 one-byte, 256-511 for 0F xx): how to decode it. */
const slotKind = new Uint8Array(512);
/** Per slot, 64 selections keyed by (reg << 3) | (isRegister << 2) | (op32 << 1) | ad32. */
const slotSelect: (Form | null)[][] = [];
/** x87 forms whose ModRM byte is fixed (fninit = DB E3): key (opcode << 8) | modrm. */
const fixedModrmForms = new Map<number, Form>();

function selectionKey(reg: number, isReg: number, op32: number, ad32: number): number {
  return (reg << 3) | (isReg << 2) | (op32 << 1) | ad32;
}

/** Which of the 8 (isReg, op32, ad32) combinations, bit (isReg << 2) | (op32 << 1) | ad32,
 *  a form accepts: the low 3 bits of a selection key. */
function acceptMask(f: Form): number {
  let memOnly = false, regOnly = false;
  if (f.modrm) {
    for (const k of f.operands) {
      if (MEM_ONLY_KINDS.has(k)) memOnly = true;
      if (REG_ONLY_KINDS.has(k)) regOnly = true;
    }
  }
  let mask = 0;
  for (let c = 0; c < 8; c++) {
    const isReg = (c & 4) !== 0, op32 = (c & 2) !== 0, ad32 = (c & 1) !== 0;
    if (f.osize === 16 && op32) continue;
    if (f.osize === 32 && !op32) continue;
    if (f.asize === 16 && ad32) continue;
    if (f.asize === 32 && !ad32) continue;
    if (isReg ? memOnly : regOnly) continue;
    mask |= 1 << c;
  }
  return mask;
}

function specificity(f: Form): number {
  return (f.ext >= 0 ? 2 : 0) + (f.plusReg ? 0 : 1);
}

// (Built once per process at import: each form's 8 combinations are worked out once, not
// per key, and a slot's 64 selections are allocated only when a form uses the slot.)
function buildTables(): void {
  const none: (Form | null)[] = new Array<Form | null>(64).fill(null); // unused slots, never written
  for (let s = 0; s < 512; s++) slotSelect.push(none);
  for (const f of FORMS) {
    if (f.attrs.has('asm')) continue;
    const op = f.opcode;
    if (f.attrs.has('prefix')) {
      slotKind[op[0]] = SLOT_PREFIX;
      continue;
    }
    if (f.fixedModrm >= 0) {
      fixedModrmForms.set((op[0] << 8) | f.fixedModrm, f);
      slotKind[op[0]] = SLOT_MODRM;
      continue;
    }
    const slot = op[0] === 0x0f ? 256 + op[1] : op[0];
    const last = op[0] === 0x0f ? 2 : 1;
    if (op.length !== last) throw new Error(`decoder: opcode too long for one slot: ${f.line}`);
    const accepts = acceptMask(f);
    const kind = f.modrm ? SLOT_MODRM : SLOT_PLAIN;
    const regFrom = f.ext >= 0 ? f.ext : 0, regTo = f.ext >= 0 ? f.ext : 7;
    for (let s = slot; s < slot + (f.plusReg ? 8 : 1); s++) {
      if (slotKind[s] !== SLOT_INVALID && slotKind[s] !== kind) {
        throw new Error(`decoder: slot ${s.toString(16)} mixes ModRM and plain forms: ${f.line}`);
      }
      slotKind[s] = kind;
      let sel = slotSelect[s];
      if (sel === none) slotSelect[s] = sel = new Array<Form | null>(64).fill(null);
      for (let reg = regFrom; reg <= regTo; reg++) {
        for (let c = 0; c < 8; c++) {
          if ((accepts & (1 << c)) === 0) continue;
          const key = (reg << 3) | c;
          const cur = sel[key];
          if (cur) {
            // A specific form beats a generic one: an exact opcode over '+r' (nop over
            // xchg eax,eax), a /digit form over the generic x87 escape. Equal ones are a
            // table error: the decoder could not tell them apart.
            const a = specificity(cur), b = specificity(f);
            if (a === b) throw new Error(`decoder: ambiguous forms:\n  ${cur.line}\n  ${f.line}`);
            if (a > b) continue;
          }
          sel[key] = f;
        }
      }
    }
  }
}
buildTables();

/** Bytes an immediate-like operand occupies. */
function operandBytes(k: OperandKind, op32: boolean, ad32: boolean): number {
  switch (k) {
    case 'imm8': case 'simm8': case 'rel8': return 1;
    case 'imm16': return 2;
    case 'immv': case 'relv': return op32 ? 4 : 2;
    case 'moffs8': case 'moffsv': return ad32 ? 4 : 2;
    case 'ptr': return op32 ? 6 : 4;
    default: return 0;
  }
}

// 16-bit addressing: base and index for each r/m value (-1 none).
const EA16_BASE = [3, 3, 5, 5, -1, -1, 5, 3];
const EA16_INDEX = [6, 7, 6, 7, 6, 7, -1, -1];
const ESP = 4, EBP = 5;

/**
 * Decodes one instruction from `src` (offset 0 = its first byte) into `out`, for code of
 * the given default size (16 or 32). `out.form` is null for an invalid opcode; `out.length`
 * may exceed MAX_INSN_LENGTH, which the caller turns into #GP.
 */
export function decode(src: CodeSource, defaultBits: 16 | 32, out: Insn): Insn {
  out.reset();
  out.defaultBits = defaultBits;
  let pos = 0;
  let op32 = defaultBits === 32;
  let ad32 = op32;
  let b = 0;
  // prefixes
  for (;;) {
    b = src.codeByte(pos++);
    if (slotKind[b] !== SLOT_PREFIX) break;
    switch (b) {
      case 0xf0: out.lock = true; break;
      case 0xf2: case 0xf3: out.rep = b; break;
      case 0x26: out.segOverride = ES; break;
      case 0x2e: out.segOverride = CS; break;
      case 0x36: out.segOverride = SS; break;
      case 0x3e: out.segOverride = DS; break;
      case 0x64: out.segOverride = FS; break;
      case 0x65: out.segOverride = GS; break;
      case 0x66: op32 = defaultBits !== 32; break;
      case 0x67: ad32 = defaultBits !== 32; break;
    }
    if (pos >= MAX_INSN_LENGTH) {
      // Prefixes alone overrun the limit: report an over-long instruction.
      out.length = pos + 1;
      out.prefixLength = pos;
      out.op32 = op32;
      out.ad32 = ad32;
      return out;
    }
  }
  out.prefixLength = pos - 1;
  out.op32 = op32;
  out.ad32 = ad32;
  let slot = b;
  if (b === 0x0f) {
    b = src.codeByte(pos++);
    slot = 256 + b;
    out.twoByte = true;
  }
  out.opcode = b;
  const kind = slotKind[slot];
  if (kind === SLOT_INVALID || kind === SLOT_PREFIX) {
    out.length = pos;
    return out;
  }
  let form: Form | null;
  if (kind === SLOT_MODRM) {
    const modrm = src.codeByte(pos++);
    out.modrm = modrm;
    const mod = modrm >> 6;
    const reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    out.mod = mod;
    out.reg = reg;
    out.rm = rm;
    if (mod !== 3) {
      out.hasMem = true;
      let seg = DS;
      if (ad32) {
        if (rm === 4) {
          const sib = src.codeByte(pos++);
          const base = sib & 7;
          const index = (sib >> 3) & 7;
          out.scale = sib >> 6;
          out.index = index === ESP ? -1 : index;
          if (base === EBP && mod === 0) {
            out.base = -1;
          } else {
            out.base = base;
            if (base === ESP || base === EBP) seg = SS;
          }
          if (base === EBP && mod === 0) {
            out.disp = src.codeByte(pos) | (src.codeByte(pos + 1) << 8) | (src.codeByte(pos + 2) << 16) | (src.codeByte(pos + 3) << 24);
            pos += 4;
          }
        } else if (rm === EBP && mod === 0) {
          out.disp = src.codeByte(pos) | (src.codeByte(pos + 1) << 8) | (src.codeByte(pos + 2) << 16) | (src.codeByte(pos + 3) << 24);
          pos += 4;
        } else {
          out.base = rm;
          if (rm === EBP) seg = SS;
        }
        if (mod === 1) {
          out.disp = (src.codeByte(pos++) << 24) >> 24;
        } else if (mod === 2) {
          out.disp = src.codeByte(pos) | (src.codeByte(pos + 1) << 8) | (src.codeByte(pos + 2) << 16) | (src.codeByte(pos + 3) << 24);
          pos += 4;
        }
      } else {
        if (mod === 0 && rm === 6) {
          out.disp = src.codeByte(pos) | (src.codeByte(pos + 1) << 8);
          pos += 2;
        } else {
          out.base = EA16_BASE[rm];
          out.index = EA16_INDEX[rm];
          if (rm === 2 || rm === 3 || rm === 6) seg = SS;
          if (mod === 1) {
            out.disp = (src.codeByte(pos++) << 24) >> 24;
          } else if (mod === 2) {
            out.disp = ((src.codeByte(pos) | (src.codeByte(pos + 1) << 8)) << 16) >> 16;
            pos += 2;
          }
        }
      }
      out.seg = out.segOverride >= 0 ? out.segOverride : seg;
    }
    const fixed = slot < 256 ? fixedModrmForms.get((slot << 8) | modrm) : undefined;
    form = fixed ?? slotSelect[slot][selectionKey(reg, mod === 3 ? 1 : 0, op32 ? 1 : 0, ad32 ? 1 : 0)];
  } else {
    form = slotSelect[slot][selectionKey(0, 0, op32 ? 1 : 0, ad32 ? 1 : 0)];
    out.opReg = b & 7;
    if (out.segOverride >= 0) out.seg = out.segOverride;
  }
  out.form = form;
  if (form) {
    let n = 0;
    for (const k of form.operands) {
      const size = operandBytes(k, op32, ad32);
      if (size === 0) continue;
      let v: number;
      if (k === 'ptr') {
        const offBytes = size - 2;
        v = 0;
        for (let i = 0; i < offBytes; i++) v |= src.codeByte(pos + i) << (8 * i);
        out.imm = v >>> 0;
        out.imm2 = src.codeByte(pos + offBytes) | (src.codeByte(pos + offBytes + 1) << 8);
        pos += size;
        n++;
        continue;
      }
      if (size === 1) v = src.codeByte(pos);
      else if (size === 2) v = src.codeByte(pos) | (src.codeByte(pos + 1) << 8);
      else v = (src.codeByte(pos) | (src.codeByte(pos + 1) << 8) | (src.codeByte(pos + 2) << 16) | (src.codeByte(pos + 3) << 24)) >>> 0;
      pos += size;
      if (k === 'simm8' || k === 'rel8') v = (v << 24) >> 24;
      else if (k === 'relv' && size === 2) v = (v << 16) >> 16;
      else if (k === 'relv') v = v | 0;
      if (n === 0) out.imm = v;
      else out.imm2 = v;
      n++;
    }
  }
  out.length = pos;
  return out;
}

/** A CodeSource over a byte array, for the disassembler and tests. */
export class ArraySource implements CodeSource {
  constructor(public bytes: Uint8Array, public start = 0) {}
  codeByte(offset: number): number {
    const i = this.start + offset;
    return i < this.bytes.length ? this.bytes[i] : 0;
  }
}
