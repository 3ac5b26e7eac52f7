// The invariant checker of issue 5, over guest physical memory at a moment when the kernel
// is between operations (after a fork, an exit, a page fault — see watch.ts):
//
//  - every frame from LOW_MEM up to the end of memory has a mem_map count equal to the
//    number of things that hold it: user page-table entries (in every task slot's page
//    tables, i.e. tables that page-directory entries point at, not counting head's
//    identity-mapping tables pg0..pg3 below LOW_MEM), page-directory entries (the page
//    tables themselves), and task[] pointers (task_struct pages); a frame holds only one
//    kind of thing;
//  - a frame shared by several page-table entries is read-only in all of them; an entry
//    of a task slot other than 0 that maps a kernel page (below LOW_MEM, shared without a
//    count) is read-only;
//  - frames at or beyond HIGH_MEMORY are USED and held by nothing;
//  - a task slot's directory entries are present only while its task exists and is not a
//    zombie; each task's LDT bases and start_code are nr * 64 MB (task 0: 0), its TSS
//    names its own LDT, the directory at 0, and a kernel stack at the end of its page.
// `checkFreePages` is the third rule: after every child is reaped the free-page count
// equals its value before the first fork.

import type { KernelInspector } from './kernel';

export interface InvariantOptions {
  /** Stop collecting after this many violations (default 50). */
  maxViolations?: number;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Every linear address whose page-table entry (outside head's identity tables) maps `frame`. */
export function entriesMapping(k: KernelInspector, frame: number): { linear: number; rw: boolean }[] {
  const out: { linear: number; rw: boolean }[] = [];
  for (let d = 0; d < 1024; d++) {
    const pde = k.pde(d);
    if ((pde & 1) === 0) continue;
    const table = (pde & 0xfffff000) >>> 0;
    if (k.isKernelTable(table)) continue;
    for (let i = 0; i < 1024; i++) {
      const pte = k.mem.u32(table + i * 4);
      if ((pte & 1) !== 0 && ((pte & 0xfffff000) >>> 0) === frame) out.push({ linear: ((d << 22) | (i << 12)) >>> 0, rw: (pte & 2) !== 0 });
    }
  }
  return out;
}

/** The violations of the invariants above, one line of text each; [] when all hold. */
export function checkInvariants(k: KernelInspector, opts: InvariantOptions = {}): string[] {
  const max = opts.maxViolations ?? 50;
  const out: string[] = [];
  const bad = (s: string) => {
    if (out.length < max) out.push(s);
  };
  const mem = k.mem;
  const high = k.highMemory();
  const managedEnd = k.c.LOW_MEM + k.c.PAGING_PAGES * k.c.PAGE_SIZE;
  if (high <= k.c.LOW_MEM || high > managedEnd || high % k.c.PAGE_SIZE !== 0) {
    return [`HIGH_MEMORY is ${hex(high)}: not a page boundary in (LOW_MEM, 16 MB]`];
  }
  const ptes = new Uint16Array(k.c.PAGING_PAGES);
  const writable = new Uint16Array(k.c.PAGING_PAGES);
  const tables = new Uint16Array(k.c.PAGING_PAGES);
  const structs = new Uint16Array(k.c.PAGING_PAGES);

  // task[]: who exists, and their task_struct pages
  const alive = new Array<boolean>(k.c.NR_TASKS).fill(false);
  const zombie = new Array<boolean>(k.c.NR_TASKS).fill(false);
  const initTask = k.syms.has('init_task') ? k.syms.addr('init_task') : -1;
  for (let nr = 0; nr < k.c.NR_TASKS; nr++) {
    const p = k.taskPointer(nr);
    if (p === 0) {
      if (nr === 0) bad('task[0] is empty');
      continue;
    }
    alive[nr] = true;
    if (nr === 0) {
      if (initTask >= 0 && p !== initTask) bad(`task[0] is ${hex(p)}, not init_task ${hex(initTask)}`);
    } else if (p < k.c.LOW_MEM || p >= high || p % k.c.PAGE_SIZE !== 0) {
      bad(`task[${nr}] = ${hex(p)} is not a page from get_free_page (LOW_MEM..HIGH_MEMORY)`);
    } else {
      structs[(p - k.c.LOW_MEM) >>> 12]++;
    }
    if (!mem.inRam(p, 4096)) continue;
    const t = k.task(nr)!;
    zombie[nr] = t.state === k.c.TASK_ZOMBIE;
    if (t.state < 0 || t.state > k.c.TASK_STOPPED) bad(`task ${nr} (pid ${t.pid}) has state ${t.state}`);
    const base = (nr * k.c.TASK_SIZE) >>> 0;
    if (t.ldt.code.base !== base || t.ldt.data.base !== base) {
      bad(`task ${nr} (pid ${t.pid}): LDT code/data bases ${hex(t.ldt.code.base)}/${hex(t.ldt.data.base)}, expected ${hex(base)}`);
    }
    if (nr !== 0 && t.startCode !== base) bad(`task ${nr} (pid ${t.pid}): start_code ${hex(t.startCode)}, expected ${hex(base)}`);
    const ldtSel = (nr << 4) + (k.c.FIRST_LDT_ENTRY << 3);
    if (t.tss.ldt !== ldtSel) bad(`task ${nr} (pid ${t.pid}): TSS ldt selector 0x${t.tss.ldt.toString(16)}, expected 0x${ldtSel.toString(16)}`);
    if (t.tss.cr3 !== k.at.pgDir) bad(`task ${nr} (pid ${t.pid}): TSS cr3 ${hex(t.tss.cr3)}, not the directory at ${hex(k.at.pgDir)}`);
    if (t.tss.esp0 !== p + k.c.PAGE_SIZE || t.tss.ss0 !== k.c.KERNEL_DS) {
      bad(`task ${nr} (pid ${t.pid}): kernel stack ${t.tss.ss0.toString(16)}:${hex(t.tss.esp0)}, expected 10:${hex(p + k.c.PAGE_SIZE)}`);
    }
  }

  // the directory and every page table it points at
  for (let d = 0; d < 1024; d++) {
    const pde = k.pde(d);
    if ((pde & 1) === 0) continue;
    const slot = d >>> 4;
    const table = (pde & 0xfffff000) >>> 0;
    if (k.isKernelTable(table)) {
      if (table !== k.at.pg0 + d * k.c.PAGE_SIZE) bad(`directory entry ${d} points at head's table ${hex(table)} (only entries 0-3 may, each its own)`);
      continue;
    }
    if (table < k.c.LOW_MEM || table >= high) {
      bad(`directory entry ${d} (task slot ${slot}) points at ${hex(table)}, outside LOW_MEM..HIGH_MEMORY`);
      continue;
    }
    if (!alive[slot]) bad(`directory entry ${d} is present but task slot ${slot} is empty (page tables leaked)`);
    else if (zombie[slot]) bad(`directory entry ${d} is present but task ${slot} is a zombie (its page tables should be freed)`);
    tables[(table - k.c.LOW_MEM) >>> 12]++;
    for (let i = 0; i < 1024; i++) {
      const pte = mem.u32(table + i * 4);
      if ((pte & 1) === 0) continue;
      const frame = (pte & 0xfffff000) >>> 0;
      const linear = ((d << 22) | (i << 12)) >>> 0;
      if (frame < k.c.LOW_MEM) {
        if (slot !== 0 && (pte & 2) !== 0) bad(`${hex(linear)} (task slot ${slot}) maps kernel page ${hex(frame)} writable (uncounted kernel pages must be shared read-only)`);
        continue;
      }
      if (frame >= high) {
        bad(`${hex(linear)} (task slot ${slot}) maps ${hex(frame)}, beyond the end of memory ${hex(high)}`);
        continue;
      }
      const i2 = (frame - k.c.LOW_MEM) >>> 12;
      ptes[i2]++;
      if ((pte & 2) !== 0) writable[i2]++;
    }
  }

  // counts
  const mainStart = k.syms.has('main_memory_start') ? mem.u32(k.syms.addr('main_memory_start')) : k.c.LOW_MEM;
  for (let i = 0; i < k.c.PAGING_PAGES; i++) {
    const frame = k.c.LOW_MEM + i * k.c.PAGE_SIZE;
    const count = mem.u8(k.at.memMap + i);
    const held = ptes[i] + tables[i] + structs[i];
    if (frame >= high || frame < mainStart) {
      if (count !== k.c.USED) bad(`frame ${hex(frame)} lies outside main memory but its mem_map count is ${count}, not USED (${k.c.USED})`);
      continue;
    }
    if (count !== held) {
      bad(`frame ${hex(frame)}: mem_map count ${count}, but ${ptes[i]} page-table entr${ptes[i] === 1 ? 'y' : 'ies'}` +
        ` + ${tables[i]} directory entr${tables[i] === 1 ? 'y' : 'ies'} + ${structs[i]} task_struct pointer${structs[i] === 1 ? '' : 's'} hold it` +
        (ptes[i] ? ` (mapped at ${entriesMapping(k, frame).map((e) => hex(e.linear)).join(', ')})` : ''));
    }
    const kinds = (ptes[i] ? 1 : 0) + (tables[i] ? 1 : 0) + (structs[i] ? 1 : 0);
    if (kinds > 1) bad(`frame ${hex(frame)} is used as more than one thing: ${ptes[i]} user mappings, ${tables[i]} page tables, ${structs[i]} task_structs`);
    if (tables[i] > 1) bad(`frame ${hex(frame)} is the page table of ${tables[i]} directory entries`);
    if (ptes[i] > 1 && writable[i] > 0) {
      const w = entriesMapping(k, frame).filter((e) => e.rw).map((e) => hex(e.linear));
      bad(`frame ${hex(frame)} is shared by ${ptes[i]} page-table entries but writable in ${writable[i]} of them (${w.join(', ')})`);
    }
  }
  return out;
}

/** The third rule: the free-page count now equals `before` (taken before the first fork). */
export function checkFreePages(k: KernelInspector, before: number): string[] {
  const now = k.freePages();
  return now === before ? [] : [`free pages ${now}, but ${before} before the first fork (${now > before ? '+' : ''}${now - before})`];
}
