// The PC as a whole: a boot image of our own exercises the BIOS services a Linux-0.11-era
// boot sector uses (drive parameters, track reads across heads, extended memory, the EGA
// query, A20, a protected-mode round trip with paging) and prints name=value lines on COM1.
// forklab must print exactly the expected lines; QEMU (with SeaBIOS) must print the same.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, formatError } from '../tools/asm';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { oracle } from './oracle';

const SOURCE = join(import.meta.dirname, 'fixtures/bios/biostest.asm');

/** The test floppy: the program in track 0, and LBA n (n >= 18) filled with n & 0xff. */
function buildImage(): Uint8Array {
  const out = assemble(readFileSync(SOURCE, 'utf8'), { fileName: SOURCE });
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  const img = new Uint8Array(1474560);
  img.set(out.bytes);
  for (let lba = 18; lba < 2880; lba++) img.fill(lba & 0xff, lba * 512, lba * 512 + 512);
  return img;
}

const EXPECTED = [
  'boot-drive=00',
  'fd-params=00 04 4f12 01', // CF clear, 1.44 MB type 4, 79 cylinders / 18 sectors, head 1
  'disk81=n',
  // cylinder 1 (LBA 36-71): sum of (lba & 0xff) * 512 bytes, mod 65536
  `track-sum=${(Array.from({ length: 36 }, (_, k) => ((36 + k) & 0xff) * 512).reduce((a, b) => a + b, 0) & 0xffff).toString(16).padStart(4, '0')}`,
  'ext-mem-ok=y',
  'e801-ok=y',
  'e820=0000 01',
  'conv-mem-ok=y',
  'equip=0021',
  'video-mode=5003',
  'ega=0003',
  'cursor=0c22',
  'key-waiting=n',
  'a20=11',
  'pm-paging=cafef00d 20 60',
  'done=y',
];

describe('BIOS services and boot (forklab)', () => {
  it('boots the test floppy and prints the expected values, exiting through port F4h', () => {
    const img = buildImage();
    let out = '';
    const m = new Machine({ fda: new DiskImage(img, floppyGeometry(img.length)!), onSerial: (b) => (out += String.fromCharCode(b)) });
    const stop = m.run(20_000_000);
    expect(stop).toEqual({ kind: 'exit', status: (0x21 << 1) | 1 });
    expect(out.trim().split('\n')).toEqual(EXPECTED);
  });

  it('is deterministic: two runs stop at the same instruction count with the same output', () => {
    const img = buildImage();
    const runOnce = () => {
      let out = '';
      const m = new Machine({ fda: new DiskImage(img.slice(), floppyGeometry(img.length)!), onSerial: (b) => (out += String.fromCharCode(b)) });
      m.run(20_000_000);
      return [out, m.instructions];
    };
    expect(runOnce()).toEqual(runOnce());
  });
});

describe('BIOS keyboard', () => {
  it('a key typed before POST reaches INT 16h (IRQ1 was not left high across the PIC programming)', () => {
    // Waits with interrupts on for a key, then exits through port F4h with its ASCII code.
    const src = 'bits 16\norg 0x7c00\nsti\nwait: mov ah, 1\nint 0x16\njz wait\nmov ah, 0\nint 0x16\nout 0xf4, al\nhlt\n';
    const out = assemble(src, { fileName: 'keywait.asm' });
    expect(out.errors.map(formatError)).toEqual([]);
    const img = new Uint8Array(1474560);
    img.set(out.bytes);
    img[510] = 0x55;
    img[511] = 0xaa;
    const m = new Machine({ fda: new DiskImage(img, floppyGeometry(img.length)!) });
    m.type('ab'); // before the first instruction: the 8042 holds the 'a' make code at POST
    expect(m.run(1_000_000)).toEqual({ kind: 'exit', status: (0x61 << 1) | 1 });
  });
});

describe.runIf(oracle('qemu-system-i386'))('BIOS services and boot (QEMU agrees)', () => {
  it('QEMU with SeaBIOS prints the same lines and exit status', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-bios-'));
    const path = join(dir, 'biostest.img');
    writeFileSync(path, buildImage());
    const r = spawnSync('timeout', ['30', 'qemu-system-i386', '-display', 'none', '-serial', 'stdio', '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${path},format=raw,if=floppy`, '-boot', 'a', '-m', '16', '-no-reboot'],
    { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim().split('\n')).toEqual(EXPECTED);
    expect(r.status).toBe((0x21 << 1) | 1);
  });
});

describe('forklab run (command line)', () => {
  it('prints the console, maps the exit status, and reports bad input in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-run-'));
    const path = join(dir, 'biostest.img');
    writeFileSync(path, buildImage());
    const ok = spawnSync('node', ['bin/forklab.js', 'run', path, '--screen'], { encoding: 'utf8', timeout: 60_000 });
    expect(ok.status).toBe(67);
    expect(ok.stdout).toContain('done=y\n');
    expect(ok.stdout).toContain('--- screen ---');
    const limited = spawnSync('node', ['bin/forklab.js', 'run', path, '--max-instructions', '1000'], { encoding: 'utf8', timeout: 60_000 });
    expect(limited.status).toBe(124);
    expect(limited.stderr).toMatch(/instruction limit reached \(1000 instructions\)/);
    const cases: [string[], RegExp][] = [
      [['run', join(dir, 'missing.img')], /image '.*missing.img': no such file/],
      [['run', '--bogus'], /Unknown option '--bogus'/],
      [['run', path, '--mem', '3X'], /--mem: '3X' is not a size/],
      [['run', path, '--boot', 'c'], /--boot c: no hard-disk image/],
      [['run'], /nothing to boot/],
    ];
    writeFileSync(join(dir, 'odd.img'), new Uint8Array(1000));
    cases.push([['run', '--hda', join(dir, 'odd.img')], /1000 bytes is not a whole number of 512-byte sectors/]);
    writeFileSync(join(dir, 'rom.bin'), new Uint8Array(1000));
    cases.push([['run', '--bios', join(dir, 'rom.bin')], /a ROM must be 64 KB or 128 KB/]);
    for (const [args, msg] of cases) {
      const r = spawnSync('node', ['bin/forklab.js', ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
