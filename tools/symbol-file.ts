// Reading a symbol map named on the command line (--map): kernel.map or an nm System.map,
// with a bad file as one line of usage error (exit 2).
import { readFileSync } from 'node:fs';
import { SymbolMap } from '../emulator/debug/symbols';
import { UsageError } from './cli-util';

export function readSymbolFile(path: string): SymbolMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--map '${path}': cannot read the file`);
  }
  try {
    return SymbolMap.parse(text, path);
  } catch (e) {
    throw new UsageError(`--map ${(e as Error).message}`);
  }
}
