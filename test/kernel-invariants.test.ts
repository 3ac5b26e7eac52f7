// Issue 5's invariant checker over a whole demo run in forklab: checked after every fork
// (copy_process's return), every exit (do_exit telling the father), every release, every
// page fault (before page_fault's iret) and every verify_area page; the free-page rule
// whenever every child has been reaped. It must find nothing, and watching must not
// change what the guest does.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { buildImage } from '../tools/build-image';
import { InvariantWatch, KernelInspector, SymbolMap } from '../kernel/inspect';
import { FORKLAB_BUDGET, expectFullRun, forklabMachine, parseRun, runForklab } from './kernel-expect';

const ROOT = resolve(import.meta.dirname, '..');

describe('kernel invariants over a full demo run', () => {
  let watch: InvariantWatch;
  let watched: { out: string; status: number | null; instructions: number };
  let plain: ReturnType<typeof runForklab>;
  let kernelBefore = 0;
  let ms = 0;

  beforeAll(() => {
    const { image, symbols } = buildImage(ROOT);
    const { machine, serial } = forklabMachine(image);
    const k = new KernelInspector(machine.mem.u8, new SymbolMap(symbols));
    watch = new InvariantWatch(k);
    machine.cpu.setHooks(watch.hooks);
    const t0 = performance.now();
    const stop = machine.run(FORKLAB_BUDGET);
    ms = performance.now() - t0;
    watch.finish();
    kernelBefore = k.mem.u32(k.syms.addr('free_pages_before'));
    watched = { out: serial(), status: stop.kind === 'exit' ? stop.status : null, instructions: machine.instructions };
    plain = runForklab(image);
  }, 120_000);

  it('the run completes with every check passed', () => {
    expectFullRun(parseRun(watched.out), watched.status, 'forklab');
  });

  it('reached every checkpoint more than a thousand times', () => {
    expect(watch.counts.fork).toBeGreaterThan(1000);
    expect(watch.counts.exit).toBeGreaterThan(1000);
    expect(watch.counts.release).toBeGreaterThan(1000);
    expect(watch.counts.fault).toBeGreaterThan(1000);
    expect(watch.counts.verify).toBeGreaterThan(1000);
    // every fork but the failing ones (-EAGAIN) made a task that later exited and was reaped
    expect(watch.counts.exit).toBe(watch.counts.release);
    // eslint-disable-next-line no-console
    console.log(`invariants checked at ${watch.events} checkpoints in ${(ms / 1000).toFixed(1)} s`, watch.counts);
  });

  it('the free-page rule was checked each time every child had been reaped', () => {
    expect(watch.baseline).toBe(kernelBefore);
    // fork-1000 alone empties the table a thousand times
    expect(watch.freePageChecks).toBeGreaterThan(1000);
  });

  it('finds no violation', () => {
    expect(watch.violations.map((v) => `${v.kind} #${v.event}: ${v.text}`)).toEqual([]);
  });

  it('watching does not steer: the same output, ending at the same instruction, as without the hook', () => {
    expect(watched.out).toBe(plain.out);
    expect(watched.instructions).toBe(plain.instructions);
  });
});

describe('the watch can fail', () => {
  it('a page leaked mid-run (a free mem_map entry set to 1) is reported at the next checkpoint, which stops the run', () => {
    const { image, symbols } = buildImage(ROOT);
    const { machine } = forklabMachine(image);
    const k = new KernelInspector(machine.mem.u8, new SymbolMap(symbols));
    const watch = new InvariantWatch(k, { stopOnViolation: true });
    machine.cpu.setHooks(watch.hooks);
    // run to init's first fork, clean so far
    while (watch.counts.fork < 2) expect(machine.run(100_000).kind).not.toBe('exit');
    expect(watch.violations).toEqual([]);
    const mm = k.at.memMap;
    let i = 0;
    while (machine.mem.u8[mm + i] !== 0) i++;
    machine.mem.u8[mm + i] = 1;
    const stop = machine.run(FORKLAB_BUDGET);
    expect(stop.kind).toBe('stopped');
    const frame = (0x100000 + i * 4096).toString(16).padStart(8, '0');
    expect(watch.violations[0].text).toBe(
      `frame 0x${frame}: mem_map count 1, but 0 page-table entries + 0 directory entries + 0 task_struct pointers hold it`);
  }, 30_000);
});

