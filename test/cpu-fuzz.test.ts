// Robustness: random bytes (sprinkled with system instructions, over random descriptors)
// executed as code, in real mode, in 32-bit protected mode at ring 0 with paging, and at
// ring 3, must only ever produce CPU behaviour (faults, double faults,
// triple faults, halts): never a JavaScript exception out of run(). Seeded; reproduce with
// FORKLAB_FUZZ_SEED.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu } from '../emulator/cpu/cpu';
import { DS, ES, SS, FS, GS } from '../emulator/cpu/consts';

const SEED = Number(process.env.FORKLAB_FUZZ_SEED ?? 7);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function desc(mem: PhysicalMemory, at: number, base: number, limit: number, access: number, flags: number): void {
  mem.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  mem.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff));
}

type Mode = 'real' | 'pm0' | 'pm3';

function machine(mode: Mode, rnd: () => number): Cpu {
  const mem = new PhysicalMemory(2 << 20);
  // random code and data everywhere except the system tables we set up
  for (let a = 0; a < mem.size; a += 4) mem.i32[a >>> 2] = rnd();
  // sprinkle system instructions (descriptor loads, far transfers, IRET, INT, CR moves)
  const sys = [[0x0f, 0x00], [0x0f, 0x01], [0xea], [0x9a], [0xcf], [0xcd], [0xca], [0xcb], [0x8e], [0x0f, 0x02],
    [0x0f, 0x03], [0x0f, 0x22], [0x0f, 0x20], [0xc5], [0xc4], [0x0f, 0xb2], [0x66, 0xcf], [0x66, 0xea], [0x66, 0x9a]];
  for (let k = 0; k < 20000; k++) {
    const at = 0x10000 + (rnd() % (mem.size - 0x10010));
    const b = sys[rnd() % sys.length];
    for (let j = 0; j < b.length; j++) mem.u8[at + j] = b[j];
  }
  const cpu = new Cpu(mem);
  if (mode === 'real') {
    cpu.setRealMode(rnd() & 0xffff, rnd() & 0xffff);
    for (const s of [DS, ES, SS]) cpu.loadSeg(s, rnd() & 0xffff);
  } else {
    const gdt = 0x1000, idt = 0x2000, tss = 0x3000;
    for (let k = 0; k < 0x3000; k += 4) mem.write32(0x1000 + k, 0);
    desc(mem, gdt + 0x08, 0, 0xfffff, 0x9a, 0xc);
    desc(mem, gdt + 0x10, 0, 0xfffff, 0x92, 0xc);
    desc(mem, gdt + 0x18, 0, 0xfffff, 0xfa, 0xc);
    desc(mem, gdt + 0x20, 0, 0xfffff, 0xf2, 0xc);
    desc(mem, gdt + 0x28, tss, 0x67, 0x89, 0);
    mem.write32(tss + 4, 0x1ff000);
    mem.write32(tss + 8, 0x10);
    // every vector: a ring-0 interrupt gate (DPL 3) to random code
    for (let v = 0; v < 256; v++) {
      const off = 0x10000 + (rnd() & 0xfffff);
      mem.write32(idt + v * 8, (0x08 << 16) | (off & 0xffff));
      mem.write32(idt + v * 8 + 4, (off & 0xffff0000) | 0xee00);
    }
    // random descriptors after the fixed ones: far transfers, gates, TSSs and segment loads
    // meet every descriptor type
    for (let at = 0x30; at < 0x800; at += 8) {
      mem.write32(gdt + at, rnd());
      mem.write32(gdt + at + 4, (rnd() & 0xff0fffff) | ((rnd() & 1) << 15));
    }
    cpu.gdtBase = gdt;
    cpu.gdtLimit = 0x7ff;
    cpu.idtBase = idt;
    cpu.idtLimit = 0x7ff;
    cpu.setCr0(1);
    cpu.readDescriptor(0x08);
    cpu.loadCsDesc(0x08, 0);
    for (const s of [DS, ES, SS, FS, GS]) cpu.loadSeg(s, 0x10);
    cpu.trSel = 0x28;
    cpu.trBase = tss;
    cpu.trLimit = 0x67;
    cpu.trType = 11;
    // paging: identity map of the first 4 MB, a few pages not present or read-only
    const pd = 0x4000, pt = 0x5000;
    mem.write32(pd, pt | 7);
    for (let p = 0; p < 1024; p++) mem.write32(pt + p * 4, (p << 12) | (rnd() % 16 === 0 ? 0 : rnd() % 8 === 0 ? 5 : 7));
    for (const p of [1, 2, 3, 4, 5]) mem.write32(pt + p * 4, (p << 12) | 3); // system tables: supervisor
    cpu.setCr3(pd);
    cpu.setCr0(0x80000001);
    cpu.regs[4] = 0x1f0000;
    cpu.eip = 0x10000 + (rnd() & 0xfffff);
    if (mode === 'pm3') {
      cpu.readDescriptor(0x18);
      cpu.loadCsDesc(0x1b, 3);
      for (const s of [DS, ES, SS, FS, GS]) cpu.loadSeg(s, 0x23);
    }
  }
  for (let r = 0; r < 8; r++) if (r !== 4) cpu.regs[r] = rnd();
  cpu.setFlags(rnd() & 0x8d5, 0xffff);
  return cpu;
}

describe('fuzz: random code never breaks the emulator', () => {
  for (const mode of ['real', 'pm0', 'pm3'] as Mode[]) {
    it(`${mode}: 60 machines × 2,000 random instructions (seed ${SEED})`, () => {
      const rnd = prng(SEED * 31 + mode.length);
      const reasons = new Map<string, number>();
      for (let k = 0; k < 60; k++) {
        const cpu = machine(mode, rnd);
        let r = '';
        try {
          r = cpu.run(2000);
          if (r === 'waiting' || r === 'halted') r = 'halt';
        } catch (e) {
          throw new Error(`seed ${SEED} ${mode} machine ${k}: ${(e as Error).stack}\n${cpu.dumpState()}`);
        }
        reasons.set(r, (reasons.get(r) ?? 0) + 1);
      }
      // the outcomes are CPU outcomes only
      for (const r of reasons.keys()) expect(['budget', 'halt', 'triple-fault']).toContain(r);
    });
  }
});
