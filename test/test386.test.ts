// test386 (../shared/conformance/test386, see its upstream/README.md): the ROM 386 emulator
// authors run first. Both ROMs are built with NASM (build.sh: results on port E9h, POST
// codes on port 190h) and run as the machine's firmware. Each stage must hand over to the
// next (so a regression names the stage that broke), both ROMs must reach POST FF, and the
// stage-0xEE lines (arithmetic results and flags) must equal the reference recorded upstream.
// Both ROMs run on each engine (DESIGN decision 11); the jit compiles a block on its first
// run, so that nearly every instruction of the ROMs runs compiled.

import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, type MachineStop } from '../emulator/machine';
import type { Engine } from '../emulator/cpu/cpu';
import { IN_CI, oracle } from './oracle';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = resolve(ROOT, '../shared/conformance/test386');

function dataPresent(): boolean {
  if (existsSync(join(DIR, 'build.sh'))) return true;
  const msg = `test386 sources not found at ${DIR}`;
  if (IN_CI) throw new Error(`${msg} (required when CI=true)`);
  console.warn(`skipping: ${msg}`);
  return false;
}
const RUN = dataPresent() && oracle('nasm');

/** Instructions a ROM may take (it needs about 80 million). */
const BUDGET = 300_000_000;
const POST_PORT = 0x190;

/** Stage names from the upstream README's POST table ("| 0x09 | Stack functionality * |"). */
function stageNames(): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of readFileSync(join(DIR, 'upstream/README.md'), 'utf8').split('\n')) {
    const m = /^\|\s*0x([0-9A-Fa-f]{2})\s*\|\s*(.*?)\s*\*{0,3}\s*\|\s*$/.exec(line);
    if (m) names.set(parseInt(m[1], 16), m[2]);
  }
  return names;
}

/** The stages in the order the ROMs run them (the 64 KB ROM posts 0x22 too, with the
 *  task-switch tests left out). */
const ORDER = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x20, 0x21, 0x22, 0x0b, 0x0c, 0x0d, 0x0e,
  0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0xe0, 0xee, 0xff];

interface Run {
  posts: number[];
  output: string;
  stop: MachineStop;
  /** blocks the jit compiled */
  compiled: number;
}

function runRom(path: string, engine: Engine): Run {
  const bytes: number[] = [];
  const m = new Machine({ firmware: new Uint8Array(readFileSync(path)), onDebugcon: (b) => bytes.push(b), engine, jitThreshold: 1 });
  const posts: number[] = [];
  m.hook('port', (kind, _port, _size, value) => {
    if (kind === 'out') posts.push(value & 0xff);
  }, { begin: POST_PORT, end: POST_PORT });
  const stop = m.run(BUDGET);
  return { posts, output: Buffer.from(bytes).toString('latin1'), stop, compiled: m.cpu.codeCache.added };
}

/** Where the POST sequence stops matching ORDER: the stage that did not hand over. */
function describeFailure(run: Run, stage: number, names: Map<number, string>): string {
  const last = run.posts[run.posts.length - 1];
  const name = (c: number | undefined) => (c === undefined ? 'none' : `0x${c.toString(16).padStart(2, '0')} ${names.get(c) ?? '?'}`);
  return `stage ${name(stage)} did not complete: last POST ${name(last)}, stop ${JSON.stringify(run.stop).slice(0, 200)}`;
}

describe.runIf(RUN).each(['interp', 'jit'] as Engine[])('test386 (%s engine)', (engine) => {
  const names = RUN ? stageNames() : new Map<number, string>();
  const runs: Record<string, Run> = {};
  const roms = [
    { file: 'test386.bin', stages: ORDER },
    { file: 'test386-128k.bin', stages: ORDER },
  ];

  beforeAll(() => {
    const out = mkdtempSync(join(tmpdir(), 'forklab-test386-'));
    try {
      execFileSync('bash', [join(DIR, 'build.sh'), out], { stdio: 'pipe' });
      for (const r of roms) runs[r.file] = runRom(join(out, r.file), engine);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it('the README names every stage the ROMs run', () => {
    for (const s of ORDER) expect(names.has(s), `0x${s.toString(16)}`).toBe(true);
  });

  for (const rom of roms) {
    describe(rom.file, () => {
      // one test per stage: it passes when the ROM moves on to the next stage
      rom.stages.slice(0, -1).forEach((stage, k) => {
        const next = rom.stages[k + 1];
        it(`stage 0x${stage.toString(16).padStart(2, '0')} ${names.get(stage) ?? ''}`, () => {
          const run = runs[rom.file];
          const at = run.posts.indexOf(stage);
          expect(at >= 0 && run.posts[at + 1] === next, describeFailure(run, stage, names)).toBe(true);
        });
      });

      it('POSTs the stages in order, ends at POST FF and halts', () => {
        const run = runs[rom.file];
        expect(run.posts).toEqual(rom.stages);
        expect(run.stop.kind).toBe('halted');
        if (engine === 'jit') expect(run.compiled).toBeGreaterThan(100);
        else expect(run.compiled).toBe(0);
      });

      it('prints the stage 0xEE results exactly as the reference', () => {
        const want = readFileSync(join(DIR, 'upstream/test386-EE-reference.txt'), 'latin1').split('\n');
        const got = runs[rom.file].output.split('\n');
        const first = want.findIndex((line, k) => got[k] !== line);
        const where = first < 0 ? 'identical' : `line ${first + 1}: got '${got[first]}', want '${want[first]}'`;
        expect(where).toBe('identical');
        expect(got.length).toBe(want.length);
      });
    });
  }
});
