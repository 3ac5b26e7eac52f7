// `forklab debug IMAGE`: the built-in debugger (emulator/debug/debugger.ts) on a terminal.
// Interactive: a prompt with line editing and history (an empty line repeats a step,
// next or continue); Ctrl-C stops the running guest, and at the prompt clears the line.
// `--script FILE` runs the commands of FILE instead, echoing each with its output, and
// stops at the first error (exit 2). The exit status is the guest's (as `forklab run`
// reports it) when it ended, else 0.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Debugger, runScript } from '../emulator/debug/debugger';
import { attachKernel, PROFILES } from '../kernel/inspect';
import type { SymbolMap } from '../emulator/debug/symbols';
import { readSymbolFile } from './symbol-file';
import { parseCommandArgs, UsageError } from './cli-util';
import { createMachine, MACHINE_HELP, MACHINE_OPTIONS, parseMachineSetup } from './machine-options';
import { persistDisks } from './disk-files';

export const DEBUG_OPTIONS = {
  ...MACHINE_OPTIONS,
  script: { type: 'string' },
  map: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const DEBUG_USAGE = `usage: forklab debug [IMAGE] [options]

The built-in debugger: breakpoints, watchpoints, stepping forward and back (the machine keeps
history: reverse-stepi, reverse-continue, goto), memory, descriptor tables, page walks, and a
kernel's tasks, page tables and mem_map (type 'help' at the prompt).
The session's transcript goes to stdout, a command's error to stderr.

  --script FILE        run FILE's commands (one a line, # comments) and exit: with the
                       guest's status if it ended, 2 at the first failing command, else 0
  --map FILE           kernel symbols: kernel.map ("XXXXXXXX name") or nm's System.map
                       ("XXXXXXXX T name"); default: kernel.map beside IMAGE
  --profile NAME       the kernel that runs (${PROFILES.map((p) => p.name).join('|')}); default: told by the map
  -h, --help           this help
${MACHINE_HELP}`;

export async function debugCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('debug', args, DEBUG_OPTIONS);
  if (v.help) {
    process.stdout.write(DEBUG_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`debug: one image at most (got ${positionals.length}: ${positionals.join(' ')})`);
  const image = positionals[0] ?? v.fda ?? v.hda;
  const setup = parseMachineSetup('debug', v, positionals[0]);

  let symbols: SymbolMap | undefined;
  const mapPath = v.map ?? (image !== undefined ? join(dirname(image), 'kernel.map') : '');
  if (v.map !== undefined || (mapPath !== '' && existsSync(mapPath))) symbols = readSymbolFile(mapPath);

  let script: string | null = null;
  if (v.script !== undefined) {
    try {
      script = readFileSync(v.script, 'utf8');
    } catch {
      throw new UsageError(`--script '${v.script}': cannot read the file`);
    }
  }

  // the guest's console (COM1, debugcon) goes to stdout, flushed between slices and commands
  let pending: number[] = [];
  const flush = () => {
    if (pending.length) {
      process.stdout.write(Buffer.from(pending));
      pending = [];
    }
  };
  const machine = createMachine(setup, { onSerial: (b) => pending.push(b), onDebugcon: (b) => pending.push(b) });
  let kernel;
  try {
    kernel = attachKernel(machine.mem.u8, symbols ?? null, v.profile);
  } catch (e) {
    throw new UsageError(`--profile: ${(e as Error).message}`);
  }
  if (v.profile !== undefined && kernel.problem) throw new UsageError(`--profile ${v.profile}: ${kernel.problem}`);
  const dbg = new Debugger(machine, { symbols, extension: kernel.extension, onSlice: flush });
  const status = () => dbg.exitStatus ?? 0;

  if (script !== null) {
    const onSigint = () => dbg.interrupt();
    process.on('SIGINT', onSigint);
    try {
      // the transcript on stdout, a failing command's error on stderr
      const r = await runScript(dbg, script, (s) => {
        flush();
        process.stdout.write(s);
      }, (s) => {
        flush();
        process.stderr.write(s);
      });
      flush();
      return r.ok ? status() : 2;
    } finally {
      process.off('SIGINT', onSigint);
      persistDisks(setup.disks);
    }
  }

  // interactive
  process.stdout.write(`forklab debugger: ${image ?? setup.kernelPath ?? 'firmware'}${symbols ? ` (${symbols.size} symbols${kernel.inspector ? `, kernel profile ${kernel.inspector.profile.name}` : ''})` : ' (no symbol map)'}; stopped at the reset vector. Type 'help'.\n`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '(forklab) ', historySize: 1000, terminal: process.stdin.isTTY });
  let busy = false;
  let last = '';
  rl.on('SIGINT', () => {
    if (busy) dbg.interrupt();
    else {
      process.stdout.write('^C\n');
      rl.prompt();
    }
  });
  const onSigint = () => dbg.interrupt(); // not a terminal: the signal itself
  process.on('SIGINT', onSigint);
  rl.prompt();
  try {
    for await (const input of rl) {
      let line = input.trim();
      if (line === '' && /^(s|si|n|ni|step|stepi|next|nexti|c|cont|continue)\b/.test(last)) line = last;
      if (line === '') {
        rl.prompt();
        continue;
      }
      last = line;
      busy = true;
      let r;
      try {
        r = await dbg.execute(line);
      } catch (e) {
        // a bug in forklab, not the user's mistake: say so in one line and keep the session
        r = { output: '', error: `internal error: ${(e as Error)?.message ?? String(e)}` };
      } finally {
        busy = false;
      }
      flush();
      if (r.output) process.stdout.write(r.output + '\n');
      if (r.error) process.stderr.write(`error: ${r.error}\n`);
      if (r.quit) break;
      rl.prompt();
    }
  } finally {
    rl.close();
    process.off('SIGINT', onSigint);
    flush();
    persistDisks(setup.disks);
  }
  return status();
}
