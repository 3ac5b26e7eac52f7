// DESIGN: "Nothing in emulator/ knows about any kernel." The emulator package imports
// nothing from kernel/ or tools/ (kernel profiles plug into the debugger from outside).
// This reads every import of every TypeScript file under emulator/ and fails on one that
// leaves the package for kernel/ or tools/. And the house inside it: no runtime import
// cycle among emulator/'s modules (type-only imports are erased, so they may go both ways),
// and mmu/ (translation) takes nothing from cpu/ at run time but its constants -- the CPU's
// control flow (far transfers, interrupts, task switch) lives in cpu/ and uses mmu/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

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

/** The module specifiers a file needs at run time: every import and re-export but those
 *  erased by TypeScript (`import type`, `export type`, or every named import marked `type`). */
export function runtimeImportsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[5] ?? m[6]) {
      out.push((m[5] ?? m[6])!);
      continue;
    }
    if (m[2]) continue;
    const named = /^\{([^}]*)\}$/.exec(m[3].trim());
    const names = named ? named[1].split(',').map((n) => n.trim()).filter((n) => n !== '') : null;
    if (names && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    out.push(m[4]);
  }
  return out;
}

/** Runtime import edges between the .ts files under dir (relative specifiers only). */
function runtimeGraph(all: string[], read: (f: string) => string): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of all) {
    const deps = runtimeImportsOf(read(f)).filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(f), s))
      .map((t) => (t.endsWith('.ts') ? t : all.includes(`${t}.ts`) ? `${t}.ts` : join(t, 'index.ts')))
      .filter((t) => all.includes(t));
    g.set(f, deps);
  }
  return g;
}

/** Every cycle of the graph, each once, as file paths relative to ROOT. */
function cycles(g: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const state = new Map<string, number>(); // 1 on the path, 2 done
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    path.push(f);
    for (const d of g.get(f) ?? []) {
      if (state.get(d) === 1) found.add(path.slice(path.indexOf(d)).concat(d).map((x) => relative(ROOT, x)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(f, 2);
  };
  for (const f of g.keys()) if (!state.has(f)) visit(f);
  return [...found];
}

/** mmu/'s runtime imports into cpu/ other than its constants. */
function mmuIntoCpu(g: Map<string, string[]>): string[] {
  const mmu = join(ROOT, 'emulator/mmu'), cpu = join(ROOT, 'emulator/cpu');
  return [...g].filter(([f]) => f.startsWith(mmu + '/'))
    .flatMap(([f, deps]) => deps.filter((d) => d.startsWith(cpu + '/') && d !== join(cpu, 'consts.ts'))
      .map((d) => `${relative(ROOT, f)} imports ${relative(ROOT, d)}`));
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

  it('tells runtime imports from type-only ones, and finds a cycle and an mmu -> cpu edge', () => {
    const text = `import type { A } from './a';\nimport { type B, type C } from './b';\nimport { type D, e } from './d';\nexport type { F } from './f';\nexport * from './g';\nimport * as h from './h';\nimport I from './i';\nimport './j';`;
    expect(runtimeImportsOf(text)).toEqual(['./d', './g', './h', './i', './j']);
    const cpu = join(ROOT, 'emulator/cpu/cpu.ts'), irq = join(ROOT, 'emulator/cpu/interrupts.ts');
    const paging = join(ROOT, 'emulator/mmu/paging.ts'), consts = join(ROOT, 'emulator/cpu/consts.ts');
    const fake: Record<string, string> = {
      [cpu]: `import { deliverInterrupt } from './interrupts';\nimport { walk } from '../mmu/paging';`,
      [irq]: `import { Cpu } from './cpu';`,
      [paging]: `import type { Cpu } from '../cpu/cpu';\nimport { PFV } from '../cpu/consts';\nimport { iret } from '../cpu/interrupts';`,
      [consts]: '',
    };
    const g = runtimeGraph(Object.keys(fake), (f) => fake[f]);
    expect(cycles(g)).toEqual(['emulator/cpu/cpu.ts -> emulator/cpu/interrupts.ts -> emulator/cpu/cpu.ts']);
    expect(mmuIntoCpu(g)).toEqual(['emulator/mmu/paging.ts imports emulator/cpu/interrupts.ts']);
    fake[irq] = `import type { Cpu } from './cpu';`;
    expect(cycles(runtimeGraph(Object.keys(fake), (f) => fake[f]))).toEqual([]);
  });

  it('emulator/ has no runtime import cycle, and mmu/ takes only constants from cpu/', () => {
    const all = files(join(ROOT, 'emulator'));
    const g = runtimeGraph(all, (f) => readFileSync(f, 'utf8'));
    // the graph is really there: the CPU reaches its control-flow files and the page walk
    expect(g.get(join(ROOT, 'emulator/cpu/cpu.ts'))).toEqual(expect.arrayContaining([
      join(ROOT, 'emulator/cpu/interrupts.ts'), join(ROOT, 'emulator/mmu/paging.ts'),
    ]));
    expect(cycles(g)).toEqual([]);
    expect(mmuIntoCpu(g)).toEqual([]);
  });
});
