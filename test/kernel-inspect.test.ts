// kernel/inspect: its constants agree with kernel/defs.asm, it reads the task table, a
// fork's result and page tables out of a real run, and its invariant checker finds
// corruptions planted in guest memory (so that finding nothing means something).
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';
import {
  DEFS_ASM_CONSTANTS, KernelInspector, SymbolMap, checkFreePages, checkInvariants, decodeDescriptor,
  LOW_MEM, NR_TASKS, PAGING_PAGES, TASK_RUNNING, TASK_SIZE, TASK_ZOMBIE, USER_CS,
} from '../kernel/inspect';
import { forklabMachine } from './kernel-expect';
import type { Machine } from '../emulator/machine';

const ROOT = resolve(import.meta.dirname, '..');

/** `NAME equ EXPR` of defs.asm, evaluated (numbers, names defined above, * / + - << >>). */
function defsAsm(): Map<string, number> {
  const vals = new Map<string, number>();
  for (const line of readFileSync(resolve(ROOT, 'kernel/defs.asm'), 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+equ\s+([^;]+)/.exec(line);
    if (!m) continue;
    const expr = m[2].trim().replace(/0x[0-9a-f]+|[0-9]+|[A-Za-z_][A-Za-z0-9_]*/gi, (n) => {
      if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(n)) return n;
      const v = vals.get(n);
      if (v === undefined) throw new Error(`defs.asm: ${m[1]} uses unknown ${n}`);
      return String(v);
    });
    if (!/^[0-9a-fA-Fx\s*/+\-<>()]+$/.test(expr)) throw new Error(`defs.asm: cannot evaluate ${m[1]} = ${expr}`);
    vals.set(m[1], Number(new Function(`return (${expr}) | 0`)()));
  }
  return vals;
}

