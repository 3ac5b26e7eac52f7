// The built-in debugger's command engine (issue 6, item 5): gdb-like commands over a
// Machine. It knows no kernel: kernel-aware commands (ps, task, pt, memmap) come from a
// DebuggerExtension that the command line or the Library plugs in (kernel/inspect's
// profiles). UI-free: `execute(line)` returns
// the text to show, so the REPL (tools/debug-command.ts), the tests and a browser front end
// all drive the same engine. Every error a user can cause is one line (`DebugError`).
//
// Run control goes through the machine's DebugTarget (breakpoints, watchpoints on linear
// addresses) plus one HookHub slot of our own for what the target does not do: physical
// watchpoints, `next` over calls, `finish`. Reading memory never faults and never sets an
// Accessed/Dirty bit (DESIGN decision 8): the guest runs exactly as without the debugger.
//
// Addresses are expressions: numbers (0x.. hex, decimal), kernel symbols (copy_process,
// copy_process.out), registers ($eip or bare eip), + - * / % & | ^ << >> ~ ! == != < > <= >=
// && ||, parentheses, and *EXPR (a dword read at a linear address). `phys:EXPR` names a
// physical address where a command takes one (x, watch).

import type { Machine, MachineStop } from '../machine';
import type { CpuDebugTarget } from './cpu-target';
import type { HookSlot } from './hooks';
import type { StopReason, WatchKind } from './target';
import { readLinear, readPhysicalPartial } from './target';
import { decode, Insn, type CodeSource } from '../cpu/decoder';
import { disassembleOne } from '../cpu/disasm';
import { T_VALID, T_UREAD, T_SWRITE, T_UWRITE } from '../cpu/consts';
import { unescapeKeys } from '../devices/kbc';
import { walkTables } from '../mmu/paging';
import { SymbolMap, type KernelSymbol } from './symbols';
import { Reverse, type ReverseStop } from './reverse';
import type { HistoryOptions } from '../history';

/** A problem with what the user typed, or with the state asked about: one line. */
export class DebugError extends Error {}

export interface CommandResult {
  /** Text to show (lines joined by \n, no trailing newline); '' for none. */
  output: string;
  /** The one-line error, when the command failed. */
  error?: string;
  /** The user asked to quit. */
  quit?: boolean;
}

/**
 * What a kernel profile adds to the debugger (kernel/inspect/debug-commands.ts): commands,
 * and names for addresses the symbol map alone does not give.
 */
export interface DebuggerExtension {
  /** Lines for `help`, after the built-in commands. */
  help: string;
  /** Command name -> handler (its argument text); throw DebugError for a user's mistake. */
  commands: Record<string, (arg: string, d: Debugger) => string>;
  /** A name for `address` when the extension knows better than the symbol map (a user
   *  address in a task's slot), else undefined. */
  describeAddress?(address: number, symbols: SymbolMap): string | undefined;
  /** A note for `translate` on the frame a walk ends in (e.g. its mem_map count), or ''. */
  frameNote?(frame: number): string;
}

export interface DebuggerOptions {
  /** The image's symbols (kernel.map, System.map): names in addresses and expressions. */
  symbols?: SymbolMap | readonly KernelSymbol[];
  /** Kernel-aware commands (kernel/inspect's `debuggerExtension`). */
  extension?: DebuggerExtension;
  /** Instructions per slice of `continue` between checks for interrupt() (default 2 M). */
  sliceInstructions?: number;
  /** Called between slices of a long run (a REPL flushes the guest's output here). */
  onSlice?: () => void;
  /** Keep history for the reverse commands (default: yes, with the history's defaults),
   *  unless the machine keeps it already. */
  history?: boolean | HistoryOptions;
}

interface Point {
  num: number;
  type: 'breakpoint' | 'tbreak' | 'watchpoint';
  address: number;
  /** Watchpoints: length, kind, physical or linear; the value when set (length <= 4). */
  length: number;
  watch: WatchKind;
  physical: boolean;
  old: number;
  cond: string | null;
  hits: number;
  text: string;
}

const GPR = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const ALIASES: Record<string, string> = { pc: 'eip', sp: 'esp', fp: 'ebp', ps: 'eflags' };
const SYS_TYPES: Record<number, string> = {
  1: 'TSS16 available', 2: 'LDT', 3: 'TSS16 busy', 4: 'call gate16', 5: 'task gate', 6: 'interrupt gate16',
  7: 'trap gate16', 9: 'TSS32 available', 11: 'TSS32 busy', 12: 'call gate32', 14: 'interrupt gate32', 15: 'trap gate32',
};
const FLAG_NAMES: [number, string][] = [
  [0, 'CF'], [2, 'PF'], [4, 'AF'], [6, 'ZF'], [7, 'SF'], [8, 'TF'], [9, 'IF'], [10, 'DF'], [11, 'OF'], [14, 'NT'], [16, 'RF'], [17, 'VM'],
];

/** Instructions between screen checks of `wait` (fixed: the same stop every run). */
const SCREEN_SLICE = 100_000;

export const hex = (v: number, w = 8): string => '0x' + (v >>> 0).toString(16).padStart(w, '0');

/** The descriptor type in words: "code r-x", "data rw-", or a system type. */
export function describeType(access: number): string {
  if ((access & 0x10) === 0) return SYS_TYPES[access & 15] ?? `system type ${access & 15}`;
  if (access & 8) return `code ${access & 2 ? 'r-x' : '--x'}${access & 4 ? ' conforming' : ''}`;
  return `data ${access & 2 ? 'rw-' : 'r--'}${access & 4 ? ' expand-down' : ''}`;
}

/** One line for the page-table entry flags: P RW/RO U/S A D. */
export function entryFlags(e: number): string {
  if ((e & 1) === 0) return 'not present';
  return ['P', e & 2 ? 'RW' : 'RO', e & 4 ? 'U' : 'S', e & 0x20 ? 'A' : '-', e & 0x40 ? 'D' : '-'].join(' ');
}

export class Debugger {
  readonly target: CpuDebugTarget;
  readonly extension: DebuggerExtension | null;
  readonly history: string[] = [];
  /** The guest's exit status (port F4h) once it exited; null while it runs. */
  exitStatus: number | null = null;
  /** Set when the guest stopped for good (exit, triple fault, halt, boot failure). */
  ended: string | null = null;

  readonly symbols: SymbolMap | null;
  private readonly points: Point[] = [];
  private nextNum = 1;
  private interrupted = false;
  private readonly slot: HookSlot;
  private readonly slice: number;
  private readonly onSlice: (() => void) | undefined;
  /** Our own stop (physical watch, next, finish), recognised after the target returns. */
  private ownStop: string | null = null;
  private readonly physWatches: Point[] = [];
  private readonly scratch = new Insn();
  /** `wait`: the screen pattern that ends the run, while one runs. */
  private screenWait: RegExp | null = null;

  constructor(readonly machine: Machine, options: DebuggerOptions = {}) {
    this.target = machine.debugTarget;
    this.slot = machine.hookHub.slot();
    this.slice = options.sliceInstructions ?? 2_000_000;
    this.onSlice = options.onSlice;
    const s = options.symbols;
    this.symbols = s === undefined ? null : s instanceof SymbolMap ? s : new SymbolMap(s);
    this.extension = options.extension ?? null;
    if (!machine.history && options.history !== false) machine.recordHistory(typeof options.history === 'object' ? options.history : {});
    this.reverse = new Reverse(machine, this.target);
  }

  private readonly reverse: Reverse;

  /** Stops a running `continue`/`next`/`finish` at the next slice (Ctrl-C). */
  interrupt(): void {
    this.interrupted = true;
    this.machine.stop();
  }

  /** Runs one command line. Never throws for a user's mistake: see `error`. */
  async execute(line: string): Promise<CommandResult> {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return { output: '' };
    this.history.push(text);
    try {
      return await this.dispatch(text);
    } catch (e) {
      if (e instanceof DebugError || e instanceof RangeError) return { output: '', error: e.message };
      if (e instanceof Error && /^kernel symbol|^task slot/.test(e.message)) return { output: '', error: e.message };
      throw e;
    }
  }

