// The machine side of the page: one PC with its debugger, kernel view, timeline and trace
// ring, driven by the requests of web/protocol.ts. It runs in the Web Worker (web/worker.ts)
// and, unchanged, under Node in the tests. Run control is the debugger engine's
// (emulator/debug/debugger.ts): `continue` runs in slices and yields between them, so a
// pause, a key or a breakpoint added while the guest runs is taken at the next slice.

import {
  Debugger, ImageError, KernelView, attachKernel, Machine, TraceRecorder, diskOptions, parseSymbols, screenCells, unpackDisk,
  TEXT_COLUMNS, TEXT_ROWS, type DiskFile, type SymbolMap,
} from './adapter';
import type { BreakpointRow, Reply, Request, TaskRow } from './protocol';
import { EVENTS_KEPT } from './shared';

export interface SessionOptions {
  /** Instructions per slice between frames (default 200 000). */
  slice?: number;
  /** Milliseconds between screen frames while running (default 1000/60). */
  frameMs?: number;
  /** Milliseconds between kernel-panel updates while running (default 250). */
  kernelMs?: number;
  /** Trace lines kept (default 1000). */
  traceLines?: number;
}

/** Sends a reply to the page, handing over the buffers listed (not copied). */
type Post = (reply: Reply, transfer?: ArrayBuffer[]) => void;

const RUN_COMMANDS = /^(c|cont|continue|wait|s|si|step|stepi|n|ni|next|nexti|fin|finish)\b/i;
/** The commands that run the guest until it stops: run() (running, frames, pause). */
const LONG_RUNS = /^(c|cont|continue|wait)\b/i;
const POINT_COMMANDS = /^(b|br|break|tb|tbreak|watch|rwatch|awatch)\b/i;

export class Session {
  machine: Machine | null = null;
  debugger: Debugger | null = null;
  kernel: KernelView | null = null;
  running = false;
  /** What the page shows as the machine's status: the last stop report. */
  status = 'no image';
  selectedTask = 1;
  memoryExpr = '$esp';

  private image: { name: string; disks: DiskFile[]; symbols: SymbolMap | null } | null = null;
  /** Why the kernel panels are empty for this image's map (one line), or null. */
  private kernelProblem: string | null = null;
  private run$: Promise<void> | null = null;
  /** The commands that made the breakpoints/watchpoints still set, by number: replayed after a reset. */
  private points = new Map<number, string>();
  private serial = '';
  private trace: TraceRing | null = null;
  private traceOn = false;
  private readonly screen = new Uint8Array(TEXT_COLUMNS * TEXT_ROWS * 2);
  private lastFrame = 0;
  private lastKernel = 0;
  /** Timeline events the page has (a count of events ever recorded): it is sent the rest. */
  private eventsSent = 0;
  private mipsAt = { t: 0, icount: 0 };
  mips = 0;
  private readonly o: Required<SessionOptions>;

  constructor(private readonly post: Post, options: SessionOptions = {}) {
    this.o = { slice: 200_000, frameMs: 1000 / 60, kernelMs: 250, traceLines: 1000, ...options };
  }

  /** Handles one request; resolves when it is done (a run: when the guest stops). */
  async handle(r: Request): Promise<void> {
    try {
      switch (r.type) {
        case 'load': return await this.load(r.disks.map((d) => ({ name: d.name, data: new Uint8Array(d.image) })), r.map, r.mapName);
        case 'run': return await this.run('continue');
        case 'pause': return this.pause();
        case 'step':
        case 'next':
        case 'finish':
          await this.command(r.type === 'step' ? 'stepi' : r.type === 'next' ? 'nexti' : 'finish');
          return;
        case 'run-to': {
          if (!(await this.command(`tbreak ${r.where}`))) return;
          return await this.run('continue');
        }
        case 'reset': return await this.reset();
        case 'command': {
          await this.command(r.line);
          return;
        }
        case 'break': {
          await this.command(`break ${r.where}`);
          return;
        }
        case 'delete': {
          await this.command(`delete ${r.num}`);
          return;
        }
        case 'keys': return this.machine?.kbc.sendScancodes(r.scancodes);
        case 'view':
          if (r.task !== undefined) this.selectedTask = r.task;
          if (r.memory !== undefined) this.memoryExpr = r.memory;
          this.postKernel();
          if (!this.running) await this.postState();
          return;
        case 'trace': return await this.setTrace(r.on);
      }
    } catch (e) {
      this.post({ type: 'error', message: e instanceof ImageError ? e.message : `internal error: ${(e as Error).message}` });
      if (!(e instanceof ImageError)) throw e;
    }
  }

