import { describe, expect, it } from 'vitest';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { DmaController } from '../emulator/devices/dma';
import { FloppyController } from '../emulator/devices/floppy';
import { ackAndEoi, FlatMemory, linuxPicInit, makePc, patternDisk, runUntil, TestPc, unmask } from './devices-helpers';

interface Rig {
  pc: TestPc;
  fdc: FloppyController;
  dma: DmaController;
  mem: FlatMemory;
  disk: DiskImage;
}

function setup(size = 1474560, readOnly = false): Rig {
  const pc = makePc();
  const mem = new FlatMemory();
  const dma = new DmaController(mem, pc.bus);
  const geo = floppyGeometry(size)!;
  const disk = patternDisk(geo, readOnly);
  const fdc = new FloppyController(pc.clock, pc.pic, dma, pc.bus, { drives: [disk, null] });
  linuxPicInit(pc);
  unmask(pc, 6);
  return { pc, fdc, dma, mem, disk };
}

/** Linux 0.11 floppy.c output_byte(): wait for RQM with DIO clear, then write. */
function outputByte(pc: TestPc, b: number): void {
  for (let i = 0; i < 1000; i++) {
    if ((pc.inb(0x3f4) & 0xc0) === 0x80) {
      pc.outb(0x3f5, b);
      return;
    }
  }
  throw new Error('FDC not ready for a command byte');
}

/** Linux 0.11 floppy.c result(): read while RQM, DIO and BUSY are set. */
function result(pc: TestPc): number[] {
  const r: number[] = [];
  for (let i = 0; i < 10000 && r.length < 10; i++) {
    const s = pc.inb(0x3f4) & 0xd0;
    if (s === 0x80) return r;
    if (s === 0xd0) r.push(pc.inb(0x3f5));
  }
  return r;
}

/** Linux 0.11 setup_DMA(): channel 2, mode 0x46 (read) or 0x4A (write), 1 KB from `addr`. */
function setupDma(pc: TestPc, addr: number, write: boolean, count = 1024): void {
  pc.outb(0x0a, 4 | 2);
  pc.outb(0x0c, write ? 0x4a : 0x46);
  pc.outb(0x0b, write ? 0x4a : 0x46);
  pc.outb(0x04, addr & 0xff);
  pc.outb(0x04, (addr >> 8) & 0xff);
  pc.outb(0x81, (addr >> 16) & 0xff);
  pc.outb(0x05, (count - 1) & 0xff);
  pc.outb(0x05, (count - 1) >> 8);
  pc.outb(0x0a, 0 | 2);
}

function waitIrq6(pc: TestPc): void {
  for (let i = 0; i < 100 && !pc.pic.hasInterrupt(); i++) runUntil(pc, 200);
  expect(ackAndEoi(pc)).toBe(0x26);
}

function lba(c: number, h: number, s: number, spt = 18): number {
  return (c * 2 + h) * spt + s - 1;
}