  private async dispatch(text: string): Promise<CommandResult> {
    const m = /^([a-z][a-z-]*)(\/\S*)?\s*(.*)$/i.exec(text);
    if (!m) throw new DebugError(`unknown command '${text.split(/\s/)[0]}' (try 'help')`);
    const cmd = m[1].toLowerCase();
    const fmt = m[2] ?? '';
    const arg = m[3].trim();
    const out = (s: string): CommandResult => ({ output: s });
    if (fmt && cmd !== 'x') throw new DebugError(`${cmd}: takes no /FMT`);
    switch (cmd) {
      case 'help': case 'h': return out(this.extension ? `${HELP}\n${this.extension.help}` : HELP);
      case 'quit': case 'q': case 'exit': return { output: '', quit: true };
      case 'break': case 'b': case 'br': return out(this.addBreak(arg, 'breakpoint'));
      case 'tbreak': case 'tb': return out(this.addBreak(arg, 'tbreak'));
      case 'watch': return out(this.addWatch(arg, 'write'));
      case 'rwatch': return out(this.addWatch(arg, 'read'));
      case 'awatch': return out(this.addWatch(arg, 'access'));
      case 'delete': case 'd': return out(this.deletePoints(arg));
      case 'info': case 'i': return out(this.info(arg));
      case 'step': case 's': case 'stepi': case 'si': return out(await this.stepN(arg, false));
      case 'next': case 'n': case 'nexti': case 'ni': return out(await this.stepN(arg, true));
      case 'finish': case 'fin': this.noArgs(cmd, arg); return out(await this.finish());
      case 'continue': case 'c': case 'cont': return out(await this.cont(arg));
      case 'reverse-stepi': case 'rsi': case 'reverse-step': case 'rs': return out(this.reverseStep(arg));
      case 'reverse-continue': case 'rc': this.noArgs(cmd, arg); return out(this.reverseCont());
      case 'reverse-finish': this.noArgs(cmd, arg); return out(this.reverseFinish());
      case 'goto': return out(this.gotoCount(arg));
      case 'x': return out(this.examine(fmt, arg));
      case 'regs': case 'registers': this.noArgs(cmd, arg); return out(this.registers());
      case 'disas': case 'disassemble': return out(this.disas(arg));
      case 'translate': case 'tr': return out(this.translate(arg));
      case 'print': case 'p': {
        const v = this.eval(arg);
        return out(`${hex(v)} (${v >>> 0})${this.symSuffix(v)}`);
      }
      case 'history': this.noArgs(cmd, arg); return out(this.history.map((h, i) => `${String(i + 1).padStart(4)}  ${h}`).join('\n'));
      case 'screen': this.noArgs(cmd, arg); return out(this.machine.screenText().replace(/\s+$/, ''));
      case 'type': return out(this.typeKeys(arg));
      case 'wait': return out(await this.waitScreen(arg));
      default: {
        const ext = this.extension?.commands[cmd];
        if (ext) return out(ext(arg, this));
        throw new DebugError(`unknown command '${cmd}' (try 'help')`);
      }
    }
  }

  noArgs(cmd: string, arg: string): void {
    if (arg !== '') throw new DebugError(`${cmd}: takes no arguments (got '${arg}')`);
  }

  // ================================================================================
  // expressions and symbols

  /** Evaluates an expression to an unsigned 32-bit number. */
  eval(text: string): number {
    if (text.trim() === '') throw new DebugError('missing address or expression');
    return new ExprParser(text, this).parse() >>> 0;
  }

  /** A `phys:` prefix or not, then the expression. */
  parseAddress(text: string): { address: number; physical: boolean } {
    const m = /^(phys|p|lin|linear):\s*(.*)$/i.exec(text.trim());
    if (m && m[1].toLowerCase().startsWith('p')) return { address: this.eval(m[2]), physical: true };
    return { address: this.eval(m ? m[2] : text), physical: false };
  }

  lookupSymbol(name: string): number | undefined {
    return this.symbols?.has(name) ? this.symbols.addr(name) : undefined;
  }

  readRegister(name: string): number | undefined {
    const n = ALIASES[name] ?? name;
    if (GPR.includes(n) || SEGS.includes(n) || ['eip', 'eflags', 'cr0', 'cr2', 'cr3'].includes(n)) return this.machine.cpu.readRegister(n);
    const w = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'].indexOf(n);
    if (w >= 0) return this.machine.cpu.regs[w] & 0xffff;
    return undefined;
  }

