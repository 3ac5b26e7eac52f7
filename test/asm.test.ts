// Directives, the preprocessor and expressions: each case's bytes are written down (so the
// test means something without NASM) and, when NASM is installed, NASM must produce them too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, formatSymbolMap } from '../tools/asm/index';
import { oracle } from './oracle';

const INC = join(import.meta.dirname, 'fixtures/asm/inc');
const HAVE_NASM = oracle('nasm');

function nasm(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-asm-'));
  try {
    writeFileSync(join(dir, 'case.asm'), src);
    execFileSync('nasm', ['-f', 'bin', '-I', `${INC}/`, '-o', join(dir, 'case.bin'), join(dir, 'case.asm')], { stdio: 'pipe' });
    return readFileSync(join(dir, 'case.bin')).toString('hex');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ours(src: string): string {
  const r = assemble(src, { fileName: 'case.asm', includeDirs: [INC] });
  expect(r.errors.map((e) => `${e.line}:${e.col}: ${e.message}`)).toEqual([]);
  return Buffer.from(r.bytes).toString('hex');
}

const CASES: { name: string; src: string; hex: string }[] = [
  {
    name: "numbers in every radix",
    src: "dd 0x1F, 1Fh, $0F, 0b101, 101b, 0o17, 17q, 17o, 1_000, 0h, 10d, 0d99, 0ffh\n",
    hex: '1f0000001f0000000f00000005000000050000000f0000000f0000000f000000e8030000000000000a00000063000000ff000000',
  },
  {
    name: "character constants and strings",
    src: "db 'ab', \"cd\", `e\\tf\\n\\x41\\101\\0`\ndw 'ab', 'abc'\ndd 'abcd', 'a'\nmov ax, 'ab'\n",
    hex: '616263646509660a4141006162616263006162636461000000b86162',
  },
  {
    name: "expression operators",
    src: "dd 7/2, (-7/2) & 0xffffffff, -7//2, 7 % 3, -7 %% 3, 1<<4, (-16>>2) & 0xffff, -16>>>2, ~0, !0, !5\ndd 3^5, 3|4, 6&3, -(2+3)*4, +5, 2*3+4*5, (2+3)*(4+5), 1<<2+1\ndd (1<2)+(2<=2)*2+(3>2)*4+(3>=4)*8+(1==1)*16+(1!=1)*32+(1<>2)*64+(1=1)*128\ndd (1 && 0) + (1 || 0)*2 + (1 ^^ 1)*4 + (0 ^^ 1)*8\ndq 0x123456789abcdef0, -2, 1 << 63\n",
    hex: '03000000fcfffffffdffffff01000000ffffffff10000000fcff0000fcffffffffffffff0100000000000000060000000700000002000000ecffffff050000001a0000002d00000008000000d70000000a000000f0debc9a78563412feffffffffffffff0000000000000080',
  },
  {
    name: "equ, $ and $$",
    src: "org 0x100\nA equ 5\nB equ A * 2 + C\nC equ 3\nstart: dw $, $$, $ - $$, A, B\nhere equ $\ndw here - start\n",
    hex: '00010001000005000d000a00',
  },
  {
    name: "times",
    src: "times 3 db 1, 2\ntimes 2 dw $\ntimes 4 - 2 nop\ntimes (8 - ($ - $$)) % 4 db 0xcc\n",
    hex: '010201020102060006009090',
  },
  {
    name: "resb/resw/resd/resq in code",
    src: "db 1\nresb 2\nresw 1\nresd 1\nresq 1\ndb 2\n",
    hex: '010000000000000000000000000000000002',
  },
  {
    name: "align and alignb",
    src: "db 1\nalign 4\ndb 2\nalign 8, db 0xcc\ndb 3\nalignb 4\ndb 4\nalign 2\n",
    hex: '0190909002cccccc030000000490',
  },
  {
    name: "sections: .text, .data, .bss, a user section",
    src: "org 0x7c00\nsection .data\nd1: db 1, 2, 3\nsection .bss\nb1: resb 5\nb2: resd 1\nsection .text\nmov ax, d1\nmov bx, b1\nmov cx, b2\nmov dx, d2\nmov si, u1\nsection .data\nd2: dw d1, b1, b2\nsection .rodata\nu1: db 'x'\n[section .text]\nnop\n",
    hex: 'b8107cbb207cb9257cba137cbe1c7c90010203107c207c257c00000078',
  },
  {
    name: "section alignment from align",
    src: "section .data\ndb 1\nsection .text\ndb 2\nalign 16\ndb 3\nsection .data\nalign 8\nd: db 4\nsection .text\ndw d\n",
    hex: '029090909090909090909090909090900320000000000000019090909090909004',
  },
  {
    name: "bits 16/32 and [bits]",
    src: "mov ax, bx\nbits 32\nmov ax, bx\nmov eax, [ebx]\n[bits 16]\nmov eax, [ebx]\nuse32\npush ax\nuse16\npush ax\n",
    hex: '89d86689d88b0366678b03665050',
  },
  {
    name: "local labels",
    src: "a: nop\n.l: jmp .l\nFOO equ 3\n.m: jmp .m\nb: jmp .l\n.l: dw a.l, a.m, b.l\n",
    hex: '90ebfeebfeeb00010003000700',
  },
  {
    name: "%define with and without parameters, %undef, %xdefine",
    src: "%define N 4\n%define SQR(x) ((x)*(x))\n%define ADD3(a,b,c) a+b+c\n%define ONE 99\ndw N, SQR(N), SQR(N+1), ADD3(1,2,3), ONE\n%undef N\n%define N 7\n%xdefine M N\n%define N 8\ndw N, M\n%idefine cI 1\ndw CI, ci\n",
    hex: '040010001900060063000800070001000100',
  },
  {
    name: "%assign",
    src: "%assign i 1\n%assign i i*10+2\n%assign j i % 5\ndw i, j\n",
    hex: '0c000200',
  },
  {
    name: "%if / %elif / %else / %ifdef / %ifndef",
    src: "%define X 3\n%if X > 2 && X < 5\ndb 1\n%elif X == 3\ndb 2\n%else\ndb 3\n%endif\n%if 0\ndb 4\n%elif X = 3\ndb 5\n%endif\n%ifdef X\ndb 6\n%else\ndb 7\n%endif\n%ifndef Y\ndb 8\n%endif\n%ifdef Y\ndb 9\n%elifndef Z\ndb 10\n%endif\n%if 0\n %if 1\n db 11\n %endif\n%else\ndb 12\n%endif\n",
    hex: '010506080a0c',
  },
  {
    name: "%macro with parameters, %0, %%local, greedy and defaults",
    src: "%macro PAIR 2\ndw %1, %2, %0\n%endmacro\n%macro LOOPIT 1\n%%top: dec %1\njnz %%top\n%endmacro\n%macro LIST 1+\ndb %1\n%endmacro\n%macro OPT 1-2 0x55\ndb %1, %2\n%endmacro\n%macro NOARG 0\nnop\n%endmacro\nPAIR 1, 2\nLOOPIT cx\nLOOPIT dx\nLIST 1, 2, 3\nOPT 1\nOPT 1, 2\nNOARG\nx: PAIR {3,4}, 5\n",
    hex: '0100020002004975fd4a75fd01020301550102900300040005000200',
  },
  {
    name: "%rep and %rotate",
    src: "%assign k 0\n%rep 4\ndb k\n%assign k k+1\n%endrep\n%macro PUSHALL 1-*\n%rep %0\npush %1\n%rotate 1\n%endrep\n%endmacro\nPUSHALL ax, bx, es\n",
    hex: '00010203505306',
  },
  {
    name: "multi-pass: jumps, forward immediates and displacements",
    src: "start: jmp fwd1\ntimes 126 nop\nfwd1: jmp fwd2\ntimes 128 nop\nfwd2: jz start\nadd ax, K\nadd bx, L\nmov cx, [bx+K]\nmov cx, [bx+L]\npush K\npush L\njmp near fwd1\ncall fwd1\njz short fwd3\nfwd3: loop fwd3\nK equ 5\nL equ 500\n",
    hex: 'eb7e909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090e9800090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090900f84f9fe83c00581c3f4018b4f058b8ff4016a0568f401e963ffe860ff7400e2fe',
  },
  {
    name: "relocatable values use the long forms, plain numbers the short",
    src: "org 0x10\nlbl: add ax, lbl\nadd ax, lbl - $$\npush lbl\npush lbl - $$\nmov ax, [bx + lbl]\nmov ax, [bx + lbl - $$]\njmp 0x20\n",
    hex: '05100083c0006810006a008b8710008b07e9fcff',
  },
  {
    name: "segment overrides and prefixes",
    src: "mov ax, [es:bx]\nmov al, [cs:0x1234]\nes lodsb\nes\nnop\nrep movsb\nrepe cmpsw\nrepne scasb\nlock add [bx], ax\nrep lock add [es:bx], ax\no32 ret\na32 lodsb\no16 push 1\n",
    hex: '268b072ea0341226ac2690f3a4f3a7f2aef00107f3f026010766c367ac6a01',
  },
  {
    name: "far jumps and calls",
    src: "jmp 0x08:0x1234\njmp dword 0x08:0x1234\ncall 0x10:0x20\njmp far [bx]\ncall far [bx+si]\njmp dword far [bx]\nbits 32\njmp 0x08:0x1234\njmp word 0x08:0x1234\ncall far [eax]\n",
    hex: 'ea3412080066ea3412000008009a20001000ff2fff1866ff2fea34120000080066ea34120800ff18',
  },
  {
    name: "short/near/strict and size keywords",
    src: "jmp short $\njmp near $\nadd ax, strict word 5\nadd ax, byte 5\nadd ax, word 5\npush strict word 5\npush dword 5\nmov [bx], byte 5\nmov word [bx], 5\nadd [bx], byte 1\nshl word [bx], 1\nshl ax, byte 1\ninc byte [bx]\n",
    hex: 'ebfee9fdff05050083c00583c005680500666a05c60705c7070500800701d127c1e001fe07',
  },
  {
    name: "32-bit addressing: NASM's choices",
    src: "bits 32\nmov eax, [ebp]\nmov eax, [esp]\nmov eax, [eax*2]\nmov eax, [eax*3]\nmov eax, [eax*4]\nmov eax, [nosplit eax*2]\nmov eax, [eax+esp]\nmov eax, [ebx+eax]\nmov eax, [eax*1+ebx]\nmov eax, [ebx+0x7f]\nmov eax, [ebx+0x80]\nmov eax, [ebx-0x80]\nmov eax, [byte ebx+0]\nmov eax, [dword ebx+1]\nmov eax, [0x1234]\nmov eax, [ebp+esi*8-4]\n",
    hex: '8b45008b04248b04008b04408b0485000000008b0445000000008b04048b04038b04038b437f8b83800000008b43808b43008b8301000000a1341200008b44f5fc',
  },
  {
    name: "16-bit addressing",
    src: "mov ax, [bp]\nmov ax, [bx+si]\nmov ax, [si+bx]\nmov ax, [bp+di+0x7f]\nmov ax, [di-0x81]\nmov ax, [0x10]\nmov ax, [bx+0x10]\n",
    hex: '8b46008b008b008b437f8b857fffa110008b4710',
  },
  {
    name: "bare spellings follow the code size",
    src: "pusha\npushf\niret\nbits 32\npusha\npushf\npopf\npopa\niret\niretw\n",
    hex: '609ccf609c9d61cf66cf',
  },
  {
    name: "global/extern are accepted; labels without colons",
    src: "global start\nextern nothing\nstart nop\nfoo\nbar db 1\n",
    hex: '9001',
  },
  {
    name: "%include with -I and relative paths",
    src: "%include \"inc1.inc\"\ndw INC_VALUE\n",
    hex: '4242',
  },
  {
    name: "struc/endstruc, istruc/at/iend and absolute",
    src: "bits 32\nstruc task\n  .state:   resd 1\n  .counter: resd 1\n  .name:    resb 10\n  .tss:     resw 3\nendstruc\nstruc point, 4\n  .x: resw 1\n  .y: resw 1\nendstruc\nstart:\n  mov eax, [ebx + task.counter]\n  mov eax, [ebx + task.tss]\n  mov ecx, task_size\n  lea esi, [edi + point.y]\n  dw point_size, point.x\nmytask:\n  istruc task\n    at task.state, dd 1\n    at task.name, db 'init', 0\n  iend\n  db 0xee\nabsolute 0x1000\nbuf: resb 16\nbuf_end:\nsection .text\n  mov eax, buf_end\n  mov eax, [buf]\n",
    hex: '8b43048b4312b9180000008d7706040004000100000000000000696e6974000000000000000000000000eeb810100000a100100000',
  },
  {
    name: "more preprocessor: %ifidn/%ifidni/%ifnum/%ifstr/%ifmacro, %+, %rotate -1, defaults and %0, nested macros, %exitrep, macro locals",
    src: "%macro CHK 1\n%ifidn %1, eax\n  db 1\n%elifidni %1, EBX\n  db 2\n%elifnum %1\n  db 3\n%elifstr %1\n  db 4\n%elifempty %1\n  db 5\n%else\n  db 6\n%endif\n%endmacro\nCHK eax\nCHK ebx\nCHK 42\nCHK 'str'\nCHK ecx\n%ifmacro CHK\n  db 7\n%endif\n%macro CAT 2\n  db %1%+%2\n%endmacro\nV12 equ 0x12\n  CAT V, 12\n%macro REV 1-*\n%rep %0\n%rotate -1\n  db %1\n%endrep\n%endmacro\n  REV 1, 2, 3\n%macro DEF 1-3 8, 9\n  db %0, %1, %2, %3\n%endmacro\n  DEF 1\n  DEF 1, 2\n  DEF 1, 2, 3\n%macro OUTER 1\n  INNER %1, %1\n%endmacro\n%macro INNER 2\n  dw %1 + %2\n%endmacro\n  OUTER 5\n%assign n 0\n%rep 100\n%if n >= 3\n%exitrep\n%endif\n  db n\n%assign n n+1\n%endrep\n%define a(x) x*2\n%define b a(3)+1\n  db b\n%define lbl mylbl\nlbl: db 0\n  dw mylbl\n%macro BRACE 2\n  db %1\n  db %2\n%endmacro\n  BRACE {1, 2}, 3\n%macro LOCALS 0\n  jmp %%skip\n  db 0xcc\n%%skip:\n%endmacro\n  LOCALS\n  LOCALS\n  db `\\u00e9`\n",
    hex: '010203040607120302010301080903010209030102030a0000010207001c00010203eb01cceb01ccc3a9',
  },
  {
    name: "incbin (found through -I), with skip and length",
    src: "db 1\nincbin \"data.bin\"\nincbin \"data.bin\", 2\nincbin \"data.bin\", 1, 3\ndb 2\n",
    hex: '01414243444546474843444546474842434402',
  },
];

describe('assembler: directives, preprocessor, expressions', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(ours(c.src)).toBe(c.hex);
      if (HAVE_NASM) expect(nasm(c.src)).toBe(c.hex);
    });
  }
});

