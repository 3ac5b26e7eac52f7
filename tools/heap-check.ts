// Does a long run keep the heap flat (issue 12: the jit's code cache must be bounded)? Runs our
// kernel's fork demo again and again, a new Machine each time, for MINUTES (default 10) and
// prints the heap after a GC every minute:
//   node --expose-gc --import tsx tools/heap-check.ts [MINUTES] [--engine jit|interp] [--threshold N]
// The default is the jit with a compile threshold of 16, so the demo's code really is compiled.
// Under tsx the guest runs slower than bundled; the heap is what it measures.
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { buildImage } from './build-image';
import type { Engine } from '../emulator/cpu/cpu';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const k = args.indexOf(name);
  return k >= 0 && k + 1 < args.length ? args.splice(k, 2)[1] : fallback;
};
const engine = option('--engine', 'jit') as Engine;
const threshold = Number(option('--threshold', '16'));
const minutes = Number(args[0] ?? 10);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !(minutes > 0) || !(threshold >= 1) || (engine !== 'jit' && engine !== 'interp')) {
  console.error('usage: node --expose-gc --import tsx tools/heap-check.ts [MINUTES] [--engine jit|interp] [--threshold N]');
  process.exit(2);
}

const { image } = buildImage(new URL('..', import.meta.url).pathname);
const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
const start = Date.now();
let runs = 0, instructions = 0, compiles = 0, minute = -1;
const report = (when: string): void => {
  gc();
  const u = process.memoryUsage();
  console.log(`${when}: ${runs} runs, ${(instructions / 1e9).toFixed(2)} G instructions, ${compiles} compiles, heap ${mb(u.heapUsed)} MB, rss ${mb(u.rss)} MB`);
};
for (;;) {
  const m = new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!), engine, jitThreshold: threshold });
  const stop = m.run(200_000_000);
  // the demo powers off through isa-debug-exit with 0, which is exit status 1 (QEMU's rule)
  if (stop.kind !== 'exit' || stop.status !== 1) {
    console.error(`heap-check: the demo ended with ${JSON.stringify(stop)}`);
    process.exit(1);
  }
  runs++;
  instructions += m.cpu.icount;
  compiles += m.cpu.codeCache.added;
  const now = Math.floor((Date.now() - start) / 60000);
  if (now !== minute) report(`${(minute = now)} min`);
  if (Date.now() - start >= minutes * 60000) break;
}
report('end');
