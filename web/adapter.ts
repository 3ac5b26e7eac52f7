// The one door from web/ into the emulator and kernel/inspect: everything the page shows
// about a machine or a kernel comes through here, so a change in their APIs touches this
// file only. It also holds the view logic that is kernel-aware (our kernel's profile):
// page classes for the page map, and the event timeline (fork, write-protect fault, page
// copied, exit, wait) with exact instruction counts.
//
// Cost (DESIGN decision 8): the timeline listens on the CPU's interrupt hook, which runs
// only when an interrupt or exception is delivered, so the guest keeps its fast loop. fork,
// exit and waitpid are recorded at their `int 0x80`; a fork's child is named at the next
// interrupt. When the outcome is a little further on (page_fault.done after a write-protect
// fault: copied or not; release when waitpid finds a zombie at once) an instruction hook
// listens for that short window only. Not recorded: a task ended by a signal (kill), and
// a reap after waitpid slept (windows that long would slow the guest down twofold).

import { Machine, type MachineOptions } from '../emulator/machine';
import { DiskImage, floppyGeometry, hardDiskGeometry, FLOPPY_FORMATS } from '../emulator/devices/disk';
import { Debugger } from '../emulator/debug/debugger';
import type { HookSlot } from '../emulator/debug/hooks';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import { TEXT_COLUMNS, TEXT_ROWS, VGA_TEXT_SIZE } from '../emulator/devices/vga';
import { PAGE_CLASSES, NOT_PRESENT, hex, type PageClass } from './shared';
import { KernelInspector, SymbolMap, attachKernel, type PageEntry, type TaskInfo } from '../kernel/inspect';
import { TASK_SIZE, T_PID, T_EXIT_CODE } from '../kernel/inspect/layout';

export { Machine, Debugger, SymbolMap, TraceRecorder, TEXT_COLUMNS, TEXT_ROWS, attachKernel };

/** A problem with a file the user gave: one line, shown in the page. */
export class ImageError extends Error {}

const FLOPPY_SIZES = FLOPPY_FORMATS.map((f) => `${f.name} = ${f.size}`).join(', ');

/**
 * The machine options for a boot image: a floppy when its size is a floppy format, else a
 * hard disk (a whole number of sectors with a geometry). Either way sector 0 must carry the
 * boot signature 55 AA, as a BIOS requires. Anything else is an ImageError naming why.
 */
export function diskOptions(name: string, data: Uint8Array): MachineOptions {
  if (data.length < 512) throw new ImageError(`'${name}' is not a disk image: ${data.length} bytes, less than one 512-byte sector`);
  if (data[510] !== 0x55 || data[511] !== 0xaa) {
    throw new ImageError(`'${name}' is not a bootable disk image: its first sector does not end with the boot signature 55 AA`);
  }
  const fg = floppyGeometry(data.length);
  if (fg) return { fda: new DiskImage(data, fg) };
  if (data.length % 512 !== 0) {
    throw new ImageError(`'${name}' is not a disk image: ${data.length} bytes fits no floppy format (${FLOPPY_SIZES}) and is not a whole number of 512-byte sectors`);
  }
  const hg = hardDiskGeometry(data.length, data.subarray(0, 512));
  if (!hg) throw new ImageError(`'${name}': no hard-disk geometry fits ${data.length} bytes`);
  return { hda: new DiskImage(data, hg), bootOrder: ['c'] };
}

/** Parses a kernel.map; a malformed file is an ImageError. */
export function parseSymbols(name: string, text: string): SymbolMap {
  try {
    return SymbolMap.parse(text, name);
  } catch (e) {
    throw new ImageError(`'${name}': ${(e as Error).message}`);
  }
}

/** The visible text screen: 4000 bytes (character, attribute) from the display start, and
 *  the cursor cell (-1 when hidden or off screen). */
export function screenCells(m: Machine, out: Uint8Array): number {
  const vga = m.vga;
  const start = vga.startAddress * 2;
  for (let i = 0; i < TEXT_COLUMNS * TEXT_ROWS * 2; i++) out[i] = vga.memory[(start + i) & (VGA_TEXT_SIZE - 1)];
  const c = vga.cursor();
  return c === null ? -1 : c.row * TEXT_COLUMNS + c.col;
}

// ---------------------------------------------------------------------------------------
// page map

/** The class of a present page, from its PTE and mem_map count (web/shared.ts says what
 *  each class means). */
export function classifyPage(p: Pick<PageEntry, 'rw' | 'user' | 'count' | 'kernelTable'>): PageClass {
  if (p.kernelTable || p.count === null || !p.user) return 'kernel';
  if (p.rw) return p.count > 1 ? 'wrong' : 'private';
  return p.count > 1 ? 'shared' : 'cow';
}

/** One page table of a task's slot: 1024 entries (0 = not present), with mem_map counts
 *  (-1 outside mem_map) and page classes (index into PAGE_CLASSES, 255 = not present). */
