// The trace line (DESIGN, "The trace line"): one line per executed instruction,
//
//   <icount> <cs>:<eip> <linear> <bytes>  <disassembly>  ; <changed registers> <memory writes>
//
// e.g.
//
//   1042 0008:0000a1b2 0000a1b2 8945fc  mov [ebp-0x4], eax  ; eflags=00000246 [0010fff8]=00000001
//
// icount       decimal, the number of instructions executed before this one (the first
//              traced instruction of a run from reset is 0)
// cs:eip       4 and 8 hex digits; linear = CS.base + EIP, 8 hex digits
// bytes        the instruction's bytes as hex without spaces; '-' when not recorded
// disassembly  as the disassembler prints it (runs of whitespace collapsed to one space,
//              never containing ';'); '-' when not recorded
// registers    after ';': name=value for each register the instruction changed, value in
//              hex (segment selectors 4 digits, others 8), EIP omitted (the next line has it)
// memory       [addr]=value for each write, addr the 8-hex-digit linear address, value the
//              little-endian number written, 2/4/8 hex digits for a 1/2/4-byte write; a
//              wider write (e.g. a descriptor table store) is recorded as several writes.
//              A string instruction's writes (rep stosd over a page: 1,024 of them), one
//              after the other with the same size, are summarised in the text form as
//              [first..last]xCOUNT=firstvalue..lastvalue, first and last the addresses of
//              the first and last write in the order made (descending with DF=1); the
//              JSON-lines form always lists every write.
//
// Fields are separated by one space, except the two spaces around the disassembly. Lines
// starting with '#' are comments; the first may be a header naming what was recorded:
//
//   # forklab-trace 1 source=forklab fields=bytes,disasm,regs,mem
//
// A field not listed (QEMU's log has no bytes or memory writes) is unknown, not empty, and
// trace-diff does not compare it. A state line gives register values at that point (e.g.
// the whole register file before the first instruction), so that readers know the values
// of registers no instruction has changed yet:
//
//   # state eax=00000000 ecx=00000000 ... cs=f000 ... The JSON-lines form carries the same fields, one object a
// line: {"icount":1042,"cs":8,"eip":41394,"linear":41394,"bytes":"8945fc","disasm":"mov …",
// "regs":{"eflags":582},"mem":[{"addr":1114104,"size":4,"value":1}]}; its header line is
// {"forklab_trace":1,"source":"forklab","fields":["bytes","disasm","regs","mem"]}, and a
// state line is {"state":{"eax":0,...}}.
//
// The recorder (trace-recorder.ts) adds, with a symbol map, `<symbol+0xN>` after the
// disassembly (the instruction's own address) and prints branch targets that are symbols by
// name. It writes interrupts and exceptions as comment lines between instructions,
//   # interrupt 0x20 ; [0001fff4]=00000202 ...        # exception 0x0e error=0x0007 ; ...
// (JSON lines: {"event":"interrupt"|"exception","vector":32,"error":0,"mem":[...]}; a comment
// is {"comment":"..."}), both ignored by the parsers, followed by a partial state line with
// the registers the delivery changed.

export type TraceField = 'bytes' | 'disasm' | 'regs' | 'mem';
export const ALL_FIELDS: readonly TraceField[] = ['bytes', 'disasm', 'regs', 'mem'];

export interface MemWrite {
  addr: number;
  size: 1 | 2 | 4;
  value: number;
  /** A text line's summary of `count` writes from `addr` to `lastAddr` (a string
   *  instruction): `value` the first written, `lastValue` the last. */
  run?: { count: number; lastAddr: number; lastValue: number };
}

/** Writes of a string instruction are summarised from this many on. */
export const STRING_RUN_MIN = 2;

/** True for a string instruction's disassembly (movs, stos, ins; with a rep prefix or not). */
export function isStringInsn(disasm: string): boolean {
  return /(^|\s)(movs|stos|ins)[bwd]\b/.test(disasm);
}

