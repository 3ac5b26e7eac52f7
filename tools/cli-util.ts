// Shared command-line plumbing: option parsing with clear errors, and the rule that a
// user sees one line naming the problem (exit 2), never a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A problem with what the user asked for: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode, turning its errors into one-line UsageErrors. */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // node's messages continue with advice after the first sentence; the first is the problem
    const msg = (e as Error).message.split('\n')[0].replace(/^(.*?'[^']*'[^.]*)\..*$/, '$1');
    throw new UsageError(`${command}: ${msg}`);
  }
}

/** Parses a number option (decimal or 0x hex), naming the option when it is not one. */
export function parseNumberOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v)) throw new UsageError(`--${name}: '${text}' is not a number`);
  return v;
}
