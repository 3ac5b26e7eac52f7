// `forklab trace-diff A B`: the first instruction where two traces part.
//
// Reads two traces (text or JSON lines, detected from the first line; see
// emulator/debug/trace-format.ts) in lockstep, streaming, and compares per instruction:
//   icount      relative to each trace's first compared instruction
//   cs:eip and the linear address
//   bytes       when both traces record them
//   registers   the value after the instruction of every register either trace says the
//               instruction changed (a trace that does not list a register left it as it
//               was: the diff keeps each trace's running register values to know it)
//   memory      the writes, in order, when both traces record them
// With --merge-repeats, consecutive records at one cs:eip are one instruction (a REP string
// instruction: forklab retires it in page-sized pieces, QEMU logs each iteration).
// With --resync, registers that differ on arrival after a skipped stretch (--range: a BIOS
// call answered differently) are reported and taken from B, and the comparison goes on.
// Exit status 0 when the traces agree to the end, 1 at a divergence (or when one trace ends
// first), 2 on a usage or format error.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import {
  ALL_FIELDS, detectFormat, formatMemWrite, sameMemWrites, formatRegisterValue, formatTextLine, isHeader, isState,
  parseJsonLine, parseTextHeader, parseTextLine, parseTextState, REGISTER_ORDER, TraceFormatError,
  type TraceField, type TraceHeader, type TraceRecord, type TraceState,
} from '../emulator/debug/trace-format';
import { parseCommandArgs, parseNumberOption, UsageError } from './cli-util';

const MAX_LINE = 4 << 20;

/** Reads a file line by line in large chunks, synchronously (fast on millions of lines). */
export class LineReader {
  private fd: number;
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private readonly decoder = new StringDecoder('utf8');
  private lines: string[] = [];
  private pos = 0;
  private rest = '';
  private eof = false;
  lineNumber = 0;

