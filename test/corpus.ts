// A NASM-syntax corpus generated from the opcode table: every table form except prefixes
// and decoder-only aliases, in `bits 16` and `bits 32`, with a spread of operand shapes
// (every general register, 16- and 32-bit addressing modes, segment overrides, immediates at
// their boundaries, branch targets near and far, lock/rep prefixes). The assembler is checked
// against NASM on it byte for byte, and the disassembler against ndisasm.
//
// Deterministic: the same table gives the same corpus, line for line.
//
// API (keep stable): corpus(bits) → { lines, formIds, lineForms }. lines[0] is `bits N`;
// `lines.join('\n')` is a complete NASM source. lineForms[i] is the FORMS id line i is
// meant to exercise, or -1 for a directive or label line. formIds is the set of ids covered.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORMS, type Form, type OperandKind } from '../emulator/cpu/opcodes';

export interface Corpus {
  lines: string[];
  formIds: Set<number>;
  /** Per line: the form it exercises, or -1 (directive, label). */
  lineForms: number[];
}

const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const SREG_DEST = ['es', 'ss', 'ds', 'fs', 'gs'];
const CREG = ['cr0', 'cr2', 'cr3'];
const TREG = ['tr3', 'tr4', 'tr5', 'tr6', 'tr7'];

/** 16-bit addressing: all eight r/m bases, disp8/disp16, negative displacements, direct. */
const MEM16 = [
  '[bx+si]', '[bx+di]', '[bp+si]', '[bp+di]', '[si]', '[di]', '[bp]', '[bx]',
  '[bx+si+0x7f]', '[bx+di-0x80]', '[bp+si+0x12]', '[bp+di-0x1]', '[si+0x1234]', '[di-0x1234]',
  '[bp+0x4]', '[bx+0x7fff]', '[bx+0x80]', '[bp-0x80]', '[si-0x81]', '[di+0x1]',
  '@D16 0x1234', '@D16 0xfffe', '@D16 0x0',
  '[es:bx]', '[cs:si+0x10]', '[ss:bp+di]', '[ds:bx+si+0x200]', '[fs:di]', '@S16 gs:0x100',
  '[ss:bp]', '[ds:bp+0x2]',
];
/** 32-bit addressing: every base, SIB with scales, esp/ebp bases, disp8/disp32, no base, direct. */
const MEM32 = [
  '[eax]', '[ecx]', '[edx]', '[ebx]', '[esp]', '[ebp]', '[esi]', '[edi]',
  '[eax+0x7f]', '[ecx-0x80]', '[edx+0x80]', '[ebx-0x12345678]', '[esp+0x8]', '[ebp-0x8]',
  '[ebp+0x12345678]', '[esi+0x1]', '[edi-0x1]',
  '[eax+ecx*2]', '[ebx+esi*4+0x8]', '[esp+eax*8-0x4]', '[ebp+edi]', '[edx+ebp*4+0x1000]',
  '[ecx+edx*8+0x7f]', '[esi+ebx*2-0x12345678]', '[edi+esi]',
  '[ecx*4+0x1000]', '[edi*8+0x12345678]', '[eax*4-0x4]', '[ebp*8+0x0]',
  '@D32 0x12345678', '@D32 0x10', '@D32 0xffffffff',
  '[es:eax]', '[fs:esp+0x4]', '[gs:ebp-0x4]', '[ss:ebx]', '[cs:ecx*4+0x10]', '[ds:ebp+eax]',
  '@S32 fs:0x12345678',
];

/** Renders a pool entry: direct addresses need `word`/`dword` when not the default size. */
function memText(entry: string, bits: 16 | 32): string {
  if (entry.startsWith('@D16 ')) return bits === 16 ? `[${entry.slice(5)}]` : `[word ${entry.slice(5)}]`;
  if (entry.startsWith('@D32 ')) return bits === 32 ? `[${entry.slice(5)}]` : `[dword ${entry.slice(5)}]`;
  if (entry.startsWith('@S16 ')) {
    const [s, off] = entry.slice(5).split(':');
    return bits === 16 ? `[${s}:${off}]` : `[${s}:word ${off}]`;
  }
  if (entry.startsWith('@S32 ')) {
    const [s, off] = entry.slice(5).split(':');
    return bits === 32 ? `[${s}:${off}]` : `[${s}:dword ${off}]`;
  }
  return entry;
}

const SIZE_WORD: Record<number, string> = { 8: 'byte', 16: 'word', 32: 'dword' };

