// Physical memory (DESIGN decision 2): RAM is one ArrayBuffer with Uint8/Uint16/Int32 views;
// every 4 KB physical page has a kind (RAM, ROM, memory-mapped device, nothing) found by
// indexing, never by a search. The CPU's TLB caches, per linear page, the RAM offset of the
// page, so the common access is an array read; everything else comes through here.
//
// Decoded-code tracking (DESIGN decision 9) lives here too, because every writer of RAM
// (the CPU, DMA, a debugger, a loader) must invalidate decoded instructions: each RAM page
// has a "holds decoded code" flag, a 128-bit map of which 32-byte lines hold decoded bytes,
// and a generation counter that a write to such a line bumps.

/** A memory-mapped device region (VGA window, …). Addresses are physical. */
export interface MmioHandler {
  read8(addr: number): number;
  write8(addr: number, value: number): void;
  /** Optional wide accesses (never crossing a page); composed from bytes when absent. */
  read16?(addr: number): number;
  write16?(addr: number, value: number): void;
  read32?(addr: number): number;
  write32?(addr: number, value: number): void;
}

const WASM_PAGE = 0x10000;
// (Typed here: the emulator's lib settings name neither the DOM's nor Node's WebAssembly.)
const wasm = (globalThis as { WebAssembly?: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }).WebAssembly;

/**
 * A zeroed buffer of `bytes` bytes whose pages the OS supplies, zeroed, when first touched:
 * for a multiple of 64 KB, the memory of a WebAssembly.Memory, which V8 maps fresh from the OS.
 * A plain ArrayBuffer comes from malloc, and once a process has freed one big buffer, glibc
 * serves the next ones from its heap and clears every byte (and the OS faults in every page):
 * 5-8 of the 10-14 ms a Machine took to build when a process builds several (tests, the
 * bench), for RAM and page maps of which a run touches a small part. Typed-array views over
 * either buffer are the same to V8's compilers. Falls back to an ArrayBuffer where there is
 * no WebAssembly (node --jitless) or it refuses, and for other sizes.
 */
export function zeroedBuffer(bytes: number): ArrayBuffer {
  if (bytes % WASM_PAGE === 0 && bytes > 0 && wasm !== undefined) {
    const pages = bytes / WASM_PAGE;
    try {
      return new wasm.Memory({ initial: pages, maximum: pages }).buffer;
    } catch {
      // out of address space for one more memory: the plain buffer below
    }
  }
  return new ArrayBuffer(bytes);
}

// (PAGE_NONE is 0 and pages without RAM hold 0 in ramNot: the 4 GB page map starts as new
// zeroed arrays, never written but for the pages that exist. Filling 5 MB of them per
// machine was 12 of the 26 ms a Machine took to build.)
export const PAGE_NONE = 0, PAGE_RAM = 1, PAGE_ROM = 2, PAGE_MMIO = 3;

const PAGES = 1 << 20; // 4 GB of 4 KB pages
/** Decoded code is tracked byte by byte: 4096 bits per page, in 128 words (RAM / 8). */
const CODE_LINE_SHIFT = 0, CODE_LINES = 0x1000 >>> CODE_LINE_SHIFT, CODE_WORDS = CODE_LINES >>> 5;

export class PhysicalMemory {
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  /** Per physical page: PAGE_RAM / PAGE_ROM / PAGE_MMIO / PAGE_NONE. */
  readonly pageKind: Uint8Array;
  /** Per physical page: ~(byte offset into the RAM buffer) for RAM and ROM pages, else 0
   *  (read through ramOffset). */
  private readonly ramNot: Int32Array;
  private readonly mmio = new Map<number, MmioHandler>();
  /** Per RAM page (by RAM offset >> 12): 1 when decoded instructions come from it. */
  readonly codePage: Uint8Array;
  /** Per RAM page, CODE_WORDS words: which bytes were decoded (a write to other bytes of the
   *  page leaves its decoded code valid: kernels keep variables next to their code, and with
   *  32-byte lines the fork demo's kernel had every block of its main code page checked
   *  again 7,000 times per million instructions). */
  readonly codeLines: Int32Array;
  /** Per RAM page: bumped whenever decoded code of the page becomes stale. */
  readonly codeGen: Int32Array;
  /** Bumped whenever the page map changes (the CPU then flushes its TLB). */
  mapGeneration = 0;
  /** Address mask applied by the CPU to physical addresses: ~(1 << 20) when A20 is off. */
  a20Mask = -1;

