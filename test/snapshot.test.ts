// Machine.snapshot() / restore(): a restored machine continues exactly as the original. The
// fork demo restored at points through the whole run gives the same trace over a stretch
// after each point and the same end (serial output, instruction count, whole state); a
// guest moving data by ATA PIO, floppy DMA and COM1 restored at a point every few dozen
// instructions of its run ends the same, byte for byte and at the same instruction counts;
// two machines never share state; a state that does not fit is refused untouched.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine, type MachineStop } from '../emulator/machine';
import { DiskImage, floppyGeometry, hardDiskGeometry } from '../emulator/devices/disk';
import type { MachineState } from '../emulator/snapshot';
import { saveFields } from '../emulator/state-data';
import { CPU_NOT_SAVED } from '../emulator/cpu/cpu-state';
import { assemble } from '../tools/asm';
import { buildImage } from '../tools/build-image';
import { forklabMachine } from './kernel-expect';
import { stateDiff, traceStretch } from './snapshot-helpers';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures');

describe('snapshots of the fork demo', () => {
  let image: Uint8Array;
  let end: { stop: MachineStop; serial: string; icount: number; state: MachineState };
  const points: { icount: number; state: MachineState; trace: string }[] = [];
  const STRETCH = 3000;

  beforeAll(() => {
    image = buildImage(ROOT).image;
    const { machine } = forklabMachine(image);
    // the demo runs about 22 M instructions: points during the boot, paging, fork and exit
    for (const at of [150_000, 2_000_000, 7_000_000, 12_000_000, 17_000_000, 21_000_000]) {
      machine.run(at - machine.instructions);
      const state = machine.snapshot();
      points.push({ icount: machine.instructions, state, trace: traceStretch(machine, STRETCH) });
    }
    const stop = machine.run(100_000_000);
    end = { stop, serial: machine.serialOutput(), icount: machine.instructions, state: machine.snapshot() };
  }, 120_000);

  it('the uninterrupted run ends as the demo does', () => {
    expect(end.stop).toEqual({ kind: 'exit', status: 1 }); // the demo powers off with 0: (0 << 1) | 1
    expect(points.map((p) => p.icount)).toEqual([150_000, 2_000_000, 7_000_000, 12_000_000, 17_000_000, 21_000_000]);
  });

  it('a restored machine takes the same snapshot it was restored from', () => {
    for (const p of points) {
      const { machine } = forklabMachine(image);
      machine.restore(p.state);
      expect(stateDiff(machine.snapshot(), p.state)).toBeNull();
    }
  });

  it('restored at each point, the next instructions trace byte-identical to the uninterrupted run', () => {
    for (const p of points) {
      const { machine } = forklabMachine(image);
      machine.restore(p.state);
      const trace = traceStretch(machine, STRETCH);
      expect(trace.split('\n').length).toBeGreaterThan(STRETCH);
      expect(trace === p.trace, `trace after restoring at ${p.icount}`).toBe(true);
    }
  });

  it('restored at each point, the run ends with the same output, icount and whole state', () => {
    for (const p of points.slice(1)) {
      const { machine } = forklabMachine(image);
      machine.restore(p.state);
      const stop = machine.run(100_000_000);
      expect(stop).toEqual(end.stop);
      expect(machine.instructions).toBe(end.icount);
      expect(machine.serialOutput()).toBe(end.serial);
      expect(stateDiff(machine.snapshot(), end.state), `restored at ${p.icount}`).toBeNull();
    }
  }, 60_000);

  it('the comparison can fail: a state changed by one register bit does not trace the same', () => {
    const p = points[3];
    const { machine } = forklabMachine(image);
    machine.restore(p.state);
    machine.cpu.regs[0] ^= 1;
    expect(stateDiff(machine.snapshot(), p.state)).toMatch(/^state\.parts\.cpu\.regs byte 0/);
    expect(traceStretch(machine, STRETCH)).not.toBe(p.trace);
  });
});