const IMM8 = ['0x0', '0x1', '0x7f', '0x80', '0xff', '-0x1', '-0x80', '0x12'];
const IMM8_SHIFT = ['0x0', '0x2', '0x7', '0x1f', '0xff', '0x80'];
const IMM8_PORT = ['0x0', '0x1', '0x60', '0x7f', '0x80', '0xff'];
const IMM8_INT = ['0x0', '0x3', '0x10', '0x21', '0x80', '0xff'];
const IMM8_AAM = ['0x0', '0x2', '0x10', '0xff'];
const IMM8_BT = ['0x0', '0x1', '0x7', '0xf', '0x1f', '0xff'];
const IMM16 = ['0x0', '0x1', '0x7fff', '0x8000', '0xffff', '0x10'];
/** Values that do not fit a sign-extended byte (so NASM keeps the full-size form). */
const IMMV16 = ['0x80', '0xff', '0x7fff', '0x8000', '0xfeff', '0x1234', '-0x81', '0xff7f'];
const IMMV32 = ['0x80', '0xff', '0x12345678', '0x7fffffff', '0x80000000', '0xffff', '0x8000', '-0x81', '0xffffff7f'];
/** For `mov reg,imm`, where every value keeps the form. */
const IMMV16_ANY = ['0x0', '0x1', '0x7f', '0x80', '0xffff', '0x8000', '0x1234', '-0x1'];
const IMMV32_ANY = ['0x0', '0x1', '0x7f', '0x80', '0xffffffff', '0x12345678', '0x8000', '-0x1'];
const SIMM8 = ['0x0', '0x1', '0x7f', '-0x1', '-0x80', '0x10', '-0x5', '0x40'];

const V_KINDS = new Set<OperandKind>(['rv', 'rmv', 'immv', 'eAX', 'relv', 'rrv', 'moffsv', 'ptr', 'mfar']);
const RM_KINDS = new Set<OperandKind>(['rm8', 'rm16', 'rm32', 'rmv', 'm', 'm16', 'm32', 'mfar', 'rrv', 'rr32', 'rrw']);
const MEM_ONLY = new Set<OperandKind>(['m', 'm16', 'm32', 'mfar']);
const REG_ONLY = new Set<OperandKind>(['rrv', 'rr32', 'rrw']);
const SIZING = new Set<OperandKind>(['r8', 'r16', 'r32', 'rv', 'al', 'eAX', 'ax']);

function pick<T>(list: readonly T[], i: number): T {
  return list[((i % list.length) + list.length) % list.length];
}

/** Another form of the same mnemonic that NASM prefers over `f` for a register r/m operand. */
function registerVariantsPreferElsewhere(f: Form): boolean {
  const m = f.mnemonic;
  const ops = f.operands.join(',');
  // `op r,rm` with two registers: NASM encodes the `op rm,r` direction.
  if (['r8,rm8', 'rv,rmv'].includes(ops) && !['imul', 'bsf', 'bsr', 'lar', 'lsl', 'movzx', 'movsx'].includes(m)) {
    return !f.attrs.has('asm') || m === 'xchg';
  }
  // inc/dec/push/pop of a register have one-byte forms.
  if (['inc', 'dec', 'push', 'pop'].includes(m) && ops === 'rmv') return true;
  // `mov reg,imm` uses B0+r/B8+r.
  if (m === 'mov' && (ops === 'rm8,imm8' || ops === 'rmv,immv')) return true;
  return false;
}

/** True when NASM would pick the short accumulator form for this register. */
function accumulatorPreferred(f: Form, regIndex: number): boolean {
  if (regIndex !== 0) return false;
  const ops = f.operands.join(',');
  if (ops === 'rm8,imm8' || ops === 'rmv,immv') {
    const m = f.mnemonic;
    return m !== 'mov' && !['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'].includes(m) && m !== 'enter';
  }
  // xchg ax,reg has the one-byte form
  if (f.mnemonic === 'xchg' && (ops === 'rmv,rv' || ops === 'rv,rmv')) return true;
  return false;
}

/** NASM spellings of the 16-bit forms in 32-bit code (where the bare name means 32-bit). */
const O16_NAMES: Record<string, string> = { pusha: 'pushaw', popa: 'popaw', pushf: 'pushfw', popf: 'popfw', iret: 'iretw' };

/** `mov al,[0x10]`: NASM picks the moffs form (A0-A3) for the accumulator and a direct address. */
function isMoffsShape(text: string): boolean {
  return /^mov ((al|ax|eax),\[[^\]]*\]|\[[^\]]*\],(al|ax|eax))$/.test(text)
    && !/\[[^\]]*\b(e?[abcd]x|e?[sd]i|e?[sb]p)\b[^\]]*\]/.test(text);
}

