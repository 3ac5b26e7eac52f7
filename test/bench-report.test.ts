// The side-by-side benchmark's pure logic (tools/bench-report.ts): the loop guest's
// instruction count (checked against forklab's own icount), the arithmetic of MIPS and
// ratios, the parsing of what the engines print, and how missing peers are reported.
// No timing here: the figures come from `npm run bench -- --peers`.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Cpu } from '../emulator/cpu/cpu';
import { PhysicalMemory } from '../emulator/memory';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import {
  BOCHS_HALT,
  bootSectorInstructions,
  loopBootSector,
  formatRow,
  loopInstructions,
  loopScale,
  measure,
  median,
  parseChildResult,
  QemuScreenDump,
  qemuExitMatches,
  ratioToPeer,
  rowJson,
  workloadRows,
  type LoopMode,
} from '../tools/bench-report';

/** Boots the loop guest from a floppy in forklab; the whole machine's instruction count. */
function forklabCount(mode: LoopMode, iter: number): number {
  const img = new Uint8Array(1474560);
  img.set(loopBootSector(mode, iter));
  const m = new Machine({ fda: new DiskImage(img, floppyGeometry(img.length)!) });
  const stop = m.run(200_000_000);
  expect(stop).toEqual({ kind: 'exit', status: 1 });
  return m.instructions;
}

describe('the loop guest', () => {
  for (const [mode, base, iter] of [[0, 1, 3], [1, 2, 1001], [2, 2, 1000]] as [LoopMode, number, number][]) {
    it(`mode ${mode}: forklab executes exactly the counted instructions beyond the baseline`, () => {
      expect(forklabCount(mode, iter) - forklabCount(mode, base)).toBe(loopInstructions(mode, iter) - loopInstructions(mode, base));
    });
  }

  for (const mode of [0, 1, 2] as LoopMode[]) {
    it(`mode ${mode}: the whole boot sector on a bare CPU (npm run bench) executes its counted instructions`, () => {
      const mem = new PhysicalMemory(2 << 20);
      const cpu = new Cpu(mem);
      mem.load(0x7c00, loopBootSector(mode, 3));
      cpu.setRealMode(0, 0x7c00);
      expect(cpu.run(10_000_000)).toBe('halted');
      expect(cpu.icount).toBe(bootSectorInstructions(mode, 3));
    });
  }

  it('is one 512-byte boot sector', () => {
    const b = loopBootSector(2, 5_400_000);
    expect(b.length).toBe(512);
    expect([b[510], b[511]]).toEqual([0x55, 0xaa]);
  });

  it('counts the odd iterations of the 32-bit loop once each', () => {
    expect(loopInstructions(1, 3) - loopInstructions(1, 2)).toBe(19); // ECX = 3 is odd
    expect(loopInstructions(1, 4) - loopInstructions(1, 3)).toBe(18);
    expect(loopInstructions(0, 2) - loopInstructions(0, 1)).toBe(10004);
  });
});

describe('arithmetic', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
  });

  it('MIPS from the medians of the runs minus the boot baseline', () => {
    const m = measure({ runs: [3, 2.5, 9], baselineRuns: [0.5, 0.4, 0.6] }, 100_000_000)!;
    expect(m.seconds).toBeCloseTo(3 - 0.5, 12); // medians 3 and 0.5
    expect(m.mips).toBeCloseTo(40, 9);
    expect(measure({ runs: [1], baselineRuns: [1.2] }, 5)).toBeNull();
    expect(measure({ runs: [2], baselineRuns: [1] }, null)).toEqual({ seconds: 1, mips: null });
  });

  it("forklab's ratio to a peer: > 1 when forklab is faster", () => {
    expect(ratioToPeer({ seconds: 1, mips: 40 }, { seconds: 4, mips: 10 })).toBe(4);
    expect(ratioToPeer({ seconds: 2, mips: 20 }, { seconds: 1, mips: 40 })).toBe(0.5);
  });
});

describe("a loop's scale per engine", () => {
  it('grows the scale until the loop lasts the target, within the counter', () => {
    expect(loopScale(1, 2.5, 2, 32)).toBe(1); // slow engine: as is
    expect(loopScale(1, 0.1, 2, 32)).toBe(20);
    expect(loopScale(1, 0.01, 2, 32)).toBe(32); // at most the counter
    expect(loopScale(14, 1.2, 2, 32)).toBe(24); // a second pass corrects a cold first run
    expect(loopScale(14, 3, 2, 32)).toBe(14); // never smaller
    expect(loopScale(1, -0.05, 2, 13)).toBe(13); // no time over the boot: the largest
  });
});

describe('engine output', () => {
  it("parses the child runner's last line", () => {
    expect(parseChildResult('noise\n{"status":1,"instructions":123,"prompt":false}\n')).toEqual({ status: 1, instructions: 123, prompt: false });
    expect(parseChildResult('{"status":-1,"instructions":null,"prompt":true}')).toEqual({ status: -1, instructions: null, prompt: true });
    expect(() => parseChildResult('Error: boom\n    at x')).toThrow(/no result line.*at x/);
    expect(() => parseChildResult('{"instructions":1}')).toThrow(/no status/);
  });

  it("recognises Bochs's log of the final hlt and QEMU's exit status", () => {
    expect(BOCHS_HALT.test('00155071496i[CPU0  ] WARNING: HLT instruction with IF=0!')).toBe(true);
    expect(BOCHS_HALT.test('00000000000i[CPU0  ] CPU is in real mode (halted)')).toBe(false);
    expect(qemuExitMatches(1, 1)).toBe(true);
    expect(qemuExitMatches(0, 1)).toBe(false);
    expect(qemuExitMatches(null, 1)).toBe(false);
  });
});

