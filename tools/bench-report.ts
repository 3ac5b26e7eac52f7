// The side-by-side benchmark's arithmetic and parsing (`npm run bench -- --peers`), kept free
// of processes and clocks so that test/bench-report.test.ts can check it.

import { assembleFile, formatError } from './asm/index';

/** The loop guest (tools/bench/loop.asm) in its three modes. */
export type LoopMode = 0 | 1 | 2;

/** The loop guest's boot sector (512 bytes, loaded at 7C00h), built with forklab's assembler. */
export function loopBootSector(mode: LoopMode, iter: number): Uint8Array {
  const file = new URL('../tools/bench/loop.asm', import.meta.url).pathname;
  const out = assembleFile(file, { defines: { MODE: String(mode), ITER: String(iter) } });
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  return out.bytes;
}

/** Instructions the loop executes for ITER, from the `mov` that loads the counter to the `out`
 *  that ends the run (`jmp done`, `xor al, al`, `out`: 3). The instructions before it (BIOS, boot sector set-up) are the same
 *  for any ITER, so the difference between two ITERs is exact in every engine.
 *  Real mode: per outer round `mov cx`, `mov si`, 1000 x 10 inner instructions, `dec dx`,
 *  `jnz`. 32-bit: 18 instructions per iteration, plus `add edi, 3` when ECX is odd. */
export function loopInstructions(mode: LoopMode, iter: number): number {
  if (mode === 0) return 1 + iter * (2 + 1000 * 10 + 2) + 3;
  return 2 + iter * 18 + Math.ceil(iter / 2) + 3;
}

/** Instructions of the whole boot sector run from 7C00h in real mode on a bare CPU (no BIOS)
 *  to its `hlt`: the set-up before the loop (segments and stack: 6; the switch to protected
 *  mode: 10 more; paging: 3 + 1024 x 5 for the page table + 5), the loop, `cli` and `hlt`. */
