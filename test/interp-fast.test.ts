// The interpreter's fast forms (emulator/cpu/cpu.ts), which execBlock runs inline,
// against the same instructions run through their table handlers (a memory hook sends the
// interpreter there): the same registers, flags, memory and instruction count, from random
// states, and the same state after a fault (a fast form that faults leaves ESP as it was at
// its start, without execBlock recording it).

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, Fast, fastOf } from '../emulator/cpu/cpu';
import { decode, Insn, type CodeSource } from '../emulator/cpu/decoder';

const CODE = 0x7c00;
const HANDLER = 0x0500;
const DATA = 0x8000;

/** One instruction (16-bit code; 66h/67h prefixes for the 32-bit forms) and its fast form
 *  (`through`: as a direct JMP/CALL the block goes on through). */
interface Case { name: string; bytes: number[]; fast: Fast; through?: boolean }

const imm32 = [0x78, 0x56, 0x34, 0x92];
const CASES: Case[] = [
  { name: 'mov eax,ecx', bytes: [0x66, 0x8b, 0xc1], fast: Fast.MovRR32 },
  { name: 'mov eax,ecx (89)', bytes: [0x66, 0x89, 0xc8], fast: Fast.MovRmR32 },
  { name: 'mov ax,cx', bytes: [0x8b, 0xc1], fast: Fast.MovRR16 },
  { name: 'mov ax,cx (89)', bytes: [0x89, 0xc8], fast: Fast.MovRmR16 },
  { name: 'mov eax,[bx+4]', bytes: [0x66, 0x8b, 0x47, 0x04], fast: Fast.Load32 },
  { name: 'mov ax,[bx+4]', bytes: [0x8b, 0x47, 0x04], fast: Fast.Load16 },
  { name: 'mov ah,[bx+4]', bytes: [0x8a, 0x67, 0x04], fast: Fast.Load8 },
  { name: 'mov [bx+4],eax', bytes: [0x66, 0x89, 0x47, 0x04], fast: Fast.Store32 },
  { name: 'mov [bx+4],ax', bytes: [0x89, 0x47, 0x04], fast: Fast.Store16 },
  { name: 'mov [bx+4],ah', bytes: [0x88, 0x67, 0x04], fast: Fast.Store8 },
  { name: 'mov ecx,imm32', bytes: [0x66, 0xb9, ...imm32], fast: Fast.MovRImm32 },
  { name: 'mov dword [bx+4],imm32', bytes: [0x66, 0xc7, 0x47, 0x04, ...imm32], fast: Fast.StoreImm32 },
  { name: 'mov word [bx+4],imm16', bytes: [0xc7, 0x47, 0x04, 0x34, 0x92], fast: Fast.StoreImm16 },
  { name: 'mov byte [bx+4],imm8', bytes: [0xc6, 0x47, 0x04, 0xab], fast: Fast.StoreImm8 },
  { name: 'lea eax,[ebx+ecx*2]', bytes: [0x66, 0x67, 0x8d, 0x04, 0x4b], fast: Fast.Lea32 },
  { name: 'movzx eax,ah', bytes: [0x66, 0x0f, 0xb6, 0xc4], fast: Fast.MovzxR8 },
  { name: 'movzx eax,byte [bx+4]', bytes: [0x66, 0x0f, 0xb6, 0x47, 0x04], fast: Fast.MovzxM8 },
  { name: 'movzx eax,cx', bytes: [0x66, 0x0f, 0xb7, 0xc1], fast: Fast.MovzxR16 },
  { name: 'movzx eax,word [bx+4]', bytes: [0x66, 0x0f, 0xb7, 0x47, 0x04], fast: Fast.MovzxM16 },
  ...([[0x01, Fast.AddRmR32], [0x09, Fast.OrRmR32], [0x21, Fast.AndRmR32], [0x29, Fast.SubRmR32], [0x31, Fast.XorRmR32], [0x39, Fast.CmpRmR32]] as const)
    .map(([op, fast]) => ({ name: `alu ${op.toString(16)} eax,ecx`, bytes: [0x66, op, 0xc8], fast })),
  ...([[0x03, Fast.AddRRm32], [0x0b, Fast.OrRRm32], [0x23, Fast.AndRRm32], [0x2b, Fast.SubRRm32], [0x33, Fast.XorRRm32], [0x3b, Fast.CmpRRm32]] as const)
    .map(([op, fast]) => ({ name: `alu ${op.toString(16)} eax,ecx`, bytes: [0x66, op, 0xc1], fast })),
  ...([[0x01, Fast.AddRmR16], [0x29, Fast.SubRmR16], [0x31, Fast.XorRmR16], [0x39, Fast.CmpRmR16]] as const)
    .map(([op, fast]) => ({ name: `alu ${op.toString(16)} ax,cx`, bytes: [op, 0xc8], fast })),
  ...([[0, Fast.AddRI32], [1, Fast.OrRI32], [4, Fast.AndRI32], [5, Fast.SubRI32], [6, Fast.XorRI32], [7, Fast.CmpRI32]] as const)
    .flatMap(([op, fast]) => [
      { name: `alu /${op} ecx,imm32`, bytes: [0x66, 0x81, 0xc1 | (op << 3), ...imm32], fast },
      { name: `alu /${op} ecx,simm8`, bytes: [0x66, 0x83, 0xc1 | (op << 3), 0xf0], fast },
    ]),
  // the accumulator forms (no ModRM) run as the register forms on EAX
  ...([[0x05, Fast.AddRI32], [0x0d, Fast.OrRI32], [0x25, Fast.AndRI32], [0x2d, Fast.SubRI32], [0x35, Fast.XorRI32], [0x3d, Fast.CmpRI32]] as const)
    .map(([op, fast]) => ({ name: `alu ${op.toString(16)} eax,imm32`, bytes: [0x66, op, ...imm32], fast })),
  { name: 'test eax,imm32 (a9)', bytes: [0x66, 0xa9, ...imm32], fast: Fast.TestRI32 },
  { name: 'add dword [bx+4],imm32', bytes: [0x66, 0x81, 0x47, 0x04, ...imm32], fast: Fast.AddMI32 },
  { name: 'sub dword [bx+4],simm8', bytes: [0x66, 0x83, 0x6f, 0x04, 0x83], fast: Fast.SubMI32 },
  { name: 'cmp dword [bx+4],simm8', bytes: [0x66, 0x83, 0x7f, 0x04, 0x05], fast: Fast.CmpMI32 },
  { name: 'cmp [bx+4],ecx', bytes: [0x66, 0x39, 0x4f, 0x04], fast: Fast.CmpMR32 },
  { name: 'cmp ecx,[bx+4]', bytes: [0x66, 0x3b, 0x4f, 0x04], fast: Fast.CmpRM32 },
  { name: 'test eax,ecx', bytes: [0x66, 0x85, 0xc8], fast: Fast.TestRR32 },
  { name: 'test ecx,imm32', bytes: [0x66, 0xf7, 0xc1, ...imm32], fast: Fast.TestRI32 },
  { name: 'test [bx+4],ecx', bytes: [0x66, 0x85, 0x4f, 0x04], fast: Fast.TestMR32 },
  { name: 'inc eax', bytes: [0x66, 0x40], fast: Fast.IncR32 },
  { name: 'dec ecx', bytes: [0x66, 0x49], fast: Fast.DecR32 },
  { name: 'inc dword [bx+4]', bytes: [0x66, 0xff, 0x47, 0x04], fast: Fast.IncM32 },
  { name: 'dec dword [bx+4]', bytes: [0x66, 0xff, 0x4f, 0x04], fast: Fast.DecM32 },
  { name: 'inc word [bx+4]', bytes: [0xff, 0x47, 0x04], fast: Fast.IncM16 },
  { name: 'shl eax,1', bytes: [0x66, 0xd1, 0xe0], fast: Fast.Shl1R32 },
  { name: 'shl eax,5', bytes: [0x66, 0xc1, 0xe0, 0x05], fast: Fast.ShlR32 },
  { name: 'shr eax,5', bytes: [0x66, 0xc1, 0xe8, 0x05], fast: Fast.ShrR32 },
  { name: 'shl eax,0 (flags unchanged)', bytes: [0x66, 0xc1, 0xe0, 0x00], fast: Fast.ShlR32 },
  { name: 'shr eax,1 (imm8: OF)', bytes: [0x66, 0xc1, 0xe8, 0x01], fast: Fast.ShrR32 },
  { name: 'sar eax,32 (count 0)', bytes: [0x66, 0xc1, 0xf8, 0x20], fast: Fast.SarR32 },
  { name: 'sar eax,31', bytes: [0x66, 0xc1, 0xf8, 0x1f], fast: Fast.SarR32 },
  { name: 'shl ax,1', bytes: [0xd1, 0xe0], fast: Fast.Shl1R16 },
  { name: 'push eax', bytes: [0x66, 0x50], fast: Fast.PushR32 },
  { name: 'pop eax', bytes: [0x66, 0x58], fast: Fast.PopR32 },
  { name: 'push ax', bytes: [0x50], fast: Fast.PushR16 },
  { name: 'pop ax', bytes: [0x58], fast: Fast.PopR16 },
  // branches over one HLT to the next
  { name: 'jz rel32 (66h)', bytes: [0x66, 0x0f, 0x84, 0x01, 0, 0, 0, 0xf4], fast: Fast.JzNz32 },
  { name: 'jnz rel32 (66h)', bytes: [0x66, 0x0f, 0x85, 0x01, 0, 0, 0, 0xf4], fast: Fast.JzNz32 },
  { name: 'jg rel32 (66h)', bytes: [0x66, 0x0f, 0x8f, 0x01, 0, 0, 0, 0xf4], fast: Fast.Jcc32 },
  { name: 'jc rel8', bytes: [0x72, 0x01, 0xf4], fast: Fast.Jcc16 },
  { name: 'jle rel8', bytes: [0x7e, 0x01, 0xf4], fast: Fast.Jcc16 },
  { name: 'jmp rel8', bytes: [0xeb, 0x01, 0xf4], fast: Fast.JmpOn, through: true },
  { name: 'call rel16', bytes: [0xe8, 0x01, 0x00, 0xf4], fast: Fast.CallOn16, through: true },
  { name: 'call rel32 (66h)', bytes: [0x66, 0xe8, 0x01, 0, 0, 0, 0xf4], fast: Fast.CallOn32, through: true },
  // to another page (not gone on through)
  { name: 'call rel32 (66h), far', bytes: [0x66, 0xe8, 0x00, 0x20, 0, 0], fast: Fast.Call32 },
  { name: 'ret (66h)', bytes: [0x66, 0xc3], fast: Fast.Ret32 },
  { name: 'ret', bytes: [0xc3], fast: Fast.Ret16 },
  { name: 'loop rel8', bytes: [0xe2, 0x01, 0xf4], fast: Fast.Loop16 },
  { name: 'loop rel8 (67h: ECX)', bytes: [0x67, 0xe2, 0x01, 0xf4], fast: Fast.Loop32 },
];

