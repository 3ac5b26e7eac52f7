// The PC: physical memory, the CPU, the I/O bus, the instruction clock, the devices and the
// BIOS, wired the way a Linux-0.11-era kernel expects (spec/pc-hardware.md). Nothing here
// knows about our kernel: it boots any PC image that fits what it emulates.

import { Cpu, type Engine, type StopReason } from './cpu/cpu';
import { PhysicalMemory, type MmioHandler } from './memory';
import { Clock } from './clock';
import { IoBus } from './devices/io-bus';
import { PicPair } from './devices/pic';
import { Pit } from './devices/pit';
import { SystemControlB } from './devices/port61';
import { Uart16550 } from './devices/uart';
import { VgaText, VGA_TEXT_BASE, VGA_TEXT_SIZE } from './devices/vga';
import { A20Gate, Port92 } from './devices/a20';
import { KeyboardController, scancodesFor } from './devices/kbc';
import { Cmos, CMOS_FLOPPY } from './devices/cmos';
import { AtaController } from './devices/ata';
import { DmaController } from './devices/dma';
import { FloppyController } from './devices/floppy';
import { DebugPorts } from './devices/debug-ports';
import type { DiskImage } from './devices/disk';
import { Bios } from './bios/bios';
import { optionRomProblem, systemRomProblem, VIDEO_ROM_BASE } from './bios/firmware';
import type { CpuHooks } from './cpu/bus';
import type { IoObserver } from './devices/io-bus';
import { HookHub, type HookSlot } from './debug/hooks';
import { machineDebugTarget } from './debug/machine-target';
import type { CpuDebugTarget } from './debug/cpu-target';
import { readLinear as readLinearBytes, writeLinear as writeLinearBytes } from './debug/target';
import { restoreSnapshot, takeSnapshot, type MachineState } from './snapshot';
import { History, type HistoryOptions } from './history';

export const DEFAULT_MEMORY = 16 * 1024 * 1024;
export const MAX_MEMORY = 256 * 1024 * 1024;

export interface MachineOptions {
  /** RAM in bytes (default 16 MB, Linux 0.11's limit; at most 256 MB). */
  memorySize?: number;
  fda?: DiskImage | null;
  fdb?: DiskImage | null;
  hda?: DiskImage | null;
  hdb?: DiskImage | null;
  /** Boot order (default: floppy, then hard disk): our BIOS's, and CMOS 3Dh for firmware. */
  bootOrder?: ('a' | 'c')[];
  /** A firmware image (64 or 128 KB) to run instead of our BIOS. */
  firmware?: Uint8Array;
  /** A video BIOS (an option ROM) mapped at C0000h, for `firmware` to find and run. */
  videoBios?: Uint8Array;
  /** Instructions per emulated second (default: the clock's). */
  instructionRate?: number;
  /** RTC start time, Unix seconds (default fixed, for determinism). */
  rtcStart?: number;
  /** Bytes the guest sends out of COM1, and to the debugcon port E9h. */
  onSerial?(byte: number): void;
  onDebugcon?(byte: number): void;
  /** Bytes sent out of COM2. */
  onSerial2?(byte: number): void;
  /** On a triple fault: stop with a report of the CPU state (default), or reset the CPU and
   *  go on, as a PC's shutdown cycle does. */
  onTripleFault?: 'stop' | 'reset';
  /** The CPU's execution engine: 'jit' (hot blocks compiled to JavaScript) or 'interp'
   *  (default: the CPU's DEFAULT_ENGINE). Both give the same results. */
  engine?: Engine;
  /** Runs of a block before the jit compiles it (default: the CPU's; tests lower it). */
  jitThreshold?: number;
}

/** Why `run()` returned. */
export type MachineStop =
  | { kind: 'exit'; status: number } // the guest wrote port F4h
  | { kind: 'halted' } // HLT with interrupts off
  | { kind: 'triple-fault'; state: string }
  | { kind: 'boot-failure'; reason: string }
  | { kind: 'limit' } // the instruction budget ran out
  | { kind: 'stopped' }; // stop() or a hook asked

/** Why `runUntil()` returned: the target was reached (before executing the instruction at
 *  `address`), or one of run()'s reasons. */
export type UntilStop = MachineStop | { kind: 'reached'; address: number };

/** A range for a hook, inclusive at both ends, as Unicorn's uc_hook_add takes it: linear
 *  addresses (instruction, memory), vectors (interrupt) or ports (port). Default: all. */
