// The trace recorder (emulator/debug/trace-recorder.ts) and `forklab trace` on our kernel:
// the golden trace of one fork (test/fixtures/trace/fork.trace), determinism, recording with
// the debugger's breakpoints and watchpoints on the same HookHub (observers do not steer),
// the filters, interrupt and exception events, and the command line.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { Machine, type MachineStop } from '../emulator/machine';
import { machineDebugTarget } from '../emulator/debug/machine-target';
import { GdbStub } from '../emulator/debug/gdb-stub';
import { TraceRecorder, type RecorderOptions } from '../emulator/debug/trace-recorder';
import { SymbolMap } from '../emulator/debug/symbols';
import { formatTextLine, parseTextLine, parseTextState, type TraceRecord } from '../emulator/debug/trace-format';
import { buildImage } from '../tools/build-image';
import { diffTraces, type DiffOptions } from '../tools/trace-diff';
import { traceCommand } from '../tools/trace-command';
import { oracle } from './oracle';
import { quiet } from './quiet';
import { Golden, UPDATE_GOLDEN } from './golden';

const ROOT = resolve(import.meta.dirname, '..');
const GOLDEN = join(ROOT, 'test', 'fixtures', 'trace', 'fork.trace');
const dir = mkdtempSync(join(tmpdir(), 'forklab-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIFF: DiffOptions = {
  ignoreRegs: new Set(), ignoreFields: new Set(), eflagsMask: 0xffffffff, skipA: 0, skipB: 0,
  startLinear: null, ranges: [], limit: 0, context: 5,
};

let image: Uint8Array;
let symbols: { name: string; address: number }[];
let sym: (name: string) => number;
/** icounts (as the interrupt hook sees them: the faulting instruction counted) of the first
 *  page fault and of the first timer interrupt in protected mode. */
let firstFault = -1;
let firstTimer = -1;

beforeAll(() => {
  const built = buildImage(ROOT);
  image = built.image;
  symbols = built.symbols;
  const t = new SymbolMap(symbols);
  sym = (name) => {
    const a = t.lookup(name);
    if (a === undefined) throw new Error(`no symbol ${name}`);
    return a;
  };
  const m = machine();
  m.cpu.setHooks({
    interrupt: (v, software) => {
      if (software || (m.cpu.cr0 & 1) === 0) return;
      if (v === 0x0e && firstFault < 0) firstFault = m.cpu.icount;
      if (v === 0x20 && firstTimer < 0) {
        firstTimer = m.cpu.icount;
        m.stop();
      }
    },
  });
  m.run(5_000_000);
}, 60_000);

function machine(serial?: number[]): Machine {
  return new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!), onSerial: (b) => serial?.push(b) });
}

/** The first fork: task 0's `mov eax, __NR_fork; int 0x80` (5 + 2 bytes) at task0_user. */
const forkWindow = () => ({ from: sym('task0_user') + 5, to: sym('task0_user') + 7 });

const GOLDEN_COMMENTS = [
  'golden trace: the first fork in our kernel, task 0 creating init: from its int 0x80 (eax=2,',
  'at task0_user+5) through sys_fork, find_empty_process, copy_process, copy_mem and',
  "copy_page_tables to ret_from_sys_call's iret back to user mode (task0_user+7 not recorded).",
  'regenerate (after a kernel or CPU change, check the change is meant):',
  '  FORKLAB_UPDATE_GOLDEN=1 npx vitest run test/trace-recorder.test.ts',
  'the same lines without these comments:',
  '  forklab build && forklab trace build/forklab.img --from task0_user+5 --to task0_user+7 --exit-when-done -o fork.trace',
];

interface Recorded {
  text: string;
  recorder: TraceRecorder;
  machine: Machine;
  stop: MachineStop;
}

/** Boots the kernel with a recorder; runs until the recording is complete (or `budget`). */
function record(opts: Partial<RecorderOptions>, budget = 3_000_000, m = machine()): Recorded {
  const out: string[] = [];
  const recorder = new TraceRecorder(m.cpu, m.hookHub.slot(), {
    symbols, ...opts, write: (s) => out.push(s), onDone: () => m.stop(),
  }).start();
  const stop = m.run(budget);
  recorder.finish();
  return { text: out.join(''), recorder, machine: m, stop };
}

