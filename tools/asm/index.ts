// forklab's NASM-compatible assembler for flat binaries: `assemble` takes source text,
// `assembleFile` a path. The output is byte-identical to `nasm -f bin` for the same source.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { assembleLines, MAX_OUTPUT, type SymbolEntry } from './assembler';
import { LineError } from './lexer';
import { formatError, type AsmError } from './errors';
import { preprocess } from './preprocess';

export type { AsmError } from './errors';
export type { SymbolEntry } from './assembler';
export { formatError } from './errors';

export interface AssembleOptions {
  /** Name used in error messages and to resolve %include relative to the source. */
  fileName?: string;
  includeDirs?: string[];
  /** -D NAME=VALUE definitions (%define NAME VALUE). */
  defines?: Record<string, string>;
  /** Reads an included file; undefined when it does not exist. Defaults to the file system. */
  readFile?: (file: string) => string | undefined;
  /** Reads an incbin file. Defaults to the file system. */
  readBinary?: (file: string) => Uint8Array | undefined;
}

export interface AssembleOutput {
  bytes: Uint8Array;
  symbols: SymbolEntry[];
  /** Labels that name data rather than code (see the assembler's AssembleResult). */
  dataLabels: Set<string>;
  errors: AsmError[];
  warnings: AsmError[];
}

function fsRead(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function fsReadBinary(file: string): Uint8Array | undefined {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return undefined; // /dev/zero would never end
    size = st.size;
  } catch {
    return undefined;
  }
  if (size > MAX_OUTPUT) throw new LineError(`incbin file '${file}' is larger than the assembler's limit of ${MAX_OUTPUT >> 20} MB`, 0);
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch {
    return undefined;
  }
}

export function assemble(source: string, opts: AssembleOptions = {}): AssembleOutput {
  const fileName = opts.fileName ?? '<source>';
  const pre = preprocess(source, {
    fileName,
    includeDirs: opts.includeDirs ?? [],
    defines: opts.defines ?? {},
    readFile: opts.readFile ?? fsRead,
  });
  // incbin looks where %include does: as given, in the -I directories, next to the source.
  const dirs = opts.includeDirs ?? [];
  const readBinary = opts.readBinary ?? ((f: string) => {
    if (path.isAbsolute(f)) return fsReadBinary(f);
    for (const c of [f, ...dirs.map((d) => path.join(d, f)), path.join(path.dirname(fileName), f)]) {
      const b = fsReadBinary(c);
      if (b) return b;
    }
    return undefined;
  });
  const res = assembleLines(pre.lines, { readBinary });
  const errors = [...pre.errors, ...res.errors];
  const fileOrder = new Map<string, number>();
  for (const e of errors) if (!fileOrder.has(e.file)) fileOrder.set(e.file, fileOrder.size);
  errors.sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col);
  return { bytes: errors.length ? new Uint8Array(0) : res.bytes, symbols: res.symbols, dataLabels: res.dataLabels, errors, warnings: pre.warnings };
}

/** Assembles a file; a missing file is one error, like any other. */
export function assembleFile(file: string, opts: Omit<AssembleOptions, 'fileName'> = {}): AssembleOutput {
  const read = opts.readFile ?? fsRead;
  const text = read(file);
  if (text === undefined) {
    return {
      bytes: new Uint8Array(0), symbols: [], dataLabels: new Set(), warnings: [],
      errors: [{ file, line: 0, col: 0, message: `cannot read '${file}'`, text: '' }],
    };
  }
  return assemble(text, { ...opts, fileName: file });
}

/** The symbol map: one `XXXXXXXX name` line per label, sorted by address. */
export function formatSymbolMap(symbols: SymbolEntry[]): string {
  return symbols.map((s) => `${(s.address >>> 0).toString(16).toUpperCase().padStart(8, '0')} ${s.name}\n`).join('');
}

export function formatErrors(errors: AsmError[]): string {
  return errors.map((e) => `${formatError(e)}\n`).join('');
}
