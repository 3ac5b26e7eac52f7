// `npm run bench -- --peers [--rounds N] [--only NAME,...] [--json]`: the same guest images in
// forklab and in every peer found (v86 from npm with and without its JIT, qemu-system-i386
// TCG, Bochs), round robin. Time = whole-process wall time minus the same engine's boot
// baseline (the flat loop's image with 2 iterations: the boot and ~50 instructions), median
// of the rounds. A calibration pass first sizes each loop per engine, so that each engine runs
// it for at least LOOP_SECONDS; speeds (and ratios) then come from each engine's own count.
// Arithmetic and parsing: bench-report.ts; the in-process engines: bench-child.ts.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { buildImage } from './build-image';
import { UsageError } from './cli-util';
import { forklabLaunch } from './node-flags';
import { V86_BIOS, V86_VGABIOS, v86Module } from './bench-child';
import { DEFAULT_ENGINE } from '../emulator/cpu/cpu';
import { BOCHS_HALT, QemuScreenDump, bootSectorInstructions, formatRow, loopBootSector, loopScale, parseChildResult, qemuExitMatches, rowJson, workloadRows, type LoopMode, type Row, type Timings } from './bench-report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LINUX_DIR = join(ROOT, '..', 'shared', 'guests', 'linux-0.11');
const LINUX_PROMPT = '[/usr/root]#';
const FLOPPY = 1474560;
const BOCHS_BIOS = '/usr/share/bochs/BIOS-bochs-latest';
const BOCHS_VGABIOS = '/usr/share/vgabios/vgabios.bin';

/** What one engine is asked to run. */
interface Job {
  fda: string;
  hda?: string;
  /** Ends on this text on the screen instead of the F4h exit. */
  prompt?: string;
  /** The F4h status the guest ends with. */
  status: number;
  timeoutMs: number;
}

interface RunResult {
  seconds: number;
  instructions: number | null;
}

interface Engine {
  name: string;
  /** Why the engine cannot run here, or null. */
  missing: string | null;
  /** Why it cannot run this job (but others), or null. */
  cannot(job: Job): string | null;
  run(job: Job): Promise<RunResult>;
}

interface Workload {
  name: string;
  job: Job;
  /** Instructions of the workload beyond its baseline: known for the loops, forklab's count
   *  for the others (learned from forklab's runs; the peers' BIOSes differ). */
  instructions: number | null;
  /** A CPU loop: the loop, run by each engine `iter` x its own scale (see calibrate). */
  loop?: { mode: LoopMode; iter: number };
  /** A loop's job and its exact count beyond the baseline, per engine (after calibration). */
  scaled?: Map<string, { job: Job; instructions: number }>;
}

/** Runs a process; resolves with the wall seconds from spawn to the end, the exit code and
 *  the output. `endsWhen` may end it early (the time is then taken at that moment). */
/** The process groups running now: the engines run detached (Bochs must have no terminal),
 *  so an interrupt of the bench does not reach them by itself. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

interface TimedOptions {
  /** Ends the run early when true for the output so far (or the latest piece, see below). */
  endsWhen?: (out: string, piece: string) => boolean;
  env?: NodeJS.ProcessEnv;
  /** Written to the process's stdin every `everyMs`, once `ready` has been seen in the output
   *  since the last time (QEMU's monitor is asked for the screen; no backlog of requests when
   *  it answers slower than asked). */
  poll?: { everyMs: number; input: string; ready: string };
}

