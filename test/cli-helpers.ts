// Running the forklab command as a user does (node bin/forklab.js, bundled by global-setup),
// with what the hardening tests assert about every run: its status, its stderr, and
// optionally its peak memory, measured from the child process by GNU time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MB (with `measure`). */
  peakMB: number;
}

const timeDir = mkdtempSync(join(tmpdir(), 'forklab-cli-time-'));
let timeFiles = 0;

/** Every line of `lines` is a line of `stdout`, in that order (others may come between): a
 *  README transcript against what the command printed. */
export function expectLinesInOrder(stdout: string, lines: string[]): void {
  const actual = stdout.split('\n');
  let at = 0;
  for (const want of lines) {
    const found = actual.indexOf(want, at);
    expect(found, `README line not printed (after transcript line ${at}): ${want}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

/**
 * Runs `forklab ARGS`. The kill timeout is a hang detector, not a speed assertion. With
 * `measure`, runs under /usr/bin/time and reads the child's peak RSS (its %M figure).
 */
export function forklab(args: string[], opts: { input?: string; timeoutMs?: number; measure?: boolean } = {}): CliRun {
  const timeFile = join(timeDir, `time${timeFiles++}`);
  const cmd = opts.measure ? ['/usr/bin/time', '-f', '%M', '-o', timeFile, 'node', 'bin/forklab.js', ...args] : ['node', 'bin/forklab.js', ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), {
    encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`forklab ${args.join(' ')}: ${r.error.message}`); // a hang ends here
  let peakMB = NaN;
  if (opts.measure) {
    // GNU time writes "Command exited with non-zero status N" before the figure
    const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
    peakMB = Number(lines[lines.length - 1]) / 1024;
  }
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, peakMB };
}

/** The rule for a user's mistake: exactly one line on stderr, no stack, no internal error. */
export function expectOneLine(r: CliRun, message: RegExp, status = 2): void {
  expect(r.stderr).not.toMatch(/^\s+at |internal error|Unhandled|node:internal/m);
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.slice(0, -1).split('\n')).toHaveLength(1);
  expect(r.stderr.slice(0, -1)).toMatch(message);
  expect(r.status).toBe(status);
}
