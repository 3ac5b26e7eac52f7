// `forklab run`'s session options: --load-state FILE, --save-state FILE --at ICOUNT|SYMBOL,
// --record FILE, --replay FILE. Everything is read and checked before the guest runs; a bad
// file or value is one line and exit 2 (UsageError), the machine left as it was built.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Machine, MachineStop } from '../emulator/machine';
import { formatInputLog, InputRecorder, InputReplayer, parseInputLog } from '../emulator/input-log';
import { UsageError, writeError } from './cli-util';
import { decodeState, encodeState } from './state-file';
import { imageSymbols, parseLocation } from './trace-command';

export const SESSION_OPTIONS = {
  'load-state': { type: 'string' },
  'save-state': { type: 'string' },
  at: { type: 'string' },
  record: { type: 'string' },
  replay: { type: 'string' },
} as const;

export const SESSION_HELP = `  --load-state FILE        start from a state --save-state wrote (same memory size and disks)
  --save-state FILE        save the machine's state to FILE at --at, then run on
  --at ICOUNT|SYMBOL       when to save: after ICOUNT instructions, or when execution first
                           reaches SYMBOL[+OFF] (from kernel.map beside IMAGE)
  --record FILE            write the input (keys, piped stdin) and the moment each came to FILE
  --replay FILE            deliver a --record FILE's input at the same moments (live keys
                           are ignored); paced to the wall clock if it was recorded --realtime
`;

export interface SessionValues {
  'load-state'?: string;
  'save-state'?: string;
  at?: string;
  record?: string;
  replay?: string;
}

/** How the run loop runs the machine and hands it input, for the session's options. */
export interface Session {
  /** Machine.run, stopping where a state is to be saved or a replayed event is due. */
  run(maxInstructions: number, maxTime?: number): MachineStop;
  /** Keys typed at the terminal. */
  typeText(text: string): void;
  /** Text piped to stdin, typed as Machine.type does (throws for a character no key types). */
  typePiped(text: string): void;
  /** The replay asks for wall-clock pacing. */
  readonly replayRealtime: boolean;
  /** At the end of the run: writes the --record file; says what did not happen. */
  finish(): void;
}

function readInput(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new UsageError(`--${option} '${path}': cannot read the file`);
  }
}

export function startSession(v: SessionValues, image: string | undefined, machine: Machine, opts: { gdb: boolean; realtime: boolean }): Session {
  const save = v['save-state'];
  if ((save === undefined) !== (v.at === undefined)) throw new UsageError('--save-state FILE and --at ICOUNT|SYMBOL go together');
  if (v.record !== undefined && v.replay !== undefined) throw new UsageError('--record and --replay: one or the other');
  if (opts.gdb && (save !== undefined || v.record !== undefined || v.replay !== undefined)) throw new UsageError('--save-state, --record and --replay do not go with --gdb');

  // Read and check every file before the machine changes.
  const replayLog = v.replay === undefined ? null : (() => {
    try {
      return parseInputLog(readInput('replay', v.replay).toString('latin1'));
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError(`--replay '${v.replay}': ${(e as Error).message}`);
    }
  })();
  if (v['load-state'] !== undefined) {
    const path = v['load-state'];
    try {
      machine.restore(decodeState(readInput('load-state', path)));
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError(`--load-state '${path}': ${(e as Error).message}`);
    }
  }
  let atCount = -1;
  let atAddress = -1;
  if (v.at !== undefined) {
    const t = v.at.trim();
    if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
      atCount = Number(t);
      if (atCount < machine.instructions) throw new UsageError(`--at ${t}: the machine is already at instruction ${machine.instructions}`);
    } else {
      const symbols = imageSymbols(image, undefined);
      if (!symbols) throw new UsageError(`--at: '${t}' needs a kernel.map beside the image`);
      atAddress = parseLocation('at', t, symbols);
    }
    try {
      writeFileSync(save!, '');
    } catch {
      throw new UsageError(`--save-state '${save}': cannot write the file`);
    }
  }
  for (const [option, path] of [['record', v.record]] as const) {
    if (path === undefined) continue;
    try {
      writeFileSync(path, '');
    } catch {
      throw new UsageError(`--${option} '${path}': cannot write the file`);
    }
  }

  const recorder = v.record !== undefined ? new InputRecorder(machine, { realtime: opts.realtime }) : null;
  const replayer = replayLog ? new InputReplayer(machine, replayLog) : null;
  let saved = save === undefined;
  let reached = false;
  const hook = atAddress >= 0 ? machine.hook('instruction', () => (reached = true), { begin: atAddress, end: atAddress }) : null;

  const saveNow = () => {
    hook?.remove();
    saved = true;
    try {
      writeFileSync(save!, encodeState(machine.snapshot()));
    } catch (e) {
      throw writeError(`'${save}'`, e);
    }
    process.stderr.write(`forklab: state saved to ${save} at instruction ${machine.instructions}\n`);
  };
  const runMachine = (max: number, maxTime: number): MachineStop => {
    try {
      return replayer ? replayer.run(max, maxTime) : machine.run(max, maxTime);
    } catch (e) {
      throw new UsageError(`--replay '${v.replay}': ${(e as Error).message}`);
    }
  };

  return {
    replayRealtime: replayLog?.realtime ?? false,
    run(max, maxTime = max) {
      if (saved) return runMachine(max, maxTime);
      if (atCount >= 0) {
        const r = runMachine(Math.min(max, atCount - machine.instructions), maxTime);
        if (machine.instructions === atCount) saveNow();
        return r;
      }
      const r = runMachine(max, maxTime);
      if (!reached) return r;
      saveNow();
      return r.kind === 'stopped' ? { kind: 'limit' } : r; // the hook's stop, not the guest's
    },
    typeText(text) {
      if (replayer) return; // the replay is the input
      if (recorder) recorder.typeText(text);
      else machine.kbc.typeText(text);
    },
    typePiped(text) {
      if (replayer) return;
      if (recorder) recorder.type(text);
      else machine.type(text);
    },
    finish() {
      if (recorder) {
        try {
          writeFileSync(v.record!, formatInputLog(recorder.log));
        } catch (e) {
          throw writeError(`'${v.record}'`, e);
        }
      }
      if (!saved) process.stderr.write(`forklab: --at ${v.at} was not reached; no state saved\n`);
      if (replayer && replayer.pending > 0) process.stderr.write(`forklab: the run ended with ${replayer.pending} replayed input event(s) not delivered\n`);
    },
  };
}