export function bootSectorInstructions(mode: LoopMode, iter: number): number {
  const setup = mode === 0 ? 6 : mode === 1 ? 16 : 16 + 3 + 1024 * 5 + 5;
  return setup + loopInstructions(mode, iter) + 2;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One engine on one workload: whole-process wall seconds of each round, and of the same
 *  engine's boot baseline (the image with a ~0 instruction workload). */
export interface Timings {
  runs: number[];
  baselineRuns: number[];
}

export interface Measure {
  /** Median run minus median baseline: the time the workload itself took. */
  seconds: number;
  /** Million instructions per second, when the instruction count is known. */
  mips: number | null;
}

/** The workload's own time and speed; null when it does not stand out of the boot time
 *  (the median run is not longer than the median baseline: nothing to divide by). */
export function measure(t: Timings, instructions: number | null): Measure | null {
  const seconds = median(t.runs) - median(t.baselineRuns);
  if (!(seconds > 0)) return null;
  return { seconds, mips: instructions === null ? null : instructions / seconds / 1e6 };
}

/** forklab's speed relative to a peer on the same work (> 1: forklab is faster): the ratio
 *  of the speeds when both counts are known (each engine may run the loop a different number
 *  of times, see loopScale), else the inverse ratio of the times (the same work). */
export function ratioToPeer(forklab: Measure, peer: Measure): number {
  if (forklab.mips !== null && peer.mips !== null) return forklab.mips / peer.mips;
  return peer.seconds / forklab.seconds;
}

/** How many times an engine should run a loop so that it stands out of the noise: at `scale`
 *  it took `overSeconds` beyond the boot baseline; the new scale makes it take at least
 *  `targetSeconds` (never less than `scale`, at most `maxScale`: the loop counter's width).
 *  A run that did not stand out of the boot at all gets the largest scale. */
export function loopScale(scale: number, overSeconds: number, targetSeconds: number, maxScale: number): number {
  if (!(overSeconds > 0)) return maxScale;
  return Math.max(scale, Math.min(maxScale, Math.ceil((scale * targetSeconds) / overSeconds)));
}

/** What a child runner (`bench.js --child ENGINE ...`) prints as its last line. */
export interface ChildResult {
  /** The isa-debug-exit status, or -1 when the run ended on the prompt. */
  status: number;
  /** Instructions the engine says it executed (forklab: exact; v86: its own counter). */
  instructions: number | null;
  prompt: boolean;
}

export function parseChildResult(stdout: string): ChildResult {
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  let v: unknown;
  try {
    v = JSON.parse(last);
  } catch {
    throw new Error(`child printed no result line (last line: ${JSON.stringify(last.slice(0, 120))})`);
  }
  const o = v as Partial<ChildResult>;
  if (typeof o !== 'object' || o === null || typeof o.status !== 'number') {
    throw new Error(`child result has no status: ${last.slice(0, 120)}`);
  }
  return { status: o.status, instructions: typeof o.instructions === 'number' ? o.instructions : null, prompt: o.prompt === true };
}

/** Bochs has no exit port: the guests end with `cli; hlt`, which Bochs logs. */
export const BOCHS_HALT = /HLT instruction with IF=0/;

/** QEMU's isa-debug-exit makes the process exit with the guest's status ((v << 1) | 1). */
export function qemuExitMatches(code: number | null, expectedStatus: number): boolean {
  return code === expectedStatus;
}

/** One line of the report: an engine on a workload. */
export interface Row {
  workload: string;
  engine: string;
  /** ok: measured; missing: the peer is not installed; not-measured: the peer cannot run
   *  this workload here; failed: it ran and did something else than expected. */
  state: 'ok' | 'missing' | 'not-measured' | 'failed';
  reason?: string;
  instructions: number | null;
  seconds?: number;
  baselineSeconds?: number;
  mips?: number | null;
  /** forklab's speed / this engine's speed on this workload (forklab's own row: 1). */
  forklabRatio?: number;
}

/** Turns the measurements of one workload into rows; forklab's measure is the reference for
 *  the ratios. `outcomes` maps engine name to its timings or to why it has none, and to the
 *  instructions it ran when they are not the workload's (a loop scaled for that engine). */
export function workloadRows(
  workload: string,
  workloadInstructions: number | null,
  outcomes: { engine: string; timings?: Timings; instructions?: number; state?: Row['state']; reason?: string }[],
): Row[] {
  const measured = new Map<string, Measure | null>();
  for (const o of outcomes) if (o.timings) measured.set(o.engine, measure(o.timings, o.instructions ?? workloadInstructions));
  const ref = measured.get('forklab') ?? null;
  return outcomes.map((o): Row => {
    const instructions = o.instructions ?? workloadInstructions;
    if (!o.timings) return { workload, engine: o.engine, state: o.state ?? 'failed', reason: o.reason, instructions };
    const m = measured.get(o.engine)!;
    const base = median(o.timings.baselineRuns);
    if (!m) {
      return { workload, engine: o.engine, state: 'not-measured', reason: 'the run took no longer than the boot baseline', instructions, baselineSeconds: base };
    }
    const row: Row = { workload, engine: o.engine, state: 'ok', instructions, seconds: m.seconds, baselineSeconds: base, mips: m.mips };
    if (ref) row.forklabRatio = ratioToPeer(ref, m);
    return row;
  });
}

export function formatRow(r: Row): string {
  const head = `${r.workload.padEnd(26)} ${r.engine.padEnd(14)}`;
  if (r.state !== 'ok') return `${head} ${r.state}: ${r.reason ?? ''}`;
  const count = r.instructions === null ? '' : `${(r.instructions / 1e6).toFixed(0).padStart(5)} M instr in`;
  const mips = r.mips == null ? '       -' : r.mips.toFixed(1).padStart(8);
  const ratio = r.forklabRatio === undefined ? '' : `  forklab x${r.forklabRatio.toFixed(2)}`;
  return `${head} ${count} ${r.seconds!.toFixed(3).padStart(8)} s over ${r.baselineSeconds!.toFixed(3)} s boot ${mips} MIPS${ratio}`;
}

export function rowJson(r: Row): string {
  const round = (x: number | null | undefined, d: number) => (x == null ? x : +x.toFixed(d));
  return JSON.stringify({ ...r, seconds: round(r.seconds, 4), baselineSeconds: round(r.baselineSeconds, 4), mips: round(r.mips, 1), forklabRatio: round(r.forklabRatio, 3) });
}

/** The VGA text screen (B8000h, 80x25) as QEMU's monitor prints it for `xp /2000hx 0xb8000`:
 *  lines `00000000000b8000: 0x0753 0x0765 ...` (attribute << 8 | character). Fed the
 *  monitor's output piece by piece; keeps the latest value of every cell. */
export class QemuScreenDump {
  private cells = new Array<string>(2000).fill(' ');
  private partial = '';

  feed(text: string): void {
    const lines = (this.partial + text).split(/\r?\n|\r/);
    this.partial = lines.pop()!;
    for (const line of lines) {
      const m = /([0-9a-f]{16}):((?: 0x[0-9a-f]{4})+)\s*$/.exec(line);
      if (!m) continue;
      let cell = (parseInt(m[1], 16) - 0xb8000) / 2;
      for (const w of m[2].trim().split(' ')) {
        if (cell >= 0 && cell < 2000) this.cells[cell] = String.fromCharCode(parseInt(w, 16) & 0xff);
        cell++;
      }
    }
  }

  /** One string per row. */
  rows(): string[] {
    const out: string[] = [];
    for (let r = 0; r < 25; r++) out.push(this.cells.slice(r * 80, r * 80 + 80).join(''));
    return out;
  }

  shows(text: string): boolean {
    return this.rows().some((r) => r.includes(text));
  }
}
