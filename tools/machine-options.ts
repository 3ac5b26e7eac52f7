// The machine a command boots, from its command line: the image and disk options, memory,
// firmware and multiboot kernel that `forklab run` and `forklab trace` share. Parsing is
// separate from building, so a command can check all of its options before it opens a
// machine.
import { readFileSync, statSync } from 'node:fs';
import { optionRomProblem, systemRomProblem } from '../emulator/bios/firmware';
import { Machine, DEFAULT_MEMORY, MAX_MEMORY, type MachineOptions } from '../emulator/machine';
import { loadMultiboot } from '../emulator/multiboot';
import { DEFAULT_ENGINE, ENGINES, type Engine } from '../emulator/cpu/cpu';
import { UsageError } from './cli-util';
import { imageIsFloppy, openFloppy, openHardDisk, parseGeometry, type DiskFile } from './disk-files';

/** The parseArgs options of the machine (merge into a command's own). */
export const MACHINE_OPTIONS = {
  fda: { type: 'string' },
  fdb: { type: 'string' },
  hda: { type: 'string' },
  hdb: { type: 'string' },
  geometry: { type: 'string' },
  boot: { type: 'string' },
  mem: { type: 'string' },
  bios: { type: 'string' },
  vgabios: { type: 'string' },
  kernel: { type: 'string' },
  persist: { type: 'boolean' },
  'on-triple-fault': { type: 'string' },
  engine: { type: 'string' },
} as const;

/** The help lines of MACHINE_OPTIONS, for every command that boots a machine. */
export const MACHINE_HELP = `
machine options (as forklab run):
  --fda FILE               floppy image in drive A (IMAGE of a floppy size is taken as this)
  --fdb FILE               floppy image in drive B
  --hda FILE               hard-disk image 0 (IMAGE of any other size is taken as this)
  --hdb FILE               hard-disk image 1
  --geometry C/H/S         the hard-disk image's geometry (default: chosen from its size)
  --boot a|c               boot drive (default: a when a floppy is attached, else c)
  --mem SIZE               RAM, with K, M or G (default 16M, at most 256M, steps of 64K)
  --bios ROM               run a 64 or 128 KB firmware image from the reset vector, not our BIOS
  --vgabios ROM            with --bios: a VGA BIOS option ROM (55AA) mapped at C0000h
  --kernel ELF             load a Multiboot kernel, as QEMU's -kernel does
  --persist                write the guest's disk writes back to the image files
                           (default: they stay in memory; a read-only file is never written)
  --on-triple-fault stop|reset
                           stop (exit 3, CPU state on stderr; the default) or reset the CPU
  --engine jit|interp      jit: compile hot code to JavaScript; interp: interpret only
                           (default ${DEFAULT_ENGINE}; both give the same results)
`;

export interface MachineValues {
  fda?: string;
  fdb?: string;
  hda?: string;
  hdb?: string;
  geometry?: string;
  boot?: string;
  mem?: string;
  bios?: string;
  vgabios?: string;
  kernel?: string;
  persist?: boolean;
  'on-triple-fault'?: string;
  engine?: string;
}

/** What the command line says to boot. */
export interface MachineSetup {
  /** The machine's options, without the output sinks (the command adds those). */
  options: MachineOptions;
  /** The disk files opened (persistDisks writes them back with --persist). */
  disks: DiskFile[];
  /** A multiboot kernel to load (--kernel), and its path. */
  kernel?: Uint8Array;
  kernelPath?: string;
}