function records(text: string): TraceRecord[] {
  return text.split('\n').map(parseTextLine).filter((r): r is TraceRecord => r !== null);
}

function diffFiles(a: string, b: string, o: Partial<DiffOptions> = {}) {
  const pa = join(dir, `a-${Math.random().toString(36).slice(2)}.trace`);
  const pb = join(dir, `b-${Math.random().toString(36).slice(2)}.trace`);
  writeFileSync(pa, a);
  writeFileSync(pb, b);
  return diffTraces(pa, pb, { ...DIFF, ...o });
}


describe('the golden fork trace', () => {
  const golden = new Golden(GOLDEN);
  let fork: Recorded;
  beforeAll(() => {
    fork = record({ ...forkWindow(), comments: GOLDEN_COMMENTS });
    golden.update(fork.text);
  }, 60_000);

  it('runs from the int 0x80 to the iret back to user mode, through the whole fork', () => {
    const r = records(fork.text);
    expect(fork.recorder.done).toBe(true);
    expect(r[0]).toMatchObject({ cs: 0x0f, linear: sym('task0_user') + 5, bytes: 'cd80' });
    expect(r[0].disasm).toBe('int 0x80 <task0_user+0x5>');
    // The int: onto the kernel stack, ring 0.
    expect(r[0].regs).toMatchObject({ cs: 0x08, ss: 0x10 });
    const last = r[r.length - 1];
    expect(last.disasm).toMatch(/^iret <ret_from_sys_call/);
    expect(last.regs).toMatchObject({ cs: 0x0f, ss: 0x17 });
    // The parent gets the child's pid, 1, in eax (popped from the frame before the iret).
    expect(r.filter((x) => 'eax' in x.regs).pop()!.regs.eax).toBe(1);
    // Every kernel step of fork is in it, copy_page_tables' loop over task 0's 160 pages too.
    for (const name of ['system_call', 'sys_fork', 'find_empty_process', 'copy_process', 'copy_mem', 'copy_page_tables', 'get_free_page']) {
      expect(r.some((x) => x.linear === sym(name)), name).toBe(true);
    }
    expect(r.filter((x) => x.linear === sym('copy_page_tables.next_pte')).length).toBeGreaterThanOrEqual(160);
    // The state line before the first instruction gives the whole register file.
    const state = parseTextState(fork.text.split('\n').find((l) => l.startsWith('# state'))!)!.state;
    expect(Object.keys(state).length).toBe(24);
    expect(state).toMatchObject({ eax: 2, cs: 0x0f, tr: 0x20 });
    // Memory writes are there: system_call's pushes onto the kernel stack.
    expect(r.find((x) => x.linear === sym('system_call') + 7)?.mem).toEqual([{ addr: 0x8fe8, size: 4, value: 0x17 }]);
    expect(fork.text.length).toBeLessThan(1 << 20);
    // get_free_page's rep stosd clears the child's task_struct page: one summary, not 1,024 writes
    const clear = r.find((x) => x.disasm.startsWith('rep stosd'))!;
    expect(clear.mem).toEqual([{ addr: 0xfff000, size: 4, value: 0, run: { count: 1024, lastAddr: 0xfffffc, lastValue: 0 } }]);
    expect(fork.text.split('\n').every((l) => l.length < 400)).toBe(true);
  });

  it.skipIf(UPDATE_GOLDEN)('is recorded again identically (trace-diff: no divergence, every line agrees)', () => {
    const d = diffFiles(golden.text(), fork.text);
    expect(d.differences).toEqual([]);
    expect(d.diverged).toBe(false);
    expect(d.agree).toBe(records(golden.text()).length);
    expect(d.agree).toBeGreaterThan(2000);
    expect(fork.text).toBe(golden.text());
  });

  it('forklab trace writes the same trace (text and JSON lines), exit 0 with --exit-when-done', async () => {
    const img = join(dir, 'forklab.img');
    writeFileSync(img, image);
    writeFileSync(join(dir, 'kernel.map'), symbols.map((s) => `${s.address.toString(16).toUpperCase().padStart(8, '0')} ${s.name}`).join('\n') + '\n');
    const out = join(dir, 'cli.trace');
    const r = await quiet(() => traceCommand([img, '--from', 'task0_user+5', '--to', 'task0_user+7', '--exit-when-done', '-o', out]));
    expect(r.err).toBe(`trace: ${records(fork.text).length} instructions written to ${out}\n`);
    expect(r.value).toBe(0);
    expect(r.out).toMatch(/protected mode, paging on/); // the guest's console, as forklab run shows it
    expect(readFileSync(out, 'utf8')).toBe(fork.text.split('\n').filter((l) => !l.startsWith('# ') || l.startsWith('# state') || l.startsWith('# forklab-trace')).join('\n'));
    const jl = join(dir, 'cli.jsonl');
    expect((await quiet(() => traceCommand([img, '--from', 'task0_user+5', '--to', 'task0_user+7', '--exit-when-done', '--format', 'jsonl', '-o', jl]))).value).toBe(0);
    const d = diffTraces(GOLDEN, jl, DIFF);
    expect(d.diverged).toBe(false);
    expect(d.agree).toBe(records(fork.text).length);
    expect(JSON.parse(readFileSync(jl, 'utf8').split('\n')[2]).disasm).toBe('int 0x80 <task0_user+0x5>');
  }, 60_000);
});

