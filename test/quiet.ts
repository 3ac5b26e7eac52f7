// Runs a command function with stdout and stderr captured, for tests of CLI commands
// called in-process.
import { vi } from 'vitest';

export async function quiet<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { value: await f(), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