describe('assembler API', () => {
  it('returns a symbol map sorted by address, with local labels by full name', () => {
    const r = assemble('org 0x7c00\nstart: nop\n.loop: jmp .loop\nK equ 3\nsection .data\nmsg: db 1\nsection .text\nend:\n%macro M 0\n%%x: nop\n%endmacro\nM\n');
    expect(r.errors).toEqual([]);
    expect(r.symbols).toEqual([
      { name: 'start', address: 0x7c00 },
      { name: 'start.loop', address: 0x7c01 },
      { name: 'end', address: 0x7c03 },
      { name: 'msg', address: 0x7c04 },
    ]);
    expect(formatSymbolMap(r.symbols)).toBe('00007C00 start\n00007C01 start.loop\n00007C03 end\n00007C04 msg\n');
  });

  it('takes -D style defines and a custom readFile for %include', () => {
    const files: Record<string, string> = { 'virt/x.inc': 'db VALUE, 2\n' };
    const r = assemble('%include "x.inc"\n%ifdef FLAG\ndb 9\n%endif\n', {
      fileName: 'main.asm', includeDirs: ['virt'], defines: { VALUE: '7', FLAG: '' },
      readFile: (f) => files[f],
    });
    expect(r.errors).toEqual([]);
    expect([...r.bytes]).toEqual([7, 2, 9]);
  });

  it('does not emit .bss and pads sections to their alignment', () => {
    const r = assemble('db 1\nsection .data\ndb 2\nsection .bss\nresb 100\nsection .data\nalign 16\nx: db 3\nsection .text\ndd x\n');
    expect(r.errors).toEqual([]);
    // .text is 5 bytes; `align 16` in .data raises that section's alignment to 16.
    expect(Buffer.from(r.bytes).toString('hex')).toBe(`01${'20000000'}${'00'.repeat(11)}02${'90'.repeat(15)}03`);
  });

  it('converges when a jump grows and pushes another one out of range', () => {
    // The first jump is short only while the second is; both must end near.
    const src = 'a: jz b\ntimes 124 nop\nc: jz a\nb: nop\n';
    const r = assemble(src);
    expect(r.errors).toEqual([]);
    const hex = Buffer.from(r.bytes).toString('hex');
    if (HAVE_NASM) expect(nasm(src)).toBe(hex);
    expect(hex.slice(0, 4)).toBe('747e');
  });
});
