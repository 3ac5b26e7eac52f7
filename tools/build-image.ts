// `forklab build`: assembles boot/ and kernel/ with our assembler into a bootable 1.44 MB
// floppy image, as Linux 0.11's tools/build did: the boot sector (told the system's size
// in 16-byte units, SYSSIZE), four setup sectors, then the system; plus the kernel's
// symbol map ("XXXXXXXX name", sorted by address) for the debugger and kernel/inspect, and
// the same symbols in an ELF file over the system at its run address, for gdb.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assembleFile, formatErrors, formatSymbolMap, type SymbolEntry } from './asm';
import { parseCommandArgs, UsageError } from './cli-util';
import { writeElf } from './elf-writer';

export const FLOPPY_SIZE = 1474560;
const SETUP_SECTORS = 4;
/** Linux 0.11 loads the system at 0x10000 and moves it to 0, below 0x90000. */
const MAX_SYSTEM = 0x80000;

export interface BuiltImage {
  image: Uint8Array;
  symbols: SymbolEntry[];
  systemBytes: number;
  /** The system (run at linear 0, where head.asm moves it) and its symbols as an ELF file for gdb. */
  elf: Uint8Array;
}

function assembleOrThrow(root: string, file: string, defines: Record<string, string> = {}) {
  const res = assembleFile(join(root, file), { includeDirs: [root], defines });
  if (res.errors.length) throw new UsageError(`build: ${file} does not assemble:\n${formatErrors(res.errors)}`, 1);
  return res;
}

/** Builds the image from the sources under `root` (the repository). `defines` go to the
 *  kernel's assembly (tests use them for variants such as FORCE_NO_FPU). */
export function buildImage(root: string, defines: Record<string, string> = {}): BuiltImage {
  const system = assembleOrThrow(root, 'kernel/kernel.asm', defines);
  if (system.bytes.length > MAX_SYSTEM) {
    throw new UsageError(`build: the system is ${system.bytes.length} bytes; it must fit below 0x80000 (${MAX_SYSTEM})`, 1);
  }
  const sysSize = Math.ceil(system.bytes.length / 16);
  const boot = assembleOrThrow(root, 'boot/bootsect.asm', { SYSSIZE: String(sysSize) });
  const setup = assembleOrThrow(root, 'boot/setup.asm');
  if (boot.bytes.length !== 512) throw new UsageError(`build: the boot sector is ${boot.bytes.length} bytes, not 512`, 1);
  if (setup.bytes.length !== SETUP_SECTORS * 512) {
    throw new UsageError(`build: setup is ${setup.bytes.length} bytes, not ${SETUP_SECTORS} sectors`, 1);
  }
  const image = new Uint8Array(FLOPPY_SIZE);
  image.set(boot.bytes, 0);
  image.set(setup.bytes, 512);
  image.set(system.bytes, 512 + setup.bytes.length);
  const symbols = system.symbols.filter((s) => !s.name.startsWith('..@'));
  const elf = writeElf(system.bytes, 0, symbols.map((s) => ({ ...s, data: system.dataLabels.has(s.name) })));
  return { image, symbols, systemBytes: system.bytes.length, elf };
}

/** Newest modification time of the sources the image is built from. */
function newestSource(root: string): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.asm') || e.name.endsWith('.inc')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, 'boot'));
  walk(join(root, 'kernel'));
  return newest;
}

export const BUILD_OPTIONS = {
  output: { type: 'string', short: 'o' },
  'if-needed': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function buildCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs('build', args, BUILD_OPTIONS);
  if (values.help) {
    process.stdout.write(`usage: forklab build [-o DIR] [--if-needed]

Assembles boot/ and kernel/ with forklab's assembler into DIR/forklab.img (a 1.44 MB floppy),
DIR/kernel.map (the kernel's symbols) and DIR/forklab.elf (the kernel with its symbols, for
gdb: gdb DIR/forklab.elf -ex 'target remote :1234').

  -o, --output DIR   where to write them (default: build)
  --if-needed        do nothing when all three are newer than every source file
  -h, --help         this help
`);
    return 0;
  }
  // tools/build-image.ts and the bundle dist/forklab.cjs both sit one level below the root
  const root = resolve(new URL('..', import.meta.url).pathname);
  const out = resolve(values.output ?? join(root, 'build'));
  const imgPath = join(out, 'forklab.img');
  const mapPath = join(out, 'kernel.map');
  const elfPath = join(out, 'forklab.elf');
  if (values['if-needed']) {
    try {
      const built = Math.min(...[imgPath, mapPath, elfPath].map((p) => statSync(p).mtimeMs));
      if (built >= newestSource(root)) return 0;
    } catch {
      // not built yet
    }
  }
  const t0 = performance.now();
  const { image, symbols, systemBytes, elf } = buildImage(root);
  mkdirSync(out, { recursive: true });
  writeFileSync(imgPath, image);
  writeFileSync(mapPath, formatSymbolMap(symbols));
  writeFileSync(elfPath, elf);
  const ms = (performance.now() - t0).toFixed(0);
  process.stderr.write(`built ${imgPath} (system ${systemBytes} bytes, ${symbols.length} symbols) in ${ms} ms\n`);
  return 0;
}
