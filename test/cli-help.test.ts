// Every subcommand's --help documents every option it takes: for each option in the table
// the command parses with, a help line names it (as --name, or -x, --name) and says what it
// does, on that line or the indented one after it.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../tools/commands';
import { forklab } from './cli-helpers';

/** The help text's explanation of `--name`, or '' when it has none. */
function explanation(help: string, name: string): string {
  const lines = help.split('\n');
  const at = new RegExp(`^\\s+(?:.*, )?(?:-\\w, )?--${name}\\b(?:[ =](?! )\\S*)?(.*)$`);
  for (let i = 0; i < lines.length; i++) {
    const m = at.exec(lines[i]);
    if (!m) continue;
    const rest = m[1].replace(/^,? *(?:--?[\w-]+(?: \S+)?,? *)*/, '').trim();
    if (rest) return rest;
    const next = lines[i + 1] ?? '';
    if (/^\s{8,}\S/.test(next)) return next.trim();
  }
  return '';
}

describe('every subcommand documents its options in --help', () => {
  it.each(Object.keys(COMMANDS))('forklab %s --help', async (name) => {
    const { options } = await COMMANDS[name].load();
    const r = forklab([name, '--help']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^usage: forklab ${name} `));
    const undocumented = Object.keys(options).filter((o) => explanation(r.stdout, o) === '');
    expect(undocumented).toEqual([]);
    // -h as well as --help
    expect(forklab([name, '-h']).stdout).toBe(r.stdout);
  });

  it('the test finds an option that is only in a usage line', () => {
    expect(explanation('usage: forklab x [--resync]\n  --other  does things\n', 'resync')).toBe('');
    expect(explanation('  --resync   takes B\n', 'resync')).toBe('takes B');
    expect(explanation('  --skip-a N, --skip-b N   skip\n', 'skip-b')).toBe('skip');
    expect(explanation('  --on-triple-fault stop|reset\n                   stop or reset\n', 'on-triple-fault')).toBe('stop or reset');
  });
});
