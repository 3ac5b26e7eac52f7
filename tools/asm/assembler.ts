// The assembler proper: NASM-syntax lines (already preprocessed) to a flat binary, in
// passes until every label stops moving, as NASM's optimiser does (jumps start short and
// grow; immediates and displacements that depend on later symbols start long and shrink).

import type { AsmError, SrcLoc } from './errors';
import { encodeInstruction, checkRange, isMnemonic, pushLE, type EncodeContext, type Prefixes } from './encode';
import { evaluate, ExprParser, isSimple, num, type EvalContext, type Value } from './expr';
import { LineError, tokenize, type Token } from './lexer';
import { REGS, SIZE_WORDS, type MemOp, type Operand } from './operands';
import { resolveAddress } from './encode';
import type { SrcLine } from './preprocess';

export interface SymbolEntry {
  name: string;
  address: number;
}

export interface AssembleResult {
  bytes: Uint8Array;
  symbols: SymbolEntry[];
  errors: AsmError[];
  passes: number;
  /** Labels whose first statement is data (db/dw/.../resb/...), not an instruction: the
   *  image builder types them OBJECT, the others FUNC, in its ELF symbol file. */
  dataLabels: Set<string>;
}

const MAX_PASSES = 40;
// FORKLAB_ASM_NOCACHE=1 turns off the reuse of unchanged lines between passes (to check it).
const USE_CACHE = !process.env.FORKLAB_ASM_NOCACHE;
const DEBUG = !!process.env.FORKLAB_ASM_DEBUG;

const PREFIXES: Readonly<Record<string, (p: Prefixes) => void>> = {
  rep: (p) => { p.rep = 0xf3; }, repe: (p) => { p.rep = 0xf3; }, repz: (p) => { p.rep = 0xf3; },
  repne: (p) => { p.rep = 0xf2; }, repnz: (p) => { p.rep = 0xf2; },
  lock: (p) => { p.lock = true; },
  o16: (p) => { p.osize = 16; }, o32: (p) => { p.osize = 32; },
  a16: (p) => { p.asize = 16; }, a32: (p) => { p.asize = 32; },
  es: (p) => { p.seg = 0; }, cs: (p) => { p.seg = 1; }, ss: (p) => { p.seg = 2; },
  ds: (p) => { p.seg = 3; }, fs: (p) => { p.seg = 4; }, gs: (p) => { p.seg = 5; },
};

const DATA: Readonly<Record<string, number>> = { db: 1, dw: 2, dd: 4, dq: 8 };
/** The largest flat binary we write: beyond any disk image the machine boots (64 MB). */
export const MAX_OUTPUT = 64 << 20;
const RES: Readonly<Record<string, number>> = { resb: 1, resw: 2, resd: 4, resq: 8, rest: 10 };
const DIRECTIVES = new Set(['bits', 'use16', 'use32', 'org', 'section', 'segment', 'global', 'extern', 'common',
  'static', 'cpu', 'default', 'align', 'alignb', 'sectalign', 'incbin', 'times', 'equ', 'warning', 'list', 'absolute',
  'struc', 'endstruc', 'istruc', 'at', 'iend']);

function isKeyword(w: string): boolean {
  return w in PREFIXES || w in DATA || w in RES || DIRECTIVES.has(w) || isMnemonic(w);
}

class ByteBuf {
  data: Uint8Array;
  length = 0;
  constructor(capacity = 256) {
    this.data = new Uint8Array(capacity);
  }
  /** Copies len bytes from src[start..]. */
  copyFrom(src: Uint8Array, start: number, len: number): void {
    if (this.length + len > this.data.length) this.grow(this.length + len);
    const d = this.data;
    let at = this.length;
    for (let k = 0; k < len; k++) d[at++] = src[start + k];
    this.length = at;
  }
  private grow(need: number): void {
    let cap = this.data.length * 2;
    while (cap < need) cap *= 2;
    const d = new Uint8Array(cap);
    d.set(this.data.subarray(0, this.length));
    this.data = d;
  }
  push(bytes: ArrayLike<number>, times = 1): void {
    const need = this.length + bytes.length * times;
    if (need > this.data.length) this.grow(need);
    const d = this.data;
    const n = bytes.length;
    let at = this.length;
    for (let t = 0; t < times; t++) for (let k = 0; k < n; k++) d[at++] = bytes[k];
    this.length = at;
  }
  fill(value: number, count: number): void {
    this.push([value], count);
  }
}

interface Section {
  name: string;
  index: number;
  nobits: boolean;
  align: number;
  buf: ByteBuf;
  /** Bytes (or, in nobits sections, reserved space) so far in this pass. */
  size: number;
  start: number;
}

