// `npm run bench`: guest MIPS on fixed workloads (median of 5 runs each): three CPU loops
// of known instruction count, and the whole PC booting our kernel through its fork demo
// (page faults, task switches, system calls, code decoded again after copy-on-write splits).
// `npm run bench -- --json` prints one JSON object per line: {"name","instructions","seconds","mips"}.
// `npm run bench -- --peers` runs the same work in forklab and its peers side by side
// (bench-peers.ts).
//
// The guest programs are hand-assembled bytes; their NASM source is in the comments (the
// bytes were produced by `nasm -f bin` and checked with ndisasm).

import { PhysicalMemory } from '../emulator/memory';
import { Cpu } from '../emulator/cpu/cpu';
import { DS, ES, SS } from '../emulator/cpu/consts';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { buildImage } from './build-image';
import { UsageError } from './cli-util';
import { childMain } from './bench-child';
import { peersMain, type PeersOptions } from './bench-peers';

/*
bits 32
org 0x1000
start:  mov ecx, 1000000
        mov esi, 0x8000
outer:  mov eax, [esi]
        add eax, ecx
        mov [esi+4], eax
        xor edx, edx
        call func
        inc dword [esi+8]
        test ecx, 1
        jz skip
        add edi, 3
skip:   cmp eax, ebx
        dec ecx
        jnz outer
        hlt
func:   push ebp
        mov ebp, esp
        add ebx, eax
        shl ebx, 1
        sub ebx, edx
        pop ebp
        ret
*/
const FLAT32 = [
  0xb9, 0x40, 0x42, 0x0f, 0x00, 0xbe, 0x00, 0x80, 0x00, 0x00, 0x8b, 0x06,
  0x01, 0xc8, 0x89, 0x46, 0x04, 0x31, 0xd2, 0xe8, 0x14, 0x00, 0x00, 0x00,
  0xff, 0x46, 0x08, 0xf7, 0xc1, 0x01, 0x00, 0x00, 0x00, 0x74, 0x03, 0x83,
  0xc7, 0x03, 0x39, 0xd8, 0x49, 0x75, 0xdf, 0xf4, 0x55, 0x89, 0xe5, 0x01,
  0xc3, 0xd1, 0xe3, 0x29, 0xd3, 0x5d, 0xc3,
];
// 2 + 1e6 * 18 + 5e5 (the odd iterations' add) + hlt
const FLAT32_COUNT = 2 + 18_000_000 + 500_000 + 1;

/*
bits 16
org 0x1000
start:  mov dx, 1000
outer:  mov cx, 1000
        mov si, 0x8000
inner:  mov ax, [si]
        add ax, cx
        mov [si+2], ax
        call func
        inc word [si+4]
        cmp ax, bx
        loop inner
        dec dx
        jnz outer
        hlt
func:   add bx, ax
        shl bx, 1
        ret
*/
const REAL16 = [
  0xba, 0xe8, 0x03, 0xb9, 0xe8, 0x03, 0xbe, 0x00, 0x80, 0x8b, 0x04, 0x01,
  0xc8, 0x89, 0x44, 0x02, 0xe8, 0x0b, 0x00, 0xff, 0x44, 0x04, 0x39, 0xd8,
  0xe2, 0xef, 0x4a, 0x75, 0xe6, 0xf4, 0x01, 0xc3, 0xd1, 0xe3, 0xc3,
];
// 1 + 1000 * (4 + 1000 * 10) + hlt
const REAL16_COUNT = 1 + 1000 * (4 + 1000 * 10) + 1;

interface Workload {
  name: string;
  /** Instructions one run executes (the kernel's is learned from its first run). */
  count: number;
  /** Runs the workload once from the start; returns the instructions executed. */
  execute(): number;
}

/** A CPU workload: runs until HLT with interrupts off. */
function cpuWorkload(name: string, count: number, setup: () => Cpu): Workload {
  return {
    name,
    count,
    execute() {
      const cpu = setup();
      let reason = '';
      while ((reason = cpu.run(10_000_000)) === 'budget');
      if (reason !== 'halted') throw new Error(`${name}: stopped with ${reason}\n${cpu.dumpState()}`);
      return cpu.icount;
    },
  };
}

/** The kernel's whole demo on the whole PC, from the BIOS to the power-off (status 0). */
function kernelWorkload(): Workload {
  const root = new URL('..', import.meta.url).pathname;
  const { image } = buildImage(root);
  return {
    name: 'pc-kernel-fork-demo',
    count: 0,
    execute() {
      const m = new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) });
      const stop = m.run(500_000_000);
      if (stop.kind !== 'exit' || stop.status !== 1) throw new Error(`pc-kernel-fork-demo: ended with ${JSON.stringify(stop)}`);
      return m.instructions;
    },
  };
}

function writeDesc(mem: PhysicalMemory, at: number, base: number, limit: number, access: number, flags: number): void {
  mem.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  mem.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff));
}

function flat(paging: boolean): Cpu {
  const mem = new PhysicalMemory(8 << 20);
  const cpu = new Cpu(mem);
  // GDT at 0x500: null, flat 32-bit code, flat data
  writeDesc(mem, 0x500, 0, 0, 0, 0);
  writeDesc(mem, 0x508, 0, 0xfffff, 0x9a, 0xc);
  writeDesc(mem, 0x510, 0, 0xfffff, 0x92, 0xc);
  mem.load(0x1000, Uint8Array.from(FLAT32));
  cpu.gdtBase = 0x500;
  cpu.gdtLimit = 0x17;
  cpu.setCr0(1);
  cpu.readDescriptor(0x08);
  cpu.loadCsDesc(0x08, 0);
  for (const s of [DS, ES, SS]) cpu.loadSeg(s, 0x10);
  cpu.regs[4] = 0x7000;
  cpu.eip = 0x1000;
  if (paging) {
    // identity-map the first 4 MB: directory at 0x10000, table at 0x11000
    mem.write32(0x10000, 0x11000 | 7);
    for (let p = 0; p < 1024; p++) mem.write32(0x11000 + p * 4, (p << 12) | 7);
    cpu.setCr3(0x10000);
    cpu.setCr0(0x80000001);
  }
  return cpu;
}

const WORKLOADS: Workload[] = [
  cpuWorkload('flat32-alu-mem-call-jcc', FLAT32_COUNT, () => flat(false)),
  cpuWorkload('paged32-alu-mem-call-jcc', FLAT32_COUNT, () => flat(true)),
  cpuWorkload('real16-alu-mem-call-loop', REAL16_COUNT, () => {
    const mem = new PhysicalMemory(2 << 20);
    const cpu = new Cpu(mem);
    mem.load(0x1000, Uint8Array.from(REAL16));
    cpu.setRealMode(0, 0x1000);
    for (const s of [DS, ES, SS]) cpu.loadSeg(s, 0);
    cpu.regs[4] = 0x7000;
    return cpu;
  }),
  kernelWorkload(),
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

function main(): void {
  const json = process.argv.includes('--json');
  // one untimed run of every workload first, so each is measured with a warmed-up JIT
  for (const w of WORKLOADS) runOnce(w);
  for (const w of WORKLOADS) {
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
    } else throw new UsageError(`unknown option '${a}' (bench [--json] | bench --peers [--rounds N] [--only NAME,...] [--json])`);
  }
  return o;
}

async function start(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return childMain(argv.slice(1));
  if (argv.includes('--peers')) return peersMain(peersOptions(argv));
  for (const a of argv) if (a !== '--json') throw new UsageError(`unknown option '${a}' (bench [--json] | bench --peers [--rounds N] [--only NAME,...] [--json])`);
  main();
}

start(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
