// The package's library entry: plain Node (no TypeScript loader) imports the bundle through
// package.json's "exports", so `import { Machine } from 'forklab'` works in a checkout.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe("import from 'forklab'", () => {
  it('gives plain Node the machine, disks and debugger engine', () => {
    const code = `
      import { Machine, DiskImage, floppyGeometry, Debugger } from 'forklab';
      const m = new Machine();
      console.log(typeof m.step, typeof m.runUntil, typeof Debugger, JSON.stringify(floppyGeometry(1474560)), typeof DiskImage);
    `;
    const r = spawnSync('node', ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function function {"cylinders":80,"heads":2,"sectorsPerTrack":18} function');
  });

  it('is ASCII only, comments too (one other character makes V8 scan it as two-byte text)', () => {
    for (const f of ['index.js', 'forklab.cjs', 'bench.js', 'fuzz.js']) {
      const text = readFileSync(join(import.meta.dirname, '..', 'dist', f), 'utf8');
      expect(text.match(/[^\x00-\x7f]/g) ?? [], f).toEqual([]);
    }
  });
});
