import { describe, expect, it } from 'vitest';
import { A20Gate, Port92 } from '../emulator/devices/a20';
import { asciiToScancode, KeyboardController } from '../emulator/devices/kbc';
import { ackAndEoi, linuxPicInit, makePc, TestPc, unmask } from './devices-helpers';

function setup(): { pc: TestPc; kbc: KeyboardController; a20: A20Gate; events: string[] } {
  const pc = makePc();
  const a20 = new A20Gate();
  const events: string[] = [];
  a20.onA20Change = (on) => events.push(`a20 ${on ? 'on' : 'off'}`);
  a20.onReset = () => events.push('reset');
  const kbc = new KeyboardController(pc.pic, a20, pc.bus);
  new Port92(a20, pc.bus);
  linuxPicInit(pc);
  return { pc, kbc, a20, events };
}

/** Wait for the input buffer to empty, as setup.s's empty_8042 does. */
function empty8042(pc: TestPc): void {
  for (let i = 0; i < 100; i++) if ((pc.inb(0x64) & 0x02) === 0) return;
  throw new Error('8042 input buffer never empties');
}

describe('8042 keyboard controller', () => {
  it('runs the self-test and the interface test', () => {
    const { pc } = setup();
    pc.outb(0x64, 0xaa);
    expect(pc.inb(0x64) & 0x0d).toBe(0x0d); // OBF, system flag, last write was a command
    expect(pc.inb(0x60)).toBe(0x55);
    expect(pc.inb(0x64) & 0x01).toBe(0);
    pc.outb(0x64, 0xab);
    expect(pc.inb(0x60)).toBe(0x00);
  });

  it('reads and writes the command byte (20h/60h)', () => {
    const { pc, kbc } = setup();
    unmask(pc, 1);
    pc.outb(0x64, 0x20);
    expect(ackAndEoi(pc)).toBe(0x21); // controller replies interrupt too
    expect(pc.inb(0x60)).toBe(0x45);
    pc.outb(0x64, 0x60);
    pc.outb(0x60, 0x44); // IRQ1 off
    expect(kbc.commandByte).toBe(0x44);
    kbc.sendScancodes([0x1e]);
    expect(pc.inb(0x64) & 1).toBe(1);
    expect(pc.pic.hasInterrupt()).toBe(false);
    expect(pc.inb(0x60)).toBe(0x1e);
  });

  it('a byte waiting across ICW1 is never requested again, unless IRQ1 is turned off and on (what POST relies on)', () => {
    const { pc, kbc } = setup();
    kbc.sendScancodes([0x1e]); // IRQ1 high with the byte waiting
    linuxPicInit(pc); // ICW1 resets the edge detectors: the request is gone
    unmask(pc, 1);
    expect(pc.inb(0x64) & 1).toBe(1);
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.outb(0x64, 0x60);
    pc.outb(0x60, 0x44); // IRQ1 off: the line falls
    pc.outb(0x64, 0x60);
    pc.outb(0x60, 0x45); // and on: a fresh edge for the waiting byte
    expect(ackAndEoi(pc)).toBe(0x21);
    expect(pc.inb(0x60)).toBe(0x1e);
  });

  it("enables A20 as Linux 0.11's setup.s does (D1h, DFh), and reads the output port", () => {
    const { pc, a20, events } = setup();
    expect(a20.enabled).toBe(false);
    empty8042(pc);
    pc.outb(0x64, 0xd1);
    empty8042(pc);
    pc.outb(0x60, 0xdf);
    empty8042(pc);
    expect(a20.enabled).toBe(true);
    expect(events).toEqual(['a20 on']);
    pc.outb(0x64, 0xd0);
    expect(pc.inb(0x60) & 0x03).toBe(0x03);
    pc.outb(0x64, 0xdd);
    expect(a20.enabled).toBe(false);
    pc.outb(0x64, 0xdf);
    expect(a20.enabled).toBe(true);
    expect(events).toEqual(['a20 on', 'a20 off', 'a20 on']);
  });

  it('resets the CPU with a pulse on output-port bit 0 (FEh, FCh) or D1h with bit 0 clear', () => {
    const { pc, a20, events } = setup();
    pc.outb(0x64, 0xfe);
    pc.outb(0x64, 0xfc);
    pc.outb(0x64, 0xff); // pulses nothing
    expect(events).toEqual(['reset', 'reset']);
    pc.outb(0x64, 0xd1);
    pc.outb(0x60, 0x02);
    expect(events).toEqual(['reset', 'reset', 'a20 on', 'reset']);
    expect(a20.resets).toBe(3);
  });

  it('port 92h: fast A20 and fast reset', () => {
    const { pc, a20, events } = setup();
    pc.outb(0x92, pc.inb(0x92) | 0x02);
    expect(a20.enabled).toBe(true);
    expect(pc.inb(0x92) & 0x02).toBe(0x02);
    pc.outb(0x92, 0x03);
    expect(events).toEqual(['a20 on', 'reset']);
    expect(pc.inb(0x92) & 0x01).toBe(0);
    pc.outb(0x92, 0x00);
    expect(a20.enabled).toBe(false);
  });

  it('sets the LEDs with EDh: ACK FAh, each through IRQ1', () => {
    const { pc, kbc } = setup();
    unmask(pc, 1);
    pc.outb(0x60, 0xed);
    expect(pc.pic.hasInterrupt()).toBe(true);
    expect(ackAndEoi(pc)).toBe(0x21);
    expect(pc.inb(0x64) & 0x08).toBe(0); // last write was data
    expect(pc.inb(0x60)).toBe(0xfa);
    pc.outb(0x60, 0x05); // scroll + caps
    expect(ackAndEoi(pc)).toBe(0x21);
    expect(pc.inb(0x60)).toBe(0xfa);
    expect(kbc.leds).toBe(0x05);
    expect(pc.pic.hasInterrupt()).toBe(false);
  });

  it('delivers scancode set 1 from host keys, one byte per IRQ1', () => {
    const { pc, kbc } = setup();
    unmask(pc, 1);
    kbc.typeText('aB\n');
    const got: number[] = [];
    for (let i = 0; i < 20 && pc.pic.hasInterrupt(); i++) {
      expect(ackAndEoi(pc)).toBe(0x21);
      got.push(pc.inb(0x60));
    }
    expect(got).toEqual([0x1e, 0x9e, 0x2a, 0x30, 0xb0, 0xaa, 0x1c, 0x9c]);
    expect(asciiToScancode('/')).toEqual({ code: 0x35, shift: false });
    expect(asciiToScancode('~')).toEqual({ code: 0x29, shift: true });
    expect(asciiToScancode('\x1b')).toEqual({ code: 0x01, shift: false });
  });

  it('holds keys while the keyboard is disabled (ADh) and releases them on AEh', () => {
    const { pc, kbc } = setup();
    pc.outb(0x64, 0xad);
    kbc.sendScancodes([0x10, 0x90]);
    expect(pc.inb(0x64) & 1).toBe(0);
    pc.outb(0x64, 0xae);
    expect(pc.inb(0x60)).toBe(0x10);
    expect(pc.inb(0x60)).toBe(0x90);
  });

  it('answers keyboard commands: reset, identify, echo, scancode set, unknown', () => {
    const { pc } = setup();
    const reply = (...bytes: number[]): number[] => {
      for (const b of bytes) pc.outb(0x60, b);
      const r: number[] = [];
      while (pc.inb(0x64) & 1) r.push(pc.inb(0x60));
      return r;
    };
    expect(reply(0xff)).toEqual([0xfa, 0xaa]);
    expect(reply(0xf2)).toEqual([0xfa, 0xab, 0x83]);
    expect(reply(0xee)).toEqual([0xee]);
    expect(reply(0xf0, 0x00)).toEqual([0xfa, 0xfa, 0x41]);
    expect(reply(0xf3, 0x20)).toEqual([0xfa, 0xfa]);
    expect(reply(0xf4)).toEqual([0xfa]);
    expect(reply(0x12)).toEqual([0xfe]);
    expect(reply(0xfe)).toEqual([0xfe]); // resend the last byte
    // Controller writes into its own output buffer (D2h) and aux buffer (D3h: status bit 5).
    pc.outb(0x64, 0xd2);
    pc.outb(0x60, 0x99);
    expect(pc.inb(0x60)).toBe(0x99);
    pc.outb(0x64, 0xd3);
    pc.outb(0x60, 0x77);
    expect(pc.inb(0x64) & 0x21).toBe(0x21);
    expect(pc.inb(0x60)).toBe(0x77);
  });
});
