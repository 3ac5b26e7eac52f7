// The one door from web/ into the emulator and kernel/inspect: everything the page shows
// about a machine or a kernel comes through here, so a change in their APIs touches this
// file only. It also holds the view logic that is kernel-aware, for any kernel profile
// kernel/inspect knows (ours, the real Linux 0.11): page classes for the page map, and the
// event timeline (fork, write-protect fault, page copied, exit, wait) with exact
// instruction counts. The layouts (task_struct offsets, the 64 MB slot, mem_map from
// LOW_MEM) are the profile's: this file reads them through the KernelInspector only.
//
// Cost (DESIGN decision 8): the timeline listens on the CPU's interrupt hook, which runs
// only when an interrupt or exception is delivered, so the guest keeps its fast loop. fork,
// exit, kill and waitpid are recorded at their `int 0x80` (both kernels use Linux's system
// call numbers). When the outcome is a little further on, an instruction hook listens for that
// short window only, until the CPU is back in user mode: a fork's child (last_pid), a
// write-protect fault's page (copied or not), release when waitpid finds a zombie at once,
// tell_father when an exception ends the task. Those names are in both kernels' maps. Not
// recorded: the end of a task a signal killed (its kill is), and a reap after waitpid slept
// (windows that long would slow the guest down twofold).

import { Machine, type MachineOptions } from '../emulator/machine';
import { DiskImage, floppyGeometry, hardDiskGeometry, FLOPPY_FORMATS, floppyFormatFor, imageIsFloppy } from '../emulator/devices/disk';
import { Debugger } from '../emulator/debug/debugger';
import type { HookSlot } from '../emulator/debug/hooks';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import { TEXT_COLUMNS, TEXT_ROWS, VGA_TEXT_SIZE } from '../emulator/devices/vga';
import { PAGE_CLASSES, NOT_PRESENT, hex, type PageClass } from './shared';
import { KernelInspector, SymbolMap, attachKernel, type KernelAttachment, type PageEntry, type TaskInfo } from '../kernel/inspect';

export { Machine, Debugger, SymbolMap, TraceRecorder, TEXT_COLUMNS, TEXT_ROWS, attachKernel, type KernelAttachment };

/** A problem with a file the user gave: one line, shown in the page. */
export class ImageError extends Error {}

const FLOPPY_SIZES = FLOPPY_FORMATS.map((f) => `${f.name} = ${f.size}`).join(', ');

/** A file the user gave as a disk. */
export interface DiskFile {
  name: string;
  data: Uint8Array;
}

/** The file's bytes, gunzipped when it is gzip data (1f 8b: Linux 0.11's root disk comes as
 *  hdc-0.11.img.gz); a damaged gzip file is an ImageError. */
export async function unpackDisk(name: string, data: Uint8Array): Promise<Uint8Array> {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) return data;
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch {
    throw new ImageError(`'${name}' is not a disk image: its gzip data is damaged`);
  }
}

/**
 * The machine options for one or two disks, each taken by its size as \`forklab run\` takes
 * IMAGE: a floppy when its size is a floppy format's, or when it is not a whole number of
 * sectors and a floppy holds it (a kernel Image, padded with zeros as QEMU does); else a hard
 * disk (whole sectors, with a geometry). At most one of each; the floppy boots when there is
 * one, and the disk that boots must carry the boot signature 55 AA in its first sector, as a
 * BIOS requires. Anything else is an ImageError naming why.
 */
