// Every mistake a user can make gives `file:line:col: message` and the source line, and the
// command exits with status 1 without a stack trace.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, formatErrors } from '../tools/asm/index';

function errorsOf(src: string, files: Record<string, string> = {}) {
  const r = assemble(src, { fileName: 'bad.asm', readFile: (f) => files[f] });
  expect(r.bytes.length).toBe(0);
  return r.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`);
}

const CASES: [string, string, string | RegExp][] = [
  ['unknown mnemonic', 'nop\nmovv ax, bx\n', "bad.asm:2:1: unknown mnemonic 'movv'"],
  ['unknown mnemonic after a prefix', 'rep movsq\n', "bad.asm:1:5: unknown mnemonic 'movsq'"],
  ['unknown mnemonic after a label', 'here: frob 1\n', "bad.asm:1:7: unknown mnemonic 'frob'"],
  ['impossible operand combination', 'mov cr0, ax\n', /^bad\.asm:1:10: invalid combination of opcode and operands for 'mov'/],
  ['operand sizes that disagree', 'mov al, bx\n', 'bad.asm:1:9: mismatch in operand sizes'],
  ['memory operand without a size', 'inc [bx]\n', 'bad.asm:1:5: operation size not specified'],
  ['wrong operand count', 'int 3, 4\n', "bad.asm:1:1: 'int' takes 1 operand, not 2"],
  ['undefined label', 'jmp nowhere\n', "bad.asm:1:5: undefined symbol 'nowhere'"],
  ['undefined local label', 'a: nop\njmp .x\n', "bad.asm:2:5: undefined symbol 'a.x'"],
  ['duplicate label', 'foo: nop\nfoo: nop\n', "bad.asm:2:1: 'foo' is already defined (at bad.asm:1)"],
  ['duplicate equ', 'K equ 1\nK equ 2\n', "bad.asm:2:1: 'K' is already defined (at bad.asm:1)"],
  ['byte value out of range', 'db 256\n', 'bad.asm:1:4: value out of range: 256 does not fit in a byte'],
  ['immediate out of range', 'bits 32\nmov ax, 0x12345\n', 'bad.asm:2:9: value out of range: 74565 does not fit in a word'],
  ['signed byte out of range', 'push byte 200\n', 'bad.asm:1:6: value out of range: 200 does not fit in a signed byte'],
  ['short jump out of range', 'jmp short x\ntimes 200 nop\nx:\n', 'bad.asm:1:5: short jump is out of range (target is 73 bytes too far)'],
  ['loop out of range', 'x: times 200 nop\nloop x\n', 'bad.asm:2:6: short jump is out of range (target is 74 bytes too far)'],
  ['missing include', '%include "nothere.inc"\n', "bad.asm:1:11: cannot find include file 'nothere.inc'"],
  ['unterminated macro', 'nop\n%macro M 1\nnop\n', "bad.asm:2:1: unterminated macro 'M' (missing %endmacro)"],
  ['unterminated %if', '%if 1\nnop\n', 'bad.asm:1:1: unterminated %if (missing %endif)'],
  ['unterminated %rep', '%rep 2\nnop\n', 'bad.asm:1:1: unterminated %rep (missing %endrep)'],
  ['%endif without %if', '%endif\n', 'bad.asm:1:1: %endif without %if'],
  ['%error', '%define V 3\n%if V > 2\n%error V is too big\n%endif\n', 'bad.asm:3:1: 3 is too big'],
  ['macro parameter count', '%macro M 2\nnop\n%endmacro\nM 1\n', "bad.asm:4:2: macro 'M' takes 2 parameters, given 1"],
  ['%if on a label', 'x:\n%if x\n%endif\n', "bad.asm:2:5: %if: 'x' is not a constant the preprocessor knows"],
  ['unknown directive', '%frob\n', "bad.asm:1:1: unknown preprocessor directive '%frob'"],
  ['division by zero', 'db 1/0\n', 'bad.asm:1:5: division by zero'],
  ['invalid number', 'db 0x1g\n', "bad.asm:1:4: invalid number '0x1g'"],
  ['unterminated string', "db 'abc\n", 'bad.asm:1:4: unterminated string'],
  ['negative times', 'times -1 db 0\n', 'bad.asm:1:7: times count -1 is negative'],
  ['unsupported bits', 'bits 64\n', 'bad.asm:1:6: bits 64 is not supported (16 or 32)'],
  ['invalid 16-bit address', 'mov ax, [bx+cx]\n', 'bad.asm:1:9: invalid 16-bit effective address: [bx+cx]'],
  ['esp as an index', 'bits 32\nmov eax, [esp*2]\n', 'bad.asm:2:10: invalid effective address: esp cannot be an index'],
  ['mixed address sizes', 'mov ax, [ebx+si]\n', 'bad.asm:1:9: invalid effective address: 16- and 32-bit registers mixed'],
  ['times on an address', 'times $ db 0\n', 'bad.asm:1:7: times needs a plain number (use $-$$, not $)'],
  ['missing bracket', 'mov ax, [bx\n', "bad.asm:1:9: missing ']'"],
  ['floating point', 'dd 1.5\n', 'bad.asm:1:4: floating-point numbers are not supported'],
  ['a program that never settles', 'start: times ((the_end - start + 1) & 1) nop\nthe_end: nop\n',
    "bad.asm:2:1: 'the_end' still moves after 40 passes (does a times or align depend on a label after it?)"],
];

describe('assembler errors', () => {
  for (const [name, src, want] of CASES) {
    it(name, () => {
      const errs = errorsOf(src);
      expect(errs.length, errs.join('\n')).toBe(1);
      if (typeof want === 'string') expect(errs[0]).toBe(want);
      else expect(errs[0]).toMatch(want);
    });
  }

  it('names the included file and line for errors inside an include', () => {
    expect(errorsOf('nop\n%include "x.inc"\n', { 'x.inc': 'nop\nbogus ax\n' })).toEqual(["x.inc:2:1: unknown mnemonic 'bogus'"]);
  });

  it('names the macro for errors inside a macro body, at the call line', () => {
    expect(errorsOf('%macro M 0\nmov al, 300\n%endmacro\nnop\nM\n')).toEqual([
      "bad.asm:5:9: value out of range: 300 does not fit in a byte (in macro 'M')",
    ]);
  });

  it('reports several errors, in source order', () => {
    expect(errorsOf('jmp x\nfoo ax\n%include "no.inc"\ndb 999\n')).toEqual([
      "bad.asm:1:5: undefined symbol 'x'",
      "bad.asm:2:1: unknown mnemonic 'foo'",
      "bad.asm:3:11: cannot find include file 'no.inc'",
      'bad.asm:4:4: value out of range: 999 does not fit in a byte',
    ]);
  });

  it('formats the source line with a caret under the column', () => {
    const r = assemble('  mov al, bx\n', { fileName: 'f.asm' });
    expect(formatErrors(r.errors)).toBe('f.asm:1:11: mismatch in operand sizes\n      mov al, bx\n              ^\n');
  });
});

describe('forklab asm (command line)', () => {
  const root = join(import.meta.dirname, '..');
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-asm-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => spawnSync('node', [join(root, 'bin/forklab.js'), 'asm', ...args], { cwd: dir, encoding: 'utf8' });

  it('exits 1 with file:line:col messages and no stack trace', () => {
    writeFileSync(join(dir, 'bad.asm'), 'nop\nmovv ax, bx\njmp nowhere\n');
    const r = run('bad.asm', '-o', 'bad.bin');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bad.asm:2:1: unknown mnemonic 'movv'\n    movv ax, bx\n    ^\n");
    expect(r.stderr).toContain("bad.asm:3:5: undefined symbol 'nowhere'");
    expect(r.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('exits 2 on usage errors', () => {
    expect(run().status).toBe(2);
    expect(run('missing.asm', '-o', 'x.bin').stderr).toContain("cannot read 'missing.asm'");
    writeFileSync(join(dir, 'ok.asm'), 'nop\n');
    const r = run('ok.asm');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('-o OUTPUT is required');
    expect(run('ok.asm', '-o', 'x.bin', '--bogus').status).toBe(2);
  });

  it('writes the binary and the map, with -I and -D', () => {
    writeFileSync(join(dir, 'inc.inc'), 'VAL equ 0x42\n');
    writeFileSync(join(dir, 'prog.asm'), 'org 0x100\n%include "inc.inc"\nstart: db VAL, EXTRA\n.end: dw start.end\n');
    const r = run('prog.asm', '-o', 'prog.bin', '--map', 'prog.map', '-I', '.', '-D', 'EXTRA=7');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect([...readFileSync(join(dir, 'prog.bin'))]).toEqual([0x42, 7, 0x02, 0x01]);
    expect(readFileSync(join(dir, 'prog.map'), 'utf8')).toBe('00000100 start\n00000102 start.end\n');
  });
});
