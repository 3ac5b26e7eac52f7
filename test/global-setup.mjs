// Bundles the forklab command once before any suite runs, so suites that run
// `node bin/forklab.js` in parallel never see a half-written dist/. (Plain JS: vitest loads
// it in its own process, which runs no TypeScript loader.)
import { execFileSync } from 'node:child_process';

export default function setup() {
  // a vitest started by a test (the README's one-file example) uses the bundle already made
  if (process.env.FORKLAB_BUNDLED === '1') return;
  execFileSync('node', ['tools/bundle.mjs'], { stdio: 'inherit' });
}