export function diskOptions(files: DiskFile[]): MachineOptions {
  if (files.length === 0) throw new ImageError('no disk image given');
  const floppies = files.filter((f) => imageIsFloppy(f.data.length));
  const disks = files.filter((f) => !imageIsFloppy(f.data.length));
  if (floppies.length > 1 || disks.length > 1) {
    const [a, b] = floppies.length > 1 ? floppies : disks;
    throw new ImageError(`'${a.name}' and '${b.name}' are both ${floppies.length > 1 ? 'floppy' : 'hard-disk'} images: give one floppy and/or one hard disk`);
  }
  const fd = floppies[0], hd = disks[0];
  const boot = fd ?? hd;
  if (boot.data.length < 512) throw new ImageError(`'${boot.name}' is not a disk image: ${boot.data.length} bytes, less than one 512-byte sector`);
  if (boot.data[510] !== 0x55 || boot.data[511] !== 0xaa) {
    throw new ImageError(`'${boot.name}' is not a bootable disk image: its first sector does not end with the boot signature 55 AA`);
  }
  const o: MachineOptions = { bootOrder: fd ? ['a', 'c'] : ['c'] };
  if (fd) {
    const size = floppyFormatFor(fd.data.length)!;
    const data = size === fd.data.length ? fd.data : new Uint8Array(size);
    if (data !== fd.data) data.set(fd.data);
    o.fda = new DiskImage(data, floppyGeometry(size)!);
  }
  if (hd) {
    if (hd.data.length === 0 || hd.data.length % 512 !== 0) {
      throw new ImageError(`'${hd.name}' is not a disk image: ${hd.data.length} bytes fits no floppy format (${FLOPPY_SIZES}) and is not a whole number of 512-byte sectors`);
    }
    const hg = hardDiskGeometry(hd.data.length, hd.data.subarray(0, 512));
    if (!hg) throw new ImageError(`'${hd.name}': no hard-disk geometry fits ${hd.data.length} bytes`);
    o.hda = new DiskImage(hd.data, hg);
  }
  return o;
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
  /** The slot's linear range: base = nr * TASK_SIZE, size = the profile's TASK_SIZE. */
  base: number;
  size: number;
  tables: PageTableView[];
  totals: Record<PageClass, number>;
}

// ---------------------------------------------------------------------------------------
// the timeline

export type EventKind = 'fork' | 'wp-fault' | 'copy' | 'nocopy' | 'exit' | 'kill' | 'wait' | 'reap';

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

const NR_EXIT = 1, NR_FORK = 2, NR_WAITPID = 7, NR_KILL = 37;
/** An armed window ends after this many instructions even when user mode is not reached. */
const WINDOW = 200_000;
/** Where the timeline learns outcomes: last_pid (the pid find_empty_process gave a fork's
 *  child), tell_father (do_exit's notice to the father), release (waitpid freeing a zombie). */
const TIMELINE_SYMBOLS = ['last_pid', 'tell_father', 'release'] as const;

/** A window: handlers at kernel addresses, and one for the return to user mode (or the end
 *  of the window), whichever comes first closes it. */
interface Window {
  until: number;
  at: Map<number, () => void>;
  returned?: () => void;
}

/**
 * A kernel seen from the page through its profile: tasks, page maps and the timeline.
 * `KernelView.open` returns null when the symbol map fits no profile (another guest).
 */
export class KernelView {
  readonly events: TimelineEvent[] = [];
  /** Events ever recorded (the list keeps the last `keep`). */
  total = 0;
  private readonly at: Record<(typeof TIMELINE_SYMBOLS)[number], number>;
  private readonly windows: Window[] = [];
  /** Forks whose child is not known yet (their text changes once it is). */
  private readonly unresolved = new Set<TimelineEvent>();
  private pendingFault: { linear: number; pid: number; nr: number; frame: number } | null = null;

  private constructor(
    readonly machine: Machine,
    readonly k: KernelInspector,
    private readonly slot: HookSlot,
    private readonly keep: number,
  ) {
    const missing = TIMELINE_SYMBOLS.filter((n) => !k.syms.has(n));
    if (missing.length) throw new Error(`the timeline needs ${missing.join(', ')} in the symbol map`);
    this.at = Object.fromEntries(TIMELINE_SYMBOLS.map((n) => [n, k.syms.addr(n)])) as KernelView['at'];
    this.slot.set(this.idle);
  }

  /** The view of `machine` through the kernel inspector attachKernel chose, or null when
   *  there is none or its map lacks the timeline's symbols. */
  static open(machine: Machine, inspector: KernelInspector | null, keep = 2000): KernelView | null {
    if (!inspector) return null;
    try {
      return new KernelView(machine, inspector, machine.hookHub.slot(), keep);
    } catch {
      return null;
    }
  }

