// The real Linux 0.11 (the guest kit) as a first-class guest: booted once, typed into, and
// read with the linux-0.11 kernel profile: the task table (ps/task) with the pids the kernel
// assigned, page tables (pt) and mem_map (memmap) against the page walk, the shell's fork of
// `ls` and the copy-on-write split (count 2 -> 1 + 1), and the invariant checker over a
// session of 20 commands, with a planted corruption caught.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../emulator/machine';
import { Debugger } from '../emulator/debug/debugger';
import { attachKernel, checkInvariants, InvariantWatch, LINUX_011, type KernelInspector } from '../kernel/inspect';
import type { SymbolMap } from '../emulator/debug/symbols';
import { BOOT_BUDGET, haveKit, kitSymbols, linuxMachine } from './linux011-kit';

const PROMPT = /\n\[[^\]\n]*\]#$/; // [/usr/root]# (the shell shows its directory), last on the screen
const COMMAND_BUDGET = 100_000_000;

describe.runIf(haveKit())('Linux 0.11 in forklab', () => {
  let m: Machine;
  let syms: SymbolMap;
  let k: KernelInspector;
  let d: Debugger;

  async function ok(cmd: string): Promise<string> {
    const r = await d.execute(cmd);
    if (r.error) throw new Error(`${cmd}: ${r.error}`);
    return r.output;
  }

  /** Runs until every task sleeps (none running or in uninterruptible sleep) and the idle
   *  task 0 is current: the kernel between operations, where the invariants must hold. */
  function settle(): void {
    for (let i = 0; i < 400; i++) {
      if (k.currentNr() === 0 && k.tasks().every((t) => t.nr === 0 || (t.state !== 0 && t.state !== 2))) return;
      m.run(100_000);
    }
    throw new Error(`the kernel did not settle:\n${k.formatTasks()}`);
  }

  function command(text: string): string {
    m.type(`${text}\n`);
    m.waitForScreen(PROMPT, { maxInstructions: COMMAND_BUDGET });
    settle();
    const screen = m.screenText();
    const at = screen.lastIndexOf(`]# ${text}`);
    expect(at, `the command line '${text}' on the screen`).toBeGreaterThanOrEqual(0);
    return screen.slice(at);
  }

  beforeAll(() => {
    m = linuxMachine();
    syms = kitSymbols('System.map');
    const kern = attachKernel(m.mem.u8, syms);
    expect(kern.problem).toBeNull();
    k = kern.inspector!;
    d = new Debugger(m, { symbols: syms, extension: kern.extension });
    m.waitForScreen(PROMPT, { maxInstructions: BOOT_BUDGET });
    settle();
  });

  it('boots to the prompt, and `ls /bin` lists sh', () => {
    expect(k.profile).toBe(LINUX_011);
    expect(() => new InvariantWatch(k)).toThrow(/^InvariantWatch: the linux-0\.11 profile has no checkpoints; run checkInvariants between operations$/);
    expect(m.screenText()).toContain('Free mem: 12582912 bytes');
    const out = command('ls /bin');
    expect(out.split('\n').slice(1).join(' ')).toMatch(/(^|\s)sh(\s|$)/);
  });

  it('ps: task 0, init (1), the login shell and update, with the pids the kernel assigned', async () => {
    const tasks = k.tasks();
    // init forked pid 2 for /etc/rc (which started update, pid 3, and exited), then the shell
    expect(tasks.map((t) => [t.nr, t.pid, t.father])).toEqual([[0, 0, -1], [1, 1, 0], [2, 4, 1], [3, 3, 1]]);
    // the kernel's last_pid moved on past every live pid (`ls /bin` took new ones)
    expect(m.readLinear32(syms.addr('last_pid'))).toBeGreaterThan(4);
    const ps = (await ok('ps')).split('\n');
    expect(ps[0]).toBe('  NR   PID  FATHER  STATE            COUNTER PRI  EIP         ESP         BASE'); // no COW counters in 0.11
    expect(ps[1]).toMatch(/^\* {2}0 +0 +-1 {2}interruptible/);
    expect(ps[3]).toMatch(/^ {3}2 +4 +1 {2}interruptible +\d+ +\d+ {2}0x[0-9a-f]{8} {2}0x[0-9a-f]{8} {2}0x08000000$/);
    expect(ps[4]).toMatch(/^ {3}3 +3 +1 {2}interruptible .* 0x0c000000$/);
    const task = (await ok('task 2')).split('\n');
    expect(task[0]).toBe(`task 2: task_struct at 0x${k.taskPointer(2).toString(16).padStart(8, '0')}`);
    expect(task[1]).toMatch(/^pid 4 {2}father 1 {2}pgrp 4 {2}session 4 {2}leader 1 {2}state 1 \(interruptible\)/);
    expect(task[2]).toMatch(/start_code 0x08000000/);
    expect(task.join('\n')).toMatch(/ldt code: base 0x08000000 limit 0x[0-9a-f]{8} code r-x dpl 3/);
    expect(task.join('\n')).toMatch(/tss: eip 0x[0-9a-f]{8} <[a-z_]+\+0x[0-9a-f]+> .* ldt 0x0048 cr3 0x00000000/); // _LDT(2) = (2 << 4) + (5 << 3)
  });

  it('pt, translate and memmap agree with the page walk and mem_map', async () => {
    const pages = k.pages(2);
    expect(pages.length).toBeGreaterThan(10);
    for (const p of pages) {
      expect(m.translate(p.linear)).toBe(p.frame); // the CPU's side-effect-free walk (CR3 = 0)
      expect(p.count).toBe(m.readPhysical(syms.addr('mem_map') + ((p.frame - 0x100000) >>> 12), 1)[0]);
    }
    const pt = (await ok('pt 2')).split('\n');
    expect(pt[0]).toBe(`task 2 (pid 4): ${pages.length} pages mapped in 0x08000000-0x0bffffff`);
    expect(pt[2]).toMatch(/^ {2}0x08000000 {3}0x[0-9a-f]{8} {3}P R[OW] U A [D-] +\d+ /);
    expect(pt[2]).not.toMatch(/</); // no kernel symbol names a user address of Linux 0.11
    const first = pages[0];
    const tr = (await ok(`translate 0x${first.linear.toString(16)}`)).split('\n');
    expect(tr[0]).toBe(`linear 0x${first.linear.toString(16).padStart(8, '0')}: directory ${first.linear >>> 22}, table 0, offset 0x000`);
    expect(tr[tr.length - 1]).toBe(`physical 0x${first.frame.toString(16).padStart(8, '0')}  mem_map count ${first.count}`);
    const mm = (await ok('memmap')).split('\n');
    expect(mm[0]).toBe('mem_map: 3840 pages from 0x00100000 to HIGH_MEMORY 0x01000000 (0 beyond it, marked USED)');
    const counted = mm.slice(1).map((l) => /^ {2}(free|USED \(reserved\)|count \d+) +(\d+) pages?$/.exec(l)).filter((x) => x !== null);
    expect(counted.reduce((s, x) => s + Number(x![2]), 0)).toBe(3840);
    expect(mm).toContain(`  free pages (nr_free_pages): ${k.freePages()}`);
    // buffer memory (1..4 MB) is USED: main memory starts at 4 MB with 16 MB of RAM
    expect(counted.find((x) => x![1] === 'USED (reserved)')![2]).toBe(String((0x400000 - 0x100000) / 4096));
  });

  it("the shell's fork of `ls`: the child shares its pages (count 2); the first write splits one (1 + 1)", async () => {
    await ok('tbreak copy_process');
    await ok('type ls\\n');
    expect((await ok('continue')).split('\n')[0]).toBe('Temporary breakpoint 1, 0x000081e7 <copy_process>');
    expect(k.task(k.currentNr())!.pid).toBe(4); // the shell forks
    await ok('finish');
    const child = k.tasks().find((t) => t.father === 4)!;
    expect(child.startCode).toBe(child.nr * 0x4000000);
    const shared = k.pages(child.nr).filter((p) => !p.kernelTable);
    expect(shared.length).toBeGreaterThan(10);
    for (const p of shared) {
      expect([p.count, p.rw]).toEqual([2, false]); // every page: shared and read-only in the child...
      const parent = k.pages(2).find((q) => q.linear === p.linear - (child.nr - 2) * 0x4000000)!;
      expect([parent.frame, parent.count, parent.rw]).toEqual([p.frame, 2, false]); // ...and in the shell
    }
    expect(checkInvariants(k)).toEqual([]);

    await ok('break do_wp_page');
    expect((await ok('continue')).split('\n')[0]).toBe('Breakpoint 2, 0x0000a76b <do_wp_page>');
    const address = Number(await ok('print *($esp+8)').then((s) => s.split(' ')[0]));
    const writer = Math.floor(address / 0x4000000);
    const other = writer === 2 ? child.nr : 2;
    const offset = (address % 0x4000000) & ~0xfff;
    const before = (await ok(`pt ${other} 0x${offset.toString(16)}`)).split('\n')[2];
    expect(before).toMatch(/ P RO U .* {6}2 {2}shared read-only cow$/);
    expect((await ok(`pt ${writer} 0x${offset.toString(16)}`)).split('\n')[2]).toMatch(/ {6}2 {2}shared read-only cow$/);
    await ok('finish');
    const w = (await ok(`pt ${writer} 0x${offset.toString(16)}`)).split('\n')[2];
    const o = (await ok(`pt ${other} 0x${offset.toString(16)}`)).split('\n')[2];
    expect(w).toMatch(/ P RW U .* {6}1$/); // the writer's own copy
    expect(o).toMatch(/ P RO U .* {6}1 {2}read-only cow$/); // the other keeps the old frame, alone now
    expect(w.split(/\s+/)[2]).not.toBe(o.split(/\s+/)[2]);
    expect(o.split(/\s+/)[2]).toBe(before.split(/\s+/)[2]);
    await ok('delete');
    await ok('wait \\n\\[[^\\]]*\\]#$');
    settle();
    expect(checkInvariants(k)).toEqual([]);
  });

  it('the invariant checker finds 0 violations over 20 commands, and no page leaks', () => {
    const commands = [
      'ls', 'pwd', 'cd /bin', 'ls sh', 'cd', 'echo a b c', 'sync', 'date', 'ls /usr', 'cat /etc/passwd',
      'ls -l /etc', 'ps', 'ls /nonexistent', 'true', 'false', 'ls /dev', 'cat /etc/rc', 'echo hi | cat', 'ls -l /bin/sh', 'ls /bin',
    ];
    for (const c of commands) {
      command(c);
      expect(checkInvariants(k), c).toEqual([]);
      // free pages = usable pages - the frames something holds (page tables, their pages, task_structs)
      const held = new Set<number>();
      for (const t of k.tasks()) {
        if (t.nr) held.add(t.addr);
        for (const p of k.pages(t.nr)) if (!p.kernelTable && p.frame >= 0x400000) held.add(p.frame);
        for (let e = t.nr * 16; e < t.nr * 16 + 16; e++) if (k.pde(e) & 1 && !k.isKernelTable(k.pde(e) & ~0xfff)) held.add((k.pde(e) & ~0xfff) >>> 0);
      }
      expect(k.freePages(), c).toBe((0x1000000 - 0x400000) / 4096 - held.size);
    }
    expect(command('echo done')).toContain('\ndone\n');
  });

  it('catches a planted corruption: a count one too high, a page table entry moved to a free frame', () => {
    const page = k.pages(2).find((p) => !p.kernelTable && p.count === 1)!;
    const at = syms.addr('mem_map') + ((page.frame - 0x100000) >>> 12);
    m.writePhysical(at, [2]);
    try {
      expect(checkInvariants(k)).toEqual([
        `frame 0x${page.frame.toString(16).padStart(8, '0')}: mem_map count 2, but 1 page-table entry + 0 directory entries + 0 task_struct pointers hold it (mapped at 0x${page.linear.toString(16).padStart(8, '0')})`,
      ]);
    } finally {
      m.writePhysical(at, [1]);
    }
    expect(checkInvariants(k)).toEqual([]);

    const map = k.memMap();
    const free = 0x100000 + map.findIndex((c, i) => c === 0 && 0x100000 + i * 4096 >= 0x400000) * 4096;
    const h = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
    const old = m.readPhysical(page.table + ((page.linear >>> 12) & 0x3ff) * 4, 4);
    const pteAt = page.table + ((page.linear >>> 12) & 0x3ff) * 4;
    m.writePhysical(pteAt, [(page.raw & 0xff), ((page.raw >>> 8) & 0x0f) | ((free >>> 8) & 0xf0), (free >>> 16) & 0xff, (free >>> 24) & 0xff]);
    try {
      expect(checkInvariants(k)).toEqual([
        `frame ${h(free)}: mem_map count 0, but 1 page-table entry + 0 directory entries + 0 task_struct pointers hold it (mapped at ${h(page.linear)})`,
        `frame ${h(page.frame)}: mem_map count 1, but 0 page-table entries + 0 directory entries + 0 task_struct pointers hold it`,
      ].sort((a, b) => (a.slice(6, 16) < b.slice(6, 16) ? -1 : 1)));
    } finally {
      m.writePhysical(pteAt, old);
    }
    expect(checkInvariants(k)).toEqual([]);
  });
});
