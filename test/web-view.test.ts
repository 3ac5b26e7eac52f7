// The browser page's view logic against the Node machine (web/adapter.ts, web/session.ts):
// page classes, the page map through a copy-on-write split, the event timeline with its
// instruction counts, and the session's answers to bad input and a triple fault -- for our
// kernel, and for the real Linux 0.11 through its profile (the guest kit in
// ../shared/guests/linux-0.11: skipped locally without it, a failure under CI=true).
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { SymbolMap, KernelInspector } from '../kernel/inspect';
import { classifyPage, diskOptions, ImageError, KernelView, unpackDisk } from '../web/adapter';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveKit, KIT } from './linux011-kit';
import { PAGE_CLASSES, NOT_PRESENT } from '../web/shared';
import { Session } from '../web/session';
import type { Reply } from '../web/protocol';

let image: Uint8Array;
let mapText: string;
let syms: SymbolMap;

beforeAll(() => {
  const built = buildImage('.');
  image = built.image;
  mapText = formatSymbolMap(built.symbols);
  syms = new SymbolMap(built.symbols);
});

const boot = () => new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) });

/** The page map cell of `linear` in task nr's map: class name and mem_map count. */
function cell(view: KernelView, nr: number, linear: number): { cls: string; count: number; frame: number } {
  const pm = view.pageMap(nr)!;
  const t = pm.tables.find((x) => x.dir === linear >>> 22)!;
  const i = (linear >>> 12) & 0x3ff;
  const c = t.classes[i];
  return { cls: c === NOT_PRESENT ? 'absent' : PAGE_CLASSES[c], count: t.counts[i], frame: (t.entries[i] & 0xfffff000) >>> 0 };
}

describe('page classes', () => {
  it('tell private, shared read-only, read-only last sharer, kernel and the impossible apart', () => {
    const p = (rw: boolean, count: number | null, user = true, kernelTable = false) => classifyPage({ rw, count, user, kernelTable });
    expect(p(true, 1)).toBe('private');
    expect(p(false, 2)).toBe('shared');
    expect(p(false, 63)).toBe('shared');
    expect(p(false, 1)).toBe('cow');
    expect(p(true, 2)).toBe('wrong');
    expect(p(true, null)).toBe('kernel'); // below LOW_MEM: no mem_map count
    expect(p(true, 1, false)).toBe('kernel'); // a supervisor page
    expect(p(true, 1, true, true)).toBe('kernel'); // head's identity tables
  });
});

