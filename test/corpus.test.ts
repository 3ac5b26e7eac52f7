import { describe, expect, it } from 'vitest';
import { corpus, corpusTargetForms, nasmLineBytes } from './corpus';
import { ArraySource, decode, Insn } from '../emulator/cpu/decoder';
import { FORMS, type Form } from '../emulator/cpu/opcodes';
import { oracle } from './oracle';

/** The decoder form an assembler-only form encodes as (same opcode bytes, ext and operand kinds up to order). */
function sameEncoding(want: Form, got: Form): boolean {
  if (want.id === got.id) return true;
  if (!want.attrs.has('asm')) return false;
  if (want.ext !== got.ext) return false;
  const wo = want.opcode.join(','), go = got.opcode.join(',');
  if (wo === go) return true;
  // 9B-prefixed x87 spellings and `aam`/`aad` without an operand: the decoder sees the tail
  return wo.endsWith(go) || wo.startsWith(go);
}

describe('corpus', () => {
  for (const bits of [16, 32] as const) {
    it(`covers every non-prefix, non-alias table form (bits ${bits}) and is deterministic`, () => {
      const c = corpus(bits);
      const targets = corpusTargetForms();
      const missing = targets.filter((f) => !c.formIds.has(f.id)).map((f) => f.line);
      console.log(`corpus bits ${bits}: ${c.lines.length} lines, ${targets.length - missing.length}/${targets.length} forms`);
      expect(missing).toEqual([]);
      expect(c.lines[0]).toBe(`bits ${bits}`);
      expect(c.lineForms.length).toBe(c.lines.length);
      expect(corpus(bits).lines).toEqual(c.lines);
    });
  }

  describe.runIf(oracle('nasm'))('assembled by nasm', () => {
    for (const bits of [16, 32] as const) {
      it(`assembles without errors or warnings and each line decodes to its form (bits ${bits})`, () => {
        const c = corpus(bits);
        const { perLine } = nasmLineBytes(c.lines);
        const insn = new Insn();
        const bad: string[] = [];
        let checked = 0;
        for (let i = 0; i < c.lines.length; i++) {
          const id = c.lineForms[i];
          const b = perLine[i];
          if (id < 0) {
            if (b.length) bad.push(`${c.lines[i]}: directive produced bytes`);
            continue;
          }
          const want = FORMS[id];
          decode(new ArraySource(b), bits, insn);
          // `finit` is `wait` + `fninit`: decode the tail after the 9B
          if (want.opcode[0] === 0x9b && want.opcode.length > 1) decode(new ArraySource(b, 1), bits, insn);
          const got = insn.form;
          const full = want.opcode[0] === 0x9b && want.opcode.length > 1 ? insn.length + 1 : insn.length;
          if (!got || !sameEncoding(want, got) || full !== b.length) {
            bad.push(`${c.lines[i]} [${Buffer.from(b).toString('hex')}]: want '${want.line}', decoded '${got?.line}' len ${full}`);
          }
          checked++;
        }
        expect(bad.slice(0, Number(process.env.SHOWBAD ?? 20))).toEqual([]);
        expect(checked).toBeGreaterThan(3000);
      });
    }
  });
});
