// The real Linux 0.11's boot in forklab against QEMU (the oracle), instruction by
// instruction, from the boot sector to main's `sti`, where the first timer interrupt comes:
// forklab's trace recorder on one side, QEMU's `-d exec,cpu,nochain` log converted by
// qemu-log on the other, compared by trace-diff --resync in stretches. The machines are made
// alike where they can be: forklab gets 16,256 KB of memory (SeaBIOS keeps the top 128 KB of
// QEMU's 16 MB, so both report 15,232 KB of extended memory and the kernel's memory_end is
// 0xfe0000 in both), QEMU gets a VGA card and two serial ports as forklab has, and its RTC
// starts at forklab's date. No disk: main reaches its `sti` before it touches one.
//
// Each stretch ends at a difference that is the machines', not the CPU's (asserted below):
// 1. boot sector: a BIOS answer carried through memory (the cursor position after SeaBIOS's
//    banner, popped back in read_track); other BIOS answers in registers resync;
// 2. setup: the hard-disk parameter table the BIOS's INT 41h vector points to (`lds si`);
// 3. head from startup_32: CR0's model bits (QEMU resets to a 486+'s 60000010h; forklab is
//    an i386 with no FPU), first read at pg_dir+0x42; check_x87 then takes the other branch;
// 4. after_page_tables/setup_paging: CR0 read again (the same model bits);
// 5. main: mem_init, trap_init, blk_dev_init, chr_dev_init, tty_init (serial ports too), into
//    con_init, up to its read of the cursor row setup saved from INT 10h (SeaBIOS's banner);
// 6. time_init: the CMOS seconds (QEMU's virtual clock ran on while it single-stepped);
// 7. sched_init through buffer_init, hd_init, floppy_init to main's `sti`: QEMU's timer
//    interrupt is already pending there (its PIT counts host time), forklab's comes later
//    (time counted in instructions): interrupt arrival.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { Machine } from '../emulator/machine';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import { diffTraces, type DiffOptions, type DiffResult } from '../tools/trace-diff';
import { oracle } from './oracle';
import { convertLog, qemuLog } from './qemu-trace';
import { haveKit, KIT, kitSymbols } from './linux011-kit';