function timed(cmd: string, args: string[], timeoutMs: number, o: TimedOptions = {}): Promise<{ seconds: number; code: number | null; out: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { stdio: [o.poll ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true, env: o.env ?? process.env });
    let answered = false;
    const poller = o.poll
      ? setInterval(() => {
          if (!answered) return;
          answered = false;
          p.stdin?.write(o.poll!.input);
        }, o.poll.everyMs)
      : undefined;
    p.stdin?.on('error', () => {}); // the process may be gone between two polls
    let out = '';
    let ended = false;
    let seconds = 0;
    if (p.pid !== undefined) running.add(p.pid);
    const kill = () => killGroup(p.pid!);
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`no end after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const take = (d: Buffer) => {
      const piece = d.toString('latin1');
      out += piece;
      if (o.poll && (out.slice(-piece.length - o.poll.ready.length).includes(o.poll.ready))) answered = true;
      if (out.length > 4 << 20) out = out.slice(-(1 << 20));
      if (!ended && o.endsWhen?.(out, piece)) {
        ended = true;
        seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        kill();
      }
    };
    p.stdout!.on('data', take);
    p.stderr!.on('data', take);
    p.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(poller);
      reject(e);
    });
    p.on('close', (code) => {
      running.delete(p.pid!);
      clearTimeout(timer);
      clearInterval(poller);
      if (!ended) seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      resolve({ seconds, code, out, ended });
    });
  });
}

function lastLines(out: string): string {
  return out.trim().split('\n').slice(-3).join(' | ').slice(0, 300);
}

/** forklab and v86 run in a child of this very script (bench-child.ts); forklab's started as
 *  the forklab command starts node (v86's with node's defaults, as its users run it). */
function childEngine(name: string, missing: string | null): Engine {
  const self = fileURLToPath(import.meta.url);
  const launch = name.startsWith('forklab') ? forklabLaunch() : { env: {}, flags: [] };
  const env = { ...process.env, ...launch.env };
  const nodeFlags = launch.flags;
  return {
    name,
    missing,
    cannot: () => null,
    async run(job) {
      const args = [...nodeFlags, self, '--child', name, '--fda', job.fda];
      if (job.hda) args.push('--hda', job.hda);
      if (job.prompt) args.push('--prompt', job.prompt);
      const r = await timed(process.execPath, args, job.timeoutMs, { env });
      let res;
      try {
        res = parseChildResult(r.out);
      } catch (e) {
        throw new Error(`${(e as Error).message}; exit ${r.code}: ${lastLines(r.out)}`);
      }
      if (job.prompt ? !res.prompt : res.status !== job.status) throw new Error(`ended with status ${res.status}, expected ${job.status}`);
      return { seconds: r.seconds, instructions: res.instructions };
    },
  };
}

function hasCommand(cmd: string, arg = '--version'): boolean {
  const r = spawnSync(cmd, [arg], { stdio: 'ignore', timeout: 10_000 });
  return !r.error;
}

function qemu(): Engine {
  return {
    name: 'qemu-tcg',
    missing: hasCommand('qemu-system-i386') ? null : 'qemu-system-i386 not found (Debian: qemu-system-x86)',
    cannot: () => null,
    async run(job) {
      const args = ['-accel', 'tcg', '-m', '16', '-display', 'none', '-serial', 'none', '-parallel', 'none', '-net', 'none', '-snapshot',
        '-drive', `file=${job.fda},if=floppy,format=raw`, '-boot', 'a', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];
      if (job.prompt) {
        // the original hd.c of Linux 0.11 needs a slave drive in QEMU (its README says why);
        // the prompt is read off the text screen through the monitor every 50 ms
        for (const d of ['hda', 'hdb']) args.push('-drive', `file=${job.hda},if=ide,index=${d === 'hda' ? 0 : 1},format=raw`);
        const screen = new QemuScreenDump();
        const prompt = job.prompt;
        const r = await timed('qemu-system-i386', [...args, '-monitor', 'stdio'], job.timeoutMs, {
          poll: { everyMs: 50, input: 'xp /2000hx 0xb8000\n', ready: '(qemu)' },
          endsWhen: (_out, piece) => (screen.feed(piece), screen.shows(prompt)),
        });
        if (!r.ended) throw new Error(`ended without the prompt (exit ${r.code}): ${lastLines(r.out)}`);
        return { seconds: r.seconds, instructions: null };
      }
      const r = await timed('qemu-system-i386', [...args, '-monitor', 'none'], job.timeoutMs);
      if (!qemuExitMatches(r.code, job.status)) throw new Error(`exit ${r.code}, expected ${job.status}: ${lastLines(r.out)}`);
      return { seconds: r.seconds, instructions: null };
    },
  };
}

/** Debian installs Bochs's plugins under /usr/lib/<multiarch triplet>/bochs/plugins. */
function hasBochsTermDisplay(): boolean {
  try {
    return readdirSync('/usr/lib').some((d) => existsSync(join('/usr/lib', d, 'bochs', 'plugins', 'libbx_term_gui.so')));
  } catch {
    return false;
  }
}

function bochs(dir: string): Engine {
  let missing: string | null = null;
  if (!hasCommand('bochs', '--help')) missing = 'bochs not found (Debian: bochs bochsbios vgabios bochs-term)';
  else if (!existsSync(BOCHS_BIOS)) missing = `${BOCHS_BIOS} not found (Debian: bochsbios)`;
  else if (!existsSync(BOCHS_VGABIOS)) missing = `${BOCHS_VGABIOS} not found (Debian: vgabios)`;
  else if (!hasBochsTermDisplay()) missing = "Bochs's term display not found (Debian: bochs-term)";
  const debuggerCommands = join(dir, 'bochs-continue');
  let n = 0;
  return {
    name: 'bochs',
    missing,
    cannot: (job) => (job.prompt ? "the prompt is only on the screen, which Bochs's term display draws on a terminal of its own" : null),
    async run(job) {
      // Debian's Bochs has no 'nogui' display and is built with its debugger: the term
      // display (bochs-term) gets a terminal of its own (we start it without one), and
      // the debugger is told to continue. It has no exit port: the end is the `cli; hlt`
      // every guest here ends with, which Bochs logs.
      writeFileSync(debuggerCommands, 'c\n');
      const rc = join(dir, `bochsrc-${n++}`);
      writeFileSync(rc, [
        'megs: 16',
        `romimage: file=${BOCHS_BIOS}`,
        `vgaromimage: file=${BOCHS_VGABIOS}`,
        `floppya: 1_44=${job.fda}, status=inserted`,
        'boot: floppy',
        'display_library: term',
        'sound: waveoutdrv=dummy',
        'clock: sync=none',
        'log: -',
        'panic: action=fatal',
        'error: action=report',
        'info: action=report',
        'debug: action=ignore',
        '',
      ].join('\n'));
      const r = await timed('bochs', ['-q', '-f', rc, '-rc', debuggerCommands], job.timeoutMs, {
        endsWhen: (out) => BOCHS_HALT.test(out.slice(-4096)),
        env: { ...process.env, TERM: 'dumb' },
      });
      if (!r.ended) throw new Error(`ended without the guest's final hlt (exit ${r.code}): ${lastLines(r.out)}`);
      return { seconds: r.seconds, instructions: null };
    },
  };
}

