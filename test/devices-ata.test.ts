import { describe, expect, it } from 'vitest';
import { AtaController } from '../emulator/devices/ata';
import { DiskImage, Geometry, hardDiskGeometry } from '../emulator/devices/disk';
import type { IrqSink } from '../emulator/devices/pic';
import { ackAndEoi, linuxPicInit, makePc, patternDisk, runUntil, TestPc, unmask } from './devices-helpers';

const GEO: Geometry = { cylinders: 20, heads: 4, sectorsPerTrack: 17 };

function setup(slave = false, irq?: IrqSink): { pc: TestPc; hd: AtaController; disk: DiskImage; disk1: DiskImage } {
  const pc = makePc();
  const disk = patternDisk(GEO);
  const disk1 = patternDisk({ cylinders: 10, heads: 2, sectorsPerTrack: 9 });
  const hd = new AtaController(pc.clock, irq ?? pc.pic, [disk, slave ? disk1 : null], pc.bus);
  linuxPicInit(pc);
  unmask(pc, 14);
  return { pc, hd, disk, disk1 };
}

/** Linux 0.11 hd.c hd_out(). */
function hdOut(pc: TestPc, drive: number, nsect: number, sect: number, head: number, cyl: number, cmd: number): void {
  expect(pc.inb(0x1f7) & 0xc0).toBe(0x40); // controller_ready
  pc.outb(0x3f6, 0x00); // ctl
  pc.outb(0x1f1, 0xff); // write precompensation / 4
  pc.outb(0x1f2, nsect);
  pc.outb(0x1f3, sect);
  pc.outb(0x1f4, cyl & 0xff);
  pc.outb(0x1f5, cyl >> 8);
  pc.outb(0x1f6, 0xa0 | (drive << 4) | head);
  pc.outb(0x1f7, cmd);
}

/** Wait (in machine time) for the next IRQ14 and acknowledge it. */
function waitIrq14(pc: TestPc): void {
  for (let i = 0; i < 100 && !pc.pic.hasInterrupt(); i++) runUntil(pc, 100);
  expect(ackAndEoi(pc)).toBe(0x2e);
}

function insw(pc: TestPc, words: number): Uint8Array {
  const b = new Uint8Array(words * 2);
  for (let i = 0; i < words; i++) {
    const w = pc.inw(0x1f0);
    b[i * 2] = w & 0xff;
    b[i * 2 + 1] = w >> 8;
  }
  return b;
}

function sectorOf(disk: DiskImage, lba: number): Uint8Array {
  return disk.data.slice(lba * 512, lba * 512 + 512);
}

const chs = (c: number, h: number, s: number) => (c * GEO.heads + h) * GEO.sectorsPerTrack + s - 1;

