// The trace recorder: one DESIGN trace line (trace-format.ts) per executed instruction,
// written while the guest runs, through the CPU's observer hooks on a HookHub slot — so it
// coexists with the GDB stub, the debugger and a script's hooks, and, like them, never
// steers (DESIGN decision 8): it reads registers, peeks at code through a page walk that
// sets no Accessed/Dirty bits and never faults (peekTranslate), and returns false from
// beforeInstruction.
//
// What a line holds: the instruction count before the instruction, CS:EIP, the linear
// address, its bytes, the disassembly (with kernel symbols: a branch target that is a symbol
// is printed by name, and `<symbol+0xN>` after the disassembly names the instruction's own
// address, in protected mode only — in real mode the kernel's symbols mean nothing), the
// registers it changed and the memory it wrote (data writes through segments, as the
// memory hook sees them; the CPU's own system writes — descriptor Accessed bits, a TSS
// saved by a task switch, and (as the CPU reports them today) the frame an interrupt or
// exception pushes onto a more privileged stack, e.g. int 0x80's SS/ESP/EFLAGS/CS/EIP on
// the kernel stack — are not data accesses to the hook and are not listed).
//
// Interrupts and exceptions. A hardware interrupt is delivered between two instructions; an
// exception ends the instruction that raised it (a faulting instruction counts as executed,
// so the handler's first line has the next icount). In both cases the line of the instruction before ends there, and a
// comment line names the event with the writes the delivery made (the pushed frame):
//
//   # interrupt 0x20 hardware ; [0001fff4]=00000202 [0001fff0]=00000008 ...
//   # exception 0x0e error=0x0007 ; [...]
//
// followed, before the next traced instruction, by a partial state line with the registers
// the delivery changed (`# state esp=… cs=… eflags=…`); trace-diff applies state lines to
// its running register values. A software INT is an instruction like any other: its line
// carries the whole transfer. The same state line is written whenever instructions were left
// out by the filters and the registers differ from what the trace last said.
//
// Filters (TraceFilters), all optional, combined:
//   from, to   start and stop triggers (linear addresses): recording starts at the first
//              instruction executed at `from` (that one is recorded) and stops when execution
//              next reaches `to` (not recorded). After the stop nothing more is recorded.
//   icount     [lo, hi]: only instructions whose icount lies in it (hi passed = stop)
//   ranges     only instructions whose linear address lies in one of the [lo, hi] ranges
//   cpl        only instructions executed at this CPL
//   task       only while TR holds this selector
//   maxLines   stop after this many instruction lines
// The triggers open and close the window; the other filters choose lines within it.
//
// Cost: while waiting for a trigger the recorder has only the instruction hook; while the
// window is open, the memory and interrupt hooks too; once done, none. Per traced
// instruction it takes two snapshots of the register file into preallocated arrays and
// builds the line's string; writes go to preallocated typed arrays.

import type { CpuHooks } from '../cpu/bus';
import type { Cpu } from '../cpu/cpu';
import { decode, Insn, type CodeSource } from '../cpu/decoder';
import { formatInsn, type FormatOptions } from '../cpu/disasm';
import { peekTranslate } from '../mmu/paging';
import type { HookSlot } from './hooks';
import { SymbolMap, type KernelSymbol } from './symbols';
import {
  DEFAULT_HEADER, formatJsonHeader, formatJsonLine, formatJsonState, formatMemWrite, formatRegisterValue, formatTextHeader,
  formatTextState, formatMemRun, isStringInsn, runLength, STRING_RUN_MIN, type MemWrite, type TraceRecord,
} from './trace-format';

export interface TraceFilters {
  /** Start trigger: a linear address. */
  from?: number | null;
  /** Stop trigger: a linear address (the instruction there is not recorded). */
  to?: number | null;
  /** Inclusive instruction-count range. */
  icount?: [number, number] | null;
  /** Inclusive linear address ranges. */
  ranges?: [number, number][];
  cpl?: number | null;
  /** TR selector. */
  task?: number | null;
  /** 0 or absent: no limit. */
  maxLines?: number;
}

