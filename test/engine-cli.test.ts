// --engine on the commands that run a machine: an unknown engine is one line and exit 2
// before anything runs; either engine runs the same guest to the same end.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, formatError } from '../tools/asm';
import { expectOneLine, forklab } from './cli-helpers';

// a boot sector that counts to 100,000 in a loop (compiled on the jit), then exits through
// port F4h with status (0x2a << 1) | 1
const BOOT = `bits 16
org 0x7c00
        xor ecx, ecx
again:  inc ecx
        cmp ecx, 100000
        jne again
        mov al, 0x2a
        out 0xf4, al
        hlt
        times 510 - ($ - $$) db 0
        dw 0xaa55`;

describe('forklab --engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-engine-'));
  const img = join(dir, 'loop.img');
  const out = assemble(BOOT);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  const floppy = new Uint8Array(1474560);
  floppy.set(out.bytes);
  writeFileSync(img, floppy);

  it('an unknown engine is one line and exit 2 (run, trace, debug)', () => {
    expectOneLine(forklab(['run', img, '--engine', 'fast']), /^forklab: --engine: 'fast' is not jit or interp$/);
    expectOneLine(forklab(['trace', img, '--engine', 'fast', '-o', join(dir, 't.trace')]), /^forklab: --engine: 'fast' is not jit or interp$/);
    expectOneLine(forklab(['debug', img, '--engine', '']), /^forklab: --engine: '' is not jit or interp$/);
  });

  it('both engines run the guest to the same exit', () => {
    for (const engine of ['jit', 'interp']) {
      const r = forklab(['run', img, '--engine', engine]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe((0x2a << 1) | 1);
    }
  });
});
