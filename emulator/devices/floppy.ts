// The floppy disk controller (an 82077AA in PC/AT mode) at 3F0h-3F7h, IRQ6, data through
// 8237 DMA channel 2.
//
// Ports: 3F2h DOR (bits 1-0 drive select, bit 2 = 0 holds the controller in reset, bit 3
// enables IRQ and DMA, bits 7-4 motors), 3F4h MSR (read: RQM, DIO, NDMA=0, CB, drive-busy
// bits while seeking) / DSR (write: bit 7 software reset, bits 1-0 data rate), 3F5h FIFO
// (command and result bytes), 3F7h DIR (read: bit 7 disk change of the selected drive;
// bits 6-0 come from `dirLowBits`, the AT hard-disk controller's half of the port) / CCR
// (write: data rate).
//
// Commands: SPECIFY 03, SENSE DRIVE STATUS 04 (ST3), RECALIBRATE 07, SENSE INTERRUPT 08,
// SEEK 0F, READ DATA 06 (with MT/MFM/SK: E6, 46, 66, ...), WRITE DATA 05 (C5, 45), READ ID
// 0A/4A, FORMAT TRACK 0D/4D, DUMPREG 0E, VERSION 10 (90h), PERPENDICULAR MODE 12,
// CONFIGURE 13, LOCK 14/94; anything else answers ST0 = 80h (invalid). Read and write
// transfer whole 512-byte sectors (N = 2) through DMA channel 2 from sector R of the
// addressed track up to EOT, continuing on head 1 with MT, and stop at the DMA terminal
// count; reaching EOT without terminal count ends with "end of cylinder" (ST0 40h, ST1
// 80h) as on the real chip. Results ST0 ST1 ST2 C H R N follow the data sheet's table for
// the next sector. Seek and recalibrate complete with IRQ6 and leave their status for
// SENSE INTERRUPT; leaving reset (DOR bit 2 0→1, or DSR bit 7) raises IRQ6 and leaves four
// "ready changed" statuses (C0h-C3h). IRQ6 is lowered by reading a result byte, by SENSE
// INTERRUPT and by a new command.
//
// The addressed track is the command's C and the HDS head (an implied seek); the data rate
// is stored but not checked against the medium. Non-DMA (PIO) mode is not supported: with
// DMA off (DOR bit 3 clear, channel masked) a transfer ends with an overrun (ST1 10h).
// Execution takes `delay` instructions of the machine clock (0 = complete at once).
// A power-on DOR of 0Ch (out of reset, DMA on, motors off) is the state a BIOS leaves.

import type { Clock, Timer } from '../clock';
import type { IoBus } from './io-bus';
import type { IrqSink } from './pic';
import type { DiskImage } from './disk';
import type { DmaController } from './dma';

const DMA_CHANNEL = 2;

export class FloppyDrive {
  cylinder = 0;
  /** Target of a seek in progress (-1 = recalibrate) and the HDS/DS byte that started it. */
  seekTarget = 0;
  seekSelect = 0;
  /** Disk-change line: set when media is inserted or removed, cleared by a seek with media present. */
  changed = true;
  /** Seek in progress (MSR drive-busy bit). */
  seeking = false;

  /** Set by the controller: fires when the seek completes. */
  seekTimer: Timer | null = null;

  constructor(public disk: DiskImage | null) {}
}

export interface FloppyOptions {
  /** Drives A: and B: (up to four); null for an empty drive. */
  drives?: (DiskImage | null)[];
  /** Instructions a command's execution takes. Default 1000. */
  delay?: number;
  /** Power-on DOR. Default 0x0C. */
  dor?: number;
  /** Bits 6-0 of 3F7h reads (the hard-disk controller's drive address). */
  dirLowBits?: () => number;
}

const enum Phase {
  Command,
  Execution,
  Result,
}

// Command lengths by opcode (low 5 bits); 0 = invalid.
const CMD_LENGTH = new Uint8Array(32);
CMD_LENGTH[0x03] = 3;
CMD_LENGTH[0x04] = 2;
CMD_LENGTH[0x05] = 9;
CMD_LENGTH[0x06] = 9;
CMD_LENGTH[0x07] = 2;
CMD_LENGTH[0x08] = 1;
CMD_LENGTH[0x0a] = 2;
CMD_LENGTH[0x0d] = 6;
CMD_LENGTH[0x0e] = 1;
CMD_LENGTH[0x0f] = 3;
CMD_LENGTH[0x10] = 1;
CMD_LENGTH[0x12] = 2;
CMD_LENGTH[0x13] = 4;
CMD_LENGTH[0x14] = 1;