/** The disk-io guest: ATA PIO read and write, floppy DMA read, COM1 output. */
let diskIoBoot: Uint8Array | null = null;
function diskIoMachine(): { m: Machine; out: { byte: number; icount: number }[] } {
  if (!diskIoBoot) {
    const src = join(FIXTURES, 'snapshot/disk-io.asm');
    const asm = assemble(readFileSync(src, 'utf8'), { fileName: src, includeDirs: [join(FIXTURES, 'machine')] });
    if (asm.errors.length) throw new Error(`disk-io.asm: ${JSON.stringify(asm.errors[0])}`);
    diskIoBoot = asm.bytes;
  }
  const fl = new Uint8Array(1474560);
  fl.set(diskIoBoot);
  for (let i = 512; i < 1024; i++) fl[i] = (i * 7) & 255;
  const hd = new Uint8Array(2 * 16 * 63 * 512);
  for (let i = 0; i < 4096; i++) hd[512 + i] = (i * 13 + 5) & 255;
  const out: { byte: number; icount: number }[] = [];
  const m: Machine = new Machine({
    memorySize: 1024 * 1024,
    fda: new DiskImage(fl, floppyGeometry(fl.length)!),
    hda: new DiskImage(hd, hardDiskGeometry(hd.length)!),
    onSerial: (byte) => out.push({ byte, icount: m.instructions }),
  });
  // The CPU counts instructions per decoded block, so a device callback reads the exact
  // count only in the one-instruction loop an instruction hook selects (observers do not
  // steer: the guest runs the same).
  m.hook('instruction', () => {});
  return { m, out };
}

describe('snapshots in the middle of disk transfers and serial output', () => {
  it('restored every 61 instructions of the run, the guest ends the same, byte for byte', () => {
    const ref = diskIoMachine();
    const stop = ref.m.run(5_000_000);
    expect(stop).toEqual({ kind: 'exit', status: 1 });
    expect(ref.m.serialOutput()).toBe('ata read fd00\nata wrote\nfdc read ff00\n');
    const endState = ref.m.snapshot();
    const total = ref.m.instructions;

    const a = diskIoMachine();
    const b = diskIoMachine();
    const seen = { ataPio: 0, fdcBusy: 0, dmaArmed: 0, midLine: 0 };
    for (let at = 61; at < total; at += 61) {
      a.m.run(at - a.m.instructions);
      const s = a.m.snapshot();
      const ata = s.parts.ata as { xfer: number };
      if (ata.xfer !== 0) seen.ataPio++;
      if (s.clock.timers.some((t) => t.name === 'fdc' && t.when >= 0)) seen.fdcBusy++;
      const dma1 = (s.parts.dma as { dma1: { mask: number } }).dma1;
      if ((dma1.mask & 4) === 0) seen.dmaArmed++;
      const log = a.m.serialOutput();
      if (log.length > 0 && !log.endsWith('\n')) seen.midLine++;

      b.out.length = 0;
      b.m.restore(s); // over whatever the last point left in it
      const r = b.m.run(5_000_000);
      expect(stateDiff(b.m.snapshot(), endState), `restored at ${at}`).toBeNull();
      expect(r, `restored at ${at}`).toEqual(stop);
      expect(b.m.serialOutput()).toBe(ref.m.serialOutput());
      // the bytes still to come, at the same instruction counts as in the uninterrupted run
      expect(log.length + b.out.length).toBe(ref.out.length);
      expect(b.out, `restored at ${at}`).toEqual(ref.out.slice(log.length));
      expect(stateDiff(b.m.snapshot(), endState), `restored at ${at}`).toBeNull();
    }
    // the points did fall inside each transfer
    expect(seen.ataPio).toBeGreaterThan(3);
    expect(seen.fdcBusy).toBeGreaterThan(0);
    expect(seen.dmaArmed).toBeGreaterThan(0);
    expect(seen.midLine).toBeGreaterThan(3);
  }, 120_000);

  it('the written disk sector travels with the state', () => {
    const a = diskIoMachine();
    a.m.run(5_000_000);
    const s = a.m.snapshot();
    expect(s.disks.hda!.lbas).toEqual([4]); // CHS 0/0/5
    expect(s.disks.fda!.lbas).toEqual([]); // never written: the config's hash stands for it
    const b = diskIoMachine();
    b.m.restore(s);
    const hda = b.m.ata.drives[0]!.disk;
    expect(hda.dirty).toBe(true);
    expect(hda.data[4 * 512]).toBe(~a.m.readPhysical(0x8000, 1)[0] & 255);
    // and an earlier state puts the sector back as the image had it
    const early = diskIoMachine();
    early.m.run(100);
    b.m.restore(early.m.snapshot());
    expect(hda.data[4 * 512]).toBe((1536 * 13 + 5) & 255); // the image's pattern at LBA 4
    expect(stateDiff(b.m.snapshot(), early.m.snapshot())).toBeNull();
  });
});

