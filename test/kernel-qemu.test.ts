// The forklab kernel, built with OUR assembler (tools/build-image.ts) and booted in QEMU
// with the real SeaBIOS: the image must be a real PC image, and it must show there exactly
// what test/kernel-expect.ts demands of it in forklab (test/kernel-forklab.test.ts): every
// user-mode check PASS, the oopses, the statistics, power-off through isa-debug-exit with
// status 0 (QEMU exits 1). Variants: instruction-counted clock, 4 MB, IDE boot, no FPU,
// and the console's scrolling read back through the QEMU monitor.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';
import { SymbolMap } from '../kernel/inspect';
import { CHECKS, expectBoot, expectConsoleScreen, expectFullRun, expectPass, parseRun, POWEROFF_OK } from './kernel-expect';
import { oracle } from './oracle';

const ROOT = resolve(import.meta.dirname, '..');

/** Builds the image with our assembler into dir (forklab.img, kernel.map); returns the image path. */
function build(dir: string, defines: Record<string, string> = {}): string {
  const { image, symbols } = buildImage(ROOT, defines);
  writeFileSync(join(dir, 'forklab.img'), image);
  writeFileSync(join(dir, 'kernel.map'), formatSymbolMap(symbols));
  return join(dir, 'forklab.img');
}

/** Boots the image in QEMU (60 s at most); the serial output without CRs, and the exit status. */
function boot(img: string, extra: string[] = [], opts: { mem?: number; disk?: 'floppy' | 'ide' } = {}): { out: string; status: number | null } {
  const disk = opts.disk ?? 'floppy';
  const run = spawnSync(
    'timeout',
    [
      '60',
      'qemu-system-i386',
      ...extra,
      '-display', 'none',
      '-serial', 'stdio',
      '-monitor', 'none',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-drive', `file=${img},format=raw,if=${disk}`,
      '-boot', disk === 'floppy' ? 'a' : 'c',
      '-m', String(opts.mem ?? 16),
      '-no-reboot',
    ],
    { encoding: 'utf8', timeout: 70_000 },
  );
  return { out: (run.stdout ?? '').replace(/\r/g, ''), status: run.status };
}

const HAVE_QEMU = oracle('qemu-system-i386');

describe.runIf(HAVE_QEMU)('kernel (built with our assembler) in QEMU', () => {
  let dir = '';
  let img = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-kernel-'));
    img = build(dir);
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('16 MB, floppy', () => {
    let out = '';
    let status: number | null = null;
    beforeAll(() => {
      ({ out, status } = boot(img));
    }, 90_000);

    it('boots to protected mode with paging and 16 MB (INT 15h AH=88h, as SeaBIOS reports it)', () => {
      expectBoot(parseRun(out), { min: 15 * 1024, max: 16384 });
      expect(out).toContain('FPU: 387');
    });

    it.each(CHECKS)('prints PASS %s', (name) => {
      expectPass(parseRun(out), name);
    });

    it('passes the whole demo: bad paths, oopses, statistics, power-off status 0 (QEMU exit 1)', () => {
      expectFullRun(parseRun(out), status, 'qemu');
      expect(status).toBe(POWEROFF_OK);
    });

    it('with an FPU, the fpu check ran the FPU in parent and child', () => {
      expect(parseRun(out).pass.get('fpu')).not.toMatch(/no coprocessor/);
    });
  });

  it('with an instruction-counted clock (-icount): the timer interrupts elsewhere, the same results', () => {
    // 1 instruction = 1 ns of guest time, as forklab counts time in instructions
    const { out, status } = boot(img, ['-icount', 'shift=0,sleep=off']);
    const run = parseRun(out);
    expectFullRun(run, status, 'qemu');
    expect(run.stats.get('timer ticks since boot (100 Hz)')).toBeGreaterThan(0);
  }, 90_000);

  it('with 4 MB of RAM: memory bounded by INT 15h AH=88h, fewer pages, the same results', () => {
    const { out, status } = boot(img, [], { mem: 4 });
    const run = parseRun(out);
    const { free } = expectBoot(run, { min: 3 * 1024, max: 4096 });
    expect(free).toBeLessThanOrEqual(768);
    expectFullRun(run, status, 'qemu');
  }, 90_000);

  it('booted as the first hard disk (DL=80h, geometry from INT 13h AH=08h)', () => {
    const { out, status } = boot(img, [], { disk: 'ide' });
    expectFullRun(parseRun(out), status, 'qemu');
  }, 90_000);
});

