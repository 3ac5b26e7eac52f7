// forklab as a library (README "## Library"): the PC, its disks, the debugger engine, the
// kernel profiles (inspector, the debugger's kernel commands), and the image builder, from
// one module. Import it from the checkout (`import { Machine } from './index.ts'` with tsx, or bundle it).
export {
  Machine, DEFAULT_MEMORY, MAX_MEMORY,
  type MachineOptions, type MachineStop, type UntilStop, type HookRange, type HookKinds, type HookHandle,
  type InstructionHook, type MemoryHook, type InterruptHook, type PortHook,
} from './emulator/machine';
export { DiskImage, floppyGeometry, hardDiskGeometry, type Geometry } from './emulator/devices/disk';
export { Debugger, DebugError, runScript, type CommandResult, type DebuggerOptions, type DebuggerExtension } from './emulator/debug/debugger';
export { SymbolMap, SYMBOL_REACH, type KernelSymbol } from './emulator/debug/symbols';
export { HookHub, type HookSlot } from './emulator/debug/hooks';
export { machineDebugTarget } from './emulator/debug/machine-target';
export type { DebugTarget, StopReason, WatchKind, BreakpointKind } from './emulator/debug/target';
export { disassembleOne } from './emulator/cpu/disasm';
export {
  KernelInspector, checkInvariants, attachKernel, debuggerExtension, detectProfile, profileByName, FORKLAB, LINUX_011, PROFILES,
  type KernelAttachment, type KernelProfile, type TaskInfo, type PageEntry,
} from './kernel/inspect';
export { buildImage, type BuiltImage } from './tools/build-image';