  /** Checks and boots a floppy and/or a hard disk (gzip data unpacked). A bad file changes
   *  nothing: the machine before it goes on. */
  async load(files: DiskFile[], mapText: string | null, mapName = 'kernel.map'): Promise<void> {
    const disks: DiskFile[] = [];
    for (const f of files) disks.push({ name: f.name, data: await unpackDisk(f.name, f.data) });
    diskOptions(disks); // throws ImageError for files that are not boot images
    const symbols = mapText === null ? null : parseSymbols(mapName, mapText);
    await this.halt();
    this.image = { name: disks.map((d) => d.name).join(' + '), disks, symbols };
    this.points.clear();
    this.boot();
    this.postLoaded();
    await this.run('continue');
  }

  private postLoaded(): void {
    const img = this.image!;
    this.post({ type: 'loaded', name: img.name, symbols: img.symbols?.size ?? 0, kernel: this.kernel?.title ?? null, problem: this.kernelProblem });
  }

  private boot(): void {
    const img = this.image!;
    this.kernel?.detach();
    this.trace = null;
    this.serial = '';
    // fresh copies: disk writes of one boot do not leak into the next
    const disks = img.disks.map((d) => ({ name: d.name, data: d.data.slice() }));
    const m = new Machine({ ...diskOptions(disks), onSerial: (b) => void (this.serial += String.fromCharCode(b)) });
    this.machine = m;
    // the kernel profile the map fits (ours, Linux 0.11): the debugger's kernel commands and
    // task-slot names (<cow_var@task2>), as forklab debug has them, and the kernel panels
    const kern = img.symbols ? attachKernel(m.mem.u8, img.symbols) : null;
    this.debugger = new Debugger(m, {
      symbols: img.symbols ?? undefined,
      extension: kern?.extension,
      sliceInstructions: this.o.slice, onSlice: () => this.onSlice() });
    this.kernel = KernelView.open(m, kern?.inspector ?? null);
    this.eventsSent = 0;
    this.kernelProblem = kern ? kern.problem ?? (this.kernel ? null : 'the symbol map lacks the timeline\'s symbols') : 'no symbol map';
    this.status = `booting ${img.name}`;
    if (this.traceOn) void this.setTrace(true);
  }

  /** Stops a run and waits until it has. */
  private async halt(): Promise<void> {
    if (this.running) {
      this.debugger!.interrupt();
      await this.run$;
    }
  }

  /** A reset: the same image boots again from power-on; breakpoints and watchpoints stay. */
  async reset(): Promise<void> {
    if (!this.image) return;
    await this.halt();
    const keep = [...this.points.values()];
    this.points.clear();
    this.boot();
    this.postLoaded();
    for (const line of keep) await this.command(line, false);
    await this.run('continue');
  }

  pause(): void {
    if (this.running) this.debugger!.interrupt();
  }

  /** Runs a debugger command; false when it failed (the error was posted). */
  async command(line: string, show = true): Promise<boolean> {
    const d = this.debugger;
    if (!d) {
      this.post({ type: 'output', command: line, text: '', error: 'no image loaded' });
      return false;
    }
    if (RUN_COMMANDS.test(line.trim())) {
      if (this.running) {
        this.post({ type: 'output', command: line, text: '', error: 'the guest is running: pause it first' });
        return false;
      }
      if (LONG_RUNS.test(line.trim())) {
        await this.run(line.trim());
        return true;
      }
    }
    const r = await d.execute(line);
    if (!r.error && POINT_COMMANDS.test(line.trim())) {
      const num = /(?:breakpoint|watchpoint) (\d+)/i.exec(r.output);
      if (num && !/^t/i.test(line.trim())) this.points.set(Number(num[1]), line.trim());
    }
    if (RUN_COMMANDS.test(line.trim())) this.status = r.output;
    if (show) this.post({ type: 'output', command: line, text: r.output, error: r.error });
    this.postFrame();
    this.postKernel();
    if (!this.running) await this.postState();
    return !r.error;
  }

  /** Runs the guest with `continue` until it stops; posts frames while it runs. */
  async run(line: string): Promise<void> {
    const d = this.debugger;
    if (!d || this.running) return;
    if (d.ended) {
      this.post({ type: 'output', command: line, text: '', error: `the guest is not running (${d.ended}): reset or load an image` });
      return;
    }
    this.running = true;
    this.mipsAt = { t: performance.now(), icount: this.machine!.instructions };
    this.postFrame();
    let done!: () => void;
    this.run$ = new Promise((res) => (done = res));
    try {
      const r = await d.execute(line);
      this.status = r.error ?? r.output;
    } finally {
      this.running = false;
      this.updateMips(true);
      this.postFrame();
      this.postKernel();
      await this.postState();
      done();
    }
  }

  private updateMips(final = false): void {
    const now = performance.now();
    const dt = now - this.mipsAt.t;
    // a short run (a step, a breakpoint just ahead) says nothing about speed: keep the last
    if (dt < (final ? 100 : 250)) return;
    this.mips = (this.machine!.instructions - this.mipsAt.icount) / dt / 1000;
    this.mipsAt = { t: now, icount: this.machine!.instructions };
  }

