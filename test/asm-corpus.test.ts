// The assembler against NASM on the corpus generated from the opcode table (test/corpus.ts):
// every non-prefix, non-alias form in bits 16 and 32, byte for byte.
import { describe, expect, it } from 'vitest';
import { corpus, corpusTargetForms, nasmLineBytes } from './corpus';
import { assemble } from '../tools/asm/index';
import { oracle } from './oracle';

describe.runIf(oracle('nasm'))('assembler vs nasm on the corpus', () => {
  for (const bits of [16, 32] as const) {
    it(`bits ${bits}: byte-identical for every line`, () => {
      const c = corpus(bits);
      const ours = assemble(`${c.lines.join('\n')}\n`, { fileName: `corpus${bits}.asm` });
      expect(ours.errors.map((e) => `${e.line}: ${e.message}: ${e.text}`)).toEqual([]);
      const nasm = nasmLineBytes(c.lines);
      // Line by line, so a difference names its source line.
      const bad: string[] = [];
      let off = 0;
      const covered = new Set<number>();
      for (let i = 0; i < c.lines.length; i++) {
        const want = Buffer.from(nasm.perLine[i]);
        const got = Buffer.from(ours.bytes.subarray(off, off + want.length));
        if (!want.equals(got)) bad.push(`${c.lines[i]}: nasm ${want.toString('hex')} ours ${got.toString('hex')}`);
        else if (c.lineForms[i] >= 0) covered.add(c.lineForms[i]);
        off += want.length;
      }
      expect(bad.slice(0, 20)).toEqual([]);
      expect(Buffer.from(ours.bytes).equals(Buffer.from(nasm.bytes))).toBe(true);
      const targets = corpusTargetForms().length;
      console.log(`asm corpus bits ${bits}: ${c.lines.length} lines, ${covered.size}/${targets} forms byte-identical to nasm`);
      expect(covered.size).toBe(c.formIds.size);
    });
  }
});

describe('assembler on the corpus (no oracle)', () => {
  // (its speed is not asserted here: a loaded host makes any wall-clock bound flaky)
  it('assembles both corpora without errors', () => {
    for (const bits of [16, 32] as const) {
      const c = corpus(bits);
      const ours = assemble(`${c.lines.join('\n')}\n`);
      expect(ours.errors).toEqual([]);
      expect(ours.bytes.length).toBeGreaterThan(15000);
    }
  });
});
