// Kernel objects read out of guest physical memory through the symbol map: the task
// table, task_structs with their LDT and TSS, page tables of a task slot, mem_map.
// Both profiles' kernels (profiles.ts) run with one page directory at physical 0 that maps
// the first 16 MB identically, so a kernel address (a symbol, a task[] pointer) is a
// physical address.

import { GuestPhysical } from './guest';
import * as L from './layout';
import { detectProfile, type KernelProfile } from './profiles';
import { SymbolMap } from './symbols';
import { walkTables } from '../../emulator/mmu/paging';

export interface Segment {
  base: number;
  /** The last valid offset (byte granular, after the G bit is applied). */
  limit: number;
  /** Access byte (type, S, DPL, P), e.g. 0xfa for user code. */
  access: number;
  /** Granularity 4 KB (G) and default size 32 bits (D). */
  g: boolean;
  d: boolean;
}

export interface Tss {
  backLink: number; esp0: number; ss0: number; cr3: number; eip: number; eflags: number;
  eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number;
  es: number; cs: number; ss: number; ds: number; fs: number; gs: number; ldt: number;
  /** I/O map base (high word of the trace/bitmap dword); 0x8000 = no bitmap. */
  iomapBase: number;
}

export interface TaskInfo {
  nr: number;
  /** Physical (= kernel linear) address of the task_struct. */
  addr: number;
  state: number;
  stateName: string;
  pid: number;
  father: number;
  counter: number;
  priority: number;
  signal: number;
  exitCode: number;
  startCode: number;
  endCode: number;
  brk: number;
  pgrp: number;
  session: number;
  leader: number;
  startTime: number;
  utime: number;
  stime: number;
  ldt: { code: Segment; data: Segment };
  tss: Tss;
  /** The top of the task's kernel stack (tss.esp0: its task_struct page + 4096). */
  kernelStackTop: number;
  /** forklab's per-task copy-on-write counters; null for a kernel without them. */
  cow: { faults: number; copies: number; nocopy: number } | null;
}

export interface PageEntry {
  /** Linear address the entry maps. */
  linear: number;
  /** Physical frame (entry & ~0xfff). */
  frame: number;
  /** The raw page-table entry. */
  raw: number;
  present: boolean;
  rw: boolean;
  user: boolean;
  accessed: boolean;
  dirty: boolean;
  /** Physical address of the page table holding the entry. */
  table: number;
  /** The table is one of the kernel's identity-mapping tables (below LOW_MEM). */
  kernelTable: boolean;
  /** mem_map count of the frame, or null for a frame outside mem_map (below LOW_MEM). */
  count: number | null;
}

export interface CowStatistics {
  wpFaults: number;
  copies: number;
  nocopy: number;
  shared: number;
  noPage: number;
  verify: number;
}

export function decodeDescriptor(lo: number, hi: number): Segment {
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  const g = (hi & 0x800000) !== 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (g) limit = ((limit << 12) | 0xfff) >>> 0;
  return { base, limit, access: (hi >>> 8) & 0xff, g, d: (hi & 0x400000) !== 0 };
}

export class KernelInspector {
  readonly mem: GuestPhysical;
  readonly syms: SymbolMap;
  readonly profile: KernelProfile;
  /** The profile's constants (LOW_MEM, PAGING_PAGES, NR_TASKS...). */
  readonly c: KernelProfile['constants'];
  /** Addresses of the kernel objects this inspector reads. */
  readonly at: { task: number; current: number; memMap: number; pgDir: number; highMemory: number; pg0: number };

  /** `profile` defaults to the one the symbol map identifies (a one-line error if none). */
  constructor(ram: Uint8Array | GuestPhysical, symbols: SymbolMap, profile: KernelProfile = detectProfile(symbols)) {
    this.mem = ram instanceof GuestPhysical ? ram : new GuestPhysical(ram);
    this.syms = symbols;
    this.profile = profile;
    this.c = profile.constants;
    const missing = profile.required.filter((n) => !symbols.has(n));
    if (missing.length) throw new Error(`kernel symbol "${missing[0]}" is not in the symbol map (the ${profile.name} profile needs ${missing.join(', ')})`);
    this.at = {
      task: symbols.addr('task'),
      current: symbols.addr('current'),
      memMap: symbols.addr('mem_map'),
      pgDir: symbols.addr('pg_dir'),
      highMemory: symbols.addr('HIGH_MEMORY'),
      pg0: symbols.addr('pg0'),
    };
  }

