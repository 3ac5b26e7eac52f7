// Snapshots (DESIGN decision 12): the whole machine as data, and back. A state holds the
// configuration it was taken on (memory size, clock rate, firmware, each disk's size and the
// hash of the image as loaded), the RAM, the sectors the guest wrote, and each part's fields as the
// state walker (state-data.ts) saves them. restore() checks all of it against the machine
// before it changes anything, so a state that does not fit leaves the machine as it was.
//
// This module knows no files and no compression (it runs in the browser too); tools/
// state-file.ts turns a state into bytes.

import type { Machine } from './machine';
import type { DiskImage } from './devices/disk';
import type { ClockState } from './clock';
import { checkFields, loadFields, saveFields, type FieldState } from './state-data';
import { afterCpuLoad, CPU_NOT_SAVED } from './cpu/cpu-state';

/** Bumped whenever what a state holds changes meaning; older states are refused. */
export const SNAPSHOT_VERSION = 1;

export const DISK_SLOTS = ['fda', 'fdb', 'hda', 'hdb'] as const;
export type DiskSlot = (typeof DISK_SLOTS)[number];

export interface DiskConfig {
  slot: DiskSlot;
  bytes: number;
  /** hash of the image as it was loaded, before the guest wrote to it (baseHash) */
  hash: string;
}

/** The sectors a guest has written, as they were when the state was taken. */
export interface DiskSectors {
  lbas: number[];
  /** 512 bytes per LBA, in order */
  data: Uint8Array;
}

/** What a state needs of the machine it is restored on. */
export interface MachineConfig {
  memorySize: number;
  instructionRate: number;
  /** 'builtin' (our BIOS) or 'rom' (a firmware image in memory, saved with the RAM) */
  firmware: 'builtin' | 'rom';
  disks: DiskConfig[];
}

export interface MachineState {
  version: number;
  config: MachineConfig;
  /** instructions executed when it was taken */
  icount: number;
  clock: ClockState;
  /** each part's fields, by part name */
  parts: Record<string, FieldState>;
  ram: Uint8Array;
  /** memory masks address bit 20. Saved, not derived from the A20 gate: at power-on the gate
   *  is off but memory does not mask yet (the reset vector's fetch at FFFFFFF0h must reach
   *  the ROM). Absent in older states: then the gate's. */
  a20Masked?: boolean;
  /** the sectors the guest had written, per disk (the rest is the image config's hash names) */
  disks: Partial<Record<DiskSlot, DiskSectors>>;
}

/** Machine fields that are configuration, other parts, or host-side observers. */
const MACHINE_NOT_SAVED = [
  'memorySize', 'mem', 'io', 'clock', 'cpu', 'pic', 'pit', 'vga', 'com1', 'com2', 'a20', 'kbc', 'cmos', 'dma', 'fdc', 'ata',
  'debugPorts', 'port61', 'port92', 'bios', 'resetOnTripleFault', 'sliceEnd', 'serialWait',
  'hub', 'libSlot', 'untilSlot', 'target', 'libHooks', 'ioObserved', 'kept', 'outputMuted',
];

/** Each part with the fields that only point elsewhere (names at any depth of the part). */
function parts(m: Machine): [string, object, readonly string[]][] {
  return [
    ['machine', m, MACHINE_NOT_SAVED],
    ['cpu', m.cpu, CPU_NOT_SAVED],
    ['pic', m.pic, ['bus']],
    ['pit', m.pit, ['clock', 'irq', 'pit']],
    ['port61', m.port61, ['clock', 'pit']],
    ['vga', m.vga, ['clock']],
    ['com1', m.com1, ['irq']],
    ['com2', m.com2, ['irq']],
    ['a20', m.a20, []],
    ['port92', m.port92, ['gate']],
    ['kbc', m.kbc, ['irq', 'a20']],
    ['cmos', m.cmos, ['clock', 'irq']],
    ['dma', m.dma, ['memory']],
    ['fdc', m.fdc, ['clock', 'irq', 'dma', 'disk']],
    ['ata', m.ata, ['clock', 'irq', 'disk']],
    ['debugPorts', m.debugPorts, []],
  ];
}

