// The forklab kernel (built with our assembler) booted in forklab's own PC, in-process:
// the same expectations as in QEMU (test/kernel-expect.ts), on 16 MB and 4 MB machines,
// from floppy and hard disk, in the no-FPU build, and the console's scrolling checked on
// the emulated VGA. Same image, same machine: the same run, instruction for instruction.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { buildImage } from '../tools/build-image';
import { KernelInspector, SymbolMap } from '../kernel/inspect';
import {
  CHECKS, CONSOLE_LINES, expectBoot, expectConsoleScreen, expectFullRun, forklabMachine, parseRun, runForklab,
  type KernelRun,
} from './kernel-expect';

const ROOT = resolve(import.meta.dirname, '..');

describe('kernel in forklab (16 MB, floppy)', () => {
  let first: ReturnType<typeof runForklab>;
  let second: ReturnType<typeof runForklab>;
  let run: KernelRun;

  beforeAll(() => {
    const { image } = buildImage(ROOT);
    first = runForklab(image);
    second = runForklab(image);
    run = parseRun(first.out);
  }, 60_000);

  it('boots to protected mode with paging and 16 MB', () => {
    expect(first.stop.kind, first.out).toBe('exit');
    expectBoot(run, { min: 16384, max: 16384 });
  });

  it.each(CHECKS)('every check passes: %s', (name) => {
    expect(run.pass.has(name), `no PASS ${name}\n${first.out}`).toBe(true);
  });

  it('passes the whole demo: bad paths, oopses, statistics, power-off status 0', () => {
    expectFullRun(run, first.status, 'forklab');
  });

  it('reports the FPU it found, and the fpu check took the matching path', () => {
    const x87 = /FPU: 387$/m.test(first.out);
    if (x87) expect(run.pass.get('fpu')).not.toMatch(/no coprocessor/);
    else expect(run.pass.get('fpu')).toMatch(/^no coprocessor \(CR0\.EM\)/);
  });

  it('the expectations can fail: a FAIL line, a missing PASS, a bad-path claim, a leak, a status, no CPU #GP', () => {
    const broken = [
      first.out.replace('PASS brk:', 'FAIL brk:'),
      first.out.replace(/^PASS fork-cow:.*\n/m, ''),
      first.out.replace('returned -ECHILD (-10)', 'returned 0'),
      first.out.replace(/(free pages after: +)(\d+)/, (_m, a, n) => `${a}${Number(n) - 1}`),
      first.out.replace(/\ndivide error: 0000\n/, '\n'),
      // the stray write reported by the kernel's do_no_page instead of the CPU's own #GP
      first.out.replace('\ngeneral protection: 0000\n', '\ngeneral protection (segment limit): address 00100000\n'),
    ];
    expect(broken.at(-1)).toContain('(segment limit)');
    for (const out of broken) expect(() => expectFullRun(parseRun(out), first.status, 'forklab')).toThrow();
    expect(() => expectFullRun(run, 3, 'forklab')).toThrow();
  });

  it('is deterministic: two runs print the same bytes and end at the same instruction', () => {
    expect(second.out).toBe(first.out);
    expect(second.instructions).toBe(first.instructions);
    expect(first.instructions).toBeGreaterThan(10_000_000);
  });
});

describe('kernel in forklab on other machines', () => {
  let image: Uint8Array;
  beforeAll(() => {
    image = buildImage(ROOT).image;
  }, 30_000);

  it('with 4 MB of RAM: fewer pages, the same results', () => {
    const r = runForklab(image, { memorySize: 4 * 1024 * 1024 });
    const run = parseRun(r.out);
    const { free } = expectBoot(run, { min: 4096, max: 4096 });
    expect(free).toBe(768);
    expectFullRun(run, r.status, 'forklab');
  }, 30_000);

  it('booted as the first hard disk (boot order C:, DL=80h, geometry 3/16/63 from INT 13h AH=08h)', () => {
    const r = runForklab(image, { disk: 'hda' });
    expectFullRun(parseRun(r.out), r.status, 'forklab');
  }, 30_000);
});

describe('kernel in forklab, built as if there were no FPU', () => {
  it('sets CR0.EM, and an FPU instruction ends only that task with SIGFPE', () => {
    const r = runForklab(buildImage(ROOT, { FORCE_NO_FPU: '1' }).image);
    expect(r.out).toContain('FPU: none (CR0.EM)');
    expect(r.out).toContain('PASS fpu: no coprocessor (CR0.EM)');
    expect(r.out).toContain('math emulation not supported: SIGFPE');
    expectFullRun(parseRun(r.out), r.status, 'forklab');
  }, 30_000);
});

describe('kernel console in forklab', () => {
  it('scrolls by moving the display start inside B8000-BC000, wrapping back to the start', () => {
    const { image, symbols } = buildImage(ROOT, { CONSOLE_SELFTEST: '1' });
    const { machine, serial } = forklabMachine(image);
    const stop = machine.run(50_000_000);
    // the self-test ends with cli; hlt
    expect(stop.kind).toBe('halted');
    const out = serial();
    expect(out).toContain('console self-test done');
    const k = new KernelInspector(machine.mem.u8, new SymbolMap(symbols));
    const at = k.syms.addr('origin');
    const vars = [0, 4, 8, 12, 16].map((o) => k.mem.u32(at + o));
    const origin = vars[0];
    const vga = machine.vga.memory;
    const cells = Array.from({ length: 80 * 25 }, (_, i) => {
      const a = origin - 0xb8000 + i * 2;
      return vga[a] | (vga[a + 1] << 8);
    });
    expectConsoleScreen(out, vars, cells);
    // the CRTC shows that window: start address (in characters) and cursor on row 24
    expect(machine.vga.startAddress).toBe((origin - 0xb8000) / 2);
    expect(machine.vga.cursor()).toEqual({ row: 24, col: 0 });
    const screen = machine.screenText().split('\n');
    expect(screen[0]).toBe(`console line ${CONSOLE_LINES - 23}`);
    expect(screen[23]).toBe('console self-test done');
  }, 30_000);
});
