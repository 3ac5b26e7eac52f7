// Shared command-line plumbing: option parsing with clear errors, and the rule that a
// user sees one line naming the problem (exit 2), never a stack trace.
import { closeSync, fstatSync, openSync, rmSync, writeSync } from 'node:fs';
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
  // `--timeout -1`: node takes -1 for an option and calls the value missing; join them so
  // the option's own check names the problem ("must be positive")
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : '';
    if (options[name]?.type === 'string' && /^-[\d.]/.test(args[i + 1] ?? '')) joined.push(`${a}=${args[++i]}`);
    else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: true, strict: true });
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

/** Exit status when an output cannot be written (a full disk, an I/O error): EX_IOERR. */
export const EXIT_OUTPUT_FAILED = 74;
/** Exit status when stdout's reader went away (`| head`): what a shell shows for cat's SIGPIPE. */
export const EXIT_STDOUT_CLOSED = 141;

/** The one-line error for a failed write to `what` ("standard output", "'FILE'"). */
export function writeError(what: string, e: unknown): UsageError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return new UsageError(`no space left writing ${what}`, EXIT_OUTPUT_FAILED);
  return new UsageError(`cannot write ${what}: ${code ?? (e as Error)?.message ?? String(e)}`, EXIT_OUTPUT_FAILED);
}

/**
 * Installs the rule for stdout and stderr errors, which node reports as 'error' events (an
 * unhandled one is a stack trace): a reader that closed the pipe ends the process quietly, as
 * `cat | head -1` does; a full disk or other I/O error is one line and EXIT_OUTPUT_FAILED.
 */
export function guardStandardStreams(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT_STDOUT_CLOSED);
    try {
      process.stderr.write(`forklab: ${writeError('standard output', e).message}\n`);
    } finally {
      process.exit(EXIT_OUTPUT_FAILED);
    }
  });
  // nowhere left to report a stderr failure: end with the status that says so
  process.stderr.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? EXIT_STDOUT_CLOSED : EXIT_OUTPUT_FAILED));
}

/**
 * Writes to stdout, waiting while the pipe is full, so that a large output (a disassembly
 * listing) streams in constant memory instead of queueing in node's buffers.
 */
export function writeStdout(chunk: string | Uint8Array): Promise<void> | void {
  if (process.stdout.write(chunk)) return;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

/**
 * Text output buffered into large writes, to a file (`path`) or to stdout (null). A failed
 * write to the file is one line (writeError); stdout's failures are guardStandardStreams'.
 */
export class OutputSink {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number;
  constructor(readonly path: string | null, private readonly encoding: BufferEncoding = 'utf8') {
    if (path === null) {
      this.fd = -1;
      return;
    }
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new UsageError(`cannot write '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    const b = Buffer.from(this.parts.join(''), this.encoding);
    this.parts = [];
    this.size = 0;
    if (this.fd < 0) {
      process.stdout.write(b);
      return;
    }
    try {
      writeSync(this.fd, b);
    } catch (e) {
      throw writeError(`'${this.path}'`, e);
    }
  }
  /** Closes the file (not stdout); with `remove`, deletes it: no half-made output stays behind. */
  close(remove = false): void {
    if (this.fd < 0) return;
    const regular = fstatSync(this.fd).isFile(); // never remove /dev/null
    closeSync(this.fd);
    if (remove && regular) rmSync(this.path!, { force: true });
  }
}
