// Disassembler: formats instructions decoded by emulator/cpu/decoder.ts (there is one
// decoder; this file only prints) in NASM's Intel syntax, in the style of ndisasm so the two
// can be compared line for line (test/disasm.test.ts):
//
//   add ax,byte +0x5      jmp short 0x12      mov eax,[ebp+0x8]     retfd     rep movsb
//
// - numbers are hex (0x…, lower case); displacements are signed (`[bp-0x2]`), a ModRM byte
//   displacement of zero is shown (`[bp+0x0]`), an absolute address is unsigned;
// - a sign-extended byte immediate is `byte +0x5` / `byte -0x1`;
// - branch targets are absolute (address of the next instruction + displacement);
// - a memory operand gets a size keyword only when no register operand gives its size;
// - prefixes the instruction did not use are printed in front of it (`es`, `rep`, `lock`,
//   `o32`, `a32`) as ndisasm prints them.
//
// With `reassemblable: true`, disassemble() writes NASM source that assembles back to the
// same bytes when given the same `bits` and `org` (tested on the corpus and on seeded random
// byte streams): size keywords wherever NASM needs them, `strict` on immediates NASM would
// shorten, `byte`/`word`/`dword` inside brackets to pin a displacement size, explicit
// o16/o32/a16/a32 prefixes, `short`/`near` on branches, and `db` for encodings NASM never
// produces (aliases, prefixes out of NASM's order, the longer of two encodings NASM always
// picks the shorter of, a needless SIB byte). formatInsn alone cannot fall back to `db` (it
// has no bytes), so for those encodings only disassemble() is exact.
//
// formatInsn is on the trace recorder's path: no per-call tables or closures, only the
// pieces of the result string (1-2 M instructions per second on a busy 2-core host).

import { ArraySource, decode, Insn, type CodeSource, SEG_NAMES } from './decoder';
import { FORMS, type Form, type OperandKind } from './opcodes';

export interface FormatOptions {
  /** Names a branch target (jmp/call/jcc/loop); return undefined to print the number. */
  symbol?: (address: number) => string | undefined;
  /** Output NASM accepts and assembles back to the same bytes (see the file comment). */
  reassemblable?: boolean;
}

const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const EA16 = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];
const SCALE = ['', '*2', '*4', '*8'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'segr6', 'segr7'];

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}
function signedHex(n: number): string {
  return n < 0 ? '-0x' + (-n).toString(16) : '+0x' + n.toString(16);
}
function hexByte(n: number): string {
  return '0x' + n.toString(16).padStart(2, '0');
}

/** ModRM kinds that name a register when mod = 3. */
function regOf(kind: OperandKind, n: number, op32: boolean): string {
  switch (kind) {
    case 'rm8': case 'r8': return R8[n];
    case 'rm16': case 'r16': case 'rrw': return R16[n];
    case 'rm32': case 'r32': case 'rr32': return R32[n];
    default: return op32 ? R32[n] : R16[n];
  }
}

/** Operand kinds whose register gives a memory operand its size. */
const SIZING = new Set<OperandKind>(['r8', 'r16', 'r32', 'rv', 'al', 'eAX']);
/** Per form id: 1 when a register operand gives the memory operand its size. */
const HAS_SIZING_REG = Uint8Array.from(FORMS, (f) => (f.operands.some((k) => SIZING.has(k)) ? 1 : 0));

/** Mnemonics whose memory operand ndisasm prints without a size (its template has one). */
function memSizeKeyword(f: Form, kind: OperandKind, insn: Insn, reasm: boolean): string {
  const m = f.mnemonic;
  if (kind === 'm' || kind === 'mfar') return '';
  if (HAS_SIZING_REG[f.id]) {
    if (m === 'movzx' || m === 'movsx') {
      if (insn.op32 || reasm) return kind === 'rm8' ? 'byte ' : 'word ';
    }
    return '';
  }
  if (!reasm) {
    if (kind === 'm16' || kind === 'm32') return '';
    if (m.startsWith('set') || m === 'jmp' || m === 'call') {
      if (m === 'jmp' || m === 'call') return insn.op32 === (insn.defaultBits === 32) ? '' : insn.op32 ? 'dword ' : 'word ';
      return '';
    }
    if (kind === 'rm16' && (m === 'sldt' || m === 'str' || m === 'lldt' || m === 'ltr' || m === 'verr'
      || m === 'verw' || m === 'smsw' || m === 'lmsw')) return '';
  } else if (kind === 'm16' && f.operands.length === 2) {
    return ''; // mov [mem],sreg / mov sreg,[mem]
  }
  switch (kind) {
    case 'rm8': return 'byte ';
    case 'rm16': case 'm16': return 'word ';
    case 'rm32': case 'm32': return 'dword ';
    default: return insn.op32 ? 'dword ' : 'word ';
  }
}

