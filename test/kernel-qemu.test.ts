// The forklab kernel, built with NASM (kernel/build-nasm.sh) and booted in QEMU with the
// real SeaBIOS: the image must be a real PC floppy, and every user-mode check must print
// PASS, then the kernel powers off through isa-debug-exit with status 0 (QEMU exits 1).
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
function boot(img: string): { out: string; status: number | null } {
  const run = spawnSync(
    'timeout',
    [
      '60',
      'qemu-system-i386',
      '-display', 'none',
      '-serial', 'stdio',
      '-monitor', 'none',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-drive', `file=${img},format=raw,if=floppy`,
      '-boot', 'a',
      '-m', '16',
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
    expect(out).toMatch(/general protection[^\n]*\nEIP: 0000000f:/);
    expect(out).toMatch(/CR2: [0-9a-f]{8} {2}Pid: \d+, process nr: \d+/);
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
    expect(out).toContain('forklab: every check passed, powering off');
  });

  it('powers off through port F4h with status 0 (QEMU exit 1)', () => {
    expect(status).toBe(1);
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
