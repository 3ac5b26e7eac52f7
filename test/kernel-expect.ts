// What the forklab kernel must print and do on any PC it boots on: one place for the
// expectations that the QEMU test (test/kernel-qemu.test.ts) and the in-process test
// (test/kernel-forklab.test.ts) both assert, so the two machines are held to the same
// behaviour. The kernel's user programs (kernel/user/init.asm) print one line per check,
// "PASS <name>: ..." or "FAIL <name>: ...", then kernel statistics, then power off
// through isa-debug-exit (port F4h): status s is reported as (s << 1) | 1.
import { expect } from 'vitest';
import { Machine, type MachineStop } from '../emulator/machine';
import { DiskImage, floppyGeometry, hardDiskGeometry } from '../emulator/devices/disk';

/** Every test program of kernel/user/init.asm, by the name its line starts with. */
export const CHECKS = [
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
] as const;

/** The bad paths of issue 5, and what each PASS line must state about them. */
export const BAD_PATHS: Record<string, RegExp> = {
  // 63 tasks alive (task 0, init, 62 children): the next fork fails with -EAGAIN
  'fork-eagain': /62 children filled the 64-slot task table, the next fork got -EAGAIN/,
  // a user write to kernel memory ends only that task (SIGSEGV: status 11)
  'fault-kill': /killed only that task, status 11$/,
  // traps in user mode (divide error, #GP) end only the task that caused them
  'trap-kill': /each killed only their task, status 11$/,
  // waitpid with no children at all
  'waitpid-echild': /with no children returned -ECHILD \(-10\)/,
  // a call number beyond the table: -1 as Linux 0.11; inside the table without a call: -ENOSYS
  'syscall-unknown': /eax beyond the table returned -1 .*a number without a call -ENOSYS/,
};

/** isa-debug-exit reports a write of s to port F4h as exit status (s << 1) | 1. */
export const POWEROFF_OK = (0 << 1) | 1;

export interface KernelRun {
  /** Serial output without CRs. */
  out: string;
  lines: string[];
  /** PASS lines by check name (the text after "PASS name: "). */
  pass: Map<string, string>;
  fail: string[];
  /** The numbers of the copy-on-write statistics block, by label. */
  stats: Map<string, number>;
}

export function parseRun(serial: string): KernelRun {
  const out = serial.replace(/\r/g, '');
  const lines = out.split('\n');
  const pass = new Map<string, string>();
  const fail: string[] = [];
  const stats = new Map<string, number>();
  let inStats = false;
  for (const l of lines) {
    const p = /^PASS ([a-z0-9-]+): (.*)$/.exec(l);
    if (p) pass.set(p[1], p[2]);
    if (l.startsWith('FAIL ')) fail.push(l);
    if (l === 'copy-on-write statistics:') inStats = true;
    else if (inStats) {
      const s = /^ {2}(.+?):\s+(\d+)$/.exec(l);
      if (s) stats.set(s[1], Number(s[2]));
      else inStats = false;
    }
  }
  return { out, lines, pass, fail, stats };
}

/** A statistic by label; missing is a failed expectation. */
export function stat(run: KernelRun, label: string): number {
  const v = run.stats.get(label);
  expect(v, `statistic "${label}" in\n${run.out}`).toBeDefined();
  return v!;
}

/** The boot banner: protected mode, paging, the memory size seen (KB), init's line. */
export function expectBoot(run: KernelRun, memoryKB: { min: number; max: number }): { kb: number; free: number } {
  expect(run.out).toContain('forklab: protected mode, paging on');
  const m = run.out.match(/^memory: (\d+) KB, (\d+) free pages; FPU: (387|none \(CR0\.EM\))$/m);
  expect(m, `no memory line in\n${run.out}`).not.toBeNull();
  const kb = Number(m![1]);
  const free = Number(m![2]);
  expect(kb).toBeGreaterThanOrEqual(memoryKB.min);
  expect(kb).toBeLessThanOrEqual(memoryKB.max);
  // every page from 1 MB to the end of memory is free at boot (no buffer cache, no RAM disk)
  expect(free).toBe((kb - 1024) / 4);
  expect(run.out).toMatch(/^init: pid 1, free pages \d+$/m);
  return { kb, free };
}

