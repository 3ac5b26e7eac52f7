// `forklab run`: boot an image headless. The guest's COM1 and debugcon go to stdout; the exit
// status is scriptable: the guest's port F4h status ((v << 1) | 1, as QEMU's isa-debug-exit),
// 0 when it halts with interrupts off, 124 on a timeout or the instruction limit, 3 on a
// triple fault (CPU state on stderr), 2 for bad input.
import { writeFileSync } from 'node:fs';
import type { MachineStop } from '../emulator/machine';
import { serveGdb, type GdbServer } from '../emulator/debug/gdb-serve';
import { parseCommandArgs, parseNumberOption, UsageError, writeError } from './cli-util';
import { persistDisks } from './disk-files';
import { createMachine, MACHINE_HELP, MACHINE_OPTIONS, parseMachineSetup, parseMemorySize } from './machine-options';
import { extractKeySteps, KEYS_USAGE, KeyScript } from './keys-options';
import { SESSION_HELP, SESSION_OPTIONS, startSession } from './session-options';

export const EXIT_TIMEOUT = 124;
export const EXIT_TRIPLE_FAULT = 3;

export const RUN_OPTIONS = {
  ...MACHINE_OPTIONS,
  'max-instructions': { type: 'string' },
  timeout: { type: 'string' },
  screen: { type: 'boolean' },
  serial: { type: 'string' },
  realtime: { type: 'boolean' },
  'expect-exit': { type: 'string' },
  gdb: { type: 'string' },
  wait: { type: 'boolean' },
  ...SESSION_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

export const RUN_USAGE = `usage: forklab run [IMAGE] [options]

Boots IMAGE headless: the guest's COM1 and port E9h on stdout. IMAGE is a floppy image when
its size is a floppy format's, or when it is not a whole number of sectors and a floppy holds
it (a kernel Image: padded in memory, as QEMU does); else a hard-disk image.

  --max-instructions N     stop after N instructions (exit 124)
  --timeout S              stop after S seconds of wall-clock time (exit 124); S > 0, any size
  --screen                 print the VGA text screen at the end
  --serial stdio|FILE      where COM1 goes (default stdio)
  --realtime               pace the guest clock to the wall clock (default: as fast as it runs)
  --expect-exit N          exit 0 when the guest ended with status N, else 1 (saying what it was)
  --gdb PORT               serve the GDB remote protocol on 127.0.0.1:PORT (gdb: target remote
                           :PORT; 0 picks a free port); --timeout and --max-instructions hold;
                           the machine keeps history for gdb's reverse-stepi and reverse-continue
  --wait                   with --gdb: hold the guest at its first instruction until gdb continues
${SESSION_HELP}  -h, --help               this help
${MACHINE_HELP}
exit status: the guest's port F4h status ((v << 1) | 1: a guest that writes 0 exits 1, as
QEMU's isa-debug-exit), 0 when the guest halts with interrupts off or gdb kills it, 124 on
--timeout or --max-instructions, 130 on Ctrl-C, 3 on a triple fault, 2 on bad input, 74 when
an output cannot be written (a full disk), 141 when stdout's reader went away (| head).

--bios ROM runs a 64 or 128 KB system BIOS (for example Bochs's rombios,
/usr/share/bochs/BIOS-bochs-legacy) instead of ours; --vgabios ROM maps a VGA BIOS option ROM
at C0000h for it to find and run (for example /usr/share/vgabios/vgabios.bin).

${KEYS_USAGE}
`;

export { parseMemorySize };

interface Output {
  write(byte: number): void;
  flush(): void;
}

/** Buffers guest bytes and writes them in chunks (one write per byte would be slow). */
function bufferedStream(fd: 'stdout' | string): Output {
  const buf = new Uint8Array(64 * 1024);
  let n = 0;
  let failed = false;
  const flush = () => {
    if (n === 0 || failed) return;
    const len = n;
    n = 0;
    if (fd === 'stdout') {
      process.stdout.write(buf.slice(0, len)); // its errors: guardStandardStreams
      return;
    }
    try {
      writeFileSync(fd, buf.subarray(0, len), { flag: 'a' });
    } catch (e) {
      failed = true; // report once; the run ends with this error
      throw writeError(`'${fd}'`, e);
    }
  };
  return {
    write(b: number) {
      buf[n++] = b;
      if (n === buf.length) flush();
    },
    flush,
  };
}

export async function runCommand(args: string[]): Promise<number> {
  const { steps, rest } = extractKeySteps(args);
  const { values: v, positionals } = parseCommandArgs('run', rest, RUN_OPTIONS);
  if (v.help) {
    process.stdout.write(RUN_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`run: one image at most (got ${positionals.length}: ${positionals.join(' ')})`);
  const setup = parseMachineSetup('run', v, positionals[0]);
  const disks = setup.disks;
  const maxInstructions = parseNumberOption('max-instructions', v['max-instructions'], Infinity);
  let gdbPort = -1;
  if (v.gdb !== undefined) {
    gdbPort = parseNumberOption('gdb', v.gdb, -1);
    if (gdbPort < 0 || gdbPort > 65535) throw new UsageError(`--gdb: '${v.gdb}' is not a TCP port`);
  }
  if (v.wait && gdbPort < 0) throw new UsageError('--wait goes with --gdb PORT');
  if (steps.length && gdbPort >= 0) throw new UsageError('--keys/--keys-after do not go with --gdb (the guest runs under gdb)');
  const expectExit = v['expect-exit'] === undefined ? -1 : parseNumberOption('expect-exit', v['expect-exit'], -1);
  if (expectExit > 255) throw new UsageError(`--expect-exit: ${expectExit} is not an exit status (0-255)`);
  let timeoutMs = Infinity;
  if (v.timeout !== undefined) {
    const s = Number(v.timeout);
    if (Number.isNaN(s) || v.timeout.trim() === '') throw new UsageError(`--timeout: '${v.timeout}' is not a number of seconds`);
    if (!(s > 0)) throw new UsageError(`--timeout must be positive (got '${v.timeout}')`);
    timeoutMs = s * 1000;
  }

  const stdout = bufferedStream('stdout');
  let serial = stdout;
  if (v.serial !== undefined && v.serial !== 'stdio') {
    try {
      writeFileSync(v.serial, '');
    } catch {
      throw new UsageError(`--serial '${v.serial}': cannot write the file`);
    }
    serial = bufferedStream(v.serial);
  }
  const machine = createMachine(setup, {
    onSerial: (b) => serial.write(b),
    onDebugcon: (b) => stdout.write(b),
  });
  // --load-state, --save-state/--at, --record, --replay (validated before the guest runs)
  const session = startSession(v, positionals[0], machine, { gdb: gdbPort >= 0, realtime: !!v.realtime });

  // Keyboard from a terminal: raw mode, keys become scancodes. Ctrl-C ends the run.
  let interrupted = false;
  const stdin = process.stdin;
  const onKey = (data: Buffer) => {
    for (const b of data) {
      if (b === 3) {
        onSigint();
        return;
      }
    }
    session.typeText(data.toString('latin1'));
  };
  // Not a terminal (a pipe, a file): its text is typed as it arrives; a character no key
  // types is skipped, said once on stderr.
  let warned = false;
  const onPiped = (data: Buffer) => {
    for (const ch of data.toString('latin1')) {
      try {
        session.typePiped(ch);
      } catch (e) {
        if (!warned) process.stderr.write(`forklab: stdin: ${(e as Error).message}; skipped\n`);
        warned = true;
      }
    }
  };
  const pipedStdin = !stdin.isTTY && gdbPort < 0;
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
  } else if (pipedStdin) {
    stdin.on('data', onPiped);
    stdin.on('error', () => undefined); // a closed or unreadable stdin types nothing
  }
  let stopGdbRun: (() => void) | null = null; // under --gdb the stub, not a loop here, runs the guest
  let killedByGdb = false;
  const keys = new KeyScript(machine, steps);
  const onSigint = () => {
    interrupted = true;
    machine.stop();
    stopGdbRun?.();
  };
  process.on('SIGINT', onSigint);

  const started = performance.now();
  let stop: MachineStop;
  try {
    if (gdbPort >= 0) {
      // The stub runs the guest in slices between socket events, until it exits, gdb kills
      // it, or a limit ends the run.
      let server: GdbServer;
      try {
        server = await serveGdb(machine, { port: gdbPort, wait: !!v.wait, maxInstructions, timeoutMs });
      } catch (e) {
        throw new UsageError(`--gdb ${gdbPort}: cannot listen (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      stopGdbRun = () => server.end({ kind: 'stopped' });
      process.stderr.write(`forklab: gdb stub on 127.0.0.1:${server.port}${v.wait ? ', waiting for gdb to continue' : ''}\n`);
      const flusher = setInterval(() => {
        serial.flush();
        stdout.flush();
      }, 50); // the guest's console appears as it runs under gdb
      const end = await server.finished;
      clearInterval(flusher);
      await server.close();
      if (end.kind === 'killed') {
        killedByGdb = true;
        stop = { kind: 'stopped' };
      } else stop = end;
    } else {
      stop = await runSlices();
    }
  } finally {
    if (stdin.isTTY) {
      stdin.setRawMode(false);
      stdin.off('data', onKey);
      stdin.pause();
    } else if (pipedStdin) {
      stdin.off('data', onPiped);
      stdin.pause();
      stdin.destroy();
    }
    process.off('SIGINT', onSigint);
    try {
      serial.flush();
    } finally {
      stdout.flush();
      session.finish();
      persistDisks(disks);
    }
  }

  async function runSlices(): Promise<MachineStop> {
    let stop: MachineStop;
    const pacer = new SlicePacer();
    // while --keys-after waits, the screen is looked at every SCREEN_STEP instructions from
    // the start: the same points every run, whatever the host's speed (the pacer's slices are not)
    const SCREEN_STEP = 100_000;
    for (;;) {
      keys.advance();
      const left = maxInstructions - machine.instructions;
      // the slice is sized by guest time (in instructions' worth, as Machine.run bounds it),
      // not by instructions run: an idle guest (HLT) runs few while its time passes, and
      // sized by those it crawled through its idle time at the smallest slice
      const before = machine.clock.icount;
      const t0 = performance.now();
      // (the time bound is the slice's whole size even near --max-instructions)
      stop = keys.waiting ? session.run(Math.min(SCREEN_STEP, left)) : session.run(Math.min(pacer.size, left), pacer.size);
      pacer.observe(machine.clock.icount - before, performance.now() - t0);
      serial.flush();
      stdout.flush();
      if (stop.kind !== 'limit' && stop.kind !== 'stopped') break;
      if (interrupted) break;
      if (stop.kind === 'limit' && machine.instructions >= maxInstructions) break;
      const elapsed = performance.now() - started;
      if (elapsed >= timeoutMs) break;
      if (v.realtime || session.replayRealtime) {
        const ahead = machine.clock.seconds() * 1000 - elapsed;
        if (ahead > 1) await new Promise((r) => setTimeout(r, Math.min(ahead, 100)));
      }
      await new Promise((r) => setImmediate(r)); // let stdin, signals and timers in
    }
    return stop;
  }

  if (v.screen) process.stdout.write(`\n--- screen ---\n${machine.screenText().replace(/\n+$/, '')}\n`);
  if (machine.postCode >= 0) process.stderr.write(`post code: 0x${machine.postCode.toString(16).padStart(2, '0')}\n`);
  let status: number;
  if (killedByGdb) {
    // as QEMU ends when gdb kills it: status 0, and say so
    process.stderr.write(`forklab: gdb killed the guest after ${machine.instructions} instructions\n`);
    status = 0;
  } else status = exitStatus(stop, machine.instructions, maxInstructions, interrupted, started);
  if (expectExit < 0) return status;
  if (status === expectExit) return 0;
  process.stderr.write(`forklab: expected exit status ${expectExit}, the guest ended with ${status}\n`);
  return 1;
}

/**
 * Sizes the run's slices by time, not by a fixed count: a guest may run at 40 MIPS or, stuck
 * in an exception loop, at 1; between slices the run checks --timeout and lets Ctrl-C in, so
 * each slice should take about TARGET_MS whatever the guest's speed.
 */
export class SlicePacer {
  static readonly TARGET_MS = 25;
  static readonly MIN = 1_000;
  static readonly MAX = 5_000_000;
  /** Instructions for the next slice; the first is small, as the speed is not known yet. */
  size = 20_000;

  /** Records that the guest's clock advanced by `time` (instructions' worth: executed or
   *  idle) in `ms` milliseconds and sizes the next slice. */
  observe(time: number, ms: number): void {
    if (time <= 0) return;
    const perMs = time / Math.max(ms, 0.1);
    // grow at most 4x a slice (a burst of fast code must not make one slow slice huge)
    const next = Math.min(perMs * SlicePacer.TARGET_MS, this.size * 4);
    this.size = Math.round(Math.max(SlicePacer.MIN, Math.min(SlicePacer.MAX, next)));
  }
}

/** The exit status for how the run ended, saying why on stderr where it is not the guest's. */
export function exitStatus(stop: MachineStop, icount: number, maxInstructions: number, interrupted: boolean, started: number): number {
  switch (stop.kind) {
    case 'exit':
      return stop.status & 0xff;
    case 'halted':
      return 0;
    case 'triple-fault':
      process.stderr.write(`forklab: triple fault after ${icount} instructions; CPU state:\n${stop.state}\n`);
      return EXIT_TRIPLE_FAULT;
    case 'boot-failure':
      process.stderr.write(`forklab: boot failed: ${stop.reason}\n`);
      return 2;
    default:
      if (interrupted) {
        process.stderr.write(`forklab: interrupted after ${icount} instructions\n`);
        return 130;
      }
      process.stderr.write(
        icount >= maxInstructions
          ? `forklab: instruction limit reached (${icount} instructions)\n`
          : `forklab: timeout after ${((performance.now() - started) / 1000).toFixed(1)} s (${icount} instructions)\n`,
      );
      return EXIT_TIMEOUT;
  }
}
