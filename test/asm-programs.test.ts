// Whole programs: our fixtures (a boot sector, a switch to 32-bit protected mode) and the
// project's own boot sector, setup and kernel, byte-identical to `nasm -f bin`.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleFile, type AssembleOutput } from '../tools/asm/index';
import { oracle } from './oracle';

const ROOT = join(import.meta.dirname, '..');
const FIX = join(import.meta.dirname, 'fixtures/asm');
const HAVE_NASM = oracle('nasm');

function nasm(file: string, args: string[] = [], cwd = ROOT): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-asm-prog-'));
  try {
    execFileSync('nasm', ['-f', 'bin', ...args, '-o', join(dir, 'out.bin'), file], { cwd, stdio: 'pipe' });
    return readFileSync(join(dir, 'out.bin'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ok(r: AssembleOutput): Buffer {
  expect(r.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`)).toEqual([]);
  return Buffer.from(r.bytes);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const addr = (r: AssembleOutput, name: string) => r.symbols.find((s) => s.name === name)?.address;

describe('whole programs', () => {
  it('boot sector fixture', () => {
    const r = assembleFile(join(FIX, 'boot.asm'));
    const b = ok(r);
    expect(b.length).toBe(512);
    expect(b.subarray(0, 3).toString('hex')).toBe('fa31c0'); // cli; xor ax, ax
    expect(b.readUInt16LE(510)).toBe(0xaa55);
    expect(addr(r, 'start')).toBe(0x7c00);
    expect(addr(r, 'start.fail')).toBeGreaterThan(0x7c00);
    expect(r.symbols.map((s) => s.address)).toEqual([...r.symbols.map((s) => s.address)].sort((x, y) => x - y));
    // The bytes NASM 2.16 produced for this fixture when it was written.
    expect(sha256(b)).toBe('e00c5307c1945667908f7eed3d282dde275afeb6d51fda5af4c97a2b88793cb6');
    if (HAVE_NASM) expect(nasm(join(FIX, 'boot.asm')).equals(b)).toBe(true);
  });

  it('32-bit protected-mode fixture (with an %include and a descriptor macro)', () => {
    const r = assembleFile(join(FIX, 'pm32.asm'));
    const b = ok(r);
    expect(b.length).toBe(298);
    // cli; lgdt [gdt_desc]; mov eax, cr0; or eax, 1 (o32 in 16-bit code)
    expect(b.subarray(0, 13).toString('hex')).toBe('fa0f011638100f20c06683c801');
    // jmp dword 0x08:pm_entry, then jmp 0x08:pm_entry
    expect(b.subarray(16, 29).toString('hex')).toBe('66ea3e1000000800ea3e100800');
    // the code descriptor built by the macro
    expect(b.subarray(0x28, 0x30).toString('hex')).toBe('ffff0000009acf00');
    expect(addr(r, 'pm_entry')).toBe(0x103e);
    expect(addr(r, 'stack_top')).toBe(addr(r, 'stack')! + 4096);
    expect(sha256(b)).toBe('15296e0c1baca2c324eb663db475f14da77e18d081791dc97fc46fb526545b16');
    if (HAVE_NASM) expect(nasm(join(FIX, 'pm32.asm'), [], FIX).equals(b)).toBe(true);
  });
});

// The project's own sources, as they are today: whatever they contain, NASM and we agree.
describe.runIf(HAVE_NASM)("the project's boot sector, setup and kernel", () => {
  const has = (f: string) => existsSync(join(ROOT, f));

  it.runIf(has('boot/bootsect.asm'))('boot/bootsect.asm (with -DSYSSIZE)', () => {
    const r = assembleFile(join(ROOT, 'boot/bootsect.asm'), { defines: { SYSSIZE: '0x1234' } });
    expect(ok(r).equals(nasm('boot/bootsect.asm', ['-DSYSSIZE=0x1234']))).toBe(true);
  });

  it.runIf(has('boot/setup.asm'))('boot/setup.asm', () => {
    expect(ok(assembleFile(join(ROOT, 'boot/setup.asm'))).equals(nasm('boot/setup.asm'))).toBe(true);
  });

  it.runIf(has('kernel/kernel.asm'))('kernel/kernel.asm, and its symbol map matches NASM\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-asm-kernel-'));
    try {
      const t0 = performance.now();
      const r = assembleFile(join(ROOT, 'kernel/kernel.asm'), { includeDirs: [ROOT] });
      const ms = performance.now() - t0;
      const ours = ok(r);
      const wrapper = join(dir, 'w.asm');
      writeFileSync(wrapper, `[map symbols ${join(dir, 'k.map')}]\n%include "kernel/kernel.asm"\n`);
      expect(ours.equals(nasm(wrapper, ['-I', `${ROOT}/`]))).toBe(true);
      // NASM's map lists labels ("Real Virtual Name"); ours leaves out macro-local ..@ labels.
      const text = readFileSync(join(dir, 'k.map'), 'utf8');
      const theirs = new Set<string>();
      let inSection = false;
      for (const l of text.split('\n')) {
        if (l.startsWith('---- Section')) inSection = true;
        const m = /^([0-9A-F]+)\s+[0-9A-F]+\s+(\S+)$/.exec(l.trim());
        if (inSection && m && !m[2].startsWith('..@')) theirs.add(`${parseInt(m[1], 16)} ${m[2]}`);
      }
      expect(new Set(r.symbols.map((s) => `${s.address} ${s.name}`))).toEqual(theirs);
      console.log(`kernel: ${ours.length} bytes, ${r.symbols.length} symbols, ${ms.toFixed(0)} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Random programs full of forward references, jumps that may or may not reach, alignment
// and a second section: the passes must settle exactly where NASM's do.
describe.runIf(HAVE_NASM)('random multi-pass programs', () => {
  it('40 programs, byte-identical to nasm', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const dir = mkdtempSync(join(tmpdir(), 'forklab-asm-rand-'));
    try {
      for (let iter = 0; iter < 40; iter++) {
        const L = 12;
        const lines = [`bits ${rnd(2) ? 16 : 32}`, `org ${rnd(2) ? '0x7c00' : '0'}`];
        for (let k = 0; k < L; k++) {
          lines.push(`L${k}:`);
          for (let j = 0; j < 1 + rnd(4); j++) {
            const t = `L${rnd(L)}`;
            const c = `CN${rnd(4)}`;
            lines.push([
              `jmp ${t}`, `jz ${t}`, `times ${rnd(140)} nop`, `call ${t}`, `mov eax, ${t}`, `add ax, ${c}`,
              `align ${[2, 4, 16][rnd(3)]}`, `dw ${t} - L0, $ - $$`, `mov cx, [bx + ${c}]`, `push ${c}`,
              `jnz near ${t}`, `cmp byte [${t}], ${c}`,
            ][rnd(12)]);
          }
          if (k === 6 && rnd(2)) lines.push('section .data', 'D: dd L3, CN1', 'section .text');
        }
        for (let k = 0; k < 4; k++) lines.push(`CN${k} equ ${[1, 100, 127, -5, 0x7f, 0x80][rnd(6)]}`);
        const src = `${lines.join('\n')}\n`;
        writeFileSync(join(dir, 'r.asm'), src);
        const r = assembleFile(join(dir, 'r.asm'));
        const ours = ok(r);
        expect(ours.equals(nasm(join(dir, 'r.asm'))), src).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