/**
 * The memory operand text inside brackets, with its segment override and size keywords.
 * ndisasm writes the address size as `[dword …]` for a direct address, and for a SIB address
 * in 16-bit code; in NASM source that keyword means "this displacement size", so the
 * reassemblable form keeps it for direct addresses only and otherwise uses it (and `byte`)
 * to pin the displacement size NASM would otherwise shrink.
 */
function memText(insn: Insn, size: string, reasm: boolean): string {
  const seg = insn.segOverride >= 0 ? SEG_NAMES[insn.segOverride] + ':' : '';
  const mode32 = insn.defaultBits === 32;
  let addrKw = '';
  let inner: string;
  if (!insn.ad32) {
    if (insn.mod === 0 && insn.rm === 6) {
      inner = hex(insn.disp & 0xffff);
      if (mode32) addrKw = 'word ';
    } else {
      inner = EA16[insn.rm];
      if (insn.mod !== 0) inner += signedHex(insn.disp);
      if (reasm && insn.mod === 2 && insn.disp >= -128 && insn.disp <= 127) addrKw = 'word ';
      if (reasm && insn.mod === 1 && insn.disp === 0 && insn.rm !== 6) addrKw = 'byte ';
    }
  } else {
    const sib = insn.rm === 4;
    if (insn.base < 0 && insn.index < 0) {
      inner = hex(insn.disp);
      addrKw = mode32 && (reasm || sib) ? '' : 'dword ';
    } else {
      inner = insn.base >= 0 ? R32[insn.base] : '';
      if (insn.index >= 0) inner += (inner ? '+' : '') + R32[insn.index] + SCALE[insn.scale];
      if (insn.base < 0) inner += signedHex(insn.disp | 0);
      else if (insn.mod !== 0) inner += signedHex(insn.disp | 0);
      if (!reasm) {
        if (sib && !mode32) addrKw = 'dword ';
      } else if (insn.mod === 2 && insn.disp >= -128 && insn.disp <= 127) {
        addrKw = 'dword ';
      } else if (insn.mod === 1 && insn.disp === 0 && insn.base !== 5) {
        addrKw = 'byte ';
      }
    }
  }
  if (reasm) return `${size}[${seg}${addrKw}${inner}]`;
  return `${size}[${addrKw}${seg}${inner}]`;
}

/** moffs operand: `[seg:off]`, with `word`/`dword` when the address size is not the mode's. */
function moffsText(insn: Insn): string {
  const seg = insn.segOverride >= 0 ? SEG_NAMES[insn.segOverride] + ':' : '';
  const kw = insn.ad32 === (insn.defaultBits === 32) ? '' : insn.ad32 ? 'dword ' : 'word ';
  return `[${seg}${kw}${hex(insn.imm)}]`;
}

const RM_FIRST = new Set<OperandKind>(['rm8', 'rm16', 'rm32', 'rmv']);