export class FloppyController {
  readonly drives: FloppyDrive[];
  dor: number;
  dataRate = 0;
  specify = new Uint8Array(2);
  delay: number;
  private phase = Phase.Command;
  private readonly cmd = new Uint8Array(9);
  private cmdLen = 0;
  private cmdPos = 0;
  private readonly result = new Uint8Array(10);
  private resLen = 0;
  private resPos = 0;
  /** Per-drive pending interrupt status for SENSE INTERRUPT (bit per drive) and its ST0. */
  private intPending = 0;
  private readonly intSt0 = new Uint8Array(4);
  private readonly sector = new Uint8Array(512);
  private readonly timer: Timer;
  private irqLevel = false;
  private locked = false;
  private readonly configure = new Uint8Array(3);
  private perpendicular = 0;
  private readonly dirLowBits: (() => number) | null;

  constructor(
    private readonly clock: Clock,
    private readonly irq: IrqSink,
    private readonly dma: DmaController,
    bus?: IoBus,
    options: FloppyOptions = {},
  ) {
    const d = options.drives ?? [null, null];
    this.drives = [0, 1, 2, 3].map((i) => new FloppyDrive(d[i] ?? null));
    this.delay = options.delay ?? 1000;
    this.dor = options.dor ?? 0x0c;
    this.dirLowBits = options.dirLowBits ?? null;
    this.timer = clock.createTimer('fdc', () => this.execute());
    this.drives.forEach((d, i) => {
      d.seekTimer = clock.createTimer(`fdc-seek${i}`, () => this.finishSeek(i));
    });
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('fdc-dor', 0x3f2, 1, { read8: () => this.dor, write8: (_p, v) => this.writeDor(v) });
    bus.register('fdc', 0x3f4, 2, {
      read8: (p) => (p === 0x3f4 ? this.readMsr() : this.readFifo()),
      write8: (p, v) => (p === 0x3f4 ? this.writeDsr(v) : this.writeFifo(v)),
    });
    bus.register('fdc-dir', 0x3f7, 1, { read8: () => this.readDir(), write8: (_p, v) => (this.dataRate = v & 3) });
  }

  /** Insert (or with null, remove) a disk; sets the drive's disk-change line. */
  insertDisk(drive: number, disk: DiskImage | null): void {
    this.drives[drive].disk = disk;
    this.drives[drive].changed = true;
  }

  private get inReset(): boolean {
    return (this.dor & 0x04) === 0;
  }

  private setIrq(level: boolean): void {
    level = level && (this.dor & 0x08) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raiseIrq(6);
    else this.irq.lowerIrq(6);
  }

  private resetController(): void {
    this.timer.cancel();
    for (const d of this.drives) d.seekTimer!.cancel();
    this.phase = Phase.Command;
    this.cmdPos = 0;
    this.resPos = this.resLen = 0;
    this.intPending = 0;
    for (const d of this.drives) d.seeking = false;
    this.setIrq(false);
  }

  /** Leaving reset: four "ready changed" interrupt statuses and IRQ6. */
  private resetDone(): void {
    this.intPending = 0x0f;
    for (let i = 0; i < 4; i++) this.intSt0[i] = 0xc0 | i;
    this.setIrq(true);
  }

  writeDor(v: number): void {
    const wasReset = this.inReset;
    this.dor = v;
    if ((v & 0x04) === 0) {
      if (!wasReset) this.resetController();
    } else if (wasReset) {
      this.resetDone();
    }
    if ((v & 0x08) === 0 && this.irqLevel) {
      this.irqLevel = false;
      this.irq.lowerIrq(6);
    }
  }

  private writeDsr(v: number): void {
    this.dataRate = v & 3;
    if (v & 0x80) {
      this.resetController();
      this.resetDone();
    }
  }

  readMsr(): number {
    if (this.inReset) return 0;
    let busyDrives = 0;
    for (let i = 0; i < 4; i++) if (this.drives[i].seeking) busyDrives |= 1 << i;
    switch (this.phase) {
      case Phase.Command:
        return 0x80 | (this.cmdPos > 0 ? 0x10 : 0) | busyDrives;
      case Phase.Execution:
        return 0x10 | busyDrives;
      default:
        return 0xd0 | busyDrives;
    }
  }

  private readDir(): number {
    const low = this.dirLowBits ? this.dirLowBits() & 0x7f : 0;
    return (this.drives[this.dor & 3].changed ? 0x80 : 0) | low;
  }

  readFifo(): number {
    if (this.phase !== Phase.Result) return 0xff;
    const v = this.result[this.resPos++];
    this.setIrq(false);
    if (this.resPos >= this.resLen) {
      this.phase = Phase.Command;
      this.cmdPos = 0;
    }
    return v;
  }

