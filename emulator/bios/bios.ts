// A PC BIOS written in TypeScript: POST, the boot, the BIOS data area and the INT services a
// DOS/Linux-era boot sector uses (INT 10h/11h/12h/13h/15h/16h/1Ah/19h). The guest sees a
// real ROM (rom.ts) whose vectors point at small stubs; a stub's `out TRAP_PORT,al` lands in
// `trap()`, which runs the service on the CPU's registers and returns results in registers
// and in the FLAGS image the INT pushed (so the stub's IRET hands them back).
//
// Facts used (no code from other BIOSes): the IBM PC/AT Technical Reference's data-area
// layout and table addresses, and the INT interfaces as documented in Ralf Brown's list.

import type { Cpu } from '../cpu/cpu';
import type { IoBus } from '../devices/io-bus';
import type { DiskImage } from '../devices/disk';
import type { VgaText } from '../devices/vga';
import {
  buildRom, CONFIG_TABLE, DISKETTE_TABLE, DUMMY_IRET, FIXED_DISK_TABLE_0, FIXED_DISK_TABLE_1,
  IRQ_MASTER_EOI, IRQ_SLAVE_EOI, ROM_BASE, ROM_SEGMENT, SERVICES, STUB_BASE, STUB_SIZE, STUB_WAIT,
  stubOffset, TIMER_HANDLER, TRAP_PORT, type Service,
} from './rom';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
const ES = 0, CS = 1, SS = 2, DS = 3;
const CF = 0x1, ZF = 0x40, IF = 0x200;
const BDA = 0x400;
const KBD_BUF_START = 0x1e, KBD_BUF_END = 0x3e; // offsets from BDA
const COLUMNS = 80, ROWS = 25;
const TICKS_PER_DAY = 0x1800b0;

/** The PC's memory map as firmware reports it (INT 15h E820h, Multiboot): [base, length,
 *  type], type 1 usable RAM, 2 reserved (the top KB of conventional memory, the BIOS ROM). */
