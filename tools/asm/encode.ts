// Instruction encoding, driven by the opcode table (emulator/cpu/opcodes.ts): every form of
// the mnemonic that accepts the operands is encoded, and the shortest wins; among equal
// lengths the first in table order, as NASM's own choices are mirrored by that order.

import { FORMS_BY_MNEMONIC, MNEMONIC_ALIASES, RM_KINDS, type Form, type OperandKind } from '../../emulator/cpu/opcodes';
import { isSimple, type Value } from './expr';
import { LineError } from './lexer';
import type { ImmOp, MemOp, Operand } from './operands';

export interface Prefixes {
  /** 0xF3, 0xF2 or 0. */
  rep: number;
  lock: boolean;
  /** Segment override from a prefix word (`es movsb`), or -1. */
  seg: number;
  /** Explicit o16/o32 and a16/a32, or 0. */
  osize: number;
  asize: number;
  col: number;
}

export interface EncodeContext {
  bits: 16 | 32;
  /** Absolute address of the instruction's first byte. */
  address: number;
  /** Index of the current section (to tell near targets from far ones). */
  section: number;
  /** Records a problem that does not stop encoding (out-of-range values). */
  error(col: number, message: string): void;
  /** Set when the chosen form has a relative operand (its bytes depend on its address). */
  relative?: boolean;
  /** ... and its target is one label of this section (it moves with the instruction). */
  relativeToOneLabel?: boolean;
}

