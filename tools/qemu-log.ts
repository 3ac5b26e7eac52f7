// `forklab qemu-log LOG -o TRACE`: converts QEMU's execution log into our trace format
// (emulator/debug/trace-format.ts), so trace-diff can compare our machine with QEMU.
//
// Take the log one instruction per translation block, with the CPU state before each:
//
//   qemu-system-i386 -accel tcg,one-insn-per-tb=on -d exec,cpu,nochain -D qemu.log ...
//   (QEMU before 8.1: -singlestep instead of one-insn-per-tb=on; add -dfilter LO..HI
//   to log only an address range)
//
// What the log holds, as QEMU 7.2 writes it: per executed block a line
//   Trace 0: 0x7f9608000240 [000f0000/000f0000/00000040/ff000201]
// ([cs_base/pc/flags/cflags], pc linear) followed by a register dump taken BEFORE the
// block runs:
//   EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663
//   ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000
//   EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
//   ES =0000 00000000 0000ffff 00009300        (selector base limit flags; CS SS DS FS GS,
//   LDT=… TR=… likewise)   GDT=     base limit   IDT=     base limit
//   CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000
//   DR0..DR7, CCS/CCD/CCO (lazy flags), EFER
// Other lines ("Stopped execution of TB chain before …", -d int reports and their dumps)
// are skipped: only the first dump after a Trace line counts.
//
// What a converted record has: icount = its position in the log (from --icount-base),
// cs:eip and the linear address from the dump (CS base + EIP), and the registers that
// changed between this dump and the next one (a state line before the first record gives
// the first dump's values): eax..edi, eflags, es..gs and ldtr/tr
// selectors, gdtr/idtr base and limit, cr0, cr2, cr3, cr4. The header says fields=regs:
// the log has no instruction bytes, no disassembly and no memory writes, so trace-diff
// does not compare those. The last instruction's changes are unknown (no dump follows);
// it is written with none and a comment. Things that differ from an instruction-exact
// trace by nature:
// - a REP string instruction is one Trace per iteration (same cs:eip, ECX counting down);
//   --merge-repeats folds consecutive records at one cs:eip into one record;
// - an instruction that faults is logged, and the next dump is at the handler: its
//   "changes" are the exception delivery; likewise the instruction before a hardware
//   interrupt carries the interrupt delivery's changes;
// - with -dfilter, the changes of a record span everything executed until the next logged
//   block (e.g. a whole BIOS call).
// Against a forklab trace of the same image (forklab trace), compare with the same ranges:
//   forklab trace-diff ours.trace qemu.trace --start 0x7c00 --range 0..0x7fff,0x90000..0x909ff \
//     --ignore-fields icount --merge-repeats --resync
// (test/trace-qemu-boot.test.ts does this on our kernel's boot and explains what differs).

import {
  formatJsonHeader, formatJsonLine, formatJsonState, formatTextHeader, formatTextLine, formatTextState,
  type TraceHeader, type TraceRecord,
} from '../emulator/debug/trace-format';
import { OutputSink, parseCommandArgs, parseNumberOption, UsageError } from './cli-util';
import { LineReader } from './trace-diff';

/** Registers a QEMU dump gives us, in trace order. */
export const QEMU_REGS = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eflags',
  'es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr',
  'gdtr.base', 'gdtr.limit', 'idtr.base', 'idtr.limit', 'cr0', 'cr2', 'cr3', 'cr4',
] as const;
const NREG = QEMU_REGS.length;
const IDX = new Map<string, number>(QEMU_REGS.map((n, i) => [n, i]));

/** One logged block: the state before it. */
interface Dump {
  regs: Float64Array; // NaN = not seen
  eip: number;
  csBase: number;
  /** pc from the Trace line (linear), used when the dump lacks EIP/CS. */
  tracePc: number;
  complete: boolean;
}

function newDump(tracePc: number): Dump {
  return { regs: new Float64Array(NREG).fill(NaN), eip: NaN, csBase: NaN, tracePc, complete: false };
}

