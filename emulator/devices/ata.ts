// The AT hard-disk controller (the primary ATA channel): 1F0h-1F7h, 3F6h, IRQ14, a master
// and a slave drive, PIO transfers.
//
// Registers: 1F0h data (16-bit PIO; byte and dword accesses move 1 and 4 bytes), 1F1h
// error (read) / features (write), 1F2h sector count (0 = 256), 1F3h sector number /
// LBA 7-0, 1F4h-1F5h cylinder / LBA 23-8, 1F6h drive/head (bit 4 drive, bit 6 LBA, bits
// 3-0 head / LBA 27-24), 1F7h status (read; clears the pending interrupt) / command
// (write). 3F6h: alternate status (read, leaves the interrupt pending) / device control
// (write: bit 1 nIEN masks IRQ14, bit 2 SRST: a software reset of both drives, which
// leaves the master selected, the diagnostic code 01h in the error register and the
// signature 1/1/0/0 in the task file; an absent slave's cylinder registers read FFh/FFh). A
// channel with no drive reads FFh at every port. `driveAddress()` gives 3F7h's bits 6-0, which the
// floppy controller's 3F7h returns (see FloppyOptions.dirLowBits).
//
// Status: BSY 80h, DRDY 40h, DF 20h, DSC 10h, DRQ 08h, ERR 01h; error: ABRT 04h when a
// command is not supported or the drive refuses it, IDNF 10h for an address outside the
// disk (CHS outside the current translation, or LBA beyond the image).
//
// Commands: RESTORE 10h-1Fh, READ SECTORS 20h/21h, WRITE SECTORS 30h/31h, READ VERIFY
// 40h/41h, SEEK 70h-7Fh, EXECUTE DEVICE DIAGNOSTIC 90h, INITIALIZE DEVICE PARAMETERS 91h
// (sets the CHS translation: heads = drive/head bits 3-0 + 1, sectors = sector count),
// READ MULTIPLE C4h, WRITE MULTIPLE C5h, SET MULTIPLE MODE C6h (1-16 sectors per block),
// IDENTIFY DEVICE ECh, SET FEATURES EFh, CHECK POWER MODE E5h and the idle/standby
// commands E0h-E3h (accepted). Others abort (ERR, ABRT) with IRQ14.
// Addresses: CHS through the current translation (sector 1-based) or LBA28.
//
// Timing: a command (and each further block of a transfer) completes `delay` instructions
// of machine time after it starts (0 = at once): BSY until then, then DRQ (data) and the
// interrupt. A read interrupts once per block, when its data is ready; a write asks for
// the first block at once without an interrupt and interrupts after each block is written.

import type { Clock, Timer } from '../clock';
import type { IoBus } from './io-bus';
import type { IrqSink } from './pic';
import type { DiskImage } from './disk';

const BSY = 0x80;
const DRDY = 0x40;
const DSC = 0x10;
const DRQ = 0x08;
const ERR = 0x01;
const ABRT = 0x04;
const IDNF = 0x10;

export class AtaDrive {
  status = DRDY | DSC;
  error = 0x01;
  /** Current CHS translation (INITIALIZE DEVICE PARAMETERS). */
  heads: number;
  sectorsPerTrack: number;
  multiple = 0;

  constructor(readonly disk: DiskImage) {
    this.heads = disk.geometry.heads;
    this.sectorsPerTrack = disk.geometry.sectorsPerTrack;
  }

  get totalSectors(): number {
    return Math.min(disk28(this.disk), 0x0fffffff);
  }

  /** Cylinders of the current translation. */
  get cylinders(): number {
    if (this.heads === this.disk.geometry.heads && this.sectorsPerTrack === this.disk.geometry.sectorsPerTrack) {
      return this.disk.geometry.cylinders;
    }
    return Math.min(65535, Math.floor(this.totalSectors / (this.heads * this.sectorsPerTrack)));
  }
}

function disk28(d: DiskImage): number {
  return Math.min(d.sectorCount, d.geometrySectors);
}

const enum Xfer {
  None,
  Read,
  Write,
  Identify,
}

export interface AtaOptions {
  /** Instructions a command or block takes. Default 500. */
  delay?: number;
}

