// Constants shared by the CPU core, its handlers and the MMU.

export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
export { ES, CS, SS, DS, FS, GS } from './decoder';

// EFLAGS bits
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200,
  DF = 0x400, OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000;
/** The six arithmetic flags (the ones computed lazily). */
export const ARITH = CF | PF | AF | ZF | SF | OF;

// CR0 bits
export const CR0_PE = 0x1, CR0_MP = 0x2, CR0_EM = 0x4, CR0_TS = 0x8, CR0_ET = 0x10,
  CR0_WP = 0x10000, CR0_PG = 0x80000000 | 0;

// Exception vectors
export const DE = 0, DB = 1, NMI = 2, BP = 3, OFV = 4, BR = 5, UD = 6, NM = 7, DF_V = 8,
  TS_V = 10, NP = 11, SSV = 12, GP = 13, PFV = 14, MF = 16;

// Lazy flag kinds
export const LZ_ADD = 0, LZ_SUB = 1, LZ_LOGIC = 2;

// TLB entry bits (low 12 bits of an entry; the high 20 hold the RAM offset of the page)
export const T_VALID = 1, T_UREAD = 2, T_SWRITE = 4, T_UWRITE = 8, T_RAM = 16, T_RAMW = 32;
/** A bit no TLB entry has: added to the needed mask, it sends every access down the slow
 *  path (memory hooks, data breakpoints). */
export const T_NEVER = 0x800;

/** Parity flag value (PF bit) for each byte. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) {
    p ^= b & 1;
    b >>= 1;
  }
  PARITY[i] = p ? PF : 0;
}