  writeFifo(v: number): void {
    if (this.inReset || this.phase !== Phase.Command) return;
    if (this.cmdPos === 0) {
      const op = v & 0x1f;
      this.cmdLen = CMD_LENGTH[op];
      if (this.cmdLen === 0 || !this.opcodeBitsValid(v)) {
        this.startResult(1);
        this.result[0] = 0x80; // invalid command
        return;
      }
      if (op !== 0x08) this.setIrq(false);
    }
    this.cmd[this.cmdPos++] = v;
    if (this.cmdPos < this.cmdLen) return;
    this.beginCommand();
  }

  /** The MT/MFM/SK bits a command accepts. */
  private opcodeBitsValid(v: number): boolean {
    const op = v & 0x1f;
    const high = v & 0xe0;
    switch (op) {
      case 0x06:
        return true; // MT, MFM, SK
      case 0x05:
        return (high & 0x20) === 0;
      case 0x0a:
      case 0x0d:
        return (high & 0xa0) === 0;
      case 0x14:
        return (high & 0x60) === 0; // LOCK bit 7
      default:
        return high === 0;
    }
  }

  private startResult(n: number): void {
    this.phase = Phase.Result;
    this.resLen = n;
    this.resPos = 0;
  }

  private beginCommand(): void {
    const op = this.cmd[0] & 0x1f;
    switch (op) {
      case 0x03: // SPECIFY
        this.specify[0] = this.cmd[1];
        this.specify[1] = this.cmd[2];
        this.cmdPos = 0;
        return;
      case 0x04: {
        // SENSE DRIVE STATUS
        const d = this.drives[this.cmd[1] & 3];
        const wp = d.disk !== null && d.disk.readOnly;
        this.startResult(1);
        this.result[0] = (wp ? 0x40 : 0) | 0x20 | (d.cylinder === 0 ? 0x10 : 0) | 0x08 | (this.cmd[1] & 7);
        return;
      }
      case 0x08: {
        // SENSE INTERRUPT
        this.setIrq(false);
        if (this.intPending === 0) {
          this.startResult(1);
          this.result[0] = 0x80;
          return;
        }
        let i = 0;
        while ((this.intPending & (1 << i)) === 0) i++;
        this.intPending &= ~(1 << i);
        this.startResult(2);
        this.result[0] = this.intSt0[i];
        this.result[1] = this.drives[i].cylinder;
        return;
      }
      case 0x07: // RECALIBRATE
      case 0x0f: // SEEK
      {
        // The controller is free again at once; the drive seeks and interrupts when done.
        const i = this.cmd[1] & 3;
        const d = this.drives[i];
        d.seeking = true;
        d.seekTarget = this.cmd[0] === 0x07 ? -1 : this.cmd[2];
        d.seekSelect = this.cmd[1] & 7;
        this.phase = Phase.Command;
        this.cmdPos = 0;
        if (this.delay <= 0) this.finishSeek(i);
        else d.seekTimer!.scheduleIn(this.delay);
        return;
      }
      case 0x0e: // DUMPREG
        this.startResult(10);
        for (let i = 0; i < 4; i++) this.result[i] = this.drives[i].cylinder;
        this.result[4] = this.specify[0];
        this.result[5] = this.specify[1];
        this.result[6] = 0;
        this.result[7] = (this.locked ? 0x80 : 0) | (this.perpendicular & 0x7f);
        this.result[8] = this.configure[1];
        this.result[9] = this.configure[2];
        return;
      case 0x10: // VERSION
        this.startResult(1);
        this.result[0] = 0x90;
        return;
      case 0x12: // PERPENDICULAR MODE
        this.perpendicular = this.cmd[1];
        this.cmdPos = 0;
        return;
      case 0x13: // CONFIGURE
        for (let i = 0; i < 3; i++) this.configure[i] = this.cmd[i + 1];
        this.cmdPos = 0;
        return;
      case 0x14: // LOCK
        this.locked = (this.cmd[0] & 0x80) !== 0;
        this.startResult(1);
        this.result[0] = this.locked ? 0x10 : 0;
        return;
      default:
        // READ DATA, WRITE DATA, READ ID, FORMAT: execution phase
        this.phase = Phase.Execution;
        this.schedule();
    }
  }

  private schedule(): void {
    if (this.delay <= 0) this.execute();
    else this.timer.scheduleIn(this.delay);
  }

  private execute(): void {
    if (this.phase !== Phase.Execution) return;
    const op = this.cmd[0] & 0x1f;
    if (op === 0x06 || op === 0x05) this.readWrite(op === 0x05);
    else if (op === 0x0a) this.readId();
    else if (op === 0x0d) this.format();
    this.setIrq(true);
  }

