// forklab trace-diff: the first instruction where two traces part.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  formatJsonHeader, formatJsonLine, formatTextHeader, formatTextLine, formatTextState, type TraceRecord,
} from '../emulator/debug/trace-format';
import { UsageError } from '../tools/cli-util';
import { diffTraces, formatReport, traceDiffCommand, type DiffOptions } from '../tools/trace-diff';

const dir = mkdtempSync(join(tmpdir(), 'forklab-tracediff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function write(records: TraceRecord[], form: 'text' | 'jsonl' = 'text', fields?: string): string {
  const path = join(dir, `t${fileNo++}.${form === 'text' ? 'trace' : 'jsonl'}`);
  const lines: string[] = [];
  if (fields) {
    const h = { version: 1, source: 'test', fields: fields.split(',') as never };
    lines.push(form === 'text' ? formatTextHeader(h) : formatJsonHeader(h));
  }
  for (const r of records) lines.push(form === 'text' ? formatTextLine(r) : formatJsonLine(r));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** A little program: eax counts up, each step stores it. */
function program(n: number, tweak?: (r: TraceRecord, i: number) => void): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r: TraceRecord = {
      icount: i,
      cs: 8,
      eip: 0x1000 + i * 3,
      linear: 0x1000 + i * 3,
      bytes: '40a3',
      disasm: 'inc eax',
      regs: { eax: i + 1, eflags: i % 2 ? 0x202 : 0x206 },
      mem: [{ addr: 0x2000, size: 4, value: i + 1 }],
    };
    tweak?.(r, i);
    out.push(r);
  }
  return out;
}

const defaults: DiffOptions = {
  ignoreRegs: new Set(), ignoreFields: new Set(), eflagsMask: 0xffffffff, skipA: 0, skipB: 0,
  startLinear: null, ranges: [], limit: 0, context: 5,
};

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  try {
    return { code: await traceDiffCommand(args), out };
  } finally {
    spy.mockRestore();
  }
}

