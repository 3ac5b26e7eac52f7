// Shared set-up for the device tests: a clock, an I/O bus and the PIC pair, with
// inb/outb-style helpers and the PIC initialisation Linux 0.11's setup.s performs.
import { Clock } from '../emulator/clock';
import { IoBus } from '../emulator/devices/io-bus';
import { PicPair } from '../emulator/devices/pic';
import type { PhysicalMemory } from '../emulator/devices/dma';
import { DiskImage, Geometry } from '../emulator/devices/disk';

export interface TestPc {
  clock: Clock;
  bus: IoBus;
  pic: PicPair;
  inb(port: number): number;
  outb(port: number, v: number): void;
  inw(port: number): number;
  outw(port: number, v: number): void;
}

export function makePc(rate = 50_000_000): TestPc {
  const clock = new Clock({ rate });
  const bus = new IoBus();
  const pic = new PicPair(bus);
  return {
    clock,
    bus,
    pic,
    inb: (p) => bus.in8(p),
    outb: (p, v) => bus.out8(p, v),
    inw: (p) => bus.in16(p),
    outw: (p, v) => bus.out16(p, v),
  };
}

/** Linux 0.11 setup.s: ICW1 0x11, bases 0x20/0x28, cascade on IRQ2, 8086 mode, all masked. */
export function linuxPicInit(pc: TestPc): void {
  const seq: [number, number][] = [
    [0x20, 0x11], [0xa0, 0x11], [0x21, 0x20], [0xa1, 0x28],
    [0x21, 0x04], [0xa1, 0x02], [0x21, 0x01], [0xa1, 0x01],
    [0x21, 0xff], [0xa1, 0xff],
  ];
  for (const [p, v] of seq) pc.outb(p, v);
}

/** Unmask one IRQ (and the cascade for slave IRQs), as kernels do with inb/outb. */
export function unmask(pc: TestPc, irq: number): void {
  if (irq < 8) pc.outb(0x21, pc.inb(0x21) & ~(1 << irq));
  else {
    pc.outb(0xa1, pc.inb(0xa1) & ~(1 << (irq - 8)));
    pc.outb(0x21, pc.inb(0x21) & ~4);
  }
}

/** Acknowledge the pending interrupt and send the EOIs a kernel handler sends. */
export function ackAndEoi(pc: TestPc): number {
  const v = pc.pic.acknowledge();
  if (v >= 0x28 && v < 0x30) pc.outb(0xa0, 0x20);
  pc.outb(0x20, 0x20);
  return v;
}

/** Run the clock forward until `limit` instructions have passed, in event-sized steps. */
export function runUntil(pc: TestPc, limit: number, onStep?: () => void): void {
  const end = pc.clock.icount + limit;
  while (pc.clock.icount < end) {
    const n = Math.min(pc.clock.instructionsUntilNextEvent(), end - pc.clock.icount);
    pc.clock.advance(Math.max(1, n));
    onStep?.();
  }
}

/** 1 MB of flat physical memory for DMA tests. */
export class FlatMemory implements PhysicalMemory {
  readonly bytes = new Uint8Array(1 << 20);
  read8(addr: number): number {
    return this.bytes[addr & 0xfffff];
  }
  write8(addr: number, v: number): void {
    this.bytes[addr & 0xfffff] = v;
  }
}

/** A disk whose every byte tells where it is: sector LBA in bytes 0-3, then an index pattern. */
export function patternDisk(g: Geometry, readOnly = false): DiskImage {
  const n = g.cylinders * g.heads * g.sectorsPerTrack;
  const data = new Uint8Array(n * 512);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < 512; i++) data[s * 512 + i] = (i * 7 + s) & 0xff;
    data[s * 512] = s & 0xff;
    data[s * 512 + 1] = (s >> 8) & 0xff;
  }
  return new DiskImage(data, g, readOnly);
}