interface Sym {
  /** equ: the value. */
  value: Value;
  /** Labels: section and offset (the address follows the section when it moves). */
  sec: number;
  off: number;
  label: boolean;
  pass: number;
  loc: SrcLoc;
  order: number;
}

export interface AssembleOptions {
  readBinary?(file: string): Uint8Array | undefined;
}

export class Assembler {
  private readonly toks: (Token[] | null)[] = [];
  private readonly lexErrors: AsmError[] = [];
  private readonly sections: Section[] = [];
  private readonly symbols = new Map<string, Sym>();
  private pass = 0;
  private bits: 16 | 32 = 16;
  private org = 0;
  private cur!: Section;
  private prevLabel = '';
  /** Labels waiting for the statement that says whether they name code or data. */
  private pendingLabels: string[] = [];
  private dataLabels = new Set<string>();
  private errors: AsmError[] = [];
  private changed = false;
  private forwardRefs = false;
  private unknownUses: { name: string; line: number; col: number }[] = [];
  private lineIndex = 0;
  private strucs: { name: string; back: Section; col: number }[] = [];
  private strucBack!: Section;
  private instances: { name: string; start: number }[] = [];
  private impure = false;
  private cacheable = false;
  private usesAddress = false;
  private relativeOnly = false;
  private misses = 0;
  private lastChange = { name: '', line: 0 };
  /** Symbols a line used and their values: name, value, name, value... */
  private deps: (string | bigint)[] = [];
  private readonly cache: ({ bits: number; sec: number; addr: number; base: number; deps: (string | bigint)[]; relative: boolean; data: Uint8Array; start: number; len: number } | undefined)[] = [];
  private symOrder = 0;

  constructor(private readonly lines: SrcLine[], private readonly opts: AssembleOptions = {}) {
    for (const l of lines) {
      try {
        this.toks.push(tokenize(l.text));
      } catch (e) {
        if (!(e instanceof LineError)) throw e;
        this.lexErrors.push(this.mkError(l, e.col, e.message));
        this.toks.push(null);
      }
    }
  }

  private mkError(l: SrcLine, col: number, message: string): AsmError {
    return { file: l.file, line: l.line, col: col + 1, message: l.macro ? `${message} (in macro '${l.macro}')` : message, text: l.text };
  }

  private error(col: number, message: string): void {
    this.errors.push(this.mkError(this.lines[this.lineIndex], col, message));
  }

  private section(name: string): Section {
    let s = this.sections.find((x) => x.name === name);
    if (!s) {
      s = { name, index: this.sections.length, nobits: name === '.bss', align: 4, buf: new ByteBuf(), size: 0, start: this.org };
      this.sections.push(s);
    }
    return s;
  }