export class AtaController {
  readonly drives: (AtaDrive | null)[];
  delay: number;

  // The task file (written to both drives).
  features = 0;
  sectorCount = 0;
  sectorNumber = 0;
  cylLow = 0;
  cylHigh = 0;
  driveHead = 0xa0;
  deviceControl = 0;

  /** Since the last reset or diagnostic (until the cylinder registers are written): an
   *  absent drive's signature reads FFh/FFh in the cylinder registers, as QEMU's IDE and a
   *  floating bus give, so a BIOS (rombios's ata_detect) sees "no device" there. */
  private absentSignature = false;
  private intrq = false;
  private irqLevel = false;
  private readonly buffer = new Uint8Array(512 * 16);
  private bufPos = 0;
  private bufLen = 0;
  private xfer = Xfer.None;
  /** Sectors still to transfer in the current command. */
  private remaining = 0;
  private blockSectors = 1;
  private command = 0;
  private readonly timer: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly irq: IrqSink,
    disks: [DiskImage | null, DiskImage | null],
    bus?: IoBus,
    options: AtaOptions = {},
  ) {
    this.drives = disks.map((d) => (d ? new AtaDrive(d) : null));
    this.delay = options.delay ?? 500;
    this.timer = clock.createTimer('ata', () => this.complete());
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('ata-data', 0x1f0, 1, {
      read8: () => this.readData(1),
      read16: () => this.readData(2),
      read32: () => this.readData(4),
      write8: (_p, v) => this.writeData(v, 1),
      write16: (_p, v) => this.writeData(v, 2),
      write32: (_p, v) => this.writeData(v, 4),
    });
    bus.register('ata', 0x1f1, 7, { read8: (p) => this.readReg(p), write8: (p, v) => this.writeReg(p, v) });
    bus.register('ata-control', 0x3f6, 1, {
      read8: () => this.altStatus(),
      write8: (_p, v) => this.writeControl(v),
    });
  }

  private get selected(): number {
    return (this.driveHead >> 4) & 1;
  }

  private get drive(): AtaDrive | null {
    return this.drives[this.selected];
  }

  /** 3F7h bits 6-0: drive-select and head-select lines, active low. */
  driveAddress(): number {
    const ds = this.selected === 0 ? 1 : 2;
    return ~(ds | ((this.driveHead & 0x0f) << 2)) & 0x7f;
  }

  private updateIrq(): void {
    const level = this.intrq && (this.deviceControl & 0x02) === 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raiseIrq(14);
    else this.irq.lowerIrq(14);
  }

  private interrupt(): void {
    // Each completion is a new request: if the host never read the status since the last
    // one (so INTRQ is still asserted), drop the line first so the edge-triggered PIC sees it.
    if (this.irqLevel) {
      this.irqLevel = false;
      this.irq.lowerIrq(14);
    }
    this.intrq = true;
    this.updateIrq();
  }

  private clearInterrupt(): void {
    this.intrq = false;
    this.updateIrq();
  }

  altStatus(): number {
    const d = this.drive;
    if (d === null) return this.channelEmpty ? 0xff : 0;
    return d.status;
  }

  /** No drive on the channel: nothing drives the bus, its pull-ups read FFh everywhere
   *  (so a BIOS's 55h/AAh echo test of the sector registers finds nothing). */
  private get channelEmpty(): boolean {
    return this.drives[0] === null && this.drives[1] === null;
  }

  readReg(port: number): number {
    const d = this.drive;
    if (this.channelEmpty) return 0xff;
    switch (port & 7) {
      case 1:
        return d ? d.error : 0;
      case 2:
        return this.sectorCount;
      case 3:
        return this.sectorNumber;
      case 4:
        return d === null && this.absentSignature ? 0xff : this.cylLow;
      case 5:
        return d === null && this.absentSignature ? 0xff : this.cylHigh;
      case 6:
        return this.driveHead;
      default: {
        const s = this.altStatus();
        if (d !== null) this.clearInterrupt();
        return s;
      }
    }
  }

  writeReg(port: number, v: number): void {
    switch (port & 7) {
      case 1:
        this.features = v;
        break;
      case 2:
        this.sectorCount = v;
        break;
      case 3:
        this.sectorNumber = v;
        break;
      case 4:
        this.cylLow = v;
        this.absentSignature = false;
        break;
      case 5:
        this.cylHigh = v;
        this.absentSignature = false;
        break;
      case 6:
        this.driveHead = v | 0xa0;
        break;
      default:
        this.writeCommand(v);
    }
  }

  writeControl(v: number): void {
    const old = this.deviceControl;
    this.deviceControl = v;
    if (v & 0x04) {
      for (const d of this.drives) if (d) d.status = BSY;
      this.timer.cancel();
      this.xfer = Xfer.None;
    } else if (old & 0x04) {
      this.softwareReset();
    }
    this.updateIrq();
  }

  private softwareReset(): void {
    for (const d of this.drives) {
      if (!d) continue;
      d.status = DRDY | DSC;
      d.error = 0x01;
    }
    this.setSignature();
    this.xfer = Xfer.None;
    this.bufPos = this.bufLen = 0;
    this.intrq = false;
  }

  private setSignature(): void {
    this.absentSignature = true;
    this.sectorCount = 1;
    this.sectorNumber = 1;
    this.cylLow = 0;
    this.cylHigh = 0;
    this.driveHead = 0xa0; // master selected
  }

  // --- addressing ---
  /** LBA addressed by the task file for drive `d`, or -1 if invalid. */
  private currentLba(d: AtaDrive): number {
    if (this.driveHead & 0x40) {
      const lba = ((this.driveHead & 0x0f) << 24) | (this.cylHigh << 16) | (this.cylLow << 8) | this.sectorNumber;
      return lba < d.totalSectors ? lba : -1;
    }
    const cyl = (this.cylHigh << 8) | this.cylLow;
    const head = this.driveHead & 0x0f;
    const sec = this.sectorNumber;
    if (sec < 1 || sec > d.sectorsPerTrack || head >= d.heads || cyl >= d.cylinders) return -1;
    const lba = (cyl * d.heads + head) * d.sectorsPerTrack + sec - 1;
    return lba < d.totalSectors ? lba : -1;
  }

  /** Point the task file at the sector after the current one. */
  private advanceAddress(d: AtaDrive): void {
    if (this.driveHead & 0x40) {
      const lba = (((this.driveHead & 0x0f) << 24) | (this.cylHigh << 16) | (this.cylLow << 8) | this.sectorNumber) + 1;
      this.sectorNumber = lba & 0xff;
      this.cylLow = (lba >> 8) & 0xff;
      this.cylHigh = (lba >> 16) & 0xff;
      this.driveHead = (this.driveHead & 0xf0) | ((lba >> 24) & 0x0f);
      return;
    }
    let sec = this.sectorNumber + 1;
    let head = this.driveHead & 0x0f;
    let cyl = (this.cylHigh << 8) | this.cylLow;
    if (sec > d.sectorsPerTrack) {
      sec = 1;
      if (++head >= d.heads) {
        head = 0;
        cyl++;
      }
    }
    this.sectorNumber = sec;
    this.driveHead = (this.driveHead & 0xf0) | head;
    this.cylLow = cyl & 0xff;
    this.cylHigh = (cyl >> 8) & 0xff;
  }

  // --- commands ---
  private fail(d: AtaDrive, error: number): void {
    d.error = error;
    d.status = DRDY | DSC | ERR;
    this.xfer = Xfer.None;
    this.interrupt();
  }

  private writeCommand(v: number): void {
    const d = this.drive;
    if (d === null) return; // no drive answers
    if (d.status & BSY) return;
    this.clearInterrupt();
    this.command = v;
    d.error = 0;
    this.xfer = Xfer.None;
    this.remaining = this.sectorCount === 0 ? 256 : this.sectorCount;
    if (v === 0x30 || v === 0x31 || v === 0xc5) {
      if (v === 0xc5 && d.multiple === 0) return this.fail(d, ABRT);
      if (d.disk.readOnly) return this.fail(d, ABRT);
      this.blockSectors = v === 0xc5 ? d.multiple : 1;
      this.startWriteBlock(d);
      return;
    }
    if (v === 0xc4 && d.multiple === 0) return this.fail(d, ABRT);
    d.status = BSY | DSC;
    if (this.delay <= 0) this.complete();
    else this.timer.scheduleIn(this.delay);
  }

  /** Ask the host for the next block of a write (DRQ). */
  private startWriteBlock(d: AtaDrive): void {
    const n = Math.min(this.blockSectors, this.remaining);
    this.xfer = Xfer.Write;
    this.bufPos = 0;
    this.bufLen = n * 512;
    d.status = DRDY | DSC | DRQ;
  }

  /** The timed part of a command: runs `delay` instructions after it started. */
  private complete(): void {
    const d = this.drive;
    if (d === null) return;
    const cmd = this.command;
    if ((cmd & 0xf0) === 0x10) {
      this.cylLow = this.cylHigh = 0;
      d.status = DRDY | DSC;
      this.interrupt();
      return;
    }
    if ((cmd & 0xf0) === 0x70) {
      if (this.currentLba(d) < 0) return this.fail(d, IDNF);
      d.status = DRDY | DSC;
      this.interrupt();
      return;
    }
    switch (cmd) {
      case 0x20:
      case 0x21:
      case 0xc4:
        this.blockSectors = cmd === 0xc4 ? d.multiple : 1;
        this.readBlock(d);
        return;
      case 0x30:
      case 0x31:
      case 0xc5:
        this.writeBlockDone(d);
        return;
      case 0x40:
      case 0x41:
        for (;;) {
          if (this.currentLba(d) < 0) return this.fail(d, IDNF);
          if (--this.remaining === 0) break;
          this.advanceAddress(d);
        }
        this.sectorCount = 0;
        d.status = DRDY | DSC;
        this.interrupt();
        return;
      case 0x90: {
        for (const x of this.drives) {
          if (!x) continue;
          x.error = 0x01;
          x.status = DRDY | DSC;
        }
        this.setSignature();
        this.interrupt();
        return;
      }
      case 0x91:
        d.heads = (this.driveHead & 0x0f) + 1;
        d.sectorsPerTrack = this.sectorCount;
        if (d.sectorsPerTrack === 0) {
          d.heads = d.disk.geometry.heads;
          d.sectorsPerTrack = d.disk.geometry.sectorsPerTrack;
          return this.fail(d, ABRT);
        }
        d.status = DRDY | DSC;
        this.interrupt();
        return;
      case 0xc6: {
        const n = this.sectorCount;
        if (n > 16 || (n & (n - 1)) !== 0) return this.fail(d, ABRT);
        d.multiple = n;
        d.status = DRDY | DSC;
        this.interrupt();
        return;
      }
      case 0xec:
        this.identify(d);
        return;
      case 0xe5:
        this.sectorCount = 0xff; // active/idle
        d.status = DRDY | DSC;
        this.interrupt();
        return;
      case 0xef:
      case 0xe0:
      case 0xe1:
      case 0xe2:
      case 0xe3:
        d.status = DRDY | DSC;
        this.interrupt();
        return;
      default:
        this.fail(d, ABRT);
    }
  }

  private readBlock(d: AtaDrive): void {
    const n = Math.min(this.blockSectors, this.remaining);
    for (let i = 0; i < n; i++) {
      const lba = this.currentLba(d);
      if (lba < 0 || !d.disk.readSector(lba, this.buffer, i * 512)) return this.fail(d, IDNF);
      this.remaining--;
      this.sectorCount = (this.sectorCount - 1) & 0xff;
      if (this.remaining > 0) this.advanceAddress(d);
    }
    this.xfer = Xfer.Read;
    this.bufPos = 0;
    this.bufLen = n * 512;
    d.status = DRDY | DSC | DRQ;
    this.interrupt();
  }

  private writeBlockDone(d: AtaDrive): void {
    const n = this.bufLen / 512;
    for (let i = 0; i < n; i++) {
      const lba = this.currentLba(d);
      if (lba < 0) return this.fail(d, IDNF);
      if (!d.disk.writeSector(lba, this.buffer, i * 512)) return this.fail(d, ABRT);
      this.remaining--;
      this.sectorCount = (this.sectorCount - 1) & 0xff;
      if (this.remaining > 0) this.advanceAddress(d);
    }
    if (this.remaining > 0) this.startWriteBlock(d);
    else {
      this.xfer = Xfer.None;
      d.status = DRDY | DSC;
    }
    this.interrupt();
  }

  private putWord(i: number, v: number): void {
    this.buffer[i * 2] = v & 0xff;
    this.buffer[i * 2 + 1] = (v >> 8) & 0xff;
  }

  /** An ATA string: two characters per word, the first in the high byte, space padded. */
  private putString(i: number, len: number, s: string): void {
    for (let k = 0; k < len; k++) this.buffer[i * 2 + (k ^ 1)] = k < s.length ? s.charCodeAt(k) : 0x20;
  }

  private identify(d: AtaDrive): void {
    this.buffer.fill(0, 0, 512);
    const g = d.disk.geometry;
    const total = d.totalSectors;
    this.putWord(0, 0x0040); // fixed disk
    this.putWord(1, Math.min(g.cylinders, 16383));
    this.putWord(3, g.heads);
    this.putWord(4, 512 * g.sectorsPerTrack);
    this.putWord(5, 512);
    this.putWord(6, g.sectorsPerTrack);
    this.putString(10, 20, 'FORKLAB000000000001');
    this.putWord(20, 3); // buffer type
    this.putWord(21, 16); // buffer size (512-byte units)
    this.putString(23, 8, '1.0');
    this.putString(27, 40, 'FORKLAB HARDDISK');
    this.putWord(47, 0x8010); // READ/WRITE MULTIPLE: up to 16 sectors
    this.putWord(49, 0x0200); // LBA supported
    this.putWord(51, 0x0200); // PIO mode 2 timing
    this.putWord(53, 0x0001); // words 54-58 valid
    this.putWord(54, d.cylinders);
    this.putWord(55, d.heads);
    this.putWord(56, d.sectorsPerTrack);
    const cur = Math.min(total, d.cylinders * d.heads * d.sectorsPerTrack);
    this.putWord(57, cur & 0xffff);
    this.putWord(58, cur >>> 16);
    this.putWord(59, d.multiple ? 0x100 | d.multiple : 0);
    this.putWord(60, total & 0xffff);
    this.putWord(61, total >>> 16);
    this.putWord(80, 0x001e); // ATA-1 to ATA-4
    this.xfer = Xfer.Identify;
    this.bufPos = 0;
    this.bufLen = 512;
    d.status = DRDY | DSC | DRQ;
    this.interrupt();
  }

  // --- PIO data ---
  readData(size: number): number {
    const d = this.drive;
    if (d === null || (this.xfer !== Xfer.Read && this.xfer !== Xfer.Identify)) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    let v = 0;
    const b = this.buffer;
    const p = this.bufPos;
    if (size === 1) v = b[p];
    else if (size === 2) v = b[p] | (b[p + 1] << 8);
    else v = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    this.bufPos += size;
    if (this.bufPos >= this.bufLen) this.readBlockFinished(d);
    return v;
  }

  private readBlockFinished(d: AtaDrive): void {
    this.bufPos = this.bufLen = 0;
    if (this.xfer === Xfer.Read && this.remaining > 0) {
      d.status = BSY | DSC;
      if (this.delay <= 0) this.complete();
      else this.timer.scheduleIn(this.delay);
      return;
    }
    this.xfer = Xfer.None;
    d.status = DRDY | DSC;
  }

  writeData(v: number, size: number): void {
    const d = this.drive;
    if (d === null || this.xfer !== Xfer.Write || (d.status & DRQ) === 0) return;
    const b = this.buffer;
    const p = this.bufPos;
    b[p] = v & 0xff;
    if (size >= 2) b[p + 1] = (v >> 8) & 0xff;
    if (size === 4) {
      b[p + 2] = (v >> 16) & 0xff;
      b[p + 3] = (v >>> 24) & 0xff;
    }
    this.bufPos += size;
    if (this.bufPos >= this.bufLen) {
      d.status = BSY | DSC;
      if (this.delay <= 0) this.complete();
      else this.timer.scheduleIn(this.delay);
    }
  }
}