/** One check: its PASS line is there and no FAIL line names it. */
export function expectPass(run: KernelRun, name: string): void {
  const fail = run.fail.find((l) => l.startsWith(`FAIL ${name}:`) || l.startsWith(`FAIL ${name} `));
  expect(fail, fail).toBeUndefined();
  expect(run.pass.has(name), `no PASS ${name}\n${run.out}`).toBe(true);
  const bad = BAD_PATHS[name];
  if (bad) expect(run.pass.get(name)).toMatch(bad);
}

/** The PC a run came from: forklab checks data segment limits as the i386 does; QEMU's TCG
 *  skips them, and the kernel's do_no_page reports the stray write itself there. */
export type KernelHost = 'forklab' | 'qemu';

/** The oops lines of the tasks the demo kills on purpose (traps with and without an error
 *  code, the user write into kernel memory). */
export function expectOopses(run: KernelRun, host: KernelHost): void {
  const out = run.out;
  // the write beyond the 640 KB data segment: the CPU's own #GP(0) from its limit check; on
  // QEMU, which skips data limit checks, the kernel's "segment limit" report from do_no_page
  if (host === 'forklab') {
    expect(out).toMatch(/\ngeneral protection: 0000\nEIP: 000f:[0-9a-f]{8}/);
    expect(out).not.toContain('general protection (segment limit)');
  } else {
    expect(out).toMatch(/\ngeneral protection( \(segment limit\): address [0-9a-f]{8}|: 0000)\nEIP: 000f:[0-9a-f]{8}/);
  }
  expect(out).toMatch(/CR2: [0-9a-f]{8} {2}Pid: \d+, process nr: \d+/);
  // the trap stubs: without an error code (divide error) and with one (#GP, selector 0x10)
  expect(out).toMatch(/\ndivide error: 0000\nEIP: 000f:[0-9a-f]{8} {2}EFLAGS: [0-9a-f]{8} {2}ESP: 0017:/);
  expect(out).toMatch(/\ngeneral protection: 0010\nEIP: 000f:/);
  // three tasks killed, three oopses: no more (a kernel fault would print one too)
  expect(out.match(/\nEIP: /g)?.length).toBe(3);
  expect(out).not.toMatch(/kernel panic|Kernel panic|panic:/i);
}

/** The copy-on-write statistics printed before power-off, consistent with each other. */
export function expectStatistics(run: KernelRun): void {
  expect(stat(run, 'forks')).toBeGreaterThan(1000);
  expect(stat(run, 'write-protect faults')).toBeGreaterThan(1000);
  expect(stat(run, 'pages copied')).toBeGreaterThan(1000);
  expect(stat(run, 'pages made writable without a copy')).toBeGreaterThan(0);
  expect(stat(run, 'free pages after')).toBe(stat(run, 'free pages before'));
  expect(stat(run, 'timer ticks since boot (100 Hz)')).toBeGreaterThan(0);
  expect(stat(run, 'page entries shared by fork')).toBeGreaterThan(stat(run, 'forks'));
  // every un_wp_page call came from a write fault or from verify_area, and either copied or not
  expect(stat(run, 'of those, un-shared by verify_area')).toBeGreaterThan(1000);
  expect(stat(run, 'pages copied') + stat(run, 'pages made writable without a copy'))
    .toBe(stat(run, 'write-protect faults') + stat(run, 'of those, un-shared by verify_area'));
  // init's line and the statistics agree on the count before the first fork
  expect(run.out).toContain(`init: pid 1, free pages ${stat(run, 'free pages before')}\n`);
}

/** Everything a complete demo run on `host` must show: every check passes (and says so for
 *  the bad paths), no FAIL, the oopses, the statistics, power-off with status 0. */
export function expectFullRun(run: KernelRun, exitStatus: number | null, host: KernelHost): void {
  for (const name of CHECKS) expectPass(run, name);
  expect(run.fail, run.fail.join('\n')).toEqual([]);
  expect(run.out).toContain(`init: ${CHECKS.length} passed, failed: 0`);
  expectOopses(run, host);
  expectStatistics(run);
  expect(run.out).toContain('forklab: every check passed, powering off');
  expect(exitStatus).toBe(POWEROFF_OK);
}

