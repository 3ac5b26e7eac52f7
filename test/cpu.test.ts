// CPU core mechanics: every table form has a handler, decoded-code invalidation on writes
// (self-modifying code, DMA-style loads), memory-mapped pages and ROM, hooks and their
// determinism, the interrupt line, stop reasons, instruction counting, REP resumption,
// lazy flags against eager definitions.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory, type MmioHandler } from '../emulator/memory';
import { Cpu } from '../emulator/cpu/cpu';
import { DS, ES, SS } from '../emulator/cpu/consts';
import { MISSING_FORMS } from '../emulator/cpu/handlers';
import type { InterruptLine, IoBus } from '../emulator/cpu/bus';

function realCpu(code: number[], at = 0x1000, mem = new PhysicalMemory(1 << 20), io?: IoBus, irq?: InterruptLine): Cpu {
  const cpu = new Cpu(mem, io, irq ?? null);
  mem.load(at, Uint8Array.from(code));
  cpu.setRealMode(0, at);
  for (const s of [DS, ES, SS]) cpu.loadSeg(s, 0);
  cpu.regs[4] = 0x8000;
  return cpu;
}

describe('cpu core', () => {
  it('has a handler for every decodable form of the opcode table', () => {
    new Cpu(new PhysicalMemory(4096));
    expect(MISSING_FORMS).toEqual([]);
  });

  it('sees its own code change (self-modifying code, same block)', () => {
    // mov byte [0x1009], 0x42 ; nop x3 ; mov al, 0x00 (patched to mov al, 0x42) ; hlt
    const cpu = realCpu([0xc6, 0x06, 0x09, 0x10, 0x42, 0x90, 0x90, 0x90, 0xb0, 0x00, 0xf4]);
    expect(cpu.run(100)).toBe('halted');
    expect(cpu.regs[0] & 0xff).toBe(0x42);
  });

  it('a write next to decoded code, not into it, leaves the page\'s decoded blocks valid', () => {
    // mov ax,[0x1008]; inc ax; mov [0x1008],ax; hlt; then the variable, in the bytes right
    // after the HLT (a kernel's variables beside its code)
    const cpu = realCpu([0xa1, 0x08, 0x10, 0x40, 0xa3, 0x08, 0x10, 0xf4, 0x41, 0x00]);
    expect(cpu.run(100)).toBe('halted');
    expect(cpu.mem.read16(0x1008)).toBe(0x42);
    expect(cpu.mem.codeGen[1]).toBe(0);
    // a write into the decoded bytes does drop them
    cpu.mem.write8(0x1007, 0xf4);
    expect(cpu.mem.codeGen[1]).toBe(1);
  });

  it('drops decoded blocks when memory is loaded behind its back (DMA)', () => {
    const cpu = realCpu([0xb0, 0x01, 0xf4]); // mov al,1; hlt
    expect(cpu.run(10)).toBe('halted');
    expect(cpu.regs[0] & 0xff).toBe(1);
    cpu.mem.load(0x1000, Uint8Array.from([0xb0, 0x02, 0xf4]));
    cpu.setRealMode(0, 0x1000);
    cpu.halted = false;
    expect(cpu.run(10)).toBe('halted');
    expect(cpu.regs[0] & 0xff).toBe(2);
  });

  it('routes memory-mapped pages to their handler and ignores writes to ROM', () => {
    const mem = new PhysicalMemory(1 << 20);
    const seen: string[] = [];
    const dev: MmioHandler = {
      read8: (a) => (seen.push(`r${a.toString(16)}`), 0x5a),
      write8: (a, v) => void seen.push(`w${a.toString(16)}=${v.toString(16)}`),
    };
    mem.mapMmio(0xa0000, 0xb0000, dev);
    mem.u8[0xf0000] = 0x11;
    mem.mapRom(0xf0000, 0x100000);
    // mov ax,0xa000; mov ds,ax; mov byte [5],0x77; mov bl,[6]; mov ax,0xf000; mov ds,ax;
    // mov byte [0],0x99; mov cl,[0]; hlt
    const cpu = realCpu([0xb8, 0x00, 0xa0, 0x8e, 0xd8, 0xc6, 0x06, 0x05, 0x00, 0x77, 0x8a, 0x1e, 0x06, 0x00,
      0xb8, 0x00, 0xf0, 0x8e, 0xd8, 0xc6, 0x06, 0x00, 0x00, 0x99, 0x8a, 0x0e, 0x00, 0x00, 0xf4], 0x1000, mem);
    expect(cpu.run(100)).toBe('halted');
    expect(seen).toEqual(['wa0005=77', 'ra0006']);
    expect(cpu.regs[3] & 0xff).toBe(0x5a);
    expect(cpu.regs[1] & 0xff).toBe(0x11);
    expect(mem.u8[0xf0000]).toBe(0x11);
  });

  it('counts instructions exactly and stops on the budget; hooks do not change the count', () => {
    // mov cx,1000; l: add ax,cx; loop l; hlt  → 1 + 2*1000 + 1 instructions
    const code = [0xb9, 0xe8, 0x03, 0x01, 0xc8, 0xe2, 0xfc, 0xf4];
    const a = realCpu(code);
    expect(a.run(1001)).toBe('budget');
    expect(a.icount).toBe(1001);
    expect(a.run(100000)).toBe('halted');
    expect(a.icount).toBe(2002);
    const b = realCpu(code);
    let n = 0;
    const writes: number[] = [];
    b.setHooks({ beforeInstruction: () => void n++, memoryAccess: (k, lin) => void (k === 'w' && writes.push(lin)) });
    expect(b.run(100000)).toBe('halted');
    expect(b.icount).toBe(2002);
    expect(n).toBe(2002);
    expect(b.regs[0]).toBe(a.regs[0]);
    const c = realCpu(code);
    c.setHooks({ beforeInstruction: () => c.icount === 7 });
    expect(c.run(100)).toBe('stopped');
    expect(c.icount).toBe(7);
  });

  it('a REP string instruction resumes after a budget chunk with registers updated', () => {
    // cld; mov cx,0x3000; mov di,0x2000; mov al,0xab; rep stosb; hlt
    const cpu = realCpu([0xfc, 0xb9, 0x00, 0x30, 0xbf, 0x00, 0x20, 0xb0, 0xab, 0xf3, 0xaa, 0xf4]);
    expect(cpu.run(1000)).toBe('halted');
    expect(cpu.regs[1] & 0xffff).toBe(0);
    expect(cpu.regs[7] & 0xffff).toBe(0x5000);
    expect(cpu.mem.read8(0x4fff)).toBe(0xab);
    expect(cpu.mem.read8(0x5000)).toBe(0);
  });

  it('REP MOVSB with the destination one byte ahead replicates (element semantics), across pages', () => {
    // cld; mov si,0x2ffc; mov di,0x2ffd; mov cx,12; rep movsb; mov di,0x3ff0; mov cx,10;
    // mov eax,0x11223344 (66 b8); rep stosd (66 f3 ab); hlt
    const cpu = realCpu([0xfc, 0xbe, 0xfc, 0x2f, 0xbf, 0xfd, 0x2f, 0xb9, 0x0c, 0x00, 0xf3, 0xa4,
      0xbf, 0xf0, 0x3f, 0xb9, 0x0a, 0x00, 0x66, 0xb8, 0x44, 0x33, 0x22, 0x11, 0x66, 0xf3, 0xab, 0xf4]);
    for (let k = 0; k < 16; k++) cpu.mem.write8(0x2ffc + k, 0x40 + k);
    expect(cpu.run(100)).toBe('halted');
    for (let k = 0; k <= 12; k++) expect(cpu.mem.read8(0x2ffc + k)).toBe(0x40);
    expect(cpu.mem.read8(0x2ffc + 13)).toBe(0x40 + 13);
    for (let k = 0; k < 10; k++) expect(cpu.mem.read32(0x3ff0 + 4 * k) >>> 0).toBe(0x11223344);
    expect(cpu.regs[7] & 0xffff).toBe(0x3ff0 + 40);
    expect(cpu.regs[6] & 0xffff).toBe(0x2ffc + 12);
  });

  it('REP INS/OUTS in bulk give what the element loop gives (across a page end, into code)', () => {
    // cld; mov dx,0x1f0; mov di,0x2ff0; mov cx,20; rep insw; mov si,0x2ff0; mov cx,20;
    // rep outsw; mov di,0x3ffe; mov cx,3; rep insd (66 f3 6d); mov di,0x1025; mov cx,4;
    // rep insb: over the 4 HLTs that follow it (the port gives 0x40, inc ax); hlt
    const code = [0xfc, 0xba, 0xf0, 0x01, 0xbf, 0xf0, 0x2f, 0xb9, 0x14, 0x00, 0xf3, 0x6d,
      0xbe, 0xf0, 0x2f, 0xb9, 0x14, 0x00, 0xf3, 0x6f, 0xbf, 0xfe, 0x3f, 0xb9, 0x03, 0x00, 0x66, 0xf3, 0x6d,
      0xbf, 0x25, 0x10, 0xb9, 0x04, 0x00, 0xf3, 0x6c, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4];
    expect(code.length).toBe(0x25 + 5);
    const run = (hooked: boolean) => {
      let k = 0;
      const outs: number[] = [];
      const io: IoBus = {
        in8: () => 0x40, in16: () => (k++ * 0x1111) & 0xffff, in32: () => (k++ * 0x01020304) >>> 0,
        out8: () => {}, out16: (_p, v) => void outs.push(v), out32: () => {},
      };
      const cpu = realCpu(code, 0x1000, new PhysicalMemory(1 << 20), io);
      const seen: number[] = [];
      // a port hook sees the element loop
      if (hooked) cpu.setHooks({ portIo: (_d, port) => void seen.push(port) });
      expect(cpu.run(100)).toBe('halted');
      return { cpu, outs, seen, mem: cpu.mem.u8.slice(0x2f00, 0x4100) };
    };
    const bulk = run(false), each = run(true);
    expect(each.seen.length).toBe(20 + 20 + 3 + 4);
    expect(bulk.mem).toEqual(each.mem);
    expect(bulk.outs).toEqual(each.outs);
    expect(bulk.outs).toEqual(Array.from({ length: 20 }, (_, j) => (j * 0x1111) & 0xffff));
    expect(bulk.cpu.mem.read16(0x3000)).toBe(8 * 0x1111);
    expect(bulk.cpu.mem.read32(0x4002) >>> 0).toBe((21 * 0x01020304) >>> 0);
    for (const r of [0, 1, 6, 7]) expect(bulk.cpu.regs[r]).toBe(each.cpu.regs[r]);
    // the 4 bytes written over the code ran as inc ax
    expect(bulk.cpu.regs[0] & 0xffff).toBe(4);
    expect(bulk.cpu.icount).toBe(each.cpu.icount);
    expect(bulk.cpu.icount).toBe(14 + 4 + 1);
  });

  it('a guest stuck in a fault loop still uses up its budget (faulting instructions count)', () => {
    const cpu = realCpu([0x0f, 0xff]); // #UD, and vector 6 points back at it
    cpu.mem.write16(6 * 4, 0x1000);
    cpu.mem.write16(6 * 4 + 2, 0);
    expect(cpu.run(100)).toBe('budget');
    expect(cpu.icount).toBe(100);
    expect(cpu.step()).toBe('budget');
    expect(cpu.icount).toBe(101);
  });

  it('takes interrupts from the INTR line only with IF=1, and HLT waits for them', () => {
    let pending = false;
    const irq: InterruptLine = { hasInterrupt: () => pending, acknowledge: () => ((pending = false), 0x08) };
    const mem = new PhysicalMemory(1 << 20);
    // IVT 8 → 0x2000: inc bx; iret
    mem.write16(8 * 4, 0x2000);
    mem.write16(8 * 4 + 2, 0);
    mem.load(0x2000, Uint8Array.from([0x43, 0xcf]));
    // sti; hlt; cli; hlt
    const cpu = realCpu([0xfb, 0xf4, 0xfa, 0xf4], 0x1000, mem, undefined, irq);
    expect(cpu.run(100)).toBe('waiting');
    pending = true;
    expect(cpu.run(100)).toBe('halted');
    expect(cpu.regs[3] & 0xffff).toBe(1);
    pending = true;
    expect(cpu.run(100)).toBe('halted'); // IF=0: stays halted
    expect(cpu.regs[3] & 0xffff).toBe(1);
  });

  it('port I/O goes through the bus with the right widths', () => {
    const log: string[] = [];
    const io: IoBus = {
      in8: (p) => (log.push(`in8 ${p.toString(16)}`), 0x12),
      in16: (p) => (log.push(`in16 ${p.toString(16)}`), 0x3456),
      in32: (p) => (log.push(`in32 ${p.toString(16)}`), 0x789abcde),
      out8: (p, v) => void log.push(`out8 ${p.toString(16)} ${v.toString(16)}`),
      out16: (p, v) => void log.push(`out16 ${p.toString(16)} ${v.toString(16)}`),
      out32: (p, v) => void log.push(`out32 ${p.toString(16)} ${v.toString(16)}`),
    };
    // in al,0x60; mov dx,0x1f0; in ax,dx; out dx,ax; in eax,dx (66 ed); out 0xe9,al; hlt
    const cpu = realCpu([0xe4, 0x60, 0xba, 0xf0, 0x01, 0xed, 0xef, 0x66, 0xed, 0xe6, 0xe9, 0xf4], 0x1000, undefined, io);
    expect(cpu.run(100)).toBe('halted');
    expect(log).toEqual(['in8 60', 'in16 1f0', 'out16 1f0 3456', 'in32 1f0', 'out8 e9 de']);
    // the port hook sees the same accesses and values
    const seen: string[] = [];
    const again = realCpu([0xe4, 0x60, 0xe6, 0xe9, 0xf4], 0x1000, undefined, io);
    again.setHooks({ portIo: (d, p, n, v) => void seen.push(`${d}${n * 8} ${p.toString(16)} ${v.toString(16)}`) });
    expect(again.run(100)).toBe('halted');
    expect(seen).toEqual(['in8 60 12', 'out8 e9 12']);
    expect(cpu.regs[0] >>> 0).toBe(0x789abcde);
  });

  it('A20 changes made by an OUT take effect on the next instruction (TLB flushed)', () => {
    const mem = new PhysicalMemory(2 << 20);
    const io: IoBus = {
      in8: () => 0xff, in16: () => 0xffff, in32: () => -1,
      out8: (_p, v) => mem.setA20(v !== 0), out16: () => {}, out32: () => {},
    };
    // mov ax,0xffff; mov ds,ax; mov byte [0x10],1 (A20 on: 0x100000); mov al,0; out 0x92,al;
    // mov byte [0x10],2 (A20 off: wraps to 0); hlt
    const cpu = realCpu([0xb8, 0xff, 0xff, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0x01, 0xb0, 0x00, 0xe6, 0x92,
      0xc6, 0x06, 0x10, 0x00, 0x02, 0xf4], 0x1000, mem, io);
    expect(cpu.run(100)).toBe('halted');
    expect(mem.read8(0x100000)).toBe(1);
    expect(mem.read8(0)).toBe(2);
  });

  it('reads and writes registers by name (the debugger contract)', () => {
    const cpu = realCpu([0x01, 0xd8, 0xf4]); // add ax, bx; hlt
    expect(cpu.writeRegister('eax', 0xffffffff)).toBe(true);
    expect(cpu.writeRegister('ebx', 1)).toBe(true);
    expect(cpu.writeRegister('ds', 0x1234)).toBe(true);
    expect(cpu.segBase[DS]).toBe(0x12340);
    expect(cpu.run(10)).toBe('halted');
    expect(cpu.readRegister('eax')).toBe(0xffff0000);
    expect(cpu.readRegister('eflags') & 0x55).toBe(0x55); // CF PF AF ZF from the lazy ADD
    expect(cpu.readRegister('eip')).toBe(0x1003);
    expect(cpu.readRegister('ds')).toBe(0x1234);
    cpu.writeRegister('eflags', 0);
    expect(cpu.readRegister('eflags')).toBe(2);
  });

  it('a triple fault stops the CPU with a state snapshot', () => {
    const cpu = realCpu([0x8b, 0x86, 0xff, 0xff]); // mov ax, [bp+0xffff] with an IVT of limit 0
    cpu.idtLimit = 0;
    cpu.regs[5] = 0;
    expect(cpu.run(10)).toBe('triple-fault');
    expect(cpu.shutdownState?.eip).toBe(0x1000);
    expect(cpu.shutdownReport).toMatch(/triple fault at 0000:00001000/);
  });

  it('computes lazy flags like the definitions (ADD/SUB/ADC/SBB, 8/16/32 bits)', () => {
    const mem = new PhysicalMemory(1 << 16);
    const cpu = new Cpu(mem);
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0);
    for (let k = 0; k < 3000; k++) {
      const bits = [8, 16, 32][k % 3];
      const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
      const a = (rnd() & mask) >>> 0, b = (rnd() & mask) >>> 0, cin = rnd() & 1;
      const op = k % 4; // add sub adc sbb
      const sub = op === 1 || op === 3;
      const carry = op >= 2 ? cin : 0;
      cpu.setFlags(carry, 0xffff);
      const { alu8, alu16, alu32 } = handlersAlu;
      const code = [0, 5, 2, 3][op];
      const r = bits === 8 ? alu8(cpu, code, a, b) : bits === 16 ? alu16(cpu, code, a, b) : alu32(cpu, code, a | 0, b | 0);
      const full = sub ? a - b - carry : a + b + carry;
      const M = 2 ** bits;
      const res = ((full % M) + M) % M;
      const top = 2 ** (bits - 1);
      const sa = a >= top ? a - 2 * top : a, sb = b >= top ? b - 2 * top : b;
      const sfull = sub ? sa - sb - carry : sa + sb + carry;
      const expCF = sub ? (a < b + carry ? 1 : 0) : full > mask ? 1 : 0;
      const expOF = sfull >= top || sfull < -top ? 1 : 0;
      const expAF = ((a ^ b ^ res) & 0x10) !== 0 ? 1 : 0;
      expect(bits === 32 ? r >>> 0 : r).toBe(res);
      const fl = cpu.getFlags();
      expect([fl & 1, (fl >> 11) & 1, (fl >> 4) & 1, (fl >> 6) & 1, (fl >> 7) & 1]).toEqual([
        expCF, expOF, expAF, res === 0 ? 1 : 0, res >= top ? 1 : 0,
      ]);
    }
  });
});

import * as handlersAlu from '../emulator/cpu/handlers';
