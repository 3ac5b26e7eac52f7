// What the block compiler writes for a block (the engines' equivalence is the fuzz's and the
// other engine tests' business): the dead-flags pass drops only the lazy-flag stores no one
// can see, and the memory fast path is written out inline. And a block that goes on through
// a direct CALL/JMP: its instructions numbered from the target on, a fault after the CALL and
// an IP wrap at the JMP leaving the state the interpreter leaves.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type Engine } from '../emulator/cpu/cpu';
import { decode, Insn } from '../emulator/cpu/decoder';
import { blockKey, blockSource } from '../emulator/cpu/jit/compiler';
import { assemble, formatError } from '../tools/asm/index';
import { enterFlatProtectedMode } from '../tools/fuzz-engines';
import { runToHalt } from './cpu-run';

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

/** The instructions at the given byte offsets of the 32-bit code `src` (a block that goes on
 *  through a jump, as Cpu.buildBlock decodes it). */
function at(src: string, offsets: number[]): Insn[] {
  const out = assemble(`bits 32\n${src}`);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  return offsets.map((o) => decode({ codeByte: (k) => out.bytes[o + k] }, 32, new Insn()));
}

/** A CPU running `code` (at 0x10000, its first block compiled on its first run on the jit),
 *  prepared by `setup`, to its HLT; its state. */
function runOn(engine: Engine, code: Uint8Array, setup: (cpu: Cpu, mem: PhysicalMemory) => void): Cpu {
  const mem = new PhysicalMemory(16 << 20);
  mem.load(0x10000, code);
  const cpu = new Cpu(mem, undefined, null, { engine, jitThreshold: 1 });
  setup(cpu, mem);
  runToHalt(cpu, 100_000);
  return cpu;
}
function snapshot(cpu: Cpu): object {
  return { ...cpu.state(), flags: cpu.getFlags(), icount: cpu.icount, cr2: cpu.cr2 };
}

/** The number of ALU results whose flags the source keeps (in the flag locals: one store of
 *  the lazy-flag kind fo with the operands each). */
function flagStores(src: string): number {
  return src.split('; fa = a; fb = b; fx = x;').length - 1;
}

/** The test of CF on the lazy flags in the function's locals (not a known flag writer's). */
const CF_OF_LOCALS = '(fl & 1) === 0 ? fv & 1';