/** The console self-test build (CONSOLE_SELFTEST): 150 numbered lines, then "done". */
export const CONSOLE_LINES = 150;

/** The console's variables (origin, scr_end, pos, x, y: five dwords at `origin`) and the
 *  visible screen after the self-test: the display start moved inside B8000-BC000 and
 *  wrapped back once; `cells` are the 80x25 character/attribute words from `origin`. */
export function expectConsoleScreen(serial: string, vars: number[], cells: number[]): void {
  const lines = serial.replace(/\r/g, '').split('\n');
  for (let i = 0; i < CONSOLE_LINES; i++) expect(lines).toContain(`console line ${i}`);
  const [origin, scrEnd, pos, x, y] = vars;
  // 150 lines + 2 banner lines are more than the 102 rows of B8000-BC000: it wrapped once
  expect(origin).toBeGreaterThanOrEqual(0xb8000);
  expect(scrEnd).toBe(origin + 25 * 160);
  expect(scrEnd).toBeLessThanOrEqual(0xbc000);
  expect((origin - 0xb8000) % 160).toBe(0);
  expect([x, y]).toEqual([0, 24]);
  expect(pos).toBe(origin + 24 * 160);
  expect(cells.length).toBe(80 * 25);
  const rows = Array.from({ length: 25 }, (_, r) =>
    String.fromCharCode(...cells.slice(r * 80, r * 80 + 80).map((w) => w & 0xff)).trimEnd());
  expect(rows[23]).toBe('console self-test done');
  expect(rows[22]).toBe('console line 149');
  expect(rows[0]).toBe('console line 127');
  expect(rows[24]).toBe('');
  expect(cells[0] >> 8).toBe(0x07);
}

/** Instructions a whole demo run may take in forklab (about 22 M on 16 MB, 75 M on 4 MB where get_free_page scans past 3072 USED entries). */
export const FORKLAB_BUDGET = 150_000_000;

/** A hard-disk image of the floppy image: padded to whole cylinders of 16 heads x 63
 *  sectors, a geometry a BIOS reports for a real disk (the boot sector, like Linux 0.11's,
 *  reads setup from track 0 and needs more than 1 + 4 sectors per track). */
export function asHardDisk(image: Uint8Array): Uint8Array {
  const cyl = 16 * 63 * 512;
  const out = new Uint8Array(Math.ceil(image.length / cyl) * cyl);
  out.set(image);
  return out;
}

export interface ForklabBoot {
  machine: Machine;
  serial: () => string;
}

/** A forklab PC with the image as floppy A: (default) or as the first hard disk. */
export function forklabMachine(image: Uint8Array, opts: { memorySize?: number; disk?: 'floppy' | 'hda' } = {}): ForklabBoot {
  const bytes: number[] = [];
  const disk = opts.disk ?? 'floppy';
  const copy = disk === 'floppy' ? image.slice() : asHardDisk(image);
  const machine = new Machine({
    memorySize: opts.memorySize,
    ...(disk === 'floppy'
      ? { fda: new DiskImage(copy, floppyGeometry(copy.length)!) }
      : { hda: new DiskImage(copy, hardDiskGeometry(copy.length)!), bootOrder: ['c'] as ('a' | 'c')[] }),
    onSerial: (b) => bytes.push(b),
  });
  return { machine, serial: () => Buffer.from(bytes).toString('latin1').replace(/\r/g, '') };
}

/** Boots the image in forklab and runs it to its end (or the budget). */
export function runForklab(image: Uint8Array, opts: { memorySize?: number; disk?: 'floppy' | 'hda' } = {}):
  { out: string; stop: MachineStop; status: number | null; instructions: number } {
  const { machine, serial } = forklabMachine(image, opts);
  const stop = machine.run(FORKLAB_BUDGET);
  return { out: serial(), stop, status: stop.kind === 'exit' ? stop.status : null, instructions: machine.instructions };
}
