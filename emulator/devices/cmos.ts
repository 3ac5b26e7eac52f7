// CMOS RAM and the MC146818 real-time clock: 70h index (bit 7 = NMI disable), 71h data.
//
// Time registers 00h sec, 02h min, 04h hour, 06h day of week (1 = Sunday), 07h day, 08h
// month, 09h year, 32h century; alarms 01h/03h/05h. Register B bit 2 selects binary
// (else BCD), bit 1 24-hour (else 12-hour, bit 7 of the hour = PM), bit 7 SET halts
// updates. The registers are the time: the clock advances them once per emulated second
// (a clock event), so a guest that sets the time keeps its own time. The start time is an
// option, fixed by default (1991-10-05 12:00:00) so runs are deterministic.
//
// Register A: bit 7 UIP (set during the last 244 us before each update), bits 3-0 the
// periodic rate. Register C (read clears): IRQF, PF (periodic), AF (alarm), UF (update
// ended). Register D: VRT = 1. IRQ8 rises when a flag enabled in register B (PIE, AIE,
// UIE) is set; it is lowered when register C is read.
//
// Configuration bytes (from options): 10h floppy types, 12h hard-disk types (0Fh nibble +
// 19h/1Ah = 47, user type, for any disk present), 14h equipment, 15h-16h base memory
// (640 KB), 17h-18h and 30h-31h extended memory in KB (max 65535), 34h-35h memory above
// 16 MB in 64 KB units, 2Eh-2Fh checksum of 10h-2Dh. Outside the checksum, as Bochs's and
// QEMU's CMOS keep it for their BIOSes: 3Dh bits 3-0 the first boot device, bits 7-4 the
// second, 38h bits 7-4 the third (1 floppy, 2 hard disk, 0 none).

import type { Clock, Timer } from '../clock';
import type { IoBus } from './io-bus';
import type { IrqSink } from './pic';

/** CMOS floppy drive type codes (register 10h nibbles). */
export const CMOS_FLOPPY = { none: 0, '360K': 1, '1.2M': 2, '720K': 3, '1.44M': 4, '2.88M': 5 } as const;

export interface CmosOptions {
  /** Start time, Unix seconds (UTC). Default 1991-10-05 12:00:00. */
  startTime?: number;
  /** RAM size in bytes (for 15h-18h, 30h-31h, 34h-35h). Default 16 MB. */
  memorySize?: number;
  /** Floppy drive types for A: and B: (CMOS_FLOPPY codes). */
  floppyTypes?: [number, number];
  /** Which hard disks are present (master, slave of the first controller). */
  hardDisks?: [boolean, boolean];
  /** An FPU is present (equipment bit 1). */
  fpu?: boolean;
  /** Boot sequence for a BIOS that reads it from 3Dh/38h (a floppy, c hard disk). */
  bootOrder?: ('a' | 'c')[];
}

const BOOT_DEVICE = { a: 1, c: 2 } as const;