function machineDisks(m: Machine): Record<DiskSlot, DiskImage | null> {
  return { fda: m.fdc.drives[0]?.disk ?? null, fdb: m.fdc.drives[1]?.disk ?? null, hda: m.ata.drives[0]?.disk ?? null, hdb: m.ata.drives[1]?.disk ?? null };
}

/** A 64-bit FNV-1a-style hash (two 32-bit lanes) as hex: identifies a disk's contents. */
export function diskHash(data: Uint8Array): string {
  let a = 0x811c9dc5, b = 0x01000193 ^ data.length;
  for (let i = 0; i < data.length; i++) {
    a = Math.imul(a ^ data[i], 0x01000193);
    b = Math.imul(b ^ data[i], 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

const baseHashes = new WeakMap<DiskImage, string>();

/** The hash of a disk image as it was loaded: its data with the written sectors' original
 *  bytes put back (computed once per image; the originals never change). */
export function baseHash(d: DiskImage): string {
  let h = baseHashes.get(d);
  if (h === undefined) {
    let base = d.data;
    if (d.original.size) {
      base = d.data.slice();
      for (const [lba, bytes] of d.original) base.set(bytes, lba * 512);
    }
    h = diskHash(base);
    baseHashes.set(d, h);
  }
  return h;
}

/** The configuration of `m`, as a state records it. */
export function machineConfig(m: Machine): MachineConfig {
  const disks: DiskConfig[] = [];
  for (const [slot, d] of Object.entries(machineDisks(m)) as [DiskSlot, DiskImage | null][]) {
    if (d) disks.push({ slot, bytes: d.data.length, hash: baseHash(d) });
  }
  return { memorySize: m.memorySize, instructionRate: m.clock.rate, firmware: m.bios ? 'builtin' : 'rom', disks };
}

function writtenSectors(d: DiskImage): DiskSectors {
  const lbas = [...d.original.keys()].sort((a, b) => a - b);
  const data = new Uint8Array(lbas.length * 512);
  lbas.forEach((lba, i) => data.set(d.data.subarray(lba * 512, lba * 512 + 512), i * 512));
  return { lbas, data };
}

/** Puts the disk back to its loaded image, then writes `s`'s sectors over it. */
function loadSectors(d: DiskImage, s: DiskSectors): void {
  for (const [lba, bytes] of d.original) d.data.set(bytes, lba * 512);
  const changed = d.original.size > 0 || s.lbas.length > 0;
  d.original.clear();
  s.lbas.forEach((lba, i) => {
    d.original.set(lba, d.data.slice(lba * 512, lba * 512 + 512));
    d.data.set(s.data.subarray(i * 512, i * 512 + 512), lba * 512);
  });
  if (changed) d.dirty = true;
}

function sectorsProblem(d: DiskImage, s: unknown): string | null {
  const x = s as DiskSectors;
  if (!x || !Array.isArray(x.lbas) || !(x.data instanceof Uint8Array) || x.data.length !== x.lbas.length * 512) return 'the saved sectors are damaged';
  let last = -1;
  for (const lba of x.lbas) {
    if (!Number.isInteger(lba) || lba <= last || lba >= d.sectorCount) return `the saved sector ${lba} is not on the disk`;
    last = lba;
  }
  return null;
}

/** The state of `m`; with `withRam` false its `ram` is empty (the history keeps RAM as shared
 *  pages and passes it back to restoreSnapshot). */
export function takeSnapshot(m: Machine, withRam = true): MachineState {
  const seen = new Set<object>();
  const state: FieldState = {};
  for (const [name, part, refs] of parts(m)) state[name] = saveFields(part, refs, seen);
  const disks: Partial<Record<DiskSlot, DiskSectors>> = {};
  for (const [slot, d] of Object.entries(machineDisks(m)) as [DiskSlot, DiskImage | null][]) {
    if (d) disks[slot] = writtenSectors(d);
  }
  return {
    version: SNAPSHOT_VERSION,
    config: machineConfig(m),
    icount: m.cpu.icount,
    clock: m.clock.saveState(),
    parts: state as Record<string, FieldState>,
    ram: withRam ? m.mem.u8.slice() : new Uint8Array(0),
    a20Masked: m.mem.a20Mask !== -1,
    disks,
  };
}

/** Why `state` cannot be restored on `m` (one line), or null when it can. Checks
 *  everything restore() will use. */
export function snapshotProblem(m: Machine, state: MachineState, ramElsewhere = false): string | null {
  if (state === null || typeof state !== 'object') return 'not a machine state';
  if (state.version !== SNAPSHOT_VERSION) return `state version ${state.version}, this forklab reads version ${SNAPSHOT_VERSION}`;
  const want = state.config, have = machineConfig(m);
  if (!want || typeof want !== 'object' || !Array.isArray(want.disks)) return 'the state has no machine configuration';
  if (want.memorySize !== have.memorySize) return `the state is for ${want.memorySize / 1048576} MB of memory, this machine has ${have.memorySize / 1048576} MB (--mem)`;
  if (want.instructionRate !== have.instructionRate) return `the state is for a clock of ${want.instructionRate} instructions per second, this machine's is ${have.instructionRate}`;
  if (want.firmware !== have.firmware) return `the state is for ${want.firmware === 'builtin' ? 'our BIOS' : 'a firmware ROM (--bios)'}, this machine runs ${have.firmware === 'builtin' ? 'our BIOS' : 'a firmware ROM'}`;
  const slots = (c: MachineConfig) => c.disks.map((d) => d.slot).join(',') || 'none';
  if (slots(want) !== slots(have)) return `the state is for disks ${slots(want)}, this machine has ${slots(have)}`;
  for (let i = 0; i < want.disks.length; i++) {
    const w = want.disks[i], h = have.disks[i];
    if (w.bytes !== h.bytes) return `${w.slot}: the state is for a ${w.bytes}-byte disk, this one has ${h.bytes} bytes`;
    if (w.hash !== h.hash) return `${w.slot}: not the disk image the state was taken with (its contents differ)`;
    const p = sectorsProblem(machineDisks(m)[w.slot]!, state.disks?.[w.slot]);
    if (p) return `${w.slot}: ${p}`;
  }
  if (!ramElsewhere && (!(state.ram instanceof Uint8Array) || state.ram.length !== m.mem.u8.length)) return 'the saved memory is not this machine\'s size';
  if (typeof state.icount !== 'number') return 'the state has no instruction count';
  try {
    m.clock.checkState(state.clock);
    if (!state.parts || typeof state.parts !== 'object') throw new Error('the state has no device state');
    for (const [name, part, refs] of parts(m)) {
      if (!(name in state.parts)) throw new Error(`state: no ${name}`);
      checkFields(part, state.parts[name], refs);
    }
    const known = new Set(parts(m).map((p) => p[0]));
    for (const name of Object.keys(state.parts)) if (!known.has(name)) throw new Error(`state: ${name} is not a part of this machine`);
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** Makes `m` continue exactly as the machine `state` was taken from. Throws a one-line
 *  error, with `m` untouched, when the state does not fit. `loadRam` fills the RAM of a
 *  state taken without it. */
export function restoreSnapshot(m: Machine, state: MachineState, loadRam?: (ram: Uint8Array) => void): void {
  const problem = snapshotProblem(m, state, loadRam !== undefined);
  if (problem) throw new Error(problem.startsWith('state') ? problem : `state: ${problem}`);
  if (loadRam) loadRam(m.mem.u8);
  else m.mem.u8.set(state.ram);
  for (const [slot, d] of Object.entries(machineDisks(m)) as [DiskSlot, DiskImage | null][]) {
    if (d) loadSectors(d, state.disks[slot]!);
  }
  for (const [name, part, refs] of parts(m)) loadFields(part, state.parts[name], refs);
  m.clock.loadState(state.clock);
  m.mem.setA20(typeof state.a20Masked === 'boolean' ? !state.a20Masked : m.a20.enabled);
  afterCpuLoad(m.cpu);
}
