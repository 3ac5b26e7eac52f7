// A CLI fuzz test: random argument vectors built from the real subcommands and option names
// (tools/commands.ts) and random values, seeded so a failure can be replayed
// (FORKLAB_FUZZ_SEED, FORKLAB_FUZZ_RUNS). Whatever the input, forklab answers with its own
// words: never a stack trace, never "internal error", never a signal, and it always exits
// (the kill timeout is a hang detector, not a speed assertion). Every path it is given lies
// in a scratch directory, so nothing it writes can touch the repository.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { COMMANDS } from '../tools/commands';
import { buildImage } from '../tools/build-image';
import { seededRandom } from './seeded';

const SEED = Number(process.env.FORKLAB_FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.FORKLAB_FUZZ_RUNS ?? 16);
const BIN = resolve('bin/forklab.js');
const dir = mkdtempSync(join(tmpdir(), 'forklab-fuzz-'));

let FILES: string[] = [];
beforeAll(() => {
  const { image, symbols } = buildImage('.');
  writeFileSync(join(dir, 'forklab.img'), image);
  writeFileSync(join(dir, 'kernel.map'), symbols.map((s) => `${s.address.toString(16).padStart(8, '0')} ${s.name}\n`).join(''));
  writeFileSync(join(dir, 'small.bin'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 37) & 0xff));
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'text.asm'), 'org 0x7c00\nstart: jmp start\ntimes 510-($-$$) db 0\ndw 0xaa55\n');
  writeFileSync(join(dir, 'script.gdb'), 'stepi 3\nregs\nx/4i $eip\ncontinue 2\n');
  for (const f of ['fork.trace', 'qemu-bios.log', 'qemu-bios.trace']) copyFileSync(join('test/fixtures/trace', f), join(dir, f));
  mkdirSync(join(dir, 'subdir'));
  FILES = ['forklab.img', 'kernel.map', 'small.bin', 'empty', 'text.asm', 'script.gdb', 'fork.trace', 'qemu-bios.log',
    'qemu-bios.trace', 'subdir', 'out.bin', 'out.trace', 'nonexistent/x', '/dev/null'];
});

const WORDS = [
  '0', '1', '-1', '16', '32', '0x10', '0xffffffff', '99999999999999999999', '1e3', '0.5', '2.5', 'NaN', '', ' ', 'x',
  'a', 'c', 'stop', 'reset', 'text', 'jsonl', 'stdio', 'eax', 'eflags', 'icount,regs', 'nope', 'copy_process',
  'copy_process+4', '0x7c00..0x7dff', '5..1', '1..', '80/2/18', '0/0/0', '16M', '1K', '300M', 'NAME=1', '=', '-', '--',
];

function argv(r: () => number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const names = Object.keys(COMMANDS);
  const cmd = r() < 0.05 ? pick(['', 'nosuch', 'constructor', '--help']) : pick(names);
  const out = [cmd];
  const options = OPTIONS.get(cmd) ?? {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    const roll = r();
    if (roll < 0.25) out.push(pick(FILES)); // a positional
    else if (roll < 0.3) out.push(pick(WORDS));
    else {
      const keys = Object.keys(options);
      if (keys.length === 0 || (keys.length === 1 && keys[0] === 'help')) continue;
      let name = pick(keys);
      if (name === 'help' && r() < 0.8) name = pick(keys); // mostly do something
      const o = (options as Record<string, { type: string; short?: string }>)[name];
      const flag = o.short && r() < 0.3 ? `-${o.short}` : `--${name}`;
      if (o.type === 'boolean') out.push(r() < 0.9 ? flag : `${flag}=${pick(WORDS)}`);
      else {
        const value = r() < 0.5 ? pick(FILES) : pick(WORDS);
        out.push(...(r() < 0.2 ? [`${flag}=${value}`] : r() < 0.05 ? [flag] : [flag, value]));
      }
    }
  }
  // bounded runs: a guest must not run forever, nothing may write outside the scratch dir
  if (cmd === 'run') out.push('--timeout', '3');
  if (cmd === 'trace') out.push('--max-instructions', '2000000');
  if (cmd === 'build') out.push('-o', join(dir, 'build'));
  return out;
}

const OPTIONS = new Map<string, object>();

it(`random command lines (seed ${SEED}, ${RUNS} runs) end in forklab's own words`, async () => {
  for (const name of Object.keys(COMMANDS)) OPTIONS.set(name, (await COMMANDS[name].load()).options);
  const r = seededRandom(SEED);
  const failures: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const args = argv(r);
    const p = spawnSync('node', [BIN, ...args], { cwd: dir, encoding: 'utf8', input: '', timeout: 60_000, maxBuffer: 64 << 20 });
    const shown = `forklab ${args.map((a) => JSON.stringify(a)).join(' ')}`;
    if (p.error || p.signal) failures.push(`${shown}: ${p.error?.message ?? `killed by ${p.signal}`} (a hang?)`);
    else if (/^\s+at |internal error|Unhandled|node:internal|Error: /m.test(p.stderr)) failures.push(`${shown}:\n${p.stderr}`);
    else if (p.status === 70 || p.status === 134) failures.push(`${shown}: exit ${p.status}\n${p.stderr}`);
  }
  expect(failures).toEqual([]);
}, 600_000);