interface Ctx {
  bits: 16 | 32;
  lines: string[];
  lineForms: number[];
  formIds: Set<number>;
  mem16: number;
  mem32: number;
  label: number;
}

function emit(c: Ctx, text: string, formId: number): void {
  c.lines.push(text);
  c.lineForms.push(formId);
  if (formId >= 0) c.formIds.add(formId);
}

function nextMem(c: Ctx, ad: 16 | 32): string {
  return ad === 16 ? memText(pick(MEM16, c.mem16++), c.bits) : memText(pick(MEM32, c.mem32++), c.bits);
}

const STRING_SRC = new Set(['movs', 'cmps', 'lods', 'outs']);

/** Lines for one form at one operand size. */
function formLines(c: Ctx, f: Form, osize: 16 | 32): void {
  const ops = f.operands;
  const m = f.mnemonic;
  const regName = (size: number, i: number) => (size === 8 ? pick(R8, i) : size === 16 ? pick(R16, i) : pick(R32, i));
  const vsize = osize;
  const kindSize = (k: OperandKind): number =>
    k === 'rm8' || k === 'r8' ? 8 : k === 'rm16' || k === 'r16' || k === 'm16' ? 16 : k === 'rm32' || k === 'r32' || k === 'm32' || k === 'rr32' ? 32 : vsize;
  const hasRm = ops.some((k) => RM_KINDS.has(k));
  const rmKind = ops.find((k) => RM_KINDS.has(k));
  const allowReg = hasRm && !MEM_ONLY.has(rmKind!) && !registerVariantsPreferElsewhere(f);
  const allowMem = hasRm && !REG_ONLY.has(rmKind!);
  const needsSize = (f.mnemonic === 'movzx' || f.mnemonic === 'movsx')
    || !ops.some((k) => SIZING.has(k) && !RM_KINDS.has(k));

  type Shape = { reg: boolean; i: number; ad: 16 | 32 };
  const shapes: Shape[] = [];
  if (allowReg) for (let i = 0; i < 8; i++) shapes.push({ reg: true, i, ad: c.bits });
  if (allowMem) {
    const other: 16 | 32 = c.bits === 16 ? 32 : 16;
    for (let i = 0; i < 5; i++) shapes.push({ reg: false, i, ad: c.bits });
    shapes.push({ reg: false, i: 5, ad: other });
    shapes.push({ reg: false, i: 6, ad: other });
  }
  if (!hasRm) {
    const n = ops.some((k) => k === 'rv' || k === 'r8' || k === 'r16' || k === 'r32') ? 8
      : ops.some((k) => k.startsWith('imm') || k === 'simm8' || k === 'rel8' || k === 'relv' || k.startsWith('moffs') || k === 'ptr') ? 6 : 1;
    for (let i = 0; i < n; i++) shapes.push({ reg: true, i, ad: c.bits });
  }

  for (const sh of shapes) {
    if (hasRm && sh.reg && accumulatorPreferred(f, (sh.i + 5) % 8)) continue;
    if (hasRm && sh.reg && m === 'xchg' && sh.i === 0) continue;
    const parts: string[] = [];
    const pre: string[] = [];
    const post: string[] = [];
    let skip = false;
    let immIndex = 0;
    for (const k of ops) {
      const j = sh.i + immIndex * 3;
      switch (k) {
        case 'r8': case 'r16': case 'r32': case 'rv':
          if (!hasRm && f.plusReg && m === 'xchg' && sh.i === 0) { skip = true; break; }
          parts.push(regName(kindSize(k), sh.i));
          break;
        case 'rm8': case 'rm16': case 'rm32': case 'rmv': case 'm': case 'm16': case 'm32': case 'mfar':
        case 'rrv': case 'rr32': case 'rrw': {
          if (sh.reg) {
            let size = kindSize(k);
            if (k === 'rrw') size = sh.i % 2 === 0 ? 16 : 32;
            parts.push(regName(size, (sh.i + 5) % 8));
          } else {
            let t = nextMem(c, sh.ad);
            if (k === 'mfar') {
              if (m === 'jmp' || m === 'call') t = `far ${osize === c.bits ? '' : SIZE_WORD[osize] + ' '}${t}`;
            } else if (k !== 'm' && needsSize) {
              t = `${SIZE_WORD[kindSize(k)]} ${t}`;
            }
            parts.push(t);
          }
          break;
        }
        case 'sreg': {
          const dest = ops[0] === 'sreg';
          parts.push(dest ? pick(SREG_DEST, sh.i) : pick(SREG, sh.i));
          break;
        }
        case 'cr': parts.push(pick(CREG, sh.i)); break;
        case 'dr': parts.push(`dr${sh.i % 8}`); break;
        case 'tr': parts.push(pick(TREG, sh.i)); break;
        case 'al': case 'cl': case 'dx': case 'es': case 'cs': case 'ss': case 'ds': case 'fs': case 'gs':
          parts.push(k);
          break;
        case 'ax': parts.push('ax'); break;
        case 'eAX': parts.push(osize === 16 ? 'ax' : 'eax'); break;
        case '1': parts.push('1'); break;
        case 'imm8': {
          let pool = IMM8;
          if (['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar', 'shld', 'shrd'].includes(m)) pool = IMM8_SHIFT;
          else if (m === 'in' || m === 'out') pool = IMM8_PORT;
          else if (m === 'int') pool = IMM8_INT;
          else if (m === 'aam' || m === 'aad' || m === 'enter') pool = IMM8_AAM;
          else if (m.startsWith('bt')) pool = IMM8_BT;
          parts.push(pick(pool, j));
          immIndex++;
          break;
        }
        case 'imm16': parts.push(pick(IMM16, j)); immIndex++; break;
        case 'immv': {
          const any = m === 'mov' && f.plusReg;
          const pool = osize === 16 ? (any ? IMMV16_ANY : IMMV16) : (any ? IMMV32_ANY : IMMV32);
          let t = pick(pool, j);
          if (m === 'push' && osize !== c.bits) t = `${SIZE_WORD[osize]} ${t}`;
          parts.push(t);
          immIndex++;
          break;
        }
        case 'simm8': {
          let t = pick(SIMM8, j);
          if (m === 'push') t = osize !== c.bits ? `${SIZE_WORD[osize]} ${t}` : t;
          parts.push(t);
          immIndex++;
          break;
        }
        case 'rel8': case 'relv': {
          const n = c.label++;
          const lab = `L${n}`;
          const cond = !(m === 'jmp' || m === 'call' || m.startsWith('loop') || m === 'jcxz' || m === 'jecxz');
          let t: string;
          let target: string;
          if (k === 'rel8') {
            // backward to just before, or forward to just after
            target = lab;
            if (sh.i % 2 === 0) pre.push(`${lab}:`);
            else post.push(`${lab}:`);
            t = m.startsWith('loop') || m.startsWith('jcxz') || m.startsWith('jecxz') ? target : `short ${target}`;
            if (m.startsWith('loop') && sh.ad !== c.bits) t += '';
          } else {
            // near: far away (corpus start/end) or close by
            target = sh.i % 3 === 0 ? 'Lstart' : sh.i % 3 === 1 ? 'Lend' : lab;
            if (target === lab) post.push(`${lab}:`);
            const sz = osize !== c.bits ? `${SIZE_WORD[osize]} ` : '';
            if (m === 'call') t = `${sz}${target}`;
            else t = `near ${sz}${target}`;
            if (!cond && m === 'jmp') t = `near ${sz}${target}`;
          }
          parts.push(t);
          immIndex++;
          break;
        }
        case 'moffs8': case 'moffsv': {
          const ad: 16 | 32 = sh.i % 3 === 2 ? (c.bits === 16 ? 32 : 16) : c.bits;
          const off = ad === 16 ? pick(['0x1234', '0x0', '0xffff'], sh.i) : pick(['0x12345678', '0x0', '0xffffffff'], sh.i);
          const kw = ad !== c.bits ? (ad === 16 ? 'word ' : 'dword ') : '';
          const seg = sh.i % 2 === 1 ? `${pick(SREG, sh.i)}:` : '';
          parts.push(`[${seg}${kw}${off}]`);
          break;
        }
        case 'ptr': {
          const sel = pick(['0x8', '0x10', '0xffff', '0x0'], sh.i);
          const off = osize === 16 ? pick(['0x1234', '0x0', '0xffff'], sh.i) : pick(['0x12345678', '0x0', '0xffffffff'], sh.i);
          parts.push(`${SIZE_WORD[osize]} ${sel}:${off}`);
          break;
        }
        default:
          throw new Error(`corpus: no rendering for operand kind ${k}`);
      }
    }
    if (skip) continue;
    const name = osize === 16 && c.bits === 32 && O16_NAMES[m] ? O16_NAMES[m] : m;
    let text = parts.length ? `${name} ${parts.join(',')}` : name;
    if (!f.operands.includes('moffs8') && !f.operands.includes('moffsv') && isMoffsShape(text)) continue;
    // forms without operands that need an explicit size prefix: none (their mnemonics say it)
    for (const p of pre) emit(c, p, -1);
    emit(c, text, f.id);
    for (const p of post) emit(c, p, -1);
    text = '';
  }

  // prefixes
  if (f.attrs.has('lock') && allowMem && RM_KINDS.has(ops[0])) {
    const parts = ops.map((k) => {
      if (RM_KINDS.has(k)) {
        const t = nextMem(c, c.bits);
        return needsSize ? `${SIZE_WORD[kindSize(k)]} ${t}` : t;
      }
      if (k === 'r8') return 'dl';
      if (k === 'rv') return regName(vsize, 3);
      if (k === 'imm8') return '0x12';
      if (k === 'simm8') return '-0x2';
      if (k === 'immv') return osize === 16 ? '0x1234' : '0x12345678';
      return null;
    });
    if (!parts.includes(null)) emit(c, `lock ${m} ${parts.join(',')}`, f.id);
  }
  if (ops.length === 0 && (f.attrs.has('rep') || f.attrs.has('repcc'))) {
    const base = m.slice(0, -1);
    if (f.attrs.has('rep')) emit(c, `rep ${m}`, f.id);
    else {
      emit(c, `repe ${m}`, f.id);
      emit(c, `repne ${m}`, f.id);
    }
    if (STRING_SRC.has(base)) {
      emit(c, `es ${m}`, f.id);
      emit(c, `fs ${m}`, f.id);
    }
    emit(c, `${c.bits === 16 ? 'a32' : 'a16'} ${m}`, f.id);
  }
}