// x87 escapes (D8-DF) the CPU table decodes only for their length (`esc`: no x87 yet),
// named here as ndisasm names them, for listings. Per opcode and ModRM reg: the memory
// form as "name size" (size '' for environment/state operands), '' for a reserved
// encoding; register forms by reg, then either one name taking st(rm) (`fadd stN`, `fadd
// to stN`) or eight names by rm ('' reserved).
const X87_ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
const X87_INT = ['fiadd', 'fimul', 'ficom', 'ficomp', 'fisub', 'fisubr', 'fidiv', 'fidivr'];
const X87_MEM: string[][] = [
  X87_ARITH.map((n) => `${n} dword`),
  ['fld dword', '', 'fst dword', 'fstp dword', 'fldenv', 'fldcw', 'fnstenv', 'fnstcw'],
  X87_INT.map((n) => `${n} dword`),
  ['fild dword', 'fisttp dword', 'fist dword', 'fistp dword', '', 'fld tword', '', 'fstp tword'],
  X87_ARITH.map((n) => `${n} qword`),
  ['fld qword', 'fisttp qword', 'fst qword', 'fstp qword', 'frstor', '', 'fnsave', 'fnstsw'],
  X87_INT.map((n) => `${n} word`),
  ['fild word', 'fisttp word', 'fist word', 'fistp word', 'fbld tword', 'fild qword', 'fbstp tword', 'fistp qword'],
];
const R = '';
const only = (rm: number, name: string) => Array.from({ length: 8 }, (_, i) => (i === rm ? name : R));
const X87_REG: (string | string[])[][] = [
  X87_ARITH,
  ['fld', 'fxch', only(0, 'fnop'), only(-1, R),
    ['fchs', 'fabs', R, R, 'ftst', 'fxam', R, R],
    ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz', R],
    ['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp'],
    ['fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos']],
  ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', only(-1, R), only(1, 'fucompp'), only(-1, R), only(-1, R)],
  ['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu', ['fneni', 'fndisi', 'fnclex', 'fninit', 'fsetpm', R, R, R], 'fucomi', 'fcomi', only(-1, R)],
  ['fadd to', 'fmul to', only(-1, R), only(-1, R), 'fsubr to', 'fsub to', 'fdivr to', 'fdiv to'],
  ['ffree', only(-1, R), 'fst', 'fstp', 'fucom', 'fucomp', only(-1, R), only(-1, R)],
  ['faddp', 'fmulp', only(-1, R), only(1, 'fcompp'), 'fsubrp', 'fsubp', 'fdivrp', 'fdivp'],
  ['ffreep', only(-1, R), only(-1, R), only(-1, R), only(0, 'fnstsw ax'), 'fucomip', 'fcomip', only(-1, R)],
];

/** Register forms ndisasm can also spell with two operands, per opcode and reg: a `st0,stN`,
 *  b `stN,st0` (for `fadd to stN`: `fadd stN,st0`). It does so to show a 16-bit listing's
 *  a32 prefix as used; forms without one print `a32` before the name. */
const X87_PAIR = ['aaaaaaaa', '-b------', 'aaaa----', 'aaaa-aa-', 'bb--bbbb', '----aa--', 'bb--bbbb', '-----aa-'];

/** The x87 instruction an `esc` form encodes, or null for a reserved encoding (ndisasm lists
 *  its first byte as `db`). Memory forms: the name and the size keyword; the caller adds
 *  the address. Register forms: the whole text. */
function x87Name(insn: Insn): string | null {
  const op = insn.opcode - 0xd8;
  if (insn.hasMem) return X87_MEM[op][insn.reg] || null;
  const r = X87_REG[op][insn.reg];
  if (typeof r !== 'string') return r[insn.rm] || null;
  if (!r) return null;
  if (insn.ad32 && insn.defaultBits === 16) {
    const pair = X87_PAIR[op][insn.reg];
    const name = r.replace(/ to$/, '');
    if (pair === 'a') return `${name} st0,st${insn.rm}`;
    if (pair === 'b') return `${name} st${insn.rm},st0`;
  }
  return `${r} st${insn.rm}`;
}

/** Whether an x87 register form's text shows a 16-bit listing's a32 prefix (else `a32`). */
function x87UsesA32(insn: Insn, text: string): boolean {
  return text.includes(',') || (insn.defaultBits === 32 && text.includes(' st'));
}

/** True when the listing shows this decoded instruction as ndisasm does: not as `db` bytes
 *  (a reserved x87 encoding, or an alias ndisasm lacks: 82 /n, F6/F7 /1, sal as /6). */
export function ndisasmNames(insn: Insn): boolean {
  const f = insn.form;
  if (!f) return false;
  if (f.mnemonic === 'esc') return x87Name(insn) !== null;
  return !(f.attrs.has('alias') && f.mnemonic !== 'salc' && f.mnemonic !== 'int1');
}
const SHIFTS = new Set(['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar', 'sal']);
/** Forms whose name carries the operand size when a 66 prefix changes it. */
const SIZED_NAME: Record<string, [string, string]> = {
  ret: ['retw', 'retd'], retf: ['retfw', 'retfd'],
};

const WIDE_NAMES: Record<string, string> = { pushad: 'pusha', popad: 'popa', pushfd: 'pushf', popfd: 'popf', iretd: 'iret' };
const NARROW_NAMES: Record<string, string> = { pusha: 'pushaw', popa: 'popaw', pushf: 'pushfw', popf: 'popfw', iret: 'iretw' };