/** The same write (or the same summary of writes). */
export function sameMemWrite(x: MemWrite, y: MemWrite): boolean {
  if (x.addr !== y.addr || x.size !== y.size || x.value !== y.value) return false;
  if (!x.run || !y.run) return !x.run && !y.run;
  return x.run.count === y.run.count && x.run.lastAddr === y.run.lastAddr && x.run.lastValue === y.run.lastValue;
}

/** A list of writes with its runs summarised (as a text line shows a string instruction's). */
export function summariseWrites(mem: readonly MemWrite[]): MemWrite[] {
  const addr = mem.map((w) => w.addr), size = mem.map((w) => w.size);
  const out: MemWrite[] = [];
  for (let i = 0; i < mem.length;) {
    const n = mem[i].run ? 1 : runLength(addr, size, i, mem.length);
    const w = mem[i], l = mem[i + n - 1];
    out.push(n >= STRING_RUN_MIN ? { addr: w.addr, size: w.size, value: w.value, run: { count: n, lastAddr: l.addr, lastValue: l.value } } : w);
    i += n;
  }
  return out;
}

/** The same writes: equal lists, or (when one side is a text line's summary) the same
 *  summary of both. */
export function sameMemWrites(a: readonly MemWrite[], b: readonly MemWrite[]): boolean {
  const runs = a.some((w) => w.run) || b.some((w) => w.run);
  const x = runs ? summariseWrites(a) : a, y = runs ? summariseWrites(b) : b;
  return x.length === y.length && x.every((w, i) => sameMemWrite(w, y[i]));
}

/** How many writes from index i on (of parallel arrays) form one run: the same size, each
 *  address `size` after (or before) the previous. */
export function runLength(addr: ArrayLike<number>, size: ArrayLike<number>, i: number, n: number): number {
  if (i + 1 >= n || size[i + 1] !== size[i]) return 1;
  const step = addr[i + 1] - addr[i];
  if (step !== size[i] && step !== -size[i]) return 1;
  let j = i + 1;
  while (j + 1 < n && size[j + 1] === size[i] && addr[j + 1] - addr[j] === step) j++;
  return j - i + 1;
}

export interface TraceRecord {
  icount: number;
  cs: number;
  eip: number;
  linear: number;
  /** Lowercase hex, '' when not recorded. */
  bytes: string;
  /** '' when not recorded. */
  disasm: string;
  /** Registers the instruction changed, with their new values (unsigned). */
  regs: Record<string, number>;
  mem: MemWrite[];
}

export interface TraceHeader {
  version: number;
  source: string;
  /** Which of the optional fields the trace records. */
  fields: TraceField[];
}

export const DEFAULT_HEADER: TraceHeader = { version: 1, source: 'forklab', fields: [...ALL_FIELDS] };

/** Canonical order of register names in a line; others follow alphabetically. */
export const REGISTER_ORDER = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eflags',
  'es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr',
  'gdtr.base', 'gdtr.limit', 'idtr.base', 'idtr.limit', 'cr0', 'cr2', 'cr3', 'cr4',
];
const ORDER_INDEX = new Map(REGISTER_ORDER.map((n, i) => [n, i]));
const SELECTORS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr', 'gdtr.limit', 'idtr.limit']);

export function compareRegisterNames(a: string, b: string): number {
  const ia = ORDER_INDEX.get(a) ?? 1000;
  const ib = ORDER_INDEX.get(b) ?? 1000;
  return ia !== ib ? ia - ib : a < b ? -1 : a > b ? 1 : 0;
}

export class TraceFormatError extends Error {}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

export function formatRegisterValue(name: string, v: number): string {
  return hex(v, SELECTORS.has(name) ? 4 : 8);
}

export function formatMemWrite(w: MemWrite): string {
  if (w.run) return formatMemRun(w.addr, w.run.lastAddr, w.run.count, w.value, w.run.lastValue, w.size);
  return `[${hex(w.addr, 8)}]=${hex(w.value, w.size * 2)}`;
}

