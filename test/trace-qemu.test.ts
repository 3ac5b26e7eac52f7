// forklab qemu-log: QEMU's `-d exec,cpu,nochain` log (one instruction per block) into our
// trace format. A checked-in log (test/fixtures/trace/qemu-bios.log, QEMU 7.2 running
// qemu-bios.asm as its BIOS) is converted and checked against hand-derived facts and the
// golden qemu-bios.trace; then, when nasm and QEMU are installed, a fresh log is taken and
// must convert to the same trace.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatTextHeader, formatTextLine, formatTextState, isRecord, isState, parseJsonLine, parseTextLine,
  parseTextState, type TraceRecord,
} from '../emulator/debug/trace-format';
import { Machine } from '../emulator/machine';
import { convertQemuLog, qemuLogCommand } from '../tools/qemu-log';
import { diffTraces, LineReader, traceDiffCommand, type DiffOptions } from '../tools/trace-diff';
import { oracle } from './oracle';
import { quiet } from './quiet';

const FIX = join(import.meta.dirname, 'fixtures', 'trace');
const dir = mkdtempSync(join(tmpdir(), 'forklab-qemulog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function convert(path: string, mergeRepeats = false): TraceRecord[] {
  const out: TraceRecord[] = [];
  const r = new LineReader(path);
  try {
    convertQemuLog(() => r.next(), (rec) => out.push(rec), { icountBase: 0, mergeRepeats });
  } finally {
    r.close();
  }
  return out;
}


const at = (t: TraceRecord[], linear: number) => t.find((r) => r.linear === linear)!;

describe('qemu-log on the checked-in log', () => {
  const t = convert(join(FIX, 'qemu-bios.log'));

  it('takes cs:eip and the linear address from each dump, icount from order', () => {
    expect(t.length).toBe(33);
    expect(t.map((r) => r.icount)).toEqual([...Array(33).keys()]);
    // The reset vector: CS base ffff0000 + fff0.
    expect(t[0]).toMatchObject({ cs: 0xf000, eip: 0xfff0, linear: 0xfffffff0 });
    expect(t[1]).toMatchObject({ cs: 0xf000, eip: 0, linear: 0xf0000 });
  });

  it('computes the registers each instruction changed (checked against qemu-bios.asm)', () => {
    expect(at(t, 0xf0000).regs).toEqual({}); // cli: IF was already clear
    expect(at(t, 0xf0001).regs).toEqual({ eflags: 0x46 }); // xor ax, ax: ZF PF
    expect(at(t, 0xf0005).regs).toEqual({ ebx: 0x1234 }); // mov bx, 0x1234
    expect(at(t, 0xf000c).regs).toEqual({ ebx: 0x1235, eflags: 0x06 }); // inc bx
    expect(at(t, 0xf000d).regs).toEqual({ eax: 0x1235 }); // add ax, bx
    // The dec/jnz loop runs 3 times.
    expect(t.filter((r) => r.linear === 0xf0012).map((r) => r.regs.ecx)).toEqual([2, 1, 0]);
    // rep stosb with cx = 2: QEMU logs one block per iteration.
    const rep = t.filter((r) => r.linear === 0xf001e);
    expect(rep.map((r) => r.regs)).toEqual([{ ecx: 1, edi: 0x701 }, { ecx: 0, edi: 0x702 }]);
    // lgdt, mov cr0, the far jump into 32-bit code, mov ds.
    expect(at(t, 0xf0020).regs).toEqual({ 'gdtr.base': 0xf0058, 'gdtr.limit': 23 });
    expect(at(t, 0xf002c).regs).toEqual({ cr0: 0x60000011 });
    expect(at(t, 0xf002f).regs).toEqual({ cs: 8 });
    expect(at(t, 0xf0037)).toMatchObject({ cs: 8, eip: 0xf0037 });
    expect(at(t, 0xf003b).regs).toEqual({ ds: 0x10 });
    // The last instruction (out 0xf4) has no following dump: no changes known.
    expect(t[32]).toMatchObject({ linear: 0xf004f, regs: {} });
    // No bytes, disassembly or memory writes in QEMU's log.
    expect(t.every((r) => r.bytes === '' && r.disasm === '' && r.mem.length === 0)).toBe(true);
  });

  it('--merge-repeats folds the REP iterations into one instruction', () => {
    const m = convert(join(FIX, 'qemu-bios.log'), true);
    expect(m.length).toBe(32);
    expect(m.filter((r) => r.linear === 0xf001e).map((r) => r.regs)).toEqual([{ ecx: 0, edi: 0x702 }]);
    expect(m.map((r) => r.icount)).toEqual([...Array(32).keys()]);
    // The dec/jnz loop alternates addresses, so it is not folded.
    expect(m.filter((r) => r.linear === 0xf0012).length).toBe(3);
  });

  it('forklab qemu-log writes the golden trace (text) and JSON lines', async () => {
    const out = join(dir, 'bios.trace');
    const r = await quiet(() => qemuLogCommand([join(FIX, 'qemu-bios.log'), '-o', out]));
    expect(r.value).toBe(0);
    expect(r.err).toBe(`qemu-log: 33 instructions written to ${out}\n`);
    const text = readFileSync(out, 'utf8');
    expect(text).toBe(readFileSync(join(FIX, 'qemu-bios.trace'), 'utf8'));
    expect(text.split('\n')[0]).toBe('# forklab-trace 1 source=qemu fields=regs');
    // The state line: the first dump's registers, before the first instruction.
    expect(parseTextState(text.split('\n')[1])?.state).toMatchObject({ eax: 0, edx: 0x663, cs: 0xf000, cr0: 0x60000010, 'gdtr.limit': 0xffff });
    const recs = text.split('\n').map(parseTextLine).filter((x): x is TraceRecord => x !== null);
    expect(recs).toEqual(t);
    const jl = join(dir, 'bios.jsonl');
    expect((await quiet(() => qemuLogCommand([join(FIX, 'qemu-bios.log'), '-o', jl]))).value).toBe(0);
    const lines = readFileSync(jl, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0])).toEqual({ forklab_trace: 1, source: 'qemu', fields: ['regs'] });
    const parsed = lines.slice(1).map((l) => parseJsonLine(l)!);
    expect(isState(parsed[0]) && parsed[0].state.edx).toBe(0x663);
    expect(parsed.filter(isRecord)).toEqual(t);
    // trace-diff reads both forms as the same trace.
    expect((await quiet(() => traceDiffCommand([out, jl]))).value).toBe(0);
  });

  it('skips interrupt reports and their second dump, and a truncated last block', () => {
    const log = readFileSync(join(FIX, 'qemu-bios.log'), 'utf8').split('\n');
    // After the block at f0005 (mov bx), insert what -d int prints, with a bogus dump.
    const i = log.findIndex((l) => l.includes('/000f0005/'));
    const j = log.findIndex((l, k) => k > i && l.startsWith('Trace'));
    const noise = [
      'Servicing hardware INT=0x08',
      '     0: v=08 e=0000 i=0 cpl=0 IP=f000:00000005 pc=000f0005 SP=0000:00000000 env->regs[R_EAX]=00000000',
      'EAX=deadbeef EBX=deadbeef ECX=00000000 EDX=00000663',
      'ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000',
      'Stopped execution of TB chain before 0x7f4478075d40 [06fed3a7] ',
    ];
    const edited = [...log.slice(0, j), ...noise, ...log.slice(j), 'Trace 0: 0x7f96 [000f0000/000f0051/00000040/ff000201] ', 'EAX=00000000 EBX='];
    const path = join(dir, 'noisy.log');
    writeFileSync(path, edited.join('\n'));
    expect(convert(path)).toEqual(t);
  });

  it('gives one-line errors', async () => {
    await expect(qemuLogCommand([join(dir, 'nope.log')])).rejects.toThrow(/qemu-log: cannot read '.*nope\.log': no such file/);
    await expect(qemuLogCommand([])).rejects.toThrow(/expected one log file/);
    await expect(qemuLogCommand([join(FIX, 'qemu-bios.log'), '--format', 'xml'])).rejects.toThrow(/--format must be text or jsonl/);
    const empty = join(dir, 'empty.log');
    writeFileSync(empty, 'nothing here\n');
    // bad input (exit 2), and no header-only trace left behind
    await expect(qemuLogCommand([empty, '-o', join(dir, 'e.trace')])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/no instructions found/) });
    expect(existsSync(join(dir, 'e.trace'))).toBe(false);
  });
});