describe("QEMU's monitor dump of the text screen", () => {
  const cells = (text: string) => [...text].map((c) => `0x07${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const line = (addr: number, text: string) => `${addr.toString(16).padStart(16, '0')}: ${cells(text).join(' ')}\r\n`;

  it('places the cells by address, across pieces cut anywhere, and finds the prompt in a row', () => {
    const s = new QemuScreenDump();
    const row24 = 0xb8000 + 24 * 160;
    const dump = '(qemu) xp /2000hx 0xb8000\r\n' + line(row24, '[/usr/ro') + line(row24 + 16, 'ot]# ');
    s.feed(dump.slice(0, 40));
    expect(s.shows('[/usr/root]#')).toBe(false);
    s.feed(dump.slice(40));
    expect(s.rows()[24].startsWith('[/usr/root]# ')).toBe(true);
    expect(s.shows('[/usr/root]#')).toBe(true);
    // a prompt split over two rows is no prompt
    const t = new QemuScreenDump();
    t.feed(line(0xb8000 + 80 * 2 - 12, '[/usr/root]#'));
    expect(t.shows('[/usr/root]#')).toBe(false);
    expect(t.rows()[0].endsWith('[/usr/')).toBe(true);
  });

  it('ignores the echo of the command and anything outside the screen', () => {
    const s = new QemuScreenDump();
    s.feed('xp /2000hx 0xb8000\n' + line(0xb7ff0, 'AAAAAAAA') + line(0xb8fa0, 'BBBBBBBB'));
    expect(s.rows().join('').trim()).toBe('');
  });
});

describe('rows', () => {
  const rows = workloadRows('flat', 100e6, [
    { engine: 'forklab', timings: { runs: [3, 3], baselineRuns: [1, 1] } },
    { engine: 'qemu-tcg', timings: { runs: [0.6], baselineRuns: [0.1] } },
    { engine: 'bochs', state: 'missing', reason: 'bochs not found' },
    { engine: 'v86', timings: { runs: [0.5], baselineRuns: [0.5] } },
    { engine: 'v86-nojit', state: 'failed', reason: 'exit 3' },
  ]);

  it('measures each engine against forklab', () => {
    expect(rows[0]).toMatchObject({ engine: 'forklab', state: 'ok', seconds: 2, mips: 50, forklabRatio: 1 });
    expect(rows[1]).toMatchObject({ engine: 'qemu-tcg', state: 'ok', mips: 200, forklabRatio: 0.25 });
  });

  it('reports a missing peer, a failed one and an unmeasurable one as such, with no figures', () => {
    expect(rows[2]).toEqual({ workload: 'flat', engine: 'bochs', state: 'missing', reason: 'bochs not found', instructions: 100e6 });
    expect(formatRow(rows[2])).toMatch(/^flat +bochs +missing: bochs not found$/);
    expect(rows[3]).toMatchObject({ engine: 'v86', state: 'not-measured' });
    expect(rows[3].mips).toBeUndefined();
    expect(rows[4]).toMatchObject({ engine: 'v86-nojit', state: 'failed', reason: 'exit 3' });
    expect(JSON.parse(rowJson(rows[2]))).toMatchObject({ engine: 'bochs', state: 'missing' });
  });

  it('prints MIPS and the ratio', () => {
    expect(formatRow(rows[1])).toMatch(/qemu-tcg +100 M instr in +0\.500 s over 0\.100 s boot +200\.0 MIPS +forklab x0\.25$/);
    expect(JSON.parse(rowJson(rows[1]))).toMatchObject({ mips: 200, forklabRatio: 0.25, seconds: 0.5 });
  });

  it('compares speeds, not times, when an engine ran the loop more times than forklab', () => {
    // qemu ran 20x the loop in 4 s: 500 MIPS; forklab 100 M in 2 s: 50 MIPS
    const r = workloadRows('flat', 100e6, [
      { engine: 'forklab', timings: { runs: [3], baselineRuns: [1] } },
      { engine: 'qemu-tcg', timings: { runs: [4.5], baselineRuns: [0.5] }, instructions: 2000e6 },
    ]);
    expect(r[1]).toMatchObject({ instructions: 2000e6, seconds: 4, mips: 500, forklabRatio: 0.1 });
    expect(formatRow(r[1])).toMatch(/qemu-tcg +2000 M instr in +4\.000 s/);
  });

  it('has no ratios without a forklab figure', () => {
    const r = workloadRows('w', null, [{ engine: 'forklab', state: 'failed', reason: 'x' }, { engine: 'qemu-tcg', timings: { runs: [2], baselineRuns: [1] } }]);
    expect(r[1].forklabRatio).toBeUndefined();
    expect(formatRow(r[1])).toMatch(/ - MIPS$/);
  });
});

describe('bad options', () => {
  const tsx = execFileSync('node', ['-e', "console.log(require.resolve('tsx'))"], { cwd: new URL('..', import.meta.url).pathname }).toString().trim();
  for (const args of [['--peers', '--rounds', 'x'], ['--peers', '--only'], ['--peers', '--only', 'nothing-called-so'], ['--fast']]) {
    it(`bench ${args.join(' ')}: one line, exit 2`, () => {
      const r = spawnSync(process.execPath, ['--import', tsx, new URL('../tools/bench.ts', import.meta.url).pathname, ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^bench: /);
    });
  }
});
