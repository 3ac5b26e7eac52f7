// Issue 6's debugger script test: `forklab debug IMAGE --script FILE` breaks in do_wp_page
// when the fork-cow test's first write to cow_var faults (in the parent, task 1, or its
// child), and `pt` shows the page of that variable in both tasks before and after the split:
// one frame shared with mem_map count 2, read-only (copy-on-write) in both; then two frames,
// count 1 each. The script then runs the kernel to its end, and the exit status is the guest's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';

const ROOT = resolve(import.meta.dirname, '..');

interface PtLine { linear: number; frame: number; flags: string; count: number; marks: string[] }

/** The page lines of a `pt` output. */
function ptLines(out: string): PtLine[] {
  const rows: PtLine[] = [];
  for (const m of out.matchAll(/^ {2}(0x[0-9a-f]{8}) {3}(0x[0-9a-f]{8}) {3}(P (?:RW|RO) [US] [A-] [D-]) +(\d+|-) {2}([a-z -]*?)\s*(?:<[^>]*>)?$/gm)) {
    rows.push({ linear: parseInt(m[1], 16), frame: parseInt(m[2], 16), flags: m[3], count: Number(m[4]), marks: m[5].split(' ').filter(Boolean) });
  }
  return rows;
}

/** The output of each command of a --script run, keyed by position. */
function sections(stdout: string): { cmd: string; out: string }[] {
  const parts = stdout.split(/^\(forklab\) /m).slice(1);
  return parts.map((p) => {
    const nl = p.indexOf('\n');
    return { cmd: p.slice(0, nl), out: p.slice(nl + 1) };
  });
}