export interface HookRange {
  begin?: number;
  end?: number;
}

/** Before an instruction at a linear address; return true to stop run() before it. */
export type InstructionHook = (linear: number, machine: Machine) => boolean | void;
/** After a data access (not an instruction fetch). */
export type MemoryHook = (kind: 'r' | 'w', linear: number, size: number, value: number, machine: Machine) => void;
/** An interrupt or exception being delivered. */
export type InterruptHook = (vector: number, software: boolean, errorCode: number, machine: Machine) => void;
/** After a port access; `value` is what was read or written. */
export type PortHook = (kind: 'in' | 'out', port: number, size: 1 | 2 | 4, value: number, machine: Machine) => void;

export interface HookKinds {
  instruction: InstructionHook;
  memory: MemoryHook;
  interrupt: InterruptHook;
  port: PortHook;
}

/** What `hook()` returns: call remove() to detach it. */
export interface HookHandle {
  remove(): void;
}

interface HookEntry<K extends keyof HookKinds> {
  kind: K;
  fn: HookKinds[K];
  begin: number;
  end: number;
}

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
  readonly port61: SystemControlB;
  readonly port92: Port92;
  readonly bios: Bios | null;
  private exitStatus = -1;
  private readonly resetOnTripleFault: boolean;
  /** Triple faults that reset the CPU (with onTripleFault: 'reset'). */
  tripleFaults = 0;
  private bootFailure: string | null = null;

  constructor(o: MachineOptions = {}) {
    const size = o.memorySize ?? DEFAULT_MEMORY;
    if (size < 1024 * 1024 || size > MAX_MEMORY || size % (64 * 1024) !== 0) {
      throw new Error(`memory size must be a multiple of 64 KB from 1 MB to 256 MB (got ${size} bytes)`);
    }
    this.memorySize = size;
    this.resetOnTripleFault = o.onTripleFault === 'reset';
    this.mem = new PhysicalMemory(size);
    this.clock = new Clock(o.instructionRate ? { rate: o.instructionRate } : {});
    // A device that schedules an event inside the running slice (a disk command, a timer
    // reprogrammed) ends the slice there, so the event fires on time even for a guest that
    // polls with interrupts off (rombios's ATA driver polls BSY with a timeout).
    this.clock.onSooner = (when) => {
      if (when < this.sliceEnd) this.cpu.endSlice();
    };
    this.pic = new PicPair(this.io);
    this.cpu = new Cpu(this.mem, this.io, this.pic, { engine: o.engine, jitThreshold: o.jitThreshold });
    this.pit = new Pit(this.clock, this.pic, this.io);
    this.port61 = new SystemControlB(this.clock, this.pit, this.io);
    this.vga = new VgaText(this.clock, this.io);
    this.mapVga();
    const onSerial = o.onSerial;
    this.com1 = new Uart16550(0x3f8, 4, this.pic, this.io, {
      sink: (b) => {
        this.serialLog += String.fromCharCode(b);
        if (this.serialWait !== null && this.serialLog.indexOf(this.serialWait, this.serialFrom) >= 0) this.cpu.stop();
        if (!this.outputMuted) onSerial?.(b);
      },
    });
    const onSerial2 = o.onSerial2, onDebugcon = o.onDebugcon;
    this.com2 = new Uart16550(0x2f8, 3, this.pic, this.io, { sink: onSerial2 && ((b) => this.outputMuted || onSerial2(b)) });
    this.a20.onA20Change = (on) => this.mem.setA20(on);
    this.a20.onReset = () => this.reset();
    this.port92 = new Port92(this.a20, this.io);
    this.kbc = new KeyboardController(this.pic, this.a20, this.io);
    const floppyType = (d: DiskImage | null | undefined) =>
      !d ? CMOS_FLOPPY.none : d.geometry.sectorsPerTrack === 15 ? CMOS_FLOPPY['1.2M'] : d.geometry.sectorsPerTrack === 36 ? CMOS_FLOPPY['2.88M'] : d.geometry.sectorsPerTrack === 9 ? CMOS_FLOPPY['720K'] : CMOS_FLOPPY['1.44M'];
    this.cmos = new Cmos(this.clock, this.pic, this.io, {
      startTime: o.rtcStart,
      memorySize: size,
      floppyTypes: [floppyType(o.fda), floppyType(o.fdb)],
      hardDisks: [!!o.hda, !!o.hdb],
      bootOrder: o.bootOrder,
    });
    this.dma = new DmaController(this.mem, this.io);
    this.fdc = new FloppyController(this.clock, this.pic, this.dma, this.io, { drives: [o.fda ?? null, o.fdb ?? null] });
    this.ata = new AtaController(this.clock, this.pic, [o.hda ?? null, o.hdb ?? null], this.io);
    this.debugPorts = new DebugPorts(this.io, {
      debugconSink: onDebugcon && ((b) => this.outputMuted || onDebugcon(b)),
      onExit: (status) => {
        this.exitStatus = status;
        this.cpu.stop();
      },
    });
    if (o.videoBios && !o.firmware) throw new Error('a video BIOS needs a system firmware to run it (our BIOS does its own INT 10h)');
    if (o.firmware) {
      this.bios = null;
      this.loadFirmware(o.firmware);
      if (o.videoBios) this.loadVideoBios(o.videoBios);
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
    const problem = systemRomProblem(rom);
    if (problem) throw new Error(`firmware: ${problem}`);
    const base = 0x100000 - rom.length;
    this.mem.u8.set(rom, base);
    this.mem.mapRom(base, 0x100000);
    this.mem.mapRom(0x100000000 - rom.length, 0x100000000, base);
  }

  /** Maps a video option ROM at C0000h (read-only, rounded up to whole pages), where the
   *  system BIOS's ROM scan finds it. */
  private loadVideoBios(rom: Uint8Array): void {
    const problem = optionRomProblem(rom);
    if (problem) throw new Error(`video BIOS: ${problem}`);
    this.mem.u8.set(rom, VIDEO_ROM_BASE);
    this.mem.mapRom(VIDEO_ROM_BASE, VIDEO_ROM_BASE + Math.ceil(rom.length / 4096) * 4096);
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

  /** Raises a non-maskable interrupt (as a parity or I/O channel check would) unless bit 7
   *  of the last write to port 70h masks NMIs; true when it was raised. */
  nmi(): boolean {
    if (this.cmos.nmiDisabled) return false;
    this.cpu.raiseNmi();
    return true;
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
    const history = this.history;
    for (;;) {
      history?.boundary();
      if (this.exitStatus >= 0) return { kind: 'exit', status: this.exitStatus };
      if (this.bootFailure !== null) return { kind: 'boot-failure', reason: this.bootFailure };
      const left = end - cpu.icount;
      if (left <= 0 || clock.icount >= timeEnd) return { kind: 'limit' };
      const toInput = history ? history.timeToInput() : Infinity;
      const slice = Math.max(1, Math.min(left, timeEnd - clock.icount, clock.instructionsUntilNextEvent(), 1_000_000, toInput));
      this.sliceEnd = clock.icount + slice;
      clock.beginSlice(this.retired);
      const r: StopReason = cpu.run(slice);
      const ran = clock.endSlice();
      this.sliceEnd = -1;
      if (ran > 0) clock.advance(ran);
      switch (r) {
        case 'budget':
          break;
        case 'waiting': {
          // HLT with IF=1: let time pass until the next device event.
          const idle = clock.instructionsUntilNextEvent();
          if (!Number.isFinite(idle)) return { kind: 'halted' }; // nothing will ever wake it
          // not past maxTime: a replayed key arrives at its moment inside the idle stretch
          clock.advance(Math.max(1, Math.min(idle, timeEnd - clock.icount, toInput)));
          break;
        }
        case 'halted':
          return { kind: 'halted' };
        case 'triple-fault':
          if (this.resetOnTripleFault) {
            this.tripleFaults++;
            cpu.reset();
            break;
          }
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
  /** The CPU's retired-instruction count, for the clock to read inside a slice. */
  private readonly retired = () => this.cpu.icount;
  /** Clock time at which the running CPU slice is planned to end; -1 outside run(). */
  private sliceEnd = -1;

  /** Everything the guest can observe, as data (emulator/snapshot.ts). Take it between
   *  run() calls. */
  snapshot(): MachineState {
    return takeSnapshot(this);
  }

  /** Continues from `state` exactly as the machine it was taken from would have. Throws a
   *  one-line error, leaving this machine untouched, when the state does not fit it
   *  (another memory size, other disks, another version). */
  restore(state: MachineState): void {
    restoreSnapshot(this, state);
  }

  /** The history reverse execution uses (emulator/history.ts), once recordHistory() started it. */
  get history(): History | null {
    return this.kept;
  }
  private kept: History | null = null;
  /** Set while history re-executes: the guest's output does not reach the host again. */
  private outputMuted = false;

  /** Starts keeping history from here: checkpoints as the machine runs, and the input
   *  type() delivers, so that seek() can go back. */
  recordHistory(options: HistoryOptions = {}): History {
    this.kept = new History(this, options);
    return this.kept;
  }

  /** Goes to the first moment instruction number `icount` was reached (back or forward
   *  within the history recordHistory() keeps). A one-line RangeError outside it. */
  seek(icount: number): void {
    if (!this.kept) throw new RangeError('seek: no history is kept (call recordHistory() first)');
    this.kept.seek(icount);
  }

  /** Runs `fn` (which re-executes history) with the guest's output to the host muted, and
   *  without the observers unless `observe`. */
  replay<T>(fn: () => T, observe: boolean): T {
    const hooks = this.cpu.hooks;
    this.outputMuted = true;
    if (!observe) {
      this.cpu.setHooks(null);
      if (this.ioObserved) this.io.setObserver(null);
    }
    try {
      return fn();
    } finally {
      this.outputMuted = false;
      if (!observe) {
        this.cpu.setHooks(hooks);
        if (this.ioObserved) this.rebuildHooks(); // the port hooks' observer again
      }
    }
  }

  /** The visible 80x25 text screen, one line per row. */
  screenText(): string {
    return this.vga.screenText();
  }

  /**
   * Types `text` on the AT keyboard (US layout; '\n' is Enter): make and break scancodes,
   * shift around capitals and symbols, delivered in order as the guest reads them (none is
   * dropped). A character no key types throws a one-line error.
   */
  type(text: string): void {
    const codes = scancodesFor(text);
    const deliver = () => {
      this.screenAtType = trimScreen(this.screenText());
      this.kbc.typeScancodes(codes);
    };
    if (this.history) this.history.input(deliver);
    else deliver();
  }
  /**
   * `re` against the screen now, by waitForScreen's rule: null while typed keys wait to be
   * read, or while the screen is still the one type() saw.
   */
  screenMatch(re: RegExp): RegExpMatchArray | null {
    if (this.kbc.keysPending !== 0) return null;
    const screen = trimScreen(this.screenText());
    if (screen === this.screenAtType) return null;
    const m = screen.match(re);
    if (m) this.screenAtType = null;
    return m;
  }

  /** The screen when type() last queued keys, until a waitForScreen sees it change. */
  private screenAtType: string | null = null;

  /**
   * Runs until `pattern` matches the screen (lines with trailing blanks removed, and no
   * trailing blank lines), checking every `every` instructions (default 100,000: the same
   * points every run). After type(), only a screen that the guest changed after reading
   * every typed key counts, so the screen from before the typing does not. Returns the match; throws when the guest stops
   * or maxInstructions (default 500 M) pass first, with the screen in the message.
   */
  waitForScreen(pattern: RegExp | string, opts: { maxInstructions?: number; every?: number } = {}): RegExpMatchArray {
    const re = typeof pattern === 'string' ? new RegExp(pattern) : pattern;
    const every = opts.every ?? 100_000;
    const end = this.instructions + (opts.maxInstructions ?? 500_000_000);
    let stop: MachineStop = { kind: 'limit' };
    for (;;) {
      const m = this.screenMatch(re);
      if (m) return m;
      const left = end - this.instructions;
      if (left <= 0) break;
      stop = this.run(Math.min(every, left));
      if (stop.kind !== 'limit' && stop.kind !== 'stopped') break;
    }
    const why = stop.kind === 'limit' ? `within ${opts.maxInstructions ?? 500_000_000} instructions` : `before the guest stopped (${stop.kind})`;
    throw new Error(`waitForScreen: the screen never matched ${re} ${why}; the screen:\n${trimScreen(this.screenText())}`);
  }

  /** The last POST code written to port 80h/190h, or -1. */
  get postCode(): number {
    return this.debugPorts.lastPostCode;
  }

  // ==================================================================================
  // The library API (README "## Library"): stepping, running to a point, memory access
  // that cannot fault, hooks scoped to ranges, serial and screen. Everything here observes
  // through emulator/debug (HookHub, the IoBus observer); with no hook attached the CPU
  // runs its fast loop exactly as before.

  private serialLog = '';
  private serialFrom = 0;
  private serialWait: string | null = null;
  private hub: HookHub | null = null;
  private libSlot: HookSlot | null = null;
  private untilSlot: HookSlot | null = null;
  private target: CpuDebugTarget | null = null;
  private readonly libHooks: HookEntry<keyof HookKinds>[] = [];
  private ioObserved = false;

  /** The CPU's one hook slot, shared: every observer (debugger, trace recorder, a script's
   *  hooks) takes its own slot here instead of calling cpu.setHooks directly. */
  get hookHub(): HookHub {
    if (!this.hub) this.hub = new HookHub(this.cpu);
    return this.hub;
  }

  /** A DebugTarget over this machine (breakpoints, watchpoints, side-effect-free memory). */
  get debugTarget(): CpuDebugTarget {
    if (!this.target) this.target = machineDebugTarget(this, { hooks: this.hookHub.slot() });
    return this.target;
  }

  /** Executes one instruction (time advances; a pending interrupt is taken first). */
  step(): MachineStop {
    return this.run(1);
  }

  /**
   * Runs until `until` holds before an instruction: a predicate (asked before every
   * instruction with its linear address) or `{ address }` (the linear address of CS:EIP).
   * The instruction there has not executed when this returns `{ kind: 'reached' }`.
   * Otherwise it returns why run() stopped (exit, halt, ..., `limit` after maxInstructions).
   */
  runUntil(
    until: ((machine: Machine, linear: number) => boolean) | { address: number; maxInstructions?: number },
    maxInstructions = Infinity,
  ): UntilStop {
    let max = maxInstructions;
    let test: (linear: number) => boolean;
    if (typeof until === 'function') test = (lin) => until(this, lin);
    else {
      const a = until.address >>> 0;
      if (until.maxInstructions !== undefined) max = Math.min(max, until.maxInstructions);
      test = (lin) => lin === a;
    }
    let hit = -1;
    if (!this.untilSlot) this.untilSlot = this.hookHub.slot();
    this.untilSlot.set({
      beforeInstruction: (lin) => {
        if (!test(lin)) return false;
        hit = lin;
        return true;
      },
    });
    try {
      const r = this.run(max);
      if (hit >= 0 && r.kind === 'stopped') return { kind: 'reached', address: hit };
      return r;
    } finally {
      this.untilSlot.set(null);
    }
  }

  /** Physical memory (RAM, ROM, the VGA window) without device side effects. Throws a
   *  one-line error for bytes nothing decodes. */
  readPhysical(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    if (!this.debugTarget.readPhysical(addr >>> 0, out)) throw new RangeError(`physical 0x${(addr >>> 0).toString(16)}+${length}: outside memory`);
    return out;
  }

  /** Stores bytes in physical memory (decoded code of those pages is dropped). */
  writePhysical(addr: number, data: Uint8Array | number[]): void {
    const src = data instanceof Uint8Array ? data : Uint8Array.from(data);
    if (!this.debugTarget.writePhysical(addr >>> 0, src)) throw new RangeError(`physical 0x${(addr >>> 0).toString(16)}+${src.length}: outside memory`);
    this.history?.changed(); // a change from outside: history's future is another one
  }

  /** Linear → physical through the page tables as they are (no fault, no Accessed/Dirty
   *  bit, no TLB fill); -1 when a directory or table entry is not present. */
  translate(linear: number): number {
    return this.debugTarget.translateLinear(linear >>> 0);
  }

  /** Bytes at a linear address through the side-effect-free page walk; null when any page
   *  of the range is not present (the guest never sees a fault). */
  readLinear(linear: number, length: number): Uint8Array | null {
    const b = readLinearBytes(this.debugTarget, linear >>> 0, length);
    return b.length === length ? b : null;
  }

  /** Writes bytes at a linear address; false (nothing written) when a page is absent. */
  writeLinear(linear: number, data: Uint8Array | number[]): boolean {
    const ok = writeLinearBytes(this.debugTarget, linear >>> 0, data instanceof Uint8Array ? data : Uint8Array.from(data));
    if (ok) this.history?.changed();
    return ok;
  }

  /** A little-endian dword at a linear address, or null when unmapped. */
  readLinear32(linear: number): number | null {
    const b = this.readLinear(linear, 4);
    return b === null ? null : (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  /**
   * Attaches a hook, like Unicorn's uc_hook_add: `instruction` and `memory` hooks see linear
   * addresses in [begin, end], `interrupt` hooks vectors in [begin, end], `port` hooks ports
   * in [begin, end] (inclusive; the default is everything). Hooks observe: they cannot
   * change what the guest does, except that an instruction hook may return true (or call
   * stop()) to end run() before that instruction.
   */
  hook<K extends keyof HookKinds>(kind: K, fn: HookKinds[K], range: HookRange = {}): HookHandle {
    const entry: HookEntry<K> = { kind, fn, begin: (range.begin ?? 0) >>> 0, end: (range.end ?? 0xffffffff) >>> 0 };
    if (!['instruction', 'memory', 'interrupt', 'port'].includes(kind)) throw new Error(`unknown hook kind '${kind}'`);
    this.libHooks.push(entry as unknown as HookEntry<keyof HookKinds>);
    this.rebuildHooks();
    let removed = false;
    return {
      remove: () => {
        if (removed) return;
        removed = true;
        const i = this.libHooks.indexOf(entry as unknown as HookEntry<keyof HookKinds>);
        if (i >= 0) this.libHooks.splice(i, 1);
        this.rebuildHooks();
      },
    };
  }

  private rebuildHooks(): void {
    const of = <K extends keyof HookKinds>(k: K) => this.libHooks.filter((h) => h.kind === k) as unknown as HookEntry<K>[];
    const ins = of('instruction'), mem = of('memory'), intr = of('interrupt'), port = of('port');
    const hooks: CpuHooks = {};
    if (ins.length) {
      hooks.beforeInstruction = (lin) => {
        let stop = false;
        for (let i = 0; i < ins.length; i++) {
          const h = ins[i];
          if (lin >= h.begin && lin <= h.end && h.fn(lin, this) === true) stop = true;
        }
        return stop;
      };
    }
    if (mem.length) {
      hooks.memoryAccess = (kind, lin, size, value) => {
        for (let i = 0; i < mem.length; i++) {
          const h = mem[i];
          // the access overlaps [begin, end]
          if (lin <= h.end && ((lin + size - 1) >>> 0) >= h.begin) h.fn(kind, lin, size, value, this);
        }
      };
    }
    if (intr.length) {
      hooks.interrupt = (vector, software, code) => {
        for (let i = 0; i < intr.length; i++) {
          const h = intr[i];
          if (vector >= h.begin && vector <= h.end) h.fn(vector, software, code, this);
        }
      };
    }
    if (!this.libSlot) this.libSlot = this.hookHub.slot();
    this.libSlot.set(ins.length || mem.length || intr.length ? hooks : null);
    if (port.length) {
      const call = (kind: 'in' | 'out', p: number, size: 1 | 2 | 4, v: number) => {
        for (let i = 0; i < port.length; i++) {
          const h = port[i];
          if (p >= h.begin && p <= h.end) h.fn(kind, p, size, v, this);
        }
      };
      const observer: IoObserver = {
        onPortRead: (p, size, v) => call('in', p, size, v),
        onPortWrite: (p, size, v) => call('out', p, size, v),
      };
      this.io.setObserver(observer);
      this.ioObserved = true;
    } else if (this.ioObserved) {
      this.io.setObserver(null);
      this.ioObserved = false;
    }
  }

  /** Everything the guest sent out of COM1 so far (as Latin-1 text). */
  serialOutput(): string {
    return this.serialLog;
  }

  /**
   * Runs until `text` appears in COM1's output after what earlier waitForSerial calls
   * consumed (it stops right after the byte that completes it), or the guest stops, or
   * maxInstructions pass. True when the text was seen.
   */
  waitForSerial(text: string, maxInstructions = 500_000_000): boolean {
    const seen = () => this.serialLog.indexOf(text, this.serialFrom);
    let at = seen();
    if (at < 0) {
      this.serialWait = text;
      try {
        const end = this.instructions + maxInstructions;
        for (;;) {
          const r = this.run(end - this.instructions);
          at = seen();
          if (at >= 0 || r.kind !== 'stopped') break;
        }
      } finally {
        this.serialWait = null;
      }
    }
    if (at < 0) return false;
    this.serialFrom = at + text.length;
    return true;
  }
}

/** Screen text with each line's trailing blanks and the trailing blank lines removed. */
export function trimScreen(text: string): string {
  return text.split('\n').map((l) => l.replace(/\s+$/, '')).join('\n').replace(/\n+$/, '');
}
