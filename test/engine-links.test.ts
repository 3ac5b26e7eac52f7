// Block links (execBlock follows a block's link to the block that came after it at an EIP)
// outlive the chain they were made in: they hold until CS's base, limit or size, CPL or the
// TLB changes. Each guest here runs the same block P (`jmp eax`, one RAM block) to the same
// EIP in two contexts where that EIP is other code, so a link P made in the first context
// and followed in the second runs the wrong code: after a far JMP or an IRET to a CS with
// another base, after an IRET to ring 3 where the target page is supervisor-only (a #PF is
// due), and after a state restore and a reset. Both engines, the jit compiling every block.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type Engine } from '../emulator/cpu/cpu';
import { CPU_NOT_SAVED, afterCpuLoad } from '../emulator/cpu/cpu-state';
import { loadFields, saveFields } from '../emulator/state-data';
import { assemble, formatError } from '../tools/asm/index';
import { enterFlatProtectedMode } from '../tools/fuzz-engines';
import { runToHalt } from './cpu-run';

const ENGINES: Engine[] = ['interp', 'jit'];
const GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, PD = 0x4000, PT = 0x5000;
/** main's code; P (`jmp eax`) at linear P_LIN: EIP P_LIN under CS 08h (base 0), EIP 200h
 *  under CS 18h (base 100000h); X: the EIP P jumps to (code at linear X and 100000h + X) */
const MAIN = 0x10000, P_LIN = 0x100200, X = 0x20000, BASE2 = 0x100000;

function asm(org: number, src: string): Uint8Array {
  const out = assemble(`bits 32\norg ${org}\n${src}`);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  return out.bytes;
}

function desc(mem: PhysicalMemory, sel: number, base: number, limit: number, access: number, flags: number): void {
  const at = GDT + (sel & ~7);
  mem.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  mem.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff));
}

/** A flat ring-0 CPU at MAIN with P at P_LIN and `x1` at linear X, `x2` at BASE2 + X; GDT:
 *  08h/10h flat ring 0, 18h code based at BASE2, 23h/2Bh flat ring 3, 30h a TSS (ring-0
 *  stack 9000h), 38h free for a test; #PF and #GP go to main's `pf` and `gp`. */
function guest(engine: Engine, main: string, x1: string, x2: string, paging = false): { cpu: Cpu; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(4 << 20);
  desc(mem, 0x08, 0, 0xfffff, 0x9a, 0xc);
  desc(mem, 0x10, 0, 0xfffff, 0x92, 0xc);
  desc(mem, 0x18, BASE2, 0xfffff - (BASE2 >>> 12), 0x9a, 0xc);
  desc(mem, 0x20, 0, 0xfffff, 0xfa, 0xc);
  desc(mem, 0x28, 0, 0xfffff, 0xf2, 0xc);
  desc(mem, 0x30, TSS, 0x67, 0x89, 0);
  mem.write32(TSS + 4, 0x9000);
  mem.write32(TSS + 8, 0x10);
  const m = asm(MAIN, main);
  mem.load(MAIN, m);
  mem.load(P_LIN, asm(P_LIN, 'jmp eax'));
  mem.load(X, asm(X, x1));
  mem.load(BASE2 + X, asm(BASE2 + X, x2));
  const cpu = new Cpu(mem, undefined, null, { engine, jitThreshold: 1 });
  enterFlatProtectedMode(cpu, GDT, 0x3f, IDT, 0x7ff);
  // #GP and #PF: interrupt gates to main's labels gp and pf (their addresses: its last dwords)
  for (const [v, at] of [[14, m.length - 8], [13, m.length - 4]]) {
    const h = mem.read32(MAIN + at);
    mem.write32(IDT + v * 8, (0x08 << 16) | (h & 0xffff));
    mem.write32(IDT + v * 8 + 4, (h & 0xffff0000) | 0x8e00);
  }
  cpu.eip = MAIN;
  cpu.regs[4] = 0x9000;
  if (paging) {
    // identity: everything user-accessible but X's page (supervisor-only)
    mem.write32(PD, PT | 7);
    for (let p = 0; p < 1024; p++) mem.write32(PT + p * 4, (p << 12) | (p === X >>> 12 ? 3 : 7));
    cpu.setCr3(PD);
    cpu.setCr0(0x80000001);
  }
  cpu.setFlags(2, 0xffff);
  return { cpu, mem };
}

const ECX = 1, EDX = 2, EBX = 3, ESI = 6, EDI = 7;