describe('observers do not steer', () => {
  it('same image, same trace: two runs', () => {
    const a = record({ icount: [0, 60_000] });
    const b = record({ icount: [0, 60_000] });
    // One line per instruction, faulting ones included (the boot's first copy-on-write
    // faults are in the window).
    expect(firstFault).toBeLessThan(60_000);
    expect(a.text.split('\n').filter((l) => l.startsWith('# exception 0x0e')).length).toBeGreaterThan(0);
    expect(a.recorder.lines).toBe(60_001);
    expect(b.text).toBe(a.text);
    // The recorder builds its lines itself: each is exactly the format's line of its record.
    for (const line of a.text.split('\n')) {
      const r = parseTextLine(line);
      if (r) expect(formatTextLine(r)).toBe(line);
    }
    // The JSON-lines form of the same run holds the same records.
    const j = record({ icount: [0, 60_000], format: 'jsonl' });
    const d = diffFiles(a.text, j.text);
    expect(d.diverged).toBe(false);
    expect(d.agree).toBe(60_001);
  }, 60_000);

  it('with breakpoints and watchpoints on the same HookHub, before or after the recorder: the same trace', () => {
    const plain = record({ ...forkWindow() });
    for (const order of ['debugger first', 'recorder first'] as const) {
      const m = machine();
      const out: string[] = [];
      const hub = m.hookHub;
      let target: ReturnType<typeof machineDebugTarget>;
      let recorder: TraceRecorder;
      const mkRecorder = () => new TraceRecorder(m.cpu, hub.slot(), { symbols, ...forkWindow(), write: (s) => out.push(s) });
      if (order === 'debugger first') {
        target = machineDebugTarget(m, { hooks: hub.slot() });
        recorder = mkRecorder().start();
      } else {
        recorder = mkRecorder().start();
        target = machineDebugTarget(m, { hooks: hub.slot() });
      }
      // What gdb would set: breakpoints in fork's path, watchpoints on the kernel stack the
      // int 0x80 frame sits on and on the task table slot copy_process fills.
      target.addBreakpoint(sym('copy_process'), 'sw');
      target.addBreakpoint(sym('copy_page_tables.next_pte'), 'hw');
      target.addWatchpoint(0x8fe0, 8, 'write');
      target.addWatchpoint(sym('task0_user'), 4, 'read'); // never read as data: no hits
      target.addWatchpoint(0x8fc0, 16, 'access');
      const hits = { breakpoint: 0, watchpoint: 0 };
      for (let i = 0; i < 100_000 && !recorder.done; i++) {
        const r = target.run(1_000_000);
        if (r.kind === 'breakpoint') {
          hits.breakpoint++;
          const before = m.instructions;
          const s = target.step(); // over the breakpoint, as gdb does
          if (s.kind === 'watchpoint') hits.watchpoint++;
          expect(m.instructions).toBe(before + 1);
        } else if (r.kind === 'watchpoint') hits.watchpoint++;
        else expect(r.kind).toBe('budget');
      }
      recorder.finish();
      expect(hits.breakpoint, order).toBeGreaterThan(160);
      expect(hits.watchpoint, order).toBeGreaterThan(5);
      expect(out.join(''), order).toBe(plain.text);
    }
  }, 60_000);

  it.runIf(oracle('gdb'))('with a real gdb attached through the stub (breakpoint, stepi, watchpoint): the same trace', async () => {
    const plain = record({ ...forkWindow() });
    const m = machine();
    const out: string[] = [];
    const recorder = new TraceRecorder(m.cpu, m.hookHub.slot(), { symbols, ...forkWindow(), write: (s) => out.push(s) }).start();
    // As serveGdb with --wait, but the stub's hooks on the machine's HookHub.
    const stub = new GdbStub(machineDebugTarget(m, { hooks: m.hookHub.slot() }), { runWhenDetached: false });
    const port = await stub.listen(0);
    const hex = (n: number) => `0x${n.toString(16)}`;
    const script = join(dir, 'trace.gdb');
    writeFileSync(script, [
      'set pagination off', 'set confirm off', 'set osabi none', 'set architecture i386',
      `target remote 127.0.0.1:${port}`,
      `break *${hex(sym('copy_process'))}`,
      'continue',
      'stepi',
      'stepi',
      'watch *(int*)($esp - 8)', // a stack slot copy_process's calls write
      'continue',
      'continue',
      'delete',
      `break *${hex(sym('task0_user') + 7)}`, // the end of the recorded window
      'continue',
      'delete',
      'detach',
      '',
    ].join('\n'));
    const gdbOut = await new Promise<string>((resolve) => {
      execFile('timeout', ['60', 'gdb', '-nx', '-batch', '-x', script], (_e, so, se) => resolve(so + se));
    });
    // gdb's own words: the breakpoint, the two steps, the watchpoint (gdb single-steps the
    // guest to watch it) hit twice, the end breakpoint.
    expect(gdbOut).toContain(`Breakpoint 1, 0x${sym('copy_process').toString(16).padStart(8, '0')} in ?? ()`);
    expect(gdbOut.match(/^Old value = /gm)?.length).toBe(2);
    expect(gdbOut).toContain(`Breakpoint 3, 0x${(sym('task0_user') + 7).toString(16).padStart(8, '0')} in ?? ()`);
    recorder.finish();
    await stub.close();
    expect(recorder.done).toBe(true);
    expect(out.join('')).toBe(plain.text);
  }, 90_000);

  it('traced runs leave the machine exactly as an untraced one (memory, registers, A/D bits, console)', () => {
    // Two recorders on one HookHub: the boot to past its first copy-on-write faults, and a
    // window around the first timer interrupt of the kernel (found by an interrupt hook).
    const N = firstTimer + 20;
    const s1: number[] = [];
    const s2: number[] = [];
    const m1 = machine(s1);
    m1.run(N);
    const m2 = machine(s2);
    const outA: string[] = [];
    const outB: string[] = [];
    const ra = new TraceRecorder(m2.cpu, m2.hookHub.slot(), { symbols, icount: [0, firstFault + 100], write: (s) => outA.push(s) }).start();
    const rb = new TraceRecorder(m2.cpu, m2.hookHub.slot(), { symbols, icount: [firstTimer - 5, firstTimer + 5], write: (s) => outB.push(s) }).start();
    m2.run(N);
    ra.finish();
    rb.finish();
    expect(ra.lines).toBeGreaterThan(firstFault);
    expect(outA.join('')).toMatch(/^# exception 0x0e/m);
    expect(outB.join('')).toMatch(/^# interrupt 0x20/m);
    expect(m2.instructions).toBe(N);
    expect(m2.cpu.dumpState()).toBe(m1.cpu.dumpState());
    expect(Buffer.compare(Buffer.from(m2.mem.u8), Buffer.from(m1.mem.u8))).toBe(0);
    expect(s2).toEqual(s1);
  }, 120_000);
});

describe('filters and events', () => {
  let full: Recorded;
  beforeAll(() => {
    full = record({ ...forkWindow() });
  }, 60_000);

  it('--max-lines, --icount, --cpl, --task', () => {
    const all = records(full.text);
    const first = all[0].icount;
    const ten = record({ ...forkWindow(), maxLines: 10 });
    expect(records(ten.text)).toEqual(all.slice(0, 10));
    const mid = record({ icount: [first + 100, first + 149] });
    expect(records(mid.text)).toEqual(all.filter((r) => r.icount >= first + 100 && r.icount <= first + 149));
    // At CPL 3 only the int 0x80 itself (the iret executes at CPL 0).
    const user = record({ ...forkWindow(), cpl: 3 });
    expect(records(user.text).map((r) => r.disasm)).toEqual(['int 0x80 <task0_user+0x5>']);
    // Task 0 (TR = 0x20) throughout; no line under another task.
    expect(records(record({ ...forkWindow(), task: 0x20 }).text)).toEqual(all);
    expect(record({ ...forkWindow(), task: 0x30 }).recorder.lines).toBe(0);
  }, 60_000);

  it('--range keeps the lines in range, with state lines for what happened between (trace-diff agrees)', () => {
    const lo = sym('copy_page_tables');
    const hi = sym('copy_page_tables.exists') + 0x40;
    const ranged = record({ ...forkWindow(), ranges: [[lo, hi]] });
    const r = records(ranged.text);
    expect(r.length).toBeGreaterThan(1000);
    expect(r.every((x) => x.linear >= lo && x.linear <= hi)).toBe(true);
    expect(r).toEqual(records(full.text).filter((x) => x.linear >= lo && x.linear <= hi));
    // A state line after each gap (the calls to get_free_page) carries the registers.
    expect(ranged.text.split('\n').filter((l) => l.startsWith('# state')).length).toBeGreaterThan(1);
    const d = diffFiles(full.text, ranged.text, { ranges: [[lo, hi]] });
    expect(d.differences).toEqual([]);
    expect(d.agree).toBe(r.length);
  }, 60_000);

  it('a page fault: the faulting line, the exception event and its frame, the handler', () => {
    // The first copy-on-write fault of the run (init writing to a page it shares with task 0).
    const t = record({ icount: [firstFault - 10, firstFault + 10] });
    const lines = t.text.split('\n');
    const ev = lines.findIndex((l) => l.startsWith('# exception 0x0e'));
    expect(ev).toBeGreaterThan(0);
    // error 7: a user-mode write to a present page (copy-on-write). The frame the CPU pushes
    // onto the ring-0 stack follows ' ; ': SS, ESP, EFLAGS, CS, EIP, the error code, each a
    // dword below the last, from the top of the task's kernel stack.
    const frame = /^# exception 0x0e error=0x0007 ; ((?:\[[0-9a-f]{8}\]=[0-9a-f]{8} ?){6})$/.exec(lines[ev]);
    expect(frame, lines[ev]).not.toBeNull();
    const pushes = frame![1].trim().split(' ').map((w) => w.slice(1).split(']=').map((x) => parseInt(x, 16)));
    for (let k = 1; k < 6; k++) expect(pushes[k][0]).toBe(pushes[k - 1][0] - 4);
    const faulting = parseTextLine(lines[ev - 1])!;
    expect(pushes.map((p) => p[1])).toEqual([0x17, expect.any(Number), expect.any(Number), 0x0f, faulting.eip, 7]);
    expect(faulting.icount).toBe(firstFault - 1);
    expect(faulting.cs).toBe(0x0f);
    expect(lines[ev + 1]).toMatch(/^# state .*cs=0008/);
    const handler = parseTextLine(lines[ev + 2])!;
    expect(handler.icount).toBe(firstFault); // the faulting instruction counts as executed
    expect(handler.linear).toBe(sym('page_fault'));
    expect(handler.disasm).toMatch(/<page_fault/);
  }, 60_000);

  it('a timer interrupt: the event and a state line between two instructions', () => {
    const t = record({ icount: [firstTimer - 2, firstTimer + 3] });
    const lines = t.text.split('\n');
    const ev = lines.findIndex((l) => l.startsWith('# interrupt 0x20'));
    expect(ev).toBeGreaterThan(0);
    expect(parseTextLine(lines[ev - 1])!.icount).toBe(firstTimer - 1);
    expect(lines[ev + 1]).toMatch(/^# state .*cs=0008/);
    const h = parseTextLine(lines[ev + 2])!;
    expect(h.icount).toBe(firstTimer);
    expect(h.disasm).toMatch(/<timer_interrupt/);
  }, 60_000);
});

describe('forklab trace with symbols', () => {
  it('--from SYMBOL --to SYMBOL, --range SYM..SYM, --max-lines; kernel.map found beside the image', async () => {
    const d = mkdtempSync(join(dir, 'syms-'));
    const img = join(d, 'forklab.img');
    writeFileSync(img, image);
    writeFileSync(join(d, 'kernel.map'), symbols.map((x) => `${x.address.toString(16).toUpperCase().padStart(8, '0')} ${x.name}`).join('\n') + '\n');
    const out = join(d, 'cp.trace');
    const r = await quiet(() => traceCommand([img, '-o', out, '--from', 'copy_process', '--to', 'copy_process.out', '--max-lines', '50', '--exit-when-done']));
    expect(r.value).toBe(0);
    const recs = records(readFileSync(out, 'utf8'));
    expect(recs).toHaveLength(50);
    expect(recs[0]).toMatchObject({ linear: sym('copy_process'), disasm: expect.stringMatching(/<copy_process>$/) });
    const out2 = join(d, 'cpt.trace');
    const r2 = await quiet(() => traceCommand([img, '-o', out2, '--from', 'task0_user+5', '--to', 'task0_user+7', '--range', 'copy_page_tables..copy_page_tables.exists', '--exit-when-done']));
    expect(r2.value).toBe(0);
    const recs2 = records(readFileSync(out2, 'utf8'));
    expect(recs2.length).toBeGreaterThan(1000);
    expect(recs2.every((x) => x.linear >= sym('copy_page_tables') && x.linear <= sym('copy_page_tables.exists'))).toBe(true);
  }, 60_000);
});

describe('forklab trace errors', () => {
  it('one line for each mistake', async () => {
    const edir = mkdtempSync(join(dir, 'errors-')); // no kernel.map beside the image
    const img = join(edir, 'e.img');
    writeFileSync(img, image);
    await expect(traceCommand([img])).rejects.toThrow(/-o FILE is required/);
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--format', 'xml'])).rejects.toThrow(/--format must be text or jsonl/);
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--from', 'copy_process'])).rejects.toThrow(/needs a symbol map/);
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--map', join(dir, 'nope.map')])).rejects.toThrow(/--map '.*nope\.map': cannot read/);
    writeFileSync(join(dir, 'k.map'), '00001000 foo\n');
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--map', join(dir, 'k.map'), '--from', 'bar'])).rejects.toThrow(/no symbol 'bar'/);
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--icount', '5..1'])).rejects.toThrow(/--icount/);
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--range', '0x10'])).rejects.toThrow(/not LO\.\.HI/);
    await expect(traceCommand([img, '-o', join(dir, 'x'), '--cpl', '4'])).rejects.toThrow(/--cpl/);
    await expect(traceCommand([join(dir, 'none.img'), '-o', join(dir, 'x')])).rejects.toThrow(/no such file/);
    await expect(traceCommand([img, '-o', join(dir, 'no', 'such', 'dir', 'x')])).rejects.toThrow(/cannot write/);
  });

  it('exit status as forklab run: 124 at --max-instructions', async () => {
    const img = join(mkdtempSync(join(dir, 'max-')), 'm.img');
    writeFileSync(img, image);
    const out = join(dir, 'm.trace');
    const r = await quiet(() => traceCommand([img, '-o', out, '--max-instructions', '1000', '--icount', '10..19']));
    expect(r.value).toBe(124);
    expect(r.err).toMatch(/trace: 10 instructions written/);
    expect(records(readFileSync(out, 'utf8')).map((x) => x.icount)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });
});
