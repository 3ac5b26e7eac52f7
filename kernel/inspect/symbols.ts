// The symbol map lives with the debugger (emulator/debug/symbols.ts): one reader of
// kernel.map and `nm -n` System.map for every user. Re-exported here for kernel/inspect's users.
export { SymbolMap, SYMBOL_REACH, type KernelSymbol } from '../../emulator/debug/symbols';