/** The corpus for one code size. */
export function corpus(bits: 16 | 32): Corpus {
  const c: Ctx = { bits, lines: [], lineForms: [], formIds: new Set(), mem16: 0, mem32: 0, label: 0 };
  emit(c, `bits ${bits}`, -1);
  emit(c, 'Lstart:', -1);
  for (const f of FORMS) {
    if (f.attrs.has('prefix') || f.attrs.has('alias')) continue;
    const usesV = f.operands.some((k) => V_KINDS.has(k));
    let sizes: (16 | 32)[] = f.osize ? [f.osize] : usesV ? [16, 32] : [bits];
    // NASM has no `movzx r16,r/m16` (the i386 accepts it as a 16-bit move).
    if ((f.mnemonic === 'movzx' || f.mnemonic === 'movsx') && f.operands[1] === 'rm16') sizes = [32];
    for (const s of sizes) formLines(c, f, s);
  }
  emit(c, 'Lend:', -1);
  return c;
}

/** The forms the corpus is meant to cover: all but prefixes and decoder-only aliases. */
export function corpusTargetForms(): Form[] {
  return FORMS.filter((f) => !f.attrs.has('prefix') && !f.attrs.has('alias'));
}

/**
 * Assembles `lines` with NASM (the oracle) and returns the bytes each line produced (empty for
 * labels and directives), read from NASM's listing. Throws with NASM's messages on an error
 * or warning.
 */