  /** task[nr]: the task_struct address, 0 for an empty slot. */
  taskPointer(nr: number): number {
    return this.mem.u32(this.at.task + nr * 4);
  }

  /** The slot number of `current`, or -1 if it is not in task[]. */
  currentNr(): number {
    const cur = this.mem.u32(this.at.current);
    for (let nr = 0; nr < this.c.NR_TASKS; nr++) if (this.taskPointer(nr) === cur) return nr;
    return -1;
  }

  /** The task in slot nr, or null for an empty slot. */
  task(nr: number): TaskInfo | null {
    if (!(nr >= 0 && nr < this.c.NR_TASKS)) throw new Error(`task slot ${nr} is outside 0..${this.c.NR_TASKS - 1}`);
    const p = this.taskPointer(nr);
    return p === 0 ? null : this.taskAt(nr, p);
  }

  /** Every occupied slot of task[], in slot order. */
  tasks(): TaskInfo[] {
    const out: TaskInfo[] = [];
    for (let nr = 0; nr < this.c.NR_TASKS; nr++) {
      const t = this.task(nr);
      if (t) out.push(t);
    }
    return out;
  }

  private taskAt(nr: number, p: number): TaskInfo {
    const m = this.mem;
    const T = this.profile.task;
    const f = (off: number) => m.i32(p + off);
    const desc = (i: number) => decodeDescriptor(m.u32(p + T.ldt + i * 8), m.u32(p + T.ldt + i * 8 + 4));
    const t = p + T.tss;
    const r = (off: number) => m.u32(t + off);
    const seg = (off: number) => r(off) & 0xffff;
    const state = f(T.state);
    return {
      nr,
      addr: p,
      state,
      stateName: L.STATE_NAMES[state] ?? `state ${state}`,
      pid: f(T.pid),
      father: f(T.father),
      counter: f(T.counter),
      priority: f(T.priority),
      signal: m.u32(p + T.signal),
      exitCode: f(T.exitCode),
      startCode: m.u32(p + T.startCode),
      endCode: m.u32(p + T.endCode),
      brk: m.u32(p + T.brk),
      pgrp: f(T.pgrp),
      session: f(T.session),
      leader: f(T.leader),
      startTime: f(T.startTime),
      utime: f(T.utime),
      stime: f(T.stime),
      ldt: { code: desc(1), data: desc(2) },
      tss: {
        backLink: seg(L.TSS_BACK_LINK), esp0: r(L.TSS_ESP0), ss0: seg(L.TSS_SS0), cr3: r(L.TSS_CR3),
        eip: r(L.TSS_EIP), eflags: r(L.TSS_EFLAGS), eax: r(L.TSS_EAX), ecx: r(L.TSS_ECX), edx: r(L.TSS_EDX),
        ebx: r(L.TSS_EBX), esp: r(L.TSS_ESP), ebp: r(L.TSS_EBP), esi: r(L.TSS_ESI), edi: r(L.TSS_EDI),
        es: seg(L.TSS_ES), cs: seg(L.TSS_CS), ss: seg(L.TSS_SS), ds: seg(L.TSS_DS), fs: seg(L.TSS_FS),
        gs: seg(L.TSS_GS), ldt: seg(L.TSS_LDT), iomapBase: r(L.TSS_TRACE_BITMAP) >>> 16,
      },
      kernelStackTop: r(L.TSS_ESP0),
      cow: T.cow ? { faults: f(T.cow.faults), copies: f(T.cow.copies), nocopy: f(T.cow.nocopy) } : null,
    };
  }

  /** The page-directory entry `index` (0..1023). */
  pde(index: number): number {
    return this.mem.u32(this.at.pgDir + index * 4);
  }

  /** Is `table` one of head's page tables pg0..pg3 (the identity mapping of 16 MB)? */
  isKernelTable(table: number): boolean {
    return table >= this.at.pg0 && table < this.at.pg0 + 4 * this.c.PAGE_SIZE && table < this.c.LOW_MEM;
  }

