// `forklab disasm FILE.bin [--bits 16|32] [--org N] [--nasm]`: lists a flat binary as ndisasm
// does (address, bytes, NASM-syntax text). With --nasm it prints NASM source instead
// (`bits`/`org` header, one instruction per line) that assembles back to the same bytes for
// code NASM produced; see emulator/cpu/disasm.ts for what `reassemblable` guarantees.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DISASM_LOOKAHEAD, disassembleRange, formatListingLine, type DisassembleOptions } from '../emulator/cpu/disasm';
import { parseCommandArgs, parseNumberOption, UsageError, writeStdout } from './cli-util';

const USAGE = 'usage: forklab disasm FILE.bin [--bits 16|32] [--org N] [--nasm]';

export const DISASM_OPTIONS = {
  bits: { type: 'string' },
  org: { type: 'string' },
  nasm: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function disasmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('disasm', args, DISASM_OPTIONS);
  if (values.help) {
    process.stdout.write(`${USAGE}

Lists a flat binary as ndisasm does (address, bytes, NASM-syntax text), streaming: any file
size, in constant memory.

  --bits 16|32    code size, 16 (default, as ndisasm) or 32
  --org N         address of the first byte (decimal or 0x hex), default 0
  --nasm          print NASM source that reassembles to the same bytes
  -h, --help      this help
`);
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
  let fd: number;
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`disasm: '${file}' is a directory`);
    fd = openSync(file, 'r');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`disasm: cannot read '${file}': ${why}`);
  }
  try {
    await streamListing(fd, { bits, org, reassemblable: values.nasm === true }, values.nasm === true);
  } finally {
    closeSync(fd);
  }
  return 0;
}

/**
 * Reads the file a window at a time and writes its listing as it goes, so memory stays the
 * same for any file size: each window decodes the lines that start in it, with
 * DISASM_LOOKAHEAD bytes of the next one so a line across the boundary decodes whole.
 */
async function streamListing(fd: number, opts: DisassembleOptions, nasm: boolean): Promise<void> {
  const WINDOW = 1 << 20;
  const buf = new Uint8Array(WINDOW + DISASM_LOOKAHEAD);
  let have = 0; // bytes in buf
  let offset = 0; // file offset of buf[0]
  let eof = false;
  let text = nasm ? `bits ${opts.bits}\norg 0x${(opts.org ?? 0).toString(16)}\n` : '';
  for (;;) {
    while (!eof && have < buf.length) {
      const got = readSync(fd, buf, have, buf.length - have, null);
      if (got === 0) eof = true;
      have += got;
    }
    if (have === 0) break;
    const window = buf.subarray(0, have);
    const until = eof ? have : have - DISASM_LOOKAHEAD;
    const lines = disassembleRange(window, { ...opts, org: ((opts.org ?? 0) + offset) >>> 0 }, 0, until);
    let r = lines.next();
    while (!r.done) {
      text += (nasm ? r.value.text : formatListingLine(r.value)) + '\n';
      if (text.length >= 1 << 16) {
        await writeStdout(text);
        text = '';
      }
      r = lines.next();
    }
    const used = r.value; // where the next line starts (may be past `until`)
    if (eof && used >= have) break;
    buf.copyWithin(0, used, have);
    have -= used;
    offset += used;
  }
  if (text) await writeStdout(text);
}