  readLinear32(linear: number): number {
    const b = readLinear(this.target, linear >>> 0, 4);
    if (b.length < 4) throw new DebugError(`cannot access memory at linear ${hex(linear)} (not mapped)`);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  /** `name+0x10` for an address near a symbol (the symbol map's rule), unless the
   *  extension names it (a user address in a task slot: `cow_var@task2`). */
  symbolize(address: number): string | undefined {
    if (!this.symbols) return undefined;
    return this.extension?.describeAddress?.(address >>> 0, this.symbols) ?? this.symbols.describe(address);
  }

  /** ` <name+0xN>` after an address, or ''. */
  symSuffix(address: number): string {
    const s = this.symbolize(address);
    return s ? ` <${s}>` : '';
  }

  // ================================================================================
  // breakpoints and watchpoints

  private addBreak(arg: string, type: 'breakpoint' | 'tbreak'): string {
    const m = /^(.*?)(?:\s+if\s+(.+))?$/.exec(arg)!;
    if (m[1].trim() === '') throw new DebugError(`${type === 'tbreak' ? 'tbreak' : 'break'}: give an address or symbol`);
    const address = this.eval(m[1]);
    const cond = m[2]?.trim() ?? null;
    if (cond !== null) this.eval(cond); // a bad condition is an error now, not at the hit
    const p: Point = { num: this.nextNum++, type, address, length: 1, watch: 'access', physical: false, old: 0, cond, hits: 0, text: m[1].trim() };
    this.points.push(p);
    this.target.addBreakpoint(address, 'hw');
    const kind = type === 'tbreak' ? 'Temporary breakpoint' : 'Breakpoint';
    return `${kind} ${p.num} at ${hex(address)}${this.symSuffix(address)}${cond ? ` if ${cond}` : ''}`;
  }

  private addWatch(arg: string, kind: WatchKind): string {
    // watch [-l N] ADDR: N bytes (default 4)
    let rest = arg;
    let length = 4;
    const lm = /^-l\s+(\d+)\s+(.*)$/.exec(rest) ?? /^(.*?)\s+len\s+(\d+)$/.exec(rest);
    if (lm) {
      const n = /^\d+$/.test(lm[1]) ? lm[1] : lm[2];
      rest = /^\d+$/.test(lm[1]) ? lm[2] : lm[1];
      length = Number(n);
      if (!(length >= 1 && length <= 4096)) throw new DebugError(`watch: length ${n} is not 1..4096`);
    }
    if (rest.trim() === '') throw new DebugError('watch: give an address (linear, or phys:ADDR)');
    const { address, physical } = this.parseAddress(rest);
    const old = this.peekValue(address, Math.min(length, 4), physical);
    const p: Point = { num: this.nextNum++, type: 'watchpoint', address, length, watch: kind, physical, old, cond: null, hits: 0, text: rest.trim() };
    this.points.push(p);
    if (physical) {
      this.physWatches.push(p);
      this.updateSlot();
    } else this.target.addWatchpoint(address, length, kind);
    const what = kind === 'write' ? 'Hardware watchpoint' : kind === 'read' ? 'Hardware read watchpoint' : 'Hardware access (read/write) watchpoint';
    return `${what} ${p.num}: ${physical ? 'phys ' : ''}${hex(address)}${this.symSuffix(address)} (${length} byte${length > 1 ? 's' : ''})`;
  }

  /** The value (up to 4 bytes, little-endian) at an address, or -1 when unreadable. */
  private peekValue(address: number, length: number, physical: boolean): number {
    const b = physical ? readPhysicalPartial(this.target, address, length) : readLinear(this.target, address, length);
    if (b.length < length) return -1;
    let v = 0;
    for (let i = length - 1; i >= 0; i--) v = v * 256 + b[i];
    return v;
  }

  private deletePoints(arg: string): string {
    if (arg === '') {
      const n = this.points.length;
      for (const p of [...this.points]) this.removePoint(p);
      return `deleted ${n} breakpoint${n === 1 ? '' : 's'}/watchpoints`;
    }
    const nums = arg.split(/[\s,]+/).map((t) => {
      if (!/^\d+$/.test(t)) throw new DebugError(`delete: '${t}' is not a breakpoint number`);
      return Number(t);
    });
    for (const n of nums) if (!this.points.some((p) => p.num === n)) throw new DebugError(`delete: no breakpoint number ${n}`);
    for (const n of nums) this.removePoint(this.points.find((p) => p.num === n)!);
    return '';
  }

  private removePoint(p: Point): void {
    this.points.splice(this.points.indexOf(p), 1);
    if (p.type !== 'watchpoint') {
      if (!this.points.some((q) => q.type !== 'watchpoint' && q.address === p.address)) this.target.removeBreakpoint(p.address, 'hw');
    } else if (p.physical) {
      this.physWatches.splice(this.physWatches.indexOf(p), 1);
      this.updateSlot();
    } else this.target.removeWatchpoint(p.address, p.length, p.watch);
  }

  private infoBreakpoints(): string {
    if (this.points.length === 0) return 'No breakpoints or watchpoints.';
    const rows = ['Num  Type            Disp  Address     What'];
    for (const p of this.points) {
      const type = p.type === 'watchpoint' ? (p.watch === 'write' ? 'hw watchpoint' : p.watch === 'read' ? 'read watchpoint' : 'acc watchpoint') : 'breakpoint';
      const what = p.type === 'watchpoint' ? `${p.physical ? 'phys ' : ''}${p.text} (${p.length} bytes)` : (this.symbolize(p.address) ?? p.text);
      rows.push(`${String(p.num).padEnd(4)} ${type.padEnd(15)} ${(p.type === 'tbreak' ? 'del' : 'keep').padEnd(5)} ${hex(p.address)}  ${what}` +
        (p.cond ? `\n        stop only if ${p.cond}` : '') + (p.hits ? `\n        hit ${p.hits} time${p.hits > 1 ? 's' : ''}` : ''));
    }
    return rows.join('\n');
  }

  // ================================================================================
  // run control

  /** Our hook slot: physical watchpoints and the run-to conditions of next/finish. */
  private until: ((linear: number) => boolean) | null = null;

  private updateSlot(): void {
    const needMem = this.physWatches.length > 0;
    if (!needMem && !this.until) return this.slot.set(null);
    const cpu = this.machine.cpu;
    this.slot.set({
      beforeInstruction: this.until
        ? (lin) => {
            if (this.until!(lin)) {
              this.ownStop ??= 'until';
              return true;
            }
            return false;
          }
        : undefined,
      memoryAccess: needMem
        ? (kind, lin, size) => {
            if (this.ownStop !== null) return;
            for (const p of this.physWatches) {
              if ((p.watch === 'write' && kind !== 'w') || (p.watch === 'read' && kind !== 'r')) continue;
              for (let i = 0; i < size; i++) {
                const phys = this.target.translateLinear((lin + i) >>> 0);
                if (phys >= p.address && phys < p.address + p.length) {
                  this.ownStop = `phys:${p.num}:${kind}:${phys}`;
                  cpu.stop();
                  return;
                }
              }
            }
          }
        : undefined,
    });
  }

  private linearPc(): number {
    const c = this.machine.cpu;
    return (c.segBase[1] + c.eip) >>> 0;
  }

  private breakpointAtPc(): boolean {
    const pc = this.linearPc();
    return this.points.some((p) => p.type !== 'watchpoint' && p.address === pc);
  }

  private checkRunnable(): void {
    if (this.ended) throw new DebugError(`the guest is not running (${this.ended})`);
  }

  /**
   * Runs until a stop worth reporting: a breakpoint whose condition holds, a watchpoint,
   * our own stop, the guest's end, `interrupt()`, or `max` instructions. Returns the report.
   */
  private async runGuest(max = Infinity): Promise<string> {
    this.interrupted = false;
    this.ownStop = null;
    const end = this.machine.instructions + max;
    const lines: string[] = [];
    // step off a breakpoint at the current instruction first, as gdb does
    if (this.breakpointAtPc()) {
      const r = this.target.step();
      const rep = this.report(r, lines);
      if (rep !== null) return rep;
      if (this.ownStop !== null) return this.ownReport(lines);
    }
    for (;;) {
      const left = end - this.machine.instructions;
      if (left <= 0) return this.where('stopped after the instruction limit');
      const r = this.target.run(Math.min(this.screenWait ? SCREEN_SLICE : this.slice, left));
      if (r.kind === 'breakpoint') {
        const hit = this.points.filter((p) => p.type !== 'watchpoint' && p.address === r.address);
        const taken = hit.filter((p) => p.cond === null || this.eval(p.cond) !== 0);
        if (taken.length === 0) {
          const s = this.target.step(); // condition false: go on past it
          const rep = this.report(s, lines);
          if (rep !== null) return rep;
          if (this.ownStop !== null) return this.ownReport(lines);
          continue;
        }
        const p = taken[0];
        p.hits++;
        if (p.type === 'tbreak') this.removePoint(p);
        return this.where(`${p.type === 'tbreak' ? 'Temporary breakpoint' : 'Breakpoint'} ${p.num}, ${hex(r.address)}${this.symSuffix(r.address)}`);
      }
      const rep = this.report(r, lines);
      if (rep !== null) return rep;
      if (this.ownStop !== null) return this.ownReport(lines);
      if (this.interrupted) return this.where('Program received SIGINT (stopped by the user)');
      if (this.screenWait && this.machine.screenMatch(this.screenWait)) return this.where(`The screen matches /${this.screenWait.source}/`);
      this.onSlice?.();
      await new Promise((res) => setImmediate(res));
      if (this.interrupted) return this.where('Program received SIGINT (stopped by the user)');
    }
  }

  /** A stop reason from the target as a report, or null to go on (budget / step). */
  private report(r: StopReason, lines: string[]): string | null {
    switch (r.kind) {
      case 'step':
      case 'budget':
        return null;
      case 'breakpoint':
        return null; // handled by runGuest
      case 'watchpoint': {
        const p = this.points.find((q) => q.type === 'watchpoint' && !q.physical && q.address === r.watch && q.watch === r.type);
        return this.watchReport(p, r.address, r.type === 'read' ? 'r' : 'w', lines);
      }
      case 'halted':
        this.ended = 'halted with interrupts off';
        return `The guest halted with interrupts off after ${this.machine.instructions} instructions.`;
      case 'exited':
        this.exitStatus = r.code & 0xff;
        this.ended = `exited with status ${this.exitStatus}`;
        return `[Guest exited with status ${this.exitStatus} (port F4h value ${r.code >> 1}) after ${this.machine.instructions} instructions]`;
      case 'triple-fault':
        this.ended = 'triple fault';
        return `Triple fault after ${this.machine.instructions} instructions:\n${r.message}`;
      case 'failed':
        this.ended = r.message;
        return `The machine stopped: ${r.message}`;
    }
  }

  private watchReport(p: Point | undefined, accessed: number, kind: 'r' | 'w', lines: string[]): string {
    if (!p) return this.where(`Watchpoint hit at ${hex(accessed)}`);
    p.hits++;
    const len = Math.min(p.length, 4);
    const now = this.peekValue(p.address, len, p.physical);
    const what = `${p.physical ? 'phys ' : ''}${hex(p.address)}${this.symSuffix(p.address)}`;
    lines.push(`${p.watch === 'write' ? 'Hardware watchpoint' : p.watch === 'read' ? 'Hardware read watchpoint' : 'Hardware access (read/write) watchpoint'} ${p.num}: ${what}`);
    if (kind === 'w') {
      lines.push('', `Old value = ${p.old < 0 ? '<unreadable>' : p.old}`, `New value = ${now < 0 ? '<unreadable>' : now}`);
    } else lines.push('', `Value = ${now < 0 ? '<unreadable>' : now}`);
    p.old = now;
    return this.where(lines.join('\n'));
  }

  private ownReport(lines: string[]): string {
    const s = this.ownStop!;
    this.ownStop = null;
    if (s.startsWith('phys:')) {
      const [, num, kind, phys] = s.split(':');
      const p = this.points.find((q) => q.num === Number(num));
      return this.watchReport(p, Number(phys), kind as 'r' | 'w', lines);
    }
    return this.where(lines.join('\n'));
  }

  /** The stop line plus the current instruction. */
  private where(head: string): string {
    const pc = this.linearPc();
    const line = `=> ${this.formatInsnAt(pc).replace(/^ {3}/, '')}`;
    return head ? `${head}\n${line}` : line;
  }

  /** `type TEXT`: keys for the guest (escapes as --keys: \n Enter), read as it runs. */
  private typeKeys(arg: string): string {
    if (arg === '') throw new DebugError("type: give the text to type (\\n for Enter)");
    let text: string;
    try {
      text = unescapeKeys(arg);
      this.machine.type(text);
    } catch (e) {
      throw new DebugError(`type: ${(e as Error).message}`);
    }
    return `typed ${JSON.stringify(text)} (${this.machine.kbc.keysPending} scancodes queued)`;
  }

  /** `wait REGEX`: run until the screen matches (Machine.screenMatch's rule), a breakpoint,
   *  a watchpoint or the guest's end. */
  private async waitScreen(arg: string): Promise<string> {
    this.checkRunnable();
    if (arg === '') throw new DebugError('wait: give a regular expression for the screen');
    try {
      this.screenWait = new RegExp(arg);
    } catch (e) {
      throw new DebugError(`wait: '${arg}' is not a regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`);
    }
    try {
      return await this.runGuest();
    } finally {
      this.screenWait = null;
    }
  }

  private async cont(arg: string): Promise<string> {
    this.checkRunnable();
    let max = Infinity;
    if (arg !== '') {
      // continue N: ignore the next N-1 hits of the breakpoint we are at (gdb), or a budget
      const m = /^(\d+)$/.exec(arg);
      if (!m) throw new DebugError(`continue: '${arg}' is not a count`);
      let n = Number(m[1]);
      if (n < 1) throw new DebugError(`continue: '${arg}' is not a count (1 or more)`);
      let out = '';
      while (n-- > 0) {
        out = await this.runGuest(max);
        if (this.ended || this.interrupted || !/^(Temporary )?Breakpoint/.test(out)) break;
      }
      return out;
    }
    return this.runGuest(max);
  }

  private async stepN(arg: string, over: boolean): Promise<string> {
    this.checkRunnable();
    let n = 1;
    if (arg !== '') {
      if (!/^\d+$/.test(arg) || Number(arg) < 1) throw new DebugError(`step: '${arg}' is not a count`);
      n = Number(arg);
    }
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      if (over && this.isCallAtPc()) {
        const r = await this.nextOver();
        if (!r.startsWith('=>')) return r;
        continue;
      }
      this.ownStop = null;
      const r = this.target.step();
      const rep = this.report(r, lines);
      if (rep !== null) return rep;
      if (this.ownStop !== null) return this.ownReport(lines);
    }
    return this.where('');
  }

