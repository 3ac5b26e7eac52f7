// A real gdb on our kernel through `forklab run --gdb` (issue 6): break at copy_process,
// step, then catch the copy-on-write split: stop in do_wp_page when the fork-cow child's
// write to cow_var faults, watch that word, and see the child's write land on its new page
// (Old value = 1000, New value = 1111); detach, and the kernel runs on to pass every check.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oracle } from './oracle';
import { kernelOnDisk, startGdbRun } from './gdb-run';

const ROOT = resolve(import.meta.dirname, '..');
const TASK_SLOT = 0x4000000;

describe.runIf(oracle('gdb'))('gdb on the kernel (forklab run --gdb)', () => {
  it('breaks, steps, and watches a copy-on-write split, then detaches', async () => {
    const { dir, img, addr } = kernelOnDisk(ROOT, 'gdb-kernel');
    const hex = (n: number) => `0x${n.toString(16)}`;
    // init is task 1; its fork-cow child takes the first free slot, task 2
    const cowChild = 2 * TASK_SLOT + addr('cow_var');

    const { port, stdout, exited } = await startGdbRun(ROOT, img);

    const script = join(dir, 'script.gdb');
    writeFileSync(script, [
      'set pagination off', 'set confirm off', 'set osabi none', 'set architecture i386',
      `target remote 127.0.0.1:${port}`,
      `break *${hex(addr('copy_process'))}`,
      'continue',
      'stepi',
      'p/x $eip',
      'delete',
      `break *${hex(addr('do_wp_page'))} if *(unsigned int *)($esp + 8) == ${hex(cowChild)}`,
      'continue',
      `x/wd ${hex(cowChild)}`,
      `watch *(int*)${hex(cowChild)}`,
      'delete 2',
      'continue',
      'delete',
      'detach',
    ].join('\n'));
    const gdb = spawnSync('timeout', ['90', 'gdb', '-nx', '-batch', '-x', script], { encoding: 'utf8', timeout: 100_000 });
    const words = gdb.stdout + gdb.stderr;
    if (process.env.SHOW_GDB) console.log(words);
    expect(gdb.status, words).toBe(0);
    const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
    expect(words).toContain(`Breakpoint 1, ${hex8(addr('copy_process'))}`);
    expect(words).toMatch(/\$1 = 0x[0-9a-f]+/);
    expect(words).toContain(`Breakpoint 2, ${hex8(addr('do_wp_page'))}`);
    expect(words).toMatch(new RegExp(`${hex(cowChild)}:\\s+1000`));
    expect(words).toContain(`Hardware watchpoint 3: *(int*)${hex(cowChild)}`);
    expect(words).toMatch(/Old value = 1000\s+New value = 1111/);
    expect(words).toContain('[Inferior 1 (Remote target) detached]');
    for (const bad of ['too long', 'rejected target-supplied', 'Remote failure reply', 'Unexpected swbreak']) expect(words).not.toContain(bad);
    // after detach the kernel runs to the end and passes every check
    expect(await exited).toBe(1);
    expect(stdout()).toContain('forklab: every check passed, powering off');
  }, 150_000);
});