export interface RecorderOptions extends TraceFilters {
  format?: 'text' | 'jsonl';
  /** Symbols to name addresses with (symbols.ts: its reach and duplicate rules). */
  symbols?: SymbolMap | Iterable<KernelSymbol> | null;
  /** Receives the output, a whole line (with its newline) or a few at a time. */
  write(text: string): void;
  /** Comment lines written after the header (text: prefixed '# '; JSON lines: {"comment":…}). */
  comments?: string[];
  /** Called once when the recording is complete (trigger, icount range or line limit). */
  onDone?(): void;
}

/** Registers a line reports, in trace order, and how to read each. */
const REG_NAMES = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eflags',
  'es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr',
  'gdtr.base', 'gdtr.limit', 'idtr.base', 'idtr.limit', 'cr0', 'cr2', 'cr3',
] as const;
const NREGS = REG_NAMES.length;
/** Hex digits of each register's value in a line (selectors and limits 4). */
const REG_DIGITS = REG_NAMES.map((n) => formatRegisterValue(n, 0).length);

function hex(v: number, digits: number): string {
  const t = (v >>> 0).toString(16);
  return t.length >= digits ? t : '00000000'.slice(0, digits - t.length) + t;
}

function snapshot(cpu: Cpu, out: Float64Array): void {
  const r = cpu.regs;
  for (let i = 0; i < 8; i++) out[i] = r[i] >>> 0;
  out[8] = cpu.getFlags() >>> 0;
  const s = cpu.sel;
  for (let i = 0; i < 6; i++) out[9 + i] = s[i];
  out[15] = cpu.ldtSel;
  out[16] = cpu.trSel;
  out[17] = cpu.gdtBase >>> 0;
  out[18] = cpu.gdtLimit;
  out[19] = cpu.idtBase >>> 0;
  out[20] = cpu.idtLimit;
  out[21] = cpu.cr0 >>> 0;
  out[22] = cpu.cr2 >>> 0;
  out[23] = cpu.cr3 >>> 0;
}

/** Code bytes peeked at a linear address (no A/D bits, no faults). */
class PeekSource implements CodeSource {
  readonly bytes = new Uint8Array(16);
  length = 0;
  codeByte(o: number): number {
    return o < this.length ? this.bytes[o] : 0;
  }
}

interface CacheEntry {
  eip: number;
  bits: number;
  pe: number;
  len: number;
  code: Uint8Array;
  bytes: string;
  disasm: string;
}
const CACHE_MASK = 4095;

const enum Phase {
  Waiting,
  Recording,
  Done,
}

export class TraceRecorder {
  /** Instruction lines written. */
  lines = 0;
  private phase = Phase.Waiting;
  private readonly text: boolean;
  private readonly syms: SymbolMap | null;
  private readonly fmt: FormatOptions;

  // the pending (traced, not yet finished) instruction
  private pending = false;
  private pIcount = 0;
  private pCs = 0;
  private pEip = 0;
  private pLinear = 0;
  private pBytes = '';
  private pDisasm = '';
  private readonly before = new Float64Array(NREGS);
  private readonly now = new Float64Array(NREGS);
  /** Register values as the trace last told them (NaN: never told). */
  private readonly known = new Float64Array(NREGS).fill(NaN);
  /** icount when the last instruction (traced or not) started, while recording. */
  private lastIcount = -1;
  private lastEip = -1;
  private lastCs = -1;

  // memory writes of the pending instruction or the delivery in progress
  private wAddr = new Uint32Array(64);
  private wSize = new Uint8Array(64);
  private wValue = new Uint32Array(64);
  private nWrites = 0;
  private collecting = false;

  // an interrupt or exception being delivered (its writes are collected until the next instruction)
  private delivery = false;
  private dVector = 0;
  private dException = false;
  private dCode = 0;

  private readonly src = new PeekSource();
  private readonly cache: (CacheEntry | undefined)[] = new Array(CACHE_MASK + 1);
  private readonly insn = new Insn();
  private readonly from: number | null;
  private readonly to: number | null;
  private readonly icountRange: [number, number] | null;
  private readonly ranges: [number, number][];
  private readonly cplFilter: number | null;
  private readonly taskFilter: number | null;
  private readonly maxLines: number;

  private readonly waitHooks: CpuHooks;
  private readonly recordHooks: CpuHooks;