  /** Is the instruction at EIP a call (or INT: `next` runs the handler through)? */
  private isCallAtPc(): boolean {
    const d = this.decodeAt(this.linearPc());
    return d !== null && /^(call|int|into)/.test(d.mnemonic);
  }

  private decodeAt(linear: number): { mnemonic: string; length: number } | null {
    const bytes = readLinear(this.target, linear, 16);
    if (bytes.length === 0) return null;
    const src: CodeSource = { codeByte: (o) => (o < bytes.length ? bytes[o] : 0) };
    decode(src, this.codeBits(), this.scratch);
    if (!this.scratch.form) return null;
    return { mnemonic: this.scratch.form.mnemonic, length: this.scratch.length };
  }

  private codeBits(): 16 | 32 {
    const c = this.machine.cpu;
    return (c.cr0 & 1) !== 0 && (c.segAR[1] & 0x4000) !== 0 ? 32 : 16;
  }

  /** Runs until `reached(linear)` holds before an instruction (breakpoints still stop). */
  private async runTo(reached: (linear: number) => boolean): Promise<string> {
    this.until = reached;
    this.updateSlot();
    try {
      return await this.runGuest();
    } finally {
      this.until = null;
      this.updateSlot();
    }
  }

  private async nextOver(): Promise<string> {
    const cpu = this.machine.cpu;
    const pc = this.linearPc();
    const d = this.decodeAt(pc)!;
    const ret = (pc + d.length) >>> 0;
    const esp0 = cpu.regs[4] >>> 0;
    const tr = cpu.trSel;
    const r = await this.runTo((lin) => lin === ret && cpu.trSel === tr && cpu.regs[4] >>> 0 >= esp0);
    return r;
  }

