// The CPU's part of a snapshot: every field that decides what the next instruction does
// (registers, EFLAGS and the lazy-flag operands, selectors and descriptor caches, control,
// debug and test registers, GDTR/IDTR/LDTR/TR, halt, interrupt shadow, pending stop), saved
// by the state walker so fields the CPU gains later are saved too.
//
// Not saved, because they are caches or belong to the host: the TLB (flushed on restore),
// the decoded-block cache (invalidated on restore), the engine and its compiled code, the
// fetch cursor, the memory views, and what the attached hooks decide (the slow memory
// path, the one-instruction loop).

import type { Cpu } from './cpu';

/** Fields of Cpu that are not guest state, each for the reason above. */
export const CPU_NOT_SAVED = [
  // other parts and host observers
  'mem', 'io', 'bus', 'irq', 'hooks', 'allowWP',
  // views of `regs` and of memory
  'r8', 'r16', 'u8', 'u16', 'i32', 'codePage',
  // translation and decode caches
  'tlb', 'tlbPhys', 'tlbList', 'tlbCount', 'tlbOverflow', 'mapGen',
  'cache', 'ramSrc', 'slowSrc', 'slowInsn', 'fetchBase', 'curPage', 'curPageGen', 'chainEpoch',
  'rmwLin', 'rmwPa', // one read-modify-write's scratch (which path it took depends on the TLB)
  // the execution engine and its compiled code (a state runs the same on either engine)
  'engine', 'jitThreshold', 'codeCache', 'linkEpoch',
  // derived from the hooks attached (and from CPL): recomputed by drChanged()
  'stepHook', 'slowMem', 'needR', 'needW',
  // the report of a triple fault, for the host
  'shutdownState',
] as const;

/** After loadFields: drop the caches the saved state makes stale. */
export function afterCpuLoad(cpu: Cpu): void {
  cpu.shutdownState = null;
  cpu.flushTlb();
  cpu.flushCodeCache();
  cpu.drChanged(); // the slow paths the hooks and DR7 ask for; the access masks for CPL
}