// main runs P to X under CS 08h (x1: ESI += 1), then, from x1, P under CS 18h: X there is x2
// (EDI += 1, halt). A link of P kept from the first context would run x1 again.
const X1_TO_CS18 = (how: string) => `add esi, 1\n${how}`;
const MAIN_P = `mov eax, ${X}\nmov ecx, ${P_LIN}\njmp ecx\npf: pop ebx\nhlt\ngp: pop ebx\npop edx\npop ecx\nhlt\ndd pf, gp`;

describe('engines: block links across chains', () => {
  for (const [name, how] of [
    ['a far JMP', `jmp 0x18:${P_LIN - BASE2}`],
    ['an IRET', `pushfd\npush dword 0x18\npush dword ${P_LIN - BASE2}\niretd`],
  ]) {
    it(`${name} to a CS with another base, to the same EIP: the code there runs`, () => {
      for (const engine of ENGINES) {
        const { cpu } = guest(engine, MAIN_P, X1_TO_CS18(how), 'add edi, 1\nhlt');
        runToHalt(cpu, 100_000);
        expect([engine, cpu.regs[ESI], cpu.regs[EDI], cpu.sel[1]]).toEqual([engine, 1, 1, 0x18]);
      }
    });
  }

  it('a CS load to a shorter limit: a linked block that runs beyond it is cut at the limit (#GP)', () => {
    // x2 (under CS 18h) far-jumps to P under CS 38h: the same base, a limit that ends right
    // after x2's first instruction (ADD EDI,1: 3 bytes). P jumps to X again: that ADD runs,
    // the fetch of the next instruction is a #GP(0) at EIP X + 3
    for (const engine of ENGINES) {
      const { cpu, mem } = guest(engine, MAIN_P, X1_TO_CS18(`jmp 0x18:${P_LIN - BASE2}`), 'add edi, 1\njmp 0x38:0x200');
      desc(mem, 0x38, BASE2, X + 2, 0x9a, 0x4);
      runToHalt(cpu, 100_000);
      expect([engine, cpu.regs[ESI], cpu.regs[EDI], cpu.regs[EBX], cpu.regs[EDX] >>> 0, cpu.regs[ECX]]).toEqual([engine, 1, 2, 0, X + 3, 0x38]);
    }
  });

  it('an IRET to ring 3 with the same CS base: the target page is supervisor-only, a #PF', () => {
    // ring 0: P to X (a supervisor page: x1 runs), then IRET to ring 3 (CS 23h, base 0 as
    // 08h's) at P, which jumps to X again: the fetch faults (error code 5: user, read,
    // present), CR2 = X
    const toRing3 = `add esi, 1\nmov cx, 0x30\nltr cx\npush dword 0x2b\npush dword 0x8000\npushfd\npush dword 0x23\npush dword ${P_LIN}\niretd`;
    for (const engine of ENGINES) {
      const { cpu } = guest(engine, `${MAIN_P}`, toRing3, 'hlt', true);
      runToHalt(cpu, 100_000);
      expect([engine, cpu.regs[ESI], cpu.regs[EBX], cpu.cr2 >>> 0, cpu.cpl]).toEqual([engine, 1, 5, X, 0]);
    }
  });

  it('a state restored, and a reset, in the middle: links made since are not followed', () => {
    for (const engine of ENGINES) {
      // run to the halt in CS 18h (P linked to x2), restore the start (CS 08h) and run again:
      // the same end (a link kept would run x2 in place of x1: ESI 0)
      const { cpu } = guest(engine, MAIN_P, X1_TO_CS18(`jmp 0x18:${P_LIN - BASE2}`), 'add edi, 1\nhlt');
      const start = saveFields(cpu, CPU_NOT_SAVED);
      runToHalt(cpu, 100_000);
      loadFields(cpu, start, CPU_NOT_SAVED);
      afterCpuLoad(cpu);
      runToHalt(cpu, 100_000);
      expect([engine, cpu.regs[ESI], cpu.regs[EDI]]).toEqual([engine, 1, 1]);
      // a reset, then the same entry as the first run's: P to x1, then x2 again
      cpu.reset();
      enterFlatProtectedMode(cpu, GDT, 0x3f, IDT, 0x7ff);
      cpu.eip = MAIN;
      cpu.regs[4] = 0x9000;
      runToHalt(cpu, 100_000);
      expect([engine, cpu.regs[ESI], cpu.regs[EDI]]).toEqual([engine, 1, 1]);
    }
  });
});