export function formatMemRun(first: number, last: number, count: number, firstValue: number, lastValue: number, size: number): string {
  return `[${hex(first, 8)}..${hex(last, 8)}]x${count}=${hex(firstValue, size * 2)}..${hex(lastValue, size * 2)}`;
}

/** The text form of an instruction's writes: a string instruction's runs summarised. */
export function formatMemWrites(mem: readonly MemWrite[], disasm: string): string {
  const list = isStringInsn(disasm) ? summariseWrites(mem) : mem;
  return list.map((w) => ` ${formatMemWrite(w)}`).join('');
}

/** The text trace line of a record. */
export function formatTextLine(r: TraceRecord): string {
  const dis = r.disasm ? r.disasm.replace(/\s+/g, ' ').trim() : '';
  let line = `${r.icount} ${hex(r.cs, 4)}:${hex(r.eip, 8)} ${hex(r.linear, 8)} ${r.bytes || '-'}  ${dis || '-'}  ;`;
  const names = Object.keys(r.regs).sort(compareRegisterNames);
  for (const n of names) line += ` ${n}=${formatRegisterValue(n, r.regs[n])}`;
  return line + formatMemWrites(r.mem, dis);
}

/** Register values at a point of the trace (a state line). */
export interface TraceState {
  state: Record<string, number>;
}

export function formatTextState(regs: Record<string, number>): string {
  let line = '# state';
  for (const n of Object.keys(regs).sort(compareRegisterNames)) line += ` ${n}=${formatRegisterValue(n, regs[n])}`;
  return line;
}

/** Parses a text state line, or returns null when the line is not one. */
export function parseTextState(line: string): TraceState | null {
  if (!line.startsWith('# state')) return null;
  const state: Record<string, number> = {};
  for (const tok of line.slice(7).split(' ')) {
    if (!tok) continue;
    const eq = tok.indexOf('=');
    const name = tok.slice(0, eq);
    if (eq < 0 || !REG_NAME.test(name)) throw new TraceFormatError(`bad state entry '${tok}'`);
    state[name] = parseHex(tok.slice(eq + 1), `${name} value`);
  }
  return { state };
}

export function formatJsonState(regs: Record<string, number>): string {
  const state: Record<string, number> = {};
  for (const n of Object.keys(regs).sort(compareRegisterNames)) state[n] = regs[n] >>> 0;
  return JSON.stringify({ state });
}

export function formatTextHeader(h: TraceHeader): string {
  return `# forklab-trace ${h.version} source=${h.source} fields=${h.fields.join(',')}`;
}

const HEX = /^[0-9a-fA-F]+$/;
const REG_NAME = /^[a-z][a-z0-9_.]*$/;

/** The value of s[start, end) as hex (1-8 digits), or -1 when it is not. No allocation. */
function hexRange(s: string, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > 8) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

function parseHex(s: string, what: string): number {
  const v = hexRange(s, 0, s.length);
  if (v < 0) throw new TraceFormatError(`bad ${what} '${s}'`);
  return v;
}

/** Parses a text header comment, or returns null when the line is not one. */
export function parseTextHeader(line: string): TraceHeader | null {
  const m = /^# forklab-trace (\d+)((?: \S+=\S*)*)\s*$/.exec(line);
  if (!m) return null;
  const h: TraceHeader = { version: Number(m[1]), source: 'unknown', fields: [...ALL_FIELDS] };
  for (const kv of m[2].trim().split(' ').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (k === 'source') h.source = v;
    if (k === 'fields') h.fields = v.split(',').filter((f): f is TraceField => (ALL_FIELDS as string[]).includes(f));
  }
  return h;
}

/**
 * Parses one text trace line. Returns null for blank lines and comments; throws
 * TraceFormatError (naming the problem) for a malformed line.
 */
