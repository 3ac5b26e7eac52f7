// `forklab trace IMAGE -o FILE`: boots an image as `forklab run` does (the same machine
// options, tools/machine-options.ts) and writes the instruction trace
// (emulator/debug/trace-recorder.ts, format in emulator/debug/trace-format.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MachineStop } from '../emulator/machine';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import type { SymbolMap } from '../emulator/debug/symbols';
import { readSymbolFile } from './symbol-file';
import { OutputSink, parseCommandArgs, parseNumberOption, UsageError } from './cli-util';
import { persistDisks } from './disk-files';
import { createMachine, MACHINE_HELP, MACHINE_OPTIONS, parseMachineSetup } from './machine-options';
import { exitStatus } from './run-command';

export const TRACE_USAGE = `usage: forklab trace IMAGE -o FILE [options]

Boots IMAGE as 'forklab run' does (the guest's console on stdout) and writes one trace line
per executed instruction to FILE:
  <icount> <cs>:<eip> <linear> <bytes>  <disassembly>  ; <changed registers> <memory writes>

  -o, --output FILE    where the trace goes
  --format text|jsonl  text lines (default) or JSON lines with the same fields
  --from LOC        start recording when execution first reaches LOC (recorded)
  --to LOC          then stop recording when execution reaches LOC (not recorded)
  --icount LO..HI   only instructions whose count (instructions before them) is in LO..HI
  --range LO..HI    only instructions whose linear address is in LO..HI (repeatable)
  --cpl N           only instructions at privilege level N
  --task SEL        only while the task register holds selector SEL
  --max-lines N     stop recording after N instruction lines
  --exit-when-done  end the run (status 0) once the recording is complete
  --max-instructions N  stop the run after N instructions (exit 124)
  --map FILE        symbols: kernel.map ("XXXXXXXX name") or nm's System.map
                    ("XXXXXXXX T name"); default: kernel.map beside IMAGE
  -h, --help        this help
LOC is a linear address or SYMBOL[+OFFSET] from the map; numbers are decimal or 0x hex.
${MACHINE_HELP}
exit status: as forklab run (the guest's, 124 at --max-instructions), 2 on bad input.
`;