/** QEMU 8.1+ spells one instruction per block `-accel tcg,one-insn-per-tb=on`; older ones `-singlestep`. */
function qemuOneInsnArgs(): string[] {
  const help = spawnSync('qemu-system-i386', ['-accel', 'tcg,help'], { encoding: 'utf8' });
  return /one-insn-per-tb/.test(help.stdout + help.stderr) ? ['-accel', 'tcg,one-insn-per-tb=on'] : ['-accel', 'tcg', '-singlestep'];
}

describe.runIf(oracle('nasm', 'qemu-system-i386'))('qemu-log on a log QEMU writes now', () => {
  it('converts a fresh log of qemu-bios.asm to the golden trace', async () => {
    const bin = join(dir, 'bios.bin');
    const log = join(dir, 'fresh.log');
    execFileSync('nasm', ['-f', 'bin', join(FIX, 'qemu-bios.asm'), '-o', bin]);
    const q = spawnSync('qemu-system-i386', [
      '-display', 'none', '-nodefaults', '-no-reboot', '-monitor', 'none', '-serial', 'none',
      '-bios', bin, ...qemuOneInsnArgs(), '-d', 'exec,cpu,nochain', '-D', log,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
    ], { encoding: 'utf8', timeout: 30_000 });
    // isa-debug-exit: status (0 << 1) | 1.
    expect(q.status, q.stderr).toBe(1);
    const out = join(dir, 'fresh.trace');
    expect((await quiet(() => qemuLogCommand([log, '-o', out]))).value).toBe(0);
    const r = diffTraces(out, join(FIX, 'qemu-bios.trace'), {
      ignoreRegs: new Set(), ignoreFields: new Set(), eflagsMask: 0xffffffff, skipA: 0, skipB: 0,
      startLinear: null, ranges: [], limit: 0, context: 5,
    });
    expect(r.differences).toEqual([]);
    expect(r.agree).toBe(33);
  });
});

