// The trace line (DESIGN, "The trace line"): text and JSON-lines forms, both ways.
import { describe, expect, it } from 'vitest';
import {
  detectFormat, formatJsonHeader, formatJsonLine, formatJsonState, formatTextHeader, formatTextLine,
  formatTextState, isHeader, isState, parseJsonLine, parseTextHeader, parseTextLine, parseTextState,
  TraceFormatError, sameMemWrites, type TraceRecord,
} from '../emulator/debug/trace-format';

const rec: TraceRecord = {
  icount: 1042,
  cs: 0x08,
  eip: 0xa1b2,
  linear: 0xa1b2,
  bytes: '8945fc',
  disasm: 'mov  [ebp-0x4],   eax',
  regs: { eflags: 0x246, eax: 0xffffffff, ds: 0x10 },
  mem: [
    { addr: 0x10fff8, size: 4, value: 1 },
    { addr: 0xb8000, size: 1, value: 0x41 },
    { addr: 0xfffffffe, size: 2, value: 0xbeef },
  ],
};

describe('trace text line', () => {
  it('formats the DESIGN line: fields, widths, canonical register order', () => {
    expect(formatTextLine(rec)).toBe(
      '1042 0008:0000a1b2 0000a1b2 8945fc  mov [ebp-0x4], eax  ; eax=ffffffff eflags=00000246 ds=0010 [0010fff8]=00000001 [000b8000]=41 [fffffffe]=beef',
    );
  });

  it('parses what it formats', () => {
    const back = parseTextLine(formatTextLine(rec))!;
    expect(back).toEqual({ ...rec, disasm: 'mov [ebp-0x4], eax' });
  });

  it('writes - for unrecorded bytes and disassembly, and an empty change list', () => {
    const r: TraceRecord = { icount: 0, cs: 0xf000, eip: 0xfff0, linear: 0xfffffff0, bytes: '', disasm: '', regs: {}, mem: [] };
    const line = formatTextLine(r);
    expect(line).toBe('0 f000:0000fff0 fffffff0 -  -  ;');
    expect(parseTextLine(line)).toEqual(r);
  });

  it('skips comments and blank lines, reads the header', () => {
    expect(parseTextLine('# interrupt 0x20')).toBeNull();
    expect(parseTextLine('')).toBeNull();
    const h = { version: 1, source: 'qemu', fields: ['regs' as const] };
    expect(formatTextHeader(h)).toBe('# forklab-trace 1 source=qemu fields=regs');
    expect(parseTextHeader(formatTextHeader(h))).toEqual(h);
    expect(parseTextHeader('# something else')).toBeNull();
  });

  it('names the problem in a malformed line', () => {
    const bad: [string, RegExp][] = [
      ['x 0008:00001000 00001000 90  nop  ;', /icount/],
      ['1 000800001000 00001000 90  nop  ;', /cs:eip/],
      ['1 0008:0000100g 00001000 90  nop  ;', /eip/],
      ['1 0008:00001000 00001000 9  nop  ;', /bytes/],
      ['1 0008:00001000 00001000 90  nop  ; eax', /change/],
      ['1 0008:00001000 00001000 90  nop  ; [00001000]=123', /size/],
      ['1 0008:00001000 00001000 90  nop  ; EAX=1', /register name/],
      ['1', /too few/],
    ];
    for (const [line, msg] of bad) {
      expect(() => parseTextLine(line), line).toThrow(TraceFormatError);
      expect(() => parseTextLine(line), line).toThrow(msg);
    }
  });
});