function v86Missing(): string | null {
  try {
    v86Module();
  } catch {
    return "npm package 'v86' not installed (a devDependency: npm install)";
  }
  for (const f of [V86_BIOS, V86_VGABIOS]) if (!existsSync(f)) return `${f} not found (Debian: seabios, vgabios)`;
  return null;
}

/** The loop guest built with forklab's assembler, padded to a 1.44 MB floppy. */
function loopImage(dir: string, mode: LoopMode, iter: number): string {
  const img = new Uint8Array(FLOPPY);
  img.set(loopBootSector(mode, iter));
  const file = join(dir, `loop-${mode}-${iter}.img`);
  writeFileSync(file, img);
  return file;
}

/** A loop's instructions beyond the boot baseline: the difference of the two boot sectors'
 *  counts, exact in every engine (the BIOS runs the same before either). */
const loopCount = (mode: LoopMode, iter: number) => bootSectorInstructions(mode, iter) - bootSectorInstructions(BASELINE.mode, BASELINE.iter);

export interface PeersOptions {
  rounds: number;
  only: string[];
  json: boolean;
}

/** The loops at scale 1 (100 M and 50 M instructions). An engine that runs one in less than
 *  LOOP_SECONDS beyond its boot runs it that many times more (up to the counter's width): a
 *  fast engine's 0.1 s would be lost in its boot's noise (v86 loads its wasm, QEMU its ROMs). */