describe.runIf(HAVE_QEMU)('kernel in QEMU, built as if there were no FPU', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sets CR0.EM, and an FPU instruction ends only that task with SIGFPE', () => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-kernel-nofpu-'));
    const { out, status } = boot(build(dir, { FORCE_NO_FPU: '1' }));
    expect(out).toContain('FPU: none (CR0.EM)');
    expect(out).toContain('PASS fpu: no coprocessor (CR0.EM)');
    expectFullRun(parseRun(out), status, 'qemu');
  }, 90_000);
});

/** Sends one command to a QEMU monitor socket and resolves with its output (up to the next prompt). */
function monitor(sock: string, command: string): Promise<string> {
  return new Promise((resolveOut, reject) => {
    const c = createConnection(sock);
    let data = '';
    let sent = false;
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`monitor: no answer to ${command}`)); }, 10_000);
    c.on('data', (d) => {
      data += d.toString('latin1');
      const prompts = data.split('(qemu)').length - 1;
      if (!sent && prompts >= 1) {
        sent = true;
        data = '';
        c.write(`${command}\n`);
        if (command === 'quit') { clearTimeout(timer); c.end(); resolveOut(''); } // no prompt follows
      } else if (sent && prompts >= 1) {
        clearTimeout(timer);
        c.end();
        resolveOut(data);
      }
    });
    c.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** The 32-bit words (or 16-bit halves) of a monitor "xp" dump, in address order. */
function dumpValues(text: string): number[] {
  const values: number[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = line.match(/^[0-9a-f]{16}: (.*)$/);
    if (m) for (const v of m[1].trim().split(/\s+/)) values.push(parseInt(v, 16));
  }
  return values;
}

describe.runIf(HAVE_QEMU)('kernel console in QEMU', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-console-'));
    build(dir, { CONSOLE_SELFTEST: '1' });
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrolls by moving the display start inside B8000-BC000, wrapping back to the start', async () => {
    const serial = join(dir, 'serial.txt');
    const sock = join(dir, 'mon.sock');
    const qemu = spawn('timeout', ['30', 'qemu-system-i386', '-display', 'none', '-serial', `file:${serial}`,
      '-monitor', `unix:${sock},server,nowait`, '-drive', `file=${join(dir, 'forklab.img')},format=raw,if=floppy`,
      '-boot', 'a', '-m', '16', '-no-reboot'], { stdio: 'ignore' });
    try {
      const start = Date.now();
      while (!(existsSync(serial) && readFileSync(serial, 'utf8').includes('console self-test done'))) {
        if (Date.now() - start > 20_000) throw new Error('console self-test did not finish');
        await new Promise((r) => setTimeout(r, 100));
      }
      const map = SymbolMap.parse(readFileSync(join(dir, 'kernel.map'), 'utf8'));
      const vars = dumpValues(await monitor(sock, `xp /5wx 0x${map.addr('origin').toString(16)}`));
      const cells = dumpValues(await monitor(sock, `xp /${80 * 25}hx 0x${vars[0].toString(16)}`));
      expectConsoleScreen(readFileSync(serial, 'utf8'), vars, cells);
    } finally {
      await monitor(sock, 'quit').catch(() => '');
      qemu.kill('SIGTERM'); // timeout passes it on to QEMU
    }
  }, 40_000);
});
