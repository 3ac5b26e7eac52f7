// The GDB stub on our real CPU (CpuDebugTarget): the real gdb debugs a real-mode program,
// and the debugger's memory reads walk the page tables without touching them.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cpu } from '../emulator/cpu/cpu';
import { CpuDebugTarget } from '../emulator/debug/cpu-target';
import { GdbStub } from '../emulator/debug/gdb-stub';
import { HookHub } from '../emulator/debug/hooks';
import { machineDebugTarget } from '../emulator/debug/machine-target';
import { Machine } from '../emulator/machine';
import type { CpuHooks } from '../emulator/cpu/bus';
import { readLinear } from '../emulator/debug/target';
import { PhysicalMemory } from '../emulator/memory';
import { oracle } from './oracle';

const dir = mkdtempSync(join(tmpdir(), 'forklab-gdbcpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Real-mode program at 0000:7c00.
const PROGRAM = [
  0xb8, 0x01, 0x00, //       7c00 mov ax, 1
  0x40, //                   7c03 inc ax
  0xa3, 0x00, 0x05, //       7c04 mov [0x500], ax
  0xb9, 0x03, 0x00, //       7c07 mov cx, 3
  0x49, //                   7c0a dec cx
  0x75, 0xfd, //             7c0b jnz 7c0a
  0xa1, 0x00, 0x05, //       7c0d mov ax, [0x500]
  0x40, //                   7c10 inc ax
  0xa3, 0x00, 0x05, //       7c11 mov [0x500], ax
  0xfa, //                   7c14 cli
  0xf4, //                   7c15 hlt
];

function machine(): { cpu: Cpu; mem: PhysicalMemory; target: CpuDebugTarget } {
  const mem = new PhysicalMemory(1 << 20);
  mem.load(0x7c00, new Uint8Array(PROGRAM));
  const cpu = new Cpu(mem);
  cpu.setRealMode(0, 0x7c00);
  return { cpu, mem, target: new CpuDebugTarget(cpu) };
}

function gdb(script: string): Promise<{ out: string; code: number }> {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.gdb`);
  writeFileSync(file, script);
  return new Promise((resolve) => {
    execFile('timeout', ['60', 'gdb', '-nx', '-batch', '-x', file], (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ out: stdout + stderr, code });
    });
  });
}

describe('CpuDebugTarget', () => {
  it('stops at breakpoints before the instruction, steps over them, and watches data accesses', () => {
    const { cpu, target } = machine();
    target.addBreakpoint(0x7c0a, 'sw');
    expect(cpu.hooks).not.toBeNull();
    expect(target.run(1000)).toEqual({ kind: 'breakpoint', address: 0x7c0a, type: 'sw' });
    expect(cpu.eip).toBe(0x7c0a);
    expect(cpu.regs[1] & 0xffff).toBe(3); // dec cx not executed yet
    expect(target.run(1000)).toMatchObject({ kind: 'breakpoint', address: 0x7c0a }); // checked first too
    expect(target.step()).toEqual({ kind: 'step' }); // step ignores it
    expect(cpu.regs[1] & 0xffff).toBe(2);
    target.removeBreakpoint(0x7c0a, 'sw');
    expect(cpu.hooks).toBeNull(); // nothing set: no hooks at all
    target.addWatchpoint(0x500, 2, 'read');
    expect(target.run(1000)).toEqual({ kind: 'watchpoint', type: 'read', address: 0x500, watch: 0x500 });
    expect(cpu.eip).toBe(0x7c10); // after the reading instruction
    target.clearAllBreakpoints();
    expect(cpu.hooks).toBeNull();
    expect(target.run(1000)).toEqual({ kind: 'halted' }); // cli; hlt
  });

  it('reads and writes registers, refusing a bad selector', () => {
    const { cpu, target } = machine();
    expect(target.isRealMode()).toBe(true);
    expect(target.writeRegister('ebx', 0x12345678)).toBe(true);
    expect(cpu.regs[3]).toBe(0x12345678);
    expect(target.writeRegister('ds', 0x1234)).toBe(true);
    expect(target.readRegister('ds')).toBe(0x1234);
    expect(cpu.segBase[3]).toBe(0x12340);
    expect(target.writeRegister('eflags', 0x246)).toBe(true);
    expect(target.readRegister('eflags')).toBe(0x246);
    // Protected mode with an empty GDT (limit 7): selector 0x10 is outside it.
    cpu.gdtLimit = 7;
    expect(target.writeRegister('cr0', 0x11)).toBe(true);
    expect(target.isRealMode()).toBe(false);
    expect(target.writeRegister('es', 0x10)).toBe(false);
    expect(target.readRegister('es')).toBe(0);
  });

  it('translates through the page tables without setting Accessed or Dirty bits', () => {
    const { cpu, mem, target } = machine();
    // Page directory at 0x10000, one table at 0x11000 mapping linear 0x400000+ :
    // page 0 → 0x20000, page 1 not present.
    mem.write32(0x10000 + 4 * 1, 0x11000 | 3);
    mem.write32(0x11000, 0x20000 | 3);
    mem.load(0x20000, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    // Identity-map the first 4 MB so the CPU could run on.
    mem.write32(0x10000, 0x12000 | 3);
    for (let i = 0; i < 1024; i++) mem.write32(0x12000 + 4 * i, (i << 12) | 3);
    cpu.setCr3(0x10000);
    expect(target.writeRegister('cr0', 0x80000011)).toBe(true);
    expect(target.translateLinear(0x400002)).toBe(0x20002);
    expect(target.translateLinear(0x401000)).toBe(-1);
    expect(target.translateLinear(0x800000)).toBe(-1);
    expect([...readLinear(target, 0x400000, 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(readLinear(target, 0x400ffe, 4).length).toBe(2); // stops at the absent page
    // The walk left no trace: A (0x20) and D (0x40) still clear.
    expect(mem.read32(0x10004) & 0x60).toBe(0);
    expect(mem.read32(0x11000) & 0x60).toBe(0);
    // A debugger write lands in the mapped frame.
    expect(target.writePhysical(0x20000, new Uint8Array([1]))).toBe(true);
    expect(mem.read8(0x20000)).toBe(1);
    expect(target.readPhysical(0x200000, new Uint8Array(1))).toBe(false); // beyond RAM
  });
});

describe('HookHub', () => {
  it('shares the CPU hook slot between the debugger and another observer', () => {
    const { cpu } = machine();
    const hub = new HookHub(cpu);
    const recorderSlot = hub.slot();
    const target = new CpuDebugTarget(cpu, { hooks: hub.slot() });
    const seen: number[] = [];
    const writes: string[] = [];
    const recorder: CpuHooks = {
      beforeInstruction: (lin) => void seen.push(lin),
      memoryAccess: (kind, lin, size, value) => void (kind === 'w' && writes.push(`${lin.toString(16)}:${size}=${value}`)),
    };
    expect(cpu.hooks).toBeNull();
    recorderSlot.set(recorder);
    expect(cpu.hooks).toBe(recorder); // one observer: its own object
    target.addBreakpoint(0x7c0d, 'hw');
    expect(cpu.hooks).not.toBe(recorder); // combined
    expect(target.run(1000)).toMatchObject({ kind: 'breakpoint', address: 0x7c0d, type: 'hw' });
    // The recorder saw every instruction up to and including the one stopped at.
    expect(seen.slice(0, 4)).toEqual([0x7c00, 0x7c03, 0x7c04, 0x7c07]);
    expect(seen[seen.length - 1]).toBe(0x7c0d);
    expect(writes).toEqual(['500:2=2']);
    target.clearAllBreakpoints();
    expect(cpu.hooks).toBe(recorder);
    recorderSlot.set(null);
    expect(cpu.hooks).toBeNull();
  });
});

describe.runIf(oracle('gdb'))('the real gdb on the real CPU', () => {
  it('debugs a real-mode program: i8086, breakpoints, watchpoints, halt, detach', async () => {
    const { cpu, mem, target } = machine();
    const stub = new GdbStub(target, { sliceInstructions: 10_000 });
    const port = await stub.listen(0);
    const { out, code } = await gdb([
      'set pagination off', 'set confirm off', 'set osabi none',
      `target remote 127.0.0.1:${port}`,
      'show architecture',
      'x/2i $pc',
      'monitor translate 0x7c00',
      'monitor state',
      'break *0x7c04',
      'continue',
      'p/x $eax',
      'watch *(short*)0x500',
      'continue',
      'delete',
      'hbreak *0x7c0d',
      'continue',
      'p/x $ecx',
      'delete',
      'rwatch *(short*)0x500',
      'continue',
      'delete',
      'continue',
      'p/x $eip',
      'detach',
      '',
    ].join('\n'));
    await stub.close();
    expect(code, out).toBe(0);
    expect(out).toContain('(currently "i8086")');
    expect(out).toMatch(/=> 0x7c00:\s+mov\s+\$0x1,%ax\n\s+0x7c03:\s+inc\s+%ax/);
    expect(out).toContain('linear 0x00007c00 -> physical 0x00007c00');
    expect(out).toMatch(/eip=00007c00 eflags=00000002 cpl=0 cr0=00000000/); // the CPU's own state dump
    expect(out).toContain('Breakpoint 1, 0x00007c04 in ?? ()');
    expect(out).toContain('$1 = 0x2');
    expect(out).toMatch(/Hardware watchpoint 2: \*\(short\*\)0x500\n\nOld value = 0\nNew value = 2\n0x00007c07 in/);
    expect(out).toContain('Breakpoint 3, 0x00007c0d in ?? ()');
    expect(out).toContain('$2 = 0x0');
    expect(out).toMatch(/Hardware read watchpoint 4: \*\(short\*\)0x500\n\nValue = 2\n0x00007c10 in/);
    expect(out).toContain('forklab: the CPU halted with interrupts disabled');
    expect(out).toContain('$3 = 0x7c16');
    expect(out).toContain('[Inferior 1 (Remote target) detached]');
    for (const f of ['too long', 'rejected target-supplied', 'Remote failure reply', 'Unexpected swbreak']) expect(out).not.toContain(f);
    expect(mem.read16(0x500)).toBe(3);
    expect(mem.read8(0x7c04)).toBe(0xa3); // never patched
    expect(cpu.hooks).toBeNull(); // detach removed everything
  });
});

describe.runIf(oracle('gdb', 'nasm'))('the real gdb on the whole PC', () => {
  it('follows test/fixtures/trace/qemu-bios.asm into protected mode and sees it exit', async () => {
    const bin = join(dir, 'bios.bin');
    execFileSync('nasm', ['-f', 'bin', join(import.meta.dirname, 'fixtures', 'trace', 'qemu-bios.asm'), '-o', bin]);
    const m = new Machine({ memorySize: 1 << 20, firmware: new Uint8Array(readFileSync(bin)) });
    m.cpu.setRealMode(0xf000, 0);
    let stopped: unknown = null;
    const stub = new GdbStub(machineDebugTarget(m), { sliceInstructions: 10_000, onGuestStop: (r) => (stopped = { ...r }) });
    const port = await stub.listen(0);
    const { out, code } = await gdb([
      'set pagination off', 'set confirm off', 'set osabi none',
      `target remote 127.0.0.1:${port}`,
      'break *0xf0012', // dec cx, at f000:0012
      'continue',
      'p $ecx',
      'continue',
      'p $ecx',
      'delete',
      'break *0xf002f', // the far jump into 32-bit code
      'continue',
      'p/x $cr0',
      'stepi',
      'p/x $cs',
      'p/x $eip',
      'monitor state',
      'delete',
      'watch *(unsigned*)0x800',
      'continue',
      'continue',
      'delete',
      'continue',
      '',
    ].join('\n'));
    await stub.close();
    expect(code, out).toBe(0);
    // Real mode with CS = F000: gdb's $pc (EIP) is not the linear breakpoint address, so
    // the stub reports a plain SIGTRAP (as QEMU does) and steps over the breakpoint itself
    // when gdb continues: the loop stops again one iteration later.
    expect(out).toMatch(/Program received signal SIGTRAP, Trace\/breakpoint trap\.\n0x00000012 in \?\? \(\)\n\$1 = 3\n/);
    expect(out).toMatch(/Program received signal SIGTRAP, Trace\/breakpoint trap\.\n0x00000012 in \?\? \(\)\n\$2 = 2\n/);
    expect(out).toMatch(/Program received signal SIGTRAP, Trace\/breakpoint trap\.\n0x0000002f in \?\? \(\)\n\$3 = 0x1\n/); // CR0.PE
    expect(out).toContain('$4 = 0x8');
    expect(out).toContain('$5 = 0xf0037'); // flat 32-bit code: $pc is linear again
    expect(out).toMatch(/cs=0008\(00000000,ffffffff,/); // the flat code descriptor's base and limit
    expect(out).toMatch(/Hardware watchpoint 3: \*\(unsigned\*\)0x800\n\nOld value = 0\nNew value = 3735928559\n/);
    expect(out).toMatch(/Old value = 3735928559\nNew value = 3735928560\n/);
    expect(out).toContain('[Inferior 1 (Remote target) exited with code 01]');
    expect(stopped).toEqual({ kind: 'exited', code: 1 });
    for (const f of ['too long', 'rejected target-supplied', 'Remote failure reply', 'Unexpected swbreak']) expect(out).not.toContain(f);
  });
});