const dir = mkdtempSync(join(tmpdir(), 'forklab-linux011-qemu-'));
afterAll(() => {
  if (process.env.FORKLAB_KEEP_TRACES) console.log(`traces kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

/** The guest's own code: the kernel from 0 (and its load address 0x10000), and 9000:0. */
const RANGES: [number, number][] = [[0, 0x2ffff], [0x90000, 0x909ff]];

describe.runIf(haveKit() && oracle('qemu-system-i386'))('Linux 0.11 boot: forklab against QEMU', () => {
  it('agrees from the boot sector to main\'s sti, each stretch ending at an explained difference', async () => {
    const syms = kitSymbols('System.map');
    const sym = (n: string) => syms.addr(n);
    const floppy = new Uint8Array(1474560);
    floppy.set(readFileSync(join(KIT, 'Image')));
    const img = join(dir, 'Image.padded');
    writeFileSync(img, floppy);
    const sti = sym('main') + 0x10f; // main's sti, after floppy_init (the kit's kernel is fixed by its sha256); then mov eax,esp

    const ours = join(dir, 'ours.trace');
    const m = new Machine({ memorySize: 16256 * 1024, fda: new DiskImage(floppy.slice(), floppyGeometry(floppy.length)!) });
    const out: string[] = [];
    const rec = new TraceRecorder(m.cpu, m.hookHub.slot(), { symbols: syms, to: sti + 3, write: (s) => out.push(s), onDone: () => m.stop() }).start();
    m.run(5_000_000);
    rec.finish();
    expect(rec.done).toBe(true);
    writeFileSync(ours, out.join(''));
    out.length = 0;

    const log = join(dir, 'qemu.log');
    await qemuLog(img, log, sym('timer_interrupt'), RANGES,
      ['-vga', 'std', '-serial', 'null', '-serial', 'null', '-rtc', 'base=1991-10-05T12:00:00,clock=vm'], 100);
    const theirs = join(dir, 'qemu.trace');
    convertLog(log, theirs);
    rmSync(log);

    const base: DiffOptions = {
      ignoreRegs: new Set(), ignoreFields: new Set(['icount']), eflagsMask: 0xffffffff, skipA: 0, skipB: 0,
      startLinear: 0x7c00, ranges: RANGES, limit: 0, context: 3, resync: true, mergeRepeats: true,
    };
    const diff = (start: number, o: Partial<DiffOptions> = {}) => diffTraces(ours, theirs, { ...base, startLinear: start, ...o });
    const what = (r: DiffResult) => r.differences.map((x) => x.what.split(' ')[0]).sort();
    const at = (r: DiffResult) => r.a!.disasm;
    const CR0_MODEL_BITS = 0x6000001e; // CD NW (486+ reset), ET (486+), TS EM MP (FPU)
    const crBitsOnly = (r: DiffResult) => r.differences.length === 1 && r.differences[0].what.startsWith('eax') &&
      ((parseInt(r.differences[0].a, 16) ^ parseInt(r.differences[0].b, 16)) & ~CR0_MODEL_BITS) === 0;

    const boot = diff(0x7c00);
    expect(boot.resyncs.length).toBeGreaterThanOrEqual(1);
    expect(boot.a!.linear >= 0x90000 && boot.a!.linear < 0x90200).toBe(true);
    expect([at(boot), what(boot)]).toEqual(['pop dx', ['edx']]);

    const setup = diff(0x90200);
    expect([at(setup).split(',')[0], what(setup)]).toEqual(['lds si', ['ds', 'esi']]);

    const head = diff(sym('startup_32'), { ignoreRegs: new Set(['cr0']) });
    expect(at(head)).toBe('mov eax,cr0 <pg_dir+0x42>');
    expect(crBitsOnly(head)).toBe(true);

    const paging = diff(sym('after_page_tables'), { ignoreRegs: new Set(['cr0']) });
    expect(at(paging)).toMatch(/^mov eax,cr0 <setup_paging\+/);
    expect(crBitsOnly(paging)).toBe(true);

    const main = diff(sym('main'));
    expect(at(main)).toMatch(/^mov al,\[eax\] <con_init\+/);
    expect(what(main)).toEqual(['eax']);
    expect(main.a!.linear).toBe(sym('con_init') + 0x1a2); // al = [0x90001]: the cursor row setup saved

    const time = diff(sym('time_init'));
    expect([at(time), what(time)]).toEqual(['in al,dx <time_init+0x19>', ['eax']]); // CMOS seconds

    const sched = diff(sym('sched_init'));
    // right after sti, QEMU's IRQ 0 arrives (just before or after `mov eax,esp`, as its host
    // timer fell): its pushes (esp, eflags) or the mov it displaced (eax) are the difference
    expect(sched.a!.linear).toBe(sti + 1);
    expect(what(sched).length).toBeGreaterThan(0);
    expect(what(sched).every((r) => ['eax', 'esp', 'eflags'].includes(r))).toBe(true);

    const counts = { boot: boot.agree, setup: setup.agree, head: head.agree, paging: paging.agree, main: main.agree, time: time.agree, sched: sched.agree };
    console.log(`Linux 0.11, forklab vs QEMU, agreeing instructions per stretch: ${JSON.stringify(counts)}`);
    expect(head.agree).toBeGreaterThanOrEqual(1300);
    expect(paging.agree).toBeGreaterThanOrEqual(12_000);
    expect(main.agree).toBeGreaterThanOrEqual(50_000);
    expect(sched.agree).toBeGreaterThanOrEqual(130_000);
  }, 300_000);
});
