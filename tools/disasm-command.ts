// `forklab disasm FILE.bin [--bits 16|32] [--org N] [--nasm]`: lists a flat binary as ndisasm
// does (address, bytes, NASM-syntax text). With --nasm it prints NASM source instead
// (`bits`/`org` header, one instruction per line) that assembles back to the same bytes for
// code NASM produced; see emulator/cpu/disasm.ts for what `reassemblable` guarantees.
import { readFileSync, statSync } from 'node:fs';
import { disassemble, formatListingLine } from '../emulator/cpu/disasm';
import { parseCommandArgs, parseNumberOption, UsageError } from './cli-util';

const USAGE = 'usage: forklab disasm FILE.bin [--bits 16|32] [--org N] [--nasm]';

export async function disasmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('disasm', args, {
    bits: { type: 'string' },
    org: { type: 'string' },
    nasm: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n  --bits   code size, 16 (default, as ndisasm) or 32\n  --org    address of the first byte (decimal or 0x hex), default 0\n  --nasm   print NASM source that reassembles to the same bytes\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`disasm: missing FILE (${USAGE})`);
  if (positionals.length > 1) throw new UsageError(`disasm: one FILE expected, got ${positionals.length} (${USAGE})`);
  const bitsText = values.bits ?? '16';
  if (bitsText !== '16' && bitsText !== '32') throw new UsageError(`--bits: must be 16 or 32, not '${bitsText}'`);
  const bits = Number(bitsText) as 16 | 32;
  const org = parseNumberOption('org', values.org, 0);
  if (org > 0xffffffff) throw new UsageError(`--org: '${values.org}' is beyond 4 GB`);
  const file = positionals[0];
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`disasm: '${file}' is a directory`);
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`disasm: cannot read '${file}': ${why}`);
  }
  const lines = disassemble(bytes, { bits, org, reassemblable: values.nasm === true });
  const out: string[] = [];
  if (values.nasm) {
    out.push(`bits ${bits}`, `org ${'0x' + org.toString(16)}`);
    for (const l of lines) out.push(l.text);
  } else {
    for (const l of lines) out.push(formatListingLine(l));
  }
  process.stdout.write(out.length ? out.join('\n') + '\n' : '');
  return 0;
}
