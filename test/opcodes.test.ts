import { describe, expect, it } from 'vitest';
import { FORMS, FORMS_BY_MNEMONIC, MNEMONIC_ALIASES, parseFormLine } from '../emulator/cpu/opcodes';
import { ArraySource, decode, Insn } from '../emulator/cpu/decoder';

describe('opcode table', () => {
  it('parses every line and covers the i386 instruction groups', () => {
    expect(FORMS.length).toBeGreaterThan(400);
    for (const m of ['add', 'bts', 'shld', 'lar', 'lsl', 'arpl', 'lgdt', 'ltr', 'clts', 'enter', 'bound',
      'xlatb', 'daa', 'aam', 'movzx', 'setnz', 'jecxz', 'iretd', 'fninit', 'fnstsw', 'fnsave', 'frstor']) {
      expect(FORMS_BY_MNEMONIC.has(m), m).toBe(true);
    }
  });

  it('maps every alias to a table mnemonic', () => {
    for (const [alias, target] of Object.entries(MNEMONIC_ALIASES)) {
      expect(FORMS_BY_MNEMONIC.has(target) || ['rep', 'repne'].includes(target), `${alias} -> ${target}`).toBe(true);
    }
  });

  it('rejects a malformed line, naming it', () => {
    expect(() => parseFormLine('add rm8,bogus | 00 /r | |', 0)).toThrow(/unknown operand kind 'bogus'/);
    expect(() => parseFormLine('add rm8,r8 | 00 /r | w=q |', 0)).toThrow(/unknown flag letter 'q'/);
    expect(() => parseFormLine('add rm8,r8 | 00 /r | w=c', 0)).toThrow(/4 columns/);
  });

  it('records flags read, written and left undefined', () => {
    const adc = FORMS_BY_MNEMONIC.get('adc')![0];
    expect(adc.reads).toBe(1); // CF
    const and = FORMS_BY_MNEMONIC.get('and')![0];
    expect(and.undefinedFlags).toBe(0x10); // AF
  });
});

describe('decoder', () => {
  const insn = new Insn();
  const dec = (hex: string, bits: 16 | 32 = 16) => decode(new ArraySource(Uint8Array.from(Buffer.from(hex, 'hex'))), bits, insn);

  it('decodes prefixes, ModRM, SIB and immediates', () => {
    dec('6683c005');
    expect([insn.form?.mnemonic, insn.op32, insn.imm, insn.length]).toEqual(['add', true, 5, 4]);
    dec('8b4c8d10', 32); // mov ecx,[ebp+ecx*4+0x10]
    expect([insn.base, insn.index, insn.scale, insn.disp, insn.seg]).toEqual([5, 1, 2, 0x10, 2]);
    dec('2e8b07'); // mov ax,[cs:bx]
    expect([insn.seg, insn.base, insn.length]).toEqual([1, 3, 3]);
  });

  it('prefers the specific form: nop over xchg, fninit over the generic escape', () => {
    expect(dec('90').form?.mnemonic).toBe('nop');
    expect(dec('93').form?.mnemonic).toBe('xchg');
    expect(dec('dbe3').form?.mnemonic).toBe('fninit');
    expect(dec('d9c0').form?.mnemonic).toBe('esc');
  });

  it('splits forms by operand size, address size and register/memory', () => {
    expect(dec('98').form?.mnemonic).toBe('cbw');
    expect(dec('6698').form?.mnemonic).toBe('cwde');
    expect(dec('e3fe', 32).form?.mnemonic).toBe('jecxz');
    expect(dec('8cd8').form?.operands).toEqual(['rrv', 'sreg']);
    expect(dec('8c1f').form?.operands).toEqual(['m16', 'sreg']);
    expect(dec('8dc0').form).toBeNull(); // lea with a register operand is #UD
  });

  it('reports an invalid opcode as a null form', () => {
    expect(dec('0fff').form).toBeNull();
    expect(dec('0f0b').form).toBeNull(); // ud2 is not an i386 instruction
  });
});
