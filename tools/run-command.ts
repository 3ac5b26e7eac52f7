// `forklab run`: boot an image headless. The guest's COM1 and debugcon go to stdout; the exit
// status is scriptable: the guest's port F4h status ((v << 1) | 1, as QEMU's isa-debug-exit),
// 0 when it halts with interrupts off, 124 on a timeout or the instruction limit, 3 on a
// triple fault (CPU state on stderr), 2 for bad input.
import { writeFileSync } from 'node:fs';
import type { MachineStop } from '../emulator/machine';
import { serveGdb } from '../emulator/debug/gdb-serve';
import { parseCommandArgs, parseNumberOption, UsageError } from './cli-util';
import { persistDisks } from './disk-files';
import { createMachine, MACHINE_OPTIONS, parseMachineSetup, parseMemorySize } from './machine-options';
import { extractKeySteps, KEYS_USAGE, KeyScript } from './keys-options';

export const EXIT_TIMEOUT = 124;
export const EXIT_TRIPLE_FAULT = 3;

const OPTIONS = {
  ...MACHINE_OPTIONS,
  'max-instructions': { type: 'string' },
  timeout: { type: 'string' },
  screen: { type: 'boolean' },
  serial: { type: 'string' },
  realtime: { type: 'boolean' },
  'expect-exit': { type: 'string' },
  gdb: { type: 'string' },
  wait: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const RUN_USAGE = `usage: forklab run [IMAGE] [--fda F] [--fdb F] [--hda F] [--hdb F] [--geometry C/H/S]
                   [--boot a|c] [--mem SIZE] [--bios ROM] [--kernel ELF]
                   [--max-instructions N] [--timeout S] [--screen] [--serial stdio|FILE]
                   [--realtime] [--persist] [--expect-exit N] [--gdb PORT [--wait]]
                   [--on-triple-fault stop|reset] [--keys TEXT] [--keys-after REGEX TEXT]

IMAGE is a floppy image when its size is a floppy format's, or when it is not a whole number
of sectors and a floppy holds it (a kernel Image: padded in memory, as QEMU does); else a
hard-disk image. Writes to disk images stay in
memory unless --persist (and a read-only file is never written). SIZE takes K, M or G
(default 16M, at most 256M).

exit status: the guest's port F4h status ((v << 1) | 1), 0 when the guest halts with
interrupts off, 124 on --timeout or --max-instructions, 3 on a triple fault, 2 on bad input.
With --expect-exit N: 0 when the guest ended with status N, else 1 (after saying what it was).

--on-triple-fault reset restarts the CPU at the reset vector as a PC does (default: stop,
exit 3, CPU state on stderr).

${KEYS_USAGE}

--gdb PORT serves the GDB remote protocol on 127.0.0.1:PORT (gdb: target remote :PORT);
with --wait the guest waits, stopped at its first instruction, for gdb to continue it.
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
  const flush = () => {
    if (n === 0) return;
    if (fd === 'stdout') process.stdout.write(buf.slice(0, n));
    else writeFileSync(fd, buf.subarray(0, n), { flag: 'a' });
    n = 0;
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
  const { values: v, positionals } = parseCommandArgs('run', rest, OPTIONS);
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
    if (!(s > 0)) throw new UsageError(`--timeout: '${v.timeout}' is not a positive number of seconds`);
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

  // Keyboard from a terminal: raw mode, keys become scancodes. Ctrl-C ends the run.
  let interrupted = false;
  const stdin = process.stdin;
  const onKey = (data: Buffer) => {
    for (const b of data) {
      if (b === 3) {
        interrupted = true;
        machine.stop();
        return;
      }
    }
    machine.kbc.typeText(data.toString('latin1'));
  };
  // Not a terminal (a pipe, a file): its text is typed as it arrives; a character no key
  // types is skipped, said once on stderr.
  let warned = false;
  const onPiped = (data: Buffer) => {
    for (const ch of data.toString('latin1')) {
      try {
        machine.type(ch);
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
  const keys = new KeyScript(machine, steps);
  const onSigint = () => {
    interrupted = true;
    machine.stop();
  };
  process.on('SIGINT', onSigint);

  const started = performance.now();
  let stop: MachineStop;
  try {
    if (gdbPort >= 0) {
      // The stub runs the guest in slices between socket events, until it exits or gdb kills it.
      let server;
      try {
        server = await serveGdb(machine, { port: gdbPort, wait: !!v.wait });
      } catch (e) {
        throw new UsageError(`--gdb ${gdbPort}: cannot listen (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      process.stderr.write(`forklab: gdb stub on 127.0.0.1:${server.port}${v.wait ? ', waiting for gdb to continue' : ''}\n`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<MachineStop>((resolve) => {
        if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve({ kind: 'limit' }), timeoutMs);
      });
      const flusher = setInterval(() => {
        serial.flush();
        stdout.flush();
      }, 50); // the guest's console appears as it runs under gdb
      stop = await Promise.race([server.finished, timedOut]);
      clearInterval(flusher);
      clearTimeout(timer);
      await server.close();
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
    serial.flush();
    stdout.flush();
    persistDisks(disks);
  }

  async function runSlices(): Promise<MachineStop> {
    let stop: MachineStop;
    const sliceInstructions = 5_000_000; // about 0.1 s: Ctrl-C and --timeout answer promptly
    const screenSlice = 100_000; // while a --keys-after waits: the screen checked at fixed points
    for (;;) {
      keys.advance();
      const left = maxInstructions - machine.instructions;
      stop = machine.run(Math.min(keys.waiting ? screenSlice : sliceInstructions, left));
      serial.flush();
      stdout.flush();
      if (stop.kind !== 'limit' && stop.kind !== 'stopped') break;
      if (interrupted) break;
      if (stop.kind === 'limit' && machine.instructions >= maxInstructions) break;
      const elapsed = performance.now() - started;
      if (elapsed >= timeoutMs) break;
      if (v.realtime) {
        const ahead = machine.clock.seconds() * 1000 - elapsed;
        if (ahead > 1) await new Promise((r) => setTimeout(r, Math.min(ahead, 100)));
      }
      await new Promise((r) => setImmediate(r)); // let stdin, signals and timers in
    }
    return stop;
  }

  if (v.screen) process.stdout.write(`\n--- screen ---\n${machine.screenText().replace(/\n+$/, '')}\n`);
  if (machine.postCode >= 0) process.stderr.write(`post code: 0x${machine.postCode.toString(16).padStart(2, '0')}\n`);
  const status = exitStatus(stop, machine.instructions, maxInstructions, interrupted, started);
  if (expectExit < 0) return status;
  if (status === expectExit) return 0;
  process.stderr.write(`forklab: expected exit status ${expectExit}, the guest ended with ${status}\n`);
  return 1;
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
