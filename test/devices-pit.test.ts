import { describe, expect, it } from 'vitest';
import { Pit, PIT_HZ } from '../emulator/devices/pit';
import { SystemControlB } from '../emulator/devices/port61';
import { ackAndEoi, linuxPicInit, makePc, runUntil, TestPc, unmask } from './devices-helpers';

const RATE = 50_000_000;

function setup(): { pc: TestPc; pit: Pit; port61: SystemControlB } {
  const pc = makePc(RATE);
  const pit = new Pit(pc.clock, pc.pic, pc.bus);
  const port61 = new SystemControlB(pc.clock, pit, pc.bus);
  return { pc, pit, port61 };
}

function latch0(pc: TestPc): number {
  pc.outb(0x43, 0x00);
  const lo = pc.inb(0x40);
  return lo | (pc.inb(0x40) << 8);
}

describe('8253/8254 PIT', () => {
  it('Linux 0.11: mode 3 with LATCH 11931 gives IRQ0 100 times per emulated second', () => {
    const { pc } = setup();
    linuxPicInit(pc);
    const LATCH = Math.floor(1193180 / 100);
    pc.outb(0x43, 0x36);
    pc.outb(0x40, LATCH & 0xff);
    pc.outb(0x40, LATCH >> 8);
    unmask(pc, 0);
    const at: number[] = [];
    runUntil(pc, RATE, () => {
      while (pc.pic.hasInterrupt()) {
        expect(ackAndEoi(pc)).toBe(0x20);
        at.push(pc.clock.icount);
      }
    });
    expect(at.length).toBe(100);
    const period = (LATCH / PIT_HZ) * RATE; // 499963.7 instructions
    for (let i = 0; i < at.length; i++) {
      expect(Math.abs(at[i] - (i + 1) * period)).toBeLessThanOrEqual(1);
    }
  });

  it('counter latch returns the mode-3 count: even, in range, counting down', () => {
    const { pc } = setup();
    pc.outb(0x43, 0x36);
    pc.outb(0x40, 0x9b);
    pc.outb(0x40, 0x2e); // 11931
    pc.clock.advance(1000); // ~24 ticks
    const a = latch0(pc);
    expect(a % 2).toBe(0);
    expect(a).toBe(11931 - 1 - 2 * Math.floor(1000 * PIT_HZ / RATE)); // odd N counts from N-1
    pc.clock.advance(500);
    const b = latch0(pc);
    expect(b).toBeLessThan(a);
    // A latched value holds until read even as time passes.
    pc.outb(0x43, 0x00);
    pc.clock.advance(5000);
    const lo = pc.inb(0x40);
    pc.outb(0x43, 0x00); // a second latch command before reading is ignored
    const hi = pc.inb(0x40);
    expect(lo | (hi << 8)).toBe(b); // latched at 1500 instructions, read at 6500
    expect(latch0(pc)).toBe(11931 - 1 - 2 * Math.floor((6500 * PIT_HZ) / RATE));
  });

  it('mode 0 interrupts once at terminal count, then keeps counting down through zero', () => {
    const { pc } = setup();
    linuxPicInit(pc);
    unmask(pc, 0);
    pc.outb(0x43, 0x30);
    pc.outb(0x40, 1000 & 0xff);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0x40, 1000 >> 8);
    const irqs: number[] = [];
    runUntil(pc, 200_000, () => {
      while (pc.pic.hasInterrupt()) {
        expect(ackAndEoi(pc)).toBe(0x20);
        irqs.push(pc.clock.icount);
      }
    });
    expect(irqs).toEqual([Math.ceil((1000 * RATE) / PIT_HZ)]);
    const c = latch0(pc);
    expect(c).toBe(65536 + 1000 - Math.floor((200_000 * PIT_HZ) / RATE));
    // Read-back: status byte first (OUT high, LSB/MSB, mode 0, binary), then the count.
    pc.outb(0x43, 0xc2);
    expect(pc.inb(0x40)).toBe(0x80 | 0x30);
    const rb = pc.inb(0x40) | (pc.inb(0x40) << 8);
    expect(rb).toBe(c);
  });

  it('mode 2 with LSB-only access gives a periodic IRQ0', () => {
    const { pc } = setup();
    linuxPicInit(pc);
    unmask(pc, 0);
    pc.outb(0x43, 0x14); // ch0, LSB only, mode 2
    pc.outb(0x40, 200);
    let n = 0;
    runUntil(pc, Math.ceil((2000 * RATE) / PIT_HZ), () => {
      while (pc.pic.hasInterrupt()) {
        ackAndEoi(pc);
        n++;
      }
    });
    expect(n).toBe(10);
    pc.outb(0x43, 0x00);
    const v = pc.inb(0x40);
    expect(v).toBeGreaterThan(0);
    expect(v).toBeLessThanOrEqual(200);
  });

  it('a count of 0 means 65536 (mode 3 reads 0 at the start of a period)', () => {
    const { pc } = setup();
    pc.outb(0x43, 0x36);
    pc.outb(0x40, 0);
    pc.outb(0x40, 0);
    expect(latch0(pc)).toBe(0);
    pc.clock.advance(Math.ceil((10 * RATE) / PIT_HZ));
    expect(latch0(pc)).toBe(65536 - 20);
  });

  it('mode 1 (one-shot) on channel 2 is triggered and retriggered by the gate', () => {
    const { pc } = setup();
    const tick = RATE / PIT_HZ;
    pc.outb(0x61, 0x00);
    pc.outb(0x43, 0xb2); // ch2, lohi, mode 1
    pc.outb(0x42, 50);
    pc.outb(0x42, 0);
    pc.clock.advance(Math.ceil(100 * tick));
    expect(pc.inb(0x61) & 0x20).toBe(0x20); // armed, not triggered: OUT high
    pc.outb(0x61, 0x01); // trigger
    expect(pc.inb(0x61) & 0x20).toBe(0);
    pc.clock.advance(Math.ceil(40 * tick));
    pc.outb(0x61, 0x00);
    pc.outb(0x61, 0x01); // retrigger: another 50 ticks
    pc.clock.advance(Math.ceil(40 * tick));
    expect(pc.inb(0x61) & 0x20).toBe(0);
    pc.clock.advance(Math.ceil(11 * tick));
    expect(pc.inb(0x61) & 0x20).toBe(0x20);
  });

  it('mode 4 strobes once: IRQ0 when OUT returns high after terminal count', () => {
    const { pc } = setup();
    linuxPicInit(pc);
    unmask(pc, 0);
    pc.outb(0x43, 0x38); // ch0, lohi, mode 4
    pc.outb(0x40, 100);
    pc.outb(0x40, 0);
    const irqs: number[] = [];
    runUntil(pc, 100_000, () => {
      while (pc.pic.hasInterrupt()) {
        ackAndEoi(pc);
        irqs.push(pc.clock.icount);
      }
    });
    expect(irqs).toEqual([Math.ceil((101 * RATE) / PIT_HZ)]);
  });

  it('BCD counting reads back in BCD', () => {
    const { pc } = setup();
    pc.outb(0x43, 0x31); // ch0, lohi, mode 0, BCD
    pc.outb(0x40, 0x00);
    pc.outb(0x40, 0x10); // 1000 decimal
    pc.clock.advance(Math.ceil((3 * RATE) / PIT_HZ)); // 3 ticks
    pc.outb(0x43, 0x00);
    expect(pc.inb(0x40) | (pc.inb(0x40) << 8)).toBe(0x0997);
  });

  it('channel 2 is gated by port 61h bit 0 and its OUT shows in bit 5', () => {
    const { pc, port61 } = setup();
    pc.outb(0x61, 0x00);
    pc.outb(0x43, 0xb0); // ch2, lohi, mode 0
    pc.outb(0x42, 100);
    pc.outb(0x42, 0);
    pc.clock.advance(100_000);
    expect(pc.inb(0x61) & 0x20).toBe(0);
    pc.outb(0x43, 0x80);
    expect(pc.inb(0x42) | (pc.inb(0x42) << 8)).toBe(100); // gate low: not counting
    pc.outb(0x61, 0x01);
    pc.clock.advance(Math.ceil((99 * RATE) / PIT_HZ));
    expect(pc.inb(0x61) & 0x20).toBe(0);
    pc.clock.advance(Math.ceil(RATE / PIT_HZ) + 1);
    expect(pc.inb(0x61) & 0x21).toBe(0x21);
    // Speaker: ch2 mode 3 at 1193 → ~1000 Hz when 61h bits 0 and 1 are set.
    pc.outb(0x43, 0xb6);
    pc.outb(0x42, 1193 & 0xff);
    pc.outb(0x42, 1193 >> 8);
    expect(port61.speakerFrequency()).toBe(0);
    pc.outb(0x61, 0x03);
    expect(port61.speakerFrequency()).toBeCloseTo(PIT_HZ / 1193, 6);
    // The refresh bit toggles with time.
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) {
      seen.add(pc.inb(0x61) & 0x10);
      pc.clock.advance(211);
    }
    expect([...seen].sort()).toEqual([0, 0x10]);
  });

  it('a new control word stops the channel and the count written restarts it', () => {
    const { pc } = setup();
    linuxPicInit(pc);
    unmask(pc, 0);
    pc.outb(0x43, 0x34);
    pc.outb(0x40, 0x00);
    pc.outb(0x40, 0x01); // 256
    pc.outb(0x43, 0x30); // mode 0, no count yet: nothing scheduled
    runUntil(pc, 100_000, () => {
      while (pc.pic.hasInterrupt()) ackAndEoi(pc);
    });
    expect(pc.clock.pendingTimers().some((t) => t.name === 'pit-ch0')).toBe(false);
    pc.outb(0x43, 0xc2);
    expect(pc.inb(0x40)).toBe(0x40 | 0x30); // null count, OUT low
  });
});