describe('snapshots: isolation and refusal', () => {
  it('two machines in one process share nothing: running one does not move the other', () => {
    const a = diskIoMachine();
    a.m.run(3000);
    const s = a.m.snapshot();
    const b = diskIoMachine();
    b.m.restore(s);
    const before = b.m.snapshot();
    a.m.run(5_000_000);
    expect(stateDiff(b.m.snapshot(), before)).toBeNull();
    // and the state object is a copy: changing the machine does not change it
    b.m.run(5_000_000);
    expect(stateDiff(b.m.snapshot(), before)).not.toBeNull();
    const c = diskIoMachine();
    c.m.restore(s);
    expect(stateDiff(c.m.snapshot(), before)).toBeNull();
  });

  it('a state for another configuration is refused with one line and the machine untouched', () => {
    const a = diskIoMachine();
    a.m.run(2000);
    const s = a.m.snapshot();
    const other = new Machine({ memorySize: 2 * 1024 * 1024 });
    const untouched = other.snapshot();
    expect(() => other.restore(s)).toThrow(/^state: the state is for 1 MB of memory, this machine has 2 MB/);
    expect(stateDiff(other.snapshot(), untouched)).toBeNull();

    const b = diskIoMachine();
    b.m.ata.drives[0]!.disk.data[100] ^= 1; // another disk image
    const bBefore = b.m.snapshot();
    expect(() => b.m.restore(s)).toThrow(/^state: hda: not the disk image the state was taken with/);
    expect(stateDiff(b.m.snapshot(), bBefore)).toBeNull();

    const bad: MachineState[] = [
      { ...s, version: 99 },
      { ...s, parts: { ...s.parts, pit: { ...s.parts.pit, channels: [] } } },
      { ...s, parts: { ...s.parts, cpu: { ...s.parts.cpu, regs: new Int32Array(3) } } },
      { ...s, parts: { ...s.parts, cpu: { ...s.parts.cpu, warp: 1 } } },
      { ...s, clock: { ...s.clock, timers: s.clock.timers.slice(1) } },
      { ...s, ram: s.ram.subarray(1) },
    ];
    for (const state of bad) {
      const c = diskIoMachine();
      const cBefore = c.m.snapshot();
      expect(() => c.m.restore(state)).toThrow(/^state[^\n]*$/);
      expect(stateDiff(c.m.snapshot(), cBefore)).toBeNull();
    }
  });

  it('every CPU field is saved or named as not guest state', () => {
    const m = new Machine({ memorySize: 1024 * 1024 });
    const saved = new Set(Object.keys(saveFields(m.cpu, CPU_NOT_SAVED)));
    for (const k of Object.keys(m.cpu)) {
      const v = (m.cpu as unknown as Record<string, unknown>)[k];
      if (typeof v === 'function') continue;
      expect(saved.has(k) || (CPU_NOT_SAVED as readonly string[]).includes(k), k).toBe(true);
    }
    for (const k of ['regs', 'eip', 'flagsVal', 'lazy', 'lzA', 'segBase', 'segLimit', 'segAR', 'cr0', 'cr3', 'dr', 'gdtBase', 'idtLimit', 'ldtSel', 'trBase', 'halted', 'inhibit', 'icount']) {
      expect(saved.has(k), k).toBe(true);
    }
  });
});