  constructor(
    private readonly cpu: Cpu,
    private readonly slot: HookSlot,
    private readonly opts: RecorderOptions,
  ) {
    this.text = (opts.format ?? 'text') === 'text';
    this.syms = !opts.symbols ? null : opts.symbols instanceof SymbolMap ? opts.symbols : new SymbolMap(opts.symbols);
    const syms = this.syms;
    this.fmt = syms ? { symbol: (a) => ((this.cpu.cr0 & 1) !== 0 ? syms.at(a) : undefined) } : {};
    this.from = opts.from ?? null;
    this.to = opts.to ?? null;
    this.icountRange = opts.icount ?? null;
    this.ranges = opts.ranges ?? [];
    this.cplFilter = opts.cpl ?? null;
    this.taskFilter = opts.task ?? null;
    this.maxLines = opts.maxLines ?? 0;
    const before = (linear: number) => this.beforeInstruction(linear);
    this.waitHooks = { beforeInstruction: before };
    this.recordHooks = {
      beforeInstruction: before,
      memoryAccess: (kind, linear, size, value) => {
        if (kind === 'w' && this.collecting) this.addWrite(linear, size, value);
      },
      interrupt: (vector, software, code) => this.onInterrupt(vector, software, code),
    };
    opts.write(this.text ? formatTextHeader(DEFAULT_HEADER) + '\n' : formatJsonHeader(DEFAULT_HEADER) + '\n');
    for (const c of opts.comments ?? []) opts.write(this.text ? `# ${c}\n` : JSON.stringify({ comment: c }) + '\n');
  }

  /** True once the recording is complete; nothing more will be recorded. */
  get done(): boolean {
    return this.phase === Phase.Done;
  }

  /** Attaches the recorder (the window opens at once when there is no start trigger). */
  start(): this {
    if (this.phase === Phase.Waiting && this.from === null && this.icountRange === null) this.phase = Phase.Recording;
    if (this.phase !== Phase.Done) this.slot.set(this.phase === Phase.Recording ? this.recordHooks : this.waitHooks);
    return this;
  }

  /** Ends the recording after a run: the last instruction's line is written, the hooks detached. */
  finish(): void {
    if (this.phase === Phase.Done) return;
    this.complete(true);
    this.flushDelivery();
    this.stop();
  }

