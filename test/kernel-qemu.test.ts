// The forklab kernel, built with NASM (kernel/build-nasm.sh) and booted in QEMU with the
// real SeaBIOS: the image must be a real PC floppy, and every user-mode check must print
// PASS, then the kernel powers off through isa-debug-exit with status 0 (QEMU exits 1).
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { oracle } from './oracle';

const ROOT = resolve(import.meta.dirname, '..');

// Every test program of kernel/user/init.asm, by the name its line starts with.
const CHECKS = [
  'fork-pids',
  'fork-cow',
  'fork-chain',
  'fork-tree',
  'fork-eagain',
  'fork-1000',
  'cow-last-sharer',
  'verify-area',
  'fault-kill',
  'trap-kill',
  'waitpid-echild',
  'waitpid-wnohang',
  'syscall-unknown',
  'brk',
  'fpu',
  'pages-returned',
];

function build(dir: string, defines = ''): void {
  execFileSync('sh', [join(ROOT, 'kernel/build-nasm.sh'), dir], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, KERNEL_DEFINES: defines },
  });
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

const HAVE_TOOLS = oracle('nasm', 'qemu-system-i386');

describe.runIf(HAVE_TOOLS)('kernel in QEMU', () => {
  let dir = '';
  let out = '';
  let status: number | null = null;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-kernel-'));
    build(dir);
    ({ out, status } = boot(join(dir, 'forklab.img')));
  }, 90_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds a 1.44 MB floppy with a boot signature and a Linux-named symbol map', () => {
    const img = readFileSync(join(dir, 'forklab.img'));
    expect(img.length).toBe(1474560);
    expect(img.readUInt16LE(510)).toBe(0xaa55);
    const setup = readFileSync(join(dir, 'setup.bin'));
    expect(setup.length).toBe(4 * 512);
    const map = readFileSync(join(dir, 'kernel.map'), 'utf8').trim().split('\n');
    const names = new Map(map.map((l) => { const [a, n] = l.split(' '); return [n, parseInt(a, 16)]; }));
    for (const n of ['startup_32', 'pg_dir', 'main', 'system_call', 'sys_fork', 'find_empty_process',
      'copy_process', 'copy_mem', 'copy_page_tables', 'free_page_tables', 'get_free_page', 'free_page',
      'page_fault', 'do_wp_page', 'un_wp_page', 'do_no_page', 'verify_area', 'write_verify', 'do_exit',
      'sys_waitpid', 'release', 'schedule', 'switch_to', 'timer_interrupt', 'mem_map', 'task', 'init']) {
      expect(names.has(n), n).toBe(true);
    }
    expect(names.get('startup_32')).toBe(0);
    const addrs = map.map((l) => parseInt(l.slice(0, 8), 16));
    expect(addrs).toEqual([...addrs].sort((a, b) => a - b));
  });

  it('boots to protected mode with paging and 16 MB', () => {
    expect(out).toContain('forklab: protected mode, paging on');
    expect(out).toMatch(/memory: 16\d\d\d KB, \d+ free pages/);
    expect(out).toMatch(/init: pid 1, free pages \d+/);
  });

  it.each(CHECKS)('prints PASS %s', (name) => {
    const fail = out.split('\n').find((l) => l.startsWith(`FAIL ${name}`));
    expect(fail, fail).toBeUndefined();
    expect(out.split('\n').some((l) => l.startsWith(`PASS ${name}:`)), `no PASS ${name}\n${out}`).toBe(true);
  });

  it('prints no FAIL line at all, and the killed task\'s oops', () => {
    expect(out).not.toMatch(/^FAIL /m);
    expect(out).toMatch(/general protection[^\n]*\nEIP: 000f:/);
    expect(out).toMatch(/CR2: [0-9a-f]{8} {2}Pid: \d+, process nr: \d+/);
    // the trap stubs: without an error code (divide error) and with one (#GP, selector 0x10)
    expect(out).toMatch(/\ndivide error: 0000\nEIP: 000f:[0-9a-f]{8}  EFLAGS: [0-9a-f]{8}  ESP: 0017:/);
    expect(out).toMatch(/\ngeneral protection: 0010\nEIP: 000f:/);
  });

  it('prints copy-on-write statistics with every page given back', () => {
    const num = (label: string): number => {
      const m = out.match(new RegExp(`${label}:\\s+(\\d+)`));
      expect(m, label).not.toBeNull();
      return Number(m![1]);
    };
    expect(num('forks')).toBeGreaterThan(1000);
    expect(num('write-protect faults')).toBeGreaterThan(1000);
    expect(num('pages copied')).toBeGreaterThan(1000);
    expect(num('pages made writable without a copy')).toBeGreaterThan(0);
    expect(num('free pages after')).toBe(num('free pages before'));
    // every un_wp_page call came from a write fault or from verify_area, and either copied or not
    expect(num('of those, un-shared by verify_area')).toBeGreaterThan(1000);
    expect(num('pages copied') + num('pages made writable without a copy'))
      .toBe(num('write-protect faults') + num('of those, un-shared by verify_area'));
    expect(out).toContain('forklab: every check passed, powering off');
  });

  it('powers off through port F4h with status 0 (QEMU exit 1)', () => {
    expect(status).toBe(1);
  });
});

