// The Machine's library API (issue 6, item 6): step, runUntil, memory through the page
// tables that never faults and leaves no trace, hooks scoped to ranges, waitForSerial — on
// the forklab kernel, and checked against what the guest does without them.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { buildImage } from '../tools/build-image';
import { Machine, DiskImage, floppyGeometry, SymbolMap, KernelInspector } from '../index';

const ROOT = resolve(import.meta.dirname, '..');
let image: Uint8Array;
let sym: SymbolMap;

const boot = () => new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) });

beforeAll(() => {
  const b = buildImage(ROOT);
  image = b.image;
  sym = new SymbolMap(b.symbols);
});

describe('Machine: step and runUntil', () => {
  it('step() executes exactly one instruction from the reset vector', () => {
    const m = boot();
    expect(m.instructions).toBe(0);
    expect((m.cpu.segBase[1] >>> 0) + m.cpu.eip).toBe(0xfffffff0);
    expect(m.step().kind).toBe('limit');
    expect(m.instructions).toBe(1);
    expect((m.cpu.segBase[1] >>> 0) + m.cpu.eip).not.toBe(0xfffffff0);
  });

  it('runUntil({ address }) stops before the instruction there; a budget ends it with limit', () => {
    const m = boot();
    const cp = sym.addr('copy_process');
    const r = m.runUntil({ address: cp });
    expect(r).toEqual({ kind: 'reached', address: cp });
    expect(m.cpu.eip).toBe(cp);
    // not executed yet: copy_process's first instruction is push ebp, the return address is on top
    const ret = m.readLinear32(m.cpu.regs[4]);
    expect(ret).not.toBeNull();
    expect(ret! > sym.addr('sys_fork') && ret! < cp).toBe(true);
    // asking again at the same place returns at once
    const n = m.instructions;
    expect(m.runUntil({ address: cp }).kind).toBe('reached');
    expect(m.instructions).toBe(n);
    // a target never reached within the budget
    expect(m.runUntil({ address: 0xfffffff0, maxInstructions: 1000 }).kind).toBe('limit');
    expect(m.instructions).toBe(n + 1000);
    expect(m.cpu.hooks).toBeNull(); // runUntil leaves no hook behind
  });

  it('runUntil(predicate) sees linear addresses: the first user-mode instruction of task 1', () => {
    const m = boot();
    const r = m.runUntil((_m, lin) => lin >= 0x4000000 && lin < 0x8000000);
    expect(r.kind).toBe('reached');
    expect(m.cpu.cpl).toBe(3);
    expect(r.kind === 'reached' && r.address).toBe((m.cpu.segBase[1] + m.cpu.eip) >>> 0);
  });
});

