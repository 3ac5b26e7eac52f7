// kernel/inspect: a kernel's objects read out of guest physical memory, for one of the
// profiles (forklab's kernel, the real Linux 0.11):
//   const k = new KernelInspector(machine.mem.u8, SymbolMap.parse(mapText));   // profile detected
//   k.tasks(), k.task(nr), k.pages(nr), k.memMap(), k.freePages(), checkInvariants(k)
//   new Debugger(machine, { symbols, extension: debuggerExtension(k) })        // ps, task, pt, memmap
export * from './layout';
export { SymbolMap, SYMBOL_REACH, type KernelSymbol } from './symbols';
export { GuestPhysical } from './guest';
export { KernelInspector, decodeDescriptor, type TaskInfo, type Tss, type Segment, type PageEntry, type CowStatistics } from './kernel';
export { FORKLAB, LINUX_011, PROFILES, profileByName, detectProfile, type KernelProfile, type KernelConstants, type TaskLayout, type ProfileName } from './profiles';
export { debuggerExtension, unavailableExtension } from './debug-commands';
export { attachKernel, type KernelAttachment } from './attach';
export { checkInvariants, checkFreePages, entriesMapping, type InvariantOptions } from './invariants';
export { InvariantWatch, CHECKPOINTS, type CheckpointKind, type WatchViolation, type WatchOptions } from './watch';
