// VGA in 80x25 colour text mode (mode 3): the text buffer at B8000h-BFFFFh and the I/O
// registers a BIOS or kernel touches.
//
// Memory: the text buffer is this device's own 32 KB `memory` (Uint8Array). The machine
// maps it as the region [`base`, `base + size`) and calls read8/write8/read16/write16 with
// OFFSETS into the region (0..size-1). Accesses have no side effects, so the machine may
// also map `memory` directly as plain RAM pages. Each character cell is two bytes:
// character (code page 437) then attribute.
//
// Ports:
//   3D4h/3D5h (and 3B4h/3B5h, the mono alias): CRTC index/data, registers 00h-18h stored;
//     0Ch/0Dh display start address and 0Eh/0Fh cursor location (in character cells),
//     0Ah/0Bh cursor shape.
//   3DAh (3BAh): input status 1: bit 3 vertical retrace, bit 0 display disabled, derived
//     from the machine clock (70 Hz frame, 449 lines); reading it resets the attribute
//     controller's index/data flip-flop. Writing it (feature control) is stored.
//   3C0h/3C1h attribute controller (flip-flop, 15h registers), 3C2h misc output (write) /
//   input status 0 (read), 3C3h enable, 3C4h/3C5h sequencer, 3C6h-3C9h DAC mask, read and
//   write index and data (256 x RGB, 6 bits each), 3CAh feature control read, 3CCh misc
//   output read, 3CEh/3CFh graphics controller. Values are stored and read back; they do
//   not change how text is rendered (only text mode 3 is rendered).
//
// screenText() renders the 25 visible rows from the display start address, wrapping in the
// 32 KB buffer, with code page 437 characters mapped to Unicode.

import type { Clock } from '../clock';
import type { IoBus } from './io-bus';

export const VGA_TEXT_BASE = 0xb8000;
export const VGA_TEXT_SIZE = 0x8000;
export const TEXT_COLUMNS = 80;
export const TEXT_ROWS = 25;

// Code page 437 glyphs: 0x00-0x1F, then 0x7F-0xFF.
const CP437_LOW =
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼';
const CP437_HIGH =
  '⌂ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

/** Unicode for a code page 437 byte. */
export function cp437(b: number): string {
  if (b < 0x20) return CP437_LOW[b];
  if (b < 0x7f) return String.fromCharCode(b);
  return CP437_HIGH[b - 0x7f];
}

// Mode 3 CRTC values (80x25, 9x16 cell, 400 lines).
const MODE3_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f,
  0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];

export class VgaText {
  readonly base = VGA_TEXT_BASE;
  readonly size = VGA_TEXT_SIZE;
  readonly memory = new Uint8Array(VGA_TEXT_SIZE);

  readonly crtc = new Uint8Array(0x19);
  crtcIndex = 0;
  readonly attr = new Uint8Array(0x15);
  attrIndex = 0;
  private attrFlipFlop = false; // false: next 3C0h write is the index
  readonly seq = new Uint8Array(5);
  seqIndex = 0;
  readonly gfx = new Uint8Array(9);
  gfxIndex = 0;
  miscOutput = 0x67;
  featureControl = 0;
  videoEnable = 1;
  readonly dac = new Uint8Array(256 * 3);
  dacMask = 0xff;
  private dacReadIndex = 0;
  private dacWriteIndex = 0;
  private dacComponent = 0;
  private dacReading = false;

