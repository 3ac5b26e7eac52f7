// forklab run --save-state/--at, --load-state, --record, --replay through the command, as a
// user runs them; every bad file is one line and exit 2.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { formatInputLog, InputRecorder } from '../emulator/input-log';
import { decodeState, encodeState } from '../tools/state-file';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';
import { expectOneLine, forklab } from './cli-helpers';
import { echoImage, stateDiff } from './snapshot-helpers';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'forklab-state-'));
const p = (f: string) => join(dir, f);

describe('forklab run --save-state / --load-state', () => {
  let full: ReturnType<typeof forklab>;
  beforeAll(() => {
    const { image, symbols } = buildImage(ROOT);
    writeFileSync(p('forklab.img'), image);
    writeFileSync(p('kernel.map'), formatSymbolMap(symbols));
    full = forklab(['run', p('forklab.img'), '--save-state', p('at-copy.state'), '--at', 'copy_process']);
  }, 120_000);

  it('saves at the first copy_process and the run goes on to the end', () => {
    expect(full.status).toBe(1); // the demo powers off with 0: (0 << 1) | 1
    expect(full.stderr).toMatch(/^forklab: state saved to .*at-copy\.state at instruction \d+\n$/);
    expect(full.stdout).toMatch(/every check passed/);
  });

  it('a run from the state prints exactly the rest of the uninterrupted run', () => {
    const r = forklab(['run', p('forklab.img'), '--load-state', p('at-copy.state')]);
    expect(r.status).toBe(1);
    expect(r.stdout.length).toBeGreaterThan(1000);
    expect(full.stdout.endsWith(r.stdout)).toBe(true);
    expect(r.stdout).not.toBe(full.stdout);
  }, 60_000);

  it('--at ICOUNT saves at that instruction, and the file round-trips to the same state', () => {
    const r = forklab(['run', p('forklab.img'), '--save-state', p('at-n.state'), '--at', '300000', '--max-instructions', '300000']);
    expect(r.stderr).toMatch(/state saved to .* at instruction 300000\n/);
    const s = decodeState(readFileSync(p('at-n.state')));
    expect(s.icount).toBe(300000);
    expect(stateDiff(decodeState(encodeState(s)), s)).toBeNull();
  });

  it('bad state files and a machine that does not fit: one line, exit 2', () => {
    const good = readFileSync(p('at-copy.state'));
    writeFileSync(p('truncated.state'), good.subarray(0, good.length - 100));
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 200] ^= 0x40;
    writeFileSync(p('corrupt.state'), corrupt);
    const foreign = Buffer.from(good);
    foreign.writeUInt32LE(99, 8);
    writeFileSync(p('foreign.state'), foreign);
    const img = p('forklab.img');
    expectOneLine(forklab(['run', img, '--load-state', p('truncated.state')]), /^forklab: --load-state '.*truncated\.state': state file is truncated$/);
    expectOneLine(forklab(['run', img, '--load-state', p('corrupt.state')]), /^forklab: --load-state '.*corrupt\.state': state file is corrupt \(checksum mismatch\)$/);
    expectOneLine(forklab(['run', img, '--load-state', p('foreign.state')]), /^forklab: --load-state '.*': state file version 99; this forklab reads version 1$/);
    expectOneLine(forklab(['run', img, '--load-state', p('kernel.map')]), /^forklab: --load-state '.*': not a forklab state file \(bad magic\)$/);
    expectOneLine(forklab(['run', img, '--load-state', p('nothing.state')]), /^forklab: --load-state '.*': cannot read the file$/);
    expectOneLine(forklab(['run', img, '--mem', '8M', '--load-state', p('at-copy.state')]), /^forklab: --load-state '.*': state: the state is for 16 MB of memory, this machine has 8 MB \(--mem\)$/);
    expectOneLine(forklab(['run', '--fda', img, '--hda', img, '--load-state', p('at-copy.state')]), /^forklab: --load-state '.*': state: the state is for disks fda, this machine has fda,hda$/);
    const other = Buffer.from(readFileSync(img));
    other[other.length - 1] ^= 1;
    writeFileSync(p('other.img'), other);
    expectOneLine(forklab(['run', p('other.img'), '--load-state', p('at-copy.state')]), /^forklab: --load-state '.*': state: fda: not the disk image the state was taken with/);
    expectOneLine(forklab(['run', img, '--save-state', p('x.state')]), /^forklab: --save-state FILE and --at ICOUNT\|SYMBOL go together$/);
    expectOneLine(forklab(['run', img, '--save-state', p('x.state'), '--at', 'no_such_symbol']), /^forklab: --at: no symbol 'no_such_symbol' in the map$/);
  }, 120_000);
});