function target(insn: Insn, address: number, opts: FormatOptions | undefined): string {
  let t = address + insn.length + insn.imm;
  t = insn.op32 ? t >>> 0 : t & 0xffff;
  const s = opts?.symbol?.(t);
  return s ?? hex(t);
}

/**
 * Formats a decoded instruction at `address` (its offset in the code segment, used for
 * branch targets). An invalid opcode (form null) or an unnamed x87 escape prints as
 * `db 0xNN`: pass the instruction's first byte as `firstByte`, else the opcode byte is shown.
 */
export function formatInsn(insn: Insn, address: number, opts?: FormatOptions, firstByte = -1): string {
  const f = insn.form;
  const x87 = f?.mnemonic === 'esc' ? x87Name(insn) : null;
  if (!f || (f.mnemonic === 'esc' && x87 === null) || (f.operands.includes('sreg') && insn.reg > 5 && opts?.reassemblable)) {
    return `db ${hexByte(firstByte >= 0 ? firstByte : insn.opcode)}`;
  }
  const reasm = opts?.reassemblable === true;
  const mode32 = insn.defaultBits === 32;
  const ops = f.operands;
  const m = f.mnemonic;
  let oUsed = f.osize !== 0;
  let aUsed = false;
  let segUsed = false;
  let name = m;
  const parts: string[] = [];
  let immN = 0;
  // ndisasm prints `xchg reg,mem`; NASM warns that form is not lockable, so reassemblable
  // output keeps the encoding's order
  const xchgSwap = m === 'xchg' && f.modrm && ops[0] !== 'rv' && ops[0] !== 'r8' && (!reasm || !insn.hasMem);
  for (let i = 0; i < ops.length; i++) {
    const k = ops[i];
    let t: string;
    switch (k) {
      case 'r8': case 'r16': case 'r32': case 'rv':
        if (k === 'rv') oUsed = true;
        t = regOf(k, f.plusReg ? insn.opReg : insn.reg, insn.op32);
        break;
      case 'rm8': case 'rm16': case 'rm32': case 'rmv': case 'm': case 'm16': case 'm32': case 'mfar':
      case 'rrv': case 'rr32': case 'rrw':
        if (k === 'rmv' || k === 'rrv' || k === 'mfar') oUsed = true;
        if (insn.hasMem) {
          aUsed = true;
          segUsed = true;
          let size = memSizeKeyword(f, k, insn, reasm);
          if (k === 'mfar' && (m === 'jmp' || m === 'call')) {
            size = (insn.op32 === mode32 ? '' : insn.op32 ? 'dword ' : 'word ') + 'far ';
          }
          t = memText(insn, size, reasm);
        } else if (k === 'rm16' && (m === 'sldt' || m === 'str' || m === 'smsw')) {
          // the register form stores at the operand size
          t = regOf('rmv', insn.rm, insn.op32);
          oUsed = true;
        } else {
          t = regOf(k, insn.rm, insn.op32);
          if (k === 'rrw' && !reasm) t = regOf('rrv', insn.rm, mode32);
        }
        break;
      case 'sreg': t = SREG[insn.reg]; break;
      case 'cr': t = `cr${insn.reg}`; break;
      case 'dr': t = `dr${insn.reg}`; break;
      case 'tr': t = `tr${insn.reg}`; break;
      case 'al': case 'cl': case 'dx': case 'ax': case 'es': case 'cs': case 'ss': case 'ds': case 'fs': case 'gs':
        t = k;
        aUsed = true;
        break;
      case 'eAX': t = insn.op32 ? 'eax' : 'ax'; oUsed = true; aUsed = true; break;
      case '1': t = '1'; aUsed = true; break;
      case 'imm8': {
        aUsed = true;
        const prefix = (SHIFTS.has(m) || m.startsWith('bt')) && ops[0] !== 'imm8' ? 'byte ' : '';
        t = prefix + hex((immN++ === 0 ? insn.imm : insn.imm2) & 0xff);
        if (reasm && SHIFTS.has(m) && (insn.imm & 0xff) === 1) t = 'strict ' + t; // not the D0/D1 form
        if ((m === 'aam' || m === 'aad') && insn.imm === 10) t = '';
        break;
      }
      case 'imm16': t = hex((immN++ === 0 ? insn.imm : insn.imm2) & 0xffff); aUsed = true; break;
      case 'immv': {
        oUsed = true;
        aUsed = true;
        t = hex(insn.op32 ? insn.imm : insn.imm & 0xffff);
        if (m === 'push' || m === 'imul') t = (insn.op32 ? 'dword ' : 'word ') + t;
        if (reasm && !(m === 'mov' && f.plusReg)) {
          // NASM shortens an immediate that fits a signed byte unless told not to
          const v = insn.op32 ? insn.imm | 0 : (insn.imm << 16) >> 16;
          if (v >= -128 && v <= 127) t = `strict ${insn.op32 ? 'dword' : 'word'} ${hex(insn.op32 ? insn.imm : insn.imm & 0xffff)}`;
        }
        break;
      }
      case 'simm8': {
        aUsed = true;
        t = 'byte ' + signedHex(insn.imm);
        if (reasm && m === 'push' && insn.op32 !== mode32) {
          t = (insn.op32 ? 'dword ' : 'word ') + signedHex(insn.imm);
          oUsed = true;
        }
        break;
      }
      case 'rel8': {
        aUsed = true;
        t = target(insn, address, opts);
        if (m === 'jmp') t = 'short ' + t;
        else if (reasm && m.startsWith('j') && !f.asize) t = 'short ' + t;
        break;
      }
      case 'relv': {
        aUsed = true;
        oUsed = true;
        t = target(insn, address, opts);
        const sz = insn.op32 === mode32 ? '' : insn.op32 ? 'dword ' : 'word ';
        if (m === 'jmp' || m === 'call') t = (reasm ? 'near ' + sz : sz) + t;
        else t = (reasm ? 'near ' + sz : sz || 'near ') + t;
        break;
      }
      case 'moffs8': case 'moffsv':
        aUsed = true;
        segUsed = true;
        t = moffsText(insn);
        break;
      case 'ptr': {
        aUsed = true;
        oUsed = true;
        const sz = insn.op32 === mode32 ? '' : insn.op32 ? 'dword ' : 'word ';
        t = `${sz}${hex(insn.imm2)}:${hex(insn.imm)}`;
        break;
      }
      default: t = '?';
    }
    if (t) parts.push(t);
  }
  if (x87 !== null) {
    // an escape: the name (and st(i), or the memory operand's size) from the x87 table
    parts.length = 0;
    name = x87;
    if (insn.hasMem) {
      segUsed = aUsed = true;
      const sp = x87.indexOf(' ');
      name = sp < 0 ? x87 : x87.slice(0, sp);
      parts.push(memText(insn, sp < 0 ? '' : x87.slice(sp + 1) + ' ', reasm));
    } else aUsed = x87UsesA32(insn, x87);
  }
  if (xchgSwap) {
    const a = parts[0];
    parts[0] = parts[1];
    parts[1] = a;
  }
  // names that carry the operand size
  if (insn.op32 !== mode32) {
    const sized = SIZED_NAME[m];
    if (sized) {
      name = insn.op32 ? sized[1] : sized[0];
      if (name === 'retw' && ops.length) name = 'retnw';
      oUsed = true;
    }
  }
  // pusha/pushad, iret/iretd …: the plain name is the mode's size, the other is spelt out
  if (mode32 && f.osize) {
    const plain = WIDE_NAMES[m];
    if (plain) name = plain;
    else if (NARROW_NAMES[m]) name = NARROW_NAMES[m];
  }
  if (f.osize) oUsed = true;
  // loop/jcxz: the address size picks the counter
  if (m === 'loop' || m === 'loope' || m === 'loopne') {
    if (insn.ad32 !== mode32) parts.push(insn.ad32 ? 'ecx' : 'cx');
    aUsed = true;
  }
  if (f.asize) aUsed = true;
  // ndisasm reports an unused a16 in 32-bit code only for instructions without operands
  if (mode32 && ops.length > 0 && !reasm) aUsed = true;
  if (m === 'nop' && insn.rep === 0xf3) name = 'pause';
  else if (m === 'nop' && !reasm && (insn.op32 !== mode32 || insn.ad32 !== mode32)) {
    // 66 90 / 67 90: ndisasm reads them as the xchg they encode
    name = insn.op32 ? 'xchg eax,eax' : 'xchg ax,ax';
    oUsed = true;
    aUsed = true;
  }

  // prefixes the instruction did not use, in ndisasm's order: segment, rep, lock, o32, a32
  let pre = '';
  if (insn.segOverride >= 0 && !segUsed) pre += SEG_NAMES[insn.segOverride] + ' ';
  if (insn.rep && name !== 'pause') {
    if (insn.lock && insn.hasMem && f.attrs.has('lock') && RM_FIRST.has(ops[0])) pre += insn.rep === 0xf2 ? 'xacquire ' : 'xrelease ';
    else if (insn.rep === 0xf3 && ((m === 'xchg' && insn.hasMem) || (m === 'mov' && !insn.twoByte
      && (((f.opcode[0] === 0x88 || f.opcode[0] === 0x89) && insn.hasMem) || f.opcode[0] === 0xc6 || f.opcode[0] === 0xc7)))) {
      pre += 'xrelease ';
    }
    else if (insn.rep === 0xf2 && m === 'xchg' && insn.hasMem) pre += 'xacquire ';
    else if (insn.rep === 0xf2) {
      // MPX's BND prefix on near branches (ndisasm names it so)
      const near = ops[0] === 'rel8' ? m !== 'jmp' && m.startsWith('j') && !f.asize
        : ops[0] === 'relv' || ((m === 'call' || m === 'jmp') && ops[0] === 'rmv') || m === 'ret';
      pre += near ? 'bnd ' : 'repne ';
    } else pre += f.attrs.has('repcc') ? 'repe ' : 'rep ';
  }
  if (insn.lock) pre += 'lock ';
  if (insn.op32 !== mode32 && !oUsed) pre += insn.op32 ? 'o32 ' : 'o16 ';
  if (reasm) {
    // NASM writes 67 only where the address size matters: say it everywhere else
    aUsed = insn.hasMem || ops[0] === 'moffs8' || ops[0] === 'moffsv' || ops[1] === 'moffs8' || ops[1] === 'moffsv'
      || f.asize !== 0 || m.startsWith('loop');
  }
  if (insn.ad32 !== mode32 && !aUsed) pre += insn.ad32 ? 'a32 ' : 'a16 ';
  return parts.length ? `${pre}${name} ${parts.join(',')}` : pre + name;
}

