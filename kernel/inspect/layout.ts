// Constants and data layouts of the forklab kernel, as kernel/defs.asm defines them.
// NASM's `equ` constants do not reach the symbol map (build/kernel.map lists labels only),
// so they are written down once here; test/kernel-inspect.test.ts reads kernel/defs.asm
// and fails if any value below differs from it. Keep the names of defs.asm.

// ---- memory (spec §1) ----
export const PAGE_SIZE = 4096;
export const LOW_MEM = 0x100000;
export const PAGING_MEMORY = 15 * 1024 * 1024;
export const PAGING_PAGES = PAGING_MEMORY >>> 12; // 3840 entries of mem_map
export const USED = 100;
export const TASK_SIZE = 0x4000000;
export const MAX_MEMORY = 16 * 1024 * 1024;

// ---- selectors ----
export const KERNEL_CS = 0x08;
export const KERNEL_DS = 0x10;
export const USER_CS = 0x0f;
export const USER_DS = 0x17;
export const FIRST_TSS_ENTRY = 4;
export const FIRST_LDT_ENTRY = 5;

// ---- tasks ----
export const NR_TASKS = 64;
export const TASK_RUNNING = 0;
export const TASK_INTERRUPTIBLE = 1;
export const TASK_UNINTERRUPTIBLE = 2;
export const TASK_ZOMBIE = 3;
export const TASK_STOPPED = 4;
export const STATE_NAMES = ['running', 'interruptible', 'uninterruptible', 'zombie', 'stopped'] as const;

// task_struct field offsets
export const T_STATE = 0;
export const T_COUNTER = 4;
export const T_PRIORITY = 8;
export const T_SIGNAL = 12;
export const T_BLOCKED = 528;
export const T_EXIT_CODE = 532;
export const T_START_CODE = 536;
export const T_END_CODE = 540;
export const T_END_DATA = 544;
export const T_BRK = 548;
export const T_START_STACK = 552;
export const T_PID = 556;
export const T_FATHER = 560;
export const T_PGRP = 564;
export const T_SESSION = 568;
export const T_LEADER = 572;
export const T_ALARM = 588;
export const T_UTIME = 592;
export const T_STIME = 596;
export const T_CUTIME = 600;
export const T_CSTIME = 604;
export const T_START_TIME = 608;
export const T_USED_MATH = 612;
export const T_LDT = 716;
export const T_TSS = 740;
export const T_COW_FAULTS = 952;
export const T_COW_COPIES = 956;
export const T_COW_NOCOPY = 960;
export const TASK_STRUCT_SIZE = 964;

// struct tss_struct offsets inside the TSS
export const TSS_BACK_LINK = 0;
export const TSS_ESP0 = 4;
export const TSS_SS0 = 8;
export const TSS_CR3 = 28;
export const TSS_EIP = 32;
export const TSS_EFLAGS = 36;
export const TSS_EAX = 40;
export const TSS_ECX = 44;
export const TSS_EDX = 48;
export const TSS_EBX = 52;
export const TSS_ESP = 56;
export const TSS_EBP = 60;
export const TSS_ESI = 64;
export const TSS_EDI = 68;
export const TSS_ES = 72;
export const TSS_CS = 76;
export const TSS_SS = 80;
export const TSS_DS = 84;
export const TSS_FS = 88;
export const TSS_GS = 92;
export const TSS_LDT = 96;
export const TSS_TRACE_BITMAP = 100;

/** Every constant above that defs.asm defines under the same name (for the cross-check). */
export const DEFS_ASM_CONSTANTS: Record<string, number> = {
  PAGE_SIZE, LOW_MEM, PAGING_MEMORY, PAGING_PAGES, USED, TASK_SIZE, MAX_MEMORY,
  KERNEL_CS, KERNEL_DS, USER_CS, USER_DS, FIRST_TSS_ENTRY, FIRST_LDT_ENTRY,
  NR_TASKS, TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE, TASK_ZOMBIE, TASK_STOPPED,
  T_STATE, T_COUNTER, T_PRIORITY, T_SIGNAL, T_BLOCKED, T_EXIT_CODE, T_START_CODE, T_END_CODE,
  T_END_DATA, T_BRK, T_START_STACK, T_PID, T_FATHER, T_PGRP, T_SESSION, T_LEADER, T_ALARM,
  T_UTIME, T_STIME, T_CUTIME, T_CSTIME, T_START_TIME, T_USED_MATH, T_LDT, T_TSS,
  T_COW_FAULTS, T_COW_COPIES, T_COW_NOCOPY, TASK_STRUCT_SIZE,
  TSS_BACK_LINK, TSS_ESP0, TSS_SS0, TSS_CR3, TSS_EIP, TSS_EFLAGS, TSS_EAX, TSS_ECX, TSS_EDX,
  TSS_EBX, TSS_ESP, TSS_EBP, TSS_ESI, TSS_EDI, TSS_ES, TSS_CS, TSS_SS, TSS_DS, TSS_FS,
  TSS_GS, TSS_LDT, TSS_TRACE_BITMAP,
};
