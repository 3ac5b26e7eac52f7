import { defineConfig } from 'vitest/config';
import { forklabLaunch } from './tools/node-flags';

// The test workers start with the environment the forklab command starts node with (its
// shebang: glibc's malloc keeps memory between V8's compiles); they inherit this process's.
// (The suite took 299 s with it, 325 s without, in one pair of runs.)
for (const [name, value] of Object.entries(forklabLaunch().env)) process.env[name] ??= value;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.mjs'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test files run as native ES modules (TypeScript through tsx's loader), not through
    // Vite's module runner: the runner turns every imported binding into a getter on a
    // module object, and the emulator's hot paths read imported constants and call imported
    // functions millions of times a second, so under it the emulator ran about 4 times
    // slower than bundled. (We use no vi.mock or import.meta.vitest, which need the runner or
    // vitest's node loader.)
    execArgv: ['--import', 'tsx'],
    experimental: { viteModuleRunner: false, nodeLoader: false },
  },
});
