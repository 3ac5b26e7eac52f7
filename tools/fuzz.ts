// `npm run fuzz`: the engines' differential fuzz (fuzz-engines.ts), 100,000 cases by
// default: `npm run fuzz -- [--cases N] [--seed S] [--budget INSTRUCTIONS]`. Prints each
// failure (the case's seed and mode reproduce it) and exits 1 if there was one; a bad option
// is one line and exit 2.

import { fuzzEngines } from './fuzz-engines';
import { UsageError } from './cli-util';

const USAGE = 'fuzz [--cases N] [--seed S] [--budget INSTRUCTIONS]';

function options(argv: string[]): { cases: number; seed: number; budget: number } {
  const o = { cases: 100_000, seed: 1, budget: 3000 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    const v = argv[i + 1];
    if (!(name in o) || !argv[i].startsWith('--')) throw new UsageError(`unknown option '${argv[i]}' (${USAGE})`);
    if (v === undefined || !/^\d+$/.test(v) || (name !== 'seed' && Number(v) === 0)) {
      throw new UsageError(`--${name}: '${v ?? ''}' is not a whole number${name === 'seed' ? '' : ' (1 or more)'}`);
    }
    o[name as keyof typeof o] = Number(v);
  }
  return o;
}

try {
  const o = options(process.argv.slice(2));
  const t0 = Date.now();
  console.log(`fuzz: ${o.cases} cases from seed ${o.seed}, ${o.budget} instructions each, interp vs jit`);
  const failures = fuzzEngines(o.seed, o.cases, o.budget, (done) => {
    if (done % 10_000 === 0) console.log(`  ${done} cases (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  });
  for (const f of failures) console.log(f);
  console.log(`fuzz: ${o.cases - failures.length} of ${o.cases} cases agree (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  process.exit(failures.length ? 1 : 0);
} catch (e) {
  console.error(`fuzz: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
