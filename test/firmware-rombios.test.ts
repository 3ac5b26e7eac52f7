// Real firmware: Bochs's legacy rombios with the LGPL VGA BIOS (Debian packages bochsbios and
// vgabios) POSTs on forklab's PC, shows both banners on the VGA text screen, and boots our
// kernel from floppy and from hard disk with every check passing. What they probe on the way
// (ATA echo test and signature, CMOS boot sequence, 8042 self-test, PIT, DMA, VGA registers)
// must behave as on an AT for this to work; a CPU reset through the 8042 with a shutdown code
// in CMOS 0Fh resumes where the program asked. Also: a bad --vgabios is one line, exit 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry, hardDiskGeometry } from '../emulator/devices/disk';
import { buildImage } from '../tools/build-image';
import { assemble, formatError } from '../tools/asm';
import { asHardDisk, expectBoot, expectFullRun, FORKLAB_BUDGET, parseRun } from './kernel-expect';
import { oracleFiles } from './oracle';

const ROOT = resolve(import.meta.dirname, '..');
const ROMBIOS = '/usr/share/bochs/BIOS-bochs-legacy';
const VGABIOS = '/usr/share/vgabios/vgabios.bin';
const BOOT_SECTOR = 0x7c00;

const haveRoms = oracleFiles('bochsbios', ROMBIOS) && oracleFiles('vgabios', VGABIOS);

/** Boots `disk` under rombios + VGA BIOS: the screen when the boot sector is reached, then
 *  the kernel's serial output and exit status at the end of its run. */
function bootWithRombios(disk: 'floppy' | 'hda', image: Uint8Array) {
  const bytes: number[] = [];
  const copy = disk === 'floppy' ? image.slice() : asHardDisk(image);
  const machine = new Machine({
    firmware: new Uint8Array(readFileSync(ROMBIOS)),
    videoBios: new Uint8Array(readFileSync(VGABIOS)),
    ...(disk === 'floppy'
      ? { fda: new DiskImage(copy, floppyGeometry(copy.length)!) }
      : { hda: new DiskImage(copy, hardDiskGeometry(copy.length)!), bootOrder: ['c'] as ('a' | 'c')[] }),
    onSerial: (b) => bytes.push(b),
  });
  // the bound is on time too: rombios waits in HLT for an F12 key press (about 2.5 s)
  const post = machine.runUntil({ address: BOOT_SECTOR }, 500_000_000);
  const screen = machine.screenText();
  const stop = machine.run(FORKLAB_BUDGET);
  const out = Buffer.from(bytes).toString('latin1');
  return { post, screen, stop, out, status: stop.kind === 'exit' ? stop.status : null };
}

describe.runIf(haveRoms)('Bochs rombios + LGPL VGA BIOS boot the kernel', () => {
  let image: Uint8Array;
  beforeAll(() => {
    image = buildImage(ROOT).image;
  }, 30_000);

  it('from floppy: both banners on the screen, then every check of the kernel passes', () => {
    const r = bootWithRombios('floppy', image);
    expect(r.post).toEqual({ kind: 'reached', address: BOOT_SECTOR });
    // the VGA BIOS's banner (it found no Bochs VBE ports: a plain VGA), then rombios's own
    expect(r.screen).toMatch(/^Bochs VGABios .*\nThis VGA\/VBE Bios is released under the GNU LGPL$/m);
    expect(r.screen).toContain('NO Bochs VBE Support available!');
    expect(r.screen).toMatch(/^Bochs [\d.]+ BIOS - build: /m);
    expect(r.screen).toMatch(/^Booting from Floppy\.\.\.$/m);
    // no fatal POST error and no phantom ATA device on the empty channel
    expect(r.screen).not.toMatch(/FATAL|ata0/);
    const run = parseRun(r.out);
    expectBoot(run, { min: 16384, max: 16384 });
    expectFullRun(run, r.status, 'forklab');
  });

  it('from hard disk: rombios identifies the ATA disk and boots its MBR; every check passes', () => {
    const r = bootWithRombios('hda', image);
    expect(r.post).toEqual({ kind: 'reached', address: BOOT_SECTOR });
    expect(r.screen).toMatch(/^Bochs [\d.]+ BIOS - build: /m);
    // IDENTIFY DEVICE answered: model, ATA version and size (3 cylinders of 16 x 63 sectors)
    expect(r.screen).toMatch(/^ata0 master: .* ATA-\d+ Hard-Disk \( *1 MBytes\)$/m);
    expect(r.screen).not.toMatch(/slave/); // the absent slave's signature says "no device"
    expect(r.screen).toMatch(/^Booting from Hard Disk\.\.\.$/m);
    expectFullRun(parseRun(r.out), r.status, 'forklab');
  });
});

