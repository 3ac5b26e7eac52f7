// The PC: physical memory, the CPU, the I/O bus, the instruction clock, the devices and the
// BIOS, wired the way a Linux-0.11-era kernel expects (spec/pc-hardware.md). Nothing here
// knows about our kernel: it boots any PC image that fits what it emulates.

import { Cpu, type StopReason } from './cpu/cpu';
import { PhysicalMemory, type MmioHandler } from './memory';
import { Clock } from './clock';
import { IoBus } from './devices/io-bus';
import { PicPair } from './devices/pic';
import { Pit } from './devices/pit';
import { SystemControlB } from './devices/port61';
import { Uart16550 } from './devices/uart';
import { VgaText, VGA_TEXT_BASE, VGA_TEXT_SIZE } from './devices/vga';
import { A20Gate, Port92 } from './devices/a20';
import { KeyboardController } from './devices/kbc';
import { Cmos, CMOS_FLOPPY } from './devices/cmos';
import { AtaController } from './devices/ata';
import { DmaController } from './devices/dma';
import { FloppyController } from './devices/floppy';
import { DebugPorts } from './devices/debug-ports';
import type { DiskImage } from './devices/disk';
import { Bios } from './bios/bios';

export const DEFAULT_MEMORY = 16 * 1024 * 1024;
export const MAX_MEMORY = 256 * 1024 * 1024;

export interface MachineOptions {
  /** RAM in bytes (default 16 MB, Linux 0.11's limit; at most 256 MB). */
  memorySize?: number;
  fda?: DiskImage | null;
  fdb?: DiskImage | null;
  hda?: DiskImage | null;
  hdb?: DiskImage | null;
  /** Boot order for our BIOS (default: floppy, then hard disk). */
  bootOrder?: ('a' | 'c')[];
  /** A firmware image (64 or 128 KB) to run instead of our BIOS. */
  firmware?: Uint8Array;
  /** Instructions per emulated second (default: the clock's). */
  instructionRate?: number;
  /** RTC start time, Unix seconds (default fixed, for determinism). */
  rtcStart?: number;
  /** Bytes the guest sends out of COM1, and to the debugcon port E9h. */
  onSerial?(byte: number): void;
  onDebugcon?(byte: number): void;
  /** Bytes sent out of COM2. */
  onSerial2?(byte: number): void;
}

/** Why `run()` returned. */
export type MachineStop =
  | { kind: 'exit'; status: number } // the guest wrote port F4h
  | { kind: 'halted' } // HLT with interrupts off
  | { kind: 'triple-fault'; state: string }
  | { kind: 'boot-failure'; reason: string }
  | { kind: 'limit' } // the instruction budget ran out
  | { kind: 'stopped' }; // stop() or a hook asked

export class Machine {
  readonly memorySize: number;
  readonly mem: PhysicalMemory;
  readonly io = new IoBus();
  readonly clock: Clock;
  readonly cpu: Cpu;
  readonly pic: PicPair;
  readonly pit: Pit;
  readonly vga: VgaText;
  readonly com1: Uart16550;
  readonly com2: Uart16550;
  readonly a20 = new A20Gate();
  readonly kbc: KeyboardController;
  readonly cmos: Cmos;
  readonly dma: DmaController;
  readonly fdc: FloppyController;
  readonly ata: AtaController;
  readonly debugPorts: DebugPorts;
  readonly bios: Bios | null;
  private exitStatus = -1;
  private bootFailure: string | null = null;

  constructor(o: MachineOptions = {}) {
    const size = o.memorySize ?? DEFAULT_MEMORY;
    if (size < 1024 * 1024 || size > MAX_MEMORY || size % (64 * 1024) !== 0) {
      throw new Error(`memory size must be a multiple of 64 KB from 1 MB to 256 MB (got ${size} bytes)`);
    }
    this.memorySize = size;
    this.mem = new PhysicalMemory(size);
    this.clock = new Clock(o.instructionRate ? { rate: o.instructionRate } : {});
    this.pic = new PicPair(this.io);
    this.cpu = new Cpu(this.mem, this.io, this.pic);
    this.pit = new Pit(this.clock, this.pic, this.io);
    new SystemControlB(this.clock, this.pit, this.io);
    this.vga = new VgaText(this.clock, this.io);
    this.mapVga();
    this.com1 = new Uart16550(0x3f8, 4, this.pic, this.io, { sink: o.onSerial });
    this.com2 = new Uart16550(0x2f8, 3, this.pic, this.io, { sink: o.onSerial2 });
    this.a20.onA20Change = (on) => this.mem.setA20(on);
    this.a20.onReset = () => this.reset();
    new Port92(this.a20, this.io);
    this.kbc = new KeyboardController(this.pic, this.a20, this.io);
    const floppyType = (d: DiskImage | null | undefined) =>
      !d ? CMOS_FLOPPY.none : d.geometry.sectorsPerTrack === 15 ? CMOS_FLOPPY['1.2M'] : d.geometry.sectorsPerTrack === 36 ? CMOS_FLOPPY['2.88M'] : d.geometry.sectorsPerTrack === 9 ? CMOS_FLOPPY['720K'] : CMOS_FLOPPY['1.44M'];
    this.cmos = new Cmos(this.clock, this.pic, this.io, {
      startTime: o.rtcStart,
      memorySize: size,
      floppyTypes: [floppyType(o.fda), floppyType(o.fdb)],
      hardDisks: [!!o.hda, !!o.hdb],
    });
    this.dma = new DmaController(this.mem, this.io);
    this.fdc = new FloppyController(this.clock, this.pic, this.dma, this.io, { drives: [o.fda ?? null, o.fdb ?? null] });
    this.ata = new AtaController(this.clock, this.pic, [o.hda ?? null, o.hdb ?? null], this.io);
    this.debugPorts = new DebugPorts(this.io, {
      debugconSink: o.onDebugcon,
      onExit: (status) => {
        this.exitStatus = status;
        this.cpu.stop();
      },
    });
    if (o.firmware) {
      this.bios = null;
      this.loadFirmware(o.firmware);
    } else {
      this.bios = new Bios({
        cpu: this.cpu,
        io: this.io,
        vga: this.vga,
        disks: { fda: o.fda, fdb: o.fdb, hda: o.hda, hdb: o.hdb },
        memorySize: size,
        bootOrder: o.bootOrder ?? ['a', 'c'],
        onBootFailure: (reason) => {
          this.bootFailure = reason;
          this.cpu.stop();
        },
        setA20: (on) => this.a20.setFast(on),
        getA20: () => this.a20.enabled,
      });
      this.bios.install();
    }
    this.cpu.reset();
  }