describe('forklab run --record / --replay', () => {
  it('a recorded session replays through the command with the same output', () => {
    const image = echoImage();
    writeFileSync(p('echo.img'), image);
    const bytes: number[] = [];
    const m = new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!), onSerial: (b) => bytes.push(b) });
    const rec = new InputRecorder(m);
    m.run(300_000);
    rec.typeText('ok');
    m.run(4_000_000, 4_000_000);
    rec.typeText('\r');
    expect(m.run(50_000_000)).toEqual({ kind: 'exit', status: 1 });
    writeFileSync(p('session.log'), formatInputLog(rec.log));
    const r = forklab(['run', p('echo.img'), '--replay', p('session.log')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(Buffer.from(bytes).toString('latin1'));
    expect(r.stdout).toMatch(/^ko@[0-9a-f]{2}\nkk@[0-9a-f]{2}\nk\r@[0-9a-f]{2}\n$/);
  });

  it('--record writes a log (no terminal here: no keys) that --replay reads back', () => {
    const r = forklab(['run', p('echo.img'), '--record', p('empty.log'), '--max-instructions', '2000']);
    expect(r.status).toBe(124);
    expect(readFileSync(p('empty.log'), 'utf8')).toBe('forklab-input 1\n');
    expect(forklab(['run', p('echo.img'), '--replay', p('empty.log'), '--max-instructions', '2000']).status).toBe(124);
  });

  it('piped stdin is recorded under --record, and --replay types it again at the same moments', () => {
    writeFileSync(p('echo.img'), echoImage());
    const live = forklab(['run', p('echo.img'), '--record', p('piped.log')], { input: 'ab\r' });
    expect(live.stderr).toBe('');
    expect(live.status).toBe(1);
    expect(live.stdout).toMatch(/^ka@[0-9a-f]{2}\nkb@[0-9a-f]{2}\nk\r@[0-9a-f]{2}\n$/);
    const log = readFileSync(p('piped.log'), 'utf8');
    expect(log).toMatch(/^forklab-input 1\n(\d+ \d+ type [0-9a-f]{2}\n){3}$/);
    expect(log.trim().split('\n').slice(1).map((l) => l.split(' ')[3])).toEqual(['61', '62', '0d']);
    // the replay ignores what is piped now and types what was recorded, where it was
    const again = forklab(['run', p('echo.img'), '--replay', p('piped.log')], { input: 'zzz' });
    expect(again.stderr).toBe('');
    expect(again.status).toBe(1);
    expect(again.stdout).toBe(live.stdout);
  });

  it('bad logs: one line, exit 2', () => {
    writeFileSync(p('bad.log'), 'forklab-input 1\n5 1 keys 1c\n');
    expectOneLine(forklab(['run', p('echo.img'), '--replay', p('bad.log')]), /^forklab: --replay '.*bad\.log': input log line 2: the moments go backwards$/);
    expectOneLine(forklab(['run', p('echo.img'), '--replay', p('echo.img')]), /^forklab: --replay '.*': not a forklab input log/);
    expectOneLine(forklab(['run', p('echo.img'), '--replay', p('empty.log'), '--record', p('r.log')]), /^forklab: --record and --replay: one or the other$/);
  });
});