/**
 * Runs a 64 KB firmware image on our PC (emulator/machine.ts), from F000:0000, and writes
 * its trace with a minimal recorder made of CPU hooks (the real recorder is emulator/debug
 * work still to come): registers before each instruction are compared with those before
 * the next. Returns how the machine stopped.
 */
function traceOurMachine(bin: Uint8Array, path: string, maxInstructions: number) {
  const m = new Machine({ memorySize: 1 << 20, firmware: bin });
  const cpu = m.cpu;
  cpu.setRealMode(0xf000, 0);
  const gpr = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
  const segs = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
  const snap = () => {
    const r: Record<string, number> = {};
    gpr.forEach((n, i) => (r[n] = cpu.regs[i] >>> 0));
    r.eflags = cpu.getFlags() >>> 0;
    segs.forEach((n, i) => (r[n] = cpu.sel[i]));
    r.ldtr = cpu.ldtSel;
    r.tr = cpu.trSel;
    r['gdtr.base'] = cpu.gdtBase >>> 0;
    r['gdtr.limit'] = cpu.gdtLimit;
    r['idtr.base'] = cpu.idtBase >>> 0;
    r['idtr.limit'] = cpu.idtLimit;
    r.cr0 = cpu.cr0 >>> 0;
    r.cr2 = cpu.cr2 >>> 0;
    r.cr3 = cpu.cr3 >>> 0;
    return r;
  };
  const lines = [formatTextHeader({ version: 1, source: 'forklab', fields: ['regs', 'mem'] }), formatTextState(snap())];
  let before = snap();
  let pending: TraceRecord | null = null;
  let icount = 0;
  const finish = () => {
    if (!pending) return;
    const after = snap();
    for (const k in after) if (after[k] !== before[k]) pending.regs[k] = after[k];
    before = after;
    lines.push(formatTextLine(pending));
    pending = null;
  };
  cpu.setHooks({
    beforeInstruction: (linear) => {
      finish();
      pending = { icount: icount++, cs: cpu.sel[1], eip: cpu.eip >>> 0, linear, bytes: '', disasm: '', regs: {}, mem: [] };
      return false;
    },
    memoryAccess: (kind, linear, size, value) => {
      if (kind === 'w' && pending) pending.mem.push({ addr: linear, size: size as 1 | 2 | 4, value: value >>> 0 });
    },
  });
  const stop = m.run(maxInstructions);
  finish();
  writeFileSync(path, lines.join('\n') + '\n');
  return stop;
}