export function physicalMemoryMap(memorySize: number): [number, number, 1 | 2][] {
  return [
    [0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [ROM_BASE, 0x10000, 2],
    [0x100000, memorySize - 0x100000, 1],
  ];
}

export interface BiosDisks {
  fda?: DiskImage | null;
  fdb?: DiskImage | null;
  hda?: DiskImage | null;
  hdb?: DiskImage | null;
}

export interface BiosOptions {
  cpu: Cpu;
  io: IoBus;
  vga: VgaText;
  disks: BiosDisks;
  /** RAM size in bytes. */
  memorySize: number;
  /** Drives to try, in order: 'a' (first floppy), 'c' (first hard disk). */
  bootOrder: ('a' | 'c')[];
  /** Called when nothing could be booted, with a one-line reason. */
  onBootFailure?(reason: string): void;
  /** A20 control for INT 15h AX=240xh. */
  setA20?(enabled: boolean): void;
  getA20?(): boolean;
}

/** Scancode set 1 (make codes) → ASCII without and with shift, for the INT 09h handler. */
const SC_ASCII = "\0\x1b1234567890-=\b\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const SC_SHIFT = "\0\x1b!@#$%^&*()_+\b\tQWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

export class Bios {
  private readonly cpu: Cpu;
  private readonly io: IoBus;
  private readonly o: BiosOptions;
  private readonly floppies: (DiskImage | null)[];
  private readonly hardDisks: (DiskImage | null)[];
  private readonly sector = new Uint8Array(512);
  readonly rom: Uint8Array;

  constructor(options: BiosOptions) {
    this.o = options;
    this.cpu = options.cpu;
    this.io = options.io;
    this.floppies = [options.disks.fda ?? null, options.disks.fdb ?? null];
    this.hardDisks = [options.disks.hda ?? null, options.disks.hdb ?? null];
    this.rom = buildRom(this.hardDisks.map((d) => d?.geometry ?? null));
  }

  /** Copies the ROM into place (F0000h, mirrored below 4 GB) and claims the trap port. */
  install(): void {
    const mem = this.cpu.mem;
    mem.u8.set(this.rom, ROM_BASE);
    mem.mapRom(ROM_BASE, ROM_BASE + 0x10000);
    mem.mapRom(0xffff0000, 0x100000000, ROM_BASE);
    this.io.register('bios', TRAP_PORT, 1, { write8: () => this.trap() });
  }

  // ---- register access ----
  private get ax() { return this.cpu.r16[EAX * 2]; }
  private set ax(v: number) { this.cpu.r16[EAX * 2] = v; }
  private get bx() { return this.cpu.r16[EBX * 2]; }
  private set bx(v: number) { this.cpu.r16[EBX * 2] = v; }
  private get cx() { return this.cpu.r16[ECX * 2]; }
  private set cx(v: number) { this.cpu.r16[ECX * 2] = v; }
  private get dx() { return this.cpu.r16[EDX * 2]; }
  private set dx(v: number) { this.cpu.r16[EDX * 2] = v; }
  private get si() { return this.cpu.r16[ESI * 2]; }
  private get di() { return this.cpu.r16[EDI * 2]; }
  private set di(v: number) { this.cpu.r16[EDI * 2] = v; }
  private get bp() { return this.cpu.r16[EBP * 2]; }
  private get ah() { return this.cpu.r8[1]; }
  private set ah(v: number) { this.cpu.r8[1] = v; }
  private get al() { return this.cpu.r8[0]; }
  private set al(v: number) { this.cpu.r8[0] = v; }
  private get bh() { return this.cpu.r8[EBX * 4 + 1]; }
  private get bl() { return this.cpu.r8[EBX * 4]; }
  private set bl(v: number) { this.cpu.r8[EBX * 4] = v; }
  private get ch() { return this.cpu.r8[ECX * 4 + 1]; }
  private get cl() { return this.cpu.r8[ECX * 4]; }
  private get dh() { return this.cpu.r8[EDX * 4 + 1]; }
  private get dl() { return this.cpu.r8[EDX * 4]; }
  private set dl(v: number) { this.cpu.r8[EDX * 4] = v; }

  // ---- guest memory (physical; real-mode seg:off) ----
  private rd8(a: number) { return this.cpu.mem.read8(a); }
  private rd16(a: number) { return this.cpu.mem.read16(a); }
  private wr8(a: number, v: number) { this.cpu.mem.write8(a, v & 0xff); }
  private wr16(a: number, v: number) { this.cpu.mem.write16(a, v & 0xffff); }
  private wr32(a: number, v: number) { this.cpu.mem.write32(a, v | 0); }
  private segAddr(seg: number, off: number) { return ((this.cpu.sel[seg] << 4) + (off & 0xffff)) >>> 0; }

  /** The FLAGS image the INT pushed: SS:SP+4 (above IP and CS). */
  private stackedFlagsAddr(): number {
    return this.segAddr(SS, (this.cpu.r16[ESP * 2] + 4) & 0xffff);
  }
  private setReturnFlag(bit: number, on: boolean): void {
    const a = this.stackedFlagsAddr();
    const f = this.rd16(a);
    this.wr16(a, on ? f | bit : f & ~bit);
  }
  private ok(): void { this.setReturnFlag(CF, false); }
  private fail(ah: number): void {
    this.ah = ah;
    this.setReturnFlag(CF, true);
  }

  // ---- the trap ----

  /** Runs the service whose stub just executed `out TRAP_PORT,al`. */
  trap(): void {
    const cpu = this.cpu;
    if (cpu.pe || cpu.sel[CS] !== ROM_SEGMENT) return; // only the ROM's own stubs, in real mode
    const at = cpu.eip - 2;
    if (at === TIMER_HANDLER) return this.timerTick();
    const i = (at - STUB_BASE) / STUB_SIZE;
    if (!Number.isInteger(i) || i < 0 || i >= SERVICES.length) return;
    const s: Service = SERVICES[i];
    switch (s) {
      case 'post': return this.post();
      case 0x09: return this.keyboardIrq();
      case 0x10: return this.video();
      case 0x11: this.ax = this.rd16(BDA + 0x10); return;
      case 0x12: this.ax = this.rd16(BDA + 0x13); return;
      case 0x13: return this.disk();
      case 0x14: return this.fail(0x80); // serial services: report timeout
      case 0x15: return this.system();
      case 0x16: return this.keyboard();
      case 0x17: this.ah = 0x30; return; // printer: selected, not busy... and nothing attached
      case 0x18: return this.noBoot('no bootable device');
      case 0x19: return this.boot();
      case 0x1a: return this.clock();
    }
  }

  /** Makes the stub wait for an interrupt, then run the service again. */
  private waitAndRetry(): void {
    this.cpu.eip = this.cpu.eip - 2 + STUB_WAIT;
  }

  // ---- POST ----

  private post(): void {
    const mem = this.cpu.mem;
    // IVT: every vector at the dummy IRET, then the real handlers.
    for (let v = 0; v < 256; v++) this.setVector(v, ROM_SEGMENT, DUMMY_IRET);
    for (const s of SERVICES) if (s !== 'post') this.setVector(s, ROM_SEGMENT, stubOffset(s));
    this.setVector(0x08, ROM_SEGMENT, TIMER_HANDLER);
    for (let irq = 2; irq < 8; irq++) this.setVector(0x08 + irq, ROM_SEGMENT, IRQ_MASTER_EOI);
    for (let irq = 8; irq < 16; irq++) this.setVector(0x70 + irq - 8, ROM_SEGMENT, IRQ_SLAVE_EOI);
    this.setVector(0x1e, ROM_SEGMENT, DISKETTE_TABLE);
    this.setVector(0x1d, 0, 0);
    this.setVector(0x1f, 0, 0);
    this.setVector(0x41, this.hardDisks[0] ? ROM_SEGMENT : 0, this.hardDisks[0] ? FIXED_DISK_TABLE_0 : 0);
    this.setVector(0x46, this.hardDisks[1] ? ROM_SEGMENT : 0, this.hardDisks[1] ? FIXED_DISK_TABLE_1 : 0);

    // BIOS data area.
    for (let a = BDA; a < BDA + 0x100; a++) mem.write8(a, 0);
    this.wr16(BDA + 0x00, 0x3f8); // COM1
    this.wr16(BDA + 0x02, 0x2f8); // COM2
    const nFloppies = this.floppies.filter(Boolean).length;
    // equipment: floppies present (bit 0) and count-1 (bits 6-7), 80x25 colour (bits 4-5 = 10),
    // two serial ports (bits 9-11).
    let equip = 0x20 | (2 << 9);
    if (nFloppies > 0) equip |= 1 | ((nFloppies - 1) << 6);
    this.wr16(BDA + 0x10, equip);
    this.wr16(BDA + 0x13, 640); // conventional memory in KB
    this.wr16(BDA + 0x1a, KBD_BUF_START);
    this.wr16(BDA + 0x1c, KBD_BUF_START);
    this.wr16(BDA + 0x80, KBD_BUF_START);
    this.wr16(BDA + 0x82, KBD_BUF_END);
    this.wr8(BDA + 0x75, this.hardDisks.filter(Boolean).length);
    this.setVideoMode(3, true);

    // The interrupt controllers (vectors 08h and 70h) and the timer at 18.2 Hz.
    const io = this.io;
    // Keyboard interrupts stay off in the 8042's command byte while the PICs are programmed:
    // ICW1 resets the edge detectors, so a key already waiting there (typed before POST)
    // would hold IRQ1 high across it, its request lost and no further edge ever coming.
    io.out8(0x64, 0x60); io.out8(0x60, 0x44);
    io.out8(0x20, 0x11); io.out8(0x21, 0x08); io.out8(0x21, 0x04); io.out8(0x21, 0x01);
    io.out8(0xa0, 0x11); io.out8(0xa1, 0x70); io.out8(0xa1, 0x02); io.out8(0xa1, 0x01);
    io.out8(0x21, 0xb8); // unmask IRQ0 (timer), IRQ1 (keyboard), IRQ2 (cascade), IRQ6 (floppy)
    io.out8(0xa1, 0xbf); // unmask IRQ14 (hard disk)
    io.out8(0x64, 0x60); io.out8(0x60, 0x45); // IRQ1 on: a waiting key raises it now
    io.out8(0x43, 0x36); io.out8(0x40, 0); io.out8(0x40, 0);
    this.boot();
  }

  private setVector(v: number, seg: number, off: number): void {
    this.wr16(v * 4, off);
    this.wr16(v * 4 + 2, seg);
  }

  // ---- boot (INT 19h) ----

  private boot(): void {
    const tried: string[] = [];
    for (const d of this.o.bootOrder) {
      const drive = d === 'a' ? 0x00 : 0x80;
      const disk = d === 'a' ? this.floppies[0] : this.hardDisks[0];
      if (!disk) {
        tried.push(`${d === 'a' ? 'floppy' : 'hard disk'}: none attached`);
        continue;
      }
      if (!disk.readSector(0, this.sector)) {
        tried.push(`${d === 'a' ? 'floppy' : 'hard disk'}: cannot read sector 0`);
        continue;
      }
      if (drive === 0x80 && (this.sector[510] !== 0x55 || this.sector[511] !== 0xaa)) {
        tried.push('hard disk: no boot signature 55AA');
        continue;
      }
      this.copyToGuest(0x7c00, this.sector, 512);
      const cpu = this.cpu;
      cpu.regs.fill(0);
      this.dl = drive;
      cpu.r16[ESP * 2] = 0x7c00;
      for (const s of [ES, SS, DS, 4, 5]) cpu.loadSeg(s, 0);
      cpu.setFlags(IF, IF);
      cpu.loadSeg(CS, 0);
      cpu.eip = 0x7c00;
      return;
    }
    this.noBoot(`no bootable device (${tried.join('; ')})`);
  }

  private noBoot(reason: string): void {
    this.teletypeString(`forklab BIOS: ${reason}\r\n`);
    this.o.onBootFailure?.(reason);
    // halt with interrupts off: the machine stops
    this.cpu.setFlags(0, IF);
    this.cpu.eip = DUMMY_IRET; // an IRET would pop garbage; park on a HLT loop instead
    this.cpu.halted = true;
  }

  private copyToGuest(addr: number, src: Uint8Array, n: number): void {
    this.cpu.mem.write(addr, src.subarray(0, n));
  }

  // ---- INT 10h: video ----

  private cursor(page = 0): [number, number] {
    const v = this.rd16(BDA + 0x50 + page * 2);
    return [v >> 8, v & 0xff];
  }
  private setCursor(row: number, col: number, page = 0): void {
    this.wr16(BDA + 0x50 + page * 2, (row << 8) | col);
    if (page === this.rd8(BDA + 0x62)) {
      const pos = row * COLUMNS + col + this.rd16(BDA + 0x4e) / 2;
      this.io.out8(0x3d4, 0x0e); this.io.out8(0x3d5, pos >> 8);
      this.io.out8(0x3d4, 0x0f); this.io.out8(0x3d5, pos & 0xff);
    }
  }
  private cell(row: number, col: number, page = 0): number {
    return page * 0x1000 + (row * COLUMNS + col) * 2;
  }

  private setVideoMode(mode: number, clear: boolean): void {
    this.wr8(BDA + 0x49, mode & 0x7f);
    this.wr16(BDA + 0x4a, COLUMNS);
    this.wr16(BDA + 0x4c, 0x1000);
    this.wr16(BDA + 0x4e, 0);
    this.wr8(BDA + 0x62, 0);
    this.wr16(BDA + 0x63, 0x3d4);
    this.wr8(BDA + 0x84, ROWS - 1);
    this.wr16(BDA + 0x85, 16);
    this.wr16(BDA + 0x60, 0x0607);
    this.wr8(BDA + 0x65, 0x29);
    this.wr8(BDA + 0x87, 0x60);
    this.wr8(BDA + 0x88, 0xf9);
    this.wr8(BDA + 0x89, 0x51);
    this.io.out8(0x3d4, 0x0c); this.io.out8(0x3d5, 0);
    this.io.out8(0x3d4, 0x0d); this.io.out8(0x3d5, 0);
    if (clear) {
      const m = this.o.vga.memory;
      for (let i = 0; i < m.length; i += 2) { m[i] = 0x20; m[i + 1] = 0x07; }
    }
    for (let p = 0; p < 8; p++) this.wr16(BDA + 0x50 + p * 2, 0);
    this.setCursor(0, 0);
  }

  private scroll(up: boolean, lines: number, attr: number, top: number, left: number, bottom: number, right: number, page = 0): void {
    const m = this.o.vga.memory;
    bottom = Math.min(bottom, ROWS - 1);
    right = Math.min(right, COLUMNS - 1);
    const height = bottom - top + 1;
    if (lines === 0 || lines > height) lines = height;
    for (let k = 0; k < height; k++) {
      const row = up ? top + k : bottom - k;
      const src = up ? row + lines : row - lines;
      for (let col = left; col <= right; col++) {
        const d = this.cell(row, col, page);
        if ((up && src <= bottom) || (!up && src >= top)) {
          const s = this.cell(src, col, page);
          m[d] = m[s];
          m[d + 1] = m[s + 1];
        } else {
          m[d] = 0x20;
          m[d + 1] = attr;
        }
      }
    }
  }

  private teletype(ch: number, page = this.rd8(BDA + 0x62), attr = -1): void {
    let [row, col] = this.cursor(page);
    const m = this.o.vga.memory;
    switch (ch) {
      case 0x07: return; // bell
      case 0x08: if (col > 0) col--; break;
      case 0x0d: col = 0; break;
      case 0x0a: row++; break;
      default: {
        const c = this.cell(row, col, page);
        m[c] = ch;
        if (attr >= 0) m[c + 1] = attr;
        col++;
      }
    }
    if (col >= COLUMNS) { col = 0; row++; }
    if (row >= ROWS) {
      const fill = m[this.cell(ROWS - 1, COLUMNS - 1, page) + 1];
      this.scroll(true, 1, fill, 0, 0, ROWS - 1, COLUMNS - 1, page);
      row = ROWS - 1;
    }
    this.setCursor(row, col, page);
  }

  private teletypeString(s: string): void {
    for (const ch of s) this.teletype(ch.charCodeAt(0) & 0xff);
  }

  private video(): void {
    const m = this.o.vga.memory;
    switch (this.ah) {
      case 0x00: this.setVideoMode(this.al, (this.al & 0x80) === 0); this.al = 0x30; return;
      case 0x01:
        this.wr16(BDA + 0x60, this.cx);
        this.io.out8(0x3d4, 0x0a); this.io.out8(0x3d5, this.ch);
        this.io.out8(0x3d4, 0x0b); this.io.out8(0x3d5, this.cl);
        return;
      case 0x02: this.setCursor(this.dh, this.dl, this.bh & 7); return;
      case 0x03: {
        const [row, col] = this.cursor(this.bh & 7);
        this.dx = (row << 8) | col;
        this.cx = this.rd16(BDA + 0x60);
        return;
      }
      case 0x05: {
        const page = this.al & 7;
        this.wr8(BDA + 0x62, page);
        this.wr16(BDA + 0x4e, page * 0x1000);
        const start = page * 0x800;
        this.io.out8(0x3d4, 0x0c); this.io.out8(0x3d5, start >> 8);
        this.io.out8(0x3d4, 0x0d); this.io.out8(0x3d5, start & 0xff);
        const [row, col] = this.cursor(page);
        this.setCursor(row, col, page);
        return;
      }
      case 0x06: case 0x07:
        this.scroll(this.ah === 0x06, this.al, this.bh, this.ch, this.cl, this.dh, this.dl, this.rd8(BDA + 0x62));
        return;
      case 0x08: {
        const page = this.bh & 7;
        const [row, col] = this.cursor(page);
        const c = this.cell(row, col, page);
        this.ax = m[c] | (m[c + 1] << 8);
        return;
      }
      case 0x09: case 0x0a: {
        const page = this.bh & 7;
        const [row, col] = this.cursor(page);
        let c = this.cell(row, col, page);
        for (let n = this.cx; n > 0 && c < (page + 1) * 0x1000; n--, c += 2) {
          m[c] = this.al;
          if (this.ah === 0x09) m[c + 1] = this.bl;
        }
        return;
      }
      case 0x0e: this.teletype(this.al); return;
      case 0x0f:
        this.al = this.rd8(BDA + 0x49);
        this.ah = COLUMNS;
        this.cpu.r8[EBX * 4 + 1] = this.rd8(BDA + 0x62);
        return;
      case 0x11:
        if (this.al === 0x30) { this.cx = 16; this.dl = ROWS - 1; }
        return;
      case 0x12:
        if (this.bl === 0x10) {
          // EGA/VGA information: colour mode (BH=0), 256 KB (BL=3), switch settings 9
          this.bx = 0x0003;
          this.cx = 0x0009;
        }
        return;
      case 0x13: {
        // write string: AL bit 0 = move cursor, bit 1 = string holds char/attr pairs
        const page = this.bh & 7;
        const saved = this.cursor(page);
        this.setCursor(this.dh, this.dl, page);
        let p = this.segAddr(ES, this.bp);
        for (let n = this.cx; n > 0; n--) {
          const ch = this.rd8(p++);
          const attr = this.al & 2 ? this.rd8(p++) : this.bl;
          this.teletype(ch, page, ch === 0x0d || ch === 0x0a || ch === 0x08 || ch === 0x07 ? -1 : attr);
        }
        if ((this.al & 1) === 0) this.setCursor(saved[0], saved[1], page);
        return;
      }
      case 0x1a:
        if (this.al === 0) { this.al = 0x1a; this.bx = 0x0008; }
        return;
      default:
        return; // unsupported functions leave registers unchanged, as many BIOSes do
    }
  }

  // ---- INT 13h: disks ----

  private driveFor(dl: number): DiskImage | null {
    if (dl < 0x80) return this.floppies[dl] ?? null;
    return this.hardDisks[dl - 0x80] ?? null;
  }

  private diskStatus(dl: number, status: number): void {
    this.wr8(BDA + (dl < 0x80 ? 0x41 : 0x74), status);
    if (status === 0) {
      this.ah = 0;
      this.ok();
    } else this.fail(status);
  }

  private disk(): void {
    const dl = this.dl;
    const disk = this.driveFor(dl);
    const fn = this.ah;
    if (fn === 0x00) return this.diskStatus(dl, disk ? 0 : 0x01);
    if (fn === 0x01) {
      this.ah = this.rd8(BDA + (dl < 0x80 ? 0x41 : 0x74));
      this.ok();
      return;
    }
    if (fn === 0x15) {
      if (!disk) { this.ah = 0; this.ok(); return; }
      if (dl < 0x80) { this.ah = 0x01; this.ok(); return; } // floppy without change line
      const n = disk.geometrySectors;
      this.ah = 0x03;
      this.cx = n >>> 16;
      this.dx = n & 0xffff;
      this.ok();
      return;
    }
    if (!disk) return this.diskStatus(dl, dl < 0x80 ? 0x80 : 0x01); // timeout / bad command
    const g = disk.geometry;
    switch (fn) {
      case 0x02: case 0x03: case 0x04: {
        const count = this.al;
        const cyl = this.ch | ((this.cl & 0xc0) << 2);
        const sec = this.cl & 0x3f;
        const head = this.dh;
        const lba = disk.chsToLba(cyl, head, sec);
        if (count === 0 || lba < 0) return this.diskStatus(dl, 0x04); // sector not found
        const buf = this.segAddr(ES, this.bx);
        if (dl < 0x80 && fn !== 0x04 && (buf & 0xffff) + count * 512 > 0x10000) {
          this.al = 0;
          return this.diskStatus(dl, 0x09); // DMA across a 64 KB boundary
        }
        let done = 0;
        for (; done < count; done++) {
          if (fn === 0x02) {
            if (!disk.readSector(lba + done, this.sector)) break;
            this.copyToGuest(buf + done * 512, this.sector, 512);
          } else if (fn === 0x03) {
            for (let i = 0; i < 512; i++) this.sector[i] = this.rd8(buf + done * 512 + i);
            if (disk.readOnly) { this.al = done; return this.diskStatus(dl, 0x03); }
            if (!disk.writeSector(lba + done, this.sector)) break;
          } else if (lba + done >= disk.sectorCount) break;
        }
        this.al = done;
        return this.diskStatus(dl, done === count ? 0 : 0x04);
      }
      case 0x08: {
        const maxCyl = g.cylinders - 1;
        this.ax = 0;
        this.cx = ((maxCyl & 0xff) << 8) | ((maxCyl >> 2) & 0xc0) | g.sectorsPerTrack;
        this.dx = ((g.heads - 1) << 8) | (dl < 0x80 ? this.floppies.filter(Boolean).length : this.hardDisks.filter(Boolean).length);
        if (dl < 0x80) {
          this.bl = g.sectorsPerTrack === 18 ? 4 : g.sectorsPerTrack === 15 ? 2 : g.sectorsPerTrack === 36 ? 5 : 3;
          this.cpu.loadSeg(ES, ROM_SEGMENT);
          this.di = DISKETTE_TABLE;
        }
        return this.diskStatus(dl, 0);
      }
      case 0x0c: case 0x0d: case 0x10: case 0x11: case 0x14:
        return this.diskStatus(dl, 0); // seek, reset, ready, recalibrate, diagnostics
      case 0x41:
        if (dl < 0x80 || this.bx !== 0x55aa) return this.diskStatus(dl, 0x01);
        this.bx = 0xaa55;
        this.ah = 0x21; // EDD 1.1
        this.cx = 0x0001; // packet-structure access
        this.ok();
        return;
      case 0x42: case 0x43: {
        if (dl < 0x80) return this.diskStatus(dl, 0x01);
        const pkt = this.segAddr(DS, this.si);
        const count = this.rd16(pkt + 2);
        const buf = ((this.rd16(pkt + 6) << 4) + this.rd16(pkt + 4)) >>> 0;
        const lba = this.cpu.mem.read32(pkt + 8) >>> 0;
        let done = 0;
        for (; done < count; done++) {
          if (fn === 0x42) {
            if (!disk.readSector(lba + done, this.sector)) break;
            this.copyToGuest(buf + done * 512, this.sector, 512);
          } else {
            for (let i = 0; i < 512; i++) this.sector[i] = this.rd8(buf + done * 512 + i);
            if (!disk.writeSector(lba + done, this.sector)) break;
          }
        }
        this.wr16(pkt + 2, done);
        return this.diskStatus(dl, done === count ? 0 : fn === 0x43 && disk.readOnly ? 0x03 : 0x04);
      }
      default:
        return this.diskStatus(dl, 0x01); // invalid function
    }
  }

  // ---- INT 15h: system services ----

  private system(): void {
    const extKb = Math.max(0, this.o.memorySize - 0x100000) >> 10;
    switch (this.ah) {
      case 0x88:
        this.ax = Math.min(extKb, 0xfc00); // at most 63 MB, as the AT BIOS call can report
        this.ok();
        return;
      case 0xc0:
        this.cpu.loadSeg(ES, ROM_SEGMENT);
        this.bx = CONFIG_TABLE;
        this.ah = 0;
        this.ok();
        return;
      case 0x24:
        switch (this.al) {
          case 0x00: case 0x01: this.o.setA20?.(this.al === 1); this.ah = 0; this.ok(); return;
          case 0x02: this.al = this.o.getA20?.() ? 1 : 0; this.ah = 0; this.ok(); return;
          case 0x03: this.bx = 0x0002; this.ah = 0; this.ok(); return; // fast A20 (port 92h)
        }
        return this.fail(0x86);
      case 0x86: this.ok(); return; // wait: time is instructions here, so no delay
      case 0x4f: this.setReturnFlag(CF, true); return; // keyboard intercept: process the key
      case 0x90: case 0x91: this.ah = 0; this.ok(); return;
      case 0xe8:
        if (this.al === 0x01) {
          const below16 = Math.min(extKb, 15 * 1024);
          const above16 = Math.max(0, this.o.memorySize - 0x1000000) >> 16;
          this.ax = this.cx = below16;
          this.bx = this.dx = Math.min(above16, 0xffff);
          this.ok();
          return;
        }
        if (this.al === 0x20 && (this.cpu.regs[EDX] >>> 0) === 0x534d4150) return this.e820();
        return this.fail(0x86);
      default:
        return this.fail(0x86);
    }
  }

  private e820(): void {
    const map = physicalMemoryMap(this.o.memorySize);
    const cpu = this.cpu;
    const i = cpu.regs[EBX];
    if (i < 0 || i >= map.length || (cpu.regs[ECX] >>> 0) < 20) return this.fail(0x86);
    const [base, len, type] = map[i];
    const p = this.segAddr(ES, this.di);
    this.wr32(p, base); this.wr32(p + 4, 0);
    this.wr32(p + 8, len); this.wr32(p + 12, 0);
    this.wr32(p + 16, type);
    cpu.regs[EAX] = 0x534d4150;
    cpu.regs[ECX] = 20;
    cpu.regs[EBX] = i + 1 < map.length ? i + 1 : 0;
    this.ok();
  }

  // ---- keyboard: INT 09h (IRQ1) fills the buffer, INT 16h reads it ----

  private keyboardIrq(): void {
    const sc = this.io.in8(0x60);
    const flagsAddr = BDA + 0x17;
    let shift = this.rd8(flagsAddr);
    const make = sc & 0x7f, release = (sc & 0x80) !== 0;
    const bit = make === 0x2a ? 2 : make === 0x36 ? 1 : make === 0x1d ? 4 : make === 0x38 ? 8 : 0;
    if (bit) {
      shift = release ? shift & ~bit : shift | bit;
      this.wr8(flagsAddr, shift);
    } else if (!release) {
      const table = shift & 3 ? SC_SHIFT : SC_ASCII;
      let ascii = make < table.length ? table.charCodeAt(make) : 0;
      if (shift & 4 && ascii >= 0x61 && ascii <= 0x7a) ascii -= 0x60; // ctrl+letter
      this.pushKey((make << 8) | ascii);
    }
    this.io.out8(0x20, 0x20);
  }

  private pushKey(code: number): void {
    const head = this.rd16(BDA + 0x1a), tail = this.rd16(BDA + 0x1c);
    let next = tail + 2;
    if (next >= KBD_BUF_END) next = KBD_BUF_START;
    if (next === head) return; // buffer full: the key is lost (a real BIOS beeps)
    this.wr16(BDA + tail, code);
    this.wr16(BDA + 0x1c, next);
  }

  private keyboard(): void {
    const head = this.rd16(BDA + 0x1a), tail = this.rd16(BDA + 0x1c);
    switch (this.ah) {
      case 0x00: case 0x10: {
        if (head === tail) return this.waitAndRetry();
        this.ax = this.rd16(BDA + head);
        let next = head + 2;
        if (next >= KBD_BUF_END) next = KBD_BUF_START;
        this.wr16(BDA + 0x1a, next);
        return;
      }
      case 0x01: case 0x11:
        if (head === tail) return this.setReturnFlag(ZF, true);
        this.ax = this.rd16(BDA + head);
        return this.setReturnFlag(ZF, false);
      case 0x02: case 0x12: this.al = this.rd8(BDA + 0x17); return;
      case 0x05: this.pushKey(this.cx); this.al = 0; return;
      default: return;
    }
  }

  // ---- INT 08h and INT 1Ah: time ----

  private timerTick(): void {
    let ticks = (this.cpu.mem.read32(BDA + 0x6c) >>> 0) + 1;
    if (ticks >= TICKS_PER_DAY) {
      ticks = 0;
      this.wr8(BDA + 0x70, 1);
    }
    this.wr32(BDA + 0x6c, ticks);
  }

  private cmos(reg: number): number {
    this.io.out8(0x70, reg);
    return this.io.in8(0x71);
  }

  private clock(): void {
    switch (this.ah) {
      case 0x00: {
        const t = this.cpu.mem.read32(BDA + 0x6c) >>> 0;
        this.cx = t >>> 16;
        this.dx = t & 0xffff;
        this.al = this.rd8(BDA + 0x70);
        this.wr8(BDA + 0x70, 0);
        this.ok();
        return;
      }
      case 0x01:
        this.wr32(BDA + 0x6c, (this.cx << 16) | this.dx);
        this.wr8(BDA + 0x70, 0);
        this.ok();
        return;
      case 0x02:
        this.cx = (this.cmos(4) << 8) | this.cmos(2);
        this.dx = this.cmos(0) << 8;
        this.ok();
        return;
      case 0x04:
        this.cx = (this.cmos(0x32) << 8) | this.cmos(9);
        this.dx = (this.cmos(8) << 8) | this.cmos(7);
        this.ok();
        return;
      default:
        return this.fail(0x86);
    }
  }
}