describe('forklab debug --script (issue 6)', () => {
  it('shows the copy-on-write split of cow_var in pt of parent and child', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-debug-'));
    const { image, symbols } = buildImage(ROOT);
    writeFileSync(join(dir, 'forklab.img'), image);
    writeFileSync(join(dir, 'kernel.map'), formatSymbolMap(symbols)); // found beside the image
    const cowVar = symbols.find((s) => s.name === 'cow_var')!.address;
    const page = (slot: number) => ((slot * 0x4000000 + cowVar) & ~0xfff) >>> 0;
    writeFileSync(join(dir, 'cow.gdb'), [
      '# init (task 1) enters the fork-cow test',
      'tbreak 0x4000000 + t_fork_cow',
      'continue',
      '# the first write fault on cow_var\'s page, by init or by its child (task 2)',
      'break do_wp_page if (*($esp+8) >> 12) == ((0x4000000 + cow_var) >> 12) || (*($esp+8) >> 12) == ((0x8000000 + cow_var) >> 12)',
      'continue',
      'print *($esp+8)',
      'ps',
      'pt 1 cow_var',
      'pt 2 cow_var',
      'finish',
      'pt 1 cow_var',
      'pt 2 cow_var',
      'delete',
      'continue',
    ].join('\n'));
    const r = spawnSync('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img'), '--script', join(dir, 'cow.gdb')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    if (process.env.SHOW_DEBUG) console.log(r.stdout);
    expect(r.stderr).toBe('');
    // the kernel ran on to its end: every check passed, and its status (F4h value 0) is ours
    expect(r.stdout).toContain('forklab: every check passed, powering off');
    expect(r.stdout).toContain('[Guest exited with status 1 (port F4h value 0)');
    expect(r.status).toBe(1);

    const s = sections(r.stdout);
    expect(s.map((x) => x.cmd)).toEqual([
      'tbreak 0x4000000 + t_fork_cow', 'continue', expect.stringMatching(/^break do_wp_page if /), 'continue', 'print *($esp+8)', 'ps',
      'pt 1 cow_var', 'pt 2 cow_var', 'finish', 'pt 1 cow_var', 'pt 2 cow_var', 'delete', 'continue',
    ]);
    expect(s[1].out).toMatch(/^Temporary breakpoint 1, 0x[0-9a-f]{8} <t_fork_cow@task1>/m);
    expect(s[3].out).toMatch(/^Breakpoint 2, 0x[0-9a-f]{8} <do_wp_page>\n=> 0x[0-9a-f]{8} <do_wp_page>:/m);
    // the faulting address is cow_var in task 1 or task 2
    const fault = parseInt(/^(0x[0-9a-f]{8})/.exec(s[4].out)![1], 16);
    expect([1, 2].map((t) => t * 0x4000000 + cowVar)).toContain(fault);
    // task 2 is init's child (pid 1 is its father)
    expect(s[5].out).toMatch(/^[ *] {2}2 +\d+ +1 {2}/m);

    const [p1, c1, , p2, c2] = [s[6], s[7], s[8], s[9], s[10]].map((x) => ptLines(x.out));
    for (const [rows, slot] of [[p1, 1], [c1, 2], [p2, 1], [c2, 2]] as const) {
      expect(rows.length, `pt ${slot}`).toBe(1);
      expect(rows[0].linear).toBe(page(slot));
    }
    // before: one frame, counted twice, read-only and copy-on-write in both
    expect(p1[0].frame).toBe(c1[0].frame);
    for (const row of [p1[0], c1[0]]) {
      expect(row.count).toBe(2);
      expect(row.flags).toMatch(/^P RO U/);
      expect(row.marks).toEqual(['shared', 'read-only', 'cow']);
    }
    // finish: back in the page-fault handler after do_wp_page
    expect(s[8].out).toMatch(/^Run till exit from 0x[0-9a-f]{8} <do_wp_page>\n=> 0x[0-9a-f]{8} <page_fault\.done>/);
    // after: two frames, one reference each; the writer's page is writable, a fresh copy
    expect(p2[0].frame).not.toBe(c2[0].frame);
    expect(p2[0].count).toBe(1);
    expect(c2[0].count).toBe(1);
    const writer = fault >>> 26 === 1 ? p2[0] : c2[0];
    const other = writer === p2[0] ? c2[0] : p2[0];
    expect(writer.flags).toMatch(/^P RW U/);
    expect(writer.marks).toEqual([]);
    expect(writer.frame).not.toBe(p1[0].frame);
    expect(other.frame).toBe(p1[0].frame); // the other task keeps the old frame, still read-only
    expect(other.marks).toEqual(['read-only', 'cow']);
  }, 150_000);

  it('stops a script at the first failing command with one line and status 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-debug-'));
    const { image } = buildImage(ROOT);
    writeFileSync(join(dir, 'forklab.img'), image);
    writeFileSync(join(dir, 'bad.gdb'), 'stepi\nbreak no_such_function\nregs\n');
    const r = spawnSync('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img'), '--script', join(dir, 'bad.gdb')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    // no kernel.map beside the image: symbols are unknown, said in one line
    expect(r.stdout).toMatch(/\(forklab\) break no_such_function\n$/);
    expect(r.stderr).toBe("error: no symbol 'no_such_function' in the symbol map\n");
    expect(r.stdout).not.toContain('(forklab) regs');
    const bad = spawnSync('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img'), '--script', join(dir, 'none.gdb')], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^forklab: --script '.*none\.gdb': cannot read the file$/);
    const noImage = spawnSync('node', ['bin/forklab.js', 'debug'], { cwd: ROOT, encoding: 'utf8' });
    expect(noImage.status).toBe(2);
    expect(noImage.stderr).toBe('forklab: debug: nothing to boot: give IMAGE, --fda/--hda, or --kernel ELF\n');
  }, 90_000);

  it('a symbol map of no known kernel: the kernel commands say so in one line; --profile makes it an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-debug-'));
    writeFileSync(join(dir, 'forklab.img'), buildImage(ROOT).image);
    writeFileSync(join(dir, 'other.map'), '00007c00 T start\n00007c10 t start_loop\n');
    writeFileSync(join(dir, 'ps.gdb'), 'print start\nps\n');
    const run = (...args: string[]) => spawnSync('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const r = run('--map', join(dir, 'other.map'), '--script', join(dir, 'ps.gdb'));
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('(forklab) print start\n0x00007c00 (31744) <start>\n');
    // the transcript on stdout, the command's error on stderr
    expect(r.stdout).toMatch(/\(forklab\) ps\n$/);
    expect(r.stderr).toMatch(/^error: ps: the symbol map matches no kernel profile \(forklab needs [^\n]*; linux-0\.11 needs [^\n]*\)\n$/);
    const forced = run('--map', join(dir, 'other.map'), '--profile', 'linux-0.11', '--script', join(dir, 'ps.gdb'));
    expect(forced.status).toBe(2);
    expect(forced.stderr).toMatch(/^forklab: --profile linux-0\.11: kernel symbol "task" is not in the symbol map \(the linux-0\.11 profile needs task, current, mem_map, pg_dir, HIGH_MEMORY, pg0\)\n$/);
    const unknown = run('--profile', 'minix', '--script', join(dir, 'ps.gdb'));
    expect(unknown.stderr).toBe("forklab: --profile: unknown kernel profile 'minix' (known: forklab, linux-0.11)\n");
    writeFileSync(join(dir, 'junk.map'), 'this is not a map\n');
    const junk = run('--map', join(dir, 'junk.map'));
    expect(junk.status).toBe(2);
    expect(junk.stderr.trim().split('\n')).toHaveLength(1);
    expect(junk.stderr).toMatch(/^forklab: --map .*junk\.map:1: expected "XXXXXXXX name" or nm's "XXXXXXXX T name", got "this is not a map"\n$/);
  }, 90_000);
});
