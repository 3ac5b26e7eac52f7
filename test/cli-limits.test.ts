// Inputs that once took gigabytes, minutes or the JavaScript stack: each now ends at once
// with one line naming the problem, in bounded memory (the child's peak RSS, by GNU time).
import { existsSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Debugger } from '../emulator/debug/debugger';
import { Machine } from '../emulator/machine';
import { expectOneLine, forklab } from './cli-helpers';
import { oracle } from './oracle';

const dir = mkdtempSync(join(tmpdir(), 'forklab-cli-limits-'));
const file = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
/** Node alone takes about 50 MB; these bounds leave room for the work, not for the old leaks. */
const BOUND_MB = 200;

describe('the assembler', () => {
  it('takes 5,000 nested parentheses, as NASM does', () => {
    const src = file('parens.asm', `db ${'('.repeat(5000)}7${')'.repeat(5000)}\n`);
    const out = join(dir, 'parens.bin');
    const r = forklab(['asm', src, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  describe.runIf(oracle('/usr/bin/time'))('refuses an output beyond 64 MB at its line, before allocating it', () => {
    it.each([
      ['times 3000000000 db 0', 'db 1\ntimes 3000000000 db 0\n', 2, 3000000001],
      ['resb 0xffffffff then db 1', 'resb 0xffffffff\ndb 1\n', 1, 4294967295],
      ['times 0x4000001 nop in 32-bit code', 'bits 32\ntimes 0x4000001 nop\n', 2, 0x4000001],
    ])('%s', (_name, text, line, size) => {
      const src = file('big.asm', text);
      const out = join(dir, 'big.bin');
      const r = forklab(['asm', src, '-o', out], { measure: true });
      expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
      expect(r.stderr).toContain(`big.asm:${line}:1: the output would grow to ${size} bytes, beyond the assembler's limit of 64 MB\n`);
      expect(r.stderr).toMatch(/forklab asm: 1 error in .*big\.asm\n$/);
      expect(r.status).toBe(1);
      expect(existsSync(out)).toBe(false); // no 0-byte output behind a failed assembly
      expect(r.peakMB).toBeLessThan(BOUND_MB);
    });
  });
});

describe('incbin', () => {
  it('refuses a device (it would never end) and a file beyond the limit, at the line', () => {
    const zero = forklab(['asm', file('zero.asm', 'incbin "/dev/zero"\n'), '-o', join(dir, 'zero.bin')], { timeoutMs: 30_000 });
    expect(zero.stderr).toMatch(/zero\.asm:1:8: cannot read incbin file '\/dev\/zero'\n/);
    expect(zero.status).toBe(1);
    const huge = join(dir, 'huge.dat');
    writeFileSync(huge, '');
    truncateSync(huge, 70 << 20); // sparse: no 70 MB written
    const big = forklab(['asm', file('huge.asm', `incbin "${huge}"\n`), '-o', join(dir, 'huge.bin')]);
    expect(big.stderr).toContain(`huge.asm:1:1: incbin file '${huge}' is larger than the assembler's limit of 64 MB\n`);
    expect(big.status).toBe(1);
  });
});

describe.runIf(oracle('/usr/bin/time'))('trace readers', () => {
  it.each([['trace-diff', '/dev/zero', '/dev/zero'], ['qemu-log', '/dev/zero']])('%s refuses an endless line in bounded memory', (...args) => {
    const r = forklab(args, { measure: true, timeoutMs: 30_000 });
    expectOneLine(r, /^forklab: (trace-diff: )?\/dev\/zero:1: a line longer than 4 MB \(not a text trace or log\?\)$/);
    expect(r.peakMB).toBeLessThan(BOUND_MB);
  });
});

describe.runIf(oracle('/usr/bin/time'))('disasm streams', () => {
  it('lists 2 MB of random bytes in bounded memory (a whole listing in memory took ~700 MB)', () => {
    const bin = file('random.bin', randomBytes(2 << 20));
    const r = forklab(['disasm', bin], { measure: true, timeoutMs: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^00000000  [0-9A-F]+ +\S/);
    expect(lines.length).toBeGreaterThan(500_000);
    expect(r.peakMB).toBeLessThan(BOUND_MB);
  });
});

it("the debugger's print refuses deep nesting with its own message", async () => {
  const d = new Debugger(new Machine({}));
  const r = await d.execute(`print ${'('.repeat(5000)}1${')'.repeat(5000)}`);
  expect(r.error).toBe('expression nested more than 200 deep');
  expect((await d.execute(`print ${'-'.repeat(5000)}1`)).error).toBe('expression nested more than 200 deep');
  expect((await d.execute(`print ${'('.repeat(150)}1${')'.repeat(150)}`)).output).toMatch(/^0x00000001 \(1\)/);
});
