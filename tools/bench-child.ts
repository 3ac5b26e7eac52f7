// The in-process engines of `npm run bench -- --peers`, each run as its own child process
// (`node dist/bench.js --child forklab|forklab-jit|forklab-interp|v86|v86-nojit --fda F [--hda F] [--prompt TEXT]`) so
// that every engine is timed the same way: whole process, start to end. The run ends when
// the guest writes port F4h (isa-debug-exit) or, with --prompt, when TEXT is on the text
// screen. The last line on stdout is the result (see parseChildResult).

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Machine } from '../emulator/machine';
import { DEFAULT_ENGINE } from '../emulator/cpu/cpu';
import { openFloppy, openHardDisk } from './disk-files';

export interface ChildArgs {
  engine: string;
  fda: string;
  hda?: string;
  prompt?: string;
}

/** Debian's SeaBIOS and the stdvga VGA BIOS: what v86 needs and npm does not ship. */
export const V86_BIOS = '/usr/share/seabios/bios.bin';
export const V86_VGABIOS = '/usr/share/vgabios/vgabios-stdvga.bin';
const MEMORY = 16 << 20;

function done(status: number, instructions: number | null, prompt = false): never {
  console.log(JSON.stringify({ status, instructions, prompt }));
  process.exit(0);
}

function runForklab(a: ChildArgs): never {
  const m = new Machine({
    memorySize: MEMORY,
    fda: openFloppy(a.fda, false).image,
    hda: a.hda ? openHardDisk(a.hda, false).image : null,
    // forklab: the default engine; forklab-jit, forklab-interp: that engine
    engine: a.engine === 'forklab' ? DEFAULT_ENGINE : a.engine === 'forklab-jit' ? 'jit' : 'interp',
  });
  for (;;) {
    // the prompt is looked for every 100,000 instructions (Linux 0.11 shows it after ~5 M)
    const stop = m.run(a.prompt ? 100_000 : 100_000_000);
    if (a.prompt && m.screenText().includes(a.prompt)) done(-1, m.instructions, true);
    if (stop.kind === 'exit') done(stop.status, m.instructions);
    if (stop.kind !== 'limit') throw new Error(`forklab stopped: ${JSON.stringify(stop)}`);
  }
}

function arrayBuffer(file: string): ArrayBuffer {
  const b = readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}

/** v86's module, found where npm put it (not bundled: it loads its wasm beside itself). */
export function v86Module(): string {
  return createRequire(import.meta.url).resolve('v86');
}

async function runV86(a: ChildArgs): Promise<void> {
  const lib = v86Module();
  const { V86 } = (await import(pathToFileURL(lib).href)) as { V86: new (o: object) => V86Emulator };
  const e = new V86({
    wasm_path: lib.replace(/[^/]*$/, 'v86.wasm'),
    bios: { buffer: arrayBuffer(V86_BIOS) },
    vga_bios: { buffer: arrayBuffer(V86_VGABIOS) },
    fda: { buffer: arrayBuffer(a.fda) },
    hda: a.hda ? { buffer: arrayBuffer(a.hda) } : undefined,
    // Linux 0.11's original hd.c needs a slave drive here, as in QEMU (its README says why)
    hdb: a.hda ? { buffer: arrayBuffer(a.hda) } : undefined,
    memory_size: MEMORY,
    autostart: true,
    disable_jit: a.engine === 'v86-nojit',
  });
  const counter = () => (typeof e.get_instruction_counter === 'function' ? e.get_instruction_counter() : null);
  e.add_listener('emulator-loaded', () => {
    // v86 has no isa-debug-exit: the bench's own handler on port F4h plays it
    e.v86.cpu.io.register_write(0xf4, {}, (v: number) => done(((v << 1) | 1) >>> 0, counter()));
  });
  if (a.prompt) {
    const prompt = a.prompt;
    const rows: string[][] = Array.from({ length: 25 }, () => Array<string>(80).fill(' '));
    e.add_listener('screen-put-char', (d: unknown) => {
      const [row, col, chr] = d as [number, number, number];
      if (row < 0 || row >= 25 || col < 0 || col >= 80) return;
      rows[row][col] = String.fromCharCode(chr);
      if (chr === prompt.charCodeAt(prompt.length - 1) && rows[row].join('').includes(prompt)) done(-1, counter(), true);
    });
  }
}

interface V86Emulator {
  add_listener(event: string, fn: (d: unknown) => void): void;
  get_instruction_counter?(): number;
  v86: { cpu: { io: { register_write(port: number, device: object, w8: (v: number) => void): void } } };
}

export async function childMain(argv: string[]): Promise<void> {
  const a: ChildArgs = { engine: argv[0] ?? '', fda: '' };
  for (let i = 1; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${argv[i]} needs a value`);
    if (argv[i] === '--fda') a.fda = v;
    else if (argv[i] === '--hda') a.hda = v;
    else if (argv[i] === '--prompt') a.prompt = v;
    else throw new Error(`unknown child option '${argv[i]}'`);
  }
  if (!a.fda) throw new Error('--child needs --fda');
  if (a.engine === 'forklab' || a.engine === 'forklab-jit' || a.engine === 'forklab-interp') runForklab(a);
  else if (a.engine === 'v86' || a.engine === 'v86-nojit') await runV86(a);
  else throw new Error(`unknown child engine '${a.engine}'`);
}
