import { describe, expect, it } from 'vitest';
import { Clock } from '../emulator/clock';
import { IoBus } from '../emulator/devices/io-bus';

describe('I/O bus', () => {
  it('reads all ones from unclaimed ports and ignores writes', () => {
    const bus = new IoBus();
    expect(bus.in8(0x1234)).toBe(0xff);
    expect(bus.in16(0x1234)).toBe(0xffff);
    expect(bus.in32(0x1234)).toBe(0xffffffff);
    bus.out8(0x1234, 0);
    bus.out32(0x1234, 0);
    expect(bus.in8(0x1234)).toBe(0xff);
    expect(bus.owner(0x1234)).toBeNull();
  });

  it('splits wide accesses to byte-only devices into bytes, low byte first', () => {
    const bus = new IoBus();
    const regs = new Uint8Array(8);
    const writes: string[] = [];
    bus.register('bytes', 0x300, 4, {
      read8: (p) => regs[p - 0x300],
      write8: (p, v) => {
        writes.push(`${p.toString(16)}=${v.toString(16)}`);
        regs[p - 0x300] = v;
      },
    });
    bus.out16(0x300, 0xbeef);
    expect(writes).toEqual(['300=ef', '301=be']);
    bus.out32(0x300, 0x11223344);
    expect(Array.from(regs.subarray(0, 4))).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(bus.in16(0x302)).toBe(0x1122);
    expect(bus.in32(0x300)).toBe(0x11223344);
    // The half of a wide access beyond the device reads as an unclaimed port.
    expect(bus.in16(0x303)).toBe(0xff11);
    expect(bus.owner(0x302)).toBe('bytes');
  });

  it('uses 16-bit handlers, and two of them for a 32-bit access', () => {
    const bus = new IoBus();
    let last = -1;
    bus.register('wide', 0x1f0, 1, {
      read16: () => 0xabcd,
      write16: (_p, v) => (last = v),
      read8: () => 0x12,
    });
    expect(bus.in16(0x1f0)).toBe(0xabcd);
    expect(bus.in8(0x1f0)).toBe(0x12);
    // 32-bit without a 32-bit handler: 16 bits at 1F0h and 16 at 1F2h (unclaimed).
    expect(bus.in32(0x1f0)).toBe(0xffffabcd);
    bus.out16(0x1f0, 0x5678);
    expect(last).toBe(0x5678);
  });

  it('refuses to give one port to two devices', () => {
    const bus = new IoBus();
    bus.register('a', 0x60, 1, { read8: () => 1 });
    expect(() => bus.register('b', 0x5f, 2, { read8: () => 2 })).toThrow(/0x60 already claimed by a/);
    expect(bus.owner(0x5f)).toBeNull(); // nothing half-registered
  });

  it('answers ports 0 and FFFFh, and a wide access at FFFFh wraps to port 0', () => {
    const bus = new IoBus();
    const regs = new Map<number, number>();
    const byte = { read8: (p: number) => regs.get(p) ?? 0, write8: (p: number, v: number) => void regs.set(p, v) };
    bus.register('top', 0xffff, 1, byte);
    bus.register('bottom', 0, 1, byte);
    expect(bus.owner(0)).toBe('bottom');
    expect(bus.owner(0xffff)).toBe('top');
    expect(bus.owner(1)).toBeNull();
    expect(bus.owner(0xfffe)).toBeNull();
    bus.out16(0xffff, 0xa55a);
    expect(regs.get(0xffff)).toBe(0x5a);
    expect(regs.get(0)).toBe(0xa5);
    expect(bus.in16(0xffff)).toBe(0xa55a);
    // 32 bits at FFFEh: FFFEh (unclaimed), FFFFh, 0, 1 (unclaimed).
    expect(bus.in32(0xfffe)).toBe(0xffa55aff);
    expect(() => bus.register('past', 0xffff, 2, byte)).toThrow(/0xffff already claimed by top/);
    expect(() => bus.register('beyond', 0x10000, 1, byte)).toThrow(/port 65536 out of range/);
  });

  it('composes wide accesses across devices, each byte from its own owner', () => {
    const bus = new IoBus();
    const log: string[] = [];
    const dev = (name: string, value: number) => ({
      read8: (p: number) => value + (p & 0xf),
      write8: (p: number, v: number) => void log.push(`${name} ${p.toString(16)}=${v.toString(16)}`),
    });
    bus.register('a', 0x40, 2, dev('a', 0x10));
    bus.register('b', 0x42, 1, dev('b', 0x20));
    bus.register('c', 0x43, 1, dev('c', 0x30));
    expect(bus.in32(0x40)).toBe(0x33221110);
    expect(bus.in16(0x41)).toBe(0x2211);
    bus.out32(0x41, 0x44332211);
    // The top byte goes to port 44h, which nobody answers.
    expect(log).toEqual(['a 41=11', 'b 42=22', 'c 43=33']);
    expect([0x40, 0x41, 0x42, 0x43, 0x44].map((p) => bus.owner(p))).toEqual(['a', 'a', 'b', 'c', null]);
  });

  it('keeps a device claimed over another\'s range whole, and reads missing handlers as unclaimed', () => {
    const bus = new IoBus();
    bus.register('timer', 0x40, 4, { read8: () => 0x11 });
    // Overlapping at the end, at the start, or inside: refused, and nothing of it stays.
    expect(() => bus.register('late', 0x3e, 3, { read8: () => 0x22 })).toThrow(/0x40 already claimed by timer/);
    expect(() => bus.register('early', 0x43, 3, { read8: () => 0x22 })).toThrow(/0x43 already claimed by timer/);
    expect(() => bus.register('inside', 0x41, 1, { read8: () => 0x22 })).toThrow(/0x41 already claimed by timer/);
    for (const p of [0x3e, 0x3f, 0x44, 0x45]) expect(bus.owner(p)).toBeNull();
    expect(bus.in8(0x3f)).toBe(0xff);
    expect(bus.in8(0x44)).toBe(0xff);
    expect(bus.in8(0x41)).toBe(0x11);
    // The ports next to it are still free for another device.
    bus.register('next', 0x44, 2, { write8: () => {} });
    expect(bus.owner(0x44)).toBe('next');
    // 'next' has no read handler: its ports read as nobody's; 'timer' ignores writes.
    expect(bus.in8(0x45)).toBe(0xff);
    bus.out8(0x40, 0);
    expect(bus.in8(0x40)).toBe(0x11);
    // A registration of no ports claims nothing.
    bus.register('none', 0x50, 0, { read8: () => 0 });
    expect(bus.owner(0x50)).toBeNull();
  });

  it('lets an observer see every access without changing it, and detaches cleanly', () => {
    const bus = new IoBus();
    const mem = new Uint8Array(2);
    bus.register('dev', 0x80, 2, { read8: (p) => mem[p - 0x80], write8: (p, v) => (mem[p - 0x80] = v) });
    const plainIn = bus.in8;
    const seen: string[] = [];
    bus.setObserver({
      onPortRead: (p, s, v) => seen.push(`in${s} ${p.toString(16)} ${v.toString(16)}`),
      onPortWrite: (p, s, v) => seen.push(`out${s} ${p.toString(16)} ${v.toString(16)}`),
    });
    expect(bus.in8).not.toBe(plainIn);
    bus.out16(0x80, 0x1234);
    expect(bus.in8(0x81)).toBe(0x12);
    expect(bus.in32(0x10000 + 0x80)).toBe(0xffff1234); // port numbers wrap at 64K
    expect(seen).toEqual(['out2 80 1234', 'in1 81 12', 'in4 80 ffff1234']);
    bus.setObserver(null);
    expect(bus.in8).toBe(plainIn);
    bus.in8(0x80);
    expect(seen.length).toBe(3);
    // Entry points are bound: they work detached from the bus object.
    const inb = bus.in8;
    expect(inb(0x80)).toBe(0x34);
  });
});

