// The PC boots more than our floppy: an MBR hard-disk image (INT 13h extensions, CHS reads,
// the timer interrupt through PIT, PIC and CPU) and a Multiboot ELF kernel through --kernel.
// Each guest prints name=y lines on COM1; forklab must print them all as y, and QEMU the same.
// Device time: an event a port write schedules ends the CPU slice, so it fires on time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, formatError } from '../tools/asm';
import { Machine } from '../emulator/machine';
import { DiskImage, hardDiskGeometry } from '../emulator/devices/disk';
import { loadMultiboot } from '../emulator/multiboot';
import { oracle } from './oracle';

const DIR = join(import.meta.dirname, 'fixtures/machine');

function asm(file: string): Uint8Array {
  const path = join(DIR, file);
  const out = assemble(readFileSync(path, 'utf8'), { fileName: path, includeDirs: [DIR] });
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  return out.bytes;
}

function hardDisk(): Uint8Array {
  const img = new Uint8Array(2048 * 512);
  img.set(asm('mbr.asm'));
  img.set(new TextEncoder().encode('SECOND SECTOR'), 512);
  return img;
}

const MBR_LINES = ['boot-from-80=y', 'int13-extensions=y', 'lba-read=y', 'chs-read-same=y', 'timer-ticks=y'];
const ROM_LINES = ['rom-cs=y', 'ram-write=y', 'rom-read-only=y'];
const MULTIBOOT_LINES = ['multiboot-magic=y', 'mem-info=y', 'mmap-has-1M=y', 'a20=y', 'bss-zeroed=y'];

function runForklab(setup: (serial: (b: number) => void) => Machine): { lines: string[]; stop: ReturnType<Machine['run']> } {
  let out = '';
  const m = setup((b) => (out += String.fromCharCode(b)));
  const stop = m.run(50_000_000);
  return { lines: out.trim().split('\n'), stop };
}

function qemu(args: string[]): { lines: string[]; status: number | null } {
  const r = spawnSync('timeout', ['30', 'qemu-system-i386', '-display', 'none', '-serial', 'stdio', '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04', '-m', '16', '-no-reboot', ...args], { encoding: 'utf8', timeout: 40_000 });
  return { lines: r.stdout.trim().split('\n'), status: r.status };
}

describe('booting an MBR hard disk', () => {
  it('loads sector 0 with DL=80h; extended and CHS reads agree; the timer ticks', () => {
    const img = hardDisk();
    const { lines, stop } = runForklab((onSerial) => new Machine({ hda: new DiskImage(img, hardDiskGeometry(img.length)!), bootOrder: ['c'], onSerial }));
    expect(lines).toEqual(MBR_LINES);
    expect(stop).toEqual({ kind: 'exit', status: (0x2a << 1) | 1 });
  });

  it.runIf(oracle('qemu-system-i386'))('QEMU prints the same', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'forklab-mbr-')), 'hd.img');
    writeFileSync(path, hardDisk());
    const r = qemu(['-drive', `file=${path},format=raw,if=ide`, '-boot', 'c']);
    expect(r.lines).toEqual(MBR_LINES);
    expect(r.status).toBe((0x2a << 1) | 1);
  });
});

describe('a Multiboot kernel (--kernel)', () => {
  it('is entered in flat protected mode with the magic, memory information and map', () => {
    const elf = asm('multiboot.asm');
    const { lines, stop } = runForklab((onSerial) => {
      const m = new Machine({ onSerial });
      loadMultiboot(m, elf);
      return m;
    });
    expect(lines).toEqual(MULTIBOOT_LINES);
    expect(stop).toEqual({ kind: 'exit', status: (0x15 << 1) | 1 });
  });

  it('rejects files that are not Multiboot kernels, saying why', () => {
    const m = new Machine();
    expect(() => loadMultiboot(m, new Uint8Array(100))).toThrow(/no Multiboot header/);
    const elf = asm('multiboot.asm').slice();
    elf[18] = 62; // e_machine: x86-64
    expect(() => loadMultiboot(m, elf)).toThrow(/ELF machine 62 is not i386/);
  });

  it.runIf(oracle('qemu-system-i386'))('QEMU -kernel prints the same', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'forklab-mb-')), 'kernel.elf');
    writeFileSync(path, asm('multiboot.asm'));
    const r = qemu(['-kernel', path]);
    expect(r.lines).toEqual(MULTIBOOT_LINES);
    expect(r.status).toBe((0x15 << 1) | 1);
  });
});

describe('firmware from elsewhere (--bios)', () => {
  it('starts a 64 KB ROM at the reset vector, read-only, with RAM below it', () => {
    const rom = asm('rom.asm');
    expect(rom.length).toBe(0x10000);
    const { lines, stop } = runForklab((onSerial) => new Machine({ firmware: rom, onSerial }));
    expect(lines).toEqual(ROM_LINES);
    expect(stop).toEqual({ kind: 'exit', status: (0x33 << 1) | 1 });
  });

  it('rejects a ROM of the wrong size', () => {
    expect(() => new Machine({ firmware: new Uint8Array(1000) })).toThrow(/64 KB or 128 KB/);
  });

  it.runIf(oracle('qemu-system-i386'))('QEMU -bios prints the same', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'forklab-rom-')), 'rom.bin');
    writeFileSync(path, asm('rom.asm'));
    const r = qemu(['-bios', path]);
    expect(r.lines).toEqual(ROM_LINES);
    expect(r.status).toBe((0x33 << 1) | 1);
  });
});

describe('device events inside a CPU slice', () => {
  // A guest that polls with interrupts off never lets the CPU stop on its own: the slice
  // must end when a port write schedules an event sooner than the slice's end, or the disk
  // stays busy until the next timer tick (rombios's ATA driver then times out).
  const POLL = `bits 16
org 0x7c00
  cli
  mov dx, 0x3f6
  mov al, 2          ; nIEN: no interrupt, polling only
  out dx, al
  mov dx, 0x1f2
  mov al, 1
  out dx, al         ; one sector
  inc dx
  out dx, al         ; sector 1
  mov dx, 0x1f6
  mov al, 0xa0
  out dx, al
  mov dx, 0x1f7
  mov al, 0x20
  out dx, al         ; READ SECTORS
  xor cx, cx
poll:
  inc cx             ; four instructions per poll
  in al, dx
  test al, 0x80
  jnz poll
  mov ax, cx
  out 0xf4, ax       ; exit status (polls << 1) | 1
`;

  it('a disk command completes within its delay while the guest polls BSY with interrupts off', () => {
    const out = assemble(POLL, { fileName: 'poll.asm' });
    expect(out.errors).toEqual([]);
    const boot = new Uint8Array(1474560);
    boot.set(out.bytes);
    boot.set([0x55, 0xaa], 510);
    const disk = hardDisk();
    const m = new Machine({ fda: new DiskImage(boot, { cylinders: 80, heads: 2, sectorsPerTrack: 18 }), hda: new DiskImage(disk, hardDiskGeometry(disk.length)!) });
    const stop = m.run(5_000_000);
    expect(stop.kind).toBe('exit');
    const polls = (stop as { status: number }).status >> 1;
    expect(polls).toBeGreaterThan(1);
    expect(polls).toBeLessThanOrEqual(Math.ceil(m.ata.delay / 4) + 1);
  });
});
