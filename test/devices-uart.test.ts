import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../emulator/devices/uart';
import { ackAndEoi, linuxPicInit, makePc, TestPc, unmask } from './devices-helpers';

const COM1 = 0x3f8;

function setup(): { pc: TestPc; out: number[]; com1: Uart16550; com2: Uart16550 } {
  const pc = makePc();
  const out: number[] = [];
  const com1 = new Uart16550(COM1, 4, pc.pic, pc.bus, { sink: (b) => out.push(b) });
  const com2 = new Uart16550(0x2f8, 3, pc.pic, pc.bus);
  linuxPicInit(pc);
  return { pc, out, com1, com2 };
}

/** Linux 0.11 serial.c init_rs: 2400 baud, 8N1, DTR|RTS|OUT2, RX/line/modem ints. */
function linuxInit(pc: TestPc, port: number): void {
  pc.outb(port + 3, 0x80);
  pc.outb(port, 0x30);
  pc.outb(port + 1, 0x00);
  pc.outb(port + 3, 0x03);
  pc.outb(port + 4, 0x0b);
  pc.outb(port + 1, 0x0d);
  pc.inb(port);
}

describe('16550 UART', () => {
  it('programs the divisor latch and line control as Linux 0.11 does', () => {
    const { pc, com1 } = setup();
    linuxInit(pc, COM1);
    expect(com1.divisor).toBe(0x30);
    expect(com1.baud).toBe(2400);
    pc.outb(COM1 + 3, 0x83);
    expect(pc.inb(COM1)).toBe(0x30);
    expect(pc.inb(COM1 + 1)).toBe(0x00);
    pc.outb(COM1 + 3, 0x03);
    expect(pc.inb(COM1 + 1)).toBe(0x0d);
    expect(pc.inb(COM1 + 4)).toBe(0x0b);
    pc.outb(COM1 + 7, 0x5a);
    expect(pc.inb(COM1 + 7)).toBe(0x5a);
    expect(pc.inb(COM1 + 2)).toBe(0x01); // no interrupt, FIFOs off
    expect(pc.inb(COM1 + 5)).toBe(0x60); // THRE | TEMT
  });

  it('transmits to the sink and raises a THRE interrupt reported through IIR', () => {
    const { pc, out } = setup();
    linuxInit(pc, COM1);
    unmask(pc, 4);
    for (const ch of 'hi') {
      expect(pc.inb(COM1 + 5) & 0x20).toBe(0x20); // poll THRE as a console driver does
      pc.outb(COM1, ch.charCodeAt(0));
    }
    expect(String.fromCharCode(...out)).toBe('hi');
    expect(pc.pic.hasInterrupt()).toBe(false); // THRE interrupt not enabled yet
    pc.outb(COM1 + 1, 0x0f); // enable THRE: THR is empty, so it fires at once
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(ackAndEoi(pc)).toBe(0x24);
    expect(pc.inb(COM1 + 2)).toBe(0x02); // THRE is the source
    expect(pc.inb(COM1 + 2)).toBe(0x01); // reading IIR cleared it
    // The handler writes the next byte; the THR empties and interrupts again.
    pc.outb(COM1, 0x21);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(ackAndEoi(pc)).toBe(0x24);
    expect(pc.inb(COM1 + 2)).toBe(0x02);
    expect(out[out.length - 1]).toBe(0x21);
  });

  it('OUT2 gates the IRQ line, as on PC serial cards', () => {
    const { pc } = setup();
    unmask(pc, 4);
    pc.outb(COM1 + 1, 0x02);
    expect(pc.inb(COM1 + 2) & 0x0f).toBe(0x02); // pending inside the UART
    pc.outb(COM1 + 1, 0x00);
    pc.outb(COM1 + 1, 0x02);
    expect(pc.pic.hasInterrupt()).toBe(false); // OUT2 off: line not driven
    pc.outb(COM1 + 4, 0x08);
    expect(pc.pic.hasInterrupt()).toBe(true);
  });

  it('receives host bytes with data-available interrupts and line status', () => {
    const { pc, com1 } = setup();
    linuxInit(pc, COM1);
    unmask(pc, 4);
    com1.receive([0x41, 0x42]);
    expect(pc.inb(COM1 + 5) & 0x01).toBe(0x01);
    expect(ackAndEoi(pc)).toBe(0x24);
    expect(pc.inb(COM1 + 2)).toBe(0x04);
    expect(pc.inb(COM1)).toBe(0x41);
    // Without FIFOs the next byte arrives after the read: a new edge, a new interrupt.
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(ackAndEoi(pc)).toBe(0x24);
    expect(pc.inb(COM1)).toBe(0x42);
    expect(pc.inb(COM1 + 5) & 0x01).toBe(0);
    expect(pc.inb(COM1 + 2)).toBe(0x01);
    expect(com1.pendingInput).toBe(0);
  });

  it('with FIFOs: trigger level, character timeout, IIR bits 7-6, FIFO reset', () => {
    const { pc, com1 } = setup();
    pc.outb(COM1 + 4, 0x08);
    pc.outb(COM1 + 2, 0x87); // enable, clear both, trigger 8
    pc.outb(COM1 + 1, 0x01);
    com1.receive([1, 2, 3]);
    // Below the trigger and nothing more coming: character timeout.
    expect(pc.inb(COM1 + 2)).toBe(0xcc);
    com1.receive([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(pc.inb(COM1 + 2)).toBe(0xc4);
    const got: number[] = [];
    while (pc.inb(COM1 + 5) & 1) got.push(pc.inb(COM1));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1)); // nothing lost to overrun
    com1.receive([9, 9]);
    pc.outb(COM1 + 2, 0x83); // clear the receive FIFO
    expect(pc.inb(COM1 + 5) & 1).toBe(0);
  });

  it('loopback returns transmitted bytes and maps MCR to MSR', () => {
    const { pc, out } = setup();
    pc.outb(COM1 + 4, 0x10); // loop
    pc.outb(COM1, 0x55);
    expect(out).toEqual([]);
    expect(pc.inb(COM1 + 5) & 1).toBe(1);
    expect(pc.inb(COM1)).toBe(0x55);
    pc.inb(COM1 + 6); // clear deltas
    pc.outb(COM1 + 4, 0x1f); // loop + DTR RTS OUT1 OUT2
    expect(pc.inb(COM1 + 6)).toBe(0xf0 | 0x0b); // CTS DSR RI DCD, deltas CTS DSR DCD
    expect(pc.inb(COM1 + 6)).toBe(0xf0);
    // Overrun: two bytes into a 1-byte receiver.
    pc.outb(COM1, 1);
    pc.outb(COM1, 2);
    expect(pc.inb(COM1 + 5) & 0x02).toBe(0x02);
    expect(pc.inb(COM1 + 5) & 0x02).toBe(0); // cleared by reading LSR
    pc.outb(COM1 + 4, 0x00);
    expect(pc.inb(COM1 + 6) & 0xf0).toBe(0xb0); // back to the line: CTS DSR DCD
  });

  it('reports modem-status changes as the lowest-priority interrupt', () => {
    const { pc, com1 } = setup();
    unmask(pc, 4);
    pc.outb(COM1 + 4, 0x08);
    pc.outb(COM1 + 1, 0x08); // modem status interrupt only
    expect(pc.inb(COM1 + 2)).toBe(0x01);
    com1.setModemStatus(0x30); // DCD dropped
    expect(ackAndEoi(pc)).toBe(0x24);
    expect(pc.inb(COM1 + 2)).toBe(0x00);
    expect(pc.inb(COM1 + 6)).toBe(0x30 | 0x08); // CTS DSR, delta DCD
    expect(pc.inb(COM1 + 2)).toBe(0x01);
    // Priority: line status over received data over THRE over modem status.
    pc.outb(COM1 + 1, 0x0f);
    com1.setModemStatus(0xb0);
    com1.receive([1]);
    expect(pc.inb(COM1 + 2)).toBe(0x04);
    pc.inb(COM1);
    expect(pc.inb(COM1 + 2)).toBe(0x02);
    expect(pc.inb(COM1 + 2)).toBe(0x00);
  });

  it('COM2 answers at 2F8h on IRQ3 independently', () => {
    const { pc, com2 } = setup();
    unmask(pc, 3);
    pc.outb(0x2f8 + 4, 0x08);
    pc.outb(0x2f8 + 1, 0x01);
    com2.receive([0x7a]);
    expect(ackAndEoi(pc)).toBe(0x23);
    expect(pc.inb(0x2f8)).toBe(0x7a);
    expect(pc.inb(COM1 + 5) & 1).toBe(0);
  });
});