  private finishSeek(i: number): void {
    const d = this.drives[i];
    const sel = d.seekSelect;
    d.cylinder = d.seekTarget < 0 ? 0 : d.seekTarget;
    d.seeking = false;
    if (d.disk !== null) d.changed = false;
    this.intSt0[sel & 3] = 0x20 | sel; // seek end
    this.intPending |= 1 << (sel & 3);
    this.setIrq(true);
  }

  private setResult7(st0: number, st1: number, st2: number, c: number, h: number, r: number, n: number): void {
    this.startResult(7);
    const res = this.result;
    res[0] = st0;
    res[1] = st1;
    res[2] = st2;
    res[3] = c;
    res[4] = h;
    res[5] = r;
    res[6] = n;
  }

  private readWrite(write: boolean): void {
    const cmd = this.cmd;
    const sel = cmd[1] & 7;
    const drive = this.drives[sel & 3];
    let head = (sel >> 2) & 1;
    let c = cmd[2];
    let h = cmd[3];
    let r = cmd[4];
    const n = cmd[5];
    const eot = cmd[6];
    const mt = (cmd[0] & 0x80) !== 0;
    const disk = drive.disk;
    drive.cylinder = c;
    if (disk === null) {
      this.setResult7(0x40 | 0x08 | sel, 0x01, 0, c, h, r, n); // not ready, missing address mark
      return;
    }
    if (n !== 2) {
      this.setResult7(0x40 | sel, 0x04, 0, c, h, r, n); // no data
      return;
    }
    if (write && disk.readOnly) {
      this.setResult7(0x40 | sel, 0x02, 0, c, h, r, n); // not writable
      return;
    }
    if ((this.dor & 0x08) === 0 || !this.dma.ready(DMA_CHANNEL)) {
      this.setResult7(0x40 | sel, 0x10, 0, c, h, r, n); // overrun: no DMA service
      return;
    }
    for (;;) {
      const lba = disk.chsToLba(c, head, r);
      if (lba < 0 || r > eot || lba >= disk.sectorCount) {
        this.setResult7(0x40 | (head << 2) | (sel & 3), 0x04, 0, c, h, r, n); // sector not found
        return;
      }
      const tc = this.dma.remaining(DMA_CHANNEL) <= 512;
      if (write) {
        this.dma.readFromMemory(DMA_CHANNEL, this.sector, 0, 512);
        disk.writeSector(lba, this.sector);
      } else {
        disk.readSector(lba, this.sector);
        this.dma.writeToMemory(DMA_CHANNEL, this.sector, 0, 512);
      }
      // Next sector address (the data sheet's result table).
      let endOfCylinder = false;
      if (r < eot) {
        r++;
      } else {
        r = 1;
        if (mt) {
          h ^= 1;
          if (head === 1) c++;
          else {
            head = 1;
            if (!tc) continue;
          }
        } else {
          c++;
        }
        endOfCylinder = true;
      }
      if (tc) {
        this.setResult7((head << 2) | (sel & 3), 0, 0, c, h, r, n);
        return;
      }
      if (endOfCylinder) {
        this.setResult7(0x40 | (head << 2) | (sel & 3), 0x80, 0, c, h, r, n);
        return;
      }
    }
  }

  private readId(): void {
    const sel = this.cmd[1] & 7;
    const d = this.drives[sel & 3];
    const head = (sel >> 2) & 1;
    if (d.disk === null) this.setResult7(0x40 | 0x08 | sel, 0x01, 0, d.cylinder, head, 1, 2);
    else this.setResult7(sel, 0, 0, d.cylinder, head, 1, 2);
  }

  private format(): void {
    const cmd = this.cmd;
    const sel = cmd[1] & 7;
    const d = this.drives[sel & 3];
    const head = (sel >> 2) & 1;
    const n = cmd[2];
    const sc = cmd[3];
    const fill = cmd[5];
    const disk = d.disk;
    if (disk === null) return this.setResult7(0x40 | 0x08 | sel, 0x01, 0, d.cylinder, head, 1, n);
    if (disk.readOnly) return this.setResult7(0x40 | sel, 0x02, 0, d.cylinder, head, 1, n);
    if ((this.dor & 0x08) === 0 || !this.dma.ready(DMA_CHANNEL)) {
      return this.setResult7(0x40 | sel, 0x10, 0, d.cylinder, head, 1, n);
    }
    const id = this.sector; // the 4-byte ID fields come through DMA
    let last = 1;
    this.sector.fill(fill, 4);
    for (let i = 0; i < sc; i++) {
      if (this.dma.readFromMemory(DMA_CHANNEL, id, 0, 4) < 4) break;
      const lba = disk.chsToLba(id[0], head, id[2]);
      last = id[2];
      if (lba >= 0) {
        id.fill(fill, 0, 4);
        disk.writeSector(lba, id);
      }
    }
    this.setResult7(sel, 0, 0, d.cylinder, head, last, n);
  }
}
