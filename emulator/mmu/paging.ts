// The i386 page walk (two levels of 4 KB pages). Returns the physical page | TLB permission
// bits; sets Accessed and Dirty bits; raises #PF with CR2 and the error code.
//
// i386 rules: a user access needs U/S set in both the directory and the table entry, and a
// user write needs R/W set in both. At CPL 0 (supervisor) R/W is ignored, unless the
// optional 486-style CR0.WP is enabled (Cpu option allowWP) and set.

import type { Cpu } from '../cpu/cpu';
import { CR0_WP, PFV, T_VALID, T_UREAD, T_SWRITE, T_UWRITE } from '../cpu/consts';

// Where the two levels' entries are: the CPU's walk and the observers' walk (walkTables)
// both find them here, so the table format has one home.
/** The physical address of the page-directory entry for `lin` under `cr3`. */
export function pdeAddress(cr3: number, lin: number, a20: number): number {
  return (((cr3 & ~0xfff) | ((lin >>> 20) & 0xffc)) & a20) >>> 0;
}
/** The physical address of the page-table entry for `lin` under a present `pde`. */
export function pteAddress(pde: number, lin: number, a20: number): number {
  return (((pde & ~0xfff) | ((lin >>> 10) & 0xffc)) & a20) >>> 0;
}

function pageFault(cpu: Cpu, lin: number, code: number): never {
  cpu.cr2 = lin | 0;
  return cpu.fault(PFV, code, true);
}

export function walk(cpu: Cpu, lin: number, write: boolean, user: boolean): number {
  const mem = cpu.mem;
  const a20 = mem.a20Mask;
  const pdeAddr = pdeAddress(cpu.cr3, lin, a20);
  const pde = mem.read32(pdeAddr);
  const errBase = (write ? 2 : 0) | (user ? 4 : 0);
  if ((pde & 1) === 0) pageFault(cpu, lin, errBase);
  const pteAddr = pteAddress(pde, lin, a20);
  let pte = mem.read32(pteAddr);
  if ((pte & 1) === 0) pageFault(cpu, lin, errBase);
  const uok = (pde & pte & 4) !== 0;
  const wok = (pde & pte & 2) !== 0;
  if (user && !uok) pageFault(cpu, lin, errBase | 1);
  if (write) {
    if (user ? !wok : !wok && (cpu.cr0 & CR0_WP) !== 0) pageFault(cpu, lin, errBase | 1);
  }
  if ((pde & 0x20) === 0) mem.write32(pdeAddr, pde | 0x20);
  const newPte = pte | 0x20 | (write ? 0x40 : 0);
  if (newPte !== pte) {
    mem.write32(pteAddr, newPte);
    pte = newPte;
  }
  let bits = T_VALID;
  if (uok) bits |= T_UREAD;
  if (pte & 0x40) {
    // dirty already: writes may take the fast path
    if (wok || (cpu.cr0 & CR0_WP) === 0) bits |= T_SWRITE;
    if (uok && wok) bits |= T_UWRITE;
  }
  return ((pte & ~0xfff) & a20) | bits;
}

/** One step of a side-effect-free walk: where the directory and table entries are, what
 *  they hold, and the physical address (-1 when an entry is not present). */
export interface TableWalk {
  pdeAddr: number;
  pde: number;
  /** -1 when the directory entry is not present. */
  pteAddr: number;
  pte: number;
  physical: number;
}

/**
 * The page walk for observers (debugger, kernel inspectors): the same two levels as `walk`
 * over a directory at `cr3`, reading physical memory through `read32`, with no fault and no
 * Accessed/Dirty bit set. `a20` masks addresses as the memory does.
 */
export function walkTables(read32: (phys: number) => number, cr3: number, lin: number, a20 = 0xffffffff): TableWalk {
  const pdeAddr = pdeAddress(cr3, lin, a20);
  const pde = read32(pdeAddr) >>> 0;
  if ((pde & 1) === 0) return { pdeAddr, pde, pteAddr: -1, pte: 0, physical: -1 };
  const pteAddr = pteAddress(pde, lin, a20);
  const pte = read32(pteAddr) >>> 0;
  const physical = (pte & 1) === 0 ? -1 : ((((pte & ~0xfff) | (lin & 0xfff)) & a20) >>> 0);
  return { pdeAddr, pde, pteAddr, pte, physical };
}

/** Side-effect-free translation for debuggers: physical address or -1 if not present. */
export function peekTranslate(cpu: Cpu, lin: number): number {
  if ((cpu.cr0 & 0x80000000) === 0) return (lin & cpu.mem.a20Mask) >>> 0;
  const mem = cpu.mem;
  return walkTables((a) => mem.read32(a), cpu.cr3, lin, mem.a20Mask).physical;
}
