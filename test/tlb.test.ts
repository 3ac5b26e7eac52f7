// What a guest sees of the TLB across loads of the same CR3 (Linux's invalidate(), a task
// switch to a TSS with the same CR3): a table entry changed by anyone (the CPU: a plain
// store, a byte store, a read-modify-write, REP STOS, a store through another linear mapping
// of the table; a DMA transfer; the debugger; a loader) leaves the old mapping in use until
// CR3 is loaded, as on the i386, and the new one after; Accessed and Dirty bits the guest
// clears are set again by the next access. Each program runs on both engines (the jit
// compiling every block on its first run). These guard any attempt to keep the TLB across
// such loads (loading the same CR3 flushes it today).

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type Engine } from '../emulator/cpu/cpu';
import { IoBus } from '../emulator/devices/io-bus';
import { DmaController } from '../emulator/devices/dma';
import { CpuDebugTarget } from '../emulator/debug/cpu-target';
import { writeLinear } from '../emulator/debug/target';
import { assemble, formatError } from '../tools/asm/index';
import { enterFlatProtectedMode } from '../tools/fuzz-engines';
import { runToHalt } from './cpu-run';

const ENGINES: Engine[] = ['interp', 'jit'];
const ORG = 0x10000, GDT = 0x1000, PD = 0x2000, PT = 0x3000, PD2 = 0x5000, TSS_A = 0x6000, TSS_B = 0x6100;
/** The page table entry of linear 0x203000, which maps to 0x203000 (holds 0x1111); 0x206000
 *  holds 0x2222, 0x207000 0x3333. Linear 0x300000 is another mapping of the table's page. */
const PTE = PT + 0x203 * 4;

function asm(src: string): Uint8Array {
  return asmWithSymbols(src).bytes;
}
function asmWithSymbols(src: string) {
  const out = assemble(`bits 32\norg ${ORG}\n${src}`);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  return out;
}

/** A flat ring-0 CPU with paging (8 MB identity-mapped, A/D clear), interrupts off; two TSS
 *  descriptors (18h: TSS_A, 20h: TSS_B, which starts at `taskB`; both with CR3 = PD). */
function pagedCpu(engine: Engine, code: Uint8Array, o: { io?: IoBus; mem?: PhysicalMemory; taskB?: number } = {}) {
  const mem = o.mem ?? new PhysicalMemory(16 << 20);
  mem.write32(GDT + 8, 0x0000ffff);
  mem.write32(GDT + 12, 0x00cf9a00);
  mem.write32(GDT + 16, 0x0000ffff);
  mem.write32(GDT + 20, 0x00cf9200);
  for (const [sel, base] of [[0x18, TSS_A], [0x20, TSS_B]]) {
    mem.write32(GDT + sel, (base << 16) | 0x67);
    mem.write32(GDT + sel + 4, 0x8900);
  }
  if (o.taskB !== undefined) {
    mem.write32(TSS_A + 0x1c, PD); // (a task switch does not save CR3)
    mem.write32(TSS_B + 0x1c, PD);
    mem.write32(TSS_B + 0x20, o.taskB);
    mem.write32(TSS_B + 0x24, 2);
    mem.write32(TSS_B + 0x38, 0x7000);
    for (const off of [0x48, 0x50, 0x54, 0x58, 0x5c]) mem.write16(TSS_B + off, 0x10);
    mem.write16(TSS_B + 0x4c, 0x08);
  }
  mem.load(ORG, code);
  mem.write32(0x203000, 0x1111);
  mem.write32(0x206000, 0x2222);
  mem.write32(0x207000, 0x3333);
  const cpu = new Cpu(mem, o.io, null, { engine, jitThreshold: 1 });
  enterFlatProtectedMode(cpu, GDT, 0x27);
  cpu.eip = ORG;
  cpu.regs[4] = 0x9000;
  mem.write32(PD, PT | 3);
  mem.write32(PD + 4, (PT + 0x1000) | 3);
  for (let p = 0; p < 2048; p++) mem.write32(PT + p * 4, (p << 12) | 3);
  mem.write32(PT + 0x300 * 4, PT | 3);
  // a second directory: the same, but linear 0x203000 → 0x206000 (its own table)
  mem.write32(PD2, 0x7000 | 3);
  mem.write32(PD2 + 4, (PT + 0x1000) | 3);
  for (let p = 0; p < 1024; p++) mem.write32(0x7000 + p * 4, (p === 0x203 ? 0x206000 : p << 12) | 3);
  cpu.setCr3(PD);
  cpu.setCr0(0x80000001);
  cpu.setFlags(2, 0xffff);
  return { cpu, mem };
}