export interface PageTableView {
  /** Page-directory index (the table maps dir << 22 .. +4 MB). */
  dir: number;
  table: number;
  entries: Uint32Array;
  counts: Int16Array;
  classes: Uint8Array;
}

export interface PageMapView {
  nr: number;
  pid: number;
  tables: PageTableView[];
  totals: Record<PageClass, number>;
}

// ---------------------------------------------------------------------------------------
// the timeline

export type EventKind = 'fork' | 'wp-fault' | 'copy' | 'nocopy' | 'exit' | 'wait' | 'reap';

export interface TimelineEvent {
  /** Instructions executed when it happened. */
  icount: number;
  kind: EventKind;
  /** The task it happened in (pid and slot). */
  pid: number;
  nr: number;
  text: string;
  /** The page concerned (faults, copies), linear. */
  linear?: number;
}

const NR_EXIT = 1, NR_FORK = 2, NR_WAITPID = 7;
/** An armed window ends after this many instructions even when its symbol is not reached. */
const WINDOW = 200_000;

/**
 * Our kernel seen from the page: tasks, page maps and the timeline. Null-safe for other
 * guests: `KernelView.open` returns null when the symbol map is not our kernel's.
 */
export class KernelView {
  readonly events: TimelineEvent[] = [];
  /** Events ever recorded (the list keeps the last `keep`). */
  total = 0;
  private readonly at: Record<string, number>;
  private readonly windows: { until: number; ends: Map<number, () => void> }[] = [];
  private pendingFork: TimelineEvent | null = null;
  private readonly lastPid: number;
  private pendingFault: { linear: number; pid: number; nr: number; frame: number } | null = null;

  private constructor(
    readonly machine: Machine,
    readonly k: KernelInspector,
    private readonly slot: HookSlot,
    private readonly keep: number,
  ) {
    const s = k.syms;
    this.lastPid = s.addr('last_pid');
    this.at = Object.fromEntries(
      ['page_fault.done', 'tell_father', 'release', 'sys_waitpid.sleep', 'sys_waitpid.out'].map((n) => [n, s.addr(n)]),
    );
    this.slot.set(this.idle);
  }

  /** The view, or null when `symbols` is not our kernel's map (another guest). */
  static open(machine: Machine, symbols: SymbolMap, keep = 2000): KernelView | null {
    try {
      return new KernelView(machine, new KernelInspector(machine.mem.u8, symbols), machine.hookHub.slot(), keep);
    } catch {
      return null;
    }
  }

  detach(): void {
    this.slot.set(null);
  }

  tasks(): TaskInfo[] {
    return this.k.tasks();
  }

  currentNr(): number {
    return this.k.currentNr();
  }

  /** The present page tables of slot nr's 64 MB, classified; null for an empty slot. */
  pageMap(nr: number): PageMapView | null {
    const t = this.k.task(nr);
    if (!t) return null;
    const totals = Object.fromEntries(PAGE_CLASSES.map((c) => [c, 0])) as Record<PageClass, number>;
    const tables: PageTableView[] = [];
    for (let d = nr * 16; d < nr * 16 + 16; d++) {
      const pde = this.k.pde(d);
      if ((pde & 1) === 0) continue;
      const table = (pde & 0xfffff000) >>> 0;
      const kernelTable = this.k.isKernelTable(table);
      const v: PageTableView = { dir: d, table, entries: new Uint32Array(1024), counts: new Int16Array(1024), classes: new Uint8Array(1024) };
      for (let i = 0; i < 1024; i++) {
        const e = this.k.mem.u32(table + i * 4);
        v.entries[i] = e;
        if ((e & 1) === 0) {
          v.classes[i] = NOT_PRESENT;
          v.counts[i] = -1;
          continue;
        }
        const count = this.k.countOf((e & 0xfffff000) >>> 0);
        v.counts[i] = count ?? -1;
        const c = classifyPage({ rw: (e & 2) !== 0, user: (e & 4) !== 0, count, kernelTable });
        v.classes[i] = PAGE_CLASSES.indexOf(c);
        totals[c]++;
      }
      tables.push(v);
    }
    return { nr, pid: t.pid, tables, totals };
  }

  private task(): { pid: number; nr: number } {
    const nr = this.k.currentNr();
    const t = nr >= 0 ? this.k.task(nr) : null;
    return { pid: t ? t.pid : -1, nr };
  }

  private add(kind: EventKind, text: string, linear?: number, who = this.task()): TimelineEvent {
    const e: TimelineEvent = { icount: this.machine.instructions, kind, pid: who.pid, nr: who.nr, text };
    if (linear !== undefined) e.linear = linear;
    this.events.push(e);
    this.total++;
    if (this.events.length > this.keep) this.events.splice(0, this.events.length - this.keep);
    return e;
  }

  /** The page-table entry mapping `linear` (0 when absent). */
  private pte(linear: number): number {
    const pde = this.k.pde(linear >>> 22);
    if ((pde & 1) === 0) return 0;
    return this.k.mem.u32(((pde & 0xfffff000) >>> 0) + ((linear >>> 12) & 0x3ff) * 4);
  }

