import { UsageError } from './cli-util';
// Placeholder until the disassembler lands (issue 2).
export async function disasmCommand(_args: string[]): Promise<number> {
  throw new UsageError('disasm: not built yet');
}
