// Where forklab's output goes can fail: a reader that closes the pipe (`| head -1`) ends the
// command quietly, as cat does; a full disk (/dev/full) is one line and exit 74, for stdout
// and for every file option that writes (run --serial, trace -o, qemu-log -o, asm -o).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../tools/build-image';

const dir = mkdtempSync(join(tmpdir(), 'forklab-cli-output-'));
const img = join(dir, 'forklab.img');
const big = join(dir, 'big.bin');

beforeAll(() => {
  writeFileSync(img, buildImage('.').image);
  writeFileSync(big, Buffer.alloc(4 << 20, 0x90)); // 4 MB of nops: far more than a pipe holds
});

/** Runs `forklab ARGS` in bash with stdout into `sink` (a shell fragment); its status and stderr. */
function piped(args: string[], sink: string): { status: number; stderr: string } {
  const err = join(dir, 'stderr.txt');
  const cmd = `node bin/forklab.js ${args.map((a) => `'${a}'`).join(' ')} 2>'${err}' ${sink}; echo "\${PIPESTATUS[0]}"`;
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
  expect(r.error).toBeUndefined(); // a hang would end here
  return { status: Number(r.stdout.trim().split('\n').pop()), stderr: readFileSync(err, 'utf8') };
}

const noStack = (s: string) => expect(s).not.toMatch(/^\s+at |internal error|Unhandled/m);

describe('a closed stdout ends the command quietly', () => {
  it.each([
    ['run', () => ['run', img]],
    ['disasm', () => ['disasm', big]],
  ])('%s | head -1', (_name, args) => {
    const r = piped(args(), '| head -1 >/dev/null');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(141); // as a shell reports cat's SIGPIPE
  });
});

describe('a full disk is one line and exit 74', () => {
  it.each([
    ['stdout of run', () => ['run', img], 'standard output'],
    ['stdout of disasm', () => ['disasm', big], 'standard output'],
    ['run --serial /dev/full', () => ['run', img, '--serial', '/dev/full'], "'/dev/full'"],
    ['trace -o /dev/full', () => ['trace', img, '-o', '/dev/full', '--max-lines', '100000'], "'/dev/full'"],
    ['qemu-log -o /dev/full', () => ['qemu-log', 'test/fixtures/trace/qemu-bios.log', '-o', '/dev/full'], "'/dev/full'"],
    ['asm -o /dev/full', () => ['asm', 'boot/bootsect.asm', '-o', '/dev/full'], "'/dev/full'"],
  ])('%s', (_name, args, what) => {
    const sink = (args() as string[]).includes('/dev/full') ? '>/dev/null' : '>/dev/full';
    const r = piped(args() as string[], sink);
    noStack(r.stderr);
    expect(r.stderr).toBe(`forklab: no space left writing ${what}\n`);
    expect(r.status).toBe(74);
  });
});

it('a failed asm leaves no output file behind, not even an empty one', () => {
  const src = join(dir, 'bad.asm');
  writeFileSync(src, 'db 1\nmov ax, nosuchlabel\n');
  const out = join(dir, 'bad.bin');
  const r = piped(['asm', src, '-o', out], '>/dev/null');
  expect(r.status).toBe(1);
  expect(existsSync(out)).toBe(false);
});