describe.runIf(oracle('nasm'))('our PC against the QEMU log, instruction by instruction', () => {
  it('agrees on qemu-bios.asm up to one explained difference (the CR0 reset value)', async () => {
    const bin = join(dir, 'ours.bin');
    execFileSync('nasm', ['-f', 'bin', join(FIX, 'qemu-bios.asm'), '-o', bin]);
    const ours = join(dir, 'ours.trace');
    // isa-debug-exit (port F4h) as in QEMU: status (0 << 1) | 1.
    expect(traceOurMachine(new Uint8Array(readFileSync(bin)), ours, 1000)).toEqual({ kind: 'exit', status: 1 });
    const qemu = join(dir, 'qemu-merged.trace');
    // QEMU logs each REP iteration; our CPU retires a REP instruction as one.
    expect((await quiet(() => qemuLogCommand([join(FIX, 'qemu-bios.log'), '--merge-repeats', '-o', qemu]))).value).toBe(0);
    const opts: DiffOptions = {
      ignoreRegs: new Set(), ignoreFields: new Set(), eflagsMask: 0xffffffff, skipA: 0, skipB: 0,
      startLinear: 0xf0000, // we start at F000:0000, QEMU at the reset vector's far jump
      ranges: [], limit: 0, context: 5,
    };
    const r = diffTraces(ours, qemu, opts);
    // The first difference: `mov eax, cr0` at f0027. QEMU resets CR0 to 60000010h (CD, NW
    // and ET set, as a 486 or later does); our i386 resets it to 0 (the i386 has no CD/NW).
    expect(r.agree).toBe(21);
    expect(r.a).toMatchObject({ linear: 0xf0027 });
    expect(r.differences).toEqual([{ what: 'eax', a: '00000000', b: '60000010' }]);
    // Ignoring that (eax and cr0 carry it, and PF of the `or al, 1` that follows), the two
    // agree through the protected-mode entry, the far jump into 32-bit code, the data
    // segment load and the stores, to the exit at `out 0xf4`: 31 instructions, both ending.
    const rest = diffTraces(ours, qemu, { ...opts, ignoreRegs: new Set(['eax', 'cr0']), eflagsMask: ~0x4 >>> 0 });
    expect(rest.differences).toEqual([]);
    expect(rest.agree).toBe(31);
    // Our trace has what QEMU's log lacks: the memory writes.
    const text = readFileSync(ours, 'utf8');
    expect(text).toContain('[00000600]=1234');
    expect(text).toContain('[00000700]=35 [00000701]=35');
    expect(text).toMatch(/000f0047 -  -  ; eflags=00000096 \[00000800\]=deadbef0/);
  });
});
