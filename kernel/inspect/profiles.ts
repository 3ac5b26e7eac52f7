// Kernel profiles: what kernel/inspect needs to know about one kernel to read its objects
// out of guest memory. Two kernels share Linux 0.11's design (64 task slots of 64 MB, one
// page directory at 0, mem_map from LOW_MEM, task_structs in pages of their own) but not
// every offset: forklab's task_struct has its LDT at 716 and three copy-on-write counters at
// the end; Linux 0.11's has `filp[20]` up to 720, the LDT at 720 and the TSS at 744 (`gdb
// -batch -ex 'ptype /o struct task_struct' system.elf` on the kit's kernel prints them).
// A profile is chosen by name (`--profile`) or detected from the symbol map.

import type { SymbolMap } from './symbols';
import * as L from './layout';

/** Constants both profiles define (forklab: kernel/defs.asm; Linux 0.11: its headers). */
export interface KernelConstants {
  PAGE_SIZE: number;
  /** mm/memory.c: LOW_MEM, PAGING_MEMORY >> 12, USED. */
  LOW_MEM: number;
  PAGING_PAGES: number;
  USED: number;
  /** include/linux/sched.h: NR_TASKS, the 64 MB task slot, FIRST_LDT_ENTRY; KERNEL_DS. */
  NR_TASKS: number;
  TASK_SIZE: number;
  FIRST_LDT_ENTRY: number;
  KERNEL_DS: number;
  TASK_ZOMBIE: number;
  TASK_STOPPED: number;
}

/** Offsets in struct task_struct. */
export interface TaskLayout {
  state: number; counter: number; priority: number; signal: number; exitCode: number;
  startCode: number; endCode: number; brk: number; pid: number; father: number;
  pgrp: number; session: number; leader: number; utime: number; stime: number; startTime: number;
  /** ldt[3] and the TSS (struct tss_struct) inside it. */
  ldt: number; tss: number;
  /** forklab's per-task copy-on-write counters (faults, copies, without a copy); none in 0.11. */
  cow: { faults: number; copies: number; nocopy: number } | null;
  size: number;
}

export type ProfileName = 'forklab' | 'linux-0.11';

export interface KernelProfile {
  name: ProfileName;
  /** One line for messages: which kernel this is. */
  title: string;
  constants: KernelConstants;
  task: TaskLayout;
  /** Symbols the inspector reads (all must be in the map). */
  required: readonly string[];
  /** Symbols only this kernel has: the map is this kernel's when all are present. */
  signature: readonly string[];
  /** Kernel-wide copy-on-write counters (forklab's kernel/memory.asm), or none. */
  cowCounters: readonly string[];
  /** The map names user programs' addresses (offsets in a task slot): forklab links its
   *  user programs into the kernel image; Linux 0.11's programs come from the disk. */
  userSymbols: boolean;
}

const SHARED: KernelConstants = {
  PAGE_SIZE: 4096, LOW_MEM: 0x100000, PAGING_PAGES: (15 * 1024 * 1024) >>> 12, USED: 100,
  NR_TASKS: 64, TASK_SIZE: 0x4000000, FIRST_LDT_ENTRY: 4 + 1, KERNEL_DS: 0x10,
  TASK_ZOMBIE: 3, TASK_STOPPED: 4,
};

/** Offsets up to `alarm`..`start_time` are the same in both kernels (0.11's layout). */
const COMMON_TASK = {
  state: 0, counter: 4, priority: 8, signal: 12, exitCode: 532, startCode: 536, endCode: 540, brk: 548,
  pid: 556, father: 560, pgrp: 564, session: 568, leader: 572, utime: 592, stime: 596, startTime: 608,
};

const REQUIRED = ['task', 'current', 'mem_map', 'pg_dir', 'HIGH_MEMORY', 'pg0'] as const;

export const FORKLAB: KernelProfile = {
  name: 'forklab',
  title: "forklab's kernel (kernel/)",
  constants: {
    PAGE_SIZE: L.PAGE_SIZE, LOW_MEM: L.LOW_MEM, PAGING_PAGES: L.PAGING_PAGES, USED: L.USED,
    NR_TASKS: L.NR_TASKS, TASK_SIZE: L.TASK_SIZE, FIRST_LDT_ENTRY: L.FIRST_LDT_ENTRY, KERNEL_DS: L.KERNEL_DS,
    TASK_ZOMBIE: L.TASK_ZOMBIE, TASK_STOPPED: L.TASK_STOPPED,
  },
  task: {
    state: L.T_STATE, counter: L.T_COUNTER, priority: L.T_PRIORITY, signal: L.T_SIGNAL, exitCode: L.T_EXIT_CODE,
    startCode: L.T_START_CODE, endCode: L.T_END_CODE, brk: L.T_BRK, pid: L.T_PID, father: L.T_FATHER,
    pgrp: L.T_PGRP, session: L.T_SESSION, leader: L.T_LEADER, utime: L.T_UTIME, stime: L.T_STIME,
    startTime: L.T_START_TIME, ldt: L.T_LDT, tss: L.T_TSS,
    cow: { faults: L.T_COW_FAULTS, copies: L.T_COW_COPIES, nocopy: L.T_COW_NOCOPY },
    size: L.TASK_STRUCT_SIZE,
  },
  required: REQUIRED,
  signature: ['cow_faults', 'copy_process', 'kernel_end'],
  cowCounters: ['cow_faults', 'cow_copies', 'cow_nocopy', 'cow_shared', 'no_page_faults', 'cow_verify'],
  userSymbols: true,
};

export const LINUX_011: KernelProfile = {
  name: 'linux-0.11',
  title: 'Linux 0.11',
  constants: SHARED,
  task: { ...COMMON_TASK, ldt: 720, tss: 744, cow: null, size: 956 },
  required: REQUIRED,
  signature: ['sys_setup', 'copy_process', 'do_wp_page', 'init_task'],
  cowCounters: [],
  userSymbols: false,
};

export const PROFILES: readonly KernelProfile[] = [FORKLAB, LINUX_011];

/** The profile called `name`; an unknown name is a one-line error listing the known ones. */
export function profileByName(name: string): KernelProfile {
  const p = PROFILES.find((q) => q.name === name);
  if (!p) throw new Error(`unknown kernel profile '${name}' (known: ${PROFILES.map((q) => q.name).join(', ')})`);
  return p;
}

/** The one profile whose signature symbols are all in the map; else a one-line error. */
export function detectProfile(syms: SymbolMap): KernelProfile {
  const fits = PROFILES.filter((p) => p.signature.every((n) => syms.has(n)) && p.required.every((n) => syms.has(n)));
  if (fits.length === 1) return fits[0];
  if (fits.length > 1) throw new Error(`the symbol map fits several kernel profiles (${fits.map((p) => p.name).join(', ')}): choose one`);
  const why = PROFILES.map((p) => `${p.name} needs ${[...p.signature, ...p.required].filter((n) => !syms.has(n)).join(', ')}`).join('; ');
  throw new Error(`the symbol map matches no kernel profile (${why})`);
}