describe.runIf(haveRoms)('rombios on our chipset: the shutdown status byte after a CPU reset', () => {
  // An AT program leaves protected mode by resetting the CPU through the 8042 (command FEh)
  // with a shutdown code in CMOS 0Fh; the BIOS's POST reads it and, for 0Ah, jumps through
  // the far pointer at 40:67 instead of booting again (IBM AT Technical Reference, POST).
  const RESUME = `bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
  mov word [0x467], resume
  mov word [0x469], 0
  mov byte [0x500], 0x5a   ; survives the reset: RAM is not cleared
  mov al, 0x0f
  out 0x70, al
  mov al, 0x0a             ; shutdown code 0Ah: jmp dword [40:67]
  out 0x71, al
  mov al, 0xfe             ; pulse the reset line
  out 0x64, al
  hlt
resume:
  xor ax, ax
  mov ds, ax
  mov al, 0x0f
  out 0x70, al
  in al, 0x71              ; the BIOS cleared the shutdown code
  mov ah, [0x500]
  out 0xf4, ax             ; exit status ((ah << 8 | al) << 1) | 1
`;

  it('resumes at 40:67 for shutdown code 0Ah, with RAM kept and the code cleared', () => {
    const out = assemble(RESUME, { fileName: 'resume.asm' });
    expect(out.errors.map(formatError)).toEqual([]);
    const boot = new Uint8Array(1474560);
    boot.set(out.bytes);
    boot.set([0x55, 0xaa], 510);
    const machine = new Machine({
      firmware: new Uint8Array(readFileSync(ROMBIOS)),
      videoBios: new Uint8Array(readFileSync(VGABIOS)),
      fda: new DiskImage(boot, floppyGeometry(boot.length)!),
    });
    const stop = machine.run(500_000_000);
    expect(machine.a20.resets).toBe(1);
    expect(stop).toEqual({ kind: 'exit', status: (0x5a00 << 1) | 1 });
  });
});

describe('forklab run --vgabios: bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-vgabios-'));
  const bios = join(dir, 'bios.bin');
  writeFileSync(bios, new Uint8Array(0x10000));
  const run = (...args: string[]) => spawnSync('node', ['bin/forklab.js', 'run', ...args], { encoding: 'utf8', timeout: 60_000 });
  const rom = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const signed = (size: number) => {
    const b = new Uint8Array(size);
    b.set([0x55, 0xaa, size / 512]);
    return b;
  };

  it.each([
    ['a size that is not whole 512-byte blocks', rom('odd.bin', signed(1024).subarray(0, 1000)), /multiple of 512 bytes up to 128 KB \(this one is 1000 bytes\)/],
    ['more than the 128 KB option-ROM area', rom('big.bin', new Uint8Array(0x20200)), /multiple of 512 bytes up to 128 KB/],
    ['no 55AA signature', rom('nosig.bin', new Uint8Array(0x8000)), /no 55AA signature/],
    ['a header longer than the file', rom('short.bin', Uint8Array.from(signed(1024).fill(0x40, 2, 3))), /header says 32768 bytes, the file holds 1024/],
    ['a missing file', join(dir, 'absent.bin'), /cannot read the file/],
  ])('%s: one line, exit 2', (_what, path, message) => {
    const r = run('--bios', bios, '--vgabios', path);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^forklab: --vgabios '.*': .*\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--vgabios without --bios: one line, exit 2 (our BIOS has its own INT 10h)', () => {
    const r = run('--vgabios', rom('ok.bin', signed(0x8000)), '--fda', rom('fd.img', new Uint8Array(1474560)));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--vgabios needs --bios/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a valid option ROM is mapped read-only at C0000h', () => {
    const vga = signed(0x8000);
    vga[0x7fff] = 0x5a;
    const m = new Machine({ firmware: new Uint8Array(0x10000), videoBios: vga, memorySize: 1 << 20 });
    expect(Array.from(m.readPhysical(0xc0000, 3))).toEqual([0x55, 0xaa, 0x40]);
    expect(m.readPhysical(0xc7fff, 1)[0]).toBe(0x5a);
    m.mem.write8(0xc0000, 0);
    expect(m.mem.read8(0xc0000)).toBe(0x55);
    expect(() => new Machine({ videoBios: vga })).toThrow(/needs a system firmware/);
    expect(() => new Machine({ firmware: new Uint8Array(0x10000), videoBios: new Uint8Array(512) })).toThrow(/no 55AA signature/);
  });
});
