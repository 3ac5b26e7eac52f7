// Oracle tools (NASM, ndisasm, QEMU, gdb) and oracle data (ROMs from Debian packages): a
// suite that needs one asks here. Locally a missing one skips the suite with a printed
// reason; with CI=true it is a failure.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const IN_CI = process.env.CI === 'true';

const found = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    found.set(name, ok);
  }
  return ok;
}

/**
 * True when the oracle can run. Otherwise: in CI, throws (the suite fails); locally, prints
 * why the suite is skipped and returns false. Use as `describe.runIf(oracle('nasm'))(...)`.
 */
export function oracle(...tools: string[]): boolean {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) return true;
  const msg = `oracle tool(s) missing: ${missing.join(', ')}`;
  if (IN_CI) throw new Error(`${msg} (required when CI=true; .ci/run installs them)`);
  console.warn(`skipping: ${msg}`);
  return false;
}

/** As oracle(), for data files an oracle package installs (`pkg` names it in the message). */
export function oracleFiles(pkg: string, ...paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const msg = `oracle data missing: ${missing.join(', ')} (Debian package ${pkg})`;
  if (IN_CI) throw new Error(`${msg} (required when CI=true; .ci/run installs it)`);
  console.warn(`skipping: ${msg}`);
  return false;
}