const SEG_PREFIX = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** Mnemonics whose bare spelling follows the code size in NASM (`pusha` = `pushad` in 32-bit code). */
const SIZED_BY_BITS: Readonly<Record<string, string>> = { iret: 'iretd', pusha: 'pushad', popa: 'popad', pushf: 'pushfd', popf: 'popfd' };
/** Where an immediate's size keyword also sizes an unsized memory operand (`add [bx], byte 5`). */
const SAME_SIZE = new Set(['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'mov', 'test']);
/** Near indirect jumps and calls take the code size when the memory operand has none. */
const DEFAULT_SIZED = new Set(['jmp', 'call']);

const V_KINDS = new Set<OperandKind>(['rv', 'eAX', 'rmv', 'rrv', 'immv', 'simm8', 'relv', 'moffsv', 'ptr', 'mfar']);
const REG_FIELD_KINDS = new Set<OperandKind>(['r8', 'r16', 'r32', 'rv', 'sreg', 'cr', 'dr', 'tr']);

/** The table forms for a mnemonic as the assembler may use them, or undefined. */
const formsCache = new Map<string, readonly Form[] | undefined>();

export function formsFor(mnemonic: string): readonly Form[] | undefined {
  if (formsCache.has(mnemonic)) return formsCache.get(mnemonic);
  const f = findForms(mnemonic);
  formsCache.set(mnemonic, f);
  return f;
}

function findForms(mnemonic: string): readonly Form[] | undefined {
  const m = MNEMONIC_ALIASES[mnemonic] ?? mnemonic;
  const all = FORMS_BY_MNEMONIC.get(m);
  if (!all || m === 'esc') return undefined;
  const usable = all.filter((f) => !f.attrs.has('alias'));
  // A mnemonic that only exists as decoder aliases (salc, int1) is still NASM's to write.
  return usable.length ? usable : all;
}

export function isMnemonic(word: string): boolean {
  return formsFor(word) !== undefined;
}

// Operand classes, for a quick first test of a form.
const C_R8 = 1, C_R16 = 2, C_R32 = 4, C_SREG = 8, C_CR = 16, C_DR = 32, C_TR = 64, C_MEM = 128, C_IMM = 256, C_FAR = 512;
const KIND_MASK: Record<OperandKind, number> = {
  r8: C_R8, r16: C_R16, r32: C_R32, rv: C_R16 | C_R32, rm8: C_R8 | C_MEM, rm16: C_R16 | C_MEM, rm32: C_R32 | C_MEM,
  rmv: C_R16 | C_R32 | C_MEM, m: C_MEM, m16: C_MEM, m32: C_MEM, mfar: C_MEM, rrv: C_R16 | C_R32, rr32: C_R32,
  rrw: C_R16 | C_R32, sreg: C_SREG, cr: C_CR, dr: C_DR, tr: C_TR, al: C_R8, ax: C_R16, eAX: C_R16 | C_R32, cl: C_R8,
  dx: C_R16, es: C_SREG, cs: C_SREG, ss: C_SREG, ds: C_SREG, fs: C_SREG, gs: C_SREG, imm8: C_IMM, imm16: C_IMM,
  immv: C_IMM, simm8: C_IMM, '1': C_IMM, rel8: C_IMM, relv: C_IMM, moffs8: C_MEM, moffsv: C_MEM, ptr: C_FAR,
};
const maskCache = new Map<Form, number[]>();
function kindMasks(f: Form): number[] {
  let m = maskCache.get(f);
  if (!m) maskCache.set(f, (m = f.operands.map((k) => KIND_MASK[k])));
  return m;
}
function operandClass(o: Operand): number {
  switch (o.type) {
    case 'mem': return C_MEM;
    case 'imm': return C_IMM;
    case 'far': return C_FAR;
    default:
      switch (o.reg.cls) {
        case 'gpr': return o.reg.size === 8 ? C_R8 : o.reg.size === 16 ? C_R16 : C_R32;
        case 'sreg': return C_SREG;
        case 'cr': return C_CR;
        case 'dr': return C_DR;
        default: return C_TR;
      }
  }
}

interface Candidate {
  form: Form;
  bytes: number[];
  /** Size the form gives an unsized memory operand (0 = any). */
  memSize: number;
}

class NoMatch {
  constructor(readonly message: string, readonly col: number, readonly strong: boolean, readonly progress = 0) {}
}

const fitsS8 = (n: bigint, bits: number) => (BigInt.asUintN(bits, n + 128n)) <= 255n;

export function encodeInstruction(ctx: EncodeContext, mnemonicIn: string, ops: Operand[], pfx: Prefixes, col: number): number[] {
  let mnemonic = mnemonicIn;
  if (ctx.bits === 32 && SIZED_BY_BITS[mnemonic]) mnemonic = SIZED_BY_BITS[mnemonic];
  const base = MNEMONIC_ALIASES[mnemonic] ?? mnemonic;
  // NASM's two-operand imul: `imul r, imm` is `imul r, r, imm`.
  if (base === 'imul' && ops.length === 2 && ops[0].type === 'reg' && ops[1].type === 'imm') ops = [ops[0], ops[0], ops[1]];
  const forms = formsFor(mnemonic);
  if (!forms) throw new LineError(`unknown mnemonic '${mnemonicIn}'`, col);

  // An explicit immediate size sizes an unsized memory operand of the same-size instructions.
  const mem = ops.find((o): o is MemOp => o.type === 'mem');
  if (mem && mem.size === 0 && !mem.far && SAME_SIZE.has(base)) {
    const imm = ops.find((o): o is ImmOp => o.type === 'imm' && o.size > 0);
    if (imm) ops = ops.map((o) => (o === mem ? { ...mem, size: imm.size } : o));
  }

  const cands: Candidate[] = [];
  let best: NoMatch | undefined;
  let unsizedAmbiguous = false;
  const classes = ops.map(operandClass);
  for (const f of forms) {
    if (f.operands.length !== ops.length) continue;
    // Cheap test of operand classes first; tryForm sorts out the rest.
    const masks = kindMasks(f);
    let bad = -1;
    for (let i = 0; i < masks.length; i++) {
      if (!(masks[i] & classes[i])) {
        bad = i;
        break;
      }
    }
    if (bad >= 0) {
      if (!best || bad > best.progress) best = new NoMatch(`operand ${bad + 1} does not fit`, ops[bad].col, false, bad);
      continue;
    }
    const r = tryForm(ctx, f, ops, pfx, base);
    if (r instanceof NoMatch) {
      if (r.message === 'size') unsizedAmbiguous = true;
      else if (!best || (r.strong && !best.strong) || (r.strong === best.strong && r.progress > best.progress)) best = r;
      continue;
    }
    cands.push(r as Candidate);
  }
  if (mem && mem.size === 0 && !mem.far) {
    const sizes = new Set(cands.map((c) => c.memSize).filter((s) => s !== 0));
    if (sizes.size > 1 || (unsizedAmbiguous && !DEFAULT_SIZED.has(base))) throw new LineError('operation size not specified', mem.col);
  }
  if (!cands.length) {
    if (best?.strong) throw new LineError(best.message, best.col);
    if (unsizedAmbiguous) throw new LineError('operation size not specified', mem?.col ?? col);
    if (forms.every((f) => f.operands.length !== ops.length)) {
      const counts = [...new Set(forms.map((f) => f.operands.length))].sort();
      throw new LineError(`'${mnemonicIn}' takes ${counts.join(' or ')} operand${counts.length === 1 && counts[0] === 1 ? '' : 's'}, not ${ops.length}`, col);
    }
    if (SAME_SIZE.has(base) || base === 'push' || base === 'pop' || base === 'xchg') {
      const sizes = new Set(ops.map((o) => (o.type === 'reg' ? (o.reg.cls === 'gpr' ? o.reg.size : 0) : o.type === 'far' ? 0 : o.size)).filter((x) => x));
      if (sizes.size > 1) throw new LineError('mismatch in operand sizes', ops[1]?.col ?? col);
    }
    throw new LineError(`invalid combination of opcode and operands for '${mnemonicIn}'${best ? ` (${best.message})` : ''}`, best?.col ?? col);
  }
  let pick = cands[0];
  for (const c of cands) if (c.bytes.length < pick.bytes.length) pick = c;
  ctx.relative = false;
  ctx.relativeToOneLabel = false;
  pick.form.operands.forEach((k, i) => {
    if (k !== 'rel8' && k !== 'relv') return;
    const o = ops[i];
    ctx.relative = true;
    ctx.relativeToOneLabel = o.type === 'imm' && o.value.rel === 1 && o.value.sec === ctx.section && ops.length === 1;
  });
  // Re-encode the pick with errors reported (the trial encodings stay silent); without
  // immediates there is nothing to report.
  if (!ops.some((o) => o.type === 'imm' || o.type === 'far')) return pick.bytes;
  return tryForm(ctx, pick.form, ops, pfx, base, true) as unknown as number[];
}

function tryForm(ctx: EncodeContext, f: Form, ops: Operand[], pfx: Prefixes, base: string, emit = false): Candidate | NoMatch | number[] {
  const bits = ctx.bits;
  let v = 0;
  let vCol = 0;
  const setV = (s: number, c: number): boolean => {
    if (s !== 16 && s !== 32) return false;
    if (v && v !== s) return false;
    v = s;
    vCol = c;
    return true;
  };
  let memSize = 0;
  let unsizedV = false;
  let usesV = f.osize !== 0;
  for (let i = 0; i < ops.length; i++) {
    const k = f.operands[i];
    const op = ops[i];
    if (V_KINDS.has(k)) usesV = true;
    let ok = false;
    switch (k) {
      case 'r8': case 'r16': case 'r32':
        ok = op.type === 'reg' && op.reg.cls === 'gpr' && op.reg.size === Number(k.slice(1));
        break;
      case 'rv': case 'rrv':
        ok = op.type === 'reg' && op.reg.cls === 'gpr' && setV(op.reg.size, op.col);
        break;
      case 'rr32':
        ok = op.type === 'reg' && op.reg.cls === 'gpr' && op.reg.size === 32;
        break;
      case 'rrw':
        ok = op.type === 'reg' && op.reg.cls === 'gpr' && op.reg.size >= 16;
        break;
      case 'eAX':
        ok = op.type === 'reg' && (op.name === 'ax' || op.name === 'eax') && setV(op.reg.size, op.col);
        break;
      case 'sreg': case 'cr': case 'dr': case 'tr':
        ok = op.type === 'reg' && op.reg.cls === k;
        break;
      case 'rm8': case 'rm16': case 'rm32': {
        const s = Number(k.slice(2));
        if (op.type === 'reg') ok = op.reg.cls === 'gpr' && op.reg.size === s;
        else if (op.type === 'mem' && !op.far) {
          ok = op.size === s || op.size === 0;
          if (op.size === 0) memSize = s;
        }
        break;
      }
      case 'rmv':
        if (op.type === 'reg') ok = op.reg.cls === 'gpr' && setV(op.reg.size, op.col);
        else if (op.type === 'mem' && !op.far) {
          if (op.size) ok = setV(op.size, op.col);
          else {
            ok = true;
            unsizedV = true;
          }
        }
        break;
      case 'm':
        ok = op.type === 'mem' && !op.far;
        break;
      case 'm16': case 'm32':
        ok = op.type === 'mem' && !op.far && (op.size === 0 || op.size === Number(k.slice(1)));
        if (ok && op.type === 'mem' && op.size === 0) memSize = Number(k.slice(1));
        break;
      case 'mfar':
        // jmp/call far [x]; les/lds/lss/lfs/lgs take a plain [x] (NASM refuses `far` there).
        if (op.type === 'mem') {
          if (DEFAULT_SIZED.has(base)) ok = op.far && (op.size ? setV(op.size, op.col) : true);
          else ok = !op.far && op.size === 0;
        }
        break;
      case 'moffs8': case 'moffsv':
        if (op.type === 'mem' && op.noRegs && !op.far && op.dispHint !== 8) {
          if (k === 'moffs8') ok = op.size === 0 || op.size === 8;
          else if (op.size) ok = setV(op.size, op.col);
          else {
            ok = true;
            unsizedV = true;
          }
          if (ok && k === 'moffs8' && op.size === 0) memSize = 8;
        }
        break;
      case 'al': case 'ax': case 'cl': case 'dx': case 'es': case 'cs': case 'ss': case 'ds': case 'fs': case 'gs':
        ok = op.type === 'reg' && op.name === k;
        break;
      case 'imm8':
        ok = op.type === 'imm' && !op.jump && (op.size === 0 || op.size === 8);
        break;
      case 'imm16':
        ok = op.type === 'imm' && !op.jump && (op.size === 0 || op.size === 16);
        break;
      case 'immv':
        ok = op.type === 'imm' && !op.jump && (op.size === 0 || setV(op.size, op.col));
        break;
      case 'simm8':
        if (op.type === 'imm' && !op.jump) {
          if (op.size === 8) ok = true;
          else if (op.size === 0) ok = isSimple(op.value) && !op.value.unknown;
          else ok = !op.strict && isSimple(op.value) && !op.value.unknown && setV(op.size, op.col);
        }
        break;
      case '1':
        ok = op.type === 'imm' && !op.jump && op.size === 0 && isSimple(op.value) && !op.value.unknown && op.value.n === 1n;
        break;
      case 'rel8':
        ok = op.type === 'imm' && op.jump !== 'near' && op.jump !== 'far' && (op.size === 0 || op.size === 8 || op.jump === 'short');
        break;
      case 'relv':
        ok = op.type === 'imm' && op.jump !== 'short' && op.jump !== 'far' && (op.size === 0 || setV(op.size, op.col));
        break;
      case 'ptr':
        ok = op.type === 'far' && (op.size === 0 || setV(op.size, op.col));
        break;
    }
    if (!ok) return new NoMatch(`operand ${i + 1} does not fit`, op.col, false, i);
  }
  // movzx/movsx widen: NASM refuses a destination no wider than the source.
  if ((base === 'movzx' || base === 'movsx') && f.operands[1] === 'rm16' && v === 16) return new NoMatch('movzx/movsx needs a wider destination', ops[0].col, false);
  if (f.osize) {
    if (v && v !== f.osize) return new NoMatch('operand size', vCol, false);
    v = f.osize;
  }
  if (usesV && !v) {
    if (unsizedV && !DEFAULT_SIZED.has(base)) return new NoMatch('size', 0, false);
    v = bits;
  }
  if (unsizedV) memSize = v;
  if (pfx.osize && usesV) v = pfx.osize;

  // simm8: the value must fit a sign-extended byte at the operand size.
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (f.operands[i] === 'simm8' && op.type === 'imm' && op.size !== 8 && !fitsS8(op.value.n, v || bits)) return new NoMatch('imm', op.col, false);
  }

  // Address size.
  const memOp = ops.find((o): o is MemOp => o.type === 'mem');
  let asz = bits as number;
  if (memOp && !memOp.noRegs) asz = memOp.asize;
  else if (pfx.asize) asz = pfx.asize;
  else if (memOp && memOp.noRegs && (memOp.dispHint === 16 || memOp.dispHint === 32)) asz = memOp.dispHint;
  else if (f.asize) asz = f.asize;
  if (memOp && !memOp.noRegs && pfx.asize && pfx.asize !== memOp.asize) return new NoMatch('address size', memOp.col, true);
  if (f.asize && asz !== f.asize) return new NoMatch('address size', 0, false);

  // Build the bytes.
  const out: number[] = [];
  let opcode = f.opcode;
  if (f.attrs.has('fpu') && f.attrs.has('asm') && opcode[0] === 0x9b) {
    out.push(0x9b);
    opcode = opcode.slice(1);
  }
  if (pfx.rep) out.push(pfx.rep);
  if (pfx.lock) out.push(0xf0);
  const seg = memOp && memOp.seg >= 0 ? memOp.seg : pfx.seg;
  if (seg >= 0) out.push(SEG_PREFIX[seg]);
  const osz = usesV ? v : pfx.osize;
  if (osz && osz !== bits) out.push(0x66);
  if (asz !== bits) out.push(0x67);
  for (const b of opcode) out.push(b);
  if (f.plusReg) {
    const r = ops.find((o, i) => o.type === 'reg' && REG_FIELD_KINDS.has(f.operands[i]));
    if (r?.type === 'reg') out[out.length - 1] += r.reg.num;
  }
  if (f.modrm) {
    let reg = f.ext;
    let rmOp: Operand | undefined;
    for (let i = 0; i < ops.length; i++) {
      const k = f.operands[i];
      const o = ops[i];
      if (RM_KINDS.has(k)) rmOp = o;
      else if (REG_FIELD_KINDS.has(k) && o.type === 'reg') reg = o.reg.num;
    }
    if (reg < 0) reg = 0;
    if (!rmOp) throw new Error(`opcode table form without an r/m operand: ${f.line}`);
    if (rmOp.type === 'reg') out.push(0xc0 | (reg << 3) | rmOp.reg.num);
    else if (rmOp.type === 'mem') encodeEA(out, rmOp, reg, asz);
  }
  // Immediates, offsets and displacements, in operand order. Relative ones need the
  // final length, so they are patched after.
  const rels: { at: number; size: number; value: Value; col: number; short: boolean }[] = [];
  for (let i = 0; i < ops.length; i++) {
    const k = f.operands[i];
    const op = ops[i];
    switch (k) {
      case 'imm8': if (op.type === 'imm') pushImm(out, op.value, 1, emit ? ctx : undefined, op.col); break;
      case 'imm16': if (op.type === 'imm') pushImm(out, op.value, 2, emit ? ctx : undefined, op.col); break;
      case 'immv': if (op.type === 'imm') pushImm(out, op.value, v / 8, emit ? ctx : undefined, op.col); break;
      case 'simm8':
        if (op.type === 'imm') {
          if (emit && op.size === 8 && isSimple(op.value) && !op.value.unknown) {
            const n = BigInt.asIntN(v || bits, op.value.n);
            if (n < -128n || n > 127n) ctx.error(op.col, `value out of range: ${op.value.n} does not fit in a signed byte`);
          }
          pushImm(out, op.value, 1, undefined, op.col);
        }
        break;
      case 'moffs8': case 'moffsv':
        if (op.type === 'mem') pushImm(out, op.disp, asz / 8, undefined, op.col);
        break;
      case 'ptr':
        if (op.type === 'far') {
          pushImm(out, op.off, v / 8, emit ? ctx : undefined, op.col);
          pushImm(out, op.seg, 2, emit ? ctx : undefined, op.col);
        }
        break;
      case 'rel8': case 'relv':
        if (op.type === 'imm') {
          const size = k === 'rel8' ? 1 : v / 8;
          rels.push({ at: out.length, size, value: op.value, col: op.col, short: op.jump === 'short' });
          for (let b = 0; b < size; b++) out.push(0);
        }
        break;
    }
  }
  const end = ctx.address + out.length;
  for (const r of rels) {
    const t = r.value;
    let disp = 0n;
    if (!t.unknown) {
      disp = t.n - BigInt(end);
      if (r.size === 1) {
        const inRange = disp >= -128n && disp <= 127n;
        const sameSection = t.rel === 1 && t.sec === ctx.section;
        const onlyShort = !f.mnemonic.startsWith('j') || f.mnemonic === 'jcxz' || f.mnemonic === 'jecxz';
        if (!r.short && !onlyShort && (!sameSection || !inRange)) return new NoMatch('short jump out of range', r.col, false);
        if (!inRange) {
          if (!emit) return { form: f, bytes: out, memSize };
          ctx.error(r.col, `short jump is out of range (target is ${disp < 0n ? -disp - 128n : disp - 127n} bytes too far)`);
        }
      }
    }
    const x = Number(BigInt.asUintN(32, disp));
    for (let b = 0; b < r.size; b++) out[r.at + b] = (x >>> (8 * b)) & 0xff;
  }
  if (emit) return out;
  return { form: f, bytes: out, memSize };
}

const LIMITS: Record<number, bigint> = { 1: 1n << 8n, 2: 1n << 16n, 4: 1n << 32n };

/** Appends the low `size` bytes of n, little-endian. */
export function pushLE(out: number[], n: bigint, size: number): void {
  const lo = Number(BigInt.asUintN(32, n));
  for (let b = 0; b < size && b < 4; b++) out.push((lo >>> (8 * b)) & 0xff);
  if (size > 4) {
    const hi = Number(BigInt.asUintN(32, n >> 32n));
    for (let b = 0; b < size - 4; b++) out.push(b < 4 ? (hi >>> (8 * b)) & 0xff : 0);
  }
}

/** Range check for a plain value that goes into `size` bytes (NASM's bounds: -2^n .. 2^n-1). */
export function checkRange(value: Value, size: number, ctx: { error(col: number, m: string): void } | undefined, col: number): void {
  if (!ctx || !isSimple(value) || value.unknown || size >= 8) return;
  const lim = LIMITS[size];
  if (value.n < -lim || value.n >= lim) {
    const what = size === 1 ? 'a byte' : size === 2 ? 'a word' : 'a dword';
    ctx.error(col, `value out of range: ${value.n} does not fit in ${what}`);
  }
}

function pushImm(out: number[], value: Value, size: number, ctx: EncodeContext | undefined, col: number): void {
  checkRange(value, size, ctx, col);
  pushLE(out, value.n, size);
}

const RM16: Record<string, number> = { 'bx+si': 0, 'bx+di': 1, 'bp+si': 2, 'bp+di': 3, si: 4, di: 5, bp: 6, bx: 7 };

/** Turns the register terms of a memory operand into base/index/scale (NASM's rules). */
export function resolveAddress(m: MemOp, regs: { reg: string; coef: number; scaled: boolean }[], regInfo: (r: string) => { size: number; num: number; cls: string } | undefined): void {
  if (regs.length === 0) {
    m.noRegs = true;
    return;
  }
  m.noRegs = false;
  const infos = regs.map((r) => ({ ...r, info: regInfo(r.reg) }));
  for (const r of infos) {
    if (!r.info || r.info.cls !== 'gpr' || r.info.size === 8) throw new LineError(`'${r.reg}' cannot be used in a memory address`, m.col);
  }
  const size = infos[0].info!.size;
  if (infos.some((r) => r.info!.size !== size)) throw new LineError('invalid effective address: 16- and 32-bit registers mixed', m.col);
  m.asize = size;
  if (size === 16) {
    if (infos.some((r) => r.coef !== 1) || infos.length > 2) throw new LineError('invalid 16-bit effective address', m.col);
    const names = infos.map((r) => r.reg).sort((a, b) => (a[0] === 'b' ? -1 : 0) - (b[0] === 'b' ? -1 : 0));
    const key = names.join('+');
    const rm = RM16[key];
    if (rm === undefined) throw new LineError(`invalid 16-bit effective address: [${names.join('+')}]`, m.col);
    m.rm16 = rm;
    return;
  }
  let base = -1;
  let index = -1;
  let scale = 1;
  const num = (r: (typeof infos)[number]) => r.info!.num;
  if (infos.length > 2) throw new LineError('invalid effective address: too many registers', m.col);
  if (infos.length === 1) {
    const t = infos[0];
    if (t.coef === 1 && !(m.nosplit && t.scaled)) base = num(t);
    else if (!m.nosplit && [2, 3, 5, 9].includes(t.coef)) {
      base = num(t);
      index = num(t);
      scale = t.coef - 1;
    } else {
      index = num(t);
      scale = t.coef;
    }
  } else {
    const [a, b] = infos;
    if (a.coef !== 1 && b.coef !== 1) throw new LineError('invalid effective address: two scaled registers', m.col);
    let bi: typeof a;
    let ii: typeof a;
    if (b.coef !== 1) [bi, ii] = [a, b];
    else if (a.coef !== 1) [bi, ii] = [b, a];
    else if (a.scaled && !b.scaled) [bi, ii] = [b, a];
    else [bi, ii] = [a, b];
    base = num(bi);
    index = num(ii);
    scale = ii.coef;
  }
  if (![1, 2, 4, 8].includes(scale) || scale < 1) throw new LineError(`invalid effective address: scale ${scale} (1, 2, 4 or 8)`, m.col);
  if (index === 4) {
    if (scale === 1 && base !== 4) [base, index] = [index, base];
    else throw new LineError('invalid effective address: esp cannot be an index', m.col);
  }
  m.base = base;
  m.index = index;
  m.scale = scale;
}

/** Appends ModRM, SIB and displacement for a memory operand. */
function encodeEA(out: number[], m: MemOp, reg: number, asz: number): void {
  const d = m.disp;
  const plain = isSimple(d) && !d.unknown;
  const dn = d.n;
  if (asz === 16) {
    if (m.noRegs) {
      out.push((reg << 3) | 6);
      pushDisp(out, dn, 2);
      return;
    }
    const zero = plain && BigInt.asUintN(16, dn) === 0n;
    let mod: number;
    if (m.dispHint === 8) mod = 1;
    else if (m.dispHint === 16 || m.dispHint === 32) mod = 2;
    else if (zero && m.rm16 !== 6) mod = 0;
    else if (plain && fitsS8(dn, 16)) mod = 1;
    else mod = 2;
    out.push((mod << 6) | (reg << 3) | m.rm16);
    if (mod === 1) pushDisp(out, dn, 1);
    else if (mod === 2) pushDisp(out, dn, 2);
    return;
  }
  if (m.noRegs) {
    out.push((reg << 3) | 5);
    pushDisp(out, dn, 4);
    return;
  }
  const zero = plain && BigInt.asUintN(32, dn) === 0n;
  const base = m.base;
  let mod: number;
  if (base === -1) mod = 0;
  else if (m.dispHint === 8) mod = 1;
  else if (m.dispHint === 16 || m.dispHint === 32) mod = 2;
  else if (zero && base !== 5) mod = 0;
  else if (plain && fitsS8(dn, 32)) mod = 1;
  else mod = 2;
  if (m.index === -1 && base !== 4) {
    out.push((mod << 6) | (reg << 3) | base);
  } else {
    const ss = [0, 0, 1, 0, 2, 0, 0, 0, 3][m.scale];
    out.push((mod << 6) | (reg << 3) | 4);
    out.push((ss << 6) | ((m.index === -1 ? 4 : m.index) << 3) | (base === -1 ? 5 : base));
  }
  if (base === -1) pushDisp(out, dn, 4);
  else if (mod === 1) pushDisp(out, dn, 1);
  else if (mod === 2) pushDisp(out, dn, 4);
}

function pushDisp(out: number[], n: bigint, size: number): void {
  pushLE(out, n, size);
}
