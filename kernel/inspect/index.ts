// kernel/inspect: the forklab kernel's objects read out of guest physical memory.
//   const k = new KernelInspector(machine.mem.u8, SymbolMap.parse(mapText));
//   k.tasks(), k.task(nr), k.pages(nr), k.memMap(), k.freePages(), checkInvariants(k)
export * from './layout';
export { SymbolMap, type KernelSymbol } from './symbols';
export { GuestPhysical } from './guest';
export { KernelInspector, decodeDescriptor, type TaskInfo, type Tss, type Segment, type PageEntry, type CowStatistics } from './kernel';
export { checkInvariants, checkFreePages, entriesMapping, type InvariantOptions } from './invariants';
export { InvariantWatch, CHECKPOINTS, type CheckpointKind, type WatchViolation, type WatchOptions } from './watch';