const LOOPS: { name: string; mode: LoopMode; iter: number }[] = [
  { name: 'flat32-alu-mem-call-jcc', mode: 1, iter: 5_400_000 },
  { name: 'paged32-alu-mem-call-jcc', mode: 2, iter: 5_400_000 },
  { name: 'real16-alu-mem-call-loop', mode: 0, iter: 5_000 },
];
const LOOP_SECONDS = 2;
/** The largest scale: the real-mode loop's outer counter is DX (65535 rounds at most); the
 *  32-bit ones stop at 32 x 100 M instructions. */
const maxScale = (mode: LoopMode, iter: number) => (mode === 0 ? Math.floor(0xffff / iter) : 32);
/** Every engine's boot baseline: the flat loop with 2 iterations (~50 instructions after the
 *  BIOS). The BIOS does the same before any of the boot sectors, so a loop's instructions
 *  beyond the baseline are the difference of the two boot sectors' counts, exactly. */
const BASELINE = { mode: 1 as LoopMode, iter: 2 };

export async function peersMain(o: PeersOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-bench-'));
  const interrupted = (signal: NodeJS.Signals) => {
    for (const pid of running) killGroup(pid);
    rmSync(dir, { recursive: true, force: true });
    console.error(`bench: ${signal}`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    await measureAll(o, dir);
  } finally {
    for (const pid of running) killGroup(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureAll(o: PeersOptions, dir: string): Promise<void> {
  const log = (s: string) => process.stderr.write(s);
  const v86m = v86Missing();
  // forklab runs its default engine; its other engine is measured as one more peer
  const other = DEFAULT_ENGINE === 'jit' ? 'forklab-interp' : 'forklab-jit';
  const engines: Engine[] = [childEngine('forklab', null), childEngine(other, null), childEngine('v86', v86m), childEngine('v86-nojit', v86m), qemu(), bochs(dir)];

  const loopTimeout = 180_000;
  const baseline: Job = { fda: loopImage(dir, BASELINE.mode, BASELINE.iter), status: 1, timeoutMs: loopTimeout };
  const workloads: Workload[] = [];
  for (const l of LOOPS) {
    const instructions = loopCount(l.mode, l.iter);
    workloads.push({ name: l.name, job: { fda: loopImage(dir, l.mode, l.iter), status: 1, timeoutMs: loopTimeout }, instructions, loop: { mode: l.mode, iter: l.iter } });
  }
  const kernel = join(dir, 'forklab.img');
  writeFileSync(kernel, buildImage(ROOT).image);
  // our kernel's demo ends with power_off status 0: isa-debug-exit status 1
  workloads.push({ name: 'pc-kernel-fork-demo', job: { fda: kernel, status: 1, timeoutMs: loopTimeout }, instructions: null });
  const linuxSkip = existsSync(join(LINUX_DIR, 'Image')) ? null : `${LINUX_DIR} not present`;
  if (!linuxSkip && wanted('linux-0.11-to-prompt', o.only)) {
    const image = new Uint8Array(FLOPPY);
    image.set(readFileSync(join(LINUX_DIR, 'Image')));
    const fda = join(dir, 'linux-Image.img');
    writeFileSync(fda, image);
    const hda = join(dir, 'hdc-0.11.img');
    writeFileSync(hda, gunzipSync(readFileSync(join(LINUX_DIR, 'hdc-0.11.img.gz'))));
    workloads.push({ name: 'linux-0.11-to-prompt', job: { fda, hda, prompt: LINUX_PROMPT, status: -1, timeoutMs: 300_000 }, instructions: null });
  }
  const chosen = workloads.filter((w) => wanted(w.name, o.only));
  if (chosen.length === 0) throw new UsageError(`--only ${o.only.join(',')}: no workload matches (${workloads.map((w) => w.name).join(', ')})`);

  type Key = string;
  const times = new Map<Key, number[]>();
  const counts = new Map<Key, number[]>();
  const failures = new Map<Key, string>();
  const usable = engines.filter((e) => !e.missing);
  const record = async (e: Engine, key: Key, job: Job) => {
    const k = `${e.name}|${key}`;
    if (failures.has(k)) return;
    try {
      const r = await e.run(job);
      times.set(k, [...(times.get(k) ?? []), r.seconds]);
      if (r.instructions !== null) counts.set(k, [...(counts.get(k) ?? []), r.instructions]);
    } catch (err) {
      failures.set(k, (err as Error).message);
    }
  };
  // calibration, not counted: each engine's boot and each loop at scale 1 once; the loops
  // are then rebuilt at the scale that makes them last LOOP_SECONDS in that engine
  log('calibration:');
  const loops = chosen.filter((w) => w.loop);
  for (const e of usable) {
    log(` ${e.name}`);
    let boot: number;
    try {
      boot = (await e.run(baseline)).seconds;
    } catch (err) {
      failures.set(`${e.name}|boot`, (err as Error).message);
      continue;
    }
    for (const w of loops) {
      const { mode, iter } = w.loop!;
      // a second run at the first estimate's scale corrects it: the first run of a JIT engine
      // is its slowest (compiling), which would leave the fast engines short of LOOP_SECONDS
      let scale = 1;
      let job = w.job;
      try {
        for (let pass = 0; pass < 2; pass++) {
          const over = (await e.run(job)).seconds - boot;
          const next = loopScale(scale, over, LOOP_SECONDS, maxScale(mode, iter));
          if (next <= scale) break;
          scale = next;
          job = { ...w.job, fda: loopImage(dir, mode, iter * scale) };
        }
      } catch (err) {
        failures.set(`${e.name}|${w.name}`, (err as Error).message);
      }
      (w.scaled ??= new Map()).set(e.name, { job, instructions: loopCount(mode, iter * scale) });
    }
  }
  log('\n');
  const jobOf = (e: Engine, w: Workload) => w.scaled?.get(e.name)?.job ?? w.job;

  for (let round = 1; round <= o.rounds; round++) {
    log(`round ${round}/${o.rounds}:`);
    for (const e of usable) await record(e, 'boot', baseline);
    for (const w of chosen) {
      log(` ${w.name}`);
      for (const e of usable) if (!e.cannot(w.job)) await record(e, w.name, jobOf(e, w));
    }
    log('\n');
  }

  if (linuxSkip && wanted('linux-0.11-to-prompt', o.only)) {
    const r: Row = { workload: 'linux-0.11-to-prompt', engine: 'every', state: 'not-measured', reason: linuxSkip, instructions: null };
    console.log(o.json ? rowJson(r) : formatRow(r));
  }
  for (const w of chosen) {
    let instructions = w.instructions;
    // forklab's icount (either engine) must agree with the loop's count; for the other
    // workloads the default engine's count is the workload's
    for (const name of ['forklab', other]) {
      const fr = counts.get(`${name}|${w.name}`);
      const fb = counts.get(`${name}|boot`);
      if (!fr?.length || !fb?.length) continue;
      const own = fr[0] - fb[0];
      if (fr.some((c) => c !== fr[0])) throw new Error(`${w.name}: ${name}'s instruction count differs between rounds: ${fr.join(', ')}`);
      const expected = w.scaled?.get(name)?.instructions;
      if (expected !== undefined && own !== expected) throw new Error(`${w.name}: ${name} executed ${own} instructions beyond the baseline, the loop's count is ${expected}`);
      // (to the prompt: up to the check that saw it, within 100,000 instructions)
      if (instructions === null && name === 'forklab') instructions = own;
    }
    const rows: Row[] = workloadRows(
      w.name,
      instructions,
      engines.map((e) => {
        if (e.missing) return { engine: e.name, state: 'missing' as const, reason: e.missing };
        const why = e.cannot(w.job);
        if (why) return { engine: e.name, state: 'not-measured' as const, reason: why };
        const fail = failures.get(`${e.name}|${w.name}`) ?? failures.get(`${e.name}|boot`);
        if (fail) return { engine: e.name, state: 'failed' as const, reason: fail };
        const timings: Timings = { runs: times.get(`${e.name}|${w.name}`)!, baselineRuns: times.get(`${e.name}|boot`)! };
        return { engine: e.name, timings, instructions: w.scaled?.get(e.name)?.instructions };
      }),
    );
    for (const r of rows) console.log(o.json ? rowJson(r) : formatRow(r));
  }
}

function wanted(name: string, only: string[]): boolean {
  return only.length === 0 || only.some((s) => name.includes(s));
}
