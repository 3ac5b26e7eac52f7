// Golden files (stored traces) and their update switch, FORKLAB_UPDATE_GOLDEN=1. With the
// switch a suite rewrites its golden file and the test that compares with it is skipped
// (`it.skipIf(UPDATE_GOLDEN)`): a fresh file compared with itself would prove nothing. The
// stored text is read before any rewrite. A path ending .gz is stored gzipped (a large
// trace). Under CI=true the switch is refused.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IN_CI } from './oracle';

export const UPDATE_GOLDEN = process.env.FORKLAB_UPDATE_GOLDEN === '1';
if (UPDATE_GOLDEN && IN_CI) throw new Error('FORKLAB_UPDATE_GOLDEN=1 under CI=true: golden files are compared in CI, never rewritten');

export class Golden {
  /** The stored text as it was before this run (null when there is none). */
  readonly stored: string | null;
  constructor(readonly path: string) {
    const gz = path.endsWith('.gz');
    this.stored = !existsSync(path) ? null : gz ? gunzipSync(readFileSync(path)).toString('utf8') : readFileSync(path, 'utf8');
  }

  /** With the switch, writes `text` as the new golden file (and says so). */
  update(text: string): void {
    if (!UPDATE_GOLDEN) return;
    writeFileSync(this.path, this.path.endsWith('.gz') ? gzipSync(text, { level: 9 }) : text);
    console.warn(`golden file rewritten: ${this.path} (its comparing test is skipped in this run)`);
  }

  /** The stored text; a missing file is an error that says how to make it. */
  text(): string {
    if (this.stored === null) throw new Error(`golden file ${this.path} is missing: make it with FORKLAB_UPDATE_GOLDEN=1`);
    return this.stored;
  }
}
