// The image `forklab build` makes (tools/build-image.ts, our assembler): byte-identical to
// the NASM build (kernel/build-nasm.sh, the oracle) with the same symbol map, in every
// build variant the tests use; and laid out as Linux 0.11's tools/build lays it out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildImage, FLOPPY_SIZE, type BuiltImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';
import { SymbolMap } from '../kernel/inspect';
import { oracle } from './oracle';

const ROOT = resolve(import.meta.dirname, '..');

describe('the kernel image (our assembler)', () => {
  let b: BuiltImage;
  let syms: SymbolMap;
  beforeAll(() => {
    b = buildImage(ROOT);
    syms = new SymbolMap(b.symbols);
  }, 30_000);

  it('is a 1.44 MB floppy: boot sector with its signature, 4 setup sectors, the system, zeros', () => {
    const img = b.image;
    expect(img.length).toBe(FLOPPY_SIZE);
    expect(img[510] | (img[511] << 8)).toBe(0xaa55);
    // the boot sector knows the system's size in 16-byte clicks (word at 0x1F4)
    expect(img[0x1f4] | (img[0x1f5] << 8)).toBe(Math.ceil(b.systemBytes / 16));
    expect(b.systemBytes).toBeGreaterThan(0x10000);
    expect(b.systemBytes).toBeLessThanOrEqual(0x80000);
    // the system starts at sector 5 with head's jump over the page directory and tables
    const sys = img.subarray(5 * 512);
    expect(sys[0]).toBe(0xe9); // jmp rel32 to startup_32_go
    expect((sys[1] | (sys[2] << 8) | (sys[3] << 16) | (sys[4] << 24)) + 5).toBe(syms.addr('startup_32_go'));
    expect(img.subarray(5 * 512 + b.systemBytes).every((v) => v === 0)).toBe(true);
  });

  it('has a symbol map with Linux 0.11\'s names where the layout says', () => {
    for (const n of ['startup_32', 'pg_dir', 'main', 'system_call', 'sys_fork', 'find_empty_process',
      'copy_process', 'copy_mem', 'copy_page_tables', 'free_page_tables', 'get_free_page', 'free_page',
      'page_fault', 'do_wp_page', 'un_wp_page', 'do_no_page', 'verify_area', 'write_verify', 'do_exit',
      'sys_waitpid', 'release', 'schedule', 'switch_to', 'timer_interrupt', 'mem_map', 'task', 'init',
      'init_task', 'current', 'HIGH_MEMORY', 'copy_process.out', 'release.out', 'page_fault.done',
      'write_verify.out', 'tell_father', 'origin']) {
      expect(syms.has(n), n).toBe(true);
    }
    expect(syms.addr('startup_32')).toBe(0);
    expect(syms.addr('pg_dir')).toBe(0);
    expect(syms.addr('pg0')).toBe(0x1000);
    expect(syms.addr('startup_32_go')).toBe(0x5000);
    expect(syms.addr('init_task') % 4096).toBe(0);
    expect(syms.addr('udata_start') % 4096).toBe(0);
    // everything below 640 KB, inside task 0's segments
    expect(syms.addr('kernel_end')).toBeLessThanOrEqual(0xa0000);
    expect(syms.addr('mem_map') + 3840).toBeLessThanOrEqual(syms.addr('user_stack'));
    expect(b.symbols.some((s) => s.name.startsWith('..@'))).toBe(false);
    const addrs = b.symbols.map((s) => s.address);
    expect(addrs).toEqual([...addrs].sort((x, y) => x - y));
    // the map text reads back to the same symbols
    expect(SymbolMap.parse(formatSymbolMap(b.symbols)).entries()).toEqual(syms.entries());
  });

  it('build variants change only what their define guards', () => {
    const noFpu = buildImage(ROOT, { FORCE_NO_FPU: '1' });
    const names = (x: BuiltImage) => new Set(x.symbols.map((s) => s.name));
    expect(names(noFpu)).toEqual(names(b));
    // the boot sector and setup are the same (the system is padded to the same size)
    expect(noFpu.systemBytes).toBe(b.systemBytes);
    expect(Buffer.from(noFpu.image.subarray(0, 5 * 512)).equals(Buffer.from(b.image.subarray(0, 5 * 512)))).toBe(true);
    // check_x87: mov ax, 0xffff (66 B8 FF FF), then fninit (DB E3) and fnstsw ax (DF E0) or not
    const at = (x: BuiltImage, n: number) => [...x.image.subarray(5 * 512 + syms.addr('check_x87'), 5 * 512 + syms.addr('check_x87') + n)];
    expect(at(b, 8)).toEqual([0x66, 0xb8, 0xff, 0xff, 0xdb, 0xe3, 0xdf, 0xe0]);
    expect(at(noFpu, 4)).toEqual([0x66, 0xb8, 0xff, 0xff]);
    expect(at(noFpu, 6).slice(4)).not.toEqual([0xdb, 0xe3]);
    const selftest = buildImage(ROOT, { CONSOLE_SELFTEST: '1' });
    expect(names(selftest)).toEqual(new Set([...names(b), 'main.lines', 'main.stop']));
  });
});

describe.runIf(oracle('nasm'))('the kernel image against NASM (kernel/build-nasm.sh)', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const variants: [string, Record<string, string>, string][] = [
    ['default', {}, ''],
    ['FORCE_NO_FPU', { FORCE_NO_FPU: '1' }, '-DFORCE_NO_FPU'],
    ['CONSOLE_SELFTEST', { CONSOLE_SELFTEST: '1' }, '-DCONSOLE_SELFTEST'],
  ];
  it.each(variants)('%s: byte-identical image, the same symbol map', (name, defines, nasmDefines) => {
    dir ||= mkdtempSync(join(tmpdir(), 'forklab-image-'));
    // (lower case: NASM would expand a directory named after the define in the map path)
    const out = join(dir, name.toLowerCase());
    execFileSync('sh', [join(ROOT, 'kernel/build-nasm.sh'), out], {
      cwd: ROOT, stdio: 'pipe', env: { ...process.env, KERNEL_DEFINES: nasmDefines },
    });
    const ours = buildImage(ROOT, defines);
    const theirs = readFileSync(join(out, 'forklab.img'));
    expect(theirs.length).toBe(ours.image.length);
    const diff = ours.image.findIndex((v, i) => v !== theirs[i]);
    expect(diff, `first difference at image offset 0x${diff.toString(16)}`).toBe(-1);
    const nasmMap = SymbolMap.parse(readFileSync(join(out, 'kernel.map'), 'utf8'));
    const asSet = (m: SymbolMap) => new Set(m.entries().map((s) => `${s.address.toString(16)} ${s.name}`));
    expect(nasmMap.size).toBeGreaterThan(400);
    expect(asSet(new SymbolMap(ours.symbols))).toEqual(asSet(nasmMap));
  }, 60_000);
});