  /** Runs until the selected frame returns (gdb's `finish`), then stops at the instruction
   *  it returns to. The frame's return-address slot is not known mid-function (the stack
   *  may hold a call's arguments), so calls are followed: each CALL in the same task and on
   *  the same stack records the slot its return address goes to, and a RET through a recorded
   *  slot is that callee's return. The first RET through no recorded slot, at or above the
   *  stack level where finish started, is this frame's own return. Slots below a RET's are
   *  dropped (calls that never returned: `call $+5; pop`, longjmp). */
  private async finish(): Promise<string> {
    this.checkRunnable();
    const cpu = this.machine.cpu;
    const pc = this.linearPc();
    const esp0 = cpu.regs[4] >>> 0;
    const tr = cpu.trSel;
    const ss = cpu.sel[2];
    const from = this.symbolize(pc);
    const slots: number[] = []; // return-address slots of the calls still running, innermost last
    let target = -1;
    const r = await this.runTo((lin) => {
      if (target >= 0) return lin === target && cpu.trSel === tr;
      if (cpu.trSel !== tr || cpu.sel[2] !== ss) return false;
      const flow = this.controlFlowAt(lin);
      if (flow === 0) return false;
      const sp = cpu.regs[4] >>> 0;
      if (flow > 0) {
        slots.push((sp - flow) >>> 0); // the return address (and a far call's CS) pushed below ESP
        return false;
      }
      while (slots.length > 0 && slots[slots.length - 1] < sp) slots.pop();
      if (slots.length > 0 && slots[slots.length - 1] === sp) {
        slots.pop(); // a callee returns
        return false;
      }
      if (sp < esp0) return false;
      const b = readLinear(this.target, (cpu.segBase[2] + sp) >>> 0, 4);
      if (b.length < 4) return false;
      const ip = flow === -2 ? b[0] | (b[1] << 8) : (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      target = (cpu.segBase[1] + ip) >>> 0; // a far RET's CS base is the caller's: ours in a flat kernel
      return false;
    });
    return `Run till exit from ${hex(pc)}${from ? ` <${from}>` : ''}\n${r}`;
  }

  /** The call or return about to run at `linear`: for a CALL the bytes it pushes (2-8), for
   *  a RET -4 (32-bit operand) or -2 (16-bit), else 0. Reads the bytes without faulting;
   *  prefixes (operand size, segment, `rep ret`) are skipped. */
  private controlFlowAt(linear: number): number {
    const mem = this.machine.cpu.mem;
    let op16 = this.codeBits() === 16;
    for (let i = 0; i < 15; i++) {
      const phys = this.target.translateLinear((linear + i) >>> 0);
      if (phys < 0) return 0;
      const op = mem.read8(phys);
      if (op === 0x66) {
        op16 = !op16;
        continue;
      }
      if (op === 0x67 || op === 0xf2 || op === 0xf3 || op === 0x26 || op === 0x2e || op === 0x36 || op === 0x3e || op === 0x64 || op === 0x65) continue;
      const size = op16 ? 2 : 4;
      switch (op) {
        case 0xe8: return size;
        case 0x9a: return 2 * size;
        case 0xc3: case 0xc2: case 0xcb: case 0xca: return -size;
        case 0xff: {
          const modrmPhys = this.target.translateLinear((linear + i + 1) >>> 0);
          if (modrmPhys < 0) return 0;
          const reg = (mem.read8(modrmPhys) >> 3) & 7;
          return reg === 2 ? size : reg === 3 ? 2 * size : 0;
        }
        default: return 0;
      }
    }
    return 0;
  }

  // ================================================================================
  // reverse execution (emulator/debug/reverse.ts over the machine's history)

  private backTo(r: ReverseStop, head: string): string {
    this.ended = null;
    this.exitStatus = null;
    this.ownStop = null;
    if (r.kind === 'begin') return this.where('No more reverse-execution history.');
    if (r.kind === 'breakpoint') {
      const p = this.points.find((q) => q.type !== 'watchpoint' && q.address === r.address);
      if (p) p.hits++;
      return this.where(`${p ? `Breakpoint ${p.num}, ` : ''}${hex(r.address)}${this.symSuffix(r.address)}`);
    }
    if (r.kind === 'watchpoint') {
      const p = this.points.find((q) => q.type === 'watchpoint' && !q.physical && q.address === r.watch && q.watch === r.type);
      const kind = r.type === 'write' ? 'Hardware watchpoint' : r.type === 'read' ? 'Hardware read watchpoint' : 'Hardware access (read/write) watchpoint';
      if (!p) return this.where(`Watchpoint hit at ${hex(r.address)} (before the instruction that accessed it)`);
      p.hits++;
      p.old = this.peekValue(p.address, Math.min(p.length, 4), false);
      return this.where(`${kind} ${p.num}: ${hex(p.address)}${this.symSuffix(p.address)} (before the instruction that accessed it)\n\nValue = ${p.old < 0 ? '<unreadable>' : p.old}`);
    }
    return this.where(head);
  }

  /** `reverse-stepi [N]`: back N instructions. */
  private reverseStep(arg: string): string {
    let n = 1;
    if (arg !== '') {
      if (!/^\d+$/.test(arg) || Number(arg) < 1) throw new DebugError(`reverse-stepi: '${arg}' is not a count`);
      n = Number(arg);
    }
    return this.backTo(this.reverse.stepBack(n), '');
  }

  /** `reverse-continue`: back to the last breakpoint (its condition holding) or watchpoint
   *  hit before now. Physical watchpoints are not looked for going back. */
  private reverseCont(): string {
    const r = this.reverse.continueBack((hit) => {
      if (hit.kind === 'watchpoint') return true;
      if (hit.kind !== 'breakpoint') return false;
      return this.points.some((p) => p.type !== 'watchpoint' && p.address === hit.address && (p.cond === null || this.eval(p.cond) !== 0));
    });
    return this.backTo(r, '');
  }

  /** `reverse-finish`: back to the call that entered the current function — the latest CALL
   *  (same task, same stack) whose return-address slot is still live now, found by
   *  re-executing with the call/return bookkeeping `finish` uses. */
  private reverseFinish(): string {
    const cpu = this.machine.cpu;
    const tr = cpu.trSel, ss = cpu.sel[2], esp = cpu.regs[4] >>> 0;
    const from = this.symbolize(this.linearPc());
    let calls: { at: number; slot: number }[] = [];
    const r = this.reverse.searchBack({
      begin: () => (calls = []),
      hooks: {
        beforeInstruction: (lin) => {
          if (cpu.trSel !== tr || cpu.sel[2] !== ss) return false;
          const flow = this.controlFlowAt(lin);
          const sp = cpu.regs[4] >>> 0;
          if (flow > 0) calls.push({ at: cpu.icount, slot: (sp - flow) >>> 0 });
          else if (flow < 0) while (calls.length > 0 && calls[calls.length - 1].slot <= sp) calls.pop();
          return false;
        },
      },
      found: () => {
        while (calls.length > 0 && calls[calls.length - 1].slot < esp) calls.pop();
        return calls.length > 0 ? calls[calls.length - 1].at : null;
      },
    });
    if (r.kind === 'begin') throw new DebugError('reverse-finish: the current function was entered before the start of history');
    return this.backTo(r, `Run back to call of ${from ? `<${from}>` : 'the current function'}`);
  }

  /** `goto ICOUNT`: to the moment instruction number ICOUNT was about to run. */
  private gotoCount(arg: string): string {
    if (arg === '') throw new DebugError('goto: give an instruction count (info history shows the range)');
    const n = this.eval(arg);
    const problem = this.reverse.history.rangeProblem(n);
    if (problem) throw new DebugError(`goto: ${problem}`);
    this.reverse.history.seek(n);
    return this.backTo({ kind: 'step' }, `At instruction ${n}`);
  }

  private infoHistory(): string {
    const h = this.machine.history;
    if (!h) return 'No history is kept.';
    const i = h.info;
    const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
    return [
      `History: instructions ${i.start}..${i.end}, now at ${this.machine.instructions}`,
      `${i.checkpoints} checkpoint${i.checkpoints === 1 ? '' : 's'} (one every ${i.interval} instructions), ${mb(i.bytes)} of ${mb(i.maxBytes)}`,
    ].join('\n');
  }

  // ================================================================================
  // memory and registers

  private lastX: { f: string; u: string; next: number; physical: boolean } | null = null;

  private examine(fmt: string, arg: string): string {
    const m = /^\/(\d*)([xduoctsibhw]*)$/.exec(fmt || '/');
    if (!m) throw new DebugError(`x: bad format '${fmt}' (x/NFU: N count, F x d u o c t s i, U b h w)`);
    const count = m[1] === '' ? 1 : Number(m[1]);
    if (count < 1 || count > 4096) throw new DebugError(`x: count ${m[1]} is not 1..4096`);
    // as gdb: the format and unit last used unless given; no address continues after the
    // last one examined
    let f = this.lastX?.f ?? 'x', u = this.lastX?.u ?? 'w';
    for (const ch of m[2]) {
      if ('bhw'.includes(ch)) u = ch;
      else f = ch;
    }
    if (arg === '' && !this.lastX) throw new DebugError('x: give an address (linear, or phys:ADDR)');
    // x/i $eip (or $pc) means the instruction at CS:EIP, as `disas` shows it: at the reset
    // vector that is linear 0xfffffff0, not 0xfff0
    const atPc = f === 'i' && /^\$(eip|pc)$/i.test(arg);
    const { address, physical } = arg === '' ? { address: this.lastX!.next, physical: this.lastX!.physical }
      : atPc ? { address: this.linearPc(), physical: false } : this.parseAddress(arg);
    const prefix = physical ? 'phys ' : '';
    this.lastX = { f, u, next: address, physical };
    if (f === 'i') {
      if (physical) throw new DebugError('x/i: disassembles linear addresses only');
      const out: string[] = [];
      let a = address;
      const pc = this.linearPc();
      for (let i = 0; i < count; i++) {
        const d = this.decodeAt(a);
        const line = this.formatInsnAt(a);
        out.push(a === pc ? '=>' + line.slice(2) : line);
        a = (a + (d?.length ?? 1)) >>> 0;
      }
      this.lastX.next = a;
      return out.join('\n');
    }
    if (f === 's') {
      const out: string[] = [];
      let a = address;
      for (let i = 0; i < count; i++) {
        const bytes = physical ? readPhysicalPartial(this.target, a, 256) : readLinear(this.target, a, 256);
        if (bytes.length === 0) throw new DebugError(`cannot access memory at ${prefix}${hex(a)}`);
        let n = bytes.indexOf(0);
        if (n < 0) n = bytes.length;
        out.push(`${prefix}${hex(a)}${this.symSuffix(a)}:\t${JSON.stringify(String.fromCharCode(...bytes.subarray(0, n)))}`);
        a = (a + n + 1) >>> 0;
      }
      this.lastX.next = a;
      return out.join('\n');
    }
    const size = u === 'b' ? 1 : u === 'h' ? 2 : 4;
    const total = count * size;
    const bytes = physical ? readPhysicalPartial(this.target, address, total) : readLinear(this.target, address, total);
    if (bytes.length === 0) throw new DebugError(`cannot access memory at ${prefix}${hex(address)}${physical ? '' : ' (not mapped)'}`);
    const perLine = size === 4 ? 4 : 8;
    const lines: string[] = [];
    const n = Math.floor(bytes.length / size);
    for (let i = 0; i < n; i += perLine) {
      const a = (address + i * size) >>> 0;
      const vals: string[] = [];
      for (let j = i; j < Math.min(n, i + perLine); j++) {
        let v = 0;
        for (let k = size - 1; k >= 0; k--) v = v * 256 + bytes[j * size + k];
        vals.push(formatValue(v, f, size));
      }
      lines.push(`${prefix}${hex(a)}${this.symSuffix(a)}:\t${vals.join('\t')}`);
    }
    if (n < count) lines.push(`cannot access memory at ${prefix}${hex(address + n * size)}`);
    this.lastX.next = (address + n * size) >>> 0;
    return lines.join('\n');
  }

  /** "   0x0000983e <do_wp_page>:\tinc dword [0x...]" (marked => at EIP by callers). */
  formatInsnAt(linear: number): string {
    const bytes = readLinear(this.target, linear, 16);
    const sym = this.symSuffix(linear);
    if (bytes.length === 0) return `   ${hex(linear)}${sym}:\t<not mapped>`;
    const src: CodeSource = { codeByte: (o) => (o < bytes.length ? bytes[o] : 0) };
    const { text, length } = disassembleOne(src, this.codeBits(), linear, { symbol: (a) => this.symbolize(a) });
    const raw = Array.from(bytes.subarray(0, length), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return `   ${hex(linear)}${sym}:\t${raw.padEnd(24)}${text}`;
  }

  private disas(arg: string): string {
    let start: number;
    let count = 12;
    const pc = this.linearPc();
    const parts = arg.split(/\s*,\s*|\s+(?=\d+$)/).filter(Boolean);
    if (parts.length > 2) throw new DebugError(`disas: expected [ADDR] [COUNT], got '${arg}'`);
    if (parts.length === 2) {
      count = Number(parts[1]);
      if (!(count >= 1 && count <= 1000)) throw new DebugError(`disas: count '${parts[1]}' is not 1..1000`);
    }
    if (parts.length >= 1) start = this.eval(parts[0]);
    else {
      // around EIP: from the function's start when it is near (decoding forward lands on EIP
      // exactly), keeping the 4 instructions before EIP
      start = pc;
      const name = this.symbolize(pc);
      const base = name && !name.includes('@') ? this.lookupSymbol(name.replace(/\+0x[0-9a-f]+$/, '')) : undefined;
      if (base !== undefined && pc - base <= 0x400) {
        const addrs: number[] = [];
        let a = base;
        while (a < pc) {
          addrs.push(a);
          a += this.decodeAt(a)?.length ?? 1;
        }
        if (a === pc) start = addrs.length > 4 ? addrs[addrs.length - 4] : base;
      }
    }
    const out: string[] = [];
    let a = start >>> 0;
    for (let i = 0; i < count; i++) {
      const line = this.formatInsnAt(a);
      out.push(a === pc ? '=>' + line.slice(2) : line);
      const d = this.decodeAt(a);
      if (!d && readLinear(this.target, a, 1).length === 0) break;
      a = (a + (d?.length ?? 1)) >>> 0;
    }
    return out.join('\n');
  }

  private registers(): string {
    const c = this.machine.cpu;
    const s = c.state();
    const lines: string[] = [];
    for (let i = 0; i < 8; i += 4) {
      lines.push(GPR.slice(i, i + 4).map((n) => `${n.padEnd(3)} ${hex(s.regs[n])}`).join('   '));
    }
    const fl = FLAG_NAMES.filter(([b]) => (s.eflags >>> b) & 1).map(([, n]) => n);
    lines.push(`eip ${hex(s.eip)}${this.symSuffix(this.linearPc())}`);
    lines.push(`eflags ${hex(s.eflags)} [ ${fl.join(' ')} ] iopl ${(s.eflags >>> 12) & 3} cpl ${s.cpl}`);
    for (const seg of s.segments) {
      lines.push(`${seg.name}  ${hex(seg.selector, 4)}  base ${hex(seg.base)} limit ${hex(seg.limit)} ${describeType(seg.access & 0xff)}${(seg.access & 0x4000) ? ' 32-bit' : ' 16-bit'}`);
    }
    lines.push(`cr0 ${hex(s.cr0)}   cr2 ${hex(s.cr2)}   cr3 ${hex(s.cr3)}`);
    lines.push(`gdtr ${hex(s.gdtr.base)}/${hex(s.gdtr.limit, 4)}   idtr ${hex(s.idtr.base)}/${hex(s.idtr.limit, 4)}   ldtr ${hex(s.ldtr, 4)}   tr ${hex(s.tr, 4)}`);
    lines.push(`instructions ${s.icount}`);
    return lines.join('\n');
  }

  // ================================================================================
  // info

  private info(arg: string): string {
    const [what, ...rest] = arg.split(/\s+/);
    const more = rest.join(' ');
    switch (what) {
      case 'breakpoints': case 'break': case 'b': case 'watchpoints': return this.infoBreakpoints();
      case 'registers': case 'reg': case 'r': {
        if (!more) return this.registers();
        // info registers NAME...: one line each, as gdb prints them
        return more.split(/\s+/).map((n) => {
          const given = n.replace(/^\$/, '').toLowerCase();
          const name = ALIASES[given] ?? given;
          const v = this.readRegister(name);
          if (v === undefined) throw new DebugError(`info registers: no register '${n}'`);
          return `${name.padEnd(8)} ${hex(v, name.length === 2 && !name.startsWith('e') ? 4 : 8)}  ${v >>> 0}${name === 'eip' ? this.symSuffix(this.linearPc()) : ''}`;
        }).join('\n');
      }
      case 'gdt': return this.infoTable('gdt', more);
      case 'idt': return this.infoTable('idt', more);
      case 'ldt': return this.infoTable('ldt', more);
      case 'tss': return this.infoTss();
      case 'tlb': return this.infoTlb();
      case 'history': this.noArgs('info history', more); return this.infoHistory();
      case '':
        throw new DebugError('info: what? (breakpoints, registers, gdt, idt, ldt, tss, tlb, history)');
      default:
        throw new DebugError(`info: unknown subject '${what}' (breakpoints, registers, gdt, idt, ldt, tss, tlb, history)`);
    }
  }

  private readTableEntry(base: number, index: number): [number, number] {
    const b = readLinear(this.target, (base + index * 8) >>> 0, 8);
    if (b.length < 8) throw new DebugError(`cannot read the table entry at ${hex(base + index * 8)} (not mapped)`);
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    return [dv.getUint32(0, true), dv.getUint32(4, true)];
  }

  private infoTable(kind: 'gdt' | 'idt' | 'ldt', range: string): string {
    const c = this.machine.cpu;
    const base = kind === 'gdt' ? c.gdtBase : kind === 'idt' ? c.idtBase : c.ldtBase;
    const limit = kind === 'gdt' ? c.gdtLimit : kind === 'idt' ? c.idtLimit : c.ldtLimit;
    if (kind === 'ldt' && (c.ldtSel & 0xfffc) === 0) return 'LDTR is null: no LDT loaded';
    const n = Math.floor((limit + 1) / 8);
    let first = 0, last = n - 1;
    if (range) {
      const m = /^(\S+?)(?:(?:-|\s+)(\S+))?$/.exec(range)!;
      first = this.eval(m[1]);
      last = m[2] ? this.eval(m[2]) : first;
      if (first >= n || last < first) throw new DebugError(`info ${kind}: entries ${range} are outside 0..${n - 1}`);
      last = Math.min(last, n - 1);
    }
    const head = kind === 'ldt' ? `LDT (selector ${hex(c.ldtSel, 4)}) at ${hex(base)} limit ${hex(limit, 4)}: ${n} entries` :
      `${kind.toUpperCase()} at ${hex(base)} limit ${hex(limit, 4)}: ${n} entries`;
    const lines = [head];
    let empty = 0;
    for (let i = first; i <= last; i++) {
      const [lo, hi] = this.readTableEntry(base, i);
      if (lo === 0 && hi === 0 && !range) {
        empty++;
        continue;
      }
      const access = (hi >>> 8) & 0xff;
      const sys = (access & 0x10) === 0;
      const gate = sys && [4, 5, 6, 7, 12, 14, 15].includes(access & 15);
      const p = access & 0x80 ? 'P' : 'not present';
      const dpl = (access >>> 5) & 3;
      const sel = kind === 'idt' ? `${String(i).padStart(3)} (${hex(i, 2)})` : `${hex(i * 8 + (kind === 'ldt' ? 4 : 0), 4)}`;
      if (gate) {
        const off = ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0;
        const tsel = lo >>> 16;
        const target = (access & 15) === 5 ? `task ${hex(tsel, 4)}` : `${hex(tsel, 4)}:${hex(off)}${this.symSuffix(off)}`;
        lines.push(`${sel}  ${describeType(access).padEnd(17)} dpl ${dpl} ${p}  ${target}`);
      } else {
        const dbase = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
        const g = (hi & 0x800000) !== 0;
        let lim = (lo & 0xffff) | (hi & 0xf0000);
        if (g) lim = ((lim << 12) | 0xfff) >>> 0;
        const bits = sys ? '' : hi & 0x400000 ? ' 32-bit' : ' 16-bit';
        const acc = !sys && access & 1 ? ' accessed' : '';
        lines.push(`${sel}  ${describeType(access).padEnd(17)} dpl ${dpl} ${p}  base ${hex(dbase)} limit ${hex(lim)}${g ? ' (4K pages)' : ''}${bits}${acc}`);
      }
    }
    if (empty) lines.push(`(${empty} empty entr${empty === 1 ? 'y' : 'ies'} not shown)`);
    return lines.join('\n');
  }

  private infoTss(): string {
    const c = this.machine.cpu;
    if ((c.trSel & 0xfffc) === 0) return 'TR is null: no task state segment loaded';
    if (c.trType !== 9 && c.trType !== 11) return `TR ${hex(c.trSel, 4)}: a 16-bit TSS at ${hex(c.trBase)} (only 32-bit TSSes are decoded)`;
    const b = readLinear(this.target, c.trBase >>> 0, 104);
    if (b.length < 104) throw new DebugError(`cannot read the TSS at ${hex(c.trBase)} (not mapped)`);
    const dv = new DataView(b.buffer, b.byteOffset, 104);
    const d = (o: number) => hex(dv.getUint32(o, true));
    const w = (o: number) => hex(dv.getUint16(o, true), 4);
    return [
      `TSS of TR ${hex(c.trSel, 4)} at ${hex(c.trBase)}${this.symSuffix(c.trBase)} limit ${hex(c.trLimit, 4)} (${c.trType === 11 ? 'busy' : 'available'})`,
      `backlink ${w(0)}  esp0 ${d(4)} ss0 ${w(8)}  esp1 ${d(12)} ss1 ${w(16)}  esp2 ${d(20)} ss2 ${w(24)}`,
      `cr3 ${d(28)}  eip ${d(32)}${this.symSuffix(dv.getUint32(32, true))}  eflags ${d(36)}`,
      `eax ${d(40)} ecx ${d(44)} edx ${d(48)} ebx ${d(52)}`,
      `esp ${d(56)} ebp ${d(60)} esi ${d(64)} edi ${d(68)}`,
      `es ${w(72)} cs ${w(76)} ss ${w(80)} ds ${w(84)} fs ${w(88)} gs ${w(92)}  ldt ${w(96)}  iomap ${hex(dv.getUint16(102, true), 4)}`,
    ].join('\n');
  }

  /** What the CPU's TLB holds: linear page → physical page with the permissions the last
   *  walk allowed, compared with a walk of the page tables now (stale entries marked). */
  private infoTlb(): string {
    const c = this.machine.cpu;
    const tlb = c.tlb, phys = c.tlbPhys;
    const rows: string[] = [];
    let n = 0;
    for (let lp = 0; lp < tlb.length; lp++) {
      const e = tlb[lp];
      if ((e & T_VALID) === 0) continue;
      n++;
      if (rows.length >= 64) continue;
      const lin = lp << 12 >>> 0;
      const p = phys[lp] >>> 0;
      const perm = `${e & T_UREAD ? 'U' : 'S'} ${e & T_UWRITE ? 'user-write' : e & T_SWRITE ? 'sup-write' : 'read'}`;
      const now = this.target.translateLinear(lin);
      const mark = now < 0 ? '  STALE (not present now)' : (now & ~0xfff) >>> 0 !== p ? `  STALE (tables now: ${hex(now & ~0xfff)})` : '';
      rows.push(`${hex(lin)}${this.symSuffix(lin)} -> ${hex(p)}  ${perm}${mark}`);
    }
    const head = (c.cr0 & 0x80000000) === 0 ? `TLB (paging off): ${n} entr${n === 1 ? 'y' : 'ies'}` : `TLB: ${n} entr${n === 1 ? 'y' : 'ies'} (cr3 ${hex(c.cr3)})`;
    if (n > rows.length) rows.push(`... ${n - rows.length} more`);
    return [head, ...rows].join('\n');
  }

  private translate(arg: string): string {
    if (arg === '') throw new DebugError('translate: give a linear address');
    const lin = this.eval(arg);
    const c = this.machine.cpu;
    const sym = this.symSuffix(lin);
    if ((c.cr0 & 0x80000000) === 0) {
      const p = this.target.translateLinear(lin);
      return `linear ${hex(lin)}${sym}: paging is off, physical ${hex(p)}${p !== lin ? ' (A20 masked)' : ''}`;
    }
    const di = lin >>> 22, ti = (lin >>> 12) & 0x3ff;
    const rd = (a: number) => {
      const b = readPhysicalPartial(this.target, a, 4);
      if (b.length < 4) throw new DebugError(`translate: cannot read physical ${hex(a)}`);
      return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    };
    // the observers' walk (mmu/paging.ts), as the CPU walks: no fault, no A/D bits
    const w = walkTables(rd, c.cr3, lin, this.machine.mem.a20Mask);
    const lines = [`linear ${hex(lin)}${sym}: directory ${di}, table ${ti}, offset ${hex(lin & 0xfff, 3)}`, `cr3  ${hex(c.cr3)}`];
    lines.push(`PDE  [${hex(w.pdeAddr)}] = ${hex(w.pde)}  ${entryFlags(w.pde)}`);
    if (w.pteAddr < 0) return [...lines, 'not mapped: the directory entry is not present'].join('\n');
    const pte = w.pte;
    lines.push(`PTE  [${hex(w.pteAddr)}] = ${hex(pte)}  ${entryFlags(pte)}`);
    if (w.physical < 0) return [...lines, 'not mapped: the table entry is not present'].join('\n');
    const p = w.physical;
    const note = this.extension?.frameNote?.((pte & ~0xfff) >>> 0) ?? '';
    lines.push(`physical ${hex(p)}${note ? `  ${note}` : ''}`);
    return lines.join('\n');
  }
}

function formatValue(v: number, f: string, size: number): string {
  switch (f) {
    case 'x': return '0x' + v.toString(16).padStart(size * 2, '0');
    case 'd': return String(v >= 2 ** (size * 8 - 1) ? v - 2 ** (size * 8) : v);
    case 'u': return String(v);
    case 'o': return '0' + v.toString(8);
    case 't': return v.toString(2).padStart(size * 8, '0');
    case 'c': return `${v & 0xff} '${(v & 0xff) >= 32 && (v & 0xff) < 127 ? String.fromCharCode(v & 0xff) : `\\x${(v & 0xff).toString(16).padStart(2, '0')}`}'`;
    default: return '0x' + v.toString(16).padStart(size * 2, '0');
  }
}

/** Recursive descent over the expression grammar in the file comment (C precedence). */
class ExprParser {
  private readonly toks: string[];
  private i = 0;

  constructor(private readonly text: string, private readonly d: Debugger) {
    const re = /\s*(0x[0-9a-f]+|\d+|\$?[A-Za-z_.][\w.]*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!()<>])/giy;
    this.toks = [];
    let m: RegExpExecArray | null;
    let last = 0;
    while ((m = re.exec(text)) !== null) {
      this.toks.push(m[1]);
      last = re.lastIndex;
    }
    if (text.slice(last).trim() !== '') throw new DebugError(`bad expression '${text.trim()}' (at '${text.slice(last).trim()}')`);
  }

  parse(): number {
    const v = this.binary(0);
    if (this.i < this.toks.length) throw new DebugError(`bad expression '${this.text.trim()}' (unexpected '${this.toks[this.i]}')`);
    return v;
  }

  private static readonly LEVELS: string[][] = [
    ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
  ];

  private binary(level: number): number {
    if (level >= ExprParser.LEVELS.length) return this.unary();
    let v = this.binary(level + 1);
    while (this.i < this.toks.length && ExprParser.LEVELS[level].includes(this.toks[this.i])) {
      const op = this.toks[this.i++];
      const r = this.binary(level + 1);
      const a = v >>> 0, b = r >>> 0;
      switch (op) {
        case '||': v = a || b ? 1 : 0; break;
        case '&&': v = a && b ? 1 : 0; break;
        case '|': v = (a | b) >>> 0; break;
        case '^': v = (a ^ b) >>> 0; break;
        case '&': v = (a & b) >>> 0; break;
        case '==': v = a === b ? 1 : 0; break;
        case '!=': v = a !== b ? 1 : 0; break;
        case '<': v = a < b ? 1 : 0; break;
        case '>': v = a > b ? 1 : 0; break;
        case '<=': v = a <= b ? 1 : 0; break;
        case '>=': v = a >= b ? 1 : 0; break;
        case '<<': v = (a << (b & 31)) >>> 0; break;
        case '>>': v = a >>> (b & 31); break;
        case '+': v = (a + b) >>> 0; break;
        case '-': v = (a - b) >>> 0; break;
        case '*': v = Math.imul(a, b) >>> 0; break;
        case '/': case '%':
          if (b === 0) throw new DebugError(`division by zero in '${this.text.trim()}'`);
          v = op === '/' ? Math.floor(a / b) : a % b;
          break;
      }
    }
    return v;
  }

  /** Parentheses and prefix operators open: recursion deeper than MAX_NESTING is refused
   *  before it meets JavaScript's call-stack limit. */
  private depth = 0;
  private static readonly MAX_NESTING = 200;

  private unary(): number {
    this.depth++;
    try {
      return this.nested();
    } finally {
      this.depth--;
    }
  }

  private nested(): number {
    const t = this.toks[this.i];
    if (t === undefined) throw new DebugError(`bad expression '${this.text.trim()}' (it ends too soon)`);
    if (this.depth > ExprParser.MAX_NESTING) throw new DebugError(`expression nested more than ${ExprParser.MAX_NESTING} deep`);
    if (t === '-' || t === '~' || t === '!' || t === '*' || t === '+') {
      this.i++;
      const v = this.unary() >>> 0;
      if (t === '-') return (-v) >>> 0;
      if (t === '~') return ~v >>> 0;
      if (t === '!') return v ? 0 : 1;
      if (t === '*') return this.d.readLinear32(v);
      return v;
    }
    if (t === '(') {
      this.i++;
      const v = this.binary(0);
      if (this.toks[this.i] !== ')') throw new DebugError(`bad expression '${this.text.trim()}' (missing ')')`);
      this.i++;
      return v;
    }
    this.i++;
    if (/^0x[0-9a-f]+$/i.test(t)) {
      if (t.length > 10) throw new DebugError(`${t} does not fit in 32 bits`);
      return parseInt(t, 16) >>> 0;
    }
    if (/^\d+$/.test(t)) {
      const v = Number(t);
      if (v > 0xffffffff) throw new DebugError(`${t} does not fit in 32 bits`);
      return v;
    }
    if (t.startsWith('$')) {
      const r = this.d.readRegister(t.slice(1).toLowerCase());
      if (r === undefined) throw new DebugError(`no register ${t}`);
      return r;
    }
    const s = this.d.lookupSymbol(t);
    if (s !== undefined) return s;
    const r = this.d.readRegister(t.toLowerCase());
    if (r !== undefined) return r;
    if (/^[A-Za-z_.]/.test(t)) throw new DebugError(`no symbol '${t}' in the symbol map`);
    throw new DebugError(`bad expression '${this.text.trim()}' (unexpected '${t}')`);
  }
}

const HELP = `commands (addresses: numbers, symbols, symbol+offset, $registers, *ADDR; phys:ADDR where noted)
  break|b LOC [if COND]      breakpoint at a linear address or kernel symbol (tbreak: once)
  watch|rwatch|awatch [-l N] ADDR   stop after a write (even of the same value) / read / either of
                             N bytes (default 4) at ADDR, linear or phys:ADDR
  delete [N...]              delete breakpoints/watchpoints (all without N)
  info breakpoints|registers|gdt|idt|ldt|tss|tlb|history [FIRST[-LAST]]
  stepi|step [N]             execute N instructions
  nexti|next [N]             the same, running calls (and INT) through to their return
  finish                     run until the current function returns
  continue|c [N]             run until a breakpoint (the Nth), a watchpoint, the guest's end or Ctrl-C
  reverse-stepi|rsi [N]      back N instructions (the machine keeps history: checkpoints, re-execution)
  reverse-continue|rc        back to the last breakpoint or watchpoint hit before now
  reverse-finish             back to the call that entered the current function
  goto ICOUNT                to the moment instruction number ICOUNT was about to run
  x/NFU ADDR                 examine memory: F x d u o t c s i, U b h w; ADDR linear or phys:ADDR
  regs                       registers; disas [ADDR] [N]: disassembly (around EIP by default)
  translate LINEAR           the page walk: PDE, PTE, flags, physical address
  print|p EXPR               evaluate an expression
  type TEXT                  type keys (\\n Enter, \\t \\b \\e \\\\); the guest reads them as it runs
  wait REGEX                 run until the screen matches REGEX (after typed keys were read and echoed)
  screen | history | help | quit`;

/** Runs a script (one command per line), echoing each command and its output. Stops at
 *  the first error (as gdb -batch does) or at quit. */
export async function runScript(d: Debugger, text: string, write: (s: string) => void, writeError = write): Promise<{ ok: boolean }> {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    write(`(forklab) ${line}\n`);
    const r = await d.execute(line);
    if (r.output) write(r.output + '\n');
    if (r.error) {
      writeError(`error: ${r.error}\n`);
      return { ok: false };
    }
    if (r.quit) break;
  }
  return { ok: true };
}

export type { MachineStop };