export function parseTextLine(line: string): TraceRecord | null {
  if (line.length === 0 || line[0] === '#' || line.trim() === '') return null;
  const semi = line.indexOf(';');
  const head = semi < 0 ? line : line.slice(0, semi);
  // head: icount cs:eip linear bytes  disasm
  const s1 = head.indexOf(' ');
  const s2 = head.indexOf(' ', s1 + 1);
  const s3 = head.indexOf(' ', s2 + 1);
  if (s1 < 0 || s2 < 0) throw new TraceFormatError('too few fields');
  const icountText = head.slice(0, s1);
  if (!/^\d+$/.test(icountText)) throw new TraceFormatError(`bad icount '${icountText}'`);
  const csEip = head.slice(s1 + 1, s2);
  const colon = csEip.indexOf(':');
  if (colon < 0) throw new TraceFormatError(`bad cs:eip '${csEip}'`);
  const linearText = s3 < 0 ? head.slice(s2 + 1) : head.slice(s2 + 1, s3);
  let bytes = '';
  let disasm = '';
  if (s3 >= 0) {
    const rest = head.slice(s3 + 1);
    const sp = rest.indexOf(' ');
    const b = sp < 0 ? rest : rest.slice(0, sp);
    bytes = b === '-' ? '' : b.toLowerCase();
    if (bytes && (!HEX.test(bytes) || bytes.length % 2)) throw new TraceFormatError(`bad bytes '${b}'`);
    const d = sp < 0 ? '' : rest.slice(sp).trim();
    disasm = d === '-' ? '' : d;
  }
  const rec: TraceRecord = {
    icount: Number(icountText),
    cs: parseHex(csEip.slice(0, colon), 'cs'),
    eip: parseHex(csEip.slice(colon + 1), 'eip'),
    linear: parseHex(linearText, 'linear address'),
    bytes,
    disasm,
    regs: {},
    mem: [],
  };
  if (semi >= 0) {
    let i = semi + 1;
    const n = line.length;
    while (i < n) {
      if (line.charCodeAt(i) === 32) {
        i++;
        continue;
      }
      let end = line.indexOf(' ', i);
      if (end < 0) end = n;
      const eq = line.indexOf('=', i);
      if (eq < 0 || eq >= end) throw new TraceFormatError(`bad change '${line.slice(i, end)}'`);
      if (line.charCodeAt(i) === 91 /* [ */ && line.charCodeAt(eq - 1) !== 93 /* ] */) {
        rec.mem.push(parseMemRun(line.slice(i, end)));
      } else if (line.charCodeAt(i) === 91 /* [ */) {
        const size = (end - eq - 1) / 2;
        const addr = line.charCodeAt(eq - 1) === 93 /* ] */ ? hexRange(line, i + 1, eq - 1) : -1;
        const value = hexRange(line, eq + 1, end);
        if (addr < 0 || value < 0) throw new TraceFormatError(`bad memory write '${line.slice(i, end)}'`);
        if (size !== 1 && size !== 2 && size !== 4) throw new TraceFormatError(`bad memory write size '${line.slice(i, end)}'`);
        rec.mem.push({ addr, size, value });
      } else {
        const name = line.slice(i, eq);
        if (!REG_NAME.test(name)) throw new TraceFormatError(`bad register name '${name}'`);
        const value = hexRange(line, eq + 1, end);
        if (value < 0) throw new TraceFormatError(`bad ${name} value '${line.slice(eq + 1, end)}'`);
        rec.regs[name] = value;
      }
      i = end + 1;
    }
  }
  return rec;
}

/** `[first..last]xCOUNT=v1..v2`: a run of writes as one MemWrite with `run`. */
function parseMemRun(tok: string): MemWrite {
  const m = /^\[([0-9a-fA-F]{1,8})\.\.([0-9a-fA-F]{1,8})\]x(\d+)=([0-9a-fA-F]+)\.\.([0-9a-fA-F]+)$/.exec(tok);
  const size = m && m[4].length === m[5].length ? m[4].length / 2 : 0;
  if (!m || (size !== 1 && size !== 2 && size !== 4) || Number(m[3]) < 2) throw new TraceFormatError(`bad memory write '${tok}'`);
  return {
    addr: parseInt(m[1], 16), size, value: parseInt(m[4], 16),
    run: { count: Number(m[3]), lastAddr: parseInt(m[2], 16), lastValue: parseInt(m[5], 16) },
  };
}

