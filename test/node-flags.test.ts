// How the forklab command starts node has one home, bin/forklab.js's shebang
// (tools/node-flags.ts): the command must run through it as `npx forklab` does (executed,
// not `node bin/forklab.js`), npm start must execute it, and the bench must know it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { forklabLaunch } from '../tools/node-flags';

const BIN = resolve('bin/forklab.js');

it('bin/forklab.js runs when executed through its shebang', () => {
  const r = spawnSync(BIN, ['run', '--help'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.error).toBeUndefined();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^usage: forklab run/);
});

it('without its bundle the command says so in one line (exit 2), never a stack trace', () => {
  const root = mkdtempSync(join(tmpdir(), 'forklab-bin-'));
  try {
    mkdirSync(join(root, 'bin'));
    for (const f of ['forklab.js', 'package.json']) copyFileSync(join('bin', f), join(root, 'bin', f));
    const r = spawnSync(process.execPath, [join(root, 'bin', 'forklab.js'), '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('forklab: dist/forklab.cjs is missing; run `npm install` or `npm run build` first\n');
    expect(r.status).toBe(2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

it('the shebang sets the environment and names node options that node accepts', () => {
  const { env, flags } = forklabLaunch();
  expect(flags).toContain('--v8-pool-size=0');
  expect(env.GLIBC_TUNABLES).toMatch(/^glibc\.malloc\.top_pad=\d+$/);
  const r = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write(JSON.stringify([process.execArgv, process.env.GLIBC_TUNABLES]))'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const [execArgv, tunables] = JSON.parse(r.stdout) as [string[], string];
  // (execArgv ends with -e and its script)
  expect(execArgv.slice(0, flags.length)).toEqual(flags);
  expect(tunables).toBe(env.GLIBC_TUNABLES);
});

it('a node started as the shebang starts it knows so, and one started otherwise does not', () => {
  const { env, flags } = forklabLaunch();
  const probe = ['--import', 'tsx', '-e', "import('./tools/node-flags.ts').then((m) => process.stdout.write(String(m.launchedAsForklab())))"];
  const clean = { ...process.env };
  delete clean.GLIBC_TUNABLES;
  const as = spawnSync(process.execPath, [...flags, ...probe], { encoding: 'utf8', env: { ...clean, ...env } });
  const plain = spawnSync(process.execPath, probe, { encoding: 'utf8', env: clean });
  expect(as.stdout).toBe('true');
  expect(plain.stdout).toBe('false');
});

it('relaunchAsForklab runs the script again, started as the shebang starts node (the bench does)', () => {
  const clean = { ...process.env };
  delete clean.GLIBC_TUNABLES;
  delete clean.FORKLAB_RELAUNCHED;
  const script = "import('./tools/node-flags.ts').then((m) => { m.relaunchAsForklab(); process.stdout.write(`${m.launchedAsForklab()} ${process.argv[1]}`); })";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script, 'arg'], { encoding: 'utf8', env: clean });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // (printed once, by the relaunched process, which got the argument too)
  expect(r.stdout).toBe('true arg');
  // a relaunched process does not relaunch again, even when it does not run as expected
  const again = spawnSync(process.execPath, ['--import', 'tsx', '-e', script, 'arg'], { encoding: 'utf8', env: { ...clean, FORKLAB_RELAUNCHED: '1' } });
  expect(again.status).toBe(0);
  expect(again.stdout).toBe('false arg');
});

it("package.json's start script executes bin/forklab.js", () => {
  const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
  expect(scripts.start).toMatch(/(^|&& )bin\/forklab\.js run /);
});