export const DEFAULT_RTC_START = Date.UTC(1991, 9, 5, 12, 0, 0) / 1000;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export class Cmos {
  readonly ram = new Uint8Array(128);
  index = 0;
  nmiDisabled = true;
  private readonly second: Timer;
  private readonly periodic: Timer;
  private irqLevel = false;
  /** Instruction count of the last once-a-second update. */
  private lastUpdate = 0;

  constructor(
    private readonly clock: Clock,
    private readonly irq: IrqSink,
    bus?: IoBus,
    options: CmosOptions = {},
  ) {
    this.ram[0x0a] = 0x26;
    this.ram[0x0b] = 0x02; // 24-hour, BCD
    this.ram[0x0d] = 0x80;
    this.setTime(options.startTime ?? DEFAULT_RTC_START);
    this.configure(options);
    this.second = clock.createTimer('rtc-second', (now) => this.tick(now));
    this.periodic = clock.createTimer('rtc-periodic', (now) => this.periodicTick(now));
    this.lastUpdate = clock.icount;
    this.second.scheduleAt(clock.icount + clock.rate);
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('cmos', 0x70, 2, {
      read8: (p) => (p === 0x70 ? 0xff : this.readData()),
      write8: (p, v) => (p === 0x70 ? this.writeIndex(v) : this.writeData(v)),
    });
  }

  private configure(o: CmosOptions): void {
    const r = this.ram;
    const [fa, fb] = o.floppyTypes ?? [CMOS_FLOPPY['1.44M'], CMOS_FLOPPY.none];
    r[0x10] = ((fa & 0xf) << 4) | (fb & 0xf);
    const [h0, h1] = o.hardDisks ?? [false, false];
    r[0x12] = (h0 ? 0xf0 : 0) | (h1 ? 0x0f : 0);
    r[0x19] = h0 ? 47 : 0;
    r[0x1a] = h1 ? 47 : 0;
    const floppies = (fa ? 1 : 0) + (fb ? 1 : 0);
    r[0x14] = (floppies > 0 ? 0x01 | ((floppies - 1) << 6) : 0) | (o.fpu ? 0x02 : 0); // bits 5-4 = 00: EGA/VGA
    r[0x15] = 640 & 0xff;
    r[0x16] = 640 >> 8;
    const mem = o.memorySize ?? 16 * 1024 * 1024;
    const extKb = Math.min(0xffff, Math.max(0, Math.floor(mem / 1024) - 1024));
    r[0x17] = r[0x30] = extKb & 0xff;
    r[0x18] = r[0x31] = extKb >> 8;
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((mem - 16 * 1024 * 1024) / 65536)));
    r[0x34] = above16 & 0xff;
    r[0x35] = above16 >> 8;
    const boot = (o.bootOrder ?? ['a', 'c']).map((d) => BOOT_DEVICE[d]);
    r[0x3d] = (boot[0] ?? 0) | ((boot[1] ?? 0) << 4);
    r[0x38] = (boot[2] ?? 0) << 4;
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += r[i];
    r[0x2e] = (sum >> 8) & 0xff;
    r[0x2f] = sum & 0xff;
  }

  private get binary(): boolean {
    return (this.ram[0x0b] & 0x04) !== 0;
  }

  private toReg(v: number): number {
    return this.binary ? v : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  private fromReg(v: number): number {
    return this.binary ? v : (v >> 4) * 10 + (v & 0xf);
  }

  private hourToReg(h: number): number {
    if (this.ram[0x0b] & 0x02) return this.toReg(h);
    const pm = h >= 12;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.toReg(h12) | (pm ? 0x80 : 0);
  }

  private hourFromReg(v: number): number {
    if (this.ram[0x0b] & 0x02) return this.fromReg(v);
    const h12 = this.fromReg(v & 0x7f) % 12;
    return h12 + (v & 0x80 ? 12 : 0);
  }

  /** Set the RTC registers to Unix time `t` (UTC). */
  setTime(t: number): void {
    const d = new Date(Math.floor(t) * 1000);
    const r = this.ram;
    r[0x00] = this.toReg(d.getUTCSeconds());
    r[0x02] = this.toReg(d.getUTCMinutes());
    r[0x04] = this.hourToReg(d.getUTCHours());
    r[0x06] = this.toReg(d.getUTCDay() + 1);
    r[0x07] = this.toReg(d.getUTCDate());
    r[0x08] = this.toReg(d.getUTCMonth() + 1);
    r[0x09] = this.toReg(d.getUTCFullYear() % 100);
    r[0x32] = this.toReg(Math.floor(d.getUTCFullYear() / 100));
  }

  /** The time the registers hold, as Unix seconds (UTC). */
  getTime(): number {
    const r = this.ram;
    const year = this.fromReg(r[0x32]) * 100 + this.fromReg(r[0x09]);
    return (
      Date.UTC(year, this.fromReg(r[0x08]) - 1, this.fromReg(r[0x07]), this.hourFromReg(r[0x04]), this.fromReg(r[0x02]), this.fromReg(r[0x00])) /
      1000
    );
  }

  /** Advance the time registers by one second, carrying through to the century. */
  private incrementSecond(): void {
    const r = this.ram;
    let sec = this.fromReg(r[0x00]) + 1;
    let min = this.fromReg(r[0x02]);
    let hour = this.hourFromReg(r[0x04]);
    let wday = this.fromReg(r[0x06]);
    let day = this.fromReg(r[0x07]);
    let month = this.fromReg(r[0x08]);
    let year = this.fromReg(r[0x09]);
    let century = this.fromReg(r[0x32]);
    if (sec >= 60) {
      sec = 0;
      if (++min >= 60) {
        min = 0;
        if (++hour >= 24) {
          hour = 0;
          wday = (wday % 7) + 1;
          const full = century * 100 + year;
          const dim = month === 2 && isLeap(full) ? 29 : DAYS_IN_MONTH[(month - 1) % 12] ?? 31;
          if (++day > dim) {
            day = 1;
            if (++month > 12) {
              month = 1;
              if (++year >= 100) {
                year = 0;
                century++;
              }
            }
          }
        }
      }
    }
    r[0x00] = this.toReg(sec);
    r[0x02] = this.toReg(min);
    r[0x04] = this.hourToReg(hour);
    r[0x06] = this.toReg(wday);
    r[0x07] = this.toReg(day);
    r[0x08] = this.toReg(month);
    r[0x09] = this.toReg(year);
    r[0x32] = this.toReg(century);
  }

  private tick(now: number): void {
    this.lastUpdate = now;
    this.second.scheduleAt(now + this.clock.rate);
    const r = this.ram;
    if (r[0x0b] & 0x80) return; // SET: updates halted
    this.incrementSecond();
    let flags = 0x10; // UF
    if (this.alarmMatches(0x01, 0x00) && this.alarmMatches(0x03, 0x02) && this.alarmMatches(0x05, 0x04)) flags |= 0x20; // AF
    r[0x0c] |= flags;
    this.updateIrq();
  }

  /** An alarm byte matches its time byte, or is a "don't care" value (C0h-FFh). */
  private alarmMatches(reg: number, cur: number): boolean {
    return (this.ram[reg] & 0xc0) === 0xc0 || this.ram[reg] === this.ram[cur];
  }

  private periodicPeriod(): number {
    const rate = this.ram[0x0a] & 0x0f;
    if (rate === 0 || (this.ram[0x0a] & 0x70) !== 0x20) return 0;
    const hz = rate <= 2 ? 32768 >> (rate + 6) : 32768 >> (rate - 1);
    return this.clock.rate / hz;
  }

  private schedulePeriodic(): void {
    const period = this.periodicPeriod();
    if (period === 0 || (this.ram[0x0b] & 0x40) === 0) {
      this.periodic.cancel();
      return;
    }
    if (!this.periodic.pending) {
      this.periodicBase = this.clock.icount;
      this.periodicIndex = 1;
      this.periodic.scheduleAt(Math.ceil(this.periodicBase + period));
    }
  }

  // Periodic ticks fall at base + k * period (rounded up), so they do not drift.
  private periodicBase = 0;
  private periodicIndex = 0;

  private periodicTick(_now: number): void {
    this.ram[0x0c] |= 0x40; // PF
    this.updateIrq();
    const period = this.periodicPeriod();
    if (period > 0 && this.ram[0x0b] & 0x40) {
      this.periodicIndex++;
      this.periodic.scheduleAt(Math.ceil(this.periodicBase + this.periodicIndex * period));
    }
  }

  private updateIrq(): void {
    const r = this.ram;
    const enabled = r[0x0c] & r[0x0b] & 0x70;
    if (enabled) r[0x0c] |= 0x80;
    const level = enabled !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raiseIrq(8);
    else this.irq.lowerIrq(8);
  }

  writeIndex(v: number): void {
    this.index = v & 0x7f;
    this.nmiDisabled = (v & 0x80) !== 0;
  }

  readData(): number {
    const i = this.index;
    const r = this.ram;
    switch (i) {
      case 0x0a: {
        // UIP during the last 244 us before the next update.
        const untilUpdate = this.lastUpdate + this.clock.rate - this.clock.icount;
        const uip = (r[0x0b] & 0x80) === 0 && untilUpdate <= (this.clock.rate * 244) / 1e6;
        return (r[0x0a] & 0x7f) | (uip ? 0x80 : 0);
      }
      case 0x0c: {
        const v = r[0x0c];
        r[0x0c] = 0;
        this.updateIrq();
        return v;
      }
      case 0x0d:
        return 0x80;
      default:
        return r[i];
    }
  }

  writeData(v: number): void {
    const i = this.index;
    const r = this.ram;
    switch (i) {
      case 0x0a:
        r[0x0a] = v & 0x7f;
        this.periodic.cancel();
        this.schedulePeriodic();
        break;
      case 0x0b: {
        const old = r[0x0b];
        // Switching binary/BCD or 12/24h does not convert the stored time (as on the chip).
        r[0x0b] = v & (v & 0x80 ? 0xef : 0xff); // SET clears UIE
        if ((old & 0x80) && !(v & 0x80)) {
          // Leaving SET: the divider chain restarts; the next update is one second away.
          this.lastUpdate = this.clock.icount;
          this.second.scheduleAt(this.clock.icount + this.clock.rate);
        }
        this.schedulePeriodic();
        this.updateIrq();
        break;
      }
      case 0x0c:
      case 0x0d:
        break; // read-only
      default:
        r[i] = v;
    }
  }
}
