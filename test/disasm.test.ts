// The disassembler against ndisasm (the oracle) and against NASM (reassembly):
//  1. the corpus (test/corpus.ts) assembled by NASM, disassembled by ndisasm and by us:
//     every instruction line must read the same (spacing and number style normalised);
//  2. our `reassemblable` output of the corpus, assembled again by NASM, gives the same bytes;
//  3. seeded random byte streams decode without throwing, and wherever both listings are at
//     the same address, ndisasm agrees on the length of every instruction we decode as a valid
//     i386 instruction (deliberate exclusions are listed in EXCLUDED below).
import { describe, expect, it } from 'vitest';
import { corpus, nasmLineBytes } from './corpus';
import { ndisasm, normalise } from './ndisasm';
import { oracle } from './oracle';
import { disassemble, disassembleOne, formatInsn } from '../emulator/cpu/disasm';
import { ArraySource, decode, Insn } from '../emulator/cpu/decoder';
import { FORMS } from '../emulator/cpu/opcodes';

const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('disassembler (no oracle needed)', () => {
  const one = (h: string, bits: 16 | 32 = 16, address = 0) => disassembleOne(new ArraySource(hexBytes(h)), bits, address);

  it('formats in ndisasm style', () => {
    expect(one('83c005').text).toBe('add ax,byte +0x5');
    expect(one('6a05').text).toBe('push byte +0x5');
    expect(one('eb10', 16, 0).text).toBe('jmp short 0x12');
    expect(one('8b4508', 32).text).toBe('mov eax,[ebp+0x8]');
    expect(one('66cb').text).toBe('retfd');
    expect(one('f3a4').text).toBe('rep movsb');
    expect(one('2e8b07').text).toBe('mov ax,[cs:bx]');
    expect(one('8b4600').text).toBe('mov ax,[bp+0x0]');
    expect(one('8b4c8d10', 32).text).toBe('mov ecx,[ebp+ecx*4+0x10]');
    expect(one('0f22d8', 32).text).toBe('mov cr3,eax');
    expect(one('ea34120800').text).toBe('jmp 0x8:0x1234');
    expect(one('66ea7856341208 00').text).toBe('jmp dword 0x8:0x12345678');
    expect(one('ff1f').text).toBe('call far [bx]');
    expect(one('c8080001').text).toBe('enter 0x8,0x1');
    expect(one('d40a').text).toBe('aam');
    expect(one('e9fdff', 16, 0x100).text).toBe('jmp 0x100');
  });

  it('reports invalid opcodes as db and keeps the length of valid ones', () => {
    expect(one('0f0b')).toEqual({ text: 'db 0x0f', length: 1 });
    expect(one('8f08')).toEqual({ text: 'db 0x8f', length: 1 });
    expect(one('66050100', 32)).toEqual({ text: 'add ax,0x1', length: 4 });
  });

  it('names branch targets through the symbol callback', () => {
    const insn = new Insn();
    decode(new ArraySource(hexBytes('e8fb0f0000')), 32, insn);
    const sym = (a: number) => (a === 0x2000 ? 'copy_process' : undefined);
    expect(formatInsn(insn, 0x1000, { symbol: sym })).toBe('call copy_process');
    expect(formatInsn(insn, 0x1001, { symbol: sym })).toBe('call 0x2001');
  });

  it('lists a flat binary with org, folding WAIT like ndisasm', () => {
    const lines = disassemble(hexBytes('9bdbe3 90 0f 9b'), { bits: 16, org: 0x7c00 });
    expect(lines.map((l) => [l.address, l.bytes.length, l.text])).toEqual([
      [0x7c00, 3, 'finit'], [0x7c03, 1, 'nop'], [0x7c04, 1, 'db 0x0f'], [0x7c05, 1, 'wait'],
    ]);
    const r = disassemble(hexBytes('9bdbe3 82c001'), { bits: 16, reassemblable: true });
    expect(r.map((l) => l.text)).toEqual(['wait', 'fninit', 'db 0x82,0xc0,0x01']);
  });
});

/** Forms ndisasm does not print as we do, on purpose: it has no test-register names. */
const CORPUS_EXCLUDED = (formId: number) => FORMS[formId].operands.includes('tr');

describe.runIf(oracle('nasm', 'ndisasm'))('disassembler against ndisasm and nasm', () => {
  for (const bits of [16, 32] as const) {
    it(`matches ndisasm on every corpus line (bits ${bits})`, () => {
      const c = corpus(bits);
      const { bytes, perLine } = nasmLineBytes(c.lines);
      const nd = new Map(ndisasm(bytes, bits).map((l) => [l.address, l]));
      const ours = new Map(disassemble(bytes, { bits }).map((l) => [l.address, l]));
      let agree = 0, merged = 0, excluded = 0;
      const differ: string[] = [];
      let addr = 0;
      for (let i = 0; i < c.lines.length; i++) {
        const id = c.lineForms[i];
        if (id >= 0) {
          const a = nd.get(addr), o = ours.get(addr);
          if (CORPUS_EXCLUDED(id)) excluded++;
          else if (!a && !o) merged++; // folded into the line before (wait + x87)
          else if (a && o && normalise(a.text) === normalise(o.text) && a.length === o.bytes.length) agree++;
          else differ.push(`${c.lines[i]}: ndisasm '${a?.text}' ours '${o?.text}'`);
        }
        addr += perLine[i].length;
      }
      console.log(`bits ${bits}: ${agree} corpus lines agree with ndisasm, ${merged} folded (wait), ${excluded} excluded (tr), ${differ.length} differ`);
      expect(differ.slice(0, 20)).toEqual([]);
      expect(merged).toBeLessThanOrEqual(2);
      expect(agree).toBeGreaterThan(4500);
    });

    it(`reassembles the corpus to the same bytes (bits ${bits})`, () => {
      const c = corpus(bits);
      const { bytes } = nasmLineBytes(c.lines);
      const org = bits === 16 ? 0x100 : 0x100000;
      const lines = disassemble(bytes, { bits, org, reassemblable: true });
      const src = [`bits ${bits}`, `org ${org}`, ...lines.map((l) => l.text)];
      const again = nasmLineBytes(src);
      // first differing line, for the report
      let bad = '';
      for (let i = 0; i < lines.length && !bad; i++) {
        const want = Buffer.from(lines[i].bytes).toString('hex');
        const got = Buffer.from(again.perLine[i + 2]).toString('hex');
        if (want !== got) bad = `${lines[i].text}: ${want} reassembled as ${got}`;
      }
      expect(bad).toBe('');
      expect(Buffer.from(again.bytes).equals(Buffer.from(bytes))).toBe(true);
    });
  }
});
