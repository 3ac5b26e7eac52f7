// build/forklab.elf, the symbol file `forklab build` writes for gdb (tools/elf-writer.ts),
// checked by the oracles: binutils' readelf reads it without a complaint and nm lists the
// same symbols at the same addresses as build/kernel.map; the loaded bytes are the system
// at its run address; gdb loads it without a warning and finds functions by name and by
// address. Also `forklab build --if-needed` rebuilds when only the ELF is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../tools/build-image';
import { assemble, formatSymbolMap } from '../tools/asm';
import { oracle } from './oracle';

const ROOT = resolve(import.meta.dirname, '..');
const SYSTEM_OFFSET = 5 * 512; // boot sector and four setup sectors

let built: BuiltImage;
let elfPath: string;
const addr = (name: string) => built.symbols.find((s) => s.name === name)!.address;

beforeAll(() => {
  built = buildImage(ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'forklab-elf-'));
  elfPath = join(dir, 'forklab.elf');
  writeFileSync(elfPath, built.elf);
}, 30_000);

describe('which labels name data (the assembler, for the ELF\'s OBJECT/FUNC types)', () => {
  it('a label is data when the first statement after it lays down data, also under times or after align', () => {
    const r = assemble([
      'bits 32', 'code: nop', '.loop: jmp .loop', 'msg: db "hi", 0', 'both:', 'also: dd 1', 'padded:', 'align 16', 'table: times 4 dw 0',
      'buf: resb 8', 'sled: times 3 nop', 'last_code:', 'section .data', 'var: dd 7',
    ].join('\n'));
    expect(r.errors).toEqual([]);
    expect([...r.dataLabels].sort()).toEqual(['also', 'both', 'buf', 'msg', 'padded', 'table', 'var']);
  });
});

describe.runIf(oracle('readelf', 'nm', 'objcopy'))('the ELF symbol file, read by binutils', () => {
  it('readelf -a reads it cleanly: ELF32 i386 ET_EXEC, one PT_LOAD over the system at 0, .text, .symtab', () => {
    const r = spawnSync('readelf', ['-a', '-W', elfPath], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Class:\s+ELF32/);
    expect(r.stdout).toMatch(/Type:\s+EXEC \(Executable file\)/);
    expect(r.stdout).toMatch(/Machine:\s+Intel 80386/);
    const size = built.systemBytes.toString(16).padStart(5, '0');
    expect(r.stdout).toMatch(new RegExp(`LOAD\\s+0x001000 0x00000000 0x00000000 0x${size} 0x${size} RWE 0x1000`));
    expect(r.stdout).toMatch(new RegExp(`\\.text\\s+PROGBITS\\s+00000000 001000 0${size} 00 WAX`));
    expect(r.stdout).toMatch(/\.symtab\s+SYMTAB/);
  });

  it('loads the system\'s own bytes: .text is the image\'s system, byte for byte', () => {
    const bin = `${elfPath}.text`;
    const r = spawnSync('objcopy', ['-O', 'binary', '-j', '.text', elfPath, bin], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const sys = built.image.subarray(SYSTEM_OFFSET, SYSTEM_OFFSET + built.systemBytes);
    expect(Buffer.compare(readFileSync(bin), Buffer.from(sys))).toBe(0);
  });

  it('nm lists the same symbols at the same addresses as kernel.map', () => {
    const nm = execFileSync('nm', ['-n', elfPath], { encoding: 'utf8' });
    const fromNm = nm.trim().split('\n').map((l) => {
      const [a, , name] = l.split(' ');
      return `${a.toUpperCase()} ${name}`;
    });
    const fromMap = formatSymbolMap(built.symbols).trim().split('\n');
    expect(fromMap.length).toBeGreaterThan(400);
    expect(new Set(fromNm).size).toBe(fromNm.length);
    expect([...fromNm].sort()).toEqual([...fromMap].sort());
  });

  it('types and sizes: functions FUNC up to the next top-level label, data OBJECT, local labels zero-sized LOCAL points', () => {
    const r = execFileSync('readelf', ['-s', '-W', elfPath], { encoding: 'utf8' });
    const sym = (name: string) => {
      const m = new RegExp(`:\\s+([0-9a-f]{8})\\s+(\\d+) (\\w+)\\s+(\\w+)\\s+DEFAULT\\s+1 ${name.replace('.', '\\.')}\\n`).exec(r);
      expect(m, name).not.toBeNull();
      return { address: parseInt(m![1], 16), size: Number(m![2]), type: m![3], bind: m![4] };
    };
    // copy_process runs to find_empty_process, the next top-level label (its locals lie between)
    expect(sym('copy_process')).toEqual({ address: addr('copy_process'), size: addr('find_empty_process') - addr('copy_process'), type: 'FUNC', bind: 'GLOBAL' });
    expect(sym('copy_process.no_math')).toEqual({ address: addr('copy_process.no_math'), size: 0, type: 'NOTYPE', bind: 'LOCAL' });
    expect(sym('sys_fork').type).toBe('FUNC');
    expect(sym('cow_var')).toMatchObject({ type: 'OBJECT', size: 4 }); // dd 1000
    expect(sym('int_msg').type).toBe('OBJECT');
    expect(sym('t_fork_cow.name')).toMatchObject({ type: 'OBJECT', bind: 'LOCAL', size: 0 });
  });
});

describe.runIf(oracle('gdb'))('the ELF symbol file, loaded by gdb', () => {
  it('loads without a warning; names functions by address, finds them by name, disassembles them', () => {
    const inside = addr('copy_process.no_math') + 4; // past a local label: still copy_process
    const r = spawnSync('gdb', ['-nx', '-batch',
      '-ex', `info symbol 0x${inside.toString(16)}`,
      '-ex', 'info address copy_process',
      '-ex', 'x/2i copy_process',
      elfPath], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`copy_process + ${inside - addr('copy_process')} in section .text`);
    expect(r.stdout).toContain(`Symbol "copy_process" is at 0x${addr('copy_process').toString(16)}`);
    expect(r.stdout).toMatch(new RegExp(`0x${addr('copy_process').toString(16)} <copy_process>:\\s+push\\s+%ebp`));
  });
});

describe('forklab build --if-needed', () => {
  it('rebuilds when the ELF is missing, and only then', () => {
    const out = mkdtempSync(join(tmpdir(), 'forklab-build-'));
    const build = () => spawnSync('node', ['bin/forklab.js', 'build', '-o', out, '--if-needed'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(build().stderr).toMatch(/^built /);
    const elf = join(out, 'forklab.elf');
    expect(Buffer.compare(readFileSync(elf), Buffer.from(built.elf))).toBe(0);
    const first = statSync(elf).mtimeMs;
    const again = build();
    expect(again.status).toBe(0);
    expect(again.stderr).toBe(''); // up to date: nothing done
    expect(statSync(elf).mtimeMs).toBe(first);
    rmSync(elf);
    expect(build().stderr).toMatch(/^built /);
    expect(Buffer.compare(readFileSync(elf), Buffer.from(built.elf))).toBe(0);
  }, 120_000);
});