/** 20 rounds of a read of linear 0x203000 and a load of the same CR3, a read (the mapping in
 *  the TLB again), then `change` (which remaps 0x203000, or halts for the test to do it), a
 *  read (the old mapping), a CR3 load and a read (the new). */
const remapProgram = (change: string) => asm(`
      xor ebx, ebx
      mov ecx, 20
warm: mov eax, [0x203000]
      add ebx, eax
      mov eax, cr3
      mov cr3, eax
      dec ecx
      jnz warm
      mov eax, [0x203000]
      ${change}
      mov esi, [0x203000]
      mov eax, cr3
      mov cr3, eax
      mov edi, [0x203000]
      hlt`);

function expectRemapped(cpu: Cpu, to = 0x2222): void {
  expect(cpu.regs[3] >>> 0).toBe(20 * 0x1111);
  expect(cpu.regs[6]).toBe(0x1111); // the TLB's mapping until CR3 is loaded
  expect(cpu.regs[7]).toBe(to);
}

describe('the TLB across CR3 loads', () => {
  const guestWrites: [string, string, number][] = [
    ['a plain store', `mov dword [${PTE}], 0x206003`, 0x2222],
    ['a byte store', `mov byte [${PTE + 1}], 0x60`, 0x2222],
    ['a read-modify-write', `or dword [${PTE}], 0x4000`, 0x3333],
    ['REP STOSD', `mov edi, ${PTE}\n mov eax, 0x206003\n mov ecx, 2\n cld\n rep stosd`, 0x2222],
    ['a store through another linear mapping of the table', `mov dword [${0x300000 + (PTE & 0xfff)}], 0x206003`, 0x2222],
  ];
  for (const [what, change, to] of guestWrites) {
    it(`a table entry changed by ${what}: the old mapping until CR3 is loaded, then the new`, () => {
      // (fails when the load of the same CR3 keeps the old mapping, or when the store drops it)
      for (const engine of ENGINES) {
        const { cpu } = pagedCpu(engine, remapProgram(change));
        runToHalt(cpu, 1_000_000);
        expectRemapped(cpu, to);
      }
    });
  }

  const deviceWrites: [string, (cpu: Cpu, mem: PhysicalMemory, dma: DmaController) => void][] = [
    ['a DMA transfer', (_cpu, _mem, dma) => expect(dma.writeToMemory(2, Uint8Array.from([0x03, 0x60, 0x20, 0x00]), 0, 4)).toBe(4)],
    ['the debugger', (cpu) => expect(writeLinear(new CpuDebugTarget(cpu), PTE, Uint8Array.from([0x03, 0x60, 0x20, 0x00]))).toBe(true)],
    ['a loader', (_cpu, mem) => mem.load(PTE, Uint8Array.from([0x03, 0x60, 0x20, 0x00]))],
  ];
  for (const [what, write] of deviceWrites) {
    it(`a table entry changed by ${what} while the guest waits: the new mapping after a CR3 load`, () => {
      // the guest programs DMA channel 2 (device to memory, at PTE) and halts; the entry is
      // rewritten to map 0x206000 (fails when the load of the same CR3 keeps the old mapping)
      const code = remapProgram(`
      mov al, 0x06
      out 0x0a, al
      mov al, 0x46
      out 0x0b, al
      out 0x0c, al
      mov al, ${PTE & 0xff}
      out 0x04, al
      mov al, ${PTE >> 8}
      out 0x04, al
      xor al, al
      out 0x81, al
      mov al, 3
      out 0x05, al
      xor al, al
      out 0x05, al
      mov al, 0x02
      out 0x0a, al
      hlt`);
      for (const engine of ENGINES) {
        const mem = new PhysicalMemory(16 << 20);
        const io = new IoBus();
        const dma = new DmaController(mem, io);
        const { cpu } = pagedCpu(engine, code, { io, mem });
        runToHalt(cpu, 1_000_000);
        write(cpu, mem, dma);
        cpu.halted = false;
        runToHalt(cpu, 1_000_000);
        expectRemapped(cpu);
      }
    });
  }

  it('a load of another directory flushes', () => {
    // (fails when a CR3 load keeps the TLB)
    for (const engine of ENGINES) {
      const { cpu } = pagedCpu(engine, remapProgram(`mov eax, ${PD2}\n mov cr3, eax`));
      runToHalt(cpu, 1_000_000);
      expect(cpu.regs[6]).toBe(0x2222);
      expect(cpu.regs[7]).toBe(0x2222);
    }
  });

  it('Accessed and Dirty bits the guest clears are set again by the next access, as after a flush', () => {
    // (fails when the load after the guest's clearing keeps the TLB: the read and the write
    // then go through the entries made before, and the bits stay clear; and when the
    // entry of a read lets a write through without setting D)
    const code = asm(`
      mov eax, [0x203000]           ; A set (a read)
      mov eax, cr3
      mov cr3, eax
      mov eax, [0x203000]           ; (a read again)
      mov eax, [${PTE}]
      mov [0x8000], eax             ; A, no D
      mov dword [0x203000], 5       ; a write through the entry of the read: D set
      mov eax, [${PTE}]
      mov [0x8004], eax
      and dword [${PTE}], ~0x60     ; the guest clears A and D in the table entry
      and dword [${PD}], ~0x20      ; and A in the directory entry
      mov eax, cr3
      mov cr3, eax
      mov eax, [${PTE}]
      mov [0x8008], eax             ; clear: nothing used the page since
      mov eax, [0x203000]           ; a read: A again, in both
      mov eax, [${PTE}]
      mov [0x800c], eax
      mov eax, [${PD}]
      mov [0x8010], eax
      mov dword [0x203000], 6       ; a write: D again
      mov eax, [${PTE}]
      mov [0x8014], eax
      hlt`);
    for (const engine of ENGINES) {
      const { cpu, mem } = pagedCpu(engine, code);
      runToHalt(cpu, 1_000_000);
      const log = [0, 4, 8, 12, 16, 20].map((k) => mem.read32(0x8000 + k) & 0x60);
      expect(log, engine).toEqual([0x20, 0x60, 0, 0x20, 0x20, 0x60]);
      expect(mem.read32(0x203000)).toBe(6);
    }
  });

  it('a task switch to a TSS with the same CR3 flushes the TLB', () => {
    // A caches 0x203000, remaps it in the table (still the old mapping), switches to B: B
    // sees the new mapping, and A too when B switches back (fails when a task switch that
    // loads the same CR3 keeps the TLB)
    const out = asmWithSymbols(`
      mov ax, 0x18
      ltr ax
      mov eax, [0x203000]
      mov dword [${PTE}], 0x206003
      mov esi, [0x203000]
      jmp 0x20:0
      mov edx, [0x203000]
      hlt
taskb:
      mov eax, [0x203000]
      mov [0x8000], eax             ; (B's registers are its own)
      jmp 0x18:0`);
    for (const engine of ENGINES) {
      const { cpu, mem } = pagedCpu(engine, out.bytes, { taskB: out.symbols.find((s) => s.name === 'taskb')!.address });
      runToHalt(cpu, 1_000_000);
      expect([cpu.regs[6], mem.read32(0x8000), cpu.regs[2]], engine).toEqual([0x1111, 0x2222, 0x2222]);
    }
  });
});
