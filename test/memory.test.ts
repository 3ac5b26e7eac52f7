// Physical memory's own structures: the page maps.

import { describe, expect, it } from 'vitest';
import { PAGE_NONE, PAGE_RAM, PAGE_ROM, PhysicalMemory } from '../emulator/memory';

describe('physical memory', () => {
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
});