/** Parses a memory size: bytes, or with a K/M/G suffix. */
export function parseMemorySize(text: string): number {
  const m = /^(\d+)([KMG]?)B?$/i.exec(text);
  if (!m) throw new UsageError(`--mem: '${text}' is not a size (for example 16M)`);
  const unit = { '': 1, K: 1024, M: 1024 * 1024, G: 1024 * 1024 * 1024 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  const size = Number(m[1]) * unit;
  if (size < 1024 * 1024 || size > MAX_MEMORY || size % (64 * 1024) !== 0) {
    throw new UsageError(`--mem: ${text} is out of range (1M to 256M, in steps of 64K)`);
  }
  return size;
}

/**
 * Reads the machine options of command `cmd` (for its messages): IMAGE (a floppy image or a
 * hard-disk image by its own size: disk-files.ts imageIsFloppy), --fda/--fdb/--hda/--hdb,
 * --geometry, --boot, --mem, --bios, --vgabios, --kernel, --persist, --on-triple-fault.
 * Every mistake is a UsageError.
 */
export function parseMachineSetup(cmd: string, v: MachineValues, image: string | undefined): MachineSetup {
  const persist = !!v.persist;
  const geometry = v.geometry !== undefined ? parseGeometry(v.geometry) : undefined;
  const disks: DiskFile[] = [];
  let fda: DiskFile | null = null, fdb: DiskFile | null = null, hda: DiskFile | null = null, hdb: DiskFile | null = null;
  if (image !== undefined) {
    let size: number;
    try {
      size = statSync(image).size;
    } catch {
      throw new UsageError(`image '${image}': no such file`);
    }
    if (imageIsFloppy(size)) {
      if (v.fda) throw new UsageError(`${cmd}: IMAGE is a floppy image and --fda is given too; use one`);
      fda = openFloppy(image, persist);
    } else {
      if (v.hda) throw new UsageError(`${cmd}: IMAGE is a hard-disk image and --hda is given too; use one`);
      hda = openHardDisk(image, persist, geometry);
    }
  }
  if (v.fda) fda = openFloppy(v.fda, persist);
  if (v.fdb) fdb = openFloppy(v.fdb, persist);
  if (v.hda) hda = openHardDisk(v.hda, persist, geometry);
  if (v.hdb) hdb = openHardDisk(v.hdb, persist);
  for (const d of [fda, fdb, hda, hdb]) if (d) disks.push(d);
  if (geometry && !hda) throw new UsageError(`${cmd}: --geometry applies to a hard-disk image, and none is given`);
  if (v.bios && v.kernel) throw new UsageError(`${cmd}: --bios and --kernel exclude each other (--kernel uses our BIOS-less loader)`);
  if (!v.kernel && !v.bios && disks.length === 0) throw new UsageError(`${cmd}: nothing to boot: give IMAGE, --fda/--hda, or --kernel ELF`);

  let bootOrder: ('a' | 'c')[] = fda ? ['a', 'c'] : ['c', 'a'];
  if (v.boot !== undefined) {
    if (v.boot !== 'a' && v.boot !== 'c') throw new UsageError(`--boot: '${v.boot}' is not a or c`);
    if (v.boot === 'a' && !fda) throw new UsageError('--boot a: no floppy image is attached');
    if (v.boot === 'c' && !hda) throw new UsageError('--boot c: no hard-disk image is attached');
    bootOrder = v.boot === 'a' ? ['a', 'c'] : ['c', 'a'];
  }
  const memorySize = v.mem !== undefined ? parseMemorySize(v.mem) : DEFAULT_MEMORY;
  if (v.vgabios !== undefined && v.bios === undefined) {
    throw new UsageError(`${cmd}: --vgabios needs --bios (our own BIOS does its own INT 10h)`);
  }
  const firmware = v.bios !== undefined ? readRom('--bios', v.bios, systemRomProblem) : undefined;
  const videoBios = v.vgabios !== undefined ? readRom('--vgabios', v.vgabios, optionRomProblem) : undefined;
  let kernel: Uint8Array | undefined;
  if (v.kernel !== undefined) {
    try {
      kernel = new Uint8Array(readFileSync(v.kernel));
    } catch {
      throw new UsageError(`--kernel '${v.kernel}': cannot read the file`);
    }
  }
  const onTripleFault = v['on-triple-fault'] ?? 'stop';
  if (onTripleFault !== 'stop' && onTripleFault !== 'reset') {
    throw new UsageError(`--on-triple-fault: '${onTripleFault}' is not stop or reset`);
  }
  const engine = v.engine ?? DEFAULT_ENGINE;
  if (!(ENGINES as readonly string[]).includes(engine)) throw new UsageError(`--engine: '${engine}' is not ${ENGINES.join(' or ')}`);
  return {
    options: { memorySize, fda: fda?.image, fdb: fdb?.image, hda: hda?.image, hdb: hdb?.image, bootOrder, firmware, videoBios, onTripleFault, engine: engine as Engine },
    disks,
    kernel,
    kernelPath: v.kernel,
  };
}

/** A ROM file, checked by `problem`; every mistake is a one-line UsageError. */
function readRom(option: string, path: string, problem: (rom: Uint8Array) => string | null): Uint8Array {
  let rom: Uint8Array;
  try {
    rom = new Uint8Array(readFileSync(path));
  } catch {
    throw new UsageError(`${option} '${path}': cannot read the file`);
  }
  const why = problem(rom);
  if (why) throw new UsageError(`${option} '${path}': ${why}`);
  return rom;
}

/** The machine of a setup, with the command's sinks (serial, debugcon) added. */
export function createMachine(setup: MachineSetup, sinks: Pick<MachineOptions, 'onSerial' | 'onDebugcon' | 'onSerial2'> = {}): Machine {
  const machine = new Machine({ ...setup.options, ...sinks });
  if (setup.kernel) {
    try {
      loadMultiboot(machine, setup.kernel);
    } catch (e) {
      throw new UsageError(`--kernel '${setup.kernelPath}': ${(e as Error).message}`);
    }
  }
  return machine;
}