describe('floppy controller with DMA channel 2', () => {
  it("resets as Linux 0.11's reset_floppy does: IRQ6, then SENSE INTERRUPT and SPECIFY", () => {
    const { pc } = setup();
    pc.outb(0x3f2, 0x0c & ~0x04);
    expect(pc.inb(0x3f4)).toBe(0x00);
    pc.outb(0x3f2, 0x0c);
    waitIrq6(pc);
    outputByte(pc, 0x08);
    expect(result(pc)).toEqual([0xc0, 0]);
    for (const d of [1, 2, 3]) {
      outputByte(pc, 0x08);
      expect(result(pc)).toEqual([0xc0 | d, 0]);
    }
    outputByte(pc, 0x08);
    expect(result(pc)).toEqual([0x80]); // nothing left: invalid
    outputByte(pc, 0x03);
    outputByte(pc, 0xcf);
    outputByte(pc, 0x06);
    expect(pc.inb(0x3f4)).toBe(0x80);
    expect(pc.pic.hasInterrupt()).toBe(false);
  });

  it('recalibrates and seeks with IRQ6 and SENSE INTERRUPT; the disk-change line clears', () => {
    const { pc, fdc } = setup();
    pc.outb(0x3f2, 0x1c); // motor A on, drive 0
    expect(pc.inb(0x3f7) & 0x80).toBe(0x80); // disk changed since power-on
    outputByte(pc, 0x07);
    outputByte(pc, 0x00);
    expect(pc.inb(0x3f4) & 0x01).toBe(0x01); // drive 0 busy seeking
    waitIrq6(pc);
    outputByte(pc, 0x08);
    expect(result(pc)).toEqual([0x20, 0]);
    expect(pc.inb(0x3f7) & 0x80).toBe(0);
    outputByte(pc, 0x0f);
    outputByte(pc, 0x04); // head 1, drive 0
    outputByte(pc, 42);
    waitIrq6(pc);
    outputByte(pc, 0x08);
    expect(result(pc)).toEqual([0x24, 42]);
    outputByte(pc, 0x04);
    outputByte(pc, 0x00);
    expect(result(pc)).toEqual([0x20 | 0x08]); // ready, two-sided, not track 0
    fdc.insertDisk(0, null);
    expect(pc.inb(0x3f7) & 0x80).toBe(0x80);
  });

  it('overlaps seeks on two drives, each reported by SENSE INTERRUPT', () => {
    const { pc } = setup();
    outputByte(pc, 0x0f);
    outputByte(pc, 0x00);
    outputByte(pc, 10);
    outputByte(pc, 0x0f);
    outputByte(pc, 0x01);
    outputByte(pc, 20);
    expect(pc.inb(0x3f4) & 0x03).toBe(0x03);
    waitIrq6(pc);
    const got: number[][] = [];
    for (let i = 0; i < 3; i++) {
      outputByte(pc, 0x08);
      got.push(result(pc));
    }
    expect(got).toEqual([[0x20, 10], [0x21, 20], [0x80]]);
    // A reset in the middle of a seek cancels it.
    outputByte(pc, 0x07);
    outputByte(pc, 0x00);
    pc.outb(0x3f2, 0x08);
    pc.outb(0x3f2, 0x0c);
    runUntil(pc, 10_000);
    expect(pc.inb(0x3f4) & 0x0f).toBe(0);
    outputByte(pc, 0x08);
    expect(result(pc)).toEqual([0xc0, 10]);
  });

  it('reads two sectors by DMA into memory with IRQ6, as Linux 0.11 does (E6h)', () => {
    const { pc, mem, disk } = setup();
    const buf = 0x12340;
    setupDma(pc, buf, false);
    // READ: head 1, track 3, sectors 17-18 (EOT 18), N = 2, gap 0x1b, DTL 0xff.
    for (const b of [0xe6, 0x04, 3, 1, 17, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    expect(pc.inb(0x3f4) & 0xf0).toBe(0x10); // executing
    waitIrq6(pc);
    // MT at EOT of head 1: next is C+1, H 0, R 1; terminal count → normal termination.
    expect(result(pc)).toEqual([0x04, 0x00, 0x00, 4, 0, 1, 2]);
    expect(mem.bytes.slice(buf, buf + 512)).toEqual(disk.data.slice(lba(3, 1, 17) * 512, lba(3, 1, 17) * 512 + 512));
    expect(mem.bytes.slice(buf + 512, buf + 1024)).toEqual(disk.data.slice(lba(3, 1, 18) * 512, lba(3, 1, 19) * 512));
    expect(mem.bytes[buf + 1024]).toBe(0);
    expect(pc.inb(0x08) & 0x04).toBe(0x04); // DMA status: channel 2 reached terminal count
    expect(pc.inb(0x08) & 0x04).toBe(0); // cleared by reading
    expect(pc.inb(0x0f) & 0x04).toBe(0x04); // channel masked again after TC
  });

  it('multi-track read continues on head 1; without MT, EOT ends with end of cylinder', () => {
    const { pc, mem, disk } = setup();
    setupDma(pc, 0x20000, false);
    for (const b of [0xe6, 0x00, 5, 0, 18, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc)).toEqual([0x04, 0, 0, 5, 1, 2, 2]);
    expect(mem.bytes.slice(0x20200, 0x20400)).toEqual(disk.data.slice(lba(5, 1, 1) * 512, lba(5, 1, 2) * 512));
    setupDma(pc, 0x30000, false);
    for (const b of [0x46, 0x00, 5, 0, 18, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc)).toEqual([0x40, 0x80, 0, 6, 0, 1, 2]);
    expect(mem.bytes.slice(0x30000, 0x30200)).toEqual(disk.data.slice(lba(5, 0, 18) * 512, lba(5, 1, 1) * 512));
  });

  it('writes a sector from memory (C5h, DMA mode 4Ah)', () => {
    const { pc, mem, disk } = setup();
    for (let i = 0; i < 512; i++) mem.bytes[0x40000 + i] = (255 - i) & 0xff;
    setupDma(pc, 0x40000, true, 512);
    for (const b of [0xc5, 0x00, 10, 0, 7, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc)).toEqual([0x00, 0, 0, 10, 0, 8, 2]);
    expect(disk.data.slice(lba(10, 0, 7) * 512, lba(10, 0, 8) * 512)).toEqual(mem.bytes.slice(0x40000, 0x40200));
    expect(disk.dirty).toBe(true);
  });

  it('refuses to write a write-protected disk and reports sector not found', () => {
    const { pc } = setup(1474560, true);
    setupDma(pc, 0x40000, true, 512);
    for (const b of [0xc5, 0x00, 10, 0, 7, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc).slice(0, 2)).toEqual([0x40, 0x02]);
    outputByte(pc, 0x04);
    outputByte(pc, 0x00);
    expect(result(pc)[0] & 0x40).toBe(0x40);
    setupDma(pc, 0x40000, false, 512);
    for (const b of [0xe6, 0x00, 10, 0, 19, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc).slice(0, 2)).toEqual([0x40, 0x04]);
  });

  it('reads a 1.2 MB (15 sectors per track) disk', () => {
    const { pc, mem, disk } = setup(1228800);
    setupDma(pc, 0x10000, false);
    for (const b of [0xe6, 0x04, 79, 1, 14, 2, 15, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc)).toEqual([0x04, 0, 0, 80, 0, 1, 2]);
    const s = lba(79, 1, 14, 15);
    expect(mem.bytes.slice(0x10000, 0x10400)).toEqual(disk.data.slice(s * 512, (s + 2) * 512));
    expect(s + 2).toBe(2400); // the last two sectors of the disk
  });

  it('overruns when DMA is not set up, and answers VERSION, READ ID, invalid opcodes', () => {
    const { pc } = setup();
    for (const b of [0xe6, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc).slice(0, 2)).toEqual([0x40, 0x10]);
    outputByte(pc, 0x10);
    expect(result(pc)).toEqual([0x90]);
    outputByte(pc, 0x4a);
    outputByte(pc, 0x04);
    waitIrq6(pc);
    expect(result(pc)).toEqual([0x04, 0, 0, 0, 1, 1, 2]);
    outputByte(pc, 0x1f);
    expect(result(pc)).toEqual([0x80]);
    // Drive B: is empty.
    setupDma(pc, 0x40000, false, 512);
    for (const b of [0xe6, 0x01, 0, 0, 1, 2, 18, 0x1b, 0xff]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc).slice(0, 2)).toEqual([0x49, 0x01]);
  });

  it('formats a track from DMA-supplied ID fields', () => {
    const { pc, mem, disk } = setup();
    for (let s = 0; s < 18; s++) mem.bytes.set([2, 1, s + 1, 2], 0x50000 + s * 4);
    setupDma(pc, 0x50000, true, 18 * 4);
    for (const b of [0x4d, 0x04, 2, 18, 0x54, 0xe5]) outputByte(pc, b);
    waitIrq6(pc);
    expect(result(pc)[0]).toBe(0x04);
    expect(disk.data.slice(lba(2, 1, 1) * 512, lba(2, 1, 19) * 512).every((b) => b === 0xe5)).toBe(true);
    expect(disk.data[lba(2, 0, 18) * 512 + 5]).not.toBe(0xe5);
  });
});

describe('8237 DMA', () => {
  it('wraps inside its 64 KB page, auto-initialises, and stops when masked', () => {
    const pc = makePc();
    const mem = new FlatMemory();
    const dma = new DmaController(mem, pc.bus);
    expect(dma.ready(2)).toBe(false); // masked at reset
    pc.outb(0x0c, 0);
    pc.outb(0x0b, 0x46);
    pc.outb(0x04, 0xfe);
    pc.outb(0x04, 0xff);
    pc.outb(0x81, 0x03);
    pc.outb(0x05, 3);
    pc.outb(0x05, 0);
    pc.outb(0x0a, 2);
    expect(dma.address(2)).toBe(0x3fffe);
    expect(dma.writeToMemory(2, new Uint8Array([1, 2, 3, 4, 5]), 0, 5)).toBe(4);
    expect([mem.bytes[0x3fffe], mem.bytes[0x3ffff], mem.bytes[0x30000], mem.bytes[0x30001], mem.bytes[0x40000]]).toEqual([1, 2, 3, 4, 0]);
    expect(dma.ready(2)).toBe(false);
    // Read back the counters: address wrapped to 0002h, count FFFFh.
    pc.outb(0x0c, 0);
    expect(pc.inb(0x04) | (pc.inb(0x04) << 8)).toBe(0x0002);
    expect(pc.inb(0x05) | (pc.inb(0x05) << 8)).toBe(0xffff);
    // Auto-initialise (mode 0x56) reloads and stays unmasked.
    pc.outb(0x0b, 0x56);
    pc.outb(0x0c, 0);
    pc.outb(0x04, 0x00);
    pc.outb(0x04, 0x10);
    pc.outb(0x05, 1);
    pc.outb(0x05, 0);
    pc.outb(0x0a, 2);
    expect(dma.writeToMemory(2, new Uint8Array([9, 8]), 0, 2)).toBe(2);
    expect(dma.ready(2)).toBe(true);
    expect(dma.address(2)).toBe(0x31000);
    // Read transfer from memory (mode 0x4A), and the all-masks registers.
    pc.outb(0x0b, 0x4a);
    const out = new Uint8Array(2);
    expect(dma.readFromMemory(2, out, 0, 2)).toBe(2);
    expect(Array.from(out)).toEqual([9, 8]);
    pc.outb(0x0f, 0x0f);
    expect(dma.ready(2)).toBe(false);
    pc.outb(0x0e, 0);
    expect(dma.ready(2)).toBe(true);
    pc.outb(0x0d, 0); // master clear masks everything
    expect(dma.ready(2)).toBe(false);
    pc.outb(0x8c, 0x77); // spare page register
    expect(pc.inb(0x8c)).toBe(0x77);
  });
});

describe('3F7h shared by the floppy and hard-disk controllers', () => {
  it('combines the floppy disk-change bit with the hard-disk drive-address bits', async () => {
    const { AtaController } = await import('../emulator/devices/ata');
    const pc = makePc();
    const dma = new DmaController(new FlatMemory(), pc.bus);
    const hd = new AtaController(pc.clock, pc.pic, [patternDisk({ cylinders: 2, heads: 2, sectorsPerTrack: 4 }), null], pc.bus);
    new FloppyController(pc.clock, pc.pic, dma, pc.bus, { drives: [null], dirLowBits: () => hd.driveAddress() });
    pc.outb(0x1f6, 0xa3); // master, head 3
    expect(pc.inb(0x3f7)).toBe(0x80 | (~(1 | (3 << 2)) & 0x7f));
    pc.outb(0x1f6, 0xb0);
    expect(pc.inb(0x3f7) & 0x03).toBe(0x01); // DS1 active (low)
  });
});
