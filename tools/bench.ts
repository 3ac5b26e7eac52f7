// `npm run bench`: guest MIPS on fixed workloads (median of 5 runs each): three CPU loops
// of known instruction count, and the whole PC booting our kernel through its fork demo
// (page faults, task switches, system calls, code decoded again after copy-on-write splits).
// `npm run bench -- --json` prints one JSON object per line: {"name","instructions","seconds","mips"};
// `--engine jit|interp` picks the CPU's engine (default: the CPU's default, DEFAULT_ENGINE).
// `npm run bench -- --peers` runs the same work in forklab and its peers side by side
// (bench-peers.ts).
//
// The CPU loops are the boot sector of tools/bench/loop.asm (the guest `--peers` runs in every
// engine), built with forklab's assembler and run on a bare CPU from 7C00h: no BIOS, no devices.

import { PhysicalMemory } from '../emulator/memory';
import { Cpu, DEFAULT_ENGINE, ENGINES, type Engine } from '../emulator/cpu/cpu';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { buildImage } from './build-image';
import { UsageError } from './cli-util';
import { childMain } from './bench-child';
import { relaunchAsForklab } from './node-flags';
import { peersMain, type PeersOptions } from './bench-peers';
import { bootSectorInstructions, loopBootSector, type LoopMode } from './bench-report';

interface Workload {
  name: string;
  /** Instructions one run executes (the kernel's is learned from its first run). */
  count: number;
  /** Runs the workload once from the start; returns the instructions executed. */
  execute(): number;
}

/** A CPU workload: the loop's boot sector from 7C00h in real mode until its HLT (interrupts
 *  off; its `out` to F4h goes nowhere on a bare CPU). */
function cpuWorkload(name: string, mode: LoopMode, iter: number, engine: Engine): Workload {
  const code = loopBootSector(mode, iter);
  return {
    name,
    count: bootSectorInstructions(mode, iter),
    execute() {
      const mem = new PhysicalMemory(2 << 20);
      const cpu = new Cpu(mem, undefined, null, { engine });
      mem.load(0x7c00, code);
      cpu.setRealMode(0, 0x7c00);
      let reason = '';
      while ((reason = cpu.run(10_000_000)) === 'budget');
      if (reason !== 'halted') throw new Error(`${name}: stopped with ${reason}\n${cpu.dumpState()}`);
      return cpu.icount;
    },
  };
}

/** The kernel's whole demo on the whole PC, from the BIOS to the power-off (status 0). */
function kernelWorkload(engine: Engine): Workload {
  const root = new URL('..', import.meta.url).pathname;
  const { image } = buildImage(root);
  return {
    name: 'pc-kernel-fork-demo',
    count: 0,
    execute() {
      const m = new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!), engine });
      const stop = m.run(500_000_000);
      if (stop.kind !== 'exit' || stop.status !== 1) throw new Error(`pc-kernel-fork-demo: ended with ${JSON.stringify(stop)}`);
      return m.instructions;
    },
  };
}

/** The loops are the peers' at scale 1 (100 M, 100 M and 50 M instructions): long enough that
 *  the jit's compiles (a few ms) do not weigh in its figure, as they did at a fifth of that. */
const workloads = (engine: Engine): Workload[] => [
  cpuWorkload('flat32-alu-mem-call-jcc', 1, 5_400_000, engine),
  cpuWorkload('paged32-alu-mem-call-jcc', 2, 5_400_000, engine),
  cpuWorkload('real16-alu-mem-call-loop', 0, 5000, engine),
  kernelWorkload(engine),
];

/** Runs a workload once; returns [cpu seconds, wall seconds]. CPU time (user + system of
 *  this process) is the figure reported, because the machines we run on are shared and wall
 *  time there measures the neighbours as much as us. */
function runOnce(w: Workload): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const icount = w.execute();
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage(c0);
  if (w.count === 0) w.count = icount; // the kernel: its first run says, the others must agree
  if (icount !== w.count) throw new Error(`${w.name}: executed ${icount} instructions, expected ${w.count}`);
  return [(c1.user + c1.system) / 1e6, Number(t1 - t0) / 1e9];
}

function main(engine: Engine, json: boolean): void {
  // one untimed run of every workload first, so each is measured with a warmed-up JIT
  const all = workloads(engine);
  for (const w of all) runOnce(w);
  for (const w of all) {
    const runs: [number, number][] = [];
    for (let k = 0; k < 5; k++) runs.push(runOnce(w));
    const s = runs.map((r) => r[0]).sort((a, b) => a - b)[2];
    const wall = runs.map((r) => r[1]).sort((a, b) => a - b)[2];
    const mips = w.count / s / 1e6;
    if (json) {
      console.log(JSON.stringify({ name: w.name, instructions: w.count, seconds: +s.toFixed(4), mips: +mips.toFixed(1), wallSeconds: +wall.toFixed(4) }));
    } else {
      console.log(`${w.name.padEnd(28)} ${String(w.count).padStart(10)} instructions  ${s.toFixed(3)} s cpu (${wall.toFixed(3)} s wall)  ${mips.toFixed(1)} MIPS`);
    }
  }
}

const USAGE = 'bench [--engine jit|interp] [--json] | bench --peers [--rounds N] [--only NAME,...] [--json]';

/** Reads `--rounds N` and `--only NAME,...` for --peers; a bad value is a UsageError. */
function peersOptions(argv: string[]): PeersOptions {
  const o: PeersOptions = { rounds: 3, only: [], json: argv.includes('--json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--peers' || a === '--json') continue;
    const v = argv[i + 1];
    if (a === '--rounds') {
      if (!v || !/^[1-9]\d*$/.test(v)) throw new UsageError(`--rounds: '${v ?? ''}' is not a whole number of rounds (1 or more)`);
      o.rounds = Number(v);
      i++;
    } else if (a === '--only') {
      if (!v) throw new UsageError('--only needs workload names (comma-separated, any part of a name)');
      o.only = v.split(',').filter((s) => s);
      i++;
    } else throw new UsageError(`unknown option '${a}' (${USAGE})`);
  }
  return o;
}

async function start(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return childMain(argv.slice(1));
  if (argv.includes('--peers')) return peersMain(peersOptions(argv));
  let engine: Engine = DEFAULT_ENGINE;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--engine') {
      const v = argv[++i] ?? '';
      if (!(ENGINES as readonly string[]).includes(v)) throw new UsageError(`--engine: '${v}' is not ${ENGINES.join(' or ')}`);
      engine = v as Engine;
    } else if (a !== '--json') throw new UsageError(`unknown option '${a}' (${USAGE})`);
  }
  // (timed in a node started as the forklab command starts it; --peers gives its children that)
  relaunchAsForklab();
  main(engine, argv.includes('--json'));
}

start(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
