// Segment descriptor fields (i386 manual 5.1): the 8-byte descriptor as two dwords, lo and hi,
// decoded without any CPU state. The CPU's segment loads (cpu.ts) and the protected-mode
// control transfers (cpu/far-transfer.ts, interrupts.ts, task-switch.ts) all read them here.

/** Base address (32 bits, as int32). */
export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

/** Limit in bytes: the 20-bit field, scaled by 4 KB when G is set. */
export function descLimit(lo: number, hi: number): number {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return hi & 0x800000 ? l * 4096 + 0xfff : l;
}

/** Access rights: type, S, DPL, P in bits 0-7; AVL, D/B, G in bits 12-15. */
export function descAR(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

export function isCode(ar: number): boolean {
  return (ar & 0x18) === 0x18;
}

export function present(ar: number): boolean {
  return (ar & 0x80) !== 0;
}

export function dplOf(ar: number): number {
  return (ar >> 5) & 3;
}
