import { describe, expect, it } from 'vitest';
import { Cmos, CMOS_FLOPPY } from '../emulator/devices/cmos';
import { DebugPorts } from '../emulator/devices/debug-ports';
import { ackAndEoi, linuxPicInit, makePc, runUntil, TestPc, unmask } from './devices-helpers';

const RATE = 1_000_000; // a small rate keeps whole emulated seconds cheap

function read(pc: TestPc, reg: number): number {
  pc.outb(0x70, 0x80 | reg); // as Linux 0.11's CMOS_READ: NMI disabled
  return pc.inb(0x71);
}

function setup(options = {}): { pc: TestPc; cmos: Cmos } {
  const pc = makePc(RATE);
  const cmos = new Cmos(pc.clock, pc.pic, pc.bus, options);
  return { pc, cmos };
}

const bcd = (v: number) => ((v / 10) << 4) | v % 10;

describe('CMOS and RTC', () => {
  it('starts at the fixed default time in BCD', () => {
    const { pc, cmos } = setup();
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map((r) => read(pc, r))).toEqual([0x00, 0x00, 0x12, 0x07, 0x05, 0x10, 0x91, 0x19]);
    expect(cmos.nmiDisabled).toBe(true);
    expect(read(pc, 0x0a)).toBe(0x26);
    expect(read(pc, 0x0b)).toBe(0x02);
    expect(read(pc, 0x0d)).toBe(0x80);
    expect(pc.inb(0x70)).toBe(0xff);
  });

  it('advances the time with the machine clock, carrying through the date', () => {
    const start = Date.UTC(1999, 11, 31, 23, 59, 58) / 1000;
    const { pc, cmos } = setup({ startTime: start });
    // Linux 0.11 time_init: read until the seconds are stable.
    const time = () => [0, 2, 4, 7, 8, 9, 0x32].map((r) => read(pc, r));
    expect(time()).toEqual([0x58, 0x59, 0x23, 0x31, 0x12, 0x99, 0x19]);
    runUntil(pc, RATE);
    expect(time()).toEqual([0x59, 0x59, 0x23, 0x31, 0x12, 0x99, 0x19]);
    runUntil(pc, RATE);
    expect(time()).toEqual([0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x20]);
    expect(read(pc, 6)).toBe(bcd(7)); // 2000-01-01 was a Saturday
    runUntil(pc, 3 * 3600 * RATE + 5 * RATE);
    expect(cmos.getTime()).toBe(start + 2 + 3 * 3600 + 5);
  });

  it('handles leap years and binary, 12-hour mode', () => {
    const { pc, cmos } = setup({ startTime: Date.UTC(2024, 1, 28, 23, 59, 59) / 1000 });
    runUntil(pc, RATE);
    expect([read(pc, 7), read(pc, 8)]).toEqual([0x29, 0x02]);
    // Binary, 12-hour: the guest sets the clock with SET held.
    pc.outb(0x70, 0x0b);
    pc.outb(0x71, 0x80 | 0x04);
    pc.outb(0x70, 0x00);
    pc.outb(0x71, 59);
    pc.outb(0x70, 0x02);
    pc.outb(0x71, 59);
    pc.outb(0x70, 0x04);
    pc.outb(0x71, 0x80 | 11); // 11 PM
    for (const [r, v] of [[7, 29], [8, 2], [9, 24], [0x32, 20]]) {
      pc.outb(0x70, r);
      pc.outb(0x71, v);
    }
    runUntil(pc, 3 * RATE);
    expect(read(pc, 0)).toBe(59); // SET halts updates
    pc.outb(0x70, 0x0b);
    pc.outb(0x71, 0x04);
    runUntil(pc, RATE);
    expect([read(pc, 0), read(pc, 2), read(pc, 4)]).toEqual([0, 0, 12]); // 12 AM
    expect(new Date(cmos.getTime() * 1000).toISOString()).toBe('2024-03-01T00:00:00.000Z');
  });

  it('shows UIP just before an update', () => {
    const { pc } = setup();
    expect(read(pc, 0x0a) & 0x80).toBe(0);
    pc.clock.advance(RATE - 100); // 100 us before the update
    expect(read(pc, 0x0a) & 0x80).toBe(0x80);
    runUntil(pc, 200);
    expect(read(pc, 0x0a) & 0x80).toBe(0);
  });

  it('holds the configuration bytes: disks, floppies, equipment, memory, checksum', () => {
    const { pc } = setup({
      memorySize: 32 * 1024 * 1024,
      floppyTypes: [CMOS_FLOPPY['1.44M'], CMOS_FLOPPY['1.2M']],
      hardDisks: [true, false],
      fpu: true,
    });
    expect(read(pc, 0x10)).toBe(0x42);
    expect(read(pc, 0x12)).toBe(0xf0); // high nibble: a first disk exists
    expect(read(pc, 0x19)).toBe(47);
    expect(read(pc, 0x14)).toBe(0x43); // two floppies, FPU, floppy present, VGA
    expect(read(pc, 0x15) | (read(pc, 0x16) << 8)).toBe(640);
    expect(read(pc, 0x17) | (read(pc, 0x18) << 8)).toBe(31 * 1024);
    expect(read(pc, 0x30) | (read(pc, 0x31) << 8)).toBe(31 * 1024);
    expect(read(pc, 0x34) | (read(pc, 0x35) << 8)).toBe(256);
    let sum = 0;
    for (let r = 0x10; r <= 0x2d; r++) sum += read(pc, r);
    expect((read(pc, 0x2e) << 8) | read(pc, 0x2f)).toBe(sum);
    // Plain RAM bytes are read/write; C and D are read-only.
    pc.outb(0x70, 0x40);
    pc.outb(0x71, 0xa5);
    expect(read(pc, 0x40)).toBe(0xa5);
    pc.outb(0x70, 0x0d);
    pc.outb(0x71, 0x00);
    expect(read(pc, 0x0d)).toBe(0x80);
  });

  it('holds the boot sequence where Bochs and QEMU BIOSes read it: 3Dh, 38h bits 7-4', () => {
    expect([read(setup().pc, 0x3d), read(setup().pc, 0x38)]).toEqual([0x21, 0x00]); // A:, then C:
    const { pc } = setup({ bootOrder: ['c', 'a', 'c'] });
    expect(read(pc, 0x3d)).toBe(0x12);
    expect(read(pc, 0x38) >> 4).toBe(2);
  });

  it('raises IRQ8 for periodic and update-ended interrupts, cleared by reading C', () => {
    const { pc } = setup();
    linuxPicInit(pc);
    unmask(pc, 8);
    pc.outb(0x70, 0x0b);
    pc.outb(0x71, 0x42); // PIE, 24h
    let n = 0;
    runUntil(pc, RATE / 8, () => {
      while (pc.pic.hasInterrupt()) {
        expect(ackAndEoi(pc)).toBe(0x28); // IRQ8 with Linux's slave base
        expect(read(pc, 0x0c) & 0xc0).toBe(0xc0);
        n++;
      }
    });
    expect(n).toBe(128); // 1024 Hz for 1/8 s
    // Update-ended only.
    pc.outb(0x70, 0x0b);
    pc.outb(0x71, 0x12);
    n = 0;
    runUntil(pc, 2 * RATE, () => {
      while (pc.pic.hasInterrupt()) {
        ackAndEoi(pc);
        expect(read(pc, 0x0c) & 0x90).toBe(0x90);
        n++;
      }
    });
    expect(n).toBe(2);
    // Without reading C the line stays high: no further edges.
    runUntil(pc, 2 * RATE, () => {
      while (pc.pic.hasInterrupt()) {
        ackAndEoi(pc);
        n++;
      }
    });
    expect(n).toBe(3);
  });
});

describe('debug ports', () => {
  it('E9h debugcon, F4h exit, 80h/190h POST codes, F0h ignored', () => {
    const pc = makePc();
    const out: number[] = [];
    const exits: number[] = [];
    const dbg = new DebugPorts(pc.bus, { debugconSink: (b) => out.push(b), onExit: (s) => exits.push(s) });
    expect(pc.inb(0xe9)).toBe(0xe9);
    for (const c of 'ok\n') pc.outb(0xe9, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('ok\n');
    expect(dbg.lastPostCode).toBe(-1);
    pc.outb(0x80, 0x12);
    pc.outb(0x190, 0x34);
    expect(dbg.lastPostCode).toBe(0x34);
    expect(pc.inb(0x80)).toBe(0x34);
    pc.outb(0xf0, 0);
    pc.outb(0xf4, 0x10);
    expect(exits).toEqual([0x21]);
    pc.bus.out32(0xf4, 0);
    expect(exits).toEqual([0x21, 1]);
    expect(dbg.exitStatus).toBe(1);
  });
});
