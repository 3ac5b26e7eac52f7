// Keyboard for scripts on the command line: `--keys TEXT` types TEXT when the run starts,
// `--keys-after REGEX TEXT` types TEXT once the screen matches REGEX; both repeat and run
// in the order given (each waits for the one before). TEXT takes \n (Enter), \t, \b, \e and
// \\. parseArgs takes an option with one value only, so these are taken out of the
// arguments first; every mistake is one UsageError line.
import { scancodesFor, unescapeKeys } from '../emulator/devices/kbc';
import type { Machine } from '../emulator/machine';
import { UsageError } from './cli-util';

export interface KeyStep {
  /** The screen pattern to wait for, or null to type at once. */
  after: RegExp | null;
  text: string;
}

export const KEYS_USAGE = `--keys TEXT types TEXT at the start; --keys-after REGEX TEXT types it once the screen
(trailing blanks removed) matches REGEX and the keys before it were read and echoed. Both
repeat, in order; TEXT takes \\n (Enter), \\t, \\b, \\e (Esc) and \\\\. Without a terminal, stdin
is typed too, as it arrives.`;

function keysText(option: string, raw: string): string {
  try {
    const text = unescapeKeys(raw);
    scancodesFor(text);
    return text;
  } catch (e) {
    throw new UsageError(`${option}: ${(e as Error).message}`);
  }
}

/** Takes --keys and --keys-after out of `args`; the rest goes to parseArgs. */
export function extractKeySteps(args: readonly string[]): { steps: KeyStep[]; rest: string[] } {
  const steps: KeyStep[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--keys' || a.startsWith('--keys=')) {
      const raw = a === '--keys' ? args[++i] : a.slice('--keys='.length);
      if (raw === undefined) throw new UsageError('--keys: give the text to type (\\n for Enter)');
      steps.push({ after: null, text: keysText('--keys', raw) });
    } else if (a === '--keys-after') {
      const pattern = args[i + 1], raw = args[i + 2];
      if (pattern === undefined || raw === undefined) throw new UsageError('--keys-after: give REGEX and TEXT');
      i += 2;
      let after: RegExp;
      try {
        after = new RegExp(pattern);
      } catch (e) {
        throw new UsageError(`--keys-after: '${pattern}' is not a regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`);
      }
      steps.push({ after, text: keysText('--keys-after', raw) });
    } else rest.push(a);
  }
  return { steps, rest };
}

/** Types the steps whose turn has come; call it between slices of the run. True when a
 *  step still waits for the screen (the caller checks again soon). */
export class KeyScript {
  private next = 0;
  constructor(private readonly machine: Machine, private readonly steps: readonly KeyStep[]) {}

  get waiting(): boolean {
    return this.next < this.steps.length;
  }

  advance(): void {
    while (this.next < this.steps.length) {
      const s = this.steps[this.next];
      if (s.after && !this.machine.screenMatch(s.after)) return;
      this.machine.type(s.text);
      this.next++;
    }
  }
}
