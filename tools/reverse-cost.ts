// What reverse execution costs (issue 14 part 3), measured on the real Linux 0.11 boot when
// ../shared/guests/linux-0.11 is there, else on our kernel's fork demo:
//   npx tsx tools/reverse-cost.ts [INSTRUCTIONS]
// It runs the guest INSTRUCTIONS (default 100 M) in, keeping history, and prints: the run's
// time with and without history, the checkpoints and their memory, and how long a
// reverse-stepi (a seek one instruction back), a seek to the middle and a reverse-continue to
// the last sys_fork (re-executing everything back to it, breakpoint in place) take. Timings are
// wall-clock and depend on the host; the tests assert no timing.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { buildImage } from './build-image';
import { SymbolMap } from '../emulator/debug/symbols';
import { Reverse } from '../emulator/debug/reverse';

const ROOT = new URL('..', import.meta.url).pathname;
const KIT = join(ROOT, '../shared/guests/linux-0.11');
const target = Number(process.argv[2] ?? 100_000_000);
if (!Number.isSafeInteger(target) || target < 2) {
  console.error(`reverse-cost: '${process.argv[2]}' is not an instruction count`);
  process.exit(2);
}

/** The guest, and a function its run enters now and then (for reverse-continue). */
function machine(): { m: Machine; guest: string; fork: number } {
  if (existsSync(join(KIT, 'Image'))) {
    const floppy = new Uint8Array(1474560);
    floppy.set(readFileSync(join(KIT, 'Image')));
    const hd = gunzipSync(readFileSync(join(KIT, 'hdc-0.11.img.gz')));
    const m = new Machine({
      fda: new DiskImage(floppy, floppyGeometry(floppy.length)!),
      hda: new DiskImage(new Uint8Array(hd), { cylinders: 204, heads: 16, sectorsPerTrack: 38 }),
    });
    const fork = SymbolMap.parse(readFileSync(join(KIT, 'System.map'), 'utf8'), 'System.map').addr('sys_fork');
    return { m, guest: 'Linux 0.11 (boot to the shell, then idle)', fork };
  }
  const { image, symbols } = buildImage(ROOT);
  const fork = symbols.find((s) => s.name === 'sys_fork')!.address;
  return { m: new Machine({ fda: new DiskImage(image, floppyGeometry(image.length)!) }), guest: 'the forklab kernel', fork };
}

/** Runs to `n` instructions (time may pass idle in HLT on the way). */
function runTo(m: Machine, n: number): void {
  while (m.instructions < n) {
    const r = m.run(n - m.instructions);
    if (r.kind !== 'limit') throw new Error(`the guest stopped (${r.kind}) at ${m.instructions}`);
  }
}

const ms = (t: number) => `${t.toFixed(0)} ms`;
const time = (f: () => void) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

const plain = machine();
const tPlain = time(() => runTo(plain.m, target));
const { m, guest, fork } = machine();
const h = m.recordHistory();
const tHist = time(() => runTo(m, target));
const info = h.info;
console.log(`guest: ${guest}, ${target} instructions`);
const more = ((tHist - tPlain) / tPlain) * 100;
console.log(`run without history ${ms(tPlain)}, with history ${ms(tHist)} (${more >= 0 ? '+' : ''}${more.toFixed(1)}%)`);
console.log(`checkpoints: ${info.checkpoints} (one every ${info.interval}), ${(info.bytes / 1048576).toFixed(1)} MB of ${info.maxBytes / 1048576} MB`);
const steps: number[] = [];
for (let i = 0; i < 5; i++) steps.push(time(() => m.seek(m.instructions - 1)));
console.log(`reverse-stepi at ${target}: ${steps.map(ms).join(', ')}`);
console.log(`seek to ${Math.floor(target / 2)}: ${ms(time(() => m.seek(Math.floor(target / 2))))}; back to ${target - 1}: ${ms(time(() => m.seek(target - 1)))}`);

// reverse-continue to the last sys_fork before the end: re-executes the stretch back to it
// with a breakpoint in place (the CPU's one-at-a-time path)
m.seek(target);
const rev = new Reverse(m, m.debugTarget);
m.debugTarget.addBreakpoint(fork, 'hw');
let hit = '';
const tBack = time(() => {
  const r = rev.continueBack();
  hit = r.kind === 'breakpoint' ? `sys_fork at instruction ${m.instructions}` : r.kind;
});
console.log(`reverse-continue from ${target} to the last ${hit}: ${ms(tBack)}`);
console.log(`checkpoints now: ${h.info.checkpoints}, ${(h.info.bytes / 1048576).toFixed(1)} MB`);