describe.runIf(HAVE_TOOLS)('kernel in QEMU with an instruction-counted clock (-icount)', () => {
  let dir = '';
  let out = '';
  let status: number | null = null;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-kernel-icount-'));
    build(dir);
    // 1 instruction = 1 ns of guest time, as forklab counts time in instructions: the
    // timer then interrupts at other points, and the results must not change
    ({ out, status } = boot(join(dir, 'forklab.img'), ['-icount', 'shift=0,sleep=off']));
  }, 90_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check there too', () => {
    for (const name of CHECKS) expect(out, name).toMatch(new RegExp(`^PASS ${name}:`, 'm'));
    expect(out).not.toMatch(/^FAIL /m);
    expect(out).toMatch(/timer ticks since boot \(100 Hz\):\s+[1-9]/);
    expect(status).toBe(1);
  });
});

describe.runIf(HAVE_TOOLS)('kernel in QEMU on other machines', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-kernel-other-'));
    build(dir);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const allPass = (out: string, status: number | null): void => {
    for (const name of CHECKS) expect(out, name).toMatch(new RegExp(`^PASS ${name}:`, 'm'));
    expect(out).not.toMatch(/^FAIL /m);
    expect(status).toBe(1);
  };

  it('with 4 MB of RAM: memory bounded by INT 15h AH=88h, fewer pages, the same results', () => {
    const { out, status } = boot(join(dir, 'forklab.img'), [], { mem: 4 });
    const m = out.match(/memory: (\d+) KB, (\d+) free pages/);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(4096);
    expect(Number(m![2])).toBeLessThan(768);
    allPass(out, status);
  });

  it('booted as the first hard disk (DL=80h, geometry from INT 13h AH=08h)', () => {
    const { out, status } = boot(join(dir, 'forklab.img'), [], { disk: 'ide' });
    allPass(out, status);
  });
});

describe.runIf(HAVE_TOOLS)('kernel in QEMU, built as if there were no FPU', () => {
  let dir = '';
  let out = '';
  let status: number | null = null;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-kernel-nofpu-'));
    build(dir, '-DFORCE_NO_FPU');
    ({ out, status } = boot(join(dir, 'forklab.img')));
  }, 90_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sets CR0.EM, and an FPU instruction ends only that task with SIGFPE', () => {
    expect(out).toContain('FPU: none (CR0.EM)');
    expect(out).toContain('PASS fpu: no coprocessor (CR0.EM)');
    expect(out).not.toMatch(/^FAIL /m);
    expect(status).toBe(1);
  });
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

describe.runIf(HAVE_TOOLS)('kernel console in QEMU', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forklab-console-'));
    build(dir, '-DCONSOLE_SELFTEST');
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
      // every line reached COM1
      const lines = readFileSync(serial, 'utf8').replace(/\r/g, '').split('\n');
      for (let i = 0; i < 150; i++) expect(lines).toContain(`console line ${i}`);
      const map = new Map(readFileSync(join(dir, 'kernel.map'), 'utf8').trim().split('\n')
        .map((l) => [l.slice(9), parseInt(l.slice(0, 8), 16)] as [string, number]));
      const [origin, scrEnd, pos, x, y] = dumpValues(await monitor(sock, `xp /5wx 0x${map.get('origin')!.toString(16)}`));
      // 150 lines + 2 banner lines are more than the 102 rows of B8000-BC000: it wrapped once
      expect(origin).toBeGreaterThanOrEqual(0xb8000);
      expect(scrEnd).toBe(origin + 25 * 160);
      expect(scrEnd).toBeLessThanOrEqual(0xbc000);
      expect((origin - 0xb8000) % 160).toBe(0);
      expect([x, y]).toEqual([0, 24]);
      expect(pos).toBe(origin + 24 * 160);
      const cells = dumpValues(await monitor(sock, `xp /${80 * 25}hx 0x${origin.toString(16)}`));
      expect(cells.length).toBe(80 * 25);
      const rows = Array.from({ length: 25 }, (_, r) =>
        String.fromCharCode(...cells.slice(r * 80, r * 80 + 80).map((w) => w & 0xff)).trimEnd());
      expect(rows[23]).toBe('console self-test done');
      expect(rows[22]).toBe('console line 149');
      expect(rows[0]).toBe('console line 127');
      expect(rows[24]).toBe('');
      expect(cells[0] >> 8).toBe(0x07);
    } finally {
      await monitor(sock, 'quit').catch(() => '');
      qemu.kill('SIGTERM'); // timeout passes it on to QEMU
    }
  }, 40_000);
});
