import { describe, expect, it } from 'vitest';
import { cp437, VgaText } from '../emulator/devices/vga';
import { makePc } from './devices-helpers';

function put(vga: VgaText, cell: number, text: string, attr = 0x07): void {
  for (let i = 0; i < text.length; i++) {
    vga.write8((cell + i) * 2, text.charCodeAt(i));
    vga.write8((cell + i) * 2 + 1, attr);
  }
}

describe('VGA text mode', () => {
  it('renders the 80x25 screen from B8000h', () => {
    const pc = makePc();
    const vga = new VgaText(pc.clock, pc.bus);
    expect(vga.base).toBe(0xb8000);
    expect(vga.size).toBe(0x8000);
    expect(vga.screenText()).toBe('\n'.repeat(24));
    put(vga, 0, 'Hello');
    put(vga, 80 * 24 + 75, 'world');
    vga.write16(2 * 160 + 2, 0x1f02); // row 2, col 1: char 02h (☻) attribute 1Fh
    const lines = vga.screenText().split('\n');
    expect(lines.length).toBe(25);
    expect(lines[0]).toBe('Hello');
    expect(lines[2]).toBe(' ☻');
    expect(lines[24]).toBe(' '.repeat(75) + 'world');
    expect(vga.read16(2 * 160 + 2)).toBe(0x1f02);
    expect(vga.screenLines()[1].length).toBe(80);
  });

  it('honours the CRTC start address (how Linux 0.11 scrolls) and the cursor registers', () => {
    const pc = makePc();
    const vga = new VgaText(pc.clock, pc.bus);
    for (let row = 0; row < 30; row++) put(vga, row * 80, `line ${row}`);
    // Start at row 5: registers 0Ch/0Dh through 3D4h/3D5h.
    const start = 5 * 80;
    pc.outb(0x3d4, 0x0c);
    pc.outb(0x3d5, start >> 8);
    pc.outb(0x3d4, 0x0d);
    pc.outb(0x3d5, start & 0xff);
    expect(vga.startAddress).toBe(400);
    const lines = vga.screenText().split('\n');
    expect(lines[0]).toBe('line 5');
    expect(lines[24]).toBe('line 29');
    // Cursor at row 7 of the screen, column 3.
    const cur = start + 7 * 80 + 3;
    pc.outb(0x3d4, 0x0e);
    pc.outb(0x3d5, cur >> 8);
    pc.outb(0x3d4, 0x0f);
    pc.outb(0x3d5, cur & 0xff);
    expect(vga.cursor()).toEqual({ row: 7, col: 3 });
    pc.outb(0x3d4, 0x0e);
    expect(pc.inb(0x3d5)).toBe(cur >> 8);
    // The mono alias 3B4h/3B5h reaches the same registers.
    pc.outb(0x3b4, 0x0f);
    expect(pc.inb(0x3b5)).toBe(cur & 0xff);
    // Cursor off (register 0Ah bit 5).
    pc.outb(0x3d4, 0x0a);
    pc.outb(0x3d5, 0x20);
    expect(vga.cursor()).toBeNull();
    // A start address near the end of the 32 KB buffer wraps to its beginning.
    put(vga, 0x3fff, 'AB');
    vga.crtc[0x0c] = 0x3f;
    vga.crtc[0x0d] = 0xff;
    expect(vga.screenLines()[0].slice(0, 2)).toBe('AB');
  });

  it('input status 1 shows retrace from the clock and resets the attribute flip-flop', () => {
    const pc = makePc();
    const vga = new VgaText(pc.clock, pc.bus);
    const seen = new Set<number>();
    const frame = pc.clock.rate / 70;
    for (let i = 0; i < 2000; i++) {
      seen.add(pc.inb(0x3da) & 0x09);
      pc.clock.advance(Math.floor(frame / 1000));
    }
    expect(seen.has(0x09)).toBe(true); // vertical retrace (display disabled too)
    expect(seen.has(0x00)).toBe(true);
    expect(seen.has(0x01)).toBe(true);
    // Attribute controller: index then data; 3DAh read returns to "index".
    pc.inb(0x3da);
    pc.outb(0x3c0, 0x10);
    pc.outb(0x3c0, 0x0c);
    expect(vga.attr[0x10]).toBe(0x0c);
    pc.outb(0x3c0, 0x11); // index again (flip-flop toggled)
    pc.inb(0x3da);
    pc.outb(0x3c0, 0x12);
    pc.outb(0x3c0, 0x0f);
    expect(vga.attr[0x12]).toBe(0x0f);
    expect(vga.attr[0x11]).toBe(0x00);
    pc.outb(0x3c0, 0x20 | 0x12);
    expect(pc.inb(0x3c1)).toBe(0x0f);
  });

  it('stores sequencer, graphics, misc output and DAC registers', () => {
    const pc = makePc();
    new VgaText(pc.clock, pc.bus);
    pc.outb(0x3c4, 0x02);
    expect(pc.inb(0x3c5)).toBe(0x03);
    pc.outb(0x3ce, 0x06);
    expect(pc.inb(0x3cf)).toBe(0x0e);
    expect(pc.inb(0x3cc)).toBe(0x67);
    pc.outb(0x3c8, 0x10);
    for (const v of [0x3f, 0x20, 0x01, 0x02]) pc.outb(0x3c9, v);
    pc.outb(0x3c7, 0x10);
    expect([pc.inb(0x3c9), pc.inb(0x3c9), pc.inb(0x3c9), pc.inb(0x3c9)]).toEqual([0x3f, 0x20, 0x01, 0x02]);
    expect(pc.inb(0x3c8)).toBe(0x11);
  });

  it('maps code page 437 to Unicode', () => {
    expect(cp437(0x00)).toBe(' ');
    expect(cp437(0x01)).toBe('☺');
    expect(cp437(0x41)).toBe('A');
    expect(cp437(0x7f)).toBe('⌂');
    expect(cp437(0x80)).toBe('Ç');
    expect(cp437(0xb3)).toBe('│');
    expect(cp437(0xc4)).toBe('─');
    expect(cp437(0xdb)).toBe('█');
    expect(cp437(0xe1)).toBe('ß');
    expect(cp437(0xfe)).toBe('■');
    expect(cp437(0xff)).toBe(' ');
  });
});