export const TRACE_OPTIONS = {
  ...MACHINE_OPTIONS,
  output: { type: 'string', short: 'o' },
  format: { type: 'string' },
  map: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  icount: { type: 'string' },
  range: { type: 'string', multiple: true },
  cpl: { type: 'string' },
  task: { type: 'string' },
  'max-lines': { type: 'string' },
  'max-instructions': { type: 'string' },
  'exit-when-done': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The symbols of `--map FILE`, else of a kernel.map beside the image, else null. */
export function imageSymbols(image: string | undefined, map: string | undefined): SymbolMap | null {
  let mapPath = map;
  if (mapPath === undefined && image !== undefined) {
    const beside = join(dirname(image), 'kernel.map');
    if (existsSync(beside)) mapPath = beside;
  }
  return mapPath !== undefined ? readSymbolFile(mapPath) : null;
}

/** LOC: a number, or SYMBOL[+OFFSET] / SYMBOL-OFFSET with the map. */
export function parseLocation(option: string, text: string, syms: SymbolMap | null): number {
  const t = text.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return parseNumberOption(option, t, 0) >>> 0;
  const m = /^([A-Za-z_.$][\w.$@]*)(?:([+-])(0x[0-9a-f]+|\d+))?$/i.exec(t);
  if (!m) throw new UsageError(`--${option}: '${text}' is not an address or SYMBOL[+OFFSET]`);
  if (!syms) throw new UsageError(`--${option}: '${text}' needs a symbol map (--map FILE)`);
  const a = syms.lookup(m[1]);
  if (a === undefined) throw new UsageError(`--${option}: no symbol '${m[1]}' in the map`);
  const off = m[3] === undefined ? 0 : Number(m[3]);
  return (m[2] === '-' ? a - off : a + off) >>> 0;
}

function parseLocRange(option: string, text: string, syms: SymbolMap | null): [number, number] {
  const i = text.indexOf('..');
  if (i <= 0 || i + 2 >= text.length) throw new UsageError(`--${option}: '${text}' is not LO..HI`);
  const lo = parseLocation(option, text.slice(0, i), syms);
  const hi = parseLocation(option, text.slice(i + 2), syms);
  if (lo > hi) throw new UsageError(`--${option}: '${text}' is empty (LO > HI)`);
  return [lo, hi];
}

export async function traceCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('trace', args, TRACE_OPTIONS);
  if (v.help) {
    process.stdout.write(TRACE_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`trace: one image at most (got ${positionals.length}: ${positionals.join(' ')})`);
  if (v.output === undefined) throw new UsageError('trace: -o FILE is required (where the trace goes)');
  const format = v.format ?? 'text';
  if (format !== 'text' && format !== 'jsonl') throw new UsageError(`trace: --format must be text or jsonl (got '${format}')`);
  const image = positionals[0];
  const syms = imageSymbols(image, v.map);
  const from = v.from !== undefined ? parseLocation('from', v.from, syms) : null;
  const to = v.to !== undefined ? parseLocation('to', v.to, syms) : null;
  let icount: [number, number] | null = null;
  if (v.icount !== undefined) {
    const m = /^(\d+)\.\.(\d+)$/.exec(v.icount.trim());
    if (!m || Number(m[1]) > Number(m[2])) throw new UsageError(`--icount: '${v.icount}' is not LO..HI (decimal, LO <= HI)`);
    icount = [Number(m[1]), Number(m[2])];
  }
  const ranges = (v.range ?? []).flatMap((r) => r.split(',')).map((r) => parseLocRange('range', r, syms));
  const cpl = v.cpl === undefined ? null : parseNumberOption('cpl', v.cpl, 0);
  if (cpl !== null && cpl > 3) throw new UsageError(`--cpl: ${cpl} is not a privilege level (0-3)`);
  const task = v.task === undefined ? null : parseNumberOption('task', v.task, 0);
  if (task !== null && task > 0xffff) throw new UsageError(`--task: ${task} is not a selector`);
  const maxLines = parseNumberOption('max-lines', v['max-lines'], 0);
  const maxInstructions = parseNumberOption('max-instructions', v['max-instructions'], Infinity);
  const setup = parseMachineSetup('trace', v, image);

  const guest = new OutputSink(null, 'latin1'); // the guest's bytes on stdout, as forklab run writes them
  let out: OutputSink;
  try {
    out = new OutputSink(v.output);
  } catch (e) {
    throw new UsageError(`trace: ${(e as Error).message}`);
  }
  const machine = createMachine(setup, {
    onSerial: (b) => guest.write(String.fromCharCode(b)),
    onDebugcon: (b) => guest.write(String.fromCharCode(b)),
  });
  const exitWhenDone = !!v['exit-when-done'];
  const recorder = new TraceRecorder(machine.cpu, machine.hookHub.slot(), {
    format, symbols: syms, from, to, icount, ranges, cpl, task, maxLines,
    write: (s) => out.write(s),
    onDone: () => {
      if (exitWhenDone) machine.stop();
    },
  }).start();

  const started = performance.now();
  let stop: MachineStop;
  try {
    for (;;) {
      const left = maxInstructions - machine.instructions;
      stop = machine.run(Math.min(20_000_000, left));
      guest.flush();
      if (recorder.done && exitWhenDone) break;
      if (stop.kind !== 'limit' && stop.kind !== 'stopped') break;
      if (machine.instructions >= maxInstructions) break;
    }
    recorder.finish();
    out.flush();
  } finally {
    out.close();
    guest.flush();
    persistDisks(setup.disks);
  }
  process.stderr.write(`trace: ${recorder.lines} instruction${recorder.lines === 1 ? '' : 's'} written to ${v.output}\n`);
  if (recorder.done && exitWhenDone && (stop.kind === 'stopped' || stop.kind === 'limit')) return 0;
  return exitStatus(stop, machine.instructions, maxInstructions, false, started);
}
