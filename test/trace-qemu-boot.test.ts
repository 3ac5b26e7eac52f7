// Our kernel's boot in forklab against the same image in QEMU (the oracle), instruction by
// instruction: forklab's trace recorder on one side, QEMU's `-d exec,cpu,nochain` log (one
// instruction per block, converted by qemu-log) on the other, compared by trace-diff.
//
// Both sides log only the guest's own code: the boot sector at 0:7C00 (and where it moves
// itself, 9000:0), setup at 9020:0, and the kernel from linear 0 (head: startup_32, the
// protected-mode entry, setup_idt/setup_gdt, setup_paging) up to `main`. The BIOS is left out:
// forklab's BIOS is TypeScript (no guest instructions at all) and QEMU's is SeaBIOS, so the
// two agree on nothing there; a BIOS call (INT 10h/13h/15h) is one skipped stretch whose
// effect on the registers trace-diff checks on the return (--range folding).
//
// What remains different, and why (each is asserted below):
// 1. What the BIOS calls return. setup asks the BIOS for the cursor position (INT 10h AH=03h),
//    the video mode, the extended memory size (INT 15h AH=88h), the disk parameters; SeaBIOS
//    has printed its banner (the cursor is elsewhere) and answers with its own values.
// 2. Timer interrupt timing: in real mode the BIOS's IRQ 0 handler runs whenever its timer
//    fires (QEMU's PIT runs on host time; forklab's on the instruction count); it is outside
//    the ranges and restores every register, so it shows at most as a skipped stretch. The
//    kernel runs head with interrupts off.
// 3. CR0: QEMU resets it to 60000010h (CD, NW, ET: a 486 or later); forklab's i386 to 0, and
//    setup's `mov eax, cr0; or al, 1; mov cr0, eax` carries the difference into eax and CR0
//    (and head's CR0 read-modify-writes after it).
// 4. The FPU: QEMU's CPU has an x87, forklab's i386 model none, so head's check_x87 takes
//    the other branch (EM set instead of MP).
// 5. Not a difference: forklab retires a REP string instruction in page-sized pieces, QEMU
//    logs every iteration; trace-diff --merge-repeats folds both into one instruction.
// So the comparison is run in four stretches (boot sector, setup, protected-mode entry and
// head, paging setup), each until its first explained difference; BIOS answers in registers
// are resynced (trace-diff --resync) rather than ending a stretch.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { Machine } from '../emulator/machine';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import { buildImage } from '../tools/build-image';
import { diffTraces, type DiffOptions, type DiffResult } from '../tools/trace-diff';
import { oracle } from './oracle';
import { convertLog, qemuLog } from './qemu-trace';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'forklab-qemu-boot-'));
afterAll(() => {
  if (process.env.FORKLAB_KEEP_TRACES) console.log(`traces kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

/** The guest's own code: low memory (boot sector at 7C00h, the kernel from 0) and 9000:0. */
const RANGES: [number, number][] = [[0, 0x7fff], [0x90000, 0x909ff]];

describe.runIf(oracle('qemu-system-i386'))('the kernel boot: forklab against QEMU', () => {
  it('agrees from the boot sector through the protected-mode entry and paging setup', async () => {
    const { image, symbols } = buildImage(ROOT);
    const sym = (n: string) => symbols.find((s) => s.name === n)!.address;
    const img = join(dir, 'forklab.img');
    writeFileSync(img, image);
    const main = sym('main');

    // forklab: the same ranges, from reset to main.
    const ours = join(dir, 'ours.trace');
    const m = new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) });
    const out: string[] = [];
    const rec = new TraceRecorder(m.cpu, m.hookHub.slot(), { symbols, to: main, write: (s) => out.push(s), onDone: () => m.stop() }).start();
    m.run(10_000_000);
    rec.finish();
    writeFileSync(ours, out.join(''));

    const log = join(dir, 'qemu.log');
    await qemuLog(img, log, main, RANGES, ['-serial', 'none']);
    const theirs = join(dir, 'qemu.trace');
    convertLog(log, theirs);

    const base: DiffOptions = {
      ignoreRegs: new Set(), ignoreFields: new Set(['icount']), eflagsMask: 0xffffffff, skipA: 0, skipB: 0,
      startLinear: 0x7c00, ranges: RANGES, limit: 0, context: 5, resync: true, mergeRepeats: true,
    };
    const oursText = readFileSync(ours, 'utf8');
    const lmsw = /^\d+ 9020:[0-9a-f]{8} ([0-9a-f]{8}) \S+ {2}lmsw /m.exec(oursText);
    expect(lmsw, 'setup enters protected mode with lmsw').not.toBeNull();
    // What the two say differently at a divergence, as names.
    const what = (r: DiffResult) => r.differences.map((x) => x.what.split(' ')[0]).sort();
    const sameInstruction = (r: DiffResult) => r.a !== null && r.b !== null && !r.differences.some((x) => ['cs:eip', 'linear', 'bytes'].includes(x.what));
    const CR0_MODEL_BITS = 0x6000001e; // CD NW (486+ reset), ET (hardwired on 486+), TS EM MP (FPU)
    const crBitsOnly = (r: DiffResult) =>
      r.differences.length === 1 && r.differences[0].what.startsWith('eax') &&
      ((parseInt(r.differences[0].a, 16) ^ parseInt(r.differences[0].b, 16)) & ~CR0_MODEL_BITS) === 0;

    // 1. The boot sector, from its first instruction at 0:7C00, across its INT 13h reads and
    //    INT 10h calls (each a skipped stretch; where SeaBIOS answered differently — BX/DI of
    //    the drive parameters, the cursor position in DX after SeaBIOS's banner — the
    //    registers are resynced, see trace-diff --resync), until that cursor position comes
    //    back from the stack (`pop dx` in read_track): a BIOS answer carried through memory.
    const boot = diffTraces(ours, theirs, base);
    expect(boot.agree).toBeGreaterThanOrEqual(100);
    expect(boot.resyncs.length).toBeGreaterThanOrEqual(1);
    expect(boot.resyncs.every((x) => x.differences.every((y) => y.what.endsWith('(after skipped instructions)')))).toBe(true);
    expect(sameInstruction(boot)).toBe(true);
    expect(boot.a!.linear >= 0x90000 && boot.a!.linear < 0x90200).toBe(true); // still in bootsect
    expect(what(boot)).toEqual(['edx']);

    // 2. setup, from 9020:0: its BIOS queries (cursor, extended memory size by INT 15h, video
    //    mode and card) resync, until it copies the hard disk parameter table the BIOS's
    //    INT 41h vector points to (`lds si, [4*0x41]`): a BIOS table, at a BIOS address.
    const setup = diffTraces(ours, theirs, { ...base, startLinear: 0x90200 });
    expect(setup.agree).toBeGreaterThanOrEqual(20);
    expect(sameInstruction(setup)).toBe(true);
    expect(setup.a!.disasm).toMatch(/^lds si,/);
    expect(what(setup)).toEqual(['ds', 'esi']);

    // 3. The protected-mode entry: from setup's `lmsw ax` (CR0 ignored: QEMU's CR0 is
    //    60000011h after it, ours 1 — the reset value, explained above), the far jump to 8:0,
    //    and head: segment loads, the new IDT and GDT, the A20 check — up to head's read of
    //    CR0, where eax differs in exactly the model bits (ET).
    const entry = diffTraces(ours, theirs, { ...base, startLinear: parseInt(lmsw![1], 16), ignoreRegs: new Set(['cr0']) });
    expect(entry.agree).toBeGreaterThanOrEqual(1000);
    expect(entry.a!.linear).toBe(sym('startup_32_go.a20_ok'));
    expect(crBitsOnly(entry)).toBe(true);
    // check_x87 then parts on purpose: QEMU's CPU has an x87, forklab's i386 none (EM path).

    // 4. Paging setup: setup_paging clears the page directory and four page tables and fills
    //    them (REP STOSD; the stosd loop over 4096 entries), loads CR3 — all agreeing — up to
    //    its read of CR0 to set PG, where eax differs in the model bits again (ET, EM, MP).
    const paging = diffTraces(ours, theirs, { ...base, startLinear: sym('setup_paging'), ignoreRegs: new Set(['cr0']) });
    expect(paging.agree).toBeGreaterThanOrEqual(12_000);
    expect(paging.a!.disasm).toMatch(/^mov eax,cr0 <setup_paging/);
    expect(crBitsOnly(paging)).toBe(true);

    const total = boot.agree + setup.agree + entry.agree + paging.agree;
    console.log(`forklab vs QEMU: boot sector ${boot.agree} (${boot.resyncs.length} BIOS resyncs), setup ${setup.agree} ` +
      `(${setup.resyncs.length}), protected-mode entry + head ${entry.agree}, paging setup ${paging.agree}: ${total} agreeing instructions`);
    expect(total).toBeGreaterThanOrEqual(13_400);
  }, 120_000);
});