  private onInterrupt(vector: number, software: boolean, code: number): void {
    const cpu = this.machine.cpu;
    // the fork is done once user code runs again (an interrupt taken inside copy_process is not)
    if (this.pendingFork && cpu.cpl === 3) this.forked(this.pendingFork);
    if (vector === 0x80 && software) {
      const nr = cpu.regs[0];
      if (nr === NR_FORK) {
        this.pendingFork = this.add('fork', 'fork');
      } else if (nr === NR_EXIT) {
        this.add('exit', `exit(${cpu.regs[3] | 0})`);
      }
      else if (nr === NR_WAITPID) {
        const pid = cpu.regs[3] | 0;
        this.add('wait', `waitpid(${pid}${cpu.regs[2] & 1 ? ', WNOHANG' : ''})`);
        this.arm({ release: () => this.reaped(), 'sys_waitpid.sleep': () => {}, 'sys_waitpid.out': () => {} });
      }
    } else if (vector < 32 && !software && cpu.cpl === 3) {
      // an exception in user code: a write-protect fault (error code: present, write) is
      // resolved at page_fault.done; any exception may end the task (do_exit, tell_father)
      if (vector === 14 && (code & 3) === 3) {
        const linear = cpu.cr2 >>> 0;
        const who = this.task();
        const e = this.pte(linear);
        const count = this.k.countOf((e & 0xfffff000) >>> 0);
        this.add('wp-fault', `write-protect fault at ${hex(linear)} (frame ${hex(e & 0xfffff000)}, count ${count ?? '-'})`, linear & ~0xfff, who);
        this.pendingFault = { linear, pid: who.pid, nr: who.nr, frame: (e & 0xfffff000) >>> 0 };
      }
      this.arm(vector === 14 ? { 'page_fault.done': () => this.faultDone(), tell_father: () => this.killed() } : { tell_father: () => this.killed() });
    }
  }

  /** Listens before each instruction until one of `ends` is reached (that handler runs and
   *  the window closes) or WINDOW instructions pass. Windows overlap freely. */
  private arm(ends: Record<string, () => void>): void {
    const map = new Map<number, () => void>();
    for (const [name, fn] of Object.entries(ends)) map.set(this.at[name], fn);
    this.windows.push({ until: this.machine.instructions + WINDOW, ends: map });
    if (this.windows.length === 1) this.slot.set(this.listening);
  }

  private readonly idle = { interrupt: (v: number, sw: boolean, code: number) => this.onInterrupt(v, sw, code) };
  private readonly listening = {
    interrupt: this.idle.interrupt,
    beforeInstruction: (linear: number): boolean => {
      const w = this.windows;
      for (let i = 0; i < w.length; i++) {
        const fn = w[i].ends.get(linear);
        if (fn === undefined && this.machine.instructions < w[i].until) continue;
        w.splice(i--, 1);
        fn?.(); // may open new windows
      }
      if (w.length === 0) this.slot.set(this.idle);
      return false;
    },
  };

  /** A fork's outcome, at the first interrupt of user code after its system call: the child
   *  is the task with the pid find_empty_process put in last_pid. */
  private forked(e: TimelineEvent): void {
    this.pendingFork = null;
    const pid = this.k.mem.i32(this.lastPid);
    const child = this.k.tasks().find((t) => t.pid === pid && t.father === e.pid);
    e.text = child ? `fork: child pid ${pid} in slot ${child.nr} (${hex(child.nr * TASK_SIZE)})` : 'fork failed: no free task slot (-EAGAIN)';
  }

  private faultDone(): void {
    const f = this.pendingFault;
    this.pendingFault = null;
    if (!f) return;
    const e = this.pte(f.linear);
    const frame = (e & 0xfffff000) >>> 0;
    const page = (f.linear & ~0xfff) >>> 0;
    if (frame !== f.frame) this.add('copy', `page ${hex(page)} copied: frame ${hex(f.frame)} -> ${hex(frame)}`, page, f);
    else if (e & 2) this.add('nocopy', `page ${hex(page)} made writable without a copy (last sharer)`, page, f);
  }

  /** do_exit reached tell_father after an exception ended the task. */
  private killed(): void {
    const who = this.task();
    const t = who.nr >= 0 ? this.k.task(who.nr) : null;
    this.add('exit', `killed by an exception, status 0x${((t?.exitCode ?? 0) >>> 0).toString(16)}`, undefined, who);
  }

  /** At release(p), before it frees the zombie's task_struct: p is its argument. */
  private reaped(): void {
    const p = this.k.mem.u32((this.machine.cpu.regs[4] + 4) >>> 0);
    if (p === 0) return;
    const pid = this.k.mem.i32(p + T_PID);
    this.add('reap', `waitpid reaped pid ${pid} (exit status 0x${(this.k.mem.u32(p + T_EXIT_CODE) >>> 0).toString(16)}): its slot and task_struct freed`);
  }
}

