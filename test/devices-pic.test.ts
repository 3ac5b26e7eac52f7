import { describe, expect, it } from 'vitest';
import { ackAndEoi, linuxPicInit, makePc, unmask } from './devices-helpers';

describe('8259A PIC pair', () => {
  it("takes Linux 0.11's initialisation and reports vectors 20h/28h", () => {
    const pc = makePc();
    linuxPicInit(pc);
    expect(pc.pic.master.vectorBase).toBe(0x20);
    expect(pc.pic.slave.vectorBase).toBe(0x28);
    expect(pc.pic.master.icw3).toBe(0x04);
    expect(pc.pic.slave.icw3).toBe(0x02);
    expect(pc.inb(0x21)).toBe(0xff);
    expect(pc.inb(0xa1)).toBe(0xff);
    // All masked: a request is latched in IRR but not delivered.
    pc.pic.raiseIrq(0);
    expect(pc.pic.hasInterrupt()).toBe(false);
    expect(pc.inb(0x20)).toBe(0x01); // OCW3 default after ICW1: read IRR
    unmask(pc, 0);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(pc.pic.acknowledge()).toBe(0x20);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0x20, 0x0b); // read ISR
    expect(pc.inb(0x20)).toBe(0x01);
    pc.outb(0x20, 0x0a); // read IRR
    expect(pc.inb(0x20)).toBe(0x00);
    pc.outb(0x20, 0x20); // EOI
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0x00);
  });

  it('is edge-triggered: a held line does not repeat; a request withdrawn before INTA is gone', () => {
    const pc = makePc();
    linuxPicInit(pc);
    unmask(pc, 1);
    pc.pic.raiseIrq(1);
    pc.pic.lowerIrq(1);
    expect(pc.pic.hasInterrupt()).toBe(false);
    // Masked requests wait while the line stays high; a withdrawn one does not.
    pc.outb(0x21, 0xff);
    pc.pic.raiseIrq(3);
    pc.pic.raiseIrq(4);
    pc.pic.lowerIrq(4);
    pc.outb(0x21, 0x00);
    expect(ackAndEoi(pc)).toBe(0x23);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.pic.lowerIrq(3);
    pc.outb(0x21, 0xfd);
    pc.pic.raiseIrq(1);
    expect(ackAndEoi(pc)).toBe(0x21);
    pc.pic.raiseIrq(1); // still high: no new edge
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.pic.lowerIrq(1);
    pc.pic.raiseIrq(1);
    expect(pc.pic.hasInterrupt()).toBe(true);
  });

  it('delivers by priority, nests higher priorities and holds lower ones until EOI', () => {
    const pc = makePc();
    linuxPicInit(pc);
    pc.outb(0x21, 0x00);
    pc.pic.raiseIrq(4);
    pc.pic.raiseIrq(1);
    expect(pc.pic.acknowledge()).toBe(0x21); // IRQ1 beats IRQ4
    // IRQ4 is lower than IRQ1 in service: held.
    expect(pc.pic.hasInterrupt()).toBe(false);
    // IRQ0 is higher: it nests.
    pc.pic.raiseIrq(0);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(pc.pic.acknowledge()).toBe(0x20);
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0x03);
    pc.outb(0x20, 0x20); // non-specific EOI clears the highest (IRQ0)
    expect(pc.inb(0x20)).toBe(0x02);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0x20, 0x20);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(pc.pic.acknowledge()).toBe(0x24);
    pc.outb(0x20, 0x64); // specific EOI for IRQ4
    expect(pc.inb(0x20)).toBe(0x00);
  });

  it('masks: a masked request waits in IRR and is delivered when unmasked', () => {
    const pc = makePc();
    linuxPicInit(pc);
    pc.outb(0x21, 0xf7); // only IRQ3 open
    pc.pic.raiseIrq(5);
    pc.pic.raiseIrq(3);
    expect(pc.pic.acknowledge()).toBe(0x23);
    pc.outb(0x20, 0x20);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0x21, 0xd7);
    expect(pc.inb(0x21)).toBe(0xd7);
    expect(ackAndEoi(pc)).toBe(0x25);
  });

  it('cascades slave IRQs through IRQ2 and needs EOI on both chips', () => {
    const pc = makePc();
    linuxPicInit(pc);
    unmask(pc, 14);
    unmask(pc, 8);
    pc.pic.raiseIrq(14);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(pc.pic.acknowledge()).toBe(0x2e);
    pc.outb(0x20, 0x0b);
    pc.outb(0xa0, 0x0b);
    expect(pc.inb(0x20)).toBe(0x04);
    expect(pc.inb(0xa0)).toBe(0x40);
    // IRQ8 (higher on the slave) arrives, but the master has IR2 in service: held (not SFNM).
    pc.pic.raiseIrq(8);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0xa0, 0x20);
    pc.outb(0x20, 0x20);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(ackAndEoi(pc)).toBe(0x28);
    // IRQ0 on the master has priority over the whole slave.
    pc.outb(0x21, 0x00);
    pc.pic.raiseIrq(15);
    pc.pic.raiseIrq(0);
    unmask(pc, 15);
    expect(ackAndEoi(pc)).toBe(0x20);
    expect(ackAndEoi(pc)).toBe(0x2f);
    // ISA IRQ2 is IRQ9 on the AT.
    unmask(pc, 9);
    pc.pic.raiseIrq(2);
    expect(ackAndEoi(pc)).toBe(0x29);
  });

  it('special fully nested mode lets a higher slave IRQ nest inside a slave IRQ', () => {
    const pc = makePc();
    for (const [p, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x11], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01]]) pc.outb(p, v);
    pc.outb(0x21, 0);
    pc.outb(0xa1, 0);
    pc.pic.raiseIrq(14);
    expect(pc.pic.acknowledge()).toBe(0x2e);
    pc.pic.raiseIrq(8);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(pc.pic.acknowledge()).toBe(0x28);
  });

  it('answers spurious IRQ7 and IRQ15 when the request has gone', () => {
    const pc = makePc();
    linuxPicInit(pc);
    pc.outb(0x21, 0);
    pc.outb(0xa1, 0);
    // Nothing pending at INTA: the master answers IRQ7 without setting ISR.
    expect(pc.pic.acknowledge()).toBe(0x27);
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0);
    // Level-triggered slave (ICW1 0x19): a request that drops before INTA.
    for (const [p, v] of [[0xa0, 0x19], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01]]) pc.outb(p, v);
    pc.outb(0xa1, 0);
    pc.pic.raiseIrq(12);
    expect(pc.pic.hasInterrupt()).toBe(true);
    pc.pic.lowerIrq(12);
    expect(pc.pic.hasInterrupt()).toBe(false);
    // A CPU that already sampled INT: INTA with no slave request left → IRQ15 vector;
    // the master's IR2 is nevertheless in service, so the handler must EOI the master only.
    pc.pic.raiseIrq(12);
    const m = pc.pic.master;
    m.irr |= 4; // INT was sampled: force the master's view of IR2
    pc.pic.slave.irr = 0;
    pc.pic.slave.lines = 0;
    expect(pc.pic.acknowledge()).toBe(0x2f);
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0x04);
    pc.outb(0xa0, 0x0b);
    expect(pc.inb(0xa0)).toBe(0x00);
  });

  it('level-triggered inputs request again after EOI while the line is held', () => {
    const pc = makePc();
    for (const [p, v] of [[0x20, 0x19], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01]]) pc.outb(p, v);
    pc.outb(0x21, 0);
    pc.pic.raiseIrq(5);
    expect(pc.pic.acknowledge()).toBe(0x25);
    expect(pc.pic.hasInterrupt()).toBe(false); // in service
    pc.outb(0x20, 0x20);
    expect(pc.pic.acknowledge()).toBe(0x25); // still high: requests again
    pc.outb(0x20, 0x20);
    pc.pic.lowerIrq(5);
    expect(pc.pic.hasInterrupt()).toBe(false);
  });

  it('auto-EOI leaves nothing in service', () => {
    const pc = makePc();
    for (const [p, v] of [[0x20, 0x11], [0x21, 0x08], [0x21, 0x04], [0x21, 0x03]]) pc.outb(p, v);
    pc.outb(0x21, 0);
    pc.pic.raiseIrq(3);
    pc.pic.raiseIrq(5);
    expect(pc.pic.acknowledge()).toBe(0x0b);
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0);
    expect(pc.pic.acknowledge()).toBe(0x0d); // no EOI needed
  });

  it('rotates priorities and supports set-priority, poll and special mask mode', () => {
    const pc = makePc();
    linuxPicInit(pc);
    pc.outb(0x21, 0);
    pc.pic.raiseIrq(0);
    expect(pc.pic.acknowledge()).toBe(0x20);
    pc.outb(0x20, 0xa0); // rotate on non-specific EOI: IRQ0 becomes lowest
    pc.pic.lowerIrq(0);
    pc.pic.raiseIrq(0);
    pc.pic.raiseIrq(6);
    expect(pc.pic.acknowledge()).toBe(0x26); // IRQ6 now beats IRQ0
    pc.outb(0x20, 0x20);
    pc.outb(0x20, 0xc7); // set priority: IRQ7 lowest, IRQ0 highest again
    pc.pic.raiseIrq(5);
    expect(pc.pic.acknowledge()).toBe(0x20);
    pc.outb(0x20, 0x60); // specific EOI IRQ0
    // Poll: the next read of 20h acknowledges and returns 80h | level.
    pc.outb(0x20, 0x0c);
    expect(pc.inb(0x20)).toBe(0x85);
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0x20);
    pc.outb(0x20, 0x0c);
    expect(pc.inb(0x20)).toBe(0x00); // nothing pending
    // Special mask mode: with IRQ5 in service and masked, a lower IRQ7 gets through.
    pc.pic.raiseIrq(7);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0x21, 0x20);
    pc.outb(0x20, 0x68);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(pc.pic.acknowledge()).toBe(0x27);
    pc.outb(0x20, 0x48); // leave special mask mode
    pc.outb(0x20, 0x67);
    pc.outb(0x20, 0x65);
    pc.outb(0x20, 0x0b);
    expect(pc.inb(0x20)).toBe(0);
  });

  it('re-initialisation clears masks, in-service bits and latched requests', () => {
    const pc = makePc();
    linuxPicInit(pc);
    pc.outb(0x21, 0);
    pc.pic.raiseIrq(3);
    pc.pic.acknowledge();
    pc.pic.raiseIrq(4);
    linuxPicInit(pc);
    pc.outb(0x21, 0);
    expect(pc.pic.master.isr).toBe(0);
    expect(pc.pic.hasInterrupt()).toBe(false);
  });
});