  /** Every present page of task slot nr's 64 MB (directory entries 16*nr..16*nr+15).
   *  For slot 0 this includes the kernel's identity mapping (kernelTable = true). */
  pages(nr: number): PageEntry[] {
    if (!(nr >= 0 && nr < this.c.NR_TASKS)) throw new Error(`task slot ${nr} is outside 0..${this.c.NR_TASKS - 1}`);
    const out: PageEntry[] = [];
    for (let d = nr * 16; d < nr * 16 + 16; d++) {
      const pde = this.pde(d);
      if ((pde & 1) === 0) continue;
      const table = (pde & 0xfffff000) >>> 0;
      const kernelTable = this.isKernelTable(table);
      for (let i = 0; i < 1024; i++) {
        const pte = this.mem.u32(table + i * 4);
        if ((pte & 1) === 0) continue;
        const frame = (pte & 0xfffff000) >>> 0;
        out.push({
          linear: ((d << 22) | (i << 12)) >>> 0,
          frame,
          raw: pte,
          present: true,
          rw: (pte & 2) !== 0,
          user: (pte & 4) !== 0,
          accessed: (pte & 0x20) !== 0,
          dirty: (pte & 0x40) !== 0,
          table,
          kernelTable,
          count: this.countOf(frame),
        });
      }
    }
    return out;
  }

  /** The physical address a linear address maps to through the kernel's directory (the
   *  observers' page walk: no fault, no A/D bits set), or null when an entry is absent. */
  translate(linear: number): number | null {
    const p = walkTables((a) => this.mem.u32(a), this.at.pgDir, linear >>> 0).physical;
    return p < 0 ? null : p;
  }

  /** A dword at a linear address (through the page tables), or null if unmapped. */
  readLinear32(linear: number): number | null {
    if ((linear & 0xfff) > 0xffc) {
      const lo = this.translate(linear), hi = this.translate(linear + 3);
      if (lo === null || hi === null) return null;
      let v = 0;
      for (let i = 0; i < 4; i++) v |= this.mem.u8(this.translate(linear + i)!) << (8 * i);
      return v >>> 0;
    }
    const p = this.translate(linear);
    return p === null ? null : this.mem.u32(p);
  }

  /** mem_map[MAP_NR(frame)] for a frame in [LOW_MEM, LOW_MEM + 15 MB), else null. */
  countOf(frame: number): number | null {
    if (frame < this.c.LOW_MEM || frame >= this.c.LOW_MEM + this.c.PAGING_PAGES * this.c.PAGE_SIZE) return null;
    return this.mem.u8(this.at.memMap + ((frame - this.c.LOW_MEM) >>> 12));
  }

  /** A copy of mem_map (PAGING_PAGES counts). */
  memMap(): Uint8Array {
    return this.mem.bytes(this.at.memMap, this.c.PAGING_PAGES);
  }

  /** Pages the allocator can hand out (mem_map entries equal to 0), as nr_free_pages. */
  freePages(): number {
    let n = 0;
    for (let i = 0; i < this.c.PAGING_PAGES; i++) if (this.mem.u8(this.at.memMap + i) === 0) n++;
    return n;
  }

  /** HIGH_MEMORY: the end of physical memory as mem_init was told. */
  highMemory(): number {
    return this.mem.u32(this.at.highMemory);
  }

  /** The kernel's copy-on-write counters (forklab's kernel/memory.asm), or null for a
   *  kernel without them. */
  cowStatistics(): CowStatistics | null {
    if (this.profile.cowCounters.length === 0) return null;
    const v = (n: string) => this.mem.u32(this.syms.addr(n));
    return {
      wpFaults: v('cow_faults'), copies: v('cow_copies'), nocopy: v('cow_nocopy'),
      shared: v('cow_shared'), noPage: v('no_page_faults'), verify: v('cow_verify'),
    };
  }

  /** One line per task: "nr pid father state eip esp ldt-base". */
  formatTasks(): string {
    return this.tasks().map((t) =>
      `task ${String(t.nr).padStart(2)} pid ${String(t.pid).padStart(5)} father ${String(t.father).padStart(5)} ` +
      `${t.stateName.padEnd(15)} eip ${t.tss.eip.toString(16).padStart(8, '0')} base ${t.ldt.data.base.toString(16).padStart(8, '0')}`,
    ).join('\n');
  }
}
