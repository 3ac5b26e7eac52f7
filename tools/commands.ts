// The subcommands of `forklab`: each one's summary, and its module loaded on demand (so that
// `forklab disasm` does not load the machine): the function that runs it and the parseArgs
// options it takes, which its --help documents one by one (test/cli-help.test.ts).
import type { ParseArgsConfig } from 'node:util';

export interface LoadedCommand {
  run: (args: string[]) => Promise<number>;
  options: NonNullable<ParseArgsConfig['options']>;
}

export const COMMANDS: Record<string, { summary: string; load: () => Promise<LoadedCommand> }> = {
  asm: {
    summary: 'assemble NASM-syntax source into a flat binary',
    load: async () => { const m = await import('./asm/command'); return { run: m.asmCommand, options: m.ASM_OPTIONS }; },
  },
  disasm: {
    summary: 'disassemble a flat binary',
    load: async () => { const m = await import('./disasm-command'); return { run: m.disasmCommand, options: m.DISASM_OPTIONS }; },
  },
  build: {
    summary: 'assemble boot/ and kernel/ into build/forklab.img and build/kernel.map',
    load: async () => { const m = await import('./build-image'); return { run: m.buildCommand, options: m.BUILD_OPTIONS }; },
  },
  'trace-diff': {
    summary: 'the first instruction where two traces part',
    load: async () => { const m = await import('./trace-diff'); return { run: m.traceDiffCommand, options: m.TRACE_DIFF_OPTIONS }; },
  },
  'qemu-log': {
    summary: "convert QEMU's -d exec,cpu log into a forklab trace",
    load: async () => { const m = await import('./qemu-log'); return { run: m.qemuLogCommand, options: m.QEMU_LOG_OPTIONS }; },
  },
  run: {
    summary: 'boot an image headless (console on stdout)',
    load: async () => { const m = await import('./run-command'); return { run: m.runCommand, options: m.RUN_OPTIONS }; },
  },
  debug: {
    summary: 'the built-in debugger: breakpoints, stepping, page walks, tasks and page tables',
    load: async () => { const m = await import('./debug-command'); return { run: m.debugCommand, options: m.DEBUG_OPTIONS }; },
  },
  trace: {
    summary: 'boot an image and write its instruction trace',
    load: async () => { const m = await import('./trace-command'); return { run: m.traceCommand, options: m.TRACE_OPTIONS }; },
  },
  web: {
    summary: 'serve the browser front end on 127.0.0.1 (or write it as a static folder)',
    load: async () => { const m = await import('./web-command'); return { run: m.webCommand, options: m.WEB_OPTIONS }; },
  },
};
