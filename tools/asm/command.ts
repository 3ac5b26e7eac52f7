import { UsageError } from '../cli-util';
// Placeholder until the assembler lands (issue 2).
export async function asmCommand(_args: string[]): Promise<number> {
  throw new UsageError('asm: not built yet');
}
