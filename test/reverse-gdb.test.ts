// Reverse execution with a real gdb on our kernel (issue 14 part 3), through `forklab run
// --gdb`: stop in do_wp_page at the fork-cow child's first write to cow_var, reverse-stepi
// back out of the page-fault handler to the user instruction that faulted (ring 3, the
// child's slot: the `mov dword [cow_var], 1111` itself), set a breakpoint at copy_process
// after the fact and reverse-continue to the fork that shared the page, watch the parent's
// copy forward and back again, then continue forward: the kernel still passes every check.
// With the ELF symbol file (build/forklab.elf): break copy_process by name, and gdb's own
// reverse-finish (it needs the function's bounds, from the ELF's sized symbols) goes back
// from copy_mem to its call in copy_process, then to the call in sys_fork.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oracle } from './oracle';
import { kernelOnDisk, startGdbRun } from './gdb-run';

const ROOT = resolve(import.meta.dirname, '..');
const TASK_SLOT = 0x4000000;

describe.runIf(oracle('gdb'))('gdb reverse execution on the kernel (forklab run --gdb)', () => {
  it('reverse-stepi to the faulting user write, reverse-continue to copy_process, then on to the end', async () => {
    const { dir, img, addr } = kernelOnDisk(ROOT, 'gdb-reverse');
    const hex = (n: number) => `0x${n.toString(16)}`;
    const cowChild = 2 * TASK_SLOT + addr('cow_var'); // init is task 1, its child task 2

    const { port, stdout, exited } = await startGdbRun(ROOT, img);

    const script = join(dir, 'script.gdb');
    writeFileSync(script, [
      'set pagination off', 'set confirm off', 'set osabi none', 'set architecture i386',
      `target remote 127.0.0.1:${port}`,
      'reverse-stepi', // at the reset vector: the start of history (the stub says replaylog:begin)
      'echo STARTED\\n',
      `break *${hex(addr('do_wp_page'))} if *(unsigned int *)($esp + 8) == ${hex(cowChild)}`,
      'continue',
      'echo AT-WP\\n',
      'p/x $eip',
      'set $n = 0',
      'while (($cs & 3) == 0)',
      '  reverse-stepi',
      '  set $n = $n + 1',
      'end',
      'echo IN-USER\\n',
      'p $n',
      'p/x $cs',
      'p/x $eip',
      `x/10xb ${hex(2 * TASK_SLOT)} + $eip`,
      'monitor state',
      'delete',
      `break *${hex(addr('copy_process'))}`,
      'reverse-continue',
      'echo AT-COPY\\n',
      'p/x $eip',
      'delete',
      // the parent's write to its own copy after the fork, forward, then undone going back
      `watch *(int *)${hex(TASK_SLOT + addr('cow_var'))}`,
      'continue',
      'echo WATCH-BACK\\n',
      'reverse-continue',
      `p *(int *)${hex(TASK_SLOT + addr('cow_var'))}`,
      'delete',
      'continue',
    ].join('\n'));
    const gdb = spawnSync('timeout', ['100', 'gdb', '-nx', '-batch', '-x', script], { encoding: 'utf8', timeout: 110_000 });
    const words = gdb.stdout + gdb.stderr;
    if (process.env.SHOW_GDB) console.log(words);
    expect(gdb.status, words).toBe(0);
    const after = (mark: string) => words.slice(words.indexOf(mark));
    const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
    expect(words).toContain(`Breakpoint 1, ${hex8(addr('do_wp_page'))}`);
    // back out of do_wp_page and page_fault: a handful of kernel instructions, then ring 3
    const user = after('IN-USER');
    const steps = Number(/\$\d+ = (\d+)/.exec(user)![1]);
    expect(steps).toBeGreaterThan(3);
    expect(steps).toBeLessThan(40);
    expect(user).toMatch(/\$\d+ = 0xf\n/); // the user code selector (LDT, RPL 3)
    expect(user).toMatch(/cs=000f\(08000000,/); // the child's slot: task 2
    // the instruction there is the write that faulted: mov dword [cow_var], 1111
    const c = addr('cow_var');
    const bytes = [0xc7, 0x05, c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff, c >>> 24, 0x57, 0x04, 0x00, 0x00];
    const dump = /:\s+((?:0x[0-9a-f]{2}\s*){8})\n[^\n]*:\s+((?:0x[0-9a-f]{2}\s*){2})/.exec(user);
    expect(dump, user).not.toBeNull();
    expect(`${dump![1]} ${dump![2]}`.trim().split(/\s+/).map((h) => parseInt(h, 16))).toEqual(bytes);
    // copy_process, found going backwards with a breakpoint set after the fact
    const copy = after('AT-COPY');
    expect(words).toMatch(new RegExp(`Breakpoint 2, ${hex8(addr('copy_process'))}`));
    expect(copy).toMatch(new RegExp(`\\$\\d+ = ${hex(addr('copy_process'))}\\n`));
    // a watchpoint going backwards: gdb sees the parent's write of 2222 undone, and stops
    // before the instruction that made it
    const back = after('WATCH-BACK');
    expect(copy).toMatch(/Old value = 1000\s+New value = 2222\n0x0000([0-9a-f]{4}) in/);
    expect(back).toMatch(/Hardware watchpoint 3: [^\n]*\s+Old value = 2222\s+New value = 1000\n0x0000[0-9a-f]{4} in/);
    const fwd = parseInt(/New value = 2222\n0x([0-9a-f]{8})/.exec(copy)![1], 16);
    const bwd = parseInt(/New value = 1000\n0x([0-9a-f]{8})/.exec(back)![1], 16);
    expect(bwd).toBeLessThan(fwd); // the write's own address: before it, not after
    expect(back).toMatch(/\$\d+ = 1000\n/);
    // forward again, through the same fork and fault, to the end
    expect(words).toContain('[Inferior 1 (Remote target) exited with code 01]');
    // the start of history, said once: before the first continue, nowhere after
    expect(words.slice(0, words.indexOf('STARTED'))).toContain('No more reverse-execution history.');
    expect(words.split('No more reverse-execution history').length).toBe(2);
    for (const bad of ['Target does not support', 'Remote failure reply', 'Unexpected swbreak']) expect(words).not.toContain(bad);
    expect(await exited).toBe(1);
    expect(stdout()).toContain('forklab: every check passed, powering off');
  }, 150_000);

  it('with build/forklab.elf: break copy_process by name, bt names it, reverse-finish goes back to each call site', async () => {
    const { dir, img, elf, system, addr } = kernelOnDisk(ROOT, 'gdb-reverse-finish');
    const hex = (n: number) => `0x${n.toString(16)}`;
    /** The one `call target` (E8 rel32) between two labels, found in the system's bytes. */
    const callSite = (from: string, to: string, target: string) => {
      const at: number[] = [];
      for (let a = addr(from); a + 5 <= addr(to); a++) {
        const rel = system[a + 1] | (system[a + 2] << 8) | (system[a + 3] << 16) | (system[a + 4] << 24);
        if (system[a] === 0xe8 && a + 5 + rel === addr(target)) at.push(a);
      }
      expect(at, `calls of ${target} in ${from}`).toHaveLength(1);
      return at[0];
    };
    const inSysFork = callSite('sys_fork', 'device_not_available', 'copy_process');
    const inCopyProcess = callSite('copy_process', 'find_empty_process', 'copy_mem');

    const { port, stdout, exited } = await startGdbRun(ROOT, img);
    const script = join(dir, 'script.gdb');
    writeFileSync(script, [
      'set pagination off', 'set confirm off', // the architecture comes from the ELF
      `target remote 127.0.0.1:${port}`,
      'break copy_process',
      'continue',
      'echo AT-COPY\\n',
      'bt',
      'x/4i $pc',
      'info symbol $pc',
      'break copy_mem',
      'continue',
      'delete',
      'stepi 3',
      'echo IN-COPY-MEM\\n',
      'info symbol $pc',
      'reverse-finish',
      'echo BACK-1\\n',
      'p/x $eip',
      'info symbol $pc',
      'reverse-finish',
      'echo BACK-2\\n',
      'p/x $eip',
      'info symbol $pc',
      'continue',
    ].join('\n'));
    // README's "With gdb" shows these commands: each of its `(gdb)` lines is run here, in its order
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### With gdb'), readme.indexOf('## In the browser'));
    expect(section).toContain("gdb build/forklab.elf -ex 'target remote :1234'");
    const shown = [...section.matchAll(/^\(gdb\) (.*)$/gm)].map((m) => m[1].replace(/\s+#.*$/, '').trim());
    expect(shown.length).toBeGreaterThan(8);
    const lines = readFileSync(script, 'utf8').split('\n');
    let at = 0;
    for (const cmd of shown) {
      at = lines.indexOf(cmd, at) + 1;
      expect(at, `README's (gdb) ${cmd} is not run here, in that order`).toBeGreaterThan(0);
    }
    const gdb = spawnSync('timeout', ['100', 'gdb', '-nx', '-batch', '-x', script, elf], { encoding: 'utf8', timeout: 110_000 });
    const words = gdb.stdout + gdb.stderr;
    if (process.env.SHOW_GDB) console.log(words);
    expect(gdb.status, words).toBe(0);
    const between = (a: string, b: string) => words.slice(words.indexOf(a), words.indexOf(b));
    const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
    // by name: the breakpoint is copy_process's first byte, and the backtrace names it and its caller
    expect(words).toContain(`Breakpoint 1 at ${hex(addr('copy_process'))}`);
    expect(words).toContain(`Breakpoint 1, ${hex8(addr('copy_process'))} in copy_process ()`);
    const atCopy = between('AT-COPY', 'IN-COPY-MEM');
    expect(atCopy).toMatch(new RegExp(`#0  ${hex8(addr('copy_process'))} in copy_process \\(\\)\n#1  ${hex8(inSysFork + 5)} in sys_fork \\(\\)`));
    expect(atCopy).toContain('copy_process in section .text');
    expect(atCopy).toMatch(new RegExp(`=> ${hex(addr('copy_process'))} <copy_process>:\\s+push\\s+%ebp`));
    expect(between('IN-COPY-MEM', 'BACK-1')).toMatch(/copy_mem \+ \d+ in section \.text/);
    // reverse-finish: back to the call instruction in the caller, twice up the chain
    const back1 = between('BACK-1', 'BACK-2');
    expect(back1).toMatch(new RegExp(`\\$\\d+ = ${hex(inCopyProcess)}\n`));
    expect(back1).toContain(`copy_process + ${inCopyProcess - addr('copy_process')} in section .text`);
    const back2 = words.slice(words.indexOf('BACK-2'));
    expect(back2).toMatch(new RegExp(`\\$\\d+ = ${hex(inSysFork)}\n`));
    expect(back2).toContain(`sys_fork + ${inSysFork - addr('sys_fork')} in section .text`);
    for (const bad of ['Cannot find bounds', 'warning:', 'Target does not support', 'Remote failure reply']) expect(words).not.toContain(bad);
    // and forward to the end: the kernel still passes every check
    expect(words).toContain('[Inferior 1 (Remote target) exited with code 01]');
    expect(await exited).toBe(1);
    expect(stdout()).toContain('forklab: every check passed, powering off');
  }, 150_000);
});