describe('kernel/inspect constants', () => {
  it('every constant equals the value kernel/defs.asm gives it', () => {
    const defs = defsAsm();
    expect(defs.size).toBeGreaterThan(100);
    for (const [name, value] of Object.entries(DEFS_ASM_CONSTANTS)) {
      expect(defs.has(name), `${name} is not in defs.asm`).toBe(true);
      expect(value, name).toBe(defs.get(name));
    }
    expect(Object.keys(DEFS_ASM_CONSTANTS).length).toBeGreaterThan(60);
  });

  it('decodes descriptors: task 0\'s user code (640 KB, 4 KB granular) and a byte-granular one', () => {
    // base 0, limit 0x9f pages, access 0xfa, G and D
    expect(decodeDescriptor(0x0000009f, 0x00c0fa00)).toEqual({ base: 0, limit: 0x9ffff, access: 0xfa, g: true, d: true });
    expect(decodeDescriptor(0x56781234, 0x9a004012)).toEqual({ base: 0x9a125678, limit: 0x1234, access: 0x40, g: false, d: false });
  });

  it('parses a kernel.map, and names a bad line or a missing symbol in one line', () => {
    const map = SymbolMap.parse('00000000 pg_dir\n000071D0 task\n\n');
    expect(map.addr('task')).toBe(0x71d0);
    expect(map.size).toBe(2);
    expect(() => map.addr('nope')).toThrow(/^kernel symbol "nope" is not in the symbol map$/);
    expect(() => SymbolMap.parse('00000000 pg_dir\nzzz task\n')).toThrow(/^symbol map:2: expected "XXXXXXXX name" or nm's/);
  });
});

describe('kernel/inspect on a running kernel', () => {
  let machine: Machine;
  let k: KernelInspector;
  let childNr = -1;

  beforeAll(() => {
    const { image, symbols } = buildImage(ROOT);
    // the symbol map as build/kernel.map holds it, read back
    const syms = SymbolMap.parse(formatSymbolMap(symbols));
    ({ machine } = forklabMachine(image));
    k = new KernelInspector(machine.mem.u8, syms);
    // stop when init's first fork has returned from copy_process
    const out = syms.addr('copy_process.out');
    machine.cpu.setHooks({
      beforeInstruction: (lin) => lin === out && k.task(k.currentNr())?.pid === 1,
    });
    const stop = machine.run(30_000_000);
    expect(stop.kind).toBe('stopped');
    machine.cpu.setHooks(null);
    childNr = k.tasks().find((t) => t.pid !== 0 && t.pid !== 1)!.nr;
  }, 60_000);

  it('reads the task table: task 0, init (pid 1, slot 1) and its first child', () => {
    const tasks = k.tasks();
    expect(tasks.map((t) => t.pid)).toEqual([0, 1, 2]);
    expect(k.currentNr()).toBe(1);
    const [t0, init, child] = tasks;
    expect(t0.nr).toBe(0);
    expect(t0.addr).toBe(k.syms.addr('init_task'));
    expect(t0.ldt.code).toMatchObject({ base: 0, limit: 0x9ffff, g: true, d: true });
    expect(t0.ldt.data).toMatchObject({ base: 0, limit: 0x9ffff, g: true, d: true });
    // type bytes 0xfa and 0xf2 (the CPU sets the Accessed bit when it loads a selector)
    expect(t0.ldt.code.access & 0xfe).toBe(0xfa);
    expect(t0.ldt.data.access & 0xfe).toBe(0xf2);
    expect(init).toMatchObject({ nr: 1, father: 0, state: TASK_RUNNING, startCode: TASK_SIZE });
    expect(child).toMatchObject({ nr: childNr, pid: 2, father: 1, state: TASK_RUNNING, stateName: 'running' });
    expect(child.addr).toBeGreaterThanOrEqual(LOW_MEM);
    expect(child.kernelStackTop).toBe(child.addr + 4096);
  });

  it('reads the child\'s TSS as copy_process filled it: eax 0, the parent\'s user registers, its own LDT', () => {
    const child = k.task(childNr)!;
    // copy_process(nr, ebp, edi, esi, gs, ret, ebx, ecx, edx, fs, es, ds, eip, cs, eflags, esp, ss)
    const ebp = machine.cpu.regs[5];
    const arg = (i: number) => k.mem.u32(ebp + 8 + i * 4);
    expect(arg(0)).toBe(childNr);
    expect(child.tss).toMatchObject({
      eax: 0, ebp: arg(1), edi: arg(2), esi: arg(3), gs: arg(4) & 0xffff, ebx: arg(6), ecx: arg(7), edx: arg(8),
      fs: arg(9) & 0xffff, es: arg(10) & 0xffff, ds: arg(11) & 0xffff, eip: arg(12), cs: USER_CS, eflags: arg(14),
      esp: arg(15), ss: arg(16) & 0xffff, ldt: (childNr << 4) + 0x28, cr3: 0, ss0: 0x10, backLink: 0, iomapBase: 0x8000,
    });
    expect(child.ldt.code.base).toBe(childNr * TASK_SIZE);
    expect(child.ldt.data.base).toBe(childNr * TASK_SIZE);
    expect(child.ldt.data.limit).toBe(k.task(1)!.ldt.data.limit);
    // fork() returns the child's pid to the parent: copy_process's eax
    expect(machine.cpu.regs[0]).toBe(2);
  });

  it('reads page tables: the child shares every page of init, read-only in both, counted twice', () => {
    const parent = k.pages(1);
    const child = k.pages(childNr);
    expect(child.length).toBe(parent.length);
    expect(child.length).toBeGreaterThan(10);
    for (let i = 0; i < child.length; i++) {
      const p = parent[i], c = child[i];
      expect(c.linear - childNr * TASK_SIZE).toBe(p.linear - TASK_SIZE);
      expect(c.frame).toBe(p.frame);
      expect(c.rw).toBe(false);
      expect(c.user).toBe(true);
      if (c.frame >= LOW_MEM) {
        expect(p.rw).toBe(false);
        expect(c.count).toBe(2);
      } else {
        expect(c.count).toBeNull(); // kernel pages: shared without a count
      }
    }
    // init's own copies (its data and stack) are above LOW_MEM
    expect(parent.filter((p) => p.frame >= LOW_MEM).length).toBeGreaterThan(3);
    // the page walk agrees with the table listing
    const e = child.find((c) => c.frame >= LOW_MEM)!;
    expect(k.translate(e.linear + 0x123)).toBe(e.frame + 0x123);
    expect(k.readLinear32(e.linear)).toBe(k.mem.u32(e.frame));
    expect(k.translate(childNr * TASK_SIZE + 0x3000000)).toBeNull();
    // task 0's slot holds head's identity mapping of 16 MB
    const t0 = k.pages(0);
    expect(t0.length).toBe(4096);
    expect(t0.every((p) => p.kernelTable && p.frame === p.linear)).toBe(true);
  });

  it('mem_map and the free-page count agree with the kernel\'s nr_free_pages', () => {
    const mm = k.memMap();
    expect(mm.length).toBe(PAGING_PAGES);
    expect(k.freePages()).toBe(mm.filter((c) => c === 0).length);
    expect(k.highMemory()).toBe(16 * 1024 * 1024);
    // init marked the count before its first fork; this fork took 1 task_struct + 1 page table
    expect(k.freePages()).toBe(k.mem.u32(k.syms.addr('free_pages_before')) - 2);
    expect(k.cowStatistics()!.shared).toBeGreaterThan(3);
  });

  it('finds no violation in a consistent kernel', () => {
    expect(checkInvariants(k)).toEqual([]);
  });

  describe('finds corruptions planted in guest memory', () => {
    const planted = (poke: () => () => void): string[] => {
      const undo = poke();
      try {
        return checkInvariants(k);
      } finally {
        undo();
        expect(checkInvariants(k)).toEqual([]);
      }
    };
    const sharedFrame = () => k.pages(childNr).find((p) => p.frame >= LOW_MEM)!;
    const u8 = () => machine.mem.u8;
    /** Writes a dword at any (possibly unaligned) physical address. */
    const poke32 = (a: number, v: number) => {
      for (let i = 0; i < 4; i++) machine.mem.u8[a + i] = (v >>> (8 * i)) & 0xff;
    };

    it('a mem_map count one too high', () => {
      const e = sharedFrame();
      const at = k.at.memMap + ((e.frame - LOW_MEM) >>> 12);
      const v = planted(() => { u8()[at]++; return () => { u8()[at]--; }; });
      expect(v).toEqual([expect.stringMatching(new RegExp(`^frame 0x${e.frame.toString(16).padStart(8, '0')}: mem_map count 3, but 2 page-table entries .*mapped at 0x0${(TASK_SIZE + (e.linear - childNr * TASK_SIZE)).toString(16)}`))]);
    });

    it('a free page that is still mapped', () => {
      const e = sharedFrame();
      const at = k.at.memMap + ((e.frame - LOW_MEM) >>> 12);
      const v = planted(() => { const old = u8()[at]; u8()[at] = 0; return () => { u8()[at] = old; }; });
      expect(v.join('\n')).toMatch(/mem_map count 0, but 2 page-table entries/);
    });

    it('a shared page writable in one of its entries', () => {
      const e = sharedFrame();
      const pteAt = e.table + ((e.linear >>> 12) & 0x3ff) * 4;
      const v = planted(() => { u8()[pteAt] |= 2; return () => { u8()[pteAt] &= ~2; }; });
      expect(v).toEqual([expect.stringMatching(/is shared by 2 page-table entries but writable in 1 of them/)]);
    });

    it('a kernel page mapped writable into a user slot', () => {
      const e = k.pages(childNr).find((p) => p.frame < LOW_MEM)!;
      const pteAt = e.table + ((e.linear >>> 12) & 0x3ff) * 4;
      const v = planted(() => { u8()[pteAt] |= 2; return () => { u8()[pteAt] &= ~2; }; });
      expect(v).toEqual([expect.stringMatching(/maps kernel page .* writable/)]);
    });

    it('a task slot emptied while its page tables stay (a leak), and its task_struct page', () => {
      const at = k.at.task + childNr * 4;
      const v = planted(() => {
        const old = k.mem.u32(at);
        poke32(at, 0);
        return () => poke32(at, old);
      });
      const text = v.join('\n');
      expect(text).toMatch(new RegExp(`directory entry ${childNr * 16} is present but task slot ${childNr} is empty`));
      expect(text).toMatch(/mem_map count 1, but 0 page-table entries \+ 0 directory entries \+ 0 task_struct pointers/);
    });

    it('a zombie that kept its page tables', () => {
      const at = k.taskPointer(childNr);
      const v = planted(() => { poke32(at, TASK_ZOMBIE); return () => poke32(at, TASK_RUNNING); });
      expect(v.join('\n')).toMatch(/is present but task \d+ is a zombie/);
    });

    it('a child LDT in another task\'s slot', () => {
      const at = k.taskPointer(childNr) + 716 + 8 + 7; // T_LDT, descriptor 1, base bits 31..24
      const v = planted(() => { const old = u8()[at]; u8()[at] ^= 0x40; return () => { u8()[at] = old; }; });
      expect(v.join('\n')).toMatch(/LDT code\/data bases .* expected 0x0[48]000000/);
    });

    it('free pages that were not given back', () => {
      expect(checkFreePages(k, k.freePages())).toEqual([]);
      expect(checkFreePages(k, k.freePages() + 2)).toEqual([expect.stringMatching(/^free pages \d+, but \d+ before the first fork \(-2\)$/)]);
    });
  });

  it('only reads: inspecting changes no byte of guest memory', () => {
    const before = machine.mem.u8.slice();
    k.tasks();
    for (let nr = 0; nr < NR_TASKS; nr++) k.pages(nr);
    checkInvariants(k);
    k.translate(0x4000000);
    expect(Buffer.compare(Buffer.from(machine.mem.u8), Buffer.from(before))).toBe(0);
  });
});