export function nasmLineBytes(lines: readonly string[]): { bytes: Uint8Array; perLine: Uint8Array[] } {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-corpus-'));
  try {
    const src = join(dir, 'c.asm');
    writeFileSync(src, lines.join('\n') + '\n');
    const res = spawnSync('nasm', ['-f', 'bin', '-o', join(dir, 'c.bin'), '-l', join(dir, 'c.lst'), src], { encoding: 'utf8' });
    if (res.status !== 0 || res.stderr.trim()) throw new Error(`nasm: ${res.stderr.trim() || 'failed'}`);
    // The listing gives each line's offset and length; the bytes come from the binary (the
    // listing shows some values before relocation, e.g. `70(56)` for `jo short 0x56`).
    const start: number[] = lines.map(() => -1);
    const len: number[] = lines.map(() => 0);
    for (const l of readFileSync(join(dir, 'c.lst'), 'utf8').split('\n')) {
      const mm = /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F()[\]]+)-?/.exec(l);
      if (!mm) continue;
      const i = Number(mm[1]) - 1;
      if (start[i] < 0) start[i] = parseInt(mm[2], 16);
      len[i] += mm[3].replace(/[()[\]]/g, '').length / 2;
    }
    const bytes = new Uint8Array(readFileSync(join(dir, 'c.bin')));
    return {
      bytes,
      perLine: lines.map((_, i) => (start[i] < 0 ? new Uint8Array(0) : bytes.slice(start[i], start[i] + len[i]))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