describe('trace-diff', () => {
  it('exits 0 on identical traces, text against JSON lines, with a summary', async () => {
    const a = write(program(50));
    const b = write(program(50), 'jsonl');
    const { code, out } = await run([a, b]);
    expect(code).toBe(0);
    expect(out).toBe('traces agree: 50 instructions compared\n');
  });

  it('reports the first differing register with five lines of context from each', async () => {
    const a = write(program(50));
    const b = write(program(50, (r, i) => {
      if (i === 20) r.regs.eax = 99;
    }));
    const { code, out } = await run([a, b]);
    expect(code).toBe(1);
    const lines = out.split('\n');
    expect(lines[0]).toBe('traces part at the instruction after 20 agreeing (A line 21, B line 21, icount 20)');
    expect(lines[1]).toBe(`A (${a}):`);
    expect(lines.slice(2, 7).map((l) => l.split(' ').filter(Boolean)[0])).toEqual(['15', '16', '17', '18', '19']);
    expect(lines[7]).toMatch(/^  > 20 0008:0000103c 0000103c 40a3  inc eax  ; eax=00000015 /);
    expect(lines[8]).toBe(`B (${b}):`);
    expect(lines[14]).toMatch(/^  > 20 .* eax=00000063 /);
    expect(lines).toContain('differences:');
    expect(out).toMatch(/\n  eax  A 00000015  B 00000063\n/);
    expect(out).toContain('20 instructions agree before the divergence');
  });

  it('compares a changed register against the other trace\'s running value', () => {
    const a = write(program(10));
    // B forgets that instruction 4 changed eflags: its eflags stays at the old value.
    const b = write(program(10, (r, i) => {
      if (i === 4) delete r.regs.eflags;
    }));
    const r = diffTraces(a, b, defaults);
    expect(r.diverged).toBe(true);
    expect(r.agree).toBe(4);
    expect(r.differences).toEqual([{ what: 'eflags', a: '00000206', b: '00000202 (unchanged)' }]);
  });

  it('reports memory writes, cs:eip, bytes and icount differences', () => {
    const base = write(program(10));
    const mem = write(program(10, (r, i) => {
      if (i === 3) r.mem = [{ addr: 0x2000, size: 2, value: 4 }];
    }));
    expect(diffTraces(base, mem, defaults).differences).toEqual([
      { what: 'memory writes', a: '[00002000]=00000004', b: '[00002000]=0004' },
    ]);
    const pc = write(program(10, (r, i) => {
      if (i === 6) r.eip = r.linear = 0x5000;
    }));
    const d = diffTraces(base, pc, defaults);
    expect(d.agree).toBe(6);
    expect(d.differences.map((x) => x.what)).toEqual(['cs:eip', 'linear']);
    expect(d.differences[0]).toEqual({ what: 'cs:eip', a: '0008:00001012', b: '0008:00005000' });
    const bytes = write(program(10, (r, i) => {
      if (i === 2) r.bytes = '90';
    }));
    expect(diffTraces(base, bytes, defaults).differences).toEqual([{ what: 'bytes', a: '40a3', b: '90' }]);
    const icount = write(program(10, (r, i) => {
      if (i >= 5) r.icount += 1;
    }));
    expect(diffTraces(base, icount, defaults).differences[0].what).toMatch(/^icount/);
  });

  it('says which trace ends first', async () => {
    const a = write(program(10));
    const b = write(program(7));
    const r = diffTraces(a, b, defaults);
    expect(r.diverged).toBe(true);
    expect(r.agree).toBe(7);
    expect(r.b).toBeNull();
    const rep = formatReport(r, 'A', 'B');
    expect(rep).toContain('  > (end of trace)');
    expect(rep).toContain('end of trace  A continues  B ended');
    expect((await run([a, b])).code).toBe(1);
  });

  it('ignores registers, fields and flag bits on request', async () => {
    const a = write(program(10));
    const b = write(program(10, (r, i) => {
      if (i === 5) r.regs.eflags = 0x203; // CF differs
      if (i === 6) r.mem = [];
    }));
    expect((await run([a, b])).code).toBe(1);
    expect((await run([a, b, '--ignore', 'eflags', '--ignore-fields', 'mem'])).code).toBe(0);
    expect((await run([a, b, '--eflags-mask', '0xfffffffe', '--ignore-fields=mem'])).code).toBe(0);
    const r = diffTraces(a, b, { ...defaults, eflagsMask: 0xfffffffe });
    expect(r.agree).toBe(6);
    expect(r.differences[0].what).toBe('memory writes');
  });

  it('does not compare fields a trace does not record (header fields=)', () => {
    const a = write(program(10));
    const b = write(program(10, (r) => {
      r.mem = [];
      r.bytes = '';
    }), 'text', 'regs');
    const r = diffTraces(a, b, defaults);
    expect(r.diverged).toBe(false);
    expect(r.agree).toBe(10);
  });

  it('aligns traces with --skip and --start, comparing icounts relative to the start', async () => {
    const long = program(30);
    const a = write(long);
    const b = write(long.slice(12).map((r) => ({ ...r, icount: r.icount + 1000 })));
    expect((await run([a, b])).code).toBe(1);
    expect((await run([a, b, '--skip-a', '12'])).out).toBe('traces agree: 18 instructions compared\n');
    expect((await run([a, b, '--start', '0x1024'])).code).toBe(0);
    expect((await run([a, a, '--limit', '3'])).out).toBe('traces agree: 3 instructions compared\n');
  });

  it('compares only instructions in --range; an INT into a BIOS and a BIOS served directly agree', async () => {
    // A (like QEMU with SeaBIOS): INT pushes and enters F000, the BIOS runs, IRET returns.
    // B (like our TypeScript BIOS): the INT instruction itself leaves the BIOS's results.
    const p = program(10);
    const intA: TraceRecord = { ...p[4], regs: { esp: 0xfffa, cs: 0xf000, eflags: 0x2 } };
    const bios = (regs: Record<string, number>, k: number): TraceRecord => ({
      icount: 0, cs: 0xf000, eip: k, linear: 0xf0000 + k, bytes: '90', disasm: 'nop', regs, mem: [],
    });
    const biosA = [bios({ eax: 0x55 }, 0), bios({ ecx: 9 }, 1), bios({ ecx: 7, esp: 0x10000, cs: 8, eflags: 0x206 }, 2)];
    const intB: TraceRecord = { ...p[4], regs: { eax: 0x55, ecx: 7, eflags: 0x206 } };
    const renumber = (rs: TraceRecord[]) => rs.map((r, i) => ({ ...r, icount: i }));
    const withState = (path: string, ecx: number) => {
      const text = formatTextState({ eax: 0, ecx, esp: 0x10000, cs: 8, eflags: 0x202 }) + '\n' + readFileSync(path, 'utf8');
      writeFileSync(path, text);
      return path;
    };
    const a = withState(write(renumber([...p.slice(0, 4), intA, ...biosA, ...p.slice(5)])), 0);
    const b = withState(write(renumber([...p.slice(0, 4), intB, ...p.slice(5)])), 0);
    expect((await run([a, b])).code).toBe(1);
    const { code, out } = await run([a, b, '--range', '0x1000..0x1fff']);
    expect(code, out).toBe(0);
    expect(out).toBe('traces agree: 10 instructions compared\n');
    // The BIOSes leave different ecx: found on arrival back in range.
    const c = withState(write(renumber([...p.slice(0, 4), { ...intB, regs: { ...intB.regs, ecx: 8 } }, ...p.slice(5)])), 0);
    const r = diffTraces(a, c, { ...defaults, ranges: [[0x1000, 0x1fff]] });
    expect(r.agree).toBe(5);
    expect(r.differences).toEqual([{ what: 'ecx (after skipped instructions)', a: '00000007', b: '00000008' }]);
    // Without state lines an unchanged register's value is unknown: not judged after a stretch.
    const noState = write(renumber([...p.slice(0, 4), { ...intB, regs: { eax: 0x55, eflags: 0x206 } }, ...p.slice(5)]));
    expect(diffTraces(a, noState, { ...defaults, ranges: [[0x1000, 0x1fff]] }).diverged).toBe(false);
    await expect(run([a, b, '--range', '5..1'])).rejects.toThrow(/empty/);
    await expect(run([a, b, '--range', 'x'])).rejects.toThrow(/not LO\.\.HI/);
  });

  it('gives one-line errors', async () => {
    const a = write(program(3));
    await expect(run([a])).rejects.toThrow(UsageError);
    await expect(run([a, join(dir, 'missing')])).rejects.toThrow(/cannot read '.*missing': no such file/);
    await expect(run([a, a, '--ignore-fields', 'nope'])).rejects.toThrow(/unknown field 'nope'/);
    const bad = join(dir, 'bad.trace');
    writeFileSync(bad, formatTextLine(program(1)[0]) + '\n1 0008:zz 0 -  -  ;\n');
    await expect(run([a, bad])).rejects.toThrow(/bad\.trace:2: bad eip 'zz'/);
    // registers the traces do not name are a mistake, not silently nothing to ignore
    await expect(run([a, a, '--ignore', 'eax,nosuchreg'])).rejects.toThrow(/--ignore: no register 'nosuchreg' in traces \(they name eax ecx/);
  });

  it('calls traces without an instruction an input error, not agreement', async () => {
    const empty = join(dir, 'empty.trace');
    writeFileSync(empty, '');
    const headerOnly = write([], 'text', 'regs');
    const a = write(program(3));
    await expect(run([empty, empty])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/empty\.trace' holds no instruction$/) });
    await expect(run([a, headerOnly])).rejects.toThrow(/t\d+\.trace' holds no instruction$/);
    await expect(run([a, a, '--start', '0x9999'])).rejects.toThrow(/holds no instruction to compare \(after --skip-a\/--skip-b\/--start\/--range\)$/);
  });

  it('streams a large trace (200,000 lines) to a difference near its end', () => {
    const n = 200_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      lines.push(formatTextLine({
        icount: i, cs: 8, eip: 0x1000 + (i & 0xfff), linear: 0x1000 + (i & 0xfff), bytes: '89c3', disasm: 'mov ebx, eax',
        regs: { ebx: i, eflags: 0x202 + (i & 1) * 4 }, mem: i % 3 ? [] : [{ addr: 0x8000 + i, size: 4, value: i }],
      }));
    }
    const a = join(dir, 'big-a.trace');
    const b = join(dir, 'big-b.trace');
    writeFileSync(a, lines.join('\n') + '\n');
    lines[n - 2] = lines[n - 2].replace(/ebx=[0-9a-f]+/, 'ebx=deadbeef');
    writeFileSync(b, lines.join('\n') + '\n');
    const r = diffTraces(a, b, defaults);
    expect(r.agree).toBe(n - 2);
    expect(r.differences[0]).toEqual({ what: 'ebx', a: (n - 2).toString(16).padStart(8, '0'), b: 'deadbeef' });
  });
});

describe('state lines, --merge-repeats and --resync', () => {
  const rec = (icount: number, linear: number, regs: Record<string, number>, mem: TraceRecord['mem'] = []): TraceRecord =>
    ({ icount, cs: 8, eip: linear, linear, bytes: '', disasm: '', regs, mem });
  const file = (lines: string[]) => {
    const path = join(dir, `s${fileNo++}.trace`);
    writeFileSync(path, [formatTextHeader({ version: 1, source: 'test', fields: ['regs', 'mem'] }), ...lines].join('\n') + '\n');
    return path;
  };

  it('a state line takes effect after the record before it (the diff reads one ahead)', () => {
    // A: esp changed by the instruction at 0x10, then a state line (an interrupt delivery
    // moved esp again) before 0x12, whose push is compared against B's running esp.
    const a = file([
      formatTextLine(rec(0, 0x10, { esp: 0x100 })),
      formatTextState({ esp: 0x80 }),
      formatTextLine(rec(1, 0x12, { eax: 1 })),
      formatTextLine(rec(2, 0x14, { ebx: 2 })),
    ]);
    const b = file([
      formatTextLine(rec(0, 0x10, { esp: 0x80 })), // B folds the delivery into the record before
      formatTextLine(rec(1, 0x12, { eax: 1 })),
      formatTextLine(rec(2, 0x14, { ebx: 2 })),
    ]);
    // The esp values differ at 0x10 itself (A: 100, B: 80) ...
    expect(diffTraces(a, b, defaults).differences).toEqual([{ what: 'esp', a: '00000100', b: '00000080' }]);
    // ... but with esp left out there, the state line brings A to B's value on arrival.
    const r = diffTraces(a, b, { ...defaults, ranges: [[0x12, 0x14]] });
    expect(r.differences).toEqual([]);
    expect(r.agree).toBe(2);
    // A state line that disagrees on arrival is a divergence.
    const c = file([formatTextLine(rec(0, 0x10, { esp: 0x100 })), formatTextState({ esp: 0x90 }), formatTextLine(rec(1, 0x12, { eax: 1 }))]);
    const d = diffTraces(c, b, { ...defaults, ranges: [[0x12, 0x14]] });
    expect(d.diverged).toBe(true);
    expect(d.differences).toContainEqual({ what: 'esp (after skipped instructions)', a: '00000090', b: '00000080' });
  });

  it('--merge-repeats folds consecutive records at one cs:eip (a REP in pieces vs per iteration)', () => {
    const pieces = file([
      formatTextLine(rec(0, 0x20, { ecx: 0x400, edi: 0x1000 }, [{ addr: 0, size: 4, value: 0 }])),
      formatTextLine(rec(1, 0x20, { ecx: 0, edi: 0x2000 }, [{ addr: 0x1000, size: 4, value: 0 }])),
      formatTextLine(rec(2, 0x22, { eax: 5 })),
    ]);
    const whole = file([
      formatTextLine(rec(0, 0x20, { ecx: 0, edi: 0x2000 }, [{ addr: 0, size: 4, value: 0 }, { addr: 0x1000, size: 4, value: 0 }])),
      formatTextLine(rec(1, 0x22, { eax: 5 })),
    ]);
    expect(diffTraces(pieces, whole, defaults).diverged).toBe(true);
    // (icounts differ by nature: the pieces were counted as instructions)
    const r = diffTraces(pieces, whole, { ...defaults, mergeRepeats: true, ignoreFields: new Set(['icount']) });
    expect(r.differences).toEqual([]);
    expect(r.agree).toBe(2);
  });

  it('--resync takes over registers a skipped stretch left different, and keeps them tainted until both agree', () => {
    // 0x30: int (into the BIOS, outside the range); 0xf000: the BIOS; 0x32: back, with AX
    // answered differently; 0x34 writes AH only (still different), 0x36 sets eax in both.
    const mk = (answer: number, ah: number) => file([
      formatTextLine(rec(0, 0x30, { esp: 0xfa })),
      formatTextLine(rec(1, 0xf000, { eax: answer, esp: 0x100 })),
      formatTextLine(rec(2, 0x32, { ecx: 1 })),
      formatTextLine(rec(3, 0x34, { eax: ah })),
      formatTextLine(rec(4, 0x36, { eax: 7 })),
      formatTextLine(rec(5, 0x38, { eax: 8 })),
    ]);
    const a = mk(0x3c00, 0x0f00);
    const b = mk(0x3b80, 0x0f80);
    const o = { ...defaults, ranges: [[0, 0xff]] as [number, number][] };
    const stop = diffTraces(a, b, o);
    expect(stop.diverged).toBe(true);
    expect(stop.differences).toEqual([{ what: 'eax (after skipped instructions)', a: '00003c00', b: '00003b80' }]);
    const r = diffTraces(a, b, { ...o, resync: true });
    expect(r.diverged).toBe(false);
    expect(r.agree).toBe(5);
    expect(r.resyncs).toHaveLength(1);
    expect(r.resyncs[0]).toMatchObject({ agree: 1, a: { linear: 0x32 } });
    // Once both agree (0x36), eax is compared again: a later difference is one.
    const c = file([
      formatTextLine(rec(0, 0x30, { esp: 0xfa })), formatTextLine(rec(1, 0xf000, { eax: 0x3c00, esp: 0x100 })),
      formatTextLine(rec(2, 0x32, { ecx: 1 })), formatTextLine(rec(3, 0x34, { eax: 0x0f00 })),
      formatTextLine(rec(4, 0x36, { eax: 7 })), formatTextLine(rec(5, 0x38, { eax: 9 })),
    ]);
    const t = diffTraces(c, b, { ...o, resync: true });
    expect(t.diverged).toBe(true);
    expect(t.a).toMatchObject({ linear: 0x38 });
    expect(t.differences).toEqual([{ what: 'eax', a: '00000009', b: '00000008' }]);
    expect(formatReport(t, 'c', 'b')).toMatch(/^resync after 1 agreeing, at 2 0008:00000032/m);
  });
});