  /** One line: which kernel profile the view reads. */
  get title(): string {
    return this.k.profile.title;
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

  /** The present page tables of slot nr's task slot (TASK_SIZE bytes from nr * TASK_SIZE),
   *  classified; null for an empty slot. */
  pageMap(nr: number): PageMapView | null {
    const t = this.k.task(nr);
    if (!t) return null;
    const totals = Object.fromEntries(PAGE_CLASSES.map((c) => [c, 0])) as Record<PageClass, number>;
    const tables: PageTableView[] = [];
    const size = this.k.c.TASK_SIZE;
    const dirs = size >>> 22;
    for (let d = nr * dirs; d < (nr + 1) * dirs; d++) {
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
    return { nr, pid: t.pid, base: (nr * size) >>> 0, size, tables, totals };
  }

  private task(): { pid: number; nr: number } {
    const nr = this.k.currentNr();
    const t = nr >= 0 ? this.k.task(nr) : null;
    return { pid: t ? t.pid : -1, nr };
  }

  /**
   * The events recorded after the first `seen` (a count of events ever recorded), at most the
   * newest `max`, stopping before a fork whose child is not known yet; and the count to pass
   * as `seen` next time.
   */
  eventsAfter(seen: number, max: number): { events: TimelineEvent[]; next: number } {
    const first = this.total - this.events.length; // the ordinal of events[0]
    const from = Math.max(seen, first, this.total - max) - first;
    let to = from;
    while (to < this.events.length && !this.unresolved.has(this.events[to])) to++;
    return { events: this.events.slice(from, to), next: first + to };
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
    if (vector === 0x80 && software) {
      const nr = cpu.regs[0];
      if (nr === NR_FORK) {
        const e = this.add('fork', 'fork');
        this.unresolved.add(e);
        this.arm({}, () => this.forked(e));
      } else if (nr === NR_EXIT) {
        this.add('exit', `exit(${cpu.regs[3] | 0})`);
      } else if (nr === NR_KILL) {
        this.add('kill', `kill(${cpu.regs[3] | 0}, signal ${cpu.regs[1] | 0})`);
      } else if (nr === NR_WAITPID) {
        const pid = cpu.regs[3] | 0;
        this.add('wait', `waitpid(${pid}${cpu.regs[2] & 1 ? ', WNOHANG' : ''})`);
        this.arm({ [this.at.release]: () => this.reaped() });
      }
    } else if (vector < 32 && !software && cpu.cpl === 3) {
      // an exception in user code: a write-protect fault (error code: present, write) is
      // resolved by the time user code runs again; any exception may end the task (do_exit
      // calls tell_father)
      let resolved: (() => void) | undefined;
      if (vector === 14 && (code & 3) === 3) {
        const linear = cpu.cr2 >>> 0;
        const who = this.task();
        const e = this.pte(linear);
        const count = this.k.countOf((e & 0xfffff000) >>> 0);
        this.add('wp-fault', `write-protect fault at ${hex(linear)} (frame ${hex(e & 0xfffff000)}, count ${count ?? '-'})`, linear & ~0xfff, who);
        this.pendingFault = { linear, pid: who.pid, nr: who.nr, frame: (e & 0xfffff000) >>> 0 };
        resolved = () => this.faultDone();
      }
      this.arm({ [this.at.tell_father]: () => this.killed() }, resolved);
    }
  }

  /** Listens before each instruction until one of `at` is reached (that handler runs), or
   *  user code runs again or WINDOW instructions pass (`returned` runs). Windows overlap. */
  private arm(at: Record<number, () => void>, returned?: () => void): void {
    const map = new Map<number, () => void>();
    for (const [addr, fn] of Object.entries(at)) map.set(Number(addr), fn);
    this.windows.push({ until: this.machine.instructions + WINDOW, at: map, returned });
    if (this.windows.length === 1) this.slot.set(this.listening);
  }

  private readonly idle = { interrupt: (v: number, sw: boolean, code: number) => this.onInterrupt(v, sw, code) };
  private readonly listening = {
    interrupt: this.idle.interrupt,
    beforeInstruction: (linear: number): boolean => {
      const w = this.windows;
      const user = this.machine.cpu.cpl === 3;
      for (let i = 0; i < w.length; i++) {
        const fn = w[i].at.get(linear);
        if (fn === undefined && !user && this.machine.instructions < w[i].until) continue;
        const { returned } = w[i];
        w.splice(i--, 1);
        (fn ?? returned)?.(); // may open new windows
      }
      if (w.length === 0) this.slot.set(this.idle);
      return false;
    },
  };

  /** A fork's outcome, once user code runs again after its system call: the child is the
   *  task with the pid find_empty_process put in last_pid. */
  private forked(e: TimelineEvent): void {
    this.unresolved.delete(e);
    const pid = this.k.mem.i32(this.at.last_pid);
    const child = this.k.tasks().find((t) => t.pid === pid && t.father === e.pid);
    e.text = child ? `fork: child pid ${pid} in slot ${child.nr} (${hex(child.nr * this.k.c.TASK_SIZE)})` : 'fork failed: no free task slot (-EAGAIN)';
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
    const T = this.k.profile.task;
    const pid = this.k.mem.i32(p + T.pid);
    this.add('reap', `waitpid reaped pid ${pid} (exit status 0x${(this.k.mem.u32(p + T.exitCode) >>> 0).toString(16)}): its slot and task_struct freed`);
  }
}