const scratch = new Insn();

/** Decodes and formats one instruction at `address` (offset 0 of `src`). */
export function disassembleOne(src: CodeSource, bits: 16 | 32, address: number, opts?: FormatOptions): { text: string; length: number } {
  decode(src, bits, scratch);
  scratch.defaultBits = bits;
  if (!scratch.form) return { text: `db ${hexByte(src.codeByte(0))}`, length: 1 };
  return { text: formatInsn(scratch, address, opts), length: scratch.length };
}

export interface DisasmLine {
  address: number;
  bytes: Uint8Array;
  text: string;
  /** The decoded form, or null for bytes printed as `db` or a lone prefix. */
  form: Form | null;
}

export interface DisassembleOptions extends FormatOptions {
  bits: 16 | 32;
  /** Address of the first byte (NASM's `org`). */
  org?: number;
}

/** Rank of a prefix byte in the order NASM writes prefixes: rep group, lock, segment, 66, 67. */
function prefixRank(b: number): number {
  switch (b) {
    case 0xf2: case 0xf3: return 0;
    case 0xf0: return 1;
    case 0x66: return 3;
    case 0x67: return 4;
    default: return 2; // segment overrides
  }
}

/** One-byte opcodes whose `reg,r/m` direction NASM never picks for two registers. */
const REG_FROM_RM = new Set([0x02, 0x03, 0x0a, 0x0b, 0x12, 0x13, 0x1a, 0x1b, 0x22, 0x23, 0x2a, 0x2b, 0x32, 0x33, 0x3a, 0x3b, 0x8a, 0x8b]);