  constructor(readonly path: string) {
    try {
      if (statSync(path).isDirectory()) throw new UsageError(`'${path}' is a directory`);
      this.fd = openSync(path, 'r');
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`cannot read '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }

  /** The next line without its newline, or null at the end. */
  next(): string | null {
    while (this.pos >= this.lines.length) {
      if (this.eof) return null;
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      let text: string;
      if (n === 0) {
        this.eof = true;
        text = this.rest + this.decoder.end();
        this.rest = '';
        this.lines = text === '' ? [] : [text];
      } else {
        text = this.rest + this.decoder.write(this.buf.subarray(0, n));
        const parts = text.split('\n');
        this.rest = parts.pop()!;
        this.lines = parts;
        // no trace or log has such lines: a binary file (or /dev/zero) would fill memory
        if (this.rest.length > MAX_LINE) throw new UsageError(`${this.path}:${this.lineNumber + parts.length + 1}: a line longer than ${MAX_LINE >> 20} MB (not a text trace or log?)`);
      }
      this.pos = 0;
    }
    this.lineNumber++;
    const line = this.lines[this.pos++];
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The state lines that came before a record in its file (applied when a reader reaches the
 *  record: a diff reads one record ahead, and a state line belongs after the record before). */
const STATES_BEFORE = new WeakMap<TraceRecord, Record<string, number>[]>();

export function statesBefore(r: TraceRecord): Record<string, number>[] | undefined {
  return STATES_BEFORE.get(r);
}

/** Applies the state lines before `r` to `state`; their registers go into `dirty` when given. */
function arrive(r: TraceRecord, state: RegState, dirty: Set<string> | null): void {
  const list = STATES_BEFORE.get(r);
  if (!list) return;
  for (const regs of list) {
    for (const k in regs) {
      state.set(k, regs[k]);
      dirty?.add(k);
    }
  }
}

/** A trace file read record by record. */
export class TraceReader {
  private readonly lines: LineReader;
  private format: 'text' | 'jsonl' | null = null;
  private pending: string | null = null;
  header: TraceHeader = { version: 1, source: 'unknown', fields: [...ALL_FIELDS] };
  /** State lines read since the last record returned. */
  private states: Record<string, number>[] = [];
  /** The text of the last record returned (as a text trace line), and its file line. */
  lastLine = 0;

  constructor(readonly path: string) {
    this.lines = new LineReader(path);
    // Find the format and the header from the first non-blank line.
    for (;;) {
      const l = this.lines.next();
      if (l === null) return;
      if (l.trim() === '') continue;
      this.format = detectFormat(l);
      if (this.format === 'text') {
        const h = parseTextHeader(l);
        if (h) this.header = h;
        else this.pending = l;
      } else {
        const r = this.parse(l);
        if (r && isHeader(r)) this.header = r;
        else this.pending = l;
      }
      return;
    }
  }

  private parse(line: string): TraceRecord | TraceHeader | TraceState | null {
    try {
      if (this.format === 'jsonl') return parseJsonLine(line);
      if (line.charCodeAt(0) === 35 /* # */) return parseTextState(line);
      return parseTextLine(line);
    } catch (e) {
      if (e instanceof TraceFormatError) throw new UsageError(`${this.path}:${this.lines.lineNumber}: ${e.message}`);
      throw e;
    }
  }

  /** Fold consecutive records at one cs:eip into one (a REP instruction our CPU retires in
   *  page-sized pieces, or QEMU logs per iteration). */
  mergeRepeats = false;
  private back: TraceRecord | null = null;

  next(): TraceRecord | null {
    const r = this.take();
    if (!r || !this.mergeRepeats) return r;
    for (;;) {
      const n = this.take();
      if (!n) break;
      if (n.cs !== r.cs || n.eip !== r.eip || n.linear !== r.linear || STATES_BEFORE.has(n)) {
        this.back = n;
        break;
      }
      Object.assign(r.regs, n.regs);
      for (const w of n.mem) r.mem.push(w);
    }
    return r;
  }

  private take(): TraceRecord | null {
    if (this.back) {
      const b = this.back;
      this.back = null;
      return b;
    }
    for (;;) {
      let l: string | null;
      if (this.pending !== null) {
        l = this.pending;
        this.pending = null;
      } else l = this.lines.next();
      if (l === null) return null;
      const r = this.parse(l);
      if (r === null || isHeader(r)) continue;
      if (isState(r)) {
        this.states.push(r.state);
        continue;
      }
      this.lastLine = this.lines.lineNumber;
      if (this.states.length) {
        STATES_BEFORE.set(r, this.states);
        this.states = [];
      }
      return r;
    }
  }

  close(): void {
    this.lines.close();
  }
}

export interface DiffOptions {
  /** Registers not compared. */
  ignoreRegs: Set<string>;
  /** Fields not compared: icount, linear, bytes, regs, mem. */
  ignoreFields: Set<string>;
  /** EFLAGS compared under this mask (e.g. to skip flags an instruction leaves undefined). */
  eflagsMask: number;
  /** Skip this many records at the start of A / B. */
  skipA: number;
  skipB: number;
  /** Start each trace at its first record with this linear address (after the skips). */
  startLinear: number | null;
  /** Compare only instructions whose linear address lies in one of these [lo, hi] ranges;
   *  the others are skipped, their register changes (and those of the instruction that led
   *  out of range) folded into the running values and checked at the next compared
   *  instruction. icount is then not compared. */
  ranges: [number, number][];
  /** Fold consecutive records at one cs:eip in each trace into one (REP instructions). */
  mergeRepeats?: boolean;
  /** Stop after comparing this many instructions (0 = all). */
  limit: number;
  /** When registers differ on arrival after a skipped stretch (outside the ranges: a BIOS
   *  call that answered differently), note it in `resyncs`, take B's values and go on,
   *  instead of stopping there. */
  resync?: boolean;
  context: number;
}

export interface Difference {
  what: string;
  a: string;
  b: string;
}

export interface DiffResult {
  /** How many instructions agree before the divergence (or in all). */
  agree: number;
  diverged: boolean;
  /** When diverged: the records at the divergence (null when that trace ended). */
  a: TraceRecord | null;
  b: TraceRecord | null;
  aLine: number;
  bLine: number;
  contextA: TraceRecord[];
  contextB: TraceRecord[];
  differences: Difference[];
  /** With `resync`: where the registers were taken over from B, after how many agreeing
   *  instructions, at which record of A, and what differed. */
  resyncs: { agree: number; a: TraceRecord; differences: Difference[] }[];
}

type RegState = Map<string, number>;

function regValue(r: TraceRecord, state: RegState, name: string): number | undefined {
  const v = r.regs[name];
  return v !== undefined ? v : state.get(name);
}

function applyRegs(r: TraceRecord, state: RegState): void {
  for (const k in r.regs) state.set(k, r.regs[k]);
}

function fmtOpt(name: string, v: number | undefined): string {
  return v === undefined ? '(unknown)' : formatRegisterValue(name, v);
}

function compareReg(
  n: string, a: TraceRecord, b: TraceRecord, stateA: RegState, stateB: RegState, o: DiffOptions, d: Difference[],
): void {
  if (o.ignoreRegs.size && o.ignoreRegs.has(n)) return;
  const va = regValue(a, stateA, n);
  const vb = regValue(b, stateB, n);
  // After a resync the register carries a BIOS's answer (or is unknown on a side): it stays
  // uncompared until the two sides agree on it again (an instruction that writes only part
  // of it, say AH after INT 15h set AX, still carries the difference).
  if (RESYNCED.size && RESYNCED.has(n)) {
    if (va !== undefined && va === vb) RESYNCED.delete(n);
    return;
  }
  const same = va !== undefined && vb !== undefined && (n === 'eflags' ? ((va ^ vb) & o.eflagsMask) === 0 : va === vb);
  if (same) return;
  const ca = n in a.regs ? '' : ' (unchanged)';
  const cb = n in b.regs ? '' : ' (unchanged)';
  d.push({ what: n, a: fmtOpt(n, va) + ca, b: fmtOpt(n, vb) + cb });
}

/** Registers a --resync made unknown on both sides (set while diffTraces runs). */
let RESYNCED: Set<string> = new Set();

/** Compares two records; returns the differences (empty when they agree). */
export function compareRecords(
  a: TraceRecord, b: TraceRecord, baseA: number, baseB: number, stateA: RegState, stateB: RegState,
  fieldsA: Set<TraceField>, fieldsB: Set<TraceField>, o: DiffOptions, compareRegs = true,
): Difference[] {
  const d: Difference[] = [];
  const hex = (v: number, n: number) => (v >>> 0).toString(16).padStart(n, '0');
  if (!o.ignoreFields.has('icount') && o.ranges.length === 0 && a.icount - baseA !== b.icount - baseB) {
    d.push({ what: 'icount (from the first compared)', a: String(a.icount - baseA), b: String(b.icount - baseB) });
  }
  if (a.cs !== b.cs || a.eip !== b.eip) {
    d.push({ what: 'cs:eip', a: `${hex(a.cs, 4)}:${hex(a.eip, 8)}`, b: `${hex(b.cs, 4)}:${hex(b.eip, 8)}` });
  }
  if (!o.ignoreFields.has('linear') && a.linear !== b.linear) {
    d.push({ what: 'linear', a: hex(a.linear, 8), b: hex(b.linear, 8) });
  }
  if (!o.ignoreFields.has('bytes') && fieldsA.has('bytes') && fieldsB.has('bytes') && a.bytes && b.bytes && a.bytes !== b.bytes) {
    d.push({ what: 'bytes', a: a.bytes, b: b.bytes });
  }
  if (compareRegs && !o.ignoreFields.has('regs') && fieldsA.has('regs') && fieldsB.has('regs')) {
    for (const n in a.regs) compareReg(n, a, b, stateA, stateB, o, d);
    for (const n in b.regs) if (!(n in a.regs)) compareReg(n, a, b, stateA, stateB, o, d);
  }
  if (!o.ignoreFields.has('mem') && fieldsA.has('mem') && fieldsB.has('mem')) {
    if (!sameMemWrites(a.mem, b.mem)) {
      d.push({
        what: 'memory writes',
        a: a.mem.map(formatMemWrite).join(' ') || '(none)',
        b: b.mem.map(formatMemWrite).join(' ') || '(none)',
      });
    }
  }
  return d;
}

/** Skipped records at the start still set the running register values. */
function skipTo(r: TraceReader, skip: number, startLinear: number | null, state: RegState): TraceRecord | null {
  let rec = r.next();
  if (rec) arrive(rec, state, null);
  for (let i = 0; i < skip && rec; i++) {
    applyRegs(rec, state);
    rec = r.next();
    if (rec) arrive(rec, state, null);
  }
  if (startLinear !== null) {
    while (rec && rec.linear !== startLinear) {
      applyRegs(rec, state);
      rec = r.next();
      if (rec) arrive(rec, state, null);
    }
  }
  return rec;
}

function inRanges(linear: number, ranges: [number, number][]): boolean {
  for (let i = 0; i < ranges.length; i++) if (linear >= ranges[i][0] && linear <= ranges[i][1]) return true;
  return false;
}

/** The next record inside the ranges; the ones skipped fold into state and mark dirty. */
function nextInRange(r: TraceReader, rec: TraceRecord | null, o: DiffOptions, state: RegState, dirty: Set<string>): TraceRecord | null {
  if (rec) arrive(rec, state, dirty);
  if (o.ranges.length === 0) return rec;
  while (rec && !inRanges(rec.linear, o.ranges)) {
    for (const k in rec.regs) {
      state.set(k, rec.regs[k]);
      dirty.add(k);
    }
    rec = r.next();
    if (rec) arrive(rec, state, dirty);
  }
  return rec;
}

/** Diffs two trace files. */
export function diffTraces(pathA: string, pathB: string, o: DiffOptions): DiffResult {
  const A = new TraceReader(pathA);
  let B: TraceReader;
  try {
    B = new TraceReader(pathB);
  } catch (e) {
    A.close();
    throw e;
  }
  A.mergeRepeats = B.mergeRepeats = o.mergeRepeats === true;
  try {
    const fieldsA = new Set(A.header.fields);
    const fieldsB = new Set(B.header.fields);
    const ctxA: TraceRecord[] = [];
    const ctxB: TraceRecord[] = [];
    const stateA: RegState = new Map();
    const stateB: RegState = new Map();
    const dirtyA = new Set<string>();
    const dirtyB = new Set<string>();
    // The first records' state lines are applied by skipTo, not again by nextInRange.
    const firstA = skipTo(A, o.skipA, o.startLinear, stateA);
    const firstB = skipTo(B, o.skipB, o.startLinear, stateB);
    if (firstA) STATES_BEFORE.delete(firstA);
    if (firstB) STATES_BEFORE.delete(firstB);
    let a = nextInRange(A, firstA, o, stateA, dirtyA);
    let b = nextInRange(B, firstB, o, stateB, dirtyB);
    // nothing to compare is no agreement: a trace without an instruction is an input error
    const filtered = o.skipA || o.skipB || o.startLinear !== null || o.ranges.length > 0;
    for (const [rec, path] of [[a, pathA], [b, pathB]] as const) {
      if (!rec) throw new UsageError(`'${path}' holds no instruction${filtered ? ' to compare (after --skip-a/--skip-b/--start/--range)' : ''}`);
    }
    const baseA = a?.icount ?? 0;
    const baseB = b?.icount ?? 0;
    const pending: Difference[] = [];
    let agree = 0;
    let lineA = A.lastLine;
    let lineB = B.lastLine;
    const resyncs: DiffResult['resyncs'] = [];
    RESYNCED = new Set();
    const result = (diverged: boolean, differences: Difference[]): DiffResult => ({
      agree, diverged, a, b, aLine: lineA, bLine: lineB, contextA: ctxA, contextB: ctxB, differences, resyncs,
    });
    for (;;) {
      if (o.limit && agree >= o.limit) return result(false, []);
      if (!a || !b) {
        if (!a && !b) return result(false, []);
        return result(true, [{ what: 'end of trace', a: a ? 'continues' : 'ended', b: b ? 'continues' : 'ended' }]);
      }
      // Registers changed in skipped stretches (outside --range) must agree on arrival.
      if (dirtyA.size || dirtyB.size) {
        pending.length = 0;
        for (const n of new Set([...dirtyA, ...dirtyB])) {
          if (o.ignoreRegs.has(n)) continue;
          const va = stateA.get(n);
          const vb = stateB.get(n);
          // Unknown on a side (no state line, never changed before): cannot tell.
          if (va === undefined || vb === undefined) continue;
          const same = n === 'eflags' ? ((va ^ vb) & o.eflagsMask) === 0 : va === vb;
          if (!same) pending.push({ what: `${n} (after skipped instructions)`, a: fmtOpt(n, va), b: fmtOpt(n, vb) });
        }
        dirtyA.clear();
        dirtyB.clear();
        if (pending.length && o.resync) {
          // Each side's value is its own; the trace of a side that does not change the
          // register again never says it: forget both, until each side gives it again.
          resyncs.push({ agree, a, differences: [...pending] });
          for (const n of pending.map((p) => p.what.split(' ')[0])) {
            stateA.delete(n);
            stateB.delete(n);
            RESYNCED.add(n);
          }
        } else if (pending.length) return result(true, [...pending]);
      }
      // Look one ahead: when the next instruction leaves the ranges (a call into the BIOS,
      // say), this one's register changes are checked with the skipped stretch's, on
      // arrival back in range — an INT into SeaBIOS and an INT our BIOS serves directly
      // change different registers, but leave the same state behind.
      const na = A.next();
      const nb = B.next();
      const defer = o.ranges.length > 0 && ((na !== null && !inRanges(na.linear, o.ranges)) || (nb !== null && !inRanges(nb.linear, o.ranges)));
      const d = compareRecords(a, b, baseA, baseB, stateA, stateB, fieldsA, fieldsB, o, !defer);
      if (d.length) return result(true, d);
      if (defer) {
        for (const k in a.regs) dirtyA.add(k);
        for (const k in b.regs) dirtyB.add(k);
      }
      applyRegs(a, stateA);
      applyRegs(b, stateB);
      agree++;
      ctxA.push(a);
      ctxB.push(b);
      if (ctxA.length > o.context) {
        ctxA.shift();
        ctxB.shift();
      }
      a = nextInRange(A, na, o, stateA, dirtyA);
      b = nextInRange(B, nb, o, stateB, dirtyB);
      lineA = A.lastLine;
      lineB = B.lastLine;
    }
  } finally {
    A.close();
    B.close();
  }
}

/** The human report of a diff. */
export function formatReport(r: DiffResult, nameA: string, nameB: string): string {
  const out: string[] = [];
  for (const x of r.resyncs) {
    out.push(`resync after ${x.agree} agreeing, at ${formatTextLine(x.a)}: ${x.differences.map((d) => `${d.what} A ${d.a} B ${d.b}`).join(', ')}`);
  }
  if (!r.diverged) {
    out.push(`traces agree: ${r.agree} instruction${r.agree === 1 ? '' : 's'} compared`);
    return out.join('\n') + '\n';
  }
  const where = r.a ?? r.b!;
  out.push(`traces part at the instruction after ${r.agree} agreeing (${r.a ? `A line ${r.aLine}` : 'A ended'}, ${r.b ? `B line ${r.bLine}` : 'B ended'}, icount ${where.icount})`);
  const side = (label: string, name: string, ctx: TraceRecord[], rec: TraceRecord | null) => {
    out.push(`${label} (${name}):`);
    for (const c of ctx) out.push(`    ${formatTextLine(c)}`);
    out.push(rec ? `  > ${formatTextLine(rec)}` : '  > (end of trace)');
  };
  side('A', nameA, r.contextA, r.a);
  side('B', nameB, r.contextB, r.b);
  out.push('differences:');
  const w = Math.max(...r.differences.map((d) => d.what.length));
  for (const d of r.differences) out.push(`  ${d.what.padEnd(w)}  A ${d.a}  B ${d.b}`);
  out.push(`${r.agree} instruction${r.agree === 1 ? '' : 's'} agree before the divergence`);
  return out.join('\n') + '\n';
}

const USAGE = 'usage: forklab trace-diff A B [--ignore REG,...] [--ignore-fields icount,linear,bytes,regs,mem] [--eflags-mask N] [--skip-a N] [--skip-b N] [--start LINEAR] [--range LO..HI] [--resync] [--merge-repeats] [--limit N] [--context N]';

/** 'LO..HI' (inclusive; numbers decimal or 0x hex) → [lo, hi]. */
export function parseRange(text: string): [number, number] {
  const m = /^([^.]+)\.\.([^.]+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--range: '${text}' is not LO..HI`);
  const lo = parseNumberOption('range', m[1], 0);
  const hi = parseNumberOption('range', m[2], 0);
  if (lo > hi) throw new UsageError(`--range: '${text}' is empty (LO > HI)`);
  return [lo, hi];
}

const HELP = `usage: forklab trace-diff A B [options]

Reads two traces (forklab trace, or qemu-log's conversion; text or JSON lines) in lockstep
and reports the first instruction where they part, with the instructions before it and
what differs. Compared per instruction: icount (from each trace's first compared one),
cs:eip and linear address, bytes, changed registers (by running value) and memory writes,
each where both traces record it.

  --ignore REG,...         do not compare these registers (repeatable)
  --ignore-fields F,...    do not compare these fields: icount, linear, bytes, regs, mem
  --eflags-mask N          compare EFLAGS under this mask (flags an instruction leaves
                           undefined: e.g. 0xfffff72a leaves out OF, AF, PF, CF)
  --skip-a N, --skip-b N   skip the first N instructions of A, of B
  --start LINEAR           begin each trace at its first instruction at LINEAR
  --range LO..HI           compare only instructions in LO..HI (repeatable, or LO..HI,LO..HI);
                           the registers changed outside are checked on arrival back in range
  --resync                 when registers differ on arrival after a stretch outside the
                           ranges (a BIOS call answered differently), say so, take B's values
                           and go on instead of stopping
  --merge-repeats          fold consecutive records at one cs:eip into one (a REP string
                           instruction: QEMU logs each iteration)
  --limit N                stop after comparing N instructions
  --context N              instructions shown before the divergence (default 5)
  -h, --help               this help
Numbers are decimal or 0x hex.

exit status: 0 when the traces agree to the end, 1 at a divergence (or when one trace ends
first), 2 on bad input (a trace without an instruction, a format error, a wrong option).
`;

export const TRACE_DIFF_OPTIONS = {
  ignore: { type: 'string', multiple: true },
  'ignore-fields': { type: 'string', multiple: true },
  'eflags-mask': { type: 'string' },
  'skip-a': { type: 'string' },
  'skip-b': { type: 'string' },
  start: { type: 'string' },
  range: { type: 'string', multiple: true },
  limit: { type: 'string' },
  context: { type: 'string' },
  resync: { type: 'boolean' },
  'merge-repeats': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function traceDiffCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('trace-diff', args, TRACE_DIFF_OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`trace-diff: expected two trace files (${USAGE})`);
  const list = (v: string[] | undefined) => new Set((v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean));
  const ignoreFields = list(values['ignore-fields']);
  for (const f of ignoreFields) {
    if (!['icount', 'linear', 'bytes', 'regs', 'mem'].includes(f)) throw new UsageError(`trace-diff: --ignore-fields: unknown field '${f}'`);
  }
  for (const r of list(values.ignore)) {
    if (!REGISTER_ORDER.includes(r)) throw new UsageError(`trace-diff: --ignore: no register '${r}' in traces (they name ${REGISTER_ORDER.join(' ')})`);
  }
  const maskText = values['eflags-mask'];
  const mask = maskText === undefined ? 0xffffffff : parseNumberOption('eflags-mask', maskText, 0);
  const start = values.start;
  const opts: DiffOptions = {
    ignoreRegs: list(values.ignore),
    ignoreFields,
    eflagsMask: mask >>> 0,
    skipA: parseNumberOption('skip-a', values['skip-a'], 0),
    skipB: parseNumberOption('skip-b', values['skip-b'], 0),
    startLinear: start === undefined ? null : parseNumberOption('start', start, 0),
    ranges: (values.range ?? []).flatMap((r) => r.split(',')).map(parseRange),
    limit: parseNumberOption('limit', values.limit, 0),
    context: parseNumberOption('context', values.context, 5),
    resync: values.resync === true,
    mergeRepeats: values['merge-repeats'] === true,
  };
  let result: DiffResult;
  try {
    result = diffTraces(positionals[0], positionals[1], opts);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`trace-diff: ${e.message}`);
    throw e;
  }
  process.stdout.write(formatReport(result, positionals[0], positionals[1]));
  return result.diverged ? 1 : 0;
}
