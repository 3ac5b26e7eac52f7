// `forklab`: one entry point, one subcommand per tool. Every failure the user can cause is
// one line on stderr and a non-zero status; only a bug in forklab prints more.
import { guardStandardStreams, UsageError } from './cli-util';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  asm: { summary: 'assemble NASM-syntax source into a flat binary', load: async () => (await import('./asm/command')).asmCommand },
  disasm: { summary: 'disassemble a flat binary', load: async () => (await import('./disasm-command')).disasmCommand },
  build: { summary: 'assemble boot/ and kernel/ into build/forklab.img and build/kernel.map', load: async () => (await import('./build-image')).buildCommand },
  'trace-diff': { summary: 'the first instruction where two traces part', load: async () => (await import('./trace-diff')).traceDiffCommand },
  'qemu-log': { summary: "convert QEMU's -d exec,cpu log into a forklab trace", load: async () => (await import('./qemu-log')).qemuLogCommand },
  run: { summary: 'boot an image headless (console on stdout)', load: async () => (await import('./run-command')).runCommand },
  debug: { summary: 'the built-in debugger: breakpoints, stepping, page walks, tasks and page tables', load: async () => (await import('./debug-command')).debugCommand },
  trace: { summary: 'boot an image and write its instruction trace', load: async () => (await import('./trace-command')).traceCommand },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`);
  return `usage: forklab <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command '${name}' (try 'forklab --help')`);
  return (await cmd.load())(rest);
}

guardStandardStreams();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`forklab: ${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      const err = e as Error;
      process.stderr.write(`forklab: internal error: ${err?.message ?? String(e)}\n`);
      if (process.env.FORKLAB_DEBUG) process.stderr.write(`${err?.stack}\n`);
      process.exitCode = 70;
    }
  },
);