describe("a string instruction's writes", () => {
  const page = Array.from({ length: 1024 }, (_, i) => ({ addr: 0xfff000 + 4 * i, size: 4 as const, value: i === 1023 ? 7 : 0 }));
  const stosd: TraceRecord = { icount: 5, cs: 8, eip: 0x93b7, linear: 0x93b7, bytes: 'f3ab', disasm: 'rep stosd', regs: { ecx: 0 }, mem: page };

  it('are one range with its count and first and last values in text; JSON lines list them all', () => {
    const line = formatTextLine(stosd);
    expect(line).toBe('5 0008:000093b7 000093b7 f3ab  rep stosd  ; ecx=00000000 [00fff000..00fffffc]x1024=00000000..00000007');
    const back = parseTextLine(line)!;
    expect(back.mem).toEqual([{ addr: 0xfff000, size: 4, value: 0, run: { count: 1024, lastAddr: 0xfffffc, lastValue: 7 } }]);
    expect(formatTextLine(back)).toBe(line);
    expect((JSON.parse(formatJsonLine(stosd)).mem as unknown[]).length).toBe(1024);
    // the summary and the full list are the same writes for trace-diff; another count is not
    expect(sameMemWrites(back.mem, page)).toBe(true);
    expect(sameMemWrites(back.mem, page.slice(0, 1000))).toBe(false);
  });

  it('descend with DF=1 and split where size or stride changes; other instructions are not summarised', () => {
    const down = [0x2008, 0x2006, 0x2004].map((addr) => ({ addr, size: 2 as const, value: addr & 0xff }));
    const movsw = { ...stosd, disasm: 'rep movsw', mem: [...down, { addr: 0x3000, size: 1 as const, value: 1 }] };
    expect(formatTextLine(movsw).split(';')[1]).toBe(' ecx=00000000 [00002008..00002004]x3=0008..0004 [00003000]=01');
    const pusha = { ...stosd, disasm: 'pushad', mem: down };
    expect(formatTextLine(pusha).split(';')[1]).toBe(' ecx=00000000 [00002008]=0008 [00002006]=0006 [00002004]=0004');
    expect(() => parseTextLine('1 0008:00000000 00000000 - -  ; [00001000..00001004]x1=00..00')).toThrow(/bad memory write/);
  });
});

describe('trace state lines', () => {
  it('carry register values in both forms', () => {
    const regs = { esp: 0xfffe, eax: 1, cs: 0xf000 };
    const text = formatTextState(regs);
    expect(text).toBe('# state eax=00000001 esp=0000fffe cs=f000');
    expect(parseTextState(text)).toEqual({ state: regs });
    expect(parseTextLine(text)).toBeNull(); // a comment to record readers
    expect(parseTextState('# interrupt')).toBeNull();
    expect(() => parseTextState('# state eax')).toThrow('bad state entry');
    const j = parseJsonLine(formatJsonState(regs))!;
    expect(isState(j) && j.state).toEqual(regs);
    expect(() => parseJsonLine('{"state":[1]}')).toThrow('bad state');
  });
});

describe('trace JSON lines', () => {
  it('round-trips a record with the same fields', () => {
    const line = formatJsonLine(rec);
    const o = JSON.parse(line);
    expect(Object.keys(o)).toEqual(['icount', 'cs', 'eip', 'linear', 'bytes', 'disasm', 'regs', 'mem']);
    expect(Object.keys(o.regs)).toEqual(['eax', 'eflags', 'ds']);
    expect(parseJsonLine(line)).toEqual(rec);
  });

  it('reads the header and rejects malformed lines', () => {
    const h = parseJsonLine(formatJsonHeader({ version: 1, source: 'qemu', fields: ['regs'] }))!;
    expect(isHeader(h)).toBe(true);
    expect(h).toEqual({ version: 1, source: 'qemu', fields: ['regs'] });
    expect(() => parseJsonLine('{"icount":1')).toThrow('not JSON');
    expect(() => parseJsonLine('[1]')).toThrow('not a JSON object');
    expect(() => parseJsonLine('{"icount":-1,"cs":0,"eip":0,"linear":0}')).toThrow('icount');
    expect(() => parseJsonLine('{"icount":1,"cs":0,"eip":0,"linear":0,"mem":[{"addr":1,"size":3,"value":0}]}')).toThrow('size');
  });

  it('detects the form from the first line', () => {
    expect(detectFormat(formatJsonLine(rec))).toBe('jsonl');
    expect(detectFormat(formatTextLine(rec))).toBe('text');
    expect(detectFormat('# forklab-trace 1')).toBe('text');
  });
});
