// `forklab run --kernel ELF` loads what QEMU's -kernel loads: GNU ld's -Ttext=0x100000 puts
// a segment of ELF headers at 0xff000 (under the BIOS ROM), which QEMU boots. Refused only:
// a segment that would overwrite something (firmware code or tables, the VGA window, the
// Multiboot information forklab builds), each with one line.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLine, forklab } from './cli-helpers';
import { oracle } from './oracle';

const dir = mkdtempSync(join(tmpdir(), 'forklab-multiboot-'));

const KERNEL = `bits 32
section .text
align 4
  dd 0x1BADB002, 0, -0x1BADB002
global _start
_start:
  mov dx, 0x3f8
  mov al, 'O'
  out dx, al
  mov al, 'K'
  out dx, al
  mov al, 10
  out dx, al
  mov al, 0x15
  out 0xf4, al
  hlt
`;

/** Assembles KERNEL with NASM and links it with GNU ld at `text` (extra ld arguments after). */
function link(name: string, ...ldArgs: string[]): string {
  const src = join(dir, 'k.asm');
  writeFileSync(src, KERNEL);
  execFileSync('nasm', ['-f', 'elf32', src, '-o', join(dir, 'k.o')]);
  const out = join(dir, name);
  execFileSync('ld', ['-m', 'elf_i386', '-e', '_start', ...ldArgs, '-o', out, join(dir, 'k.o')]);
  return out;
}

/** The PT_LOAD segments' physical addresses, read from the ELF program headers. */
function loadAddresses(elf: string): number[] {
  const b = readFileSync(elf);
  const phoff = b.readUInt32LE(28), size = b.readUInt16LE(42), n = b.readUInt16LE(44);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (b.readUInt32LE(phoff + i * size) === 1) out.push(b.readUInt32LE(phoff + i * size + 12));
  return out;
}

describe.runIf(oracle('nasm', 'ld'))('Multiboot ELF kernels as GNU ld links them', () => {
  it('boots one linked with -Ttext=0x100000 (a header segment at 0xff000)', () => {
    const elf = link('high.elf', '-Ttext=0x100000');
    expect(loadAddresses(elf)).toContain(0xff000); // the case in question
    const r = forklab(['run', '--kernel', elf]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('OK\n');
    expect(r.status).toBe((0x15 << 1) | 1);
  });

  it.runIf(oracle('qemu-system-i386'))('QEMU boots the same file the same way', () => {
    const elf = link('high.elf', '-Ttext=0x100000');
    const r = spawnSync('qemu-system-i386', ['-kernel', elf, '-display', 'none', '-serial', 'stdio', '-no-reboot',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout.replace(/\r/g, '')).toBe('OK\n');
    expect(r.status).toBe((0x15 << 1) | 1);
  });

  it.each([
    ['the VGA window', '-Ttext=0xb8000', /would overwrite the VGA window \(0xa0000-0xbffff\)$/],
    ['the firmware ROM', '-Ttext=0xfff00', /would overwrite the firmware ROM at 0xf[0-9a-f]{4}$/],
    ['the Multiboot information', '-Ttext=0x9000', /would overwrite the Multiboot information \(0x9000-0x92ff\)$/],
  ])('refuses a segment over %s, in one line', (_what, ttext, message) => {
    const elf = link('bad.elf', ttext);
    expectOneLine(forklab(['run', '--kernel', elf]), message);
  });
});