describe('AT hard-disk controller', () => {
  it('reads sectors through 1F0h with IRQ14, as Linux 0.11 read_intr does', () => {
    const { pc, disk } = setup();
    hdOut(pc, 0, 2, 17, 3, 5, 0x20); // two sectors: C5 H3 S17, then C6 H0 S1
    expect(pc.inb(0x3f6) & 0x80).toBe(0x80); // busy
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x58); // READY | SEEK | DRQ
    expect(insw(pc, 256)).toEqual(sectorOf(disk, chs(5, 3, 17)));
    expect(pc.inb(0x1f7) & 0x08).toBe(0);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x58);
    expect(insw(pc, 256)).toEqual(sectorOf(disk, chs(6, 0, 1)));
    expect(pc.inb(0x1f7)).toBe(0x50);
    expect(pc.inb(0x1f2)).toBe(0);
    expect(pc.pic.hasInterrupt()).toBe(false);
  });

  it('writes sectors: DRQ at once, IRQ14 after each sector is written', () => {
    const { pc, disk } = setup();
    hdOut(pc, 0, 2, 1, 0, 0, 0x30);
    expect(pc.inb(0x1f7)).toBe(0x58);
    expect(pc.pic.hasInterrupt()).toBe(false);
    for (let i = 0; i < 256; i++) pc.outw(0x1f0, 0xaa00 | i);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x58); // ready for the second sector
    for (let i = 0; i < 128; i++) pc.bus.out32(0x1f0, 0x12345678);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x50);
    expect(disk.data[0]).toBe(0x00);
    expect(disk.data[1]).toBe(0xaa);
    expect(disk.data[511]).toBe(0xaa);
    expect(Array.from(disk.data.subarray(512, 516))).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(disk.dirty).toBe(true);
  });

  it('identifies the drive (ECh)', () => {
    const { pc } = setup();
    pc.outb(0x1f6, 0xa0);
    pc.outb(0x1f7, 0xec);
    waitIrq14(pc);
    const id = insw(pc, 256);
    const w = (i: number) => id[i * 2] | (id[i * 2 + 1] << 8);
    expect([w(0), w(1), w(3), w(6)]).toEqual([0x0040, 20, 4, 17]);
    expect(w(60) | (w(61) << 16)).toBe(20 * 4 * 17);
    expect(w(49) & 0x200).toBe(0x200);
    let model = '';
    for (let i = 27; i < 47; i++) model += String.fromCharCode(w(i) >> 8, w(i) & 0xff);
    expect(model.trim()).toBe('FORKLAB HARDDISK');
    expect(pc.inb(0x1f7)).toBe(0x50);
  });

  it('addresses by LBA28', () => {
    const { pc, disk } = setup();
    const lba = 1000;
    pc.outb(0x1f2, 1);
    pc.outb(0x1f3, lba & 0xff);
    pc.outb(0x1f4, (lba >> 8) & 0xff);
    pc.outb(0x1f5, (lba >> 16) & 0xff);
    pc.outb(0x1f6, 0xe0 | ((lba >> 24) & 0x0f));
    pc.outb(0x1f7, 0x20);
    waitIrq14(pc);
    expect(insw(pc, 256)).toEqual(sectorOf(disk, lba));
  });

  it('reports IDNF for a sector outside the disk and ABRT for an unknown command', () => {
    const { pc } = setup();
    hdOut(pc, 0, 1, 18, 0, 0, 0x20); // sector 18 > 17 per track
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x51);
    expect(pc.inb(0x1f1)).toBe(0x10);
    hdOut(pc, 0, 1, 1, 0, 25, 0x20); // cylinder 25 of 20
    waitIrq14(pc);
    expect(pc.inb(0x1f1)).toBe(0x10);
    pc.outb(0x1f7, 0x50);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x51);
    expect(pc.inb(0x1f1)).toBe(0x04);
  });

  it('RESTORE, SEEK, SPECIFY (91h) and DIAGNOSE (90h)', () => {
    const { pc, disk } = setup();
    hdOut(pc, 0, 0, 0, 0, 7, 0x10);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x50);
    expect(pc.inb(0x1f4)).toBe(0);
    hdOut(pc, 0, 0, 1, 2, 3, 0x70);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x50);
    // Linux 0.11 reset_hd: SPECIFY with its table's heads and sectors: here 8 heads x 17.
    hdOut(pc, 0, 17, 17, 7, 0, 0x91);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x50);
    hdOut(pc, 0, 1, 1, 5, 1, 0x20); // C1 H5 S1 in the 8-head translation
    waitIrq14(pc);
    expect(insw(pc, 256)).toEqual(sectorOf(disk, (1 * 8 + 5) * 17));
    pc.outb(0x1f7, 0x90);
    waitIrq14(pc);
    expect(pc.inb(0x1f1)).toBe(0x01);
  });

  it('software reset through 3F6h selects the master and leaves the signature', () => {
    const { pc } = setup(true);
    pc.outb(0x1f6, 0xb0); // slave
    pc.outb(0x3f6, 0x04);
    expect(pc.inb(0x3f6) & 0x80).toBe(0x80);
    pc.outb(0x3f6, 0x00);
    expect(pc.inb(0x1f6)).toBe(0xa0);
    expect(pc.inb(0x1f7)).toBe(0x50);
    expect(pc.inb(0x1f1)).toBe(0x01);
    expect([pc.inb(0x1f2), pc.inb(0x1f3), pc.inb(0x1f4), pc.inb(0x1f5)]).toEqual([1, 1, 0, 0]);
    expect(pc.pic.hasInterrupt()).toBe(false);
  });

  it('reads from the slave; an absent slave reads status 0', () => {
    const { pc, disk1 } = setup(true);
    hdOut(pc, 1, 1, 9, 1, 2, 0x20);
    waitIrq14(pc);
    expect(insw(pc, 256)).toEqual(sectorOf(disk1, (2 * 2 + 1) * 9 + 8));
    const solo = setup(false);
    solo.pc.outb(0x1f6, 0xb0);
    expect(solo.pc.inb(0x1f7)).toBe(0x00);
    solo.pc.outb(0x1f7, 0x20); // nobody answers
    // after a reset, the absent slave's signature floats: cylinder FFh/FFh (the master's is 0/0)
    solo.pc.outb(0x3f6, 0x04);
    solo.pc.outb(0x3f6, 0x00);
    solo.pc.outb(0x1f6, 0xb0);
    expect([solo.pc.inb(0x1f2), solo.pc.inb(0x1f3), solo.pc.inb(0x1f4), solo.pc.inb(0x1f5)]).toEqual([1, 1, 0xff, 0xff]);
    solo.pc.outb(0x1f6, 0xa0);
    expect([solo.pc.inb(0x1f4), solo.pc.inb(0x1f5)]).toEqual([0, 0]);
    runUntil(solo.pc, 10_000);
    expect(solo.pc.pic.hasInterrupt()).toBe(false);
  });

  it('a channel with no drive floats: every register reads FFh, so a BIOS echo test finds nothing', () => {
    const pc = makePc();
    new AtaController(pc.clock, pc.pic, [null, null], pc.bus);
    for (const dh of [0xa0, 0xb0]) {
      pc.outb(0x1f6, dh);
      pc.outb(0x1f2, 0x55); // rombios's ata_detect writes 55h/AAh and reads them back
      pc.outb(0x1f3, 0xaa);
      expect([pc.inb(0x1f2), pc.inb(0x1f3), pc.inb(0x1f4), pc.inb(0x1f5), pc.inb(0x1f6), pc.inb(0x1f7), pc.inb(0x3f6)]).toEqual([
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      ]);
    }
  });

  it('nIEN masks IRQ14; reading 1F7h clears the pending interrupt, 3F6h does not', () => {
    const lines: string[] = [];
    const rec: IrqSink = { raiseIrq: (n) => lines.push(`+${n}`), lowerIrq: (n) => lines.push(`-${n}`) };
    const { pc } = setup(false, rec);
    pc.outb(0x3f6, 0x02);
    pc.outb(0x1f6, 0xa0);
    pc.outb(0x1f2, 1);
    pc.outb(0x1f3, 1);
    pc.outb(0x1f7, 0x20);
    runUntil(pc, 10_000);
    expect(lines).toEqual([]);
    expect(pc.inb(0x3f6)).toBe(0x58);
    pc.outb(0x3f6, 0x00); // unmasking shows the still-pending interrupt
    expect(lines).toEqual(['+14']);
    pc.inb(0x3f6);
    expect(lines).toEqual(['+14']);
    pc.inb(0x1f7);
    expect(lines).toEqual(['+14', '-14']);
  });

  it('READ MULTIPLE interrupts once per block', () => {
    const { pc, disk } = setup();
    pc.outb(0x1f6, 0xa0);
    pc.outb(0x1f2, 4);
    pc.outb(0x1f7, 0xc6);
    waitIrq14(pc);
    expect(pc.inb(0x1f7)).toBe(0x50);
    hdOut(pc, 0, 8, 1, 0, 0, 0xc4);
    waitIrq14(pc);
    expect(insw(pc, 1024)).toEqual(disk.data.slice(0, 4 * 512));
    waitIrq14(pc);
    expect(insw(pc, 1024)).toEqual(disk.data.slice(4 * 512, 8 * 512));
    expect(pc.inb(0x1f7)).toBe(0x50);
    pc.outb(0x1f2, 3);
    pc.outb(0x1f7, 0xc6); // not a power of two
    waitIrq14(pc);
    expect(pc.inb(0x1f1)).toBe(0x04);
  });

  it('chooses hard-disk geometries from image sizes', () => {
    expect(hardDiskGeometry(10 * 16 * 63 * 512)).toEqual({ cylinders: 10, heads: 16, sectorsPerTrack: 63 });
    expect(hardDiskGeometry(20 * 4 * 17 * 512)).toEqual({ cylinders: 20, heads: 4, sectorsPerTrack: 17 });
    expect(hardDiskGeometry(1000)).toBeNull();
    // no exact fit: QEMU's 16 x 63 with the remainder out of CHS reach, never 1 sector a track
    expect(hardDiskGeometry(2880 * 512)).toEqual({ cylinders: 2, heads: 16, sectorsPerTrack: 63 });
    expect(hardDiskGeometry(100 * 512)).toEqual({ cylinders: 1, heads: 1, sectorsPerTrack: 63 });
    // a partition table's end CHS gives heads and sectors (here 8 heads, 32 sectors)
    const mbr = new Uint8Array(512);
    mbr.set([0x80, 1, 1, 0, 0x83, 7, 32 | 0x40, 0xff], 0x1be);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    expect(hardDiskGeometry(500 * 8 * 32 * 512, mbr)).toEqual({ cylinders: 500, heads: 8, sectorsPerTrack: 32 });
    mbr[0x1be + 6] = 0; // entries without CHS values teach nothing
    expect(hardDiskGeometry(500 * 8 * 32 * 512, mbr)).toEqual({ cylinders: 126, heads: 16, sectorsPerTrack: 63 });
  });
});
