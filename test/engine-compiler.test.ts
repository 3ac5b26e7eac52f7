// What the block compiler writes for a block (the engines' equivalence is the fuzz's and the
// other engine tests' business): the dead-flags pass drops only the lazy-flag stores no one
// can see, and the memory fast path is written out inline.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu } from '../emulator/cpu/cpu';
import { decode, Insn } from '../emulator/cpu/decoder';
import { blockKey, blockSource } from '../emulator/cpu/jit/compiler';
import { assemble, formatError } from '../tools/asm/index';

new Cpu(new PhysicalMemory(1 << 20)); // builds the decoder's tables

/** The block of 32-bit code `src`, decoded. */
function block(src: string): Insn[] {
  const out = assemble(`bits 32\n${src}`);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  const bytes = out.bytes;
  const insns: Insn[] = [];
  for (let at = 0; at < bytes.length; ) {
    const i = decode({ codeByte: (o) => bytes[at + o] }, 32, new Insn());
    insns.push(i);
    at += i.length;
  }
  return insns;
}

/** The number of ALU results whose flags the source stores (one c.lzA store each). */
function flagStores(src: string): number {
  return src.split('c.lzA = a;').length - 1;
}

describe('block compiler', () => {
  it('drops the flags of an ALU result that the next ALU instruction overwrites unread', () => {
    const insns = block('add eax, ebx\nsub ecx, edx\nxor esi, edi\njnz $');
    const { source } = blockSource(insns, insns.length);
    // only the XOR's flags reach the JNZ
    expect(flagStores(source)).toBe(1);
    expect(source).toContain('r[0] = (a + b) | 0;');
  });

  it('keeps the flags a memory access (it may fault), ADC, INC or the block exit can see', () => {
    for (const [code, stores] of [
      ['add eax, ebx\nmov ecx, [esi]\nsub eax, ecx\njmp $', 2],
      ['add eax, ebx\nadc ecx, edx\nnop\njmp $', 2],
      ['add eax, ebx\ninc ecx\nsub eax, ecx\njmp $', 2],
      ['add eax, ebx\nmov ecx, edx\nlea esi, [edi+4]\njmp $', 1],
    ] as const) {
      const insns = block(code);
      expect(flagStores(blockSource(insns, insns.length).source), code).toBe(stores);
    }
  });

  it('drops a TEST or CMP whose flags are overwritten, but not an ADD whose lzA/lzB a TEST leaves', () => {
    const dropped = block('cmp eax, ebx\ntest ecx, ecx\nadd eax, 1\njmp $');
    const src = blockSource(dropped, dropped.length).source;
    expect(src.split('c.lzOp =').length - 1).toBe(1);
    const kept = block('add eax, ebx\ntest ecx, ecx\njmp $');
    expect(flagStores(blockSource(kept, kept.length).source)).toBe(1);
  });

  it('reads and writes dwords and bytes through the inline TLB fast path', () => {
    const insns = block('mov eax, [esi+8]\nmov [edi], al\nadd dword [ebx], 3\njmp $');
    const { source } = blockSource(insns, insns.length);
    expect(source).toContain('i32[p >>> 2]');
    expect(source).toContain('u8[p] = r8[0]');
    expect(source).toContain('c.rd32(3, o)');
  });

  it('keys a block by the fields of its instructions: another immediate is another key', () => {
    const a = block('add eax, 1\njmp $'), b = block('add eax, 2\njmp $'), c = block('add eax, 1\njmp $');
    expect(blockKey(a, 2)).not.toBe(blockKey(b, 2));
    expect(blockKey(a, 2)).toBe(blockKey(c, 2));
  });
});