  run(): AssembleResult {
    this.section('.text');
    let final = false;
    for (this.pass = 1; this.pass <= MAX_PASSES; this.pass++) {
      const t0 = performance.now();
      this.runPass();
      if (DEBUG) console.log(`pass ${this.pass}: ${(performance.now() - t0).toFixed(1)} ms, ${this.misses} lines assembled afresh`);
      const layoutChanged = this.layout();
      if (!this.changed && !layoutChanged && (this.pass > 1 || !this.forwardRefs)) {
        final = true;
        break;
      }
    }
    const errors = [...this.lexErrors, ...this.errors];
    if (!final) {
      const l = this.lines[this.lastChange.line] ?? { file: '?', line: 1, text: '' };
      errors.push(this.mkError(l, 0, `'${this.lastChange.name}' still moves after ${MAX_PASSES} passes (does a times or align depend on a label after it?)`));
    }
    const errorLines = new Set(this.errors.map((e) => `${e.file}:${e.line}`));
    const seen = new Set<string>();
    for (const u of this.unknownUses) {
      const l = this.lines[u.line];
      const key = `${l.file}:${l.line}:${u.col}:${u.name}`;
      if (errorLines.has(`${l.file}:${l.line}`) || seen.has(key)) continue;
      seen.add(key);
      errors.push(this.mkError(this.lines[u.line], u.col, `undefined symbol '${u.name}'`));
    }
    // In source order, file by file in the order they first appear.
    const fileOrder = new Map<string, number>();
    for (const e of errors) if (!fileOrder.has(e.file)) fileOrder.set(e.file, fileOrder.size);
    errors.sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col);
    return { bytes: this.image(), symbols: this.symbolMap(), errors, passes: this.pass, dataLabels: this.dataLabels };
  }

  /** Places the sections for the next pass; true when a start moved. */
  private layout(): boolean {
    let changed = false;
    let addr = this.org;
    const order = [this.sections[0], ...this.sections.slice(1).filter((s) => !s.nobits), ...this.sections.filter((s) => s.nobits && s.index !== 0)];
    for (const s of order) {
      if (s.index !== 0) addr = Math.ceil(addr / s.align) * s.align;
      if (s.start !== addr) changed = true;
      s.start = addr;
      addr += s.size;
    }
    return changed;
  }

  private image(): Uint8Array {
    const progbits = [this.sections[0], ...this.sections.slice(1).filter((s) => !s.nobits)];
    const last = progbits[progbits.length - 1];
    const total = last.start - this.org + last.size;
    const out = new Uint8Array(Math.max(0, total));
    for (const s of progbits) {
      if (s.nobits) continue;
      out.set(s.buf.data.subarray(0, s.size), s.start - this.org);
    }
    return out;
  }

  private symbolMap(): SymbolEntry[] {
    const list = [...this.symbols.entries()]
      .filter(([name, s]) => s.label && !name.startsWith('..@'))
      .map(([name, s]) => ({ name, address: (this.sections[s.sec].start + s.off) >>> 0, order: s.order }));
    list.sort((a, b) => a.address - b.address || a.order - b.order);
    return list.map(({ name, address }) => ({ name, address }));
  }

  private runPass(): void {
    this.bits = 16;
    this.cur = this.sections[0];
    this.strucBack = this.cur;
    this.strucs = [];
    this.instances = [];
    for (const s of this.sections) {
      // A fresh buffer: the cache keeps pointing into the last pass's bytes.
      s.buf = new ByteBuf(Math.max(256, s.buf.length));
      s.size = 0;
    }
    this.prevLabel = '';
    this.pendingLabels = [];
    this.dataLabels = new Set();
    this.errors = [];
    this.changed = false;
    this.forwardRefs = false;
    this.unknownUses = [];
    this.misses = 0;
    for (let i = 0; i < this.lines.length; i++) {
      const toks = this.toks[i];
      if (!toks || toks.length === 0) continue;
      this.lineIndex = i;
      try {
        this.statement(toks);
      } catch (e) {
        if (!(e instanceof LineError)) throw e;
        this.error(e.col, e.message);
      }
    }
  }

  private here(): Value {
    if (this.cur.index < 0) return num(this.cur.start + this.cur.size);
    return { n: BigInt(this.cur.start + this.cur.size), rel: 1, sec: this.cur.index, unknown: false };
  }

  private readonly evalCtx: EvalContext = {
    symbol: (name, tok) => {
      const v = this.lookup(name, tok);
      if (v) this.deps.push(this.qualify(name), v.n);
      else this.impure = true;
      return v;
    },
    here: () => {
      this.usesAddress = true;
      return this.here();
    },
    base: () => {
      this.usesAddress = true;
      if (this.cur.index < 0) return num(this.cur.start);
      return { n: BigInt(this.cur.start), rel: 1, sec: this.cur.index, unknown: false };
    },
    onUnknown: (name, tok) => {
      this.impure = true;
      this.forwardRefs = true;
      this.unknownUses.push({ name: this.qualify(name), line: this.lineIndex, col: tok.col });
    },
  };
  private readonly memEvalCtx: EvalContext = { ...this.evalCtx, isReg: (r) => REGS.has(r) && REGS.get(r)!.cls === 'gpr' };

  private ctx(): EvalContext {
    return this.evalCtx;
  }

  private memCtx(): EvalContext {
    return this.memEvalCtx;
  }

  private qualify(name: string): string {
    return name.startsWith('.') && !name.startsWith('..') ? this.prevLabel + name : name;
  }

  private lookup(name: string, _tok: Token): Value | undefined {
    const s = this.symbols.get(this.qualify(name));
    if (!s) return undefined;
    if (s.pass !== this.pass) this.forwardRefs = true;
    if (s.label) return { n: BigInt(this.sections[s.sec].start + s.off), rel: 1, sec: s.sec, unknown: false };
    return s.value;
  }

  private define(name: string, value: Value, label: boolean, col: number, setsBase = label): void {
    const sec = label ? this.cur.index : -1;
    const off = label ? this.cur.size : 0;
    const full = this.qualify(name);
    if (setsBase && !name.startsWith('.') && !name.startsWith('..@')) this.prevLabel = name;
    if (REGS.has(full.toLowerCase()) && !name.startsWith('$')) {
      // tokens strip the `$` escape; a bare register name cannot be a label
    }
    const old = this.symbols.get(full);
    const loc = this.lines[this.lineIndex];
    if (old) {
      if (old.pass === this.pass) {
        throw new LineError(`'${full}' is already defined (at ${old.loc.file}:${old.loc.line})`, col);
      }
      if (label !== old.label || (label ? old.sec !== sec || old.off !== off : old.value.n !== value.n || old.value.unknown !== value.unknown || old.value.rel !== value.rel)) {
        this.changed = true;
        this.lastChange = { name: full, line: this.lineIndex };
      }
      old.value = value;
      old.sec = sec;
      old.off = off;
      old.pass = this.pass;
      old.loc = loc;
      old.label = label;
      return;
    }
    this.changed = true;
    this.symbols.set(full, { value, sec, off, label, pass: this.pass, loc, order: this.symOrder++ });
  }

  /** `absolute N`: labels become plain numbers from N on; nothing is stored. */
  private enterAbsolute(start: number): void {
    if (this.cur.index >= 0) this.strucBack = this.cur;
    this.cur = { name: '[absolute]', index: -1, nobits: true, align: 1, buf: new ByteBuf(16), size: 0, start };
  }

  private emit(bytes: ArrayLike<number>, times = 1): void {
    if (!this.cur.nobits) {
      this.checkOutputSize(bytes.length * times);
      this.cur.buf.push(bytes, times);
    }
    this.cur.size += bytes.length * times;
  }

  private reserve(n: number, fill = 0): void {
    if (!this.cur.nobits) {
      this.checkOutputSize(n);
      this.cur.buf.fill(fill, n);
    }
    this.cur.size += n;
  }

  /** Refuses, before allocating, a line that would take the output beyond MAX_OUTPUT. */
  private checkOutputSize(adding: number): void {
    const end = this.cur.start - this.org + this.cur.size + adding;
    if (end > MAX_OUTPUT) {
      throw new LineError(`the output would grow to ${end} bytes, beyond the assembler's limit of ${MAX_OUTPUT / (1 << 20)} MB`, 0);
    }
  }

  // ---- statements ----

  private statement(toks: Token[]): void {
    let i = 0;
    // [directive ...]
    if (toks[0].kind === 'op' && toks[0].text === '[' && toks[1]?.kind === 'id' && (DIRECTIVES.has(toks[1].text.toLowerCase()) || toks[1].text.toLowerCase() === 'map')) {
      const end = toks.length - 1;
      if (toks[end].text !== ']') throw new LineError("expected ']' at the end of the directive", toks[end].col);
      this.directive(toks.slice(1, end), 0, toks[1].text.toLowerCase());
      return;
    }
    const t0 = toks[0];
    if (t0.kind === 'id') {
      const w = t0.text.toLowerCase();
      const t1 = toks[1];
      const isColon = t1?.kind === 'op' && t1.text === ':';
      const isEqu = (t: Token | undefined) => t?.kind === 'id' && t.text.toLowerCase() === 'equ';
      if (isEqu(t1) || (isColon && isEqu(toks[2]))) {
        const at = isColon ? 3 : 2;
        if (at >= toks.length) throw new LineError('equ needs a value', toks[at - 1].col);
        const v = evaluate(toks, this.ctx(), at);
        this.define(t0.text, v, false, t0.col);
        return;
      }
      if (isColon) {
        this.defineLabel(t0);
        i = 2;
      } else if (!isKeyword(w) || t0.text.startsWith('.')) {
        if (toks.length === 1 || (t1.kind === 'id' && isKeyword(t1.text.toLowerCase()))) {
          this.defineLabel(t0);
          i = 1;
        } else {
          throw new LineError(`unknown mnemonic '${t0.text}'`, t0.col);
        }
      }
    }
    if (i >= toks.length) return;
    this.settlePendingLabels(toks, i);
    // A line assembles to the same bytes as in the last pass when the symbols it used (and,
    // if it used `$` or `$$`, its address) are unchanged: reuse them.
    const cached = this.cache[this.lineIndex];
    const sec = this.cur;
    const addr = sec.start + sec.size;
    if (
      USE_CACHE && cached && cached.bits === this.bits && cached.sec === sec.index && !sec.nobits &&
      (cached.addr < 0 || cached.relative || (cached.addr === addr && cached.base === sec.start)) &&
      this.depsHold(cached.deps, cached.relative ? BigInt(addr) : 0n)
    ) {
      sec.buf.copyFrom(cached.data, cached.start, cached.len);
      cached.start = sec.size;
      cached.data = sec.buf.data;
      sec.size += cached.len;
      return;
    }
    this.misses++;
    const before = sec.size;
    const errs = this.errors.length;
    this.impure = false;
    this.usesAddress = false;
    this.relativeOnly = false;
    this.deps = [];
    this.cacheable = true;
    this.instructionOrDirective(toks, i, 1);
    if (!this.impure && this.cacheable && this.cur === sec && !sec.nobits && this.errors.length === errs) {
      // A branch to one label keeps its bytes when it and its target move together: its
      // symbols are then recorded relative to its own address.
      const relative = this.relativeOnly && !this.usesAddress;
      if (relative) for (let k = 1; k < this.deps.length; k += 2) this.deps[k] = (this.deps[k] as bigint) - BigInt(addr);
      this.cache[this.lineIndex] = {
        bits: this.bits, sec: sec.index, addr: this.usesAddress || relative ? addr : -1, base: sec.start, deps: this.deps,
        relative, data: sec.buf.data, start: before, len: sec.size - before,
      };
    } else this.cache[this.lineIndex] = undefined;
  }

  private depsHold(deps: (string | bigint)[], origin: bigint): boolean {
    for (let k = 0; k < deps.length; k += 2) {
      const s = this.symbols.get(deps[k] as string);
      if (!s) return false;
      const n = s.label ? BigInt(this.sections[s.sec].start + s.off) : s.value.unknown ? undefined : s.value.n;
      if (n === undefined || n - origin !== deps[k + 1]) return false;
    }
    return true;
  }

  private defineLabel(t: Token): void {
    // `eax:` is not a label; NASM rejects it too.
    if (REGS.has(t.text.toLowerCase())) throw new LineError(`'${t.text}' is a register, not a label name`, t.col);
    // In `absolute` space (struc fields) a label is a plain number.
    if (this.cur.index < 0) this.define(t.text, this.here(), false, t.col, true);
    else {
      this.define(t.text, this.here(), true, t.col);
      this.pendingLabels.push(this.qualify(t.text));
    }
  }

  /** The first statement after a label that lays down bytes says what the label names: data
   *  (db/dw/.../resb/..., also under times) or code. Directives such as align wait. */
  private settlePendingLabels(toks: Token[], i: number): void {
    if (!this.pendingLabels.length || toks[i].kind !== 'id') return;
    const w = toks[i].text.toLowerCase();
    if (w === 'section' || w === 'segment' || w === 'absolute') this.pendingLabels = []; // the label ended a section
    if (w !== 'times' && DIRECTIVES.has(w)) return;
    const isData = toks.slice(i).some((t) => t.kind === 'id' && (t.text.toLowerCase() in DATA || t.text.toLowerCase() in RES));
    if (isData) for (const name of this.pendingLabels) this.dataLabels.add(name);
    this.pendingLabels = [];
  }

  private instructionOrDirective(toks: Token[], i: number, times: number): void {
    const t = toks[i];
    if (t.kind !== 'id') throw new LineError(`instruction expected, found '${t.text}'`, t.col);
    const w = t.text.toLowerCase();
    if (w === 'times') {
      const p = new ExprParser(toks, this.ctx(), i + 1);
      const v = p.parse();
      if (!isSimple(v)) throw new LineError('times needs a plain number (use $-$$, not $)', toks[i + 1]?.col ?? t.col);
      const n = v.unknown ? 0 : Number(v.n);
      if (n < 0) throw new LineError(`times count ${n} is negative`, toks[i + 1].col);
      if (p.pos >= toks.length) throw new LineError('times needs something to repeat', t.col);
      if (n === 0) return;
      this.instructionOrDirective(toks, p.pos, n * times);
      return;
    }
    if (w in DATA) return this.data(toks, i + 1, DATA[w], times, t);
    if (w in RES) {
      const v = this.critical(toks, i + 1, w);
      if (v < 0) throw new LineError(`${w} count ${v} is negative`, toks[i + 1].col);
      this.reserve(v * RES[w] * times);
      return;
    }
    if (DIRECTIVES.has(w)) {
      this.cacheable = false;
      if (times !== 1) throw new LineError(`'${w}' cannot be repeated with times`, t.col);
      this.directive(toks.slice(i), 0, w);
      return;
    }
    // prefixes, then the mnemonic
    const pfx: Prefixes = { rep: 0, lock: false, seg: -1, osize: 0, asize: 0, col: t.col };
    let j = i;
    while (j < toks.length && toks[j].kind === 'id' && toks[j].text.toLowerCase() in PREFIXES) {
      PREFIXES[toks[j].text.toLowerCase()](pfx);
      j++;
    }
    if (j >= toks.length) {
      // prefixes alone on a line
      const b: number[] = [];
      if (pfx.rep) b.push(pfx.rep);
      if (pfx.lock) b.push(0xf0);
      if (pfx.seg >= 0) b.push([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65][pfx.seg]);
      if (pfx.osize && pfx.osize !== this.bits) b.push(0x66);
      if (pfx.asize && pfx.asize !== this.bits) b.push(0x67);
      this.emit(b, times);
      return;
    }
    const mt = toks[j];
    if (mt.kind !== 'id') throw new LineError(`instruction expected, found '${mt.text}'`, mt.col);
    const mn = mt.text.toLowerCase();
    if (!isMnemonic(mn)) {
      if (mn in DATA || mn in RES || DIRECTIVES.has(mn)) throw new LineError(`a prefix cannot stand before '${mt.text}'`, mt.col);
      throw new LineError(`unknown mnemonic '${mt.text}'`, mt.col);
    }
    const ops = this.operands(toks, j + 1);
    const ectx: EncodeContext = {
      bits: this.bits,
      address: this.cur.start + this.cur.size,
      section: this.cur.index,
      error: (col, m) => this.error(col, m),
    };
    const bytes = encodeInstruction(ectx, mn, ops, pfx, mt.col);
    // Relative branches depend on where the instruction is, without naming `$`.
    if (ectx.relative) {
      if (ectx.relativeToOneLabel) this.relativeOnly = true;
      else this.usesAddress = true;
    }
    if (this.cur.nobits) this.error(mt.col, 'code in a nobits section (.bss) is not stored');
    this.emit(bytes, times);
  }

  private critical(toks: Token[], at: number, what: string): number {
    if (at >= toks.length) throw new LineError(`${what} needs a value`, toks[at - 1].col + toks[at - 1].text.length);
    const v = evaluate(toks, this.ctx(), at);
    if (!isSimple(v)) throw new LineError(`${what} needs a plain number (use $-$$, not $)`, toks[at].col);
    return v.unknown ? 0 : Number(v.n);
  }

  private data(toks: Token[], at: number, size: number, times: number, kw: Token): void {
    const out: number[] = [];
    const items = splitTop(toks, at);
    if (!items.length) throw new LineError(`${kw.text} needs at least one value`, kw.col);
    for (const [s, e] of items) {
      if (s === e) throw new LineError('empty value in the list', toks[Math.min(s, toks.length - 1)].col);
      const t = toks[s];
      if (e - s === 1 && t.kind === 'str') {
        const b = t.bytes!;
        for (const x of b) out.push(x);
        const pad = (size - (b.length % size)) % size;
        for (let k = 0; k < pad; k++) out.push(0);
        continue;
      }
      if (e - s === 1 && t.kind === 'op' && t.text === '?') {
        for (let k = 0; k < size; k++) out.push(0);
        continue;
      }
      const v = evaluate(toks, this.ctx(), s, e);
      if (v.regs?.length) throw new LineError('a register cannot be data', t.col);
      if (v.rel > 1 || v.rel < -1) throw new LineError('expression is not a plain number or a single address', t.col);
      checkRange(v, size, { error: (c, m) => this.error(c, m) }, t.col);
      pushLE(out, v.n, size);
    }
    if (this.cur.nobits) this.error(kw.col, `data in a nobits section (${this.cur.name}) is not stored`);
    this.emit(out, times);
  }

  private directive(toks: Token[], at: number, w: string): void {
    const arg = toks[at + 1];
    switch (w) {
      case 'bits': {
        const v = this.critical(toks, at + 1, 'bits');
        if (v !== 16 && v !== 32) throw new LineError(`bits ${v} is not supported (16 or 32)`, arg.col);
        this.bits = v;
        return;
      }
      case 'use16': this.bits = 16; return;
      case 'use32': this.bits = 32; return;
      case 'org': {
        const v = this.critical(toks, at + 1, 'org');
        this.org = v;
        return;
      }
      case 'section': case 'segment': {
        if (!arg) throw new LineError(`${w} needs a name`, toks[at].col);
        const name = arg.text;
        const s = this.section(name);
        for (let k = at + 2; k < toks.length; k++) {
          const a = toks[k].text.toLowerCase();
          if (a === 'nobits') s.nobits = true;
          else if (a === 'progbits') s.nobits = false;
          else if (a === 'align' && toks[k + 1]?.text === '=') {
            const v = toks[k + 2];
            if (v?.kind !== 'num') throw new LineError('align= needs a number', toks[k].col);
            const n = Number(v.num);
            if (n & (n - 1)) throw new LineError(`section alignment ${n} is not a power of two`, v.col);
            s.align = Math.max(n, 1);
            k += 2;
          } else throw new LineError(`section attribute '${toks[k].text}' is not supported`, toks[k].col);
        }
        if (name !== '.text' && this.sections.indexOf(s) === 0) s.nobits = false;
        this.cur = s;
        return;
      }
      // Accepted and ignored, as NASM's bin format does (`[map ...]`: use --map instead).
      case 'global': case 'extern': case 'common': case 'static': case 'cpu': case 'default': case 'warning': case 'list': case 'map':
        return;
      case 'absolute': {
        const v = evaluate(toks, this.ctx(), at + 1);
        this.enterAbsolute(v.unknown ? 0 : Number(v.n));
        return;
      }
      case 'struc': {
        if (arg?.kind !== 'id') throw new LineError('struc needs a name', toks[at].col);
        const items = splitTop(toks, at + 1);
        const start = items[1] ? Number(evaluate(toks, this.ctx(), items[1][0], items[1][1]).n) : 0;
        this.strucs.push({ name: arg.text, back: this.cur.index < 0 ? this.strucBack : this.cur, col: arg.col });
        this.enterAbsolute(start);
        this.define(arg.text, num(start), false, arg.col, true);
        return;
      }
      case 'endstruc': {
        const st = this.strucs.pop();
        if (!st || this.cur.index >= 0) throw new LineError('endstruc without struc', toks[at].col);
        this.define(`${st.name}_size`, num(this.cur.size), false, toks[at].col);
        this.cur = st.back;
        return;
      }
      case 'istruc': {
        if (arg?.kind !== 'id') throw new LineError('istruc needs a structure name', toks[at].col);
        this.instances.push({ name: arg.text, start: this.cur.size });
        return;
      }
      case 'at': {
        const inst = this.instances[this.instances.length - 1];
        if (!inst) throw new LineError('at outside istruc', toks[at].col);
        const items = splitTop(toks, at + 1);
        if (!items.length || items[0][0] === items[0][1]) throw new LineError('at needs a field', toks[at].col);
        const f = evaluate(toks, this.ctx(), items[0][0], items[0][1]);
        const pad = Number(f.n) - (this.cur.size - inst.start);
        if (!f.unknown && pad < 0) throw new LineError('at: the field is behind the current position (fields out of order?)', toks[items[0][0]].col);
        if (pad > 0) this.reserve(pad);
        if (items.length > 1) this.instructionOrDirective(toks, items[1][0], 1);
        return;
      }
      case 'iend': {
        const inst = this.instances.pop();
        if (!inst) throw new LineError('iend without istruc', toks[at].col);
        const size = this.lookup(`${inst.name}_size`, toks[at]);
        if (!size) throw new LineError(`'${inst.name}' is not a structure (no ${inst.name}_size)`, toks[at].col);
        const pad = Number(size.n) - (this.cur.size - inst.start);
        if (pad > 0) this.reserve(pad);
        return;
      }
      case 'sectalign': {
        if (arg && arg.kind === 'id') return; // sectalign on/off
        const n = this.critical(toks, at + 1, 'sectalign');
        if (n > this.cur.align) this.cur.align = n;
        return;
      }
      case 'align': case 'alignb': {
        const items = splitTop(toks, at + 1);
        if (!items.length || items[0][0] === items[0][1]) throw new LineError(`${w} needs a value`, toks[at].col);
        const v = evaluate(toks, this.ctx(), items[0][0], items[0][1]);
        if (!isSimple(v)) throw new LineError(`${w} needs a plain number`, toks[items[0][0]].col);
        const n = Number(v.n);
        if (n <= 0 || (n & (n - 1)) !== 0) throw new LineError(`${w} ${n} is not a power of two`, toks[items[0][0]].col);
        if (n > this.cur.align) this.cur.align = n;
        const pad = (n - (this.cur.size % n)) % n;
        if (pad === 0) return;
        if (items.length > 1) {
          const start = items[1][0];
          if (start >= toks.length) throw new LineError(`${w}: what to pad with?`, toks[toks.length - 1].col);
          this.instructionOrDirective(toks, start, pad);
        } else if (w === 'align') {
          if (this.cur.nobits) this.cur.size += pad;
          else this.emit([0x90], pad);
        } else this.reserve(pad);
        return;
      }
      case 'incbin': {
        if (!arg || arg.kind !== 'str') throw new LineError('incbin needs a file name in quotes', toks[at].col);
        const file = String.fromCharCode(...arg.bytes!);
        const data = this.opts.readBinary?.(file);
        if (!data) throw new LineError(`cannot read incbin file '${file}'`, arg.col);
        const items = splitTop(toks, at + 1);
        let skip = 0;
        let len = data.length;
        if (items[1]) skip = Number(evaluate(toks, this.ctx(), items[1][0], items[1][1]).n);
        if (items[2]) len = Number(evaluate(toks, this.ctx(), items[2][0], items[2][1]).n);
        this.emit(data.subarray(skip, skip + len));
        return;
      }
      case 'equ':
        throw new LineError('equ needs a label in front of it', toks[at].col);
      case 'times':
        this.instructionOrDirective(toks, at, 1);
        return;
    }
    throw new LineError(`unknown directive '${w}'`, toks[at].col);
  }

  // ---- operands ----

  private operands(toks: Token[], at: number): Operand[] {
    const ops: Operand[] = [];
    for (const [s, e] of splitTop(toks, at)) {
      if (s === e) throw new LineError('operand expected', toks[Math.min(s, toks.length - 1)].col);
      ops.push(this.operand(toks, s, e));
    }
    return ops;
  }

  private operand(toks: Token[], s: number, e: number): Operand {
    let size = 0;
    let strict = false;
    let jump = '';
    const col = toks[s].col;
    let i = s;
    for (; i < e; i++) {
      const t = toks[i];
      if (t.kind !== 'id') break;
      const w = t.text.toLowerCase();
      if (w in SIZE_WORDS) size = SIZE_WORDS[w];
      else if (w === 'strict') strict = true;
      else if (w === 'short' || w === 'near' || w === 'far') jump = w;
      else break;
    }
    if (i >= e) throw new LineError('operand expected after the size keyword', toks[e - 1].col);
    const t = toks[i];
    if (t.kind === 'op' && t.text === '[') {
      const close = matchBracket(toks, i, e);
      if (close !== e - 1) throw new LineError('unexpected text after the memory operand', toks[close + 1]?.col ?? t.col);
      return this.memory(toks, i + 1, close, size, jump === 'far', t.col);
    }
    if (t.kind === 'id' && i + 1 === e) {
      const r = REGS.get(t.text.toLowerCase());
      if (r && !toks[i].text.startsWith('$')) {
        if (jump) throw new LineError(`'${jump}' cannot apply to a register`, toks[s].col);
        if (size && r.cls === 'gpr' && size !== r.size) throw new LineError(`mismatch in operand sizes: ${t.text} is not a ${sizeName(size)}`, toks[s].col);
        return { type: 'reg', name: t.text.toLowerCase(), reg: r, size, col };
      }
    }
    // seg:off
    let colon = -1;
    let depth = 0;
    for (let k = i; k < e; k++) {
      const x = toks[k];
      if (x.kind !== 'op') continue;
      if (x.text === '(') depth++;
      else if (x.text === ')') depth--;
      else if (x.text === ':' && depth === 0) colon = k;
    }
    if (colon >= 0) {
      const seg = evaluate(toks, this.ctx(), i, colon);
      // `jmp 0x10:word 5`: the size may also stand in front of the offset.
      let o = colon + 1;
      const w = toks[o]?.kind === 'id' ? toks[o].text.toLowerCase() : '';
      if (w === 'word' || w === 'dword') {
        size = SIZE_WORDS[w];
        o++;
      }
      const off = evaluate(toks, this.ctx(), o, e);
      return { type: 'far', size, seg, off, col };
    }
    const value = evaluate(toks, this.ctx(), i, e);
    if (value.regs?.length) throw new LineError('a register in an expression needs brackets (memory)', t.col);
    return { type: 'imm', size, strict, jump, value, col };
  }

  private memory(toks: Token[], s: number, e: number, size: number, far: boolean, col: number): MemOp {
    let hint = 0;
    let nosplit = false;
    let seg = -1;
    let i = s;
    for (; i < e; i++) {
      const t = toks[i];
      if (t.kind !== 'id') break;
      const w = t.text.toLowerCase();
      if (w === 'byte' || w === 'word' || w === 'dword') hint = SIZE_WORDS[w];
      else if (w === 'nosplit') nosplit = true;
      else if (w === 'abs' || w === 'rel') continue;
      else if (REGS.get(w)?.cls === 'sreg' && toks[i + 1]?.text === ':') {
        seg = REGS.get(w)!.num;
        i++;
      } else break;
    }
    const m: MemOp = {
      type: 'mem', size, far, seg, base: -1, index: -1, scale: 1, asize: 0, rm16: -1,
      disp: num(0), dispHint: hint, nosplit, noRegs: true, col,
    };
    if (i >= e) throw new LineError('empty memory reference', col);
    const v = evaluate(toks, this.memCtx(), i, e);
    m.disp = { ...v, regs: undefined };
    resolveAddress(m, v.regs ?? [], (r) => REGS.get(r));
    return m;
  }
}