function insnOf(bytes: number[]): Insn {
  const src: CodeSource = { codeByte: (o) => bytes[o] ?? 0 };
  return decode(src, 16, new Insn());
}

/** A seeded 32-bit generator (xorshift). */
function rng(seed: number): () => number {
  let s = seed | 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** A real-mode CPU at 0000:7C00 with the instruction, then HLT; every exception vector
 *  leads to a HLT at 0000:0500. `hooked`: a memory hook sends data accesses (and so the
 *  interpreter) through the slow path and the table handlers. */
function machine(bytes: number[], seed: number, hooked: boolean, set?: (cpu: Cpu) => void): { cpu: Cpu; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(1 << 20);
  const cpu = new Cpu(mem, undefined, null, { engine: 'interp' });
  for (let v = 0; v < 32; v++) mem.write32(v * 4, HANDLER);
  mem.write8(HANDLER, 0xf4);
  const r = rng(seed);
  for (let a = DATA; a < DATA + 0x100; a += 4) mem.write32(a, r());
  mem.load(CODE, new Uint8Array([...bytes, 0xf4, 0xf4]));
  // the far call's target
  mem.write8(CODE + 0x2006, 0xf4);
  cpu.setRealMode(0, CODE);
  for (let k = 0; k < 8; k++) cpu.regs[k] = r();
  cpu.regs[3] = (cpu.regs[3] & ~0xffff) | (DATA + (r() & 0x7c)); // BX: into the data
  cpu.regs[4] = (cpu.regs[4] & ~0xffff) | (DATA - 0x100 + (r() & 0x3c)); // SP: below it
  cpu.setFlags(r(), 0x8d5); // OF SF ZF AF PF CF
  // a return address on the stack that stays in the segment
  mem.write32(cpu.regs[4] & 0xffff, CODE + bytes.length);
  set?.(cpu);
  if (hooked) cpu.setHooks({ memoryAccess: () => {} });
  return { cpu, mem };
}

function runBoth(bytes: number[], seed: number, set?: (cpu: Cpu) => void): { fast: Cpu; table: Cpu } {
  const a = machine(bytes, seed, false, set);
  const b = machine(bytes, seed, true, set);
  expect(a.cpu.run(20)).toBe('halted');
  expect(b.cpu.run(20)).toBe('halted');
  expect(a.cpu.state()).toEqual(b.cpu.state());
  expect(a.cpu.lastException).toBe(b.cpu.lastException);
  expect(Buffer.compare(a.mem.u8.subarray(0, DATA + 0x1000), b.mem.u8.subarray(0, DATA + 0x1000))).toBe(0);
  return { fast: a.cpu, table: b.cpu };
}

describe('interpreter fast forms', () => {
  it('every fast form is covered here, and each case decodes to the fast form it names', () => {
    const seen = new Set<number>();
    for (const c of CASES) {
      expect(fastOf(insnOf(c.bytes), c.through ?? false), c.name).toBe(c.fast);
      seen.add(c.fast);
    }
    const all = Object.values(Fast).filter((v): v is number => typeof v === 'number' && v !== Fast.None);
    expect([...seen].sort((x, y) => x - y)).toEqual(all.sort((x, y) => x - y));
  });

  it('forms that are not fast: LOCK, adc, 16-bit pushes of memory', () => {
    expect(fastOf(insnOf([0xf0, 0x66, 0x01, 0x47, 0x04]), false)).toBe(Fast.None); // lock add [bx+4],eax
    expect(fastOf(insnOf([0x66, 0x11, 0xc8]), false)).toBe(Fast.None); // adc eax,ecx
    expect(fastOf(insnOf([0x66, 0x15, ...imm32]), false)).toBe(Fast.None); // adc eax,imm32
    expect(fastOf(insnOf([0x3d, 0x34, 0x12]), false)).toBe(Fast.None); // cmp ax,imm16
    expect(fastOf(insnOf([0xff, 0x77, 0x04]), false)).toBe(Fast.None); // push word [bx+4]
    expect(fastOf(insnOf([0xeb, 0x01]), false)).toBe(Fast.None); // jmp rel8 that ends a block
  });

  for (const c of CASES) {
    it(`${c.name}: inline and through its handler, the same state from 8 random ones`, () => {
      for (let seed = 1; seed <= 8; seed++) runBoth(c.bytes, seed * 7919);
    });
  }

  describe('a fault leaves ESP as at the instruction start', () => {
    // the #GP/#SS frame (FLAGS, CS, IP) is pushed at the restored SP
    const frameAt = (cpu: Cpu) => cpu.regs[4] & 0xffff;
    it('ret (66h) to an offset beyond the CS limit: #GP after the pop', () => {
      const { fast } = runBoth([0x66, 0xc3], 5, (cpu) => {
        cpu.regs[4] = 0x7e00;
        cpu.mem.write32(0x7e00, 0x12345);
      });
      expect(fast.lastException).toBe(13);
      expect(frameAt(fast)).toBe(0x7e00 - 6);
      expect(fast.mem.read16(0x7e00 - 6)).toBe(CODE);
    });
    it('call rel32 (66h) to beyond the CS limit: #GP after the push', () => {
      const { fast } = runBoth([0x66, 0xe8, 0x00, 0x00, 0x01, 0x00], 6, (cpu) => {
        cpu.regs[4] = 0x7e00;
      });
      expect(fast.lastException).toBe(13);
      expect(frameAt(fast)).toBe(0x7e00 - 6);
    });
    it('push eax across the top of the stack segment: #SS', () => {
      const { fast } = runBoth([0x66, 0x50], 7, (cpu) => {
        cpu.regs[4] = 2;
      });
      expect(fast.lastException).toBe(12);
    });
    it('pop eax at the top of the stack segment: #SS', () => {
      const { fast } = runBoth([0x66, 0x58], 8, (cpu) => {
        cpu.regs[4] = 0xfffe;
      });
      expect(fast.lastException).toBe(12);
    });
    it('mov eax,[bx+4] across the segment limit: #GP', () => {
      const { fast } = runBoth([0x66, 0x8b, 0x47, 0x04], 9, (cpu) => {
        cpu.regs[3] = 0xfffa;
      });
      expect(fast.lastException).toBe(13);
    });
  });
});