  constructor(size: number) {
    if (size <= 0 || size % 4096 !== 0 || size > 0x7ffff000) {
      throw new Error(`memory size must be a positive multiple of 4096 below 2 GB (got ${size})`);
    }
    this.size = size;
    this.buffer = zeroedBuffer(size);
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    const ramPages = size >>> 12, codeWords = ramPages * CODE_WORDS;
    // The page maps and the code lines share one buffer (one mapping less per table).
    const tables = zeroedBuffer(Math.ceil((PAGES * 5 + codeWords * 4) / WASM_PAGE) * WASM_PAGE);
    this.ramNot = new Int32Array(tables, 0, PAGES);
    this.pageKind = new Uint8Array(tables, PAGES * 4, PAGES);
    this.codeLines = new Int32Array(tables, PAGES * 5, codeWords);
    for (let p = 0; p < ramPages; p++) {
      this.pageKind[p] = PAGE_RAM;
      this.ramNot[p] = ~(p << 12);
    }
    this.codePage = new Uint8Array(ramPages);
    this.codeGen = new Int32Array(ramPages);
  }

  /** Byte offset into the RAM buffer of physical page `page` (RAM and ROM pages), else -1. */
  ramOffset(page: number): number {
    return ~this.ramNot[page];
  }

  /** Enables or disables the A20 line (the machine's keyboard controller / port 92h). */
  setA20(enabled: boolean): void {
    const m = enabled ? -1 : ~(1 << 20);
    if (m !== this.a20Mask) {
      this.a20Mask = m;
      this.mapGeneration++;
    }
  }

  /** Maps [start, end) (page aligned) to a device. */
  mapMmio(start: number, end: number, handler: MmioHandler): void {
    for (let p = start >>> 12; p < Math.floor(end / 4096); p++) {
      this.pageKind[p] = PAGE_MMIO;
      this.ramNot[p] = 0;
      this.mmio.set(p, handler);
    }
    this.mapGeneration++;
  }

  /** Makes [start, end) read-only (writes are ignored), backed by RAM at ramOffset
   *  (default: the same addresses). Used for the BIOS ROM and its mirror below 4 GB. */
  mapRom(start: number, end: number, ramOffset = start): void {
    for (let p = start >>> 12, r = ramOffset; p < Math.floor(end / 4096); p++, r += 4096) {
      if (r < 0 || r + 4096 > this.size) throw new Error(`ROM backing 0x${r.toString(16)} is outside RAM`);
      this.pageKind[p] = PAGE_ROM;
      this.ramNot[p] = ~r;
      this.mmio.delete(p);
    }
    this.mapGeneration++;
  }

  /** Makes [start, end) ordinary RAM again (identity backed; must lie inside RAM). */
  mapRam(start: number, end: number): void {
    for (let p = start >>> 12; p < Math.floor(end / 4096); p++) {
      const r = p * 4096; // (not p << 12: pages from 2 GB up would come out negative)
      this.pageKind[p] = r + 4096 <= this.size ? PAGE_RAM : PAGE_NONE;
      this.ramNot[p] = r + 4096 <= this.size ? ~r : 0;
      this.mmio.delete(p);
    }
    this.mapGeneration++;
  }

  // ---- decoded-code tracking ----

  /** Records that decoded instructions come from RAM bytes [ram, ram+len) (one page). */
  markCode(ram: number, len: number): void {
    const page = ram >>> 12;
    this.codePage[page] = 1;
    const first = (ram & 0xfff) >>> CODE_LINE_SHIFT, last = ((ram & 0xfff) + len - 1) >>> CODE_LINE_SHIFT;
    for (let l = first; l <= last && l < CODE_LINES; l++) this.codeLines[page * CODE_WORDS + (l >>> 5)] |= 1 << (l & 31);
  }

  /** Called before RAM bytes [ram, ram+len) (one page) change: drops stale decoded code. */
  noteWrite(ram: number, len: number): void {
    const page = ram >>> 12;
    if (this.codePage[page] === 0) return;
    const first = (ram & 0xfff) >>> CODE_LINE_SHIFT, last = Math.min(CODE_LINES - 1, ((ram & 0xfff) + len - 1) >>> CODE_LINE_SHIFT);
    for (let l = first; l <= last; l++) {
      if (this.codeLines[page * CODE_WORDS + (l >>> 5)] & (1 << (l & 31))) {
        this.invalidatePage(page);
        return;
      }
    }
  }

  invalidatePage(page: number): void {
    this.codeGen[page]++;
    this.codePage[page] = 0;
    this.codeLines.fill(0, page * CODE_WORDS, (page + 1) * CODE_WORDS);
  }

  // ---- physical access for everyone but the CPU fast path (the A20 mask is the caller's) ----

  read8(addr: number): number {
    const p = addr >>> 12;
    const r = ~this.ramNot[p];
    if (r >= 0) return this.u8[r | (addr & 0xfff)];
    const h = this.pageKind[p] === PAGE_MMIO ? this.mmio.get(p) : undefined;
    return h ? h.read8(addr >>> 0) & 0xff : 0xff;
  }

