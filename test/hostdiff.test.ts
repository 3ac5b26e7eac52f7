// Host-CPU differential test: random sequences of user-mode i386 instructions are assembled
// with binutils (`as --32`, `ld -m elf_i386`) into one static Linux program, run natively on
// the host CPU (or, where the host's kernel runs no 32-bit code, under qemu-i386) and in our
// CPU, and compared: the general registers, the flags each sequence
// leaves defined, and each sequence's 64-byte memory window.
//
// Reproduce a failure: FORKLAB_HOSTDIFF_SEED=<seed> (default 1) and FORKLAB_HOSTDIFF_N=<count>
// (default 10000); the failure message names the seed, the sequence and its instructions.
//
// Undefined behaviour is kept out of the comparison, never papered over: the generator
// tracks which flags are defined (from the i386 manual's per-instruction flag effects) and
// only emits a flag-reading instruction when the flags it reads are defined; shift counts
// stay below the operand width; divisions are set up so they cannot fault; BSF/BSR sources
// are non-zero.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type Engine } from '../emulator/cpu/cpu';
import { DS, ES, SS, FS, GS } from '../emulator/cpu/consts';
import { oracle, IN_CI } from './oracle';

const SEED = Number(process.env.FORKLAB_HOSTDIFF_SEED ?? 1);
const COUNT = Number(process.env.FORKLAB_HOSTDIFF_N ?? 10000);
const WINDOW = 64;
const RESULT = 40; // eax ecx edx ebx esp ebp esi edi eflags + pad

/** How the 32-bit test program runs: natively on the host CPU, or, on a host whose kernel
 *  runs no 32-bit code (no IA-32 emulation: some VMs and sandboxes), under QEMU's user-mode
 *  i386 emulator (Debian: qemu-user), an oracle nobody here wrote either. Null: neither. */