describe('the page map and the timeline through the fork-cow split', () => {
  it('show the page shared (count 2) after the fork, two private pages after both writes, and each event at its instruction', () => {
    const m = boot();
    const view = KernelView.open(m, new KernelInspector(m.mem.u8, syms))!;
    expect(view).not.toBeNull();
    const faults: number[] = [];
    m.hook('interrupt', (_v, _sw, code) => void ((code & 3) === 3 && faults.push(m.instructions)), { begin: 14, end: 14 });
    const cow = syms.addr('cow_var');
    const parentPage = (0x4000000 + cow) & ~0xfff;
    const childPage = (0x8000000 + cow) & ~0xfff;

    expect(m.runUntil({ address: 0x4000000 + syms.addr('t_fork_cow') }).kind).toBe('reached');
    expect(m.runUntil({ address: syms.addr('copy_process.out') }).kind).toBe('reached');
    const before1 = cell(view, 1, parentPage), before2 = cell(view, 2, childPage);
    expect(before1).toMatchObject({ cls: 'shared', count: 2 });
    expect(before2).toMatchObject({ cls: 'shared', count: 2 });
    expect(before1.frame).toBe(before2.frame);

    // run until the child's first write to cow_var has completed
    let childWrote = false;
    const w = m.hook('memory', (kind) => void (kind === 'w' && (childWrote = true)), { begin: 0x8000000 + cow, end: 0x8000000 + cow + 3 });
    expect(m.runUntil(() => childWrote).kind).toBe('reached');
    w.remove();
    const after1 = cell(view, 1, parentPage), after2 = cell(view, 2, childPage);
    expect(after1).toMatchObject({ cls: 'private', count: 1 });
    expect(after2).toMatchObject({ cls: 'private', count: 1 });
    expect(after1.frame).not.toBe(after2.frame);

    // (the parent's stack page splits too, and it calls waitpid: those events are left out)
    const forkAt = [...view.events].reverse().find((x) => x.kind === 'fork')!.icount;
    const since = view.events.filter((e) => e.icount >= forkAt && (e.kind === 'fork' || e.linear === parentPage || e.linear === childPage));
    expect(since.map((e) => e.kind)).toEqual(['fork', 'wp-fault', 'copy', 'wp-fault', 'nocopy']);
    const [fork, f1, copy, f2, nocopy] = since;
    expect(fork.text).toMatch(/^fork: child pid 3 in slot 2 /);
    expect(fork.pid).toBe(1);
    // the parent writes first: its fault copies the page; the child's finds count 1, no copy
    expect(f1).toMatchObject({ pid: 1, linear: parentPage });
    expect(copy).toMatchObject({ pid: 1, linear: parentPage });
    expect(copy.text).toContain(`-> 0x${after1.frame.toString(16).padStart(8, '0')}`);
    expect(f2).toMatchObject({ pid: 3, nr: 2, linear: childPage });
    expect(nocopy).toMatchObject({ pid: 3, linear: childPage });
    // the fault events carry the instruction count of the exception, as a hook of our own sees it
    expect(faults).toContain(f1.icount);
    expect(faults.at(-1)).toBe(f2.icount);
    expect(f1.icount < copy.icount && copy.icount < f2.icount && f2.icount < nocopy.icount).toBe(true);
  });

  it('over the whole demo: one fault event per write-protect fault, each resolved as a copy or not; one fork event per fork; exit, wait and reap at their instructions', () => {
    const m = boot();
    const view = KernelView.open(m, new KernelInspector(m.mem.u8, syms), 1e6)!;
    // our own count of the exit and waitpid system calls, with the instruction of each
    const calls: { nr: number; icount: number }[] = [];
    m.hook('interrupt', (_v, sw) => void (sw && calls.push({ nr: m.cpu.regs[0], icount: m.instructions })), { begin: 0x80, end: 0x80 });
    expect(m.run()).toEqual({ kind: 'exit', status: 1 });
    const exits = view.events.filter((e) => e.kind === 'exit' && e.text.startsWith('exit('));
    const waits = view.events.filter((e) => e.kind === 'wait');
    expect(exits.map((e) => e.icount)).toEqual(calls.filter((c) => c.nr === 1).map((c) => c.icount));
    expect(waits.map((e) => e.icount)).toEqual(calls.filter((c) => c.nr === 7).map((c) => c.icount));
    expect(exits.length).toBeGreaterThan(5);
    expect(waits.length).toBeGreaterThan(5);
    // fault-kill's child dies of its general protection fault: do_exit's tell_father
    expect(view.events.some((e) => e.kind === 'exit' && /^killed by an exception, status 0x/.test(e.text))).toBe(true);
    const kills = view.events.filter((e) => e.kind === 'kill');
    expect(kills.map((e) => e.icount)).toEqual(calls.filter((c) => c.nr === 37).map((c) => c.icount));
    expect(kills.length).toBeGreaterThan(0);
    // every reap names a pid that exited, or was sent a signal, before it
    const reaps = view.events.filter((e) => e.kind === 'reap');
    expect(reaps.length).toBeGreaterThan(0);
    for (const r of reaps) {
      const pid = Number(/reaped pid (\d+)/.exec(r.text)![1]);
      const ended = view.events.find((e) => e.icount < r.icount && ((e.kind === 'exit' && e.pid === pid) || (e.kind === 'kill' && e.text.startsWith(`kill(${pid},`))));
      expect(ended, `pid ${pid} ended before its reap`).toBeDefined();
    }
    const n = (k: string) => view.events.filter((e) => e.kind === k).length;
    const stats = view.k.cowStatistics()!;
    expect(stats).not.toBeNull();
    expect(n('wp-fault')).toBe(stats.wpFaults);
    expect(n('copy') + n('nocopy')).toBe(stats.wpFaults);
    const forks = Number(/forks:\s+(\d+)/.exec(m.serialOutput())![1]);
    const failed = view.events.filter((e) => e.kind === 'fork' && /failed/.test(e.text));
    expect(failed.length).toBe(1); // fork-eagain's fork into a full task table
    expect(n('fork') - failed.length).toBe(forks);
    const icounts = view.events.map((e) => e.icount);
    expect(icounts.every((v, i) => i === 0 || v >= icounts[i - 1])).toBe(true);
  });
});