  /** The VGA window: text memory at B8000h-BFFFFh; A0000h-B7FFFh reads as nothing. */
  private mapVga(): void {
    const vga = this.vga.memory;
    const text: MmioHandler = {
      read8: (a) => vga[a - VGA_TEXT_BASE],
      write8: (a, v) => {
        vga[a - VGA_TEXT_BASE] = v;
      },
    };
    const empty: MmioHandler = { read8: () => 0xff, write8: () => {} };
    this.mem.mapMmio(0xa0000, VGA_TEXT_BASE, empty);
    this.mem.mapMmio(VGA_TEXT_BASE, VGA_TEXT_BASE + VGA_TEXT_SIZE, text);
  }

  /** Loads a 64 or 128 KB firmware image at the top of the first megabyte (E0000h/F0000h),
   *  mirrored at the top of the 4 GB space, where the reset vector finds it. */
  private loadFirmware(rom: Uint8Array): void {
    if (rom.length !== 0x10000 && rom.length !== 0x20000) {
      throw new Error(`firmware must be 64 KB or 128 KB (got ${rom.length} bytes)`);
    }
    const base = 0x100000 - rom.length;
    this.mem.u8.set(rom, base);
    this.mem.mapRom(base, 0x100000);
    this.mem.mapRom(0x100000000 - rom.length, 0x100000000, base);
  }

  /** A CPU reset (the 8042's reset line, port 92h bit 0): the processor restarts at the
   *  reset vector; memory and devices keep their state, as on a PC's warm reset. */
  reset(): void {
    this.cpu.reset();
    this.resetPending = true;
    this.cpu.stop();
  }

  /** Instructions executed since power-on. */
  get instructions(): number {
    return this.cpu.icount;
  }

  /** Stops run() at the next instruction boundary. */
  stop(): void {
    this.cpu.stop();
  }

  /**
   * Runs until the guest exits, halts with interrupts off, triple-faults, the BIOS finds
   * nothing to boot, stop() is called, `maxInstructions` more instructions have run, or the
   * clock has advanced by `maxTime` (in instructions' worth of time; idle time counts).
   * Time advances with executed instructions; while the CPU waits in HLT with interrupts
   * enabled, time jumps to the next device event.
   */
  run(maxInstructions = Infinity, maxTime = maxInstructions): MachineStop {
    const cpu = this.cpu;
    const clock = this.clock;
    const end = cpu.icount + maxInstructions;
    // An idle guest (HLT) runs few instructions while time passes: bound the time too, so a
    // caller that slices the run (the CLI, the GDB stub) gets control back.
    const timeEnd = clock.icount + maxTime;
    for (;;) {
      if (this.exitStatus >= 0) return { kind: 'exit', status: this.exitStatus };
      if (this.bootFailure !== null) return { kind: 'boot-failure', reason: this.bootFailure };
      const left = end - cpu.icount;
      if (left <= 0 || clock.icount >= timeEnd) return { kind: 'limit' };
      const slice = Math.max(1, Math.min(left, clock.instructionsUntilNextEvent(), 1_000_000));
      const before = cpu.icount;
      const r: StopReason = cpu.run(slice);
      const ran = cpu.icount - before;
      if (ran > 0) clock.advance(ran);
      switch (r) {
        case 'budget':
          break;
        case 'waiting': {
          // HLT with IF=1: let time pass until the next device event.
          const idle = clock.instructionsUntilNextEvent();
          if (!Number.isFinite(idle)) return { kind: 'halted' }; // nothing will ever wake it
          clock.advance(Math.max(1, idle));
          break;
        }
        case 'halted':
          return { kind: 'halted' };
        case 'triple-fault':
          return { kind: 'triple-fault', state: cpu.dumpState() };
        case 'stopped':
          if (this.exitStatus >= 0) return { kind: 'exit', status: this.exitStatus };
          if (this.bootFailure !== null) return { kind: 'boot-failure', reason: this.bootFailure };
          if (cpu.shutdown) return { kind: 'triple-fault', state: cpu.dumpState() };
          // a warm reset stops the CPU once so the loop re-reads CS:EIP; carry on
          if (this.resetPending) {
            this.resetPending = false;
            break;
          }
          return { kind: 'stopped' };
      }
    }
  }
  private resetPending = false;

  /** The visible 80x25 text screen, one line per row. */
  screenText(): string {
    return this.vga.screenText();
  }

  /** The last POST code written to port 80h/190h, or -1. */
  get postCode(): number {
    return this.debugPorts.lastPostCode;
  }
}