describe('clock', () => {
  it('counts instructions and converts to emulated time', () => {
    const c = new Clock({ rate: 1000 });
    expect(c.instructionsUntilNextEvent()).toBe(Infinity);
    c.advance(2500);
    expect(c.icount).toBe(2500);
    expect(c.seconds()).toBe(2.5);
    expect(c.instructionsFor(0.0015)).toBe(2);
    expect(() => new Clock({ rate: 0 })).toThrow(/positive/);
  });

  it('fires events in time order, ties in scheduling order, at their own time', () => {
    const c = new Clock();
    const log: string[] = [];
    const a = c.createTimer('a', (now) => log.push(`a@${now}`));
    const b = c.createTimer('b', (now) => log.push(`b@${now}`));
    const d = c.createTimer('d', (now) => log.push(`d@${now}`));
    d.scheduleAt(300);
    b.scheduleAt(100);
    a.scheduleAt(100);
    expect(c.instructionsUntilNextEvent()).toBe(100);
    expect(c.pendingTimers().map((t) => t.name)).toEqual(['b', 'a', 'd']);
    c.advance(99);
    expect(log).toEqual([]);
    expect(c.instructionsUntilNextEvent()).toBe(1);
    c.advance(1000);
    expect(log).toEqual(['b@100', 'a@100', 'd@300']);
    expect(c.icount).toBe(1099);
    expect(c.instructionsUntilNextEvent()).toBe(Infinity);
  });

  it('supports cancel, rescheduling, and periodic timers rescheduling themselves', () => {
    const c = new Clock();
    const times: number[] = [];
    const p = c.createTimer('periodic', (now) => {
      times.push(now);
      if (times.length < 5) p.scheduleAt(now + 7);
    });
    const x = c.createTimer('cancelled', () => times.push(-1));
    p.scheduleIn(7);
    x.scheduleIn(10);
    x.cancel();
    expect(x.pending).toBe(false);
    c.advance(100);
    expect(times).toEqual([7, 14, 21, 28, 35]);
    // Rescheduling a pending timer moves it.
    x.scheduleIn(50);
    x.scheduleIn(5);
    expect(c.instructionsUntilNextEvent()).toBe(5);
    // scheduleIn(0) fires on the next advance, even advance(0).
    const z = c.createTimer('z', () => times.push(0));
    z.scheduleIn(0);
    c.advance(0);
    expect(times[times.length - 1]).toBe(0);
  });

  it('is deterministic: the same schedule gives the same trace', () => {
    const run = () => {
      const c = new Clock({ rate: 1_000_000 });
      const out: string[] = [];
      const ts = [3, 1, 2].map((k) => {
        const t = c.createTimer(`t${k}`, (now) => {
          out.push(`${k}:${now}`);
          t.scheduleAt(now + k * 333);
        });
        return t;
      });
      ts.forEach((t, i) => t.scheduleAt(i * 10));
      for (let i = 0; i < 50; i++) c.advance(97);
      return out.join(',');
    };
    expect(run()).toBe(run());
    expect(run().split(',').length).toBeGreaterThan(20);
  });
});
