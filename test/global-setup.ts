// Bundles the forklab command once before any suite runs, so suites that run
// `node bin/forklab.js` in parallel never see a half-written dist/.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('node', ['tools/bundle.mjs'], { stdio: 'inherit' });
}
