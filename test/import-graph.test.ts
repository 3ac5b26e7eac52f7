// DESIGN: "Nothing in emulator/ knows about any kernel." The emulator package imports
// nothing from kernel/ or tools/ (kernel profiles plug into the debugger from outside).
// This reads every import of every TypeScript file under emulator/ and fails on one that
// leaves the package for kernel/ or tools/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** The imports of `file` (a path under ROOT) that leave emulator/ for kernel/ or tools/. */
function forbidden(file: string, text: string): string[] {
  return importsOf(text).filter((spec) => spec.startsWith('.') && /^(kernel|tools)(\/|$)/.test(relative(ROOT, resolve(dirname(file), spec))))
    .map((spec) => `${relative(ROOT, file)} imports ${spec}`);
}

describe('import graph', () => {
  it('finds imports in every form the code uses, and would catch one into kernel/', () => {
    const text = `import { a } from './a';\nimport type { B } from "../b";\nexport * from './c';\nconst d = await import('./d');\nimport './e';`;
    expect(importsOf(text).sort()).toEqual(['../b', './a', './c', './d', './e']);
    const f = join(ROOT, 'emulator/debug/debugger.ts');
    expect(forbidden(f, `import { KernelInspector } from '../../kernel/inspect';\nimport type { X } from '../../tools/cli';\nimport { Y } from '../cpu/cpu';`))
      .toEqual(['emulator/debug/debugger.ts imports ../../kernel/inspect', 'emulator/debug/debugger.ts imports ../../tools/cli']);
  });

  it('emulator/ imports nothing from kernel/ or tools/', () => {
    const all = files(join(ROOT, 'emulator'));
    expect(all.length).toBeGreaterThan(30);
    expect(all.flatMap((f) => forbidden(f, readFileSync(f, 'utf8')))).toEqual([]);
  });
});