  constructor(
    private readonly clock: Clock,
    bus?: IoBus,
  ) {
    this.crtc.set(MODE3_CRTC);
    this.seq.set([0x03, 0x00, 0x03, 0x00, 0x02]);
    this.gfx.set([0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff]);
    this.attr.set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00]);
    for (let i = 0; i < VGA_TEXT_SIZE; i += 2) {
      this.memory[i] = 0x20;
      this.memory[i + 1] = 0x07;
    }
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    const crtc = { read8: (p: number) => this.readCrtc(p), write8: (p: number, v: number) => this.writeCrtc(p, v) };
    bus.register('vga-crtc', 0x3d4, 2, crtc);
    bus.register('vga-crtc-mono', 0x3b4, 2, crtc);
    const status = { read8: () => this.readStatus1(), write8: (_p: number, v: number) => (this.featureControl = v) };
    bus.register('vga-status', 0x3da, 1, status);
    bus.register('vga-status-mono', 0x3ba, 1, status);
    bus.register('vga', 0x3c0, 16, { read8: (p) => this.readPort(p), write8: (p, v) => this.writePort(p, v) });
  }

  // --- memory region (offsets from `base`) ---
  read8(offset: number): number {
    return this.memory[offset & (VGA_TEXT_SIZE - 1)];
  }

  write8(offset: number, v: number): void {
    this.memory[offset & (VGA_TEXT_SIZE - 1)] = v;
  }

  read16(offset: number): number {
    return this.read8(offset) | (this.read8(offset + 1) << 8);
  }

  write16(offset: number, v: number): void {
    this.write8(offset, v & 0xff);
    this.write8(offset + 1, (v >> 8) & 0xff);
  }

  // --- CRTC-derived state ---
  /** Display start address, in character cells from B8000h. */
  get startAddress(): number {
    return (this.crtc[0x0c] << 8) | this.crtc[0x0d];
  }

  /** Cursor location, in character cells from B8000h. */
  get cursorAddress(): number {
    return (this.crtc[0x0e] << 8) | this.crtc[0x0f];
  }

  get cursorVisible(): boolean {
    return (this.crtc[0x0a] & 0x20) === 0;
  }

  /** Cursor position on the visible screen, or null when it is outside it or hidden. */
  cursor(): { row: number; col: number } | null {
    if (!this.cursorVisible) return null;
    const rel = (this.cursorAddress - this.startAddress) & 0x3fff;
    if (rel >= TEXT_COLUMNS * TEXT_ROWS) return null;
    return { row: Math.floor(rel / TEXT_COLUMNS), col: rel % TEXT_COLUMNS };
  }

  /** The visible rows as strings (80 characters each, CP437 mapped to Unicode). */
  screenLines(): string[] {
    const lines: string[] = [];
    let cell = this.startAddress;
    for (let r = 0; r < TEXT_ROWS; r++) {
      let s = '';
      for (let c = 0; c < TEXT_COLUMNS; c++) {
        s += cp437(this.memory[(cell * 2) & (VGA_TEXT_SIZE - 1)]);
        cell++;
      }
      lines.push(s);
    }
    return lines;
  }

  /** The visible screen as text: 25 lines, trailing spaces trimmed unless `trim` is false. */
  screenText(trim = true): string {
    const lines = this.screenLines();
    return (trim ? lines.map((l) => l.replace(/ +$/, '')) : lines).join('\n');
  }

  // --- ports ---
  private readCrtc(port: number): number {
    if ((port & 1) === 0) return this.crtcIndex;
    return this.crtcIndex < this.crtc.length ? this.crtc[this.crtcIndex] : 0xff;
  }

  private writeCrtc(port: number, v: number): void {
    if ((port & 1) === 0) this.crtcIndex = v & 0x3f;
    else if (this.crtcIndex < this.crtc.length) this.crtc[this.crtcIndex] = v;
  }

  private readStatus1(): number {
    this.attrFlipFlop = false;
    const frame = this.clock.rate / 70;
    const pos = (this.clock.icount % frame) / frame; // 0..1 through the frame
    const lineF = pos * 449;
    const line = Math.floor(lineF);
    const inLine = lineF - line;
    const vretrace = line >= 412 && line < 414;
    const disabled = line >= 400 || inLine >= 0.8;
    return (vretrace ? 0x08 : 0) | (disabled ? 0x01 : 0);
  }

  private readPort(port: number): number {
    switch (port) {
      case 0x3c0:
        return this.attrIndex;
      case 0x3c1:
        return (this.attrIndex & 0x1f) < this.attr.length ? this.attr[this.attrIndex & 0x1f] : 0;
      case 0x3c2:
        return 0x10; // input status 0: switch sense (a colour display is attached)
      case 0x3c3:
        return this.videoEnable;
      case 0x3c4:
        return this.seqIndex;
      case 0x3c5:
        return this.seqIndex < this.seq.length ? this.seq[this.seqIndex] : 0xff;
      case 0x3c6:
        return this.dacMask;
      case 0x3c7:
        return this.dacReading ? 0x03 : 0x00;
      case 0x3c8:
        return this.dacWriteIndex;
      case 0x3c9: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacComponent];
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacReadIndex = (this.dacReadIndex + 1) & 0xff;
        }
        return v;
      }
      case 0x3ca:
        return this.featureControl;
      case 0x3cc:
        return this.miscOutput;
      case 0x3ce:
        return this.gfxIndex;
      case 0x3cf:
        return this.gfxIndex < this.gfx.length ? this.gfx[this.gfxIndex] : 0xff;
      default:
        return 0xff;
    }
  }

  private writePort(port: number, v: number): void {
    switch (port) {
      case 0x3c0:
        if (!this.attrFlipFlop) this.attrIndex = v & 0x3f;
        else if ((this.attrIndex & 0x1f) < this.attr.length) this.attr[this.attrIndex & 0x1f] = v;
        this.attrFlipFlop = !this.attrFlipFlop;
        break;
      case 0x3c2:
        this.miscOutput = v;
        break;
      case 0x3c3:
        this.videoEnable = v & 1;
        break;
      case 0x3c4:
        this.seqIndex = v & 7;
        break;
      case 0x3c5:
        if (this.seqIndex < this.seq.length) this.seq[this.seqIndex] = v;
        break;
      case 0x3c6:
        this.dacMask = v;
        break;
      case 0x3c7:
        this.dacReadIndex = v;
        this.dacComponent = 0;
        this.dacReading = true;
        break;
      case 0x3c8:
        this.dacWriteIndex = v;
        this.dacComponent = 0;
        this.dacReading = false;
        break;
      case 0x3c9:
        this.dac[this.dacWriteIndex * 3 + this.dacComponent] = v & 0x3f;
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
        }
        break;
      case 0x3ce:
        this.gfxIndex = v & 0x0f;
        break;
      case 0x3cf:
        if (this.gfxIndex < this.gfx.length) this.gfx[this.gfxIndex] = v;
        break;
      default:
        break;
    }
  }
}
