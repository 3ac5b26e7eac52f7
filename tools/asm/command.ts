// `forklab asm FILE.asm -o FILE.bin [--map FILE.map] [-I DIR] [-D NAME=VALUE]`
import * as fs from 'node:fs';
import { parseCommandArgs, UsageError, writeError } from '../cli-util';
import { MAX_OUTPUT } from './assembler';
import { assembleFile, formatErrors, formatSymbolMap } from './index';

const USAGE = 'usage: forklab asm FILE.asm -o FILE.bin [--map FILE.map] [-I DIR] [-D NAME=VALUE]';

const HELP = `${USAGE}

Assembles NASM-syntax source into a flat binary, byte for byte as nasm -f bin does. An
output beyond ${MAX_OUTPUT >> 20} MB is refused at the line that would exceed it.

  -o, --output FILE        the binary (required); a failed assembly leaves none behind
  --map FILE               write the labels as "XXXXXXXX name" lines, by address
  -I, --include DIR        also look for %include and incbin files in DIR (repeatable)
  -D, --define NAME[=VAL]  %define NAME VAL before the source (repeatable)
  -h, --help               this help

exit status: 0, 1 when the source has errors (each as FILE:LINE:COL: message), 2 on bad
options, 74 when the output cannot be written.
`;

export const ASM_OPTIONS = {
  output: { type: 'string', short: 'o' },
  map: { type: 'string' },
  include: { type: 'string', short: 'I', multiple: true },
  define: { type: 'string', short: 'D', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function asmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('asm', args, ASM_OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`asm: expected one source file (${USAGE})`);
  if (!values.output) throw new UsageError(`asm: -o OUTPUT is required (${USAGE})`);
  const source = positionals[0];
  if (!fs.existsSync(source) || !fs.statSync(source).isFile()) throw new UsageError(`asm: cannot read '${source}'`);
  const defines: Record<string, string> = {};
  for (const d of values.define ?? []) {
    const m = /^([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)(?:=(.*))?$/s.exec(d);
    if (!m) throw new UsageError(`asm: -D '${d}' is not NAME or NAME=VALUE`);
    defines[m[1]] = m[2] ?? '';
  }
  const res = assembleFile(source, { includeDirs: values.include ?? [], defines });
  for (const w of res.warnings) process.stderr.write(`${w.file}:${w.line}:${w.col}: warning: ${w.message}\n`);
  if (res.errors.length) {
    process.stderr.write(formatErrors(res.errors));
    process.stderr.write(`forklab asm: ${res.errors.length} error${res.errors.length === 1 ? '' : 's'} in ${source}\n`);
    return 1;
  }
  writeWhole(values.output, res.bytes);
  if (values.map) writeWhole(values.map, formatSymbolMap(res.symbols));
  return 0;
}

/** Writes a file, or removes what it began: a failed write leaves no truncated output. */
function writeWhole(file: string, data: Uint8Array | string): void {
  try {
    fs.writeFileSync(file, data);
  } catch (e) {
    try {
      if (fs.statSync(file).isFile()) fs.rmSync(file); // never /dev/full or /dev/null
    } catch {
      // it was never created
    }
    throw writeError(`'${file}'`, e);
  }
}