  private onSlice(): void {
    const now = performance.now();
    this.updateMips();
    if (now - this.lastFrame >= this.o.frameMs) this.postFrame();
    if (now - this.lastKernel >= this.o.kernelMs) this.postKernel();
  }

  postFrame(): void {
    const m = this.machine;
    if (!m) return;
    this.lastFrame = performance.now();
    const cursor = screenCells(m, this.screen);
    const screen = this.screen.slice();
    this.post({ type: 'frame', screen, cursor, icount: m.instructions, mips: this.mips, running: this.running, serial: this.serial }, [screen.buffer as ArrayBuffer]);
    this.serial = '';
  }

  postKernel(): void {
    this.lastKernel = performance.now();
    const k = this.kernel;
    if (!k) return;
    const cur = k.currentNr();
    const tasks: TaskRow[] = k.tasks().map((t) => ({
      nr: t.nr, pid: t.pid, father: t.father, state: t.stateName, eip: t.tss.eip, base: t.ldt.data.base,
      cow: t.cow ? `${t.cow.faults}/${t.cow.copies}/${t.cow.nocopy}` : '-', current: t.nr === cur,
    }));
    const pm = k.pageMap(this.selectedTask);
    const transfer: ArrayBuffer[] = [];
    if (pm) for (const t of pm.tables) transfer.push(t.entries.buffer as ArrayBuffer, t.counts.buffer as ArrayBuffer, t.classes.buffer as ArrayBuffer);
    const s = k.k.cowStatistics();
    const { events, next } = k.eventsAfter(this.eventsSent, EVENTS_KEPT);
    this.eventsSent = next;
    this.post({
      type: 'kernel', tasks, selected: this.selectedTask, pageMap: pm ? { nr: pm.nr, pid: pm.pid, base: pm.base, size: pm.size, tables: pm.tables } : null,
      events, eventTotal: k.total,
      cow: s ? `${s.wpFaults} write faults, ${s.copies} pages copied, ${s.nocopy} made writable without a copy, ${k.k.freePages()} free pages` : `${k.k.freePages()} free pages`,
    }, transfer);
  }

  /** Posts registers, disassembly, memory, breakpoints and trace (resolves once posted). */
  async postState(): Promise<void> {
    const d = this.debugger;
    if (!d) return;
    const get = async (line: string) => {
      const r = await d.execute(line);
      d.history.pop();
      return r.error ? `(${r.error})` : r.output;
    };
    const info = await get('info breakpoints');
    const breakpoints: BreakpointRow[] = [];
    for (const row of info.split('\n')) {
      const m = /^(\d+)\s+(\S+(?: \S+)?)\s+(keep|del)\s+(0x[0-9a-f]+)\s+(.*)$/.exec(row);
      if (m) breakpoints.push({ num: Number(m[1]), text: `${m[2]} ${m[4]} ${m[5]}` });
    }
    for (const num of [...this.points.keys()]) if (!breakpoints.some((b) => b.num === num)) this.points.delete(num);
    this.post({
      type: 'state',
      status: this.status,
      regs: await get('regs'),
      disasm: await get('disas'),
      memory: await get(`x/16xw ${this.memoryExpr}`),
      breakpoints,
      trace: this.trace ? this.trace.text() : [],
      ended: d.ended !== null,
    });
  }

  /** Records the last N instructions in the DESIGN trace-line format (costly: while on, the
   *  guest takes the CPU's hooked loop). */
  async setTrace(on: boolean): Promise<void> {
    this.traceOn = on;
    const m = this.machine;
    if (!m) return;
    if (!on) {
      this.trace?.recorder.finish();
      this.trace = null;
      if (!this.running) await this.postState();
      return;
    }
    if (this.trace) return;
    this.trace = new TraceRing(m, this.image?.symbols ?? null, this.o.traceLines);
    if (!this.running) await this.postState();
  }
}

/** The last N lines of a trace recorder (emulator/debug/trace-recorder.ts). The line of the
 *  instruction at EIP is written once it has executed. */
class TraceRing {
  private readonly lines: string[] = [];
  private header = '';
  private partial = '';
  readonly recorder: TraceRecorder;

  constructor(m: Machine, symbols: SymbolMap | null, private readonly keep: number) {
    this.recorder = new TraceRecorder(m.cpu, m.hookHub.slot(), { symbols: symbols?.entries() ?? null, write: (t) => this.write(t) });
    this.recorder.start();
  }

  private write(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const p of parts) {
      if (!this.header) this.header = p;
      else this.lines.push(p);
    }
    if (this.lines.length > this.keep * 2) this.lines.splice(0, this.lines.length - this.keep);
  }

  /** The header line, then the last N lines. */
  text(): string[] {
    return [this.header, ...this.lines.slice(-this.keep)];
  }
}