const RE_TRACE = /^Trace \d+: \S+ \[([0-9a-f]+)\/([0-9a-f]+)\//;
const RE_KV = /([A-Z][A-Z0-9]*) ?=([0-9a-f]+)/g;
const RE_SEG = /^(ES|CS|SS|DS|FS|GS|LDT|TR) ?=([0-9a-f]{4}) ([0-9a-f]{8}) ([0-9a-f]{8})/;
const RE_DT = /^(GDT|IDT)= +([0-9a-f]{8}) ([0-9a-f]{8})/;

const GPR: Record<string, string> = {
  EAX: 'eax', EBX: 'ebx', ECX: 'ecx', EDX: 'edx', ESI: 'esi', EDI: 'edi', EBP: 'ebp', ESP: 'esp',
  EFL: 'eflags', CR0: 'cr0', CR2: 'cr2', CR3: 'cr3', CR4: 'cr4',
};
const SEG: Record<string, string> = { ES: 'es', CS: 'cs', SS: 'ss', DS: 'ds', FS: 'fs', GS: 'gs', LDT: 'ldtr', TR: 'tr' };

export interface ConvertOptions {
  icountBase: number;
  mergeRepeats: boolean;
}

/**
 * Converts a QEMU log, calling `emit` per record in order; returns the record count.
 * `next` yields the log's lines (null at the end).
 */
export function convertQemuLog(
  next: () => string | null, emit: (r: TraceRecord) => void, o: ConvertOptions,
  emitState?: (regs: Record<string, number>) => void,
): { count: number; lastUnknown: boolean } {
  let cur: Dump | null = null; // the block whose dump is being read
  let prev: Dump | null = null; // the block waiting for the next dump to know its changes
  let seenEax = false;
  let icount = o.icountBase;
  let count = 0;

  const make = (d: Dump, after: Dump | null): TraceRecord => {
    const cs = d.regs[IDX.get('cs')!];
    const eip = Number.isNaN(d.eip) ? 0 : d.eip;
    const linear = Number.isNaN(d.csBase) || Number.isNaN(d.eip) ? d.tracePc : (d.csBase + d.eip) >>> 0;
    const regs: Record<string, number> = {};
    if (after) {
      for (let i = 0; i < NREG; i++) {
        const a = d.regs[i];
        const b = after.regs[i];
        if (!Number.isNaN(b) && a !== b) regs[QEMU_REGS[i]] = b;
      }
    }
    return { icount: 0, cs: Number.isNaN(cs) ? 0 : cs, eip, linear, bytes: '', disasm: '', regs, mem: [] };
  };

  // With --merge-repeats, `first` is the first block of a run at one cs:eip.
  let first: Dump | null = null;
  const finishBlock = (d: Dump) => {
    if (!d.complete) return; // a truncated dump (log cut short): ignore the block
    if (prev) {
      const start = o.mergeRepeats ? first! : prev;
      const sameSpot = o.mergeRepeats && d.eip === prev.eip && d.regs[IDX.get('cs')!] === prev.regs[IDX.get('cs')!] && d.csBase === prev.csBase;
      if (sameSpot) {
        prev = d; // still the same instruction repeating
        return;
      }
      const r = make(start, d);
      r.icount = icount++;
      emit(r);
      count++;
    } else if (emitState) {
      // The first dump: the whole register file before the first instruction.
      const regs: Record<string, number> = {};
      for (let i = 0; i < NREG; i++) if (!Number.isNaN(d.regs[i])) regs[QEMU_REGS[i]] = d.regs[i];
      emitState(regs);
    }
    prev = d;
    first = d;
  };

  for (;;) {
    const line = next();
    if (line === null) break;
    if (line.startsWith('Trace ')) {
      const m = RE_TRACE.exec(line);
      if (!m) continue;
      if (cur) finishBlock(cur);
      cur = newDump(parseInt(m[2], 16) >>> 0);
      seenEax = false;
      continue;
    }
    if (!cur || cur.complete) continue;
    const c0 = line.charCodeAt(0);
    if (c0 < 65 || c0 > 90) continue; // not a register line
    if (line.startsWith('EAX=')) {
      if (seenEax) {
        cur.complete = true; // a second dump (-d int): ignore it
        continue;
      }
      seenEax = true;
    }
    if (!seenEax) continue;
    let m = RE_SEG.exec(line);
    if (m) {
      const name = SEG[m[1]];
      cur.regs[IDX.get(name)!] = parseInt(m[2], 16);
      if (name === 'cs') cur.csBase = parseInt(m[3], 16);
      continue;
    }
    m = RE_DT.exec(line);
    if (m) {
      const t = m[1] === 'GDT' ? 'gdtr' : 'idtr';
      cur.regs[IDX.get(`${t}.base`)!] = parseInt(m[2], 16);
      cur.regs[IDX.get(`${t}.limit`)!] = parseInt(m[3], 16);
      continue;
    }
    RE_KV.lastIndex = 0;
    let kv: RegExpExecArray | null;
    while ((kv = RE_KV.exec(line))) {
      if (kv[1] === 'EIP') cur.eip = parseInt(kv[2], 16);
      const name = GPR[kv[1]];
      if (name) cur.regs[IDX.get(name)!] = parseInt(kv[2], 16);
    }
    if (line.startsWith('CR0=')) cur.complete = !Number.isNaN(cur.eip) && !Number.isNaN(cur.csBase);
  }
  if (cur) finishBlock(cur);
  let lastUnknown = false;
  if (prev) {
    const r = make(o.mergeRepeats ? first! : prev, null);
    r.icount = icount++;
    emit(r);
    count++;
    lastUnknown = true;
  }
  return { count, lastUnknown };
}

export const QEMU_HEADER: TraceHeader = { version: 1, source: 'qemu', fields: ['regs'] };

const USAGE = 'usage: forklab qemu-log LOG [-o TRACE] [--format text|jsonl] [--icount-base N] [--merge-repeats]';

const HELP = `${USAGE}

Converts QEMU's execution log into forklab's trace format, for trace-diff. Take the log one
instruction per translation block, with the CPU state before each:
  qemu-system-i386 -accel tcg,one-insn-per-tb=on -d exec,cpu,nochain -D qemu.log ...
  (QEMU before 8.1, Debian's 7.2 included: -singlestep instead of one-insn-per-tb=on)
The trace has registers only (the log has no bytes, disassembly or memory writes).

  -o, --output TRACE   where the trace goes (default: stdout); none is left behind when the
                       log holds no instruction
  --format text|jsonl  text lines, or JSON lines (default: jsonl when TRACE ends in .jsonl)
  --icount-base N      number the first instruction N (default 0)
  --merge-repeats      fold consecutive records at one cs:eip into one (QEMU logs each
                       iteration of a REP string instruction)
  -h, --help           this help

exit status: 0, 2 on bad input (no instruction in the log, a wrong option), 74 when the
trace cannot be written.
`;

export const QEMU_LOG_OPTIONS = {
  output: { type: 'string', short: 'o' },
  format: { type: 'string' },
  'icount-base': { type: 'string' },
  'merge-repeats': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function qemuLogCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('qemu-log', args, QEMU_LOG_OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`qemu-log: expected one log file (${USAGE})`);
  const format = values.format ?? (values.output?.endsWith('.jsonl') ? 'jsonl' : 'text');
  if (format !== 'text' && format !== 'jsonl') throw new UsageError(`qemu-log: --format must be text or jsonl, not '${format}'`);
  let reader: LineReader;
  try {
    reader = new LineReader(positionals[0]);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`qemu-log: ${e.message}`);
    throw e;
  }
  let out: OutputSink;
  try {
    out = new OutputSink(values.output ?? null);
  } catch (e) {
    reader.close();
    throw new UsageError(`qemu-log: ${(e as Error).message}`);
  }
  let count = 0;
  try {
    const line = (s: string) => out.write(s + '\n');
    line(format === 'jsonl' ? formatJsonHeader(QEMU_HEADER) : formatTextHeader(QEMU_HEADER));
    const fmt = format === 'jsonl' ? formatJsonLine : formatTextLine;
    const fmtState = format === 'jsonl' ? formatJsonState : formatTextState;
    const converted = convertQemuLog(() => reader.next(), (r) => line(fmt(r)), {
      icountBase: parseNumberOption('icount-base', values['icount-base'], 0),
      mergeRepeats: values['merge-repeats'] === true,
    }, (regs) => line(fmtState(regs)));
    count = converted.count;
    if (count === 0) throw new UsageError(`qemu-log: no instructions found in '${positionals[0]}' (was it taken with -d exec,cpu?)`);
    if (converted.lastUnknown && format === 'text') line('# the last instruction\'s register changes are unknown (no dump follows it)');
    out.flush();
    if (values.output !== undefined) process.stderr.write(`qemu-log: ${count} instructions written to ${values.output}\n`);
    return 0;
  } finally {
    reader.close();
    out.close(count === 0); // a log with no instruction leaves no header-only trace behind
  }
}
