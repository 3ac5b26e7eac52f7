// forklab run's contract beyond booting: exit statuses for every way a guest ends, the POST
// code line, disk writes that stay in memory unless --persist (and never reach a read-only
// file), COM1 to a file, and keys reaching the guest through the 8042, INT 09h and INT 16h.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, formatError } from '../tools/asm';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { oracle } from './oracle';

const SRC = join(import.meta.dirname, 'fixtures/machine/modes.asm');
const dir = mkdtempSync(join(tmpdir(), 'forklab-run-cli-'));

function floppy(mode: number): Uint8Array {
  const out = assemble(readFileSync(SRC, 'utf8'), { fileName: SRC, defines: { MODE: String(mode) } });
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  const img = new Uint8Array(1474560);
  img.set(out.bytes);
  return img;
}

function imageFile(mode: number, name = `mode${mode}.img`): string {
  const p = join(dir, name);
  writeFileSync(p, floppy(mode));
  return p;
}

const forklab = (...args: string[]) => spawnSync('node', ['bin/forklab.js', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('forklab run: how a guest ends', () => {
  it('a halt with interrupts off exits 0 and reports the last POST code', () => {
    const r = forklab('run', imageFile(1));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('post code: 0x42\n');
  });

  it('a triple fault exits 3 with the CPU state on stderr', () => {
    const r = forklab('run', imageFile(2));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^forklab: triple fault after \d+ instructions; CPU state:\neax=/);
    expect(r.stderr).toMatch(/idt=00000000\/0000/);
  });

  it('--on-triple-fault reset restarts at the reset vector, as a PC does', () => {
    // the BIOS boots the same sector again, which faults again: reset after reset
    const img = floppy(2);
    const m = new Machine({ fda: new DiskImage(img, floppyGeometry(img.length)!), onTripleFault: 'reset' });
    expect(m.run(200_000)).toEqual({ kind: 'limit' });
    expect(m.tripleFaults).toBeGreaterThan(1);
    const r = forklab('run', imageFile(2), '--on-triple-fault', 'reset', '--max-instructions', '100000');
    expect(r.status).toBe(124);
    expect(forklab('run', imageFile(2), '--on-triple-fault', 'maybe').stderr).toMatch(/'maybe' is not stop or reset/);
  });

  it('--timeout ends a guest that waits forever with 124', () => {
    const r = forklab('run', imageFile(4), '--timeout', '0.5');
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/^forklab: timeout after 0\.\d s \(\d+ instructions\)\n$/);
  });
});

describe('forklab run: disk images', () => {
  const sector2 = (p: string) => Buffer.from(readFileSync(p).subarray(512, 520)).toString('latin1');

  it('keeps guest writes in memory by default', () => {
    const p = imageFile(3, 'volatile.img');
    expect(forklab('run', p).status).toBe(3); // (1 << 1) | 1: the write worked
    expect(sector2(p)).toBe('\0'.repeat(8));
  });

  it('writes them back with --persist', () => {
    const p = imageFile(3, 'persist.img');
    expect(forklab('run', p, '--persist').status).toBe(3);
    expect(sector2(p)).toBe('WRITTEN!');
  });

  it('never modifies a read-only file, even with --persist', () => {
    const p = imageFile(3, 'readonly.img');
    chmodSync(p, 0o444);
    const before = readFileSync(p);
    const r = forklab('run', p, '--persist');
    expect(r.status).toBe(3);
    expect(readFileSync(p).equals(before)).toBe(true);
  });
});

describe('forklab run: console and keyboard', () => {
  it('--serial FILE sends COM1 there instead of stdout', () => {
    const p = imageFile(4, 'key.img');
    const out = join(dir, 'com1.txt');
    // no key ever comes: the guest waits in INT 16h until the instruction limit
    const r = forklab('run', p, '--serial', out, '--max-instructions', '200000');
    expect(r.status).toBe(124);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe('');
  });

  it('an idle guest reaches --max-instructions: slices are sized by guest time, so its idle time is not crawled through', () => {
    // the guest idles in HLT between timer ticks, a few instructions a tick: 2,000,000
    // instructions are hours of guest time. Sized by instructions run, the slices stayed at
    // their smallest (1,000 instructions' worth of time) and this took minutes, ended by --timeout.
    const r = forklab('run', imageFile(4, 'idle.img'), '--max-instructions', '2000000', '--timeout', '30');
    expect(r.stderr).toBe('forklab: instruction limit reached (2000000 instructions)\n');
    expect(r.status).toBe(124);
  });

  it('a key typed on the keyboard reaches INT 16h (8042 -> IRQ1 -> INT 09h -> buffer)', () => {
    let out = '';
    const img = floppy(4);
    const m = new Machine({ fda: new DiskImage(img, floppyGeometry(img.length)!), onSerial: (b) => (out += String.fromCharCode(b)) });
    expect(m.run(2_000_000)).toEqual({ kind: 'limit' }); // waiting for a key
    expect(out).toBe('');
    m.kbc.typeText('q');
    expect(m.run(2_000_000)).toEqual({ kind: 'exit', status: 5 });
    expect(out).toBe('qq');
  });
});

describe('forklab run: time', () => {
  it('with --realtime, paces the guest clock to the wall clock', () => {
    const p = imageFile(5, 'wait.img');
    expect(forklab('run', p).status).toBe(7);
    const t = performance.now();
    expect(forklab('run', p, '--realtime').status).toBe(7);
    // 10 ticks of the 18.2 Hz BIOS timer are 0.55 emulated seconds: paced, the run cannot
    // be quicker than that (a default run usually is, but a loaded host may slow it too)
    expect(performance.now() - t).toBeGreaterThan(540);
  });
});

describe.runIf(oracle('script'))('forklab run: a terminal', () => {
  it('takes keys from stdin when it is a terminal (raw mode, scancodes to the 8042)', () => {
    // script(1) gives forklab a pseudo-terminal; the key arrives after the guest waits for it
    const p = imageFile(4, 'tty.img');
    const r = spawnSync('sh', ['-c', `(sleep 1; printf z) | script -qec "node bin/forklab.js run ${p}" /dev/null`],
      { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(5);
    expect(r.stdout).toContain('zz');
  });
});