  read16(addr: number): number {
    if ((addr & 0xfff) === 0xfff) return this.read8(addr) | (this.read8(addr + 1) << 8);
    const p = addr >>> 12;
    const r = ~this.ramNot[p];
    if (r >= 0) {
      const a = r | (addr & 0xfff);
      return a & 1 ? this.u8[a] | (this.u8[a + 1] << 8) : this.u16[a >>> 1];
    }
    const h = this.pageKind[p] === PAGE_MMIO ? this.mmio.get(p) : undefined;
    if (!h) return 0xffff;
    return h.read16 ? h.read16(addr >>> 0) & 0xffff : (h.read8(addr >>> 0) & 0xff) | ((h.read8((addr + 1) >>> 0) & 0xff) << 8);
  }

  read32(addr: number): number {
    if ((addr & 0xfff) > 0xffc) return (this.read16(addr) | (this.read16(addr + 2) << 16)) | 0;
    const p = addr >>> 12;
    const r = ~this.ramNot[p];
    if (r >= 0) {
      const a = r | (addr & 0xfff);
      const u = this.u8;
      return a & 3 ? u[a] | (u[a + 1] << 8) | (u[a + 2] << 16) | (u[a + 3] << 24) : this.i32[a >>> 2];
    }
    const h = this.pageKind[p] === PAGE_MMIO ? this.mmio.get(p) : undefined;
    if (!h) return -1;
    if (h.read32) return h.read32(addr >>> 0) | 0;
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) | 0;
  }

  write8(addr: number, v: number): void {
    const p = addr >>> 12;
    const k = this.pageKind[p];
    if (k === PAGE_RAM) {
      const a = ~this.ramNot[p] | (addr & 0xfff);
      this.noteWrite(a, 1);
      this.u8[a] = v;
    } else if (k === PAGE_MMIO) {
      this.mmio.get(p)?.write8(addr >>> 0, v & 0xff);
    }
  }

  write16(addr: number, v: number): void {
    const p = addr >>> 12;
    const k = this.pageKind[p];
    if (k === PAGE_RAM && (addr & 0xfff) !== 0xfff) {
      const a = ~this.ramNot[p] | (addr & 0xfff);
      this.noteWrite(a, 2);
      if (a & 1) {
        this.u8[a] = v;
        this.u8[a + 1] = v >> 8;
      } else this.u16[a >>> 1] = v;
    } else if (k === PAGE_MMIO && (addr & 0xfff) !== 0xfff && this.mmio.get(p)?.write16) {
      this.mmio.get(p)!.write16!(addr >>> 0, v & 0xffff);
    } else {
      this.write8(addr, v & 0xff);
      this.write8(addr + 1, (v >> 8) & 0xff);
    }
  }

  write32(addr: number, v: number): void {
    const p = addr >>> 12;
    const k = this.pageKind[p];
    if (k === PAGE_RAM && (addr & 0xfff) <= 0xffc) {
      const a = ~this.ramNot[p] | (addr & 0xfff);
      this.noteWrite(a, 4);
      if (a & 3) {
        const u = this.u8;
        u[a] = v;
        u[a + 1] = v >> 8;
        u[a + 2] = v >> 16;
        u[a + 3] = v >> 24;
      } else this.i32[a >>> 2] = v;
    } else if (k === PAGE_MMIO && (addr & 0xfff) <= 0xffc && this.mmio.get(p)?.write32) {
      this.mmio.get(p)!.write32!(addr >>> 0, v | 0);
    } else {
      this.write16(addr, v & 0xffff);
      this.write16(addr + 2, (v >>> 16) & 0xffff);
    }
  }

  /** Copies bytes into memory (loaders, DMA): RAM only, ROM included; invalidates code. */
  load(addr: number, bytes: Uint8Array): void {
    this.copyIn(addr, bytes, true);
  }

  /** Writes bytes as as many write8 calls would (RAM written, ROM and holes ignored, devices
   *  byte by byte), a page at a time: the BIOS's disk reads into guest memory. */
  write(addr: number, bytes: Uint8Array): void {
    this.copyIn(addr, bytes, false);
  }

  private copyIn(addr: number, bytes: Uint8Array, intoRom: boolean): void {
    for (let i = 0; i < bytes.length; ) {
      const a = addr + i, p = a >>> 12;
      const n = Math.min(bytes.length - i, 4096 - (a & 0xfff));
      const k = this.pageKind[p];
      if (k === PAGE_RAM || (k === PAGE_ROM && intoRom)) {
        const off = ~this.ramNot[p] | (a & 0xfff);
        this.noteWrite(off, n);
        this.u8.set(bytes.subarray(i, i + n), off);
      } else if (k === PAGE_MMIO && !intoRom) {
        for (let j = 0; j < n; j++) this.write8(a + j, bytes[i + j]);
      }
      i += n;
    }
  }
}
