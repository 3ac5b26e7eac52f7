// `forklab`: one entry point, one subcommand per tool. Every failure the user can cause is
// one line on stderr and a non-zero status; only a bug in forklab prints more.
import { guardStandardStreams, UsageError } from './cli-util';
import { COMMANDS } from './commands';

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
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) throw new UsageError(`unknown command '${name}' (try 'forklab --help')`);
  return (await cmd.load()).run(rest);
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