/**
 * Encodings NASM does not produce from any spelling, so reassemblable output writes them as
 * `db`: decoder-only aliases (82 /n, F6 /1, sal as /6), segment registers 6 and 7, control
 * registers the i386 lacks, prefixes repeated or out of NASM's order, a prefixed WAIT, and the
 * longer of two encodings where NASM always picks the other (two registers in `reg,r/m`
 * order, FF /6 for `push reg`, 80/81/F6/F7 on AL/AX/EAX, C6/C7 on a register, 8A/8B with
 * the accumulator and a direct address, a SIB byte that is not needed).
 */
function nasmCannotSay(insn: Insn, bytes: Uint8Array, pos: number): boolean {
  const f = insn.form!;
  const m = f.mnemonic;
  if (f.attrs.has('alias') && m !== 'salc' && m !== 'int1') return true;
  if (f.operands.includes('sreg') && insn.reg > 5) return true;
  if (f.operands.includes('cr') && (insn.reg === 1 || insn.reg > 4)) return true;
  let last = -1;
  for (let i = 0; i < insn.prefixLength; i++) {
    const r = prefixRank(bytes[pos + i]);
    if (r <= last) return true;
    last = r;
  }
  if (m === 'wait' && insn.prefixLength > 0) return true;
  if ((m === 'movzx' || m === 'movsx') && f.operands[1] === 'rm16' && !insn.op32) return true;
  const op = insn.twoByte ? -1 : insn.opcode;
  if (insn.mod === 3 && insn.modrm >= 0) {
    if (REG_FROM_RM.has(op)) return true;
    if (f.operands[0] === 'rmv' && f.operands.length === 1 && (m === 'inc' || m === 'dec' || m === 'push' || m === 'pop')) return true;
    if (op === 0x87 && (insn.reg === 0 || insn.rm === 0)) return true;
    if (insn.rm === 0 && (op === 0x80 || op === 0x81 || ((op === 0xf6 || op === 0xf7) && insn.reg === 0))) return true;
    if (op === 0xc6 || op === 0xc7) return true;
    return false;
  }
  if (insn.hasMem) {
    const direct = insn.base < 0 && insn.index < 0;
    if ((op === 0x88 || op === 0x89 || op === 0x8a || op === 0x8b) && insn.reg === 0 && direct) return true;
    if (insn.ad32 && insn.rm === 4) {
      // NASM writes a SIB byte only for an index or an ESP base
      if (insn.index < 0 && (insn.base !== 4 || insn.scale !== 0)) return true;
      // [index+disp] and [index*2+disp] become [index+disp] / [index+index+disp] in NASM
      if (insn.base < 0 && insn.scale <= 1) return true;
    }
  }
  return false;
}

