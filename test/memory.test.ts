// Physical memory's own structures: buffers that start zeroed however they were obtained,
// the page maps and code-line map sharing one buffer without touching each other, mapRam,
// and two memories sharing nothing.

import { describe, expect, it } from 'vitest';
import { PAGE_MMIO, PAGE_NONE, PAGE_RAM, PAGE_ROM, PhysicalMemory, zeroedBuffer } from '../emulator/memory';

/** The first index where two arrays of the same kind differ (in length too), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe('physical memory', () => {
  it('zeroedBuffer gives exactly the bytes asked, zeroed, never the same buffer twice', () => {
    for (const size of [4096, 0x10000, 0x10000 + 4096, 16 << 20]) {
      const a = zeroedBuffer(size), b = zeroedBuffer(size);
      expect(a.byteLength).toBe(size);
      expect(a).not.toBe(b);
      const ua = new Uint8Array(a), ub = new Uint8Array(b);
      expect(ua.every((v) => v === 0)).toBe(true);
      ua[0] = 1;
      ua[size - 1] = 2;
      expect(ub[0] + ub[size - 1]).toBe(0);
    }
  });

  it('has RAM pages up to its size and nothing above, to the last page of 4 GB', () => {
    for (const size of [1 << 20, (1 << 20) + 4096, 16 << 20]) {
      const mem = new PhysicalMemory(size);
      expect(mem.u8.length).toBe(size);
      expect(mem.i32.length).toBe(size / 4);
      const last = size / 4096 - 1;
      expect(mem.pageKind[last]).toBe(PAGE_RAM);
      expect(mem.ramOffset(last)).toBe(last * 4096);
      expect(mem.pageKind[last + 1]).toBe(PAGE_NONE);
      expect(mem.ramOffset(last + 1)).toBe(-1);
      expect(mem.pageKind[0xfffff]).toBe(PAGE_NONE);
      expect(mem.ramOffset(0xfffff)).toBe(-1);
      expect(mem.read8(size)).toBe(0xff);
      expect(mem.read32(0xfffffffc)).toBe(-1);
      expect(mem.codeLines.length).toBe((size / 4096) * 128);
      expect(mem.codeLines.every((v) => v === 0)).toBe(true);
    }
  });

  it('keeps the page maps and the code lines apart (they share a buffer)', () => {
    const mem = new PhysicalMemory(1 << 20);
    // The last entry of the 4 GB maps (ROM mirror at the top) next to the first code line.
    mem.u8.set([0xaa, 0xbb], 0xf0000);
    mem.mapRom(0xfffff000, 0x100000000, 0xf0000);
    mem.mapMmio(0xa0000, 0xa1000, { read8: () => 0x5a, write8: () => {} });
    expect(mem.pageKind[0xfffff]).toBe(PAGE_ROM);
    expect(mem.pageKind[0xa0]).toBe(PAGE_MMIO);
    expect(mem.codeLines[0]).toBe(0);
    mem.markCode(0, 1);
    mem.markCode(0xff000 + 4095, 1); // the last byte of the last RAM page: the last code word
    expect(mem.codeLines[0]).toBe(1);
    expect(mem.codeLines[mem.codeLines.length - 1]).toBe(1 << 31);
    expect(mem.pageKind[0xfffff]).toBe(PAGE_ROM);
    expect(mem.ramOffset(0xfffff)).toBe(0xf0000);
    expect(mem.read16(0xfffff000)).toBe(0xbbaa);
    expect(mem.read8(0xa0000)).toBe(0x5a);
    // Writing the first RAM page drops its code and leaves the maps' entries alone.
    mem.write8(0, 0x90);
    expect(mem.codeGen[0]).toBe(1);
    expect(mem.codeLines[0]).toBe(0);
    expect(mem.codeLines[mem.codeLines.length - 1]).toBe(1 << 31);
    expect(mem.pageKind[0xfffff]).toBe(PAGE_ROM);
    expect(mem.pageKind[0]).toBe(PAGE_RAM);
    mem.mapRam(0xfffff000, 0x100000000);
    expect(mem.pageKind[0xfffff]).toBe(PAGE_NONE);
    expect(mem.codeLines[mem.codeLines.length - 1]).toBe(1 << 31);
  });

  it('mapRam gives back RAM where RAM is, and nothing above it (up to the last page of 4 GB)', () => {
    const mem = new PhysicalMemory(1 << 20);
    mem.u8.set([0xaa, 0xbb], 0xf0000);
    mem.mapRom(0xfffff000, 0x100000000, 0xf0000);
    mem.mapRom(0xf0000, 0x100000);
    expect(mem.pageKind[0xfffff]).toBe(PAGE_ROM);
    expect(mem.read16(0xfffff000)).toBe(0xbbaa);
    mem.mapRam(0xf0000, 0x100000);
    mem.mapRam(0xfffff000, 0x100000000);
    expect(mem.pageKind[0xf0]).toBe(PAGE_RAM);
    expect(mem.ramOffset(0xf0)).toBe(0xf0000);
    expect(mem.pageKind[0xfffff]).toBe(PAGE_NONE);
    expect(mem.ramOffset(0xfffff)).toBe(-1);
    expect(mem.read8(0xfffff000)).toBe(0xff);
  });
  it('write(addr, bytes) leaves what as many write8 calls leave: RAM, ROM, devices, holes, decoded code', () => {
    const setup = () => {
      const mem = new PhysicalMemory(1 << 20);
      const log: string[] = [];
      mem.mapRom(0xf0000, 0xf2000);
      mem.mapMmio(0xa0000, 0xa1000, { read8: () => 0, write8: (a, v) => void log.push(`${a.toString(16)}=${v}`) });
      mem.markCode(0x9ff10, 8); // decoded code next to the device page
      mem.markCode(0x5000 + 0x800, 4); // and in the middle of a RAM page
      return { mem, log };
    };
    const bytes = Uint8Array.from({ length: 0x3000 }, (_, i) => (i * 7 + 1) & 0xff);
    for (const [addr, len] of [[0x9ff00, 0x1200], [0xeff80, 0x2100], [0x4ffff, 0x1802], [0xffff0, 0x20], [0x7c00, 512]]) {
      const a = setup(), b = setup();
      const src = bytes.subarray(0, len);
      a.mem.write(addr, src);
      for (let i = 0; i < len; i++) b.mem.write8(addr + i, src[i]);
      // (the first index where they differ, -1: none; toEqual took 19 s over these arrays)
      expect(firstDifference(a.mem.u8, b.mem.u8)).toBe(-1);
      expect(a.log).toEqual(b.log);
      expect(firstDifference(a.mem.codeGen, b.mem.codeGen)).toBe(-1);
      expect(firstDifference(a.mem.codePage, b.mem.codePage)).toBe(-1);
      expect(firstDifference(a.mem.codeLines, b.mem.codeLines)).toBe(-1);
    }
  });
  it('two memories share nothing', () => {
    const a = new PhysicalMemory(1 << 20), b = new PhysicalMemory(1 << 20);
    a.write32(0x1000, 0x12345678);
    a.mapRom(0xf0000, 0x100000);
    a.markCode(0x2000, 4);
    expect(b.read32(0x1000)).toBe(0);
    expect(b.pageKind[0xf0]).toBe(PAGE_RAM);
    expect(b.codePage[2]).toBe(0);
    expect(b.codeLines[2 * 128]).toBe(0);
  });
});
