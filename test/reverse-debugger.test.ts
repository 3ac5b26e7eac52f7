// Reverse execution in the built-in debugger (issue 14 part 3): the gdb story of
// test/reverse-gdb.test.ts through `forklab debug --script` — from do_wp_page at the
// fork-cow child's first write, reverse-finish to the call, reverse-stepi back to the user
// write that faulted (task 2, ring 3), reverse-continue to a breakpoint at copy_process set
// after the fact, then on to the end, every check passing. And the one-line errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { Debugger } from '../emulator/debug/debugger';
import { expectLinesInOrder } from './cli-helpers';

const ROOT = resolve(import.meta.dirname, '..');
const BREAK_WP = 'break do_wp_page if *($esp+8) == 0x8000000 + cow_var';

/** The output of each command of a --script run. */
function sections(stdout: string): { cmd: string; out: string }[] {
  return stdout.split(/^\(forklab\) /m).slice(1).map((p) => {
    const nl = p.indexOf('\n');
    return { cmd: p.slice(0, nl), out: p.slice(nl + 1) };
  });
}

describe('reverse execution in the debugger', () => {
  const { image, symbols } = buildImage(ROOT);
  const debuggerOn = () => {
    const m = new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) });
    return { m, d: new Debugger(m, { symbols }) };
  };
  const run = async (d: Debugger, line: string) => {
    const r = await d.execute(line);
    if (r.error) throw new Error(`${line}: ${r.error}`);
    return r.output;
  };

  it('steps back from do_wp_page to the faulting user write and finds copy_process (script mode)', async () => {
    // how many instructions back from the call of do_wp_page the user write is (the kernel's
    // page-fault entry decides it): found by stepping back one at a time in process
    const { m, d } = debuggerOn();
    await run(d, BREAK_WP);
    await run(d, 'continue');
    await run(d, 'reverse-finish');
    let n = 0;
    while ((m.cpu.sel[1] & 3) === 0 && n < 100) {
      await run(d, 'reverse-stepi');
      n++;
    }
    expect(m.cpu.sel[1] & 3).toBe(3);

    const dir = mkdtempSync(join(tmpdir(), 'forklab-reverse-'));
    writeFileSync(join(dir, 'forklab.img'), image);
    writeFileSync(join(dir, 'kernel.map'), formatSymbolMap(symbols));
    const cmds = [BREAK_WP, 'continue', 'reverse-finish', `reverse-stepi ${n}`, 'info registers cs', 'info history', 'delete', 'break copy_process', 'reverse-continue', 'delete', 'continue'];
    writeFileSync(join(dir, 'rev.gdb'), cmds.join('\n'));
    const r = spawnSync('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img'), '--script', join(dir, 'rev.gdb')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    if (process.env.SHOW_DEBUG) console.log(r.stdout);
    expect(r.stderr).toBe('');
    const s = sections(r.stdout);
    expect(s.map((x) => x.cmd)).toEqual(cmds);
    expect(s[1].out).toMatch(/^Breakpoint 1, 0x[0-9a-f]{8} <do_wp_page>/m);
    expect(s[2].out).toMatch(/^Run back to call of <do_wp_page>\n=> 0x[0-9a-f]{8} <page_fault\.protection>:.*call do_wp_page$/m);
    // the child's write of 1111 (0x457) to cow_var, in its slot (task 2), the instruction that faulted
    expect(s[3].out).toMatch(/^=> 0x080[0-9a-f]{5} <t_fork_cow[^>]*@task2>:\s+c7 05 .*mov dword \[.*\], ?0x457/m);
    expect(s[4].out).toMatch(/^cs +0x000f/m);
    expect(s[5].out).toMatch(/^History: instructions 0\.\.\d+, now at \d+\n\d+ checkpoints? \(one every 5000000 instructions\), [\d.]+ MB of 256\.0 MB\n$/);
    expect(s[8].out).toMatch(/^Breakpoint 2, 0x[0-9a-f]{8} <copy_process>\n=> 0x[0-9a-f]{8} <copy_process>:/);
    // forward again: through the fork and the fault once more, to the end
    expect(r.stdout).toContain('forklab: every check passed, powering off');
    expect(s[10].out).toContain('[Guest exited with status 1 (port F4h value 0)');
    expect(r.status).toBe(1);
  }, 150_000);

  it("the README's going-backwards transcript prints what it shows, in order", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('Going backwards (see [Reverse execution]');
    expect(at).toBeGreaterThan(0);
    const start = readme.indexOf('```\n', at) + 4;
    const lines = readme.slice(start, readme.indexOf('```', start)).split('\n').filter(Boolean);
    const commands = lines.filter((l) => l.startsWith('(forklab) ')).map((l) => l.slice('(forklab) '.length));
    expect(commands).toContain('reverse-continue');
    const dir = mkdtempSync(join(tmpdir(), 'forklab-reverse-'));
    writeFileSync(join(dir, 'forklab.img'), image);
    writeFileSync(join(dir, 'kernel.map'), formatSymbolMap(symbols));
    writeFileSync(join(dir, 'readme.gdb'), commands.join('\n') + '\n');
    const r = spawnSync('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img'), '--script', join(dir, 'readme.gdb')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expectLinesInOrder(r.stdout, lines);
  }, 120_000);

  it('reverse-continue honours watchpoints and conditions; the ends of history are one line', async () => {
    const { m, d } = debuggerOn();
    await run(d, BREAK_WP);
    await run(d, 'continue');
    const atFault = m.instructions;
    // the parent's last write to its own cow_var (task 1's slot), found going backwards
    await run(d, 'delete');
    await run(d, 'watch 0x4000000 + cow_var');
    const w = await run(d, 'reverse-continue');
    const parentVar = 0x4000000 + symbols.find((x) => x.name === 'cow_var')!.address;
    // its write of 2222 (0x8ae) after the fork, about to run: the value is still 1000
    expect(w).toMatch(new RegExp(`^Hardware watchpoint 2: 0x0${parentVar.toString(16)} \\(before the instruction that accessed it\\)\n\nValue = 1000\n=> 0x040[0-9a-f]{5}:.*mov dword \\[dword 0x[0-9a-f]+\\], ?0x8ae$`));
    expect(m.instructions).toBeLessThan(atFault);
    await run(d, 'stepi');
    expect(m.readLinear32(parentVar)).toBe(2222);
    // a condition that never holds: back to the start of history
    await run(d, 'delete');
    await run(d, 'break copy_process if $eax == 0x12345678');
    expect(await run(d, 'reverse-continue')).toMatch(/^No more reverse-execution history\.\n=> 0xfffffff0:/);
    expect(m.instructions).toBe(0);
    expect(await run(d, 'reverse-stepi')).toMatch(/^No more reverse-execution history\./);
    const err = async (line: string) => (await d.execute(line)).error;
    expect(await err(`goto ${atFault + 1}`)).toBe(`goto: instruction ${atFault + 1} is beyond the end of history (${atFault})`);
    expect(await err('goto')).toBe('goto: give an instruction count (info history shows the range)');
    expect(await err('reverse-stepi 0')).toBe("reverse-stepi: '0' is not a count");
    expect(await err('reverse-continue 3')).toBe("reverse-continue: takes no arguments (got '3')");
    expect(await err('reverse-finish')).toBe('reverse-finish: the current function was entered before the start of history');
    expect(await run(d, `goto ${atFault}`)).toMatch(/^At instruction \d+\n=> 0x[0-9a-f]{8} <do_wp_page>/);
    const d2 = new Debugger(new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) }), { symbols, history: false });
    expect((await d2.execute('info history')).output).toBe('No history is kept.');
    expect((await d2.execute('reverse-stepi')).error).toBe('no history is kept of this run');
  }, 120_000);
});