function dbText(bytes: Uint8Array, pos: number, len: number): string {
  const parts: string[] = [];
  for (let i = 0; i < len; i++) parts.push(hexByte(bytes[pos + i]));
  return `db ${parts.join(',')}`;
}

const PREFIX_NAMES: Record<number, string> = {
  0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds', 0x64: 'fs', 0x65: 'gs', 0xf0: 'lock', 0xf2: 'repne', 0xf3: 'rep',
};

/** x87 forms that have a WAIT-prefixed spelling (fninit → finit): decoder form → that name. */
const WAIT_TWINS: ReadonlyMap<Form, string> = (() => {
  const map = new Map<Form, string>();
  for (const a of FORMS) {
    if (!a.attrs.has('asm') || a.opcode[0] !== 0x9b || a.opcode.length < 2) continue;
    const tail = a.opcode.slice(1).join(',');
    for (const f of FORMS) {
      if (f.attrs.has('asm') || f.ext !== a.ext || f.opcode.join(',') !== tail) continue;
      if (f.operands.join(',') !== a.operands.join(',')) continue;
      map.set(f, a.mnemonic);
    }
  }
  return map;
})();

const PREFIX_BYTES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/**
 * Disassembles a flat binary, one line per instruction, as ndisasm does: an invalid or
 * truncated instruction prints its first byte (`db 0xNN`, or the prefix's name) and the
 * listing goes on at the next byte; WAIT (9B) before an x87 instruction is folded into it
 * (`finit`, `fstsw ax`) or printed in front of it (`wait nop`). With `reassemblable`, every
 * decoded instruction is one line (wait stays a line of its own) and undecodable bytes are `db`.
 */
export function disassemble(bytes: Uint8Array, opts: DisassembleOptions): DisasmLine[] {
  return [...disassembleRange(bytes, opts)];
}

/** One byte on its own listing line, as ndisasm names it: a prefix, or `db`. */
function byteText(b: number, bits: 16 | 32): string {
  return PREFIX_NAMES[b] ? PREFIX_NAMES[b]
    : b === 0x66 ? (bits === 32 ? 'o16' : 'o32')
    : b === 0x67 ? (bits === 32 ? 'a16' : 'a32')
    : b === 0x9b ? 'wait' : `db ${hexByte(b)}`;
}

/** x87 escapes with a WAIT form of their own name (9B D9 /6 is `fstenv`, as `fsave`). */
const X87_WAIT_TWIN = /\bfn(stenv|eni|disi)\b/;

