// A flat protected-mode machine for CPU tests: a guest program assembled with NASM, a GDT
// with ring 0/3 code and data, TSSs, an IDT built from the test's handlers, optional paging
// (used by cpu-pm.test.ts, cpu-v86.test.ts, cpu-debug.test.ts).

import { expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type StopReason } from '../emulator/cpu/cpu';
import { DS, ES, SS, FS, GS } from '../emulator/cpu/consts';
import { oracle } from './oracle';

export const HAS_NASM = oracle('nasm');

export function nasm(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-cpu-'));
  try {
    writeFileSync(join(dir, 'a.asm'), src);
    try {
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`nasm failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
    }
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const GDT = 0x1000, IDT = 0x2000, TSS_A = 0x3000, TSS_B = 0x4000, TSS_C = 0x4100, TSS_DF = 0x4200;
export const LOG = 0x6000, UNEXPECTED = 0x6ff0, CODE = 0x10000, START = 0x10400;
export const PD = 0x100000, PT = 0x101000;

export function desc(mem: PhysicalMemory, sel: number, base: number, limit: number, access: number, flags: number): void {
  const at = GDT + (sel & ~7);
  mem.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  mem.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff));
}
export function gate(mem: PhysicalMemory, at: number, sel: number, off: number, type: number, dpl: number, params = 0): void {
  mem.write32(at, ((sel & 0xffff) << 16) | (off & 0xffff));
  mem.write32(at + 4, (off & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8) | params);
}

export interface Env {
  cpu: Cpu;
  mem: PhysicalMemory;
  sym: (name: string) => number;
  run: (max?: number) => StopReason;
  log: (k: number) => number;
}

export interface EnvOptions {
  /** vector → label of its handler; every other vector logs itself to UNEXPECTED and halts */
  handlers?: Record<number, string>;
  /** vectors whose gates are DPL 3 */
  dpl3?: number[];
  /** vectors with trap gates (type 15) instead of interrupt gates */
  trap?: number[];
  /** vector → TSS selector: a task gate */
  taskGates?: Record<number, number>;
  /** labels whose addresses the test wants (exported by a `dd` list at the end) */
  symbols?: string[];
  paging?: boolean;
  allowWP?: boolean;
  /** call gate at GDT 0x38 (DPL 3) to this label, with n parameters */
  callGate?: { label: string; params: number };
  /** task entry points for TSS B and C */
  taskB?: string;
  taskC?: string;
  idtLimit?: number;
}

/** Assembles `body` (32-bit, org 0x10400 after the vector table) and prepares a flat
 *  protected-mode machine: GDT with ring 0/3 code and data, TSSs, IDT from the handlers. */
export function env(body: string, o: EnvOptions = {}): Env {
  const handlers = o.handlers ?? {};
  const syms = [...new Set([...(o.symbols ?? []), ...Object.values(handlers), ...(o.callGate ? [o.callGate.label] : []),
    ...(o.taskB ? [o.taskB] : []), ...(o.taskC ? [o.taskC] : [])])];
  const table: string[] = [];
  const stubs: string[] = [];
  for (let v = 0; v < 256; v++) {
    if (handlers[v]) table.push(`dd ${handlers[v]}`);
    else {
      table.push(`dd unexpected_${v}`);
      stubs.push(`unexpected_${v}: mov dword [${UNEXPECTED}], ${v + 0x100}\n hlt`);
    }
  }
  const src = [
    'bits 32', `org ${CODE}`, 'vectors:', ...table, 'start:', body, ...stubs,
    'symbols:', ...syms.map((s) => `dd ${s}`),
  ].join('\n');
  const code = nasm(src);
  const mem = new PhysicalMemory(4 << 20);
  const cpu = new Cpu(mem, undefined, null, { allowWP: o.allowWP });
  mem.load(CODE, code);
  const symAddr = new Map<string, number>();
  const symBase = CODE + code.length - syms.length * 4;
  syms.forEach((s, k) => symAddr.set(s, mem.read32(symBase + k * 4) >>> 0));
  // GDT
  desc(mem, 0x08, 0, 0xfffff, 0x9a, 0xc);
  desc(mem, 0x10, 0, 0xfffff, 0x92, 0xc);
  desc(mem, 0x18, 0, 0xfffff, 0xfa, 0xc);
  desc(mem, 0x20, 0, 0xfffff, 0xf2, 0xc);
  desc(mem, 0x28, TSS_A, 0x67 + 0x2000 / 8 + 1, 0x89, 0);
  desc(mem, 0x30, TSS_B, 0x67, 0x89, 0);
  desc(mem, 0x40, TSS_C, 0x67, 0x89, 0);
  desc(mem, 0x50, TSS_DF, 0x67, 0x89, 0);
  desc(mem, 0x58, 0, 0xffff, 0x9a, 0x0); // 16-bit ring-0 code
  if (o.callGate) gate(mem, GDT + 0x38, 0x08, symAddr.get(o.callGate.label)!, 12, 3, o.callGate.params);
  // TSS A: ring-0 stack; I/O bitmap right after the TSS (all ports denied but 0x80)
  mem.write32(TSS_A + 4, 0x9800);
  mem.write32(TSS_A + 8, 0x10);
  mem.write16(TSS_A + 0x66, 0x68);
  for (let k = 0; k < 0x2000 / 8 + 1; k += 4) mem.write32(TSS_A + 0x68 + k, -1);
  mem.write8(TSS_A + 0x68 + 0x80 / 8, 0xfe);
  // TSS B / C / DF: flat ring-0 tasks
  const task = (base: number, label: string | undefined, esp: number) => {
    if (!label) return;
    mem.write32(base + 0x20, symAddr.get(label)!);
    mem.write32(base + 0x24, 2);
    mem.write32(base + 0x38, esp);
    mem.write16(base + 0x4c, 0x08);
    for (const off of [0x48, 0x50, 0x54, 0x58, 0x5c]) mem.write16(base + off, 0x10);
    mem.write32(base + 0x1c, o.paging ? PD : 0);
  };
  task(TSS_B, o.taskB, 0xb000);
  task(TSS_C, o.taskC, 0xc000);
  task(TSS_DF, handlers[8] && o.taskGates?.[8] ? handlers[8] : undefined, 0xd000);
  // IDT
  for (let v = 0; v < 256; v++) {
    const at = IDT + v * 8;
    if (o.taskGates?.[v] !== undefined) {
      mem.write32(at, o.taskGates[v] << 16);
      mem.write32(at + 4, 0x8500);
      continue;
    }
    gate(mem, at, 0x08, mem.read32(CODE + v * 4), o.trap?.includes(v) ? 15 : 14, o.dpl3?.includes(v) ? 3 : 0);
  }
  cpu.gdtBase = GDT;
  cpu.gdtLimit = 0x5f;
  cpu.idtBase = IDT;
  cpu.idtLimit = o.idtLimit ?? 0x7ff;
  cpu.setCr0(1);
  cpu.readDescriptor(0x08);
  cpu.loadCsDesc(0x08, 0);
  for (const s of [DS, ES, SS, FS, GS]) cpu.loadSeg(s, 0x10);
  cpu.regs[4] = 0xa000;
  cpu.eip = START;
  if (o.paging) {
    mem.write32(PD, PT | 7);
    for (let p = 0; p < 1024; p++) mem.write32(PT + p * 4, (p << 12) | 7);
    cpu.setCr3(PD);
    cpu.setCr0(0x80000001);
  }
  return {
    cpu, mem,
    sym: (n) => {
      const a = symAddr.get(n);
      if (a === undefined) throw new Error(`no symbol ${n}`);
      return a;
    },
    run: (max = 100000) => cpu.run(max),
    log: (k) => mem.read32(LOG + k * 4) >>> 0,
  };
}

export function expectHalted(e: Env, r: StopReason): void {
  const unexpected = e.mem.read32(UNEXPECTED);
  expect(unexpected ? `unexpected vector ${unexpected - 0x100}` : 'ok', e.cpu.dumpState()).toBe('ok');
  expect(r).toBe('halted');
}

/** Common ring-3 entry: iretd to `label` with user stack 0x8000 and the given EFLAGS. */
export const TO_RING3 = (label: string, eflags = 0x202) => `
    mov ax, 0x28
    ltr ax
    mov ax, 0x23                 ; user data (usable at every level)
    mov ds, ax
    mov es, ax
    push dword 0x23
    push dword 0x8000
    push dword ${eflags}
    push dword 0x1b
    push dword ${label}
    iretd`;