describe('Machine: memory', () => {
  it('reads linear memory through the page tables without faulting or setting Accessed bits', () => {
    const m = boot();
    expect(m.runUntil({ address: sym.addr('copy_process.out') }).kind).toBe('reached');
    const k = new KernelInspector(m.mem.u8, sym);
    // a present page whose PTE has Accessed clear: reading it must leave the PTE as it is
    const quiet = k.pages(1).find((p) => !p.accessed && !p.kernelTable);
    expect(quiet, 'task 1 has a page not yet accessed').toBeDefined();
    const pteAddr = quiet!.table + ((quiet!.linear >>> 12) & 0x3ff) * 4;
    const before = k.mem.u32(pteAddr);
    const bytes = m.readLinear(quiet!.linear, 16)!;
    expect(bytes).toEqual(m.readPhysical(quiet!.frame, 16));
    expect(k.mem.u32(pteAddr)).toBe(before);
    expect(m.translate(quiet!.linear + 5)).toBe(quiet!.frame + 5);
    // unmapped: null / false / -1, and the CPU saw no fault
    const cr2 = m.cpu.cr2;
    expect(m.readLinear(0x3f000000, 4)).toBeNull();
    expect(m.readLinear32(0x3f000000)).toBeNull();
    expect(m.writeLinear(0x3f000000, [1, 2, 3])).toBe(false);
    expect(m.translate(0x3f000000)).toBe(-1);
    expect(m.cpu.cr2).toBe(cr2);
  });

  it('writes physical and linear memory, and names an address outside memory in one line', () => {
    const m = boot();
    m.writePhysical(0x500, [0xde, 0xad, 0xbe, 0xef]);
    expect([...m.readPhysical(0x500, 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(m.mem.u8[0x501]).toBe(0xad);
    expect(m.writeLinear(0x600, Uint8Array.of(7, 8))).toBe(true); // paging off: linear = physical
    expect(m.readLinear32(0x600)! & 0xffff).toBe(0x0807);
    expect(() => m.readPhysical(0x7ffff000, 4)).toThrow(/^physical 0x7ffff000\+4: outside memory$/);
    expect(() => m.writePhysical(0x7ffff000, [1])).toThrow(RangeError);
  });
});

describe('Machine: hooks and serial', () => {
  it('hooks see only their range, and the guest runs exactly as without them', () => {
    const N = 6_000_000;
    const plain = boot();
    expect(plain.run(N).kind).toBe('limit');

    const m = boot();
    const cp = sym.addr('copy_process');
    const insn: number[] = [];
    const ints = new Map<number, number>();
    const ports: string[] = [];
    m.hook('instruction', (lin) => void insn.push(lin), { begin: cp, end: cp });
    m.hook('interrupt', (v) => void ints.set(v, (ints.get(v) ?? 0) + 1), { begin: 0x80, end: 0x80 });
    m.hook('port', (kind, port, size, value) => void ports.push(`${kind} ${port.toString(16)} ${size} ${value}`), { begin: 0x3f8, end: 0x3f8 });
    expect(m.run(N).kind).toBe('limit');
    expect(m.instructions).toBe(plain.instructions);
    expect(m.serialOutput()).toBe(plain.serialOutput());
    expect(m.cpu.state()).toEqual(plain.cpu.state());
    expect(Buffer.from(m.mem.u8).equals(Buffer.from(plain.mem.u8))).toBe(true);
    // forks entered copy_process; system calls are INT 0x80 and nothing else was reported
    expect(insn.length).toBeGreaterThan(5);
    expect(insn.every((a) => a === cp)).toBe(true);
    expect([...ints.keys()]).toEqual([0x80]);
    expect(ints.get(0x80)!).toBeGreaterThan(insn.length);
    // COM1's data port: one OUT per byte of the console (reads of it would be 'in')
    const outs = ports.filter((p) => p.startsWith('out 3f8 1 '));
    // (plus the baud divisor's low byte, written there while DLAB is set, and the byte or
    // two the UART may still hold in its holding and shift registers)
    const written = outs.map((p) => String.fromCharCode(Number(p.split(' ')[3]))).join('');
    const serial = m.serialOutput();
    expect(serial.length).toBeGreaterThan(100);
    expect(written.includes(serial), JSON.stringify(written.slice(0, 8))).toBe(true);
    expect(written.length - serial.length).toBeLessThanOrEqual(4);
  });

  it('hooks read the exact instruction count in the middle of a block, as with an instruction hook attached', () => {
    // every interrupt and port access of the first 3 M instructions, with the count each saw:
    // the fast path (no instruction hook) must report what the one-at-a-time path reports
    const events = (withInstructionHook: boolean) => {
      const m = boot();
      const seen: string[] = [];
      m.hook('interrupt', (v) => void seen.push(`int ${v} @${m.instructions}`));
      m.hook('port', (kind, port) => void seen.push(`${kind} ${port} @${m.instructions}`));
      if (withInstructionHook) m.hook('instruction', () => false);
      m.run(3_000_000);
      return seen;
    };
    const fast = events(false), slow = events(true);
    expect(fast.length).toBeGreaterThan(1000);
    expect(fast).toEqual(slow);
  });

  it('a guest looping through #UD ends in the same state whether the block loop or the one-at-a-time path delivers it', () => {
    // boot sector: count in BX, then an invalid opcode (0F 0B, UD2, is not a 386 instruction);
    // the BIOS's #UD handler returns to it, so the loop runs #UD, IRET, #UD...
    const sector = new Uint8Array(1474560);
    sector.set([0x43, 0x0f, 0x0b], 0); // inc bx ; db 0x0f, 0x0b
    sector[510] = 0x55; sector[511] = 0xaa;
    const end = (withInstructionHook: boolean) => {
      const m = new Machine({ fda: new DiskImage(sector.slice(), floppyGeometry(sector.length)!) });
      const vectors: number[] = [];
      m.hook('interrupt', (v) => void (vectors.length < 50 && vectors.push(v)));
      if (withInstructionHook) m.hook('instruction', () => false);
      m.run(200_000);
      return { state: m.cpu.state(), stack: m.readPhysical(0, 0x8000), vectors, icount: m.instructions };
    };
    const fast = end(false), slow = end(true);
    expect(fast.vectors).toContain(6);
    expect(fast.icount).toBe(slow.icount);
    expect(fast.vectors).toEqual(slow.vectors);
    expect(fast.state).toEqual(slow.state);
    expect(Buffer.from(fast.stack).equals(Buffer.from(slow.stack))).toBe(true);
  });

  it('a memory hook sees the accesses that overlap its range, with their kind and value', () => {
    const m = boot();
    const taskTable = sym.addr('task');
    const seen: string[] = [];
    // task[1..63]: copy_process stores the new task_struct's address in task[nr]
    m.hook('memory', (kind, lin, size, value) => void seen.push(`${kind} ${lin - taskTable} ${size} ${value}`), { begin: taskTable + 4, end: taskTable + 64 * 4 - 1 });
    expect(m.runUntil({ address: sym.addr('copy_process.out') }).kind).toBe('reached');
    const k = new KernelInspector(m.mem.u8, sym);
    const child = k.tasks().find((t) => t.pid === 1)!;
    expect(seen).toContain(`w ${child.nr * 4} 4 ${child.addr}`);
    // find_empty_process read the slots before; nothing outside the range was reported
    expect(seen.some((s) => s.startsWith('r '))).toBe(true);
    for (const s of seen) {
      const off = Number(s.split(' ')[1]);
      expect(off >= 1 && off < 256).toBe(true);
    }
  });

  it('remove() detaches: no CPU hook and no port observer remain', () => {
    const m = boot();
    let n = 0;
    const a = m.hook('instruction', () => void n++);
    const b = m.hook('port', () => void n++);
    m.run(1000);
    expect(n).toBeGreaterThan(1000);
    a.remove();
    b.remove();
    a.remove(); // twice is harmless
    expect(m.cpu.hooks).toBeNull();
    const seen = n;
    m.run(100_000);
    expect(n).toBe(seen);
    expect(() => m.hook('bogus' as 'port', () => {})).toThrow(/^unknown hook kind 'bogus'$/);
  });

  it('an instruction hook returning true stops run() before that instruction', () => {
    const m = boot();
    const target = sym.addr('copy_process');
    m.hook('instruction', () => true, { begin: target, end: target });
    expect(m.run(60_000_000).kind).toBe('stopped');
    expect(m.cpu.eip).toBe(target);
  });

  it('waitForSerial runs until the text appears, consuming it; false on the budget', () => {
    const m = boot();
    expect(m.waitForSerial('PASS fork-cow')).toBe(true);
    const out = m.serialOutput();
    expect(out.endsWith('PASS fork-cow') || out.slice(out.lastIndexOf('PASS fork-cow')).length < 4).toBe(true);
    const at = m.instructions;
    // the same text again: the next occurrence (there is none) — the budget ends it
    expect(m.waitForSerial('PASS fork-cow', 200_000)).toBe(false);
    expect(m.instructions).toBe(at + 200_000);
    expect(m.waitForSerial('every check passed')).toBe(true);
    expect(m.screenText()).toContain('forklab');
  });
});