/** Bytes a line's decoding may look at beyond its start: a window that keeps this many past
 *  `until` decodes every line the same as the whole input does. */
export const DISASM_LOOKAHEAD = 64;

/**
 * The lines that start in bytes[from, until), decoded as if the input ended at bytes.length
 * (org is the address of bytes[0]). Large inputs stream through it window by window.
 */
export function* disassembleRange(bytes: Uint8Array, opts: DisassembleOptions, from = 0, until = bytes.length): Generator<DisasmLine, number> {
  const org = opts.org ?? 0;
  const bits = opts.bits;
  const reasm = opts.reassemblable === true;
  const src = new ArraySource(bytes, 0);
  const insn = new Insn();
  const n = bytes.length;
  let pos = from;
  while (pos < until) {
    const address = (org + pos) >>> 0;
    src.start = pos;
    let len = 0;
    let text = '';
    let form: Form | null = null;
    let bytewise = false;
    if (!reasm) {
      // WAIT among the prefixes: decode without the 9B bytes, then fold them in.
      let p = pos;
      let waits = 0;
      // no instruction has more than 15 bytes: a longer run of prefixes is not scanned on
      // (which also keeps a file of prefixes linear, and the lookahead bounded)
      const scanEnd = Math.min(n, pos + 32);
      while (p < scanEnd && (bytes[p] === 0x9b || PREFIX_BYTES.has(bytes[p]))) {
        if (bytes[p] === 0x9b) waits++;
        p++;
      }
      if (waits > 0 && p < n) {
        const filtered: number[] = [];
        for (let i = pos; i < p; i++) if (bytes[i] !== 0x9b) filtered.push(bytes[i]);
        const rest = Math.min(n, p + 16);
        for (let i = p; i < rest; i++) filtered.push(bytes[i]);
        decode(new ArraySource(Uint8Array.from(filtered)), bits, insn);
        if (insn.form && insn.length <= n - pos - waits && ndisasmNames(insn)) {
          len = insn.length + waits;
          form = insn.form;
          const twin = WAIT_TWINS.get(insn.form);
          text = formatInsn(insn, address + waits, opts);
          if (twin) text = text.replace(insn.form.mnemonic, twin);
          else if (insn.form.mnemonic === 'esc' && X87_WAIT_TWIN.test(text)) text = text.replace(X87_WAIT_TWIN, 'f$1');
          else {
            const sp = text.indexOf(' ');
            text = sp === 2 && SEG_NAMES.includes(text.slice(0, 2)) ? `${text.slice(0, 3)}wait ${text.slice(3)}` : 'wait ' + text;
          }
        } else if (insn.form?.mnemonic === 'esc') bytewise = true; // a reserved escape: ndisasm lists its prefixes singly
      }
    }
    if (len === 0 && bytewise) {
      len = 1;
      text = byteText(bytes[pos], bits);
    } else if (len === 0) {
      decode(src, bits, insn);
      // the listing shows what ndisasm cannot name one byte at a time, as ndisasm does
      if (insn.form && insn.length <= n - pos && insn.length <= 15 && (reasm || ndisasmNames(insn))) {
        len = insn.length;
        form = insn.form;
        text = formatInsn(insn, address, opts);
        if (reasm && (insn.form.mnemonic === 'esc' || nasmCannotSay(insn, bytes, pos))) text = dbText(bytes, pos, len);
      } else {
        len = 1;
        text = reasm ? `db ${hexByte(bytes[pos])}` : byteText(bytes[pos], bits);
      }
    }
    yield { address, bytes: bytes.subarray(pos, pos + len), text, form };
    pos += len;
  }
  return pos;
}

/**
 * One ndisasm-style listing entry: address (8 hex digits), up to 8 bytes in hex, the text;
 * longer instructions continue their bytes on `-` lines, as ndisasm prints them.
 */
export function formatListingLine(l: DisasmLine): string {
  const addr = l.address.toString(16).toUpperCase().padStart(8, '0');
  let hx = '';
  for (const b of l.bytes) hx += b.toString(16).toUpperCase().padStart(2, '0');
  let out = `${addr}  ${hx.slice(0, 16).padEnd(16)}  ${l.text}`;
  for (let i = 16; i < hx.length; i += 16) out += `\n         -${hx.slice(i, i + 16)}`;
  return out;
}