describe('the session (the worker side of the page)', () => {
  const collect = () => {
    const got: Reply[] = [];
    return { got, post: (r: Reply) => void got.push(r), last: <T extends Reply['type']>(t: T) => got.filter((r) => r.type === t).at(-1) as Extract<Reply, { type: T }> | undefined };
  };

  it('boots the kernel to its PASS lines, keeps working after a file that is not a disk image', async () => {
    const c = collect();
    const s = new Session(c.post);
    await s.load([{ name: 'forklab.img', data: image }], mapText);
    expect(s.status).toMatch(/^\[Guest exited with status 1 /);
    const serial = c.got.filter((r) => r.type === 'frame').map((r) => (r as { serial: string }).serial).join('');
    expect(serial.match(/^PASS /gm)).toHaveLength(16);
    // each kernel message carries the events since the one before (at most the newest 500):
    // in order, none twice, and the newest are the timeline's
    const sent = c.got.flatMap((r) => (r.type === 'kernel' ? r.events : []));
    const line = (e: { icount: number; text: string }) => `${e.icount} ${e.text}`;
    expect(s.kernel!.total).toBeGreaterThan(1000);
    expect(sent.length).toBeGreaterThanOrEqual(500);
    expect(sent.every((e, i) => i === 0 || e.icount >= sent[i - 1].icount)).toBe(true);
    expect(new Set(sent.map(line)).size).toBe(sent.length);
    expect(sent.slice(-300).map(line)).toEqual(s.kernel!.events.slice(-300).map(line));
    expect(sent.filter((e) => e.kind === 'fork' && e.text === 'fork')).toEqual([]); // each sent with its child known

    for (const [name, bytes, why] of [
      ['notes.txt', new TextEncoder().encode('hello, not a disk\n'), /'notes.txt' is not a disk image: 18 bytes, less than one 512-byte sector/],
      ['zeros.img', new Uint8Array(1474560), /'zeros.img' is not a bootable disk image: its first sector does not end with the boot signature 55 AA/],
    ] as const) {
      const before = c.got.length;
      await s.handle({ type: 'load', disks: [{ name, image: bytes.slice().buffer }], map: null });
      const errors = c.got.slice(before).filter((r) => r.type === 'error');
      expect(errors).toHaveLength(1);
      expect((errors[0] as { message: string }).message).toMatch(why);
    }
    const bad = c.got.length;
    await s.handle({ type: 'load', disks: [{ name: 'forklab.img', image: image.slice().buffer }], map: 'not a map\n' });
    expect((c.got.slice(bad).find((r) => r.type === 'error') as { message: string }).message).toMatch(/^'kernel.map': kernel.map:1: expected/);
    // still the machine from before, and it answers
    expect(s.status).toMatch(/^\[Guest exited with status 1 /);
    await s.handle({ type: 'command', line: 'print 6 * 7' });
    expect(c.last('output')).toMatchObject({ command: 'print 6 * 7', text: '0x0000002a (42) <pg_dir+0x2a>' });
  });

  it('stops at a breakpoint that survives a reset, steps, and runs to a symbol', async () => {
    const c = collect();
    const s = new Session(c.post);
    await s.load([{ name: 'forklab.img', data: image }], mapText);
    await s.handle({ type: 'break', where: 'copy_process' });
    expect(c.last('state')!.breakpoints).toEqual([{ num: 1, text: `breakpoint 0x${syms.addr('copy_process').toString(16).padStart(8, '0')} copy_process` }]);
    await s.handle({ type: 'reset' });
    expect(s.status).toMatch(/^Breakpoint 1, 0x[0-9a-f]{8} <copy_process>\n=> /);
    expect(c.last('state')!.disasm).toMatch(/^=> 0x[0-9a-f]{8} <copy_process>:/m);
    const at = s.machine!.instructions;
    await s.handle({ type: 'step' });
    expect(s.machine!.instructions).toBe(at + 1);
    await s.handle({ type: 'delete', num: 1 });
    expect(c.last('state')!.breakpoints).toEqual([]);
    await s.handle({ type: 'run-to', where: '0x4000000 + t_fork_cow' });
    expect(s.status).toMatch(/^Temporary breakpoint 2, 0x[0-9a-f]{8} <t_fork_cow@task1>/);
  });

  it('hands keys to the keyboard controller and records the last instructions as trace lines', async () => {
    const c = collect();
    const s = new Session(c.post, { traceLines: 5 });
    await s.handle({ type: 'break', where: 'x' }); // no machine yet: one error, nothing else
    expect(c.last('output')).toMatchObject({ error: 'no image loaded' });
    await s.load([{ name: 'forklab.img', data: image }], mapText);
    const kbc = s.machine!.kbc;
    await s.handle({ type: 'keys', scancodes: [0x1e, 0x9e] }); // 'a' down, up
    expect(kbc.readStatus() & 1).toBe(1); // output buffer full
    expect(kbc.readData()).toBe(0x1e);

    await s.handle({ type: 'break', where: 'copy_process' });
    await s.handle({ type: 'reset' });
    await s.handle({ type: 'trace', on: true });
    for (let i = 0; i < 8; i++) await s.handle({ type: 'step' });
    const trace = c.last('state')!.trace;
    expect(trace[0]).toBe('# forklab-trace 1 source=forklab fields=bytes,disasm,regs,mem');
    // the last 5 of the 7 finished instructions (the 8th's line is written when it completes)
    expect(trace).toHaveLength(6);
    expect(trace.slice(1).map((l) => Number(l.split(' ')[0]))).toEqual([2, 3, 4, 5, 6].map((k) => s.machine!.instructions - 8 + k));
    for (const l of trace.slice(1)) expect(l).toMatch(/^\d+ [0-9a-f]{4}:[0-9a-f]{8} [0-9a-f]{8} [0-9a-f]+ {2}\S/);
    await s.handle({ type: 'trace', on: false });
    expect(c.last('state')!.trace).toEqual([]);
  });

  it('shows the state of a guest that triple-faults', async () => {
    // bits 16 / org 0x7c00: cli; lidt [idt0]; int3; hlt; idt0: dw 0, dd 0 (an empty IDT:
    // int3 cannot be delivered, nor the #GP, nor the #DF) -- bytes from nasm -f bin
    const boot = new Uint8Array(1474560);
    boot.set([0xfa, 0x0f, 0x01, 0x1e, 0x08, 0x7c, 0xcc, 0xf4, 0, 0, 0, 0, 0, 0]);
    boot.set([0x55, 0xaa], 510);
    const c = collect();
    const s = new Session(c.post);
    await s.load([{ name: 'triple.img', data: boot }], null);
    const st = c.last('state')!;
    expect(st.status).toMatch(/^Triple fault after \d+ instructions:\neax=/);
    expect(st.status).toContain('idt=00000000/0000');
    expect(st.ended).toBe(true);
    expect(st.regs).toMatch(/^eax 0x00000000/);
    await s.handle({ type: 'run' });
    expect(c.last('output')!.error).toMatch(/^the guest is not running \(triple fault\)/);
  });
});

describe.runIf(haveKit())('the page with the real Linux 0.11 (the linux-0.11 profile)', () => {
  it('shows its tasks, the shell forking ls with every page shared (count 2), the writer page private after do_wp_page, and fork, exit and wait in the timeline', async () => {
    const got: Reply[] = [];
    const last = <T extends Reply['type']>(t: T) => got.filter((r) => r.type === t).at(-1) as Extract<Reply, { type: T }>;
    let stopAtFirstSlice = true;
    // frameMs 0: a frame each slice, where the first one pauses the boot (a Linux guest runs for ever)
    const s: Session = new Session((r) => {
      got.push(r);
      if (r.type === 'frame' && r.running && stopAtFirstSlice) s.pause();
    }, { frameMs: 0 });
    const disk = (f: string) => ({ name: f, image: new Uint8Array(readFileSync(join(KIT, f))).buffer });
    await s.handle({ type: 'load', disks: [disk('Image'), disk('hdc-0.11.img.gz')], map: readFileSync(join(KIT, 'System.map'), 'utf8'), mapName: 'System.map' });
    stopAtFirstSlice = false;
    expect(last('loaded')).toEqual({ type: 'loaded', name: 'Image + hdc-0.11.img.gz', symbols: expect.any(Number), kernel: 'Linux 0.11', problem: null });
    const ok = async (line: string) => {
      expect(await s.command(line), `${line}: ${JSON.stringify(last('output'))}`).toBe(true);
      return last('output')?.text ?? '';
    };

    await ok('wait \\]#$');
    expect(s.status).toMatch(/The screen matches/);
    // init (pid 1), the shell it started (pid 4) and update (pid 3), beside task 0
    expect(last('kernel').tasks.map((t) => [t.nr, t.pid, t.father])).toEqual([[0, 0, -1], [1, 1, 0], [2, 4, 1], [3, 3, 1]]);
    expect(last('kernel').tasks.every((t) => t.cow === '-')).toBe(true); // 0.11 counts no copy-on-write
    // the boot's forks: init starts the shell (pid 4, slot 2), which runs a command before
    // the prompt (pid 5 in slot 4) and reaps it
    const boot = s.kernel!.events.filter((e) => e.kind === 'fork' || e.kind === 'exit' || e.kind === 'reap').map((e) => `${e.pid} ${e.text}`);
    expect(boot).toEqual(expect.arrayContaining(['1 fork: child pid 4 in slot 2 (0x08000000)', '4 fork: child pid 5 in slot 4 (0x10000000)', '5 exit(0)', '4 waitpid reaped pid 5 (exit status 0x0): its slot and task_struct freed']));

    // type ls: stop where the shell forks (a Linux symbol), and step out of copy_process
    await ok('type ls\\n');
    await ok('break copy_process');
    expect(last('state').breakpoints.map((b) => b.text)).toEqual([expect.stringMatching(/^breakpoint 0x000081e7 copy_process$/)]);
    await s.handle({ type: 'run' });
    expect(s.status).toMatch(/^Breakpoint 1, 0x000081e7 <copy_process>/);
    expect(last('state').disasm).toMatch(/^=> 0x000081e7 <copy_process>:/m);
    await ok('delete');
    await ok('finish');
    const stack = 0x3fff000; // the top page of a slot: the user stack
    const child = s.kernel!.pageMap(4)!;
    expect(child).toMatchObject({ nr: 4, pid: 6, base: 0x10000000, size: 0x4000000 });
    // every present page of the child is shared with its parent, read-only, count 2 (or more)
    expect(child.totals.shared).toBeGreaterThan(10);
    expect(child.totals.private + child.totals.wrong + child.totals.kernel).toBe(0);
    await s.handle({ type: 'view', task: 4 });
    const cellOf = (nr: number, linear: number) => {
      const pm = last('kernel').pageMap!;
      expect(pm.nr).toBe(nr);
      const t = pm.tables.find((x) => x.dir === linear >>> 22)!;
      const i = (linear >>> 12) & 0x3ff;
      return { cls: PAGE_CLASSES[t.classes[i]], count: t.counts[i], frame: (t.entries[i] & 0xfffff000) >>> 0 };
    };
    const child0 = cellOf(4, 0x10000000 + stack);
    await s.handle({ type: 'view', task: 2 });
    const shell0 = cellOf(2, 0x08000000 + stack);
    expect(child0).toMatchObject({ cls: 'shared', count: 2 });
    expect(shell0).toEqual(child0);

    // the first write: do_wp_page gives the writer (the shell) its own copy
    await ok('break do_wp_page');
    await s.handle({ type: 'run' });
    expect(s.status).toMatch(/^Breakpoint 2, 0x0000a76b <do_wp_page>/);
    await ok('finish');
    await ok('delete');
    await s.handle({ type: 'view', task: 2 });
    const shell1 = cellOf(2, 0x08000000 + stack);
    expect(shell1).toMatchObject({ cls: 'private', count: 1 });
    expect(shell1.frame).not.toBe(shell0.frame);
    await s.handle({ type: 'view', task: 4 });
    expect(cellOf(4, 0x10000000 + stack)).toEqual({ cls: 'cow', count: 1, frame: child0.frame });

    // ls runs, exits, and the shell waits for it: the prompt again
    await ok('wait \\]#$');
    const events = s.kernel!.events;
    const forkAt = events.findIndex((e) => e.kind === 'fork' && e.text.includes(' pid 6 '));
    expect(forkAt).toBeGreaterThan(0);
    const since = events.slice(forkAt);
    expect(since[0]).toMatchObject({ kind: 'fork', pid: 4, nr: 2, text: 'fork: child pid 6 in slot 4 (0x10000000)' });
    expect(since.find((e) => e.kind === 'wp-fault')).toMatchObject({ pid: 4, linear: 0x08000000 + stack });
    expect(since.find((e) => e.kind === 'copy')).toMatchObject({ pid: 4, linear: 0x08000000 + stack, text: `page 0x0bfff000 copied: frame 0x${shell0.frame.toString(16).padStart(8, '0')} -> 0x${shell1.frame.toString(16).padStart(8, '0')}` });
    expect(since.find((e) => e.kind === 'exit')).toMatchObject({ pid: 6, nr: 4, text: 'exit(0)' });
    expect(since.some((e) => e.kind === 'wait' && e.pid === 4)).toBe(true);
    const icounts = since.map((e) => e.icount);
    expect(icounts.every((v, i) => i === 0 || v >= icounts[i - 1])).toBe(true);
    expect(icounts.at(-1)!).toBeLessThanOrEqual(s.machine!.instructions);
  }, 180_000);
});

describe('diskOptions', () => {
  const img = (n: number) => {
    const b = new Uint8Array(n);
    b[510] = 0x55;
    b[511] = 0xaa;
    return b;
  };
  it('takes a floppy by its size, a kernel Image padded to a floppy, a hard disk by whole sectors', () => {
    expect(diskOptions([{ name: 'a', data: img(1474560) }]).fda!.data.length).toBe(1474560);
    expect(diskOptions([{ name: 'c', data: img(10 * 1024 * 1024) }])).toMatchObject({ bootOrder: ['c'] });
    // Linux 0.11's Image (144545 bytes) is no whole number of sectors: padded to 360K, as QEMU does
    const both = diskOptions([{ name: 'hdc.img', data: new Uint8Array(10 * 1024 * 1024) }, { name: 'Image', data: img(144545) }]);
    expect(both.fda!.data.length).toBe(368640);
    expect(both.hda!.data.length).toBe(10 * 1024 * 1024);
    expect(both.bootOrder).toEqual(['a', 'c']);
  });
  it('names what is wrong with anything else', () => {
    expect(() => diskOptions([{ name: 'odd.img', data: img(3_000_001) }])).toThrow(new ImageError("'odd.img' is not a disk image: 3000001 bytes fits no floppy format (1.44M = 1474560, 1.2M = 1228800, 720K = 737280, 360K = 368640, 2.88M = 2949120) and is not a whole number of 512-byte sectors"));
    expect(() => diskOptions([{ name: 'a.img', data: img(1474560) }, { name: 'b.img', data: img(737280) }])).toThrow(new ImageError("'a.img' and 'b.img' are both floppy images: give one floppy and/or one hard disk"));
    // the disk that boots needs the signature; a hard disk beside a floppy does not
    expect(() => diskOptions([{ name: 'Image', data: new Uint8Array(144545) }])).toThrow(new ImageError("'Image' is not a bootable disk image: its first sector does not end with the boot signature 55 AA"));
    expect(() => diskOptions([])).toThrow(new ImageError('no disk image given'));
  });
  it('unpacks gzip data, and says so when it is damaged', async () => {
    const raw = img(1474560);
    expect(await unpackDisk('a.img.gz', new Uint8Array(gzipSync(raw)))).toEqual(raw);
    expect(await unpackDisk('a.img', raw)).toBe(raw);
    const bad = new Uint8Array(gzipSync(raw)).slice(0, 200);
    await expect(unpackDisk('bad.img.gz', bad)).rejects.toThrow(/^'bad\.img\.gz' is not a disk image: its gzip data is damaged/);
  });
});
