// Putting a kernel profile together with a machine's memory and a symbol map: what the
// command line (forklab debug) and the Library do before handing the debugger its
// extension. A map that fits no profile is not an error here: the debugger still works,
// and its kernel commands say why they cannot.

import type { DebuggerExtension } from '../../emulator/debug/debugger';
import type { SymbolMap } from '../../emulator/debug/symbols';
import { debuggerExtension, unavailableExtension } from './debug-commands';
import { KernelInspector } from './kernel';
import { detectProfile, profileByName } from './profiles';

export interface KernelAttachment {
  /** The inspector, or null when no profile applies. */
  inspector: KernelInspector | null;
  /** The debugger's kernel commands (or the same names, each saying why not). */
  extension: DebuggerExtension;
  /** Why no profile applies (one line), or null. */
  problem: string | null;
}

/**
 * The kernel view of `ram` through `symbols`: the profile named `profile` (an unknown name
 * throws a one-line error), else the one the map identifies.
 */
export function attachKernel(ram: Uint8Array, symbols: SymbolMap | null, profile?: string): KernelAttachment {
  const chosen = profile === undefined ? null : profileByName(profile);
  if (!symbols) {
    const problem = 'no symbol map (give --map kernel.map or System.map)';
    return { inspector: null, extension: unavailableExtension(problem), problem };
  }
  try {
    const inspector = new KernelInspector(ram, symbols, chosen ?? detectProfile(symbols));
    return { inspector, extension: debuggerExtension(inspector), problem: null };
  } catch (e) {
    const problem = (e as Error).message;
    return { inspector: null, extension: unavailableExtension(problem), problem };
  }
}