/** The JSON-lines form of a record. */
export function formatJsonLine(r: TraceRecord): string {
  const regs: Record<string, number> = {};
  for (const n of Object.keys(r.regs).sort(compareRegisterNames)) regs[n] = r.regs[n] >>> 0;
  return JSON.stringify({
    icount: r.icount,
    cs: r.cs,
    eip: r.eip >>> 0,
    linear: r.linear >>> 0,
    bytes: r.bytes,
    disasm: r.disasm,
    regs,
    mem: r.mem.map((w) => ({ addr: w.addr >>> 0, size: w.size, value: w.value >>> 0, ...(w.run ? { run: w.run } : {}) })),
  });
}

export function formatJsonHeader(h: TraceHeader): string {
  return JSON.stringify({ forklab_trace: h.version, source: h.source, fields: h.fields });
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TraceFormatError(`bad ${what}`);
  return v;
}

/** Parses a JSON line: a record, a header (returned as such), or null for a blank line. */
export function parseJsonLine(line: string): TraceRecord | TraceHeader | TraceState | null {
  if (line.trim() === '') return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    throw new TraceFormatError('not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TraceFormatError('not a JSON object');
  // Events (an interrupt or exception delivered) and comments are not instruction records.
  if ('event' in o || 'comment' in o) return null;
  if ('state' in o) {
    if (typeof o.state !== 'object' || o.state === null || Array.isArray(o.state)) throw new TraceFormatError('bad state');
    const state: Record<string, number> = {};
    for (const [k, v] of Object.entries(o.state)) state[k] = num(v, `${k} value`);
    return { state };
  }
  if ('forklab_trace' in o) {
    const fields = Array.isArray(o.fields) ? o.fields.filter((f): f is TraceField => (ALL_FIELDS as unknown[]).includes(f)) : [...ALL_FIELDS];
    return { version: num(o.forklab_trace, 'version'), source: String(o.source ?? 'unknown'), fields };
  }
  const regs: Record<string, number> = {};
  if (o.regs !== undefined) {
    if (typeof o.regs !== 'object' || o.regs === null) throw new TraceFormatError('bad regs');
    for (const [k, v] of Object.entries(o.regs)) regs[k] = num(v, `${k} value`);
  }
  const mem: MemWrite[] = [];
  if (o.mem !== undefined) {
    if (!Array.isArray(o.mem)) throw new TraceFormatError('bad mem');
    for (const w of o.mem as Record<string, unknown>[]) {
      const size = num(w?.size, 'write size');
      if (size !== 1 && size !== 2 && size !== 4) throw new TraceFormatError('bad write size');
      mem.push({ addr: num(w.addr, 'write address'), size, value: num(w.value, 'write value') });
    }
  }
  const bytes = typeof o.bytes === 'string' ? o.bytes.toLowerCase() : '';
  if (bytes && (!HEX.test(bytes) || bytes.length % 2)) throw new TraceFormatError('bad bytes');
  return {
    icount: num(o.icount, 'icount'),
    cs: num(o.cs, 'cs'),
    eip: num(o.eip, 'eip'),
    linear: num(o.linear, 'linear'),
    bytes,
    disasm: typeof o.disasm === 'string' ? o.disasm : '',
    regs,
    mem,
  };
}

export function isHeader(x: TraceRecord | TraceHeader | TraceState): x is TraceHeader {
  return 'fields' in x;
}

export function isState(x: TraceRecord | TraceHeader | TraceState): x is TraceState {
  return 'state' in x;
}

export function isRecord(x: TraceRecord | TraceHeader | TraceState): x is TraceRecord {
  return 'icount' in x;
}

/** Decides the form of a trace from its first non-blank line. */
export function detectFormat(firstLine: string): 'jsonl' | 'text' {
  return firstLine.trimStart().startsWith('{') ? 'jsonl' : 'text';
}