describe('block compiler', () => {
  it('drops the flags of an ALU result that the next ALU instruction overwrites unread', () => {
    const insns = block('add eax, ebx\nsub ecx, edx\nxor esi, edi\njnz $');
    const { source } = blockSource(insns, insns.length);
    // only the XOR's flags reach the JNZ
    expect(flagStores(source)).toBe(1);
    // (its result and operands still in fx/fa/fb: an INC/DEC may take CF from them)
    expect(source).toContain('const x = (a + b) | 0; fx = x; fa = a; fb = b; r0 = x;');
  });

  it('keeps the flags a memory access (it may fault), ADC or the block exit can see', () => {
    for (const [code, stores] of [
      ['add eax, ebx\nmov ecx, [esi]\nsub eax, ecx\njmp $', 2],
      ['add eax, ebx\nadc ecx, edx\nnop\njmp $', 2],
      // the INC takes the CF it keeps from the ADD's result and operand, not the lazy flags
      ['add eax, ebx\ninc ecx\nsub eax, ecx\njmp $', 1],
      ['add eax, ebx\nmov ecx, edx\nlea esi, [edi+4]\njmp $', 1],
    ] as const) {
      const insns = block(code);
      expect(flagStores(blockSource(insns, insns.length).source), code).toBe(stores);
    }
  });

  it('tests a Jcc and the CF an INC/DEC keeps on the result and operands of the block\'s flag writer', () => {
    const insns = block('cmp eax, ebx\ndec ecx\njnz $\n');
    const { source } = blockSource(insns, insns.length);
    expect(source).toContain('fv = (fv & -2) | (((fa >>> 0) < (fb >>> 0)) ? 1 : 0);');
    expect(source).toContain('if (!(fx === 0))');
    expect(source).not.toContain('c.cond(');
    expect(source).not.toContain(CF_OF_LOCALS);
    // SBB's flags are not known as a result and operands: the CF a DEC keeps and a JB are
    // those of the lazy flags (in locals, for the DEC; the Cpu's, stored first, for the JB)
    const dec = block('sbb eax, ebx\ndec ecx\njnz $\n');
    expect(blockSource(dec, dec.length).source).toContain(CF_OF_LOCALS);
    const jb = block('sbb eax, ebx\njb $\n');
    expect(blockSource(jb, jb.length).source).toContain('c.cond(2)');
  });

  it('drops a TEST or CMP whose flags are overwritten, but not an ADD whose lzA/lzB a TEST leaves', () => {
    const dropped = block('cmp eax, ebx\ntest ecx, ecx\nadd eax, 1\njmp $');
    const src = blockSource(dropped, dropped.length).source;
    expect(src.match(/\bfo = \d/g)).toHaveLength(1);
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

describe('block compiler: blocks that go on through a direct CALL or JMP', () => {
  it('numbers the instructions after a continued CALL from its target', () => {
    // mov ebx,1 (5 bytes) / call f (5) / hlt (1) / f: add ebx,2 (3) / mov eax,[...] (5)
    const insns = at('mov ebx, 1\ncall f\nhlt\nf: add ebx, 2\nmov eax, [0x900000]\nhlt', [0, 5, 11, 14, 19]);
    expect(Array.from(blockSource(insns, 5).offsets)).toEqual([0, 5, 11, 14, 19]);
  });

  // flat 32-bit ring 0 with paging (the first 8 MB mapped), #PF handled by a HLT
  const GDT = 0x1000, PD = 0x2000, PT = 0x3000;
  const code = (() => {
    const out = assemble(`bits 32
org 0x10000
      mov ebx, 1
      call f
      hlt
f:    add ebx, 2
      push ebx
      mov eax, [0x900000]
      hlt
pf:   hlt`);
    if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
    return out.bytes;
  })();
  const flatPaged = (cpu: Cpu, mem: PhysicalMemory): void => {
    mem.write32(GDT + 8, 0x0000ffff);
    mem.write32(GDT + 12, 0x00cf9a00);
    mem.write32(GDT + 16, 0x0000ffff);
    mem.write32(GDT + 20, 0x00cf9200);
    const pf = 0x10000 + code.length - 1;
    mem.write32(14 * 8, (0x08 << 16) | (pf & 0xffff));
    mem.write32(14 * 8 + 4, (pf & 0xffff0000) | 0x8e00);
    mem.write32(PD, PT | 3);
    mem.write32(PD + 4, (PT + 0x1000) | 3);
    for (let p = 0; p < 2048; p++) mem.write32(PT + p * 4, (p << 12) | 3);
    enterFlatProtectedMode(cpu, GDT, 0x17);
    cpu.setCr3(PD);
    cpu.setCr0(0x80000001);
    cpu.eip = 0x10000;
    cpu.regs[4] = 0x9000;
    cpu.setFlags(2, 0xffff);
  };

  it('a fault after a continued CALL: EIP, ESP, CR2 and icount as the interpreter', () => {
    const [interp, jit] = (['interp', 'jit'] as Engine[]).map((e) => runOn(e, code, flatPaged));
    // the whole block (mov, call, add, push, mov) was compiled and faulted at its 5th instruction
    expect(jit.codeCache.added).toBeGreaterThan(0);
    expect(interp.codeCache.added).toBe(0);
    for (const cpu of [interp, jit]) {
      const esp = cpu.regs[4] >>> 0;
      // the return address, EBX, then the #PF frame: error code, EIP of the faulting MOV
      expect(esp).toBe(0x9000 - 8 - 16);
      expect(cpu.mem.read32(esp + 4)).toBe(0x10000 + 5 + 5 + 1 + 3 + 1);
      expect(cpu.mem.read32(0x9000 - 4)).toBe(0x10000 + 10);
      expect(cpu.mem.read32(0x9000 - 8)).toBe(3);
      expect(cpu.cr2 >>> 0).toBe(0x900000);
      // mov, call, add, push; the faulting mov counts as executed (Cpu.onFault); the HLT
      expect(cpu.icount).toBe(4 + 1 + 1);
    }
    expect(snapshot(jit)).toEqual(snapshot(interp));
  });

  it('word accesses and a 16-bit stack inline: SP wraps below 0, an odd word, a word past the limit (#GP)', () => {
    // real mode at 1000:0000, DS = SS = 2000h, SP = 2: each CALL pushes at 0 and the PUSH
    // below it at FFFEh (SP wraps); SI steps by 3 from FFF0h: words at even and odd offsets,
    // INC WORD [SI + 2] at FFFEh in the 5th iteration, and the 6th's [SI] at FFFFh is past
    // the limit (#GP: vector 13, whose handler halts)
    const out = assemble(`bits 16
org 0
      mov ax, 0x2000
      mov ds, ax
      mov ss, ax
      mov sp, 2
      mov si, 0xfff0
      mov cx, 8
lp:   call fn
      mov [si], bx
      inc word [si + 2]
      add dx, [si]
      add si, 3
      loop lp
      hlt
fn:   push cx
      pop bx
      add bx, [si + 2]
      ret
gp:   hlt`);
    if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
    const gp = out.bytes.length - 1;
    const states = (['interp', 'jit'] as Engine[]).map((e) => {
      const cpu = runOn(e, out.bytes, (c, mem) => {
        mem.write32(13 * 4, (0x1000 << 16) | gp);
        c.setRealMode(0x1000, 0);
      });
      expect(cpu.eip, e).toBe(gp + 1);
      // the #GP frame (FLAGS, CS, IP of the MOV [SI], BX) pushed from SP 2: SP wraps to FFFCh
      expect(cpu.regs[4] & 0xffff, e).toBe(0xfffc);
      expect(cpu.mem.read16(0x2fffc), e).toBe(19);
      expect(cpu.mem.read16(0x2fffe), e).toBe(0x1000);
      expect(cpu.regs[6] & 0xffff, e).toBe(0xffff);
      expect(cpu.regs[1] & 0xffff, e).toBe(3);
      if (e === 'jit') expect(cpu.codeCache.added).toBeGreaterThan(0);
      return snapshot(cpu);
    });
    expect(states[1]).toEqual(states[0]);
  });

  it('16-bit SHL/SHR/SAR by a constant inline: results and flags as the interpreter (of a register and of memory)', () => {
    // each shift's flags are pushed (PUSHF) before the next one overwrites them
    const shifts = ['shl', 'shr', 'sar'].flatMap((m) => [1, 4, 15, 16].flatMap((n) => [
      `mov ax, 0x8421 \n ${m} ax, ${n} \n pushf \n push ax`,
      `mov word [0x100], 0xc003 \n ${m} word [0x100], ${n} \n pushf \n push word [0x100]`,
    ]));
    const out = assemble(`bits 16\norg 0\n${shifts.join('\n')}\nhlt`);
    if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
    const states = (['interp', 'jit'] as Engine[]).map((e) => {
      const cpu = runOn(e, out.bytes, (c) => {
        c.setRealMode(0x1000, 0);
        c.regs[4] = 0x8000;
      });
      const stack = Array.from({ length: shifts.length * 2 }, (_, k) => cpu.mem.read16(0x8000 - 2 - 2 * k));
      if (e === 'jit') expect(cpu.codeCache.added).toBeGreaterThan(0);
      return { stack, state: snapshot(cpu) };
    });
    // SHL AX, 1: 8421h -> 0842h, CF and OF set (the new bit 15 and CF differ)
    expect(states[0].stack[1]).toBe(0x0842);
    expect(states[0].stack[0] & 0x801).toBe(0x801);
    expect(states[1]).toEqual(states[0]);
  });

  it('a continued JMP whose target wraps IP when the block runs at another EIP ends the block there', () => {
    // real mode; at 1000:0010 (linear 10010h): inc ax / jmp back (to 1000:0000) ... the same
    // bytes reached again as 1001:0000, where the JMP's target wraps to FFF0h (linear 20000h)
    const out = assemble(`bits 16
org 0
back: inc bx
      jmp 0x1001:0x0000
      times 0x10 - ($ - $$) db 0x90
start: inc ax
      jmp back`);
    if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
    const states = (['interp', 'jit'] as Engine[]).map((e) => {
      const cpu = runOn(e, out.bytes, (c, mem) => {
        mem.load(0x20000, Uint8Array.from([0x41, 0xf4])); // inc cx / hlt
        c.setRealMode(0x1000, 0x10);
        c.regs[4] = 0x8000;
      });
      // inc ax, jmp, inc bx, jmp far; inc ax, jmp (wraps); inc cx, hlt
      expect(cpu.regs[0] & 0xffff, e).toBe(2);
      expect(cpu.regs[3] & 0xffff, e).toBe(1);
      expect(cpu.regs[1] & 0xffff, e).toBe(1);
      expect(cpu.icount, e).toBe(8);
      if (e === 'jit') expect(cpu.codeCache.added).toBeGreaterThan(0);
      return snapshot(cpu);
    });
    expect(states[1]).toEqual(states[0]);
  });
});