  private stop(): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    this.collecting = false;
    this.slot.set(null);
    this.opts.onDone?.();
  }

  private addWrite(linear: number, size: number, value: number): void {
    if (this.nWrites === this.wAddr.length) {
      const n = this.wAddr.length * 2;
      const a = new Uint32Array(n), s = new Uint8Array(n), v = new Uint32Array(n);
      a.set(this.wAddr);
      s.set(this.wSize);
      v.set(this.wValue);
      this.wAddr = a;
      this.wSize = s;
      this.wValue = v;
    }
    const i = this.nWrites++;
    this.wAddr[i] = linear;
    this.wSize[i] = size;
    this.wValue[i] = size === 4 ? value >>> 0 : size === 2 ? value & 0xffff : value & 0xff;
  }

  private writesList(): MemWrite[] {
    const out: MemWrite[] = [];
    for (let i = 0; i < this.nWrites; i++) out.push({ addr: this.wAddr[i], size: this.wSize[i] as 1 | 2 | 4, value: this.wValue[i] });
    return out;
  }

  private onInterrupt(vector: number, software: boolean, code: number): void {
    // A software INT (int n, int3, into) is part of its instruction's line.
    if (software && this.pending && this.cpu.icount === this.pIcount) return;
    // A fault restores CS:EIP to the instruction last started (which the CPU counts as
    // executed, or on older rules not); a hardware interrupt (or a trap) comes after an
    // instruction, at the next one. (A jump to itself interrupted reads as a fault: only the
    // event's name is then wrong.)
    const cpu = this.cpu;
    const exception = (cpu.icount === this.lastIcount || cpu.icount === this.lastIcount + 1) &&
      (cpu.eip >>> 0) === this.lastEip && cpu.sel[1] === this.lastCs;
    this.complete(false);
    this.flushDelivery();
    if (this.phase !== Phase.Recording) return;
    this.delivery = true;
    this.dVector = vector;
    this.dException = exception;
    this.dCode = code;
    this.nWrites = 0;
    this.collecting = true;
  }

  /** Writes the pending instruction's line with what it changed. `atEnd`: the run ended
   *  (an instruction that did not retire then did not execute: it is dropped). */
  private complete(atEnd: boolean): void {
    if (!this.pending) return;
    this.pending = false;
    this.collecting = false;
    const cpu = this.cpu;
    const notRetired = cpu.icount === this.pIcount;
    if (atEnd && notRetired && this.nWrites === 0) {
      this.lines--;
      return;
    }
    const now = this.now;
    snapshot(cpu, now);
    const before = this.before;
    // A fault restores EIP and ESP to the instruction's start: what is left are its effects.
    this.known.set(now);
    if (this.text) {
      // The text line built directly (the same as formatTextLine of the record; tested).
      let line = `${this.pIcount} ${hex(this.pCs, 4)}:${hex(this.pEip, 8)} ${hex(this.pLinear, 8)} ${this.pBytes || '-'}  ${this.pDisasm || '-'}  ;`;
      for (let i = 0; i < NREGS; i++) if (now[i] !== before[i]) line += ` ${REG_NAMES[i]}=${hex(now[i], REG_DIGITS[i])}`;
      // a string instruction's writes: one summary per run (the JSON form lists them all)
      const runs = this.nWrites >= STRING_RUN_MIN && isStringInsn(this.pDisasm);
      for (let i = 0; i < this.nWrites;) {
        const n = runs ? runLength(this.wAddr, this.wSize, i, this.nWrites) : 1;
        if (n >= STRING_RUN_MIN) {
          line += ` ${formatMemRun(this.wAddr[i], this.wAddr[i + n - 1], n, this.wValue[i], this.wValue[i + n - 1], this.wSize[i])}`;
        } else line += ` [${hex(this.wAddr[i], 8)}]=${hex(this.wValue[i], this.wSize[i] * 2)}`;
        i += n;
      }
      this.opts.write(line + '\n');
    } else {
      const regs: Record<string, number> = {};
      for (let i = 0; i < NREGS; i++) if (now[i] !== before[i]) regs[REG_NAMES[i]] = now[i];
      const rec: TraceRecord = {
        icount: this.pIcount, cs: this.pCs, eip: this.pEip, linear: this.pLinear,
        bytes: this.pBytes, disasm: this.pDisasm, regs, mem: this.writesList(),
      };
      this.opts.write(formatJsonLine(rec) + '\n');
    }
    this.nWrites = 0;
    if (this.maxLines > 0 && this.lines >= this.maxLines) this.stop();
  }

  private flushDelivery(): void {
    if (!this.delivery) return;
    this.delivery = false;
    this.collecting = false;
    const what = this.dException ? 'exception' : 'interrupt';
    const vec = `0x${this.dVector.toString(16).padStart(2, '0')}`;
    const mem = this.writesList();
    this.nWrites = 0;
    if (this.text) {
      let line = what === 'exception' ? `# exception ${vec} error=0x${(this.dCode >>> 0).toString(16).padStart(4, '0')}` : `# interrupt ${vec}`;
      if (mem.length) {
        line += ' ;';
        for (const w of mem) line += ` ${formatMemWrite(w)}`;
      }
      this.opts.write(line + '\n');
    } else {
      this.opts.write(JSON.stringify({ event: what, vector: this.dVector, error: this.dCode >>> 0, mem }) + '\n');
    }
  }

  private beforeInstruction(linear: number): boolean {
    const cpu = this.cpu;
    const icount = cpu.icount;
    // Asked again for the instruction already pending (another observer stopped the CPU
    // before it, and it comes round again): nothing new.
    if (this.pending && icount === this.pIcount && linear === this.pLinear && !this.delivery) return false;
    if (this.phase === Phase.Waiting) {
      // The window opens at the start trigger, or (without one) at the icount range.
      if (this.from !== null ? linear !== this.from : icount < this.icountRange![0]) return false;
      this.phase = Phase.Recording;
      this.slot.set(this.recordHooks);
    } else {
      this.complete(false);
      this.flushDelivery();
      if (this.phase !== Phase.Recording) return false;
      if (this.to !== null && linear === this.to) {
        this.stop();
        return false;
      }
    }
    this.lastIcount = icount;
    this.lastEip = cpu.eip >>> 0;
    this.lastCs = cpu.sel[1];
    const r = this.icountRange;
    if (r !== null) {
      if (icount > r[1]) {
        this.stop();
        return false;
      }
      if (icount < r[0]) return false;
    }
    const ranges = this.ranges;
    if (ranges.length) {
      let inside = false;
      for (let i = 0; i < ranges.length; i++) if (linear >= ranges[i][0] && linear <= ranges[i][1]) inside = true;
      if (!inside) return false;
    }
    if (this.cplFilter !== null && cpu.cpl !== this.cplFilter) return false;
    if (this.taskFilter !== null && cpu.trSel !== this.taskFilter) return false;
    this.begin(linear);
    return false;
  }

  /** Starts the line of the instruction at `linear`. */
  private begin(linear: number): void {
    const cpu = this.cpu;
    snapshot(cpu, this.before);
    // Registers not as the trace last said (first line, skipped instructions, a delivery).
    this.writeState();
    this.pending = true;
    this.lines++;
    this.pIcount = cpu.icount;
    this.pCs = cpu.sel[1];
    this.pEip = cpu.eip >>> 0;
    this.pLinear = linear >>> 0;
    this.peekCode(linear);
    this.nWrites = 0;
    this.collecting = true;
  }

  private writeState(): void {
    const b = this.before;
    const k = this.known;
    const regs: Record<string, number> = {};
    let any = false;
    for (let i = 0; i < NREGS; i++) {
      if (b[i] !== k[i]) {
        regs[REG_NAMES[i]] = b[i];
        any = true;
      }
    }
    k.set(b);
    if (!any) return;
    this.opts.write((this.text ? formatTextState(regs) : formatJsonState(regs)) + '\n');
  }

  private peekCode(linear: number): void {
    const cpu = this.cpu;
    const src = this.src;
    src.length = 0;
    let phys = -1;
    for (let i = 0; i < 15; i++) {
      const lin = (linear + i) >>> 0;
      if (i === 0 || (lin & 0xfff) === 0) {
        const p = peekTranslate(cpu, lin);
        if (p < 0) break;
        phys = p;
      } else phys++;
      src.bytes[i] = cpu.mem.read8(phys >>> 0);
      src.length = i + 1;
    }
    const bits = cpu.csBig ? 32 : 16;
    // The line's bytes and disassembly depend on the code bytes, EIP (branch targets, the
    // symbol), the operand size and whether symbols apply (protected mode): a direct-mapped
    // cache on those saves decoding and formatting a loop's instructions again.
    const pe = cpu.cr0 & 1;
    const slot = ((this.pEip ^ (this.pEip >>> 12) ^ (linear >>> 7)) & CACHE_MASK) >>> 0;
    const c = this.cache[slot];
    if (c !== undefined && c.eip === this.pEip && c.bits === bits && c.pe === pe && c.len <= src.length) {
      let same = true;
      for (let i = 0; i < c.len; i++) {
        if (c.code[i] !== src.bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.pBytes = c.bytes;
        this.pDisasm = c.disasm;
        return;
      }
    }
    const insn = this.insn;
    decode(src, bits, insn);
    insn.defaultBits = bits;
    if (src.length === 0 || insn.length > src.length) {
      this.pBytes = '';
      this.pDisasm = '';
      return;
    }
    let hex = '';
    for (let i = 0; i < insn.length; i++) {
      const b = src.bytes[i];
      hex += (b < 16 ? '0' : '') + b.toString(16);
    }
    this.pBytes = hex;
    let dis = formatInsn(insn, this.pEip, this.fmt, src.bytes[0]);
    if (this.syms && (cpu.cr0 & 1) !== 0) {
      const where = this.syms.describe(this.pEip);
      if (where !== undefined) dis += ` <${where}>`;
    }
    this.pDisasm = dis.indexOf('  ') >= 0 ? dis.replace(/\s+/g, ' ').trim() : dis;
    const e = c ?? (this.cache[slot] = { eip: 0, bits: 0, pe: 0, len: 0, code: new Uint8Array(15), bytes: '', disasm: '' });
    e.eip = this.pEip;
    e.bits = bits;
    e.pe = pe;
    e.len = insn.length;
    e.code.set(src.bytes.subarray(0, insn.length));
    e.bytes = this.pBytes;
    e.disasm = this.pDisasm;
  }
}