function sizeName(bits: number): string {
  return Object.entries(SIZE_WORDS).find(([, v]) => v === bits)?.[0] ?? `${bits}-bit value`;
}

function matchBracket(toks: Token[], open: number, end: number): number {
  let depth = 0;
  for (let k = open; k < end; k++) {
    const t = toks[k];
    if (t.kind !== 'op') continue;
    if (t.text === '[') depth++;
    else if (t.text === ']' && --depth === 0) return k;
  }
  throw new LineError("missing ']'", toks[open].col);
}

/** Splits tokens[at..] at top-level commas into [start, end) ranges. */
function splitTop(toks: Token[], at: number): [number, number][] {
  if (at >= toks.length) return [];
  const out: [number, number][] = [];
  let depth = 0;
  let start = at;
  for (let k = at; k < toks.length; k++) {
    const t = toks[k];
    if (t.kind !== 'op') continue;
    if (t.text === '(' || t.text === '[') depth++;
    else if (t.text === ')' || t.text === ']') depth--;
    else if (t.text === ',' && depth === 0) {
      out.push([start, k]);
      start = k + 1;
    }
  }
  out.push([start, toks.length]);
  return out;
}

export function assembleLines(lines: SrcLine[], opts: AssembleOptions = {}): AssembleResult {
  return new Assembler(lines, opts).run();
}
