// serveGdb: what `forklab run IMAGE --gdb PORT [--wait]` needs, on the whole PC running
// test/fixtures/trace/qemu-bios.asm (which enters protected mode and exits via port F4h).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serveGdb } from '../emulator/debug/gdb-serve';
import { Machine } from '../emulator/machine';
import { oracle } from './oracle';

const dir = mkdtempSync(join(tmpdir(), 'forklab-gdbserve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function machine(): Machine {
  const bin = join(dir, 'bios.bin');
  execFileSync('nasm', ['-f', 'bin', join(import.meta.dirname, 'fixtures', 'trace', 'qemu-bios.asm'), '-o', bin]);
  const m = new Machine({ memorySize: 1 << 20, firmware: new Uint8Array(readFileSync(bin)) });
  m.cpu.setRealMode(0xf000, 0);
  return m;
}

function gdb(lines: string[]): Promise<{ out: string; code: number }> {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.gdb`);
  writeFileSync(file, ['set pagination off', 'set confirm off', 'set osabi none', ...lines, ''].join('\n'));
  return new Promise((resolve) => {
    execFile('timeout', ['60', 'gdb', '-nx', '-batch', '-x', file], (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ out: stdout + stderr, code });
    });
  });
}

describe.runIf(oracle('nasm'))('serveGdb', () => {
  it('without --wait the guest runs at once, to its exit, with no gdb attached', async () => {
    const m = machine();
    const s = await serveGdb(m, { port: 0, wait: false });
    expect(s.port).toBeGreaterThan(0);
    expect(await s.finished).toEqual({ kind: 'exit', status: 1 });
    expect(m.instructions).toBe(31);
    await s.close();
  });

  it('with --wait the guest waits for gdb', async () => {
    const m = machine();
    const s = await serveGdb(m, { port: 0, wait: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(m.instructions).toBe(0);
    await s.close();
  });

  it.runIf(oracle('gdb'))('a gdb session: watch, then continue to the exit, which ends the run', async () => {
    const m = machine();
    const s = await serveGdb(m, { port: 0, wait: true });
    const { out, code } = await gdb([
      `target remote 127.0.0.1:${s.port}`,
      'watch *(unsigned*)0x800',
      'continue',
      'p/x $eip',
      'continue',
      'delete',
      'continue',
    ]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/Old value = 0\nNew value = 3735928559\n/);
    expect(out).toContain('$1 = 0xf0047');
    expect(out).toContain('[Inferior 1 (Remote target) exited with code 01]');
    expect(await s.finished).toEqual({ kind: 'exit', status: 1 });
  });

  it.runIf(oracle('gdb'))('gdb kill ends the run; detach lets the guest run to its end', async () => {
    const killed = await serveGdb(machine(), { port: 0, wait: true });
    const k = await gdb([`target remote 127.0.0.1:${killed.port}`, 'stepi', 'kill']);
    expect(k.out).toContain('[Inferior 1 (Remote target) killed]');
    expect(await killed.finished).toEqual({ kind: 'killed' });
    const m = machine();
    const detached = await serveGdb(m, { port: 0, wait: true });
    const d = await gdb([`target remote 127.0.0.1:${detached.port}`, 'stepi', 'detach']);
    expect(d.code, d.out).toBe(0);
    expect(await detached.finished).toEqual({ kind: 'exit', status: 1 });
    expect(m.instructions).toBe(31);
  });
});