type Runner = { name: string; run: (file: string) => Buffer };
function findRunner(): Runner | null {
  if (!oracle('as', 'ld')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'forklab-hd-'));
  const problems: string[] = [];
  try {
    writeFileSync(join(dir, 't.s'), '.globl _start\n_start: movl $1, %eax\n movl $0, %ebx\n int $0x80\n');
    execFileSync('as', ['--32', '-o', join(dir, 't.o'), join(dir, 't.s')]);
    execFileSync('ld', ['-m', 'elf_i386', '-o', join(dir, 't'), join(dir, 't.o')]);
    const runners: Runner[] = [
      { name: 'the host CPU', run: (file) => execFileSync(file, { maxBuffer: 64 << 20 }) },
      { name: "QEMU's user-mode i386 (the host runs no 32-bit code)", run: (file) => execFileSync('qemu-i386', [file], { maxBuffer: 64 << 20 }) },
    ];
    for (const r of runners) {
      try {
        r.run(join(dir, 't'));
        return r;
      } catch (e) {
        problems.push(`${r.name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } catch (e) {
    problems.push((e as Error).message.split('\n')[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const msg = `cannot build or run 32-bit x86 programs (${problems.join('; ')})`;
  if (IN_CI) throw new Error(msg);
  console.warn(`skipping: ${msg}`);
  return null;
}
const runner = findRunner();

// ---- random generator -------------------------------------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const O = 0x800, S = 0x80, Z = 0x40, A = 0x10, P = 0x4, C = 0x1;
const ALL = O | S | Z | A | P | C;
const R32 = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi'];
const R16 = ['ax', 'bx', 'cx', 'dx', 'si', 'di'];
const R8 = ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const CC_READ = [O, O, C, C, Z, Z, C | Z, C | Z, S, S, P, P, S | O, S | O, Z | S | O, Z | S | O];

interface Gen {
  rnd: () => number;
  lines: string[];
  defined: number;
  label: number;
}

function pick<T>(g: Gen, xs: readonly T[]): T {
  return xs[Math.floor(g.rnd() * xs.length)];
}
function int(g: Gen, n: number): number {
  return Math.floor(g.rnd() * n);
}
function imm32(g: Gen): number {
  const k = int(g, 4);
  if (k === 0) return pick(g, [0, 1, -1, 0x7fffffff, -0x80000000, 0x80, 0x7f, 0xffff, 0x8000]) >>> 0;
  return (g.rnd() * 4294967296) >>> 0;
}
function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

type Size = 8 | 16 | 32;
function reg(g: Gen, sz: Size): string {
  return sz === 8 ? pick(g, R8) : sz === 16 ? pick(g, R16) : pick(g, R32);
}
function mem(g: Gen, sz: Size): string {
  const d = int(g, WINDOW - sz / 8 + 1);
  return `${sz === 8 ? 'byte' : sz === 16 ? 'word' : 'dword'} ptr [ebp+${d}]`;
}
function rm(g: Gen, sz: Size): string {
  return g.rnd() < 0.35 ? mem(g, sz) : reg(g, sz);
}
function immFor(g: Gen, sz: Size): string {
  const v = imm32(g);
  return hex(sz === 8 ? v & 0xff : sz === 16 ? v & 0xffff : v);
}
function size(g: Gen): Size {
  return pick(g, [8, 16, 32, 32] as const);
}

/** Emits an instruction with its flag effects: reads r, writes w, leaves u undefined. */
function emit(g: Gen, text: string, r: number, w: number, u: number): boolean {
  if ((r & ~g.defined) !== 0) return false;
  g.lines.push(text);
  g.defined = (g.defined | w) & ~u;
  return true;
}

function oneInstruction(g: Gen): void {
  const kind = int(g, 28);
  const sz = size(g);
  switch (kind) {
    case 0: case 1: case 2: { // ALU
      const op = pick(g, ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp']);
      const logic = op === 'and' || op === 'or' || op === 'xor';
      const r = op === 'adc' || op === 'sbb' ? C : 0;
      const form = int(g, 3);
      const text = form === 0 ? `${op} ${rm(g, sz)}, ${reg(g, sz)}`
        : form === 1 ? `${op} ${reg(g, sz)}, ${rm(g, sz)}` : `${op} ${rm(g, sz)}, ${immFor(g, sz)}`;
      emit(g, text, r, logic ? ALL & ~A : ALL, logic ? A : 0);
      return;
    }
    case 3:
      emit(g, `test ${rm(g, sz)}, ${g.rnd() < 0.5 ? reg(g, sz) : immFor(g, sz)}`, 0, ALL & ~A, A);
      return;
    case 4: {
      const op = pick(g, ['inc', 'dec', 'not', 'neg']);
      emit(g, `${op} ${rm(g, sz)}`, 0, op === 'not' ? 0 : op === 'neg' ? ALL : ALL & ~C, 0);
      return;
    }
    case 5: case 6: { // shifts and rotates, counts 1..width-1
      const op = pick(g, ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar']);
      const k = 1 + int(g, sz - 1);
      const how = int(g, 3);
      let count: string;
      if (how === 0 && k === 1) count = '1';
      else if (how === 1) {
        g.lines.push(`mov cl, ${k}`);
        count = 'cl';
      } else count = String(k);
      const target = count === 'cl' ? (g.rnd() < 0.4 ? mem(g, sz) : pick(g, sz === 8 ? ['al', 'bl', 'dl', 'ah', 'bh', 'dh'] : sz === 16 ? ['ax', 'bx', 'dx', 'si', 'di'] : ['eax', 'ebx', 'edx', 'esi', 'edi'])) : rm(g, sz);
      const rot = op.startsWith('r') && op !== 'rcl' && op !== 'rcr' ? true : op === 'rcl' || op === 'rcr';
      const r = op === 'rcl' || op === 'rcr' ? C : 0;
      let w: number, u: number;
      if (rot) {
        w = C | (k === 1 ? O : 0);
        u = k === 1 ? 0 : O;
      } else {
        w = S | Z | P | C | (k === 1 ? O : 0);
        u = A | (k === 1 ? 0 : O);
      }
      emit(g, `${op} ${target}, ${count}`, r, w, u);
      return;
    }
    case 7: { // shld/shrd
      const s2 = pick(g, [16, 32] as const);
      const k = 1 + int(g, s2 - 1);
      emit(g, `${pick(g, ['shld', 'shrd'])} ${rm(g, s2)}, ${reg(g, s2)}, ${k}`, 0, S | Z | P | C, O | A);
      return;
    }
    case 8: { // multiply
      const f = int(g, 3);
      if (f === 0) emit(g, `${pick(g, ['mul', 'imul'])} ${rm(g, sz)}`, 0, O | C, S | Z | A | P);
      else {
        const s2 = pick(g, [16, 32] as const);
        if (f === 1) emit(g, `imul ${reg(g, s2)}, ${rm(g, s2)}`, 0, O | C, S | Z | A | P);
        else emit(g, `imul ${reg(g, s2)}, ${rm(g, s2)}, ${g.rnd() < 0.5 ? String(int(g, 256) - 128) : immFor(g, s2)}`, 0, O | C, S | Z | A | P);
      }
      return;
    }
    case 9: { // divide without faults: divisor in a register, set up non-zero
      const signed = g.rnd() < 0.5;
      const dv = sz === 8 ? pick(g, ['bl', 'cl', 'bh', 'ch']) : sz === 16 ? pick(g, ['bx', 'cx', 'si', 'di']) : pick(g, ['ebx', 'ecx', 'esi', 'edi']);
      let v = imm32(g) & (sz === 8 ? 0xff : sz === 16 ? 0xffff : -1);
      if (v === 0) v = 3;
      if (signed && ((sz === 8 && v === 0xff) || (sz === 16 && v === 0xffff) || (sz === 32 && (v | 0) === -1))) v = 7;
      g.lines.push(`mov ${dv}, ${hex(v)}`);
      if (sz === 8) g.lines.push(signed ? 'cbw' : 'xor ah, ah');
      else if (sz === 16) g.lines.push(signed ? 'cwd' : 'xor dx, dx');
      else g.lines.push(signed ? 'cdq' : 'xor edx, edx');
      // xor changed flags
      if (!signed) g.defined = (g.defined | ALL) & ~A;
      emit(g, `${signed ? 'idiv' : 'div'} ${dv}`, 0, 0, ALL);
      return;
    }
    case 10: { // bit tests
      const s2 = pick(g, [16, 32] as const);
      const op = pick(g, ['bt', 'bts', 'btr', 'btc']);
      const target = g.rnd() < 0.5 ? reg(g, s2) : mem(g, s2);
      emit(g, `${op} ${target}, ${int(g, s2)}`, 0, C, O | S | Z | A | P);
      return;
    }
    case 11: { // bsf/bsr with a non-zero source
      const s2 = pick(g, [16, 32] as const);
      const src = pick(g, s2 === 16 ? ['bx', 'cx', 'si'] : ['ebx', 'ecx', 'esi']);
      g.lines.push(`or ${src}, ${hex(1 << int(g, s2))}`);
      g.defined = (g.defined | ALL) & ~A;
      emit(g, `${pick(g, ['bsf', 'bsr'])} ${reg(g, s2)}, ${src}`, 0, Z, O | S | A | P | C);
      return;
    }
    case 12: { // BCD
      const op = pick(g, ['daa', 'das', 'aaa', 'aas', 'aam', 'aad']);
      if (op === 'daa' || op === 'das') emit(g, op, A | C, S | Z | A | P | C, O);
      else if (op === 'aaa' || op === 'aas') emit(g, op, A, A | C, O | S | Z | P);
      else emit(g, `${op} ${1 + int(g, 255)}`, 0, S | Z | P, O | A | C);
      return;
    }
    case 13: { // setcc / short jcc over one instruction
      const n = int(g, 16);
      if (g.rnd() < 0.5) emit(g, `set${CC[n]} ${rm(g, 8)}`, CC_READ[n], 0, 0);
      else {
        const l = `.L${g.label++}`;
        if (emit(g, `j${CC[n]} ${l}`, CC_READ[n], 0, 0)) {
          // the skipped instruction changes no flags, so both paths leave the same flags defined
          g.lines.push(`mov ${reg(g, 32)}, ${hex(imm32(g))}`);
          g.lines.push(`${l}:`);
        }
      }
      return;
    }
    case 14: { // flag instructions
      const k = int(g, 6);
      if (k === 0) emit(g, 'lahf', S | Z | A | P | C, 0, 0);
      else if (k === 1) emit(g, 'sahf', 0, S | Z | A | P | C, 0);
      else {
        // CLD/STD write DF only (the flags they leave defined are the ones before), CMC reads CF
        const op = pick(g, ['clc', 'stc', 'cmc', 'cld', 'std']);
        const dfOnly = op === 'cld' || op === 'std';
        emit(g, op, op === 'cmc' ? C : 0, dfOnly ? 0 : C, 0) || emit(g, 'clc', 0, C, 0);
      }
      return;
    }
    case 15: { // moves and extensions
      const k = int(g, 6);
      if (k === 0) g.lines.push(`mov ${reg(g, sz)}, ${rm(g, sz)}`);
      else if (k === 1) g.lines.push(`mov ${rm(g, sz)}, ${reg(g, sz)}`);
      else if (k === 2) g.lines.push(`${pick(g, ['movzx', 'movsx'])} ${reg(g, 32)}, ${rm(g, pick(g, [8, 16] as const))}`);
      else if (k === 3) g.lines.push(`${pick(g, ['movzx', 'movsx'])} ${reg(g, 16)}, ${rm(g, 8)}`);
      else if (k === 4) g.lines.push(`xchg ${rm(g, sz)}, ${reg(g, sz)}`);
      else g.lines.push(pick(g, ['cbw', 'cwde', 'cwd', 'cdq']));
      return;
    }
    case 16: { // lea with the full addressing forms
      const base = pick(g, R32), index = pick(g, ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp']);
      g.lines.push(`lea ${reg(g, pick(g, [16, 32] as const))}, [${base}+${index}*${pick(g, [1, 2, 4, 8])}+${int(g, 100000) - 50000}]`);
      return;
    }
    case 17: { // stack
      const r1 = reg(g, 32), r2 = reg(g, 32);
      if (g.rnd() < 0.5) g.lines.push(`push ${r1}`, `pop ${r2}`);
      else g.lines.push(`push ${hex(imm32(g))}`, `pop dword ptr [ebp+${int(g, WINDOW - 3)}]`);
      return;
    }
    case 18: case 19: { // string instructions with REP prefixes inside the window
      const op = pick(g, ['movs', 'stos', 'lods', 'cmps', 'scas']);
      const w = pick(g, [1, 2, 4]);
      const suffix = w === 1 ? 'b' : w === 2 ? 'w' : 'd';
      const n = int(g, 6);
      const down = g.rnd() < 0.5;
      const span = n * w + w;
      const lo = down ? span - w : 0;
      const hi = down ? WINDOW - w : WINDOW - span;
      const si = lo + int(g, Math.max(1, hi - lo + 1)), di = lo + int(g, Math.max(1, hi - lo + 1));
      g.lines.push(`lea esi, [ebp+${si}]`, `lea edi, [ebp+${di}]`, `mov ecx, ${n}`, down ? 'std' : 'cld');
      const cmp = op === 'cmps' || op === 'scas';
      const prefix = g.rnd() < 0.7 ? (cmp ? pick(g, ['repe ', 'repne ']) : 'rep ') : '';
      if (!prefix) g.lines.push('mov ecx, 1');
      // an unprefixed instruction runs once; REP with ECX=0 leaves flags alone
      const writes = cmp && (prefix === '' || n > 0) ? ALL : 0;
      emit(g, `${prefix}${op}${suffix}`, 0, writes, 0);
      g.lines.push('cld');
      return;
    }
    case 22: { // bit tests on memory with a register bit offset (any sign) inside the window
      const s2 = pick(g, [16, 32] as const);
      const bitReg = pick(g, s2 === 16 ? ['ax', 'bx', 'dx'] : ['eax', 'ebx', 'edx']);
      const base = 16 + int(g, WINDOW - 32);
      const off = int(g, 16 * 8) - 8 * 8; // -64..63 bits around the operand
      g.lines.push(`mov ${bitReg}, ${off & (s2 === 16 ? 0xffff : -1)}`);
      emit(g, `${pick(g, ['bt', 'bts', 'btr', 'btc'])} ${s2 === 16 ? 'word' : 'dword'} ptr [ebp+${base}], ${bitReg}`, 0, C, O | S | Z | A | P);
      return;
    }
    case 23: { // stack frames and all-register pushes
      const k = int(g, 3);
      if (k === 0) g.lines.push(`enter ${4 * int(g, 8)}, 0`, `mov [ebp-4], ${reg(g, 32)}`, `mov ${reg(g, 32)}, [ebp-4]`, 'leave');
      else if (k === 1) g.lines.push('pushad', `mov ${reg(g, 32)}, ${hex(imm32(g))}`, `mov ${reg(g, 32)}, [esp+${4 * int(g, 8)}]`, 'popad');
      else g.lines.push('pushad', `pop ${reg(g, 32)}`, `pop ${reg(g, 32)}`, 'lea esp, [esp+24]'); // lea: ESP differs between the hosts, flags must not
      return;
    }
    case 24: { // loops with small counts
      const l = `.L${g.label++}`;
      const k = int(g, 4);
      g.lines.push(`mov ecx, ${int(g, 5)}`);
      if (k === 3) {
        g.lines.push(`jecxz ${l}`, `inc ${pick(g, ['eax', 'ebx', 'edx'])}`, `${l}:`);
        g.defined = g.defined & ~0; // inc may or may not run: OSZAP differ by path
        g.defined &= ~(O | S | Z | A | P);
        return;
      }
      if (k === 0) {
        // loop with an add whose flags are then the same on every path only if it runs:
        g.lines.push('inc ecx', `${l}:`, `add ${pick(g, ['eax', 'ebx', 'edx'])}, ${hex(imm32(g))}`, `loop ${l}`);
        g.defined |= ALL;
      } else {
        // loope/loopne read ZF, which the xor in the body defines (ZF=1 when equal)
        g.lines.push('inc ecx', `${l}:`, `xor ${pick(g, ['al', 'bl', 'dl'])}, ${int(g, 4)}`, `${k === 1 ? 'loope' : 'loopne'} ${l}`);
        g.defined = (g.defined | ALL) & ~A;
      }
      return;
    }
    case 25: { // xlat from the window; salc
      if (g.rnd() < 0.5) g.lines.push('lea ebx, [ebp]', `and al, ${WINDOW - 1}`, 'xlatb');
      else {
        g.lines.push('lea ebx, [ebp]', 'xlatb');
        return;
      }
      g.defined = (g.defined | ALL) & ~A;
      return;
    }
    case 26: { // pushfd of fully defined flags
      if (g.defined !== ALL) return;
      g.lines.push('pushfd', `pop ${pick(g, ['eax', 'ebx', 'edx'])}`);
      return;
    }
    case 27: { // shift counts beyond the width: masked to 5 bits (32-bit), RCL/RCR modulo 9/17
      const op = pick(g, ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']);
      const big = op === 'rcl' || op === 'rcr' ? pick(g, [8, 16] as const) : 32;
      const k = big === 32 ? 1 + int(g, 31) + 32 * (1 + int(g, 7)) : 1 + int(g, 31);
      g.lines.push(`mov cl, ${k & 0xff}`);
      const target = pick(g, big === 8 ? ['al', 'bl', 'dl', 'ah'] : big === 16 ? ['ax', 'bx', 'dx'] : ['eax', 'ebx', 'edx']);
      const eff = big === 32 ? k & 31 : (k & 31) % (big + 1);
      const r = op === 'rcl' || op === 'rcr' ? C : 0;
      const rot = op.startsWith('r');
      if (eff === 0) {
        if (op === 'rcl' || op === 'rcr') emit(g, `${op} ${target}, cl`, r, 0, O); // CF kept; OF not trusted
        else emit(g, `${op} ${target}, cl`, 0, 0, 0);
        return;
      }
      if (rot) emit(g, `${op} ${target}, cl`, r, C | (eff === 1 ? O : 0), eff === 1 ? 0 : O);
      else emit(g, `${op} ${target}, cl`, 0, S | Z | P | C | (eff === 1 ? O : 0), A | (eff === 1 ? 0 : O));
      return;
    }
    default: { // register moves of immediates (fresh values)
      g.lines.push(`mov ${reg(g, sz)}, ${immFor(g, sz)}`);
      return;
    }
  }
}

interface Program {
  source: string;
  sequences: string[][];
  masks: number[];
}

function generate(seed: number, count: number): Program {
  const out: string[] = ['.intel_syntax noprefix', '.text', '.globl _start', '_start:'];
  const sequences: string[][] = [];
  const masks: number[] = [];
  for (let k = 0; k < count; k++) {
    const g: Gen = { rnd: prng(seed * 1000003 + k), lines: [], defined: ALL, label: k * 100 };
    const init = R32.map((r) => `mov ${r}, ${hex(imm32(g))}`);
    const flags = ((g.rnd() * 0x10000) & (ALL | 0x400)) | 0x202;
    const n = 4 + int(g, 8);
    for (let j = 0; j < n; j++) oneInstruction(g);
    sequences.push(g.lines);
    masks.push(g.defined);
    out.push(`# sequence ${k}`, `lea ebp, [window+${k * WINDOW}]`, `push ${hex(flags)}`, 'popfd', ...init, ...g.lines.map((l) => l.replace(/\.L(\d+)/g, '.L$1')),
      `mov [results+${k * RESULT}], eax`, `mov [results+${k * RESULT + 4}], ecx`, `mov [results+${k * RESULT + 8}], edx`,
      `mov [results+${k * RESULT + 12}], ebx`, `mov [results+${k * RESULT + 20}], ebp`, `mov [results+${k * RESULT + 24}], esi`,
      `mov [results+${k * RESULT + 28}], edi`, 'pushfd', `pop dword ptr [results+${k * RESULT + 32}]`, 'cld');
  }
  out.push('mov eax, 4', 'mov ebx, 1', 'lea ecx, [window]', `mov edx, ${count * (WINDOW + RESULT)}`, 'int 0x80',
    'mov eax, 1', 'xor ebx, ebx', 'int 0x80');
  // the window and results are initialised data so both runs start from the same bytes
  const rnd = prng(seed ^ 0x5a5a5a5a);
  out.push('.data', 'window:');
  const bytes: string[] = [];
  for (let k = 0; k < count * WINDOW; k++) bytes.push(String(Math.floor(rnd() * 256)));
  for (let k = 0; k < bytes.length; k += 64) out.push(`.byte ${bytes.slice(k, k + 64).join(',')}`);
  out.push('results:', `.fill ${count * RESULT}, 1, 0`);
  return { source: out.join('\n') + '\n', sequences, masks };
}

interface Built {
  elf: Uint8Array;
  native: Uint8Array;
}

function build(p: Program): Built {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-hd-'));
  try {
    writeFileSync(join(dir, 'p.s'), p.source);
    execFileSync('as', ['--32', '-o', join(dir, 'p.o'), join(dir, 'p.s')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_i386', '-Ttext-segment=0x400000', '-o', join(dir, 'p'), join(dir, 'p.o')], { stdio: 'pipe' });
    const native = runner!.run(join(dir, 'p'));
    return { elf: new Uint8Array(readFileSync(join(dir, 'p'))), native: new Uint8Array(native) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads the static ELF into a flat 32-bit machine and runs it until its first system call
 *  (write: the results are then in memory). Returns the bytes the program would write. */
function emulate(elf: Uint8Array, length: number, engine: Engine): { out: Uint8Array; compiled: number } {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const mem = new PhysicalMemory(32 << 20);
  const entry = dv.getUint32(0x18, true);
  const phoff = dv.getUint32(0x1c, true), phsize = dv.getUint16(0x2a, true), phnum = dv.getUint16(0x2c, true);
  for (let k = 0; k < phnum; k++) {
    const at = phoff + k * phsize;
    if (dv.getUint32(at, true) !== 1) continue;
    const off = dv.getUint32(at + 4, true), vaddr = dv.getUint32(at + 8, true), filesz = dv.getUint32(at + 16, true);
    mem.load(vaddr, elf.subarray(off, off + filesz));
  }
  // the jit compiles a block on its first run: every sequence runs compiled
  const cpu = new Cpu(mem, undefined, null, { engine, jitThreshold: 1 });
  // flat ring-0 segments (the code uses none of the privileged state); INT 0x80 → HLT
  const gdt = 0x1000;
  mem.write32(gdt + 8, 0x0000ffff);
  mem.write32(gdt + 12, 0x00cf9a00);
  mem.write32(gdt + 16, 0x0000ffff);
  mem.write32(gdt + 20, 0x00cf9200);
  const idt = 0x2000, stub = 0x3000;
  mem.write8(stub, 0xf4);
  mem.write32(idt + 0x80 * 8, (0x08 << 16) | stub);
  mem.write32(idt + 0x80 * 8 + 4, 0x8e00);
  cpu.gdtBase = gdt;
  cpu.gdtLimit = 23;
  cpu.idtBase = idt;
  cpu.idtLimit = 0x7ff;
  cpu.setCr0(1);
  cpu.readDescriptor(8);
  cpu.loadCsDesc(8, 0);
  for (const s of [DS, ES, SS, FS, GS]) cpu.loadSeg(s, 0x10);
  cpu.regs[4] = 0x1f00000;
  cpu.eip = entry;
  let r = '';
  for (let k = 0; k < 1000 && (r = cpu.run(1_000_000)) === 'budget'; k++);
  if (r !== 'halted') throw new Error(`emulated program stopped with ${r}\n${cpu.dumpState()}`);
  if (cpu.regs[0] !== 4) throw new Error(`emulated program made system call ${cpu.regs[0]}, expected write`);
  const out = new Uint8Array(length);
  const src = cpu.regs[1] >>> 0;
  for (let k = 0; k < length; k++) out[k] = mem.read8(src + k);
  return { out, compiled: cpu.codeCache.added };
}

/** The program and the host's results, built once for both engines. */
let built: { p: Program; elf: Uint8Array; native: Uint8Array } | null = null;
function program(): { p: Program; elf: Uint8Array; native: Uint8Array } {
  if (built === null) {
    const p = generate(SEED, COUNT);
    built = { p, ...build(p) };
  }
  return built;
}

const FLAG_NAMES: [number, string][] = [[O, 'OF'], [S, 'SF'], [Z, 'ZF'], [A, 'AF'], [P, 'PF'], [C, 'CF'], [0x400, 'DF']];

// on each engine (DESIGN decision 11)
describe.runIf(runner !== null).each(['interp', 'jit'] as Engine[])('host-CPU differential (%s engine)', (engine) => {
  it(`${COUNT} random user-mode instruction sequences (seed ${SEED}) match ${runner?.name}`, () => {
    const { p, elf, native } = program();
    const total = COUNT * (WINDOW + RESULT);
    expect(native.length).toBe(total);
    const { out: ours, compiled } = emulate(elf, total, engine);
    if (engine === 'jit') expect(compiled).toBeGreaterThan(1000);
    else expect(compiled).toBe(0);
    const failures: string[] = [];
    const rv = (buf: Uint8Array, at: number) => (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
    const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
    for (let k = 0; k < COUNT && failures.length < 5; k++) {
      const errs: string[] = [];
      const base = COUNT * WINDOW + k * RESULT;
      for (let r = 0; r < 8; r++) {
        if (r === 4) continue;
        const a = rv(native, base + r * 4), b = rv(ours, base + r * 4);
        if (a !== b) errs.push(`${names[r]} host ${a.toString(16)} ours ${b.toString(16)}`);
      }
      const mask = p.masks[k] | 0x400;
      const fa = rv(native, base + 32) & mask, fb = rv(ours, base + 32) & mask;
      if (fa !== fb) {
        const diff = FLAG_NAMES.filter(([bit]) => (fa ^ fb) & bit).map(([, n]) => n).join(' ');
        errs.push(`flags differ in ${diff} (host ${fa.toString(16)} ours ${fb.toString(16)}, compared ${mask.toString(16)})`);
      }
      for (let j = 0; j < WINDOW; j++) {
        const a = native[k * WINDOW + j], b = ours[k * WINDOW + j];
        if (a !== b) {
          errs.push(`window[${j}] host ${a.toString(16)} ours ${b.toString(16)}`);
          break;
        }
      }
      if (errs.length) failures.push(`seed ${SEED} sequence ${k}: ${errs.join('; ')}\n    ${p.sequences[k].join('\n    ')}`);
    }
    expect(failures.join('\n')).toBe('');
  });
});
