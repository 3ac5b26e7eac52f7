// forklab run's limits: --timeout and --max-instructions hold with and without --gdb (a
// timeout of any size, an exact instruction limit), a kill from gdb says so, and slices are
// sized by time so a slow guest (an exception loop at ~1 MIPS) cannot delay --timeout.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, formatError } from '../tools/asm';
import { SlicePacer } from '../tools/run-command';
import { expectOneLine, forklab } from './cli-helpers';

const dir = mkdtempSync(join(tmpdir(), 'forklab-run-limits-'));

/** A floppy whose boot sector is `code` (16-bit, at 0x7c00). */
function bootFloppy(name: string, code: string): string {
  const out = assemble(`bits 16\norg 0x7c00\n${code}\ntimes 510-($-$$) db 0\ndw 0xaa55\n`);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  const img = new Uint8Array(1474560);
  img.set(out.bytes);
  const p = join(dir, name);
  writeFileSync(p, img);
  return p;
}
const spin = bootFloppy('spin.img', 'sti\njmp $');
// 0F 0B is no i386 instruction: #UD, the BIOS's handler IRETs to it again, forever
const udLoop = bootFloppy('ud.img', 'db 0x0f, 0x0b');

describe('run without --gdb', () => {
  it('--timeout ends a guest stuck in an invalid-opcode loop', () => {
    const r = forklab(['run', udLoop, '--timeout', '0.3']);
    expectOneLine(r, /^forklab: timeout after \d+\.\d s \(\d+ instructions\)$/, 124);
  });

  it('--timeout takes any size; a negative one is one line', () => {
    expectOneLine(forklab(['run', spin, '--timeout', '3000000', '--max-instructions', '1000']), /^forklab: instruction limit reached \(1000 instructions\)$/, 124);
    expectOneLine(forklab(['run', spin, '--timeout', '-1']), /^forklab: --timeout must be positive \(got '-1'\)$/);
    expectOneLine(forklab(['run', spin, '--timeout', 'soon']), /^forklab: --timeout: 'soon' is not a number of seconds$/);
    expectOneLine(forklab(['run', spin, '--max-instructions', '-5']), /^forklab: --max-instructions: '-5' is not a number$/);
  });
});

describe('SlicePacer sizes slices by time', () => {
  /** Slices a guest of `mips` would get, and how long each would take (ms). */
  function slices(mips: number, n = 12): number[] {
    const p = new SlicePacer();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = p.size / (mips * 1000);
      ms.push(t);
      p.observe(p.size, t);
    }
    return ms;
  }

  it('keeps a slice near its target for a slow guest and a fast one', () => {
    for (const mips of [0.5, 1, 40, 150]) {
      const ms = slices(mips);
      expect(Math.max(...ms), `${mips} MIPS`).toBeLessThanOrEqual(SlicePacer.TARGET_MS * 1.6 + 0.001);
      expect(ms[ms.length - 1], `${mips} MIPS`).toBeGreaterThan(SlicePacer.TARGET_MS / 2);
    }
  });

  it('grows at most 4x a slice, and shrinks at once when the guest slows down', () => {
    const p = new SlicePacer();
    p.observe(p.size, 0.01);
    expect(p.size).toBe(80_000);
    for (let i = 0; i < 10; i++) p.observe(p.size, 0.01);
    expect(p.size).toBe(SlicePacer.MAX);
    p.observe(p.size, 5000); // 1 MIPS now
    expect(p.size).toBe(25_000);
  });
});

/** Starts `forklab run ... --gdb 0`, resolving the stub's port from its stderr line. */
function runWithGdb(args: string[]) {
  const child = spawn('node', ['bin/forklab.js', 'run', ...args, '--gdb', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000); // a hang detector
  const port = new Promise<number>((resolve) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /gdb stub on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
  });
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(killer);
      resolve({ status, stderr });
    }),
  );
  return { port, done };
}

describe('run --gdb honours the run limits', () => {
  it('--max-instructions ends the run at exactly that many instructions', async () => {
    const r = await runWithGdb([spin, '--max-instructions', '1000', '--timeout', '3000000']).done;
    expect(r.stderr).not.toMatch(/Warning|^\s+at /m);
    expect(r.stderr).toMatch(/\nforklab: instruction limit reached \(1000 instructions\)\n$/);
    expect(r.status).toBe(124);
  });

  it('--timeout ends it, also while gdb holds the guest stopped', async () => {
    const run = runWithGdb([spin, '--timeout', '0.3', '--wait']);
    const sock = connect(await run.port, '127.0.0.1');
    sock.on('error', () => {});
    const r = await run.done;
    sock.destroy();
    expect(r.stderr).toMatch(/\nforklab: timeout after \d+\.\d s \(0 instructions\)\n$/);
    expect(r.status).toBe(124);
  });

  it("gdb's kill ends the run and says so (status 0, as QEMU)", async () => {
    const run = runWithGdb([spin, '--wait']);
    const sock = connect(await run.port, '127.0.0.1');
    sock.on('error', () => {});
    sock.write('+$k#6b');
    const r = await run.done;
    sock.destroy();
    expect(r.stderr).toMatch(/\nforklab: gdb killed the guest after 0 instructions\n$/);
    expect(r.stderr).not.toMatch(/timeout/);
    expect(r.status).toBe(0);
  });
});
