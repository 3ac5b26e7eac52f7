// Helpers for the snapshot, replay and state-file tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../tools/asm';
import type { Machine } from '../emulator/machine';
import { TraceRecorder } from '../emulator/debug/trace-recorder';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** The first path where two states differ, or null (typed arrays compared byte for byte). */
export function stateDiff(a: unknown, b: unknown, path = 'state'): string | null {
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return path;
    const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength), y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    if (x.equals(y)) return null;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `${path} byte ${i}: ${x[i]} vs ${y[i]}`;
    return `${path} (length)`;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = stateDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, b) ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** Trace lines of the next `n` instructions of `m` (its recorder detached afterwards). */
export function traceStretch(m: Machine, n: number): string {
  const out: string[] = [];
  const rec = new TraceRecorder(m.cpu, m.hookHub.slot(), { write: (s) => out.push(s) }).start();
  m.run(n);
  rec.finish();
  return out.join('');
}

/** A floppy with the echo guest (fixtures/snapshot/echo.asm) as its boot sector. */
export function echoImage(): Uint8Array {
  const src = join(FIXTURES, 'snapshot/echo.asm');
  const asm = assemble(readFileSync(src, 'utf8'), { fileName: src, includeDirs: [join(FIXTURES, 'machine')] });
  if (asm.errors.length) throw new Error(`echo.asm: ${JSON.stringify(asm.errors[0])}`);
  const fl = new Uint8Array(1474560);
  fl.set(asm.bytes);
  return fl;
}
