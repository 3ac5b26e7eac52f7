// Keyboard and screen for scripts: the scancodes typed text becomes (an AT keyboard's, set 1:
// make and break, shift around capitals and symbols), the typed queue that never drops a key,
// the escapes of --keys and the debugger's `type`, --keys/--keys-after parsing, and
// waitForScreen's timeout with the screen in its message.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { KeyboardController, scancodesFor, unescapeKeys } from '../emulator/devices/kbc';
import { Machine, trimScreen } from '../emulator/machine';
import { extractKeySteps } from '../tools/keys-options';

const noIrq = { raiseIrq: () => undefined, lowerIrq: () => undefined };
const a20 = { setKbc: () => undefined, requestReset: () => undefined } as never;

describe('typing', () => {
  it('makes and breaks each key, with left shift held for capitals and symbols', () => {
    expect(scancodesFor('ls\n')).toEqual([0x26, 0xa6, 0x1f, 0x9f, 0x1c, 0x9c]);
    expect(scancodesFor('A|')).toEqual([0x2a, 0x1e, 0x9e, 0xaa, 0x2a, 0x2b, 0xab, 0xaa]);
    expect(scancodesFor(' /')).toEqual([0x39, 0xb9, 0x35, 0xb5]);
    expect(() => scancodesFor('é')).toThrow(/^no key types "é" \(U\+00e9\) on a US AT keyboard$/);
  });

  it('delivers every typed scancode in order as the guest reads port 60h, beyond the 64-byte buffer', () => {
    const kbc = new KeyboardController(noIrq, a20);
    const text = 'The quick brown fox jumps over the lazy dog, 0123456789 times!\n';
    const want = scancodesFor(text);
    expect(want.length).toBeGreaterThan(128);
    kbc.typeScancodes(want);
    expect(kbc.keysPending).toBe(want.length - 1); // one byte already in the output buffer
    const got: number[] = [];
    while (kbc.readStatus() & 1) got.push(kbc.readData());
    expect(got).toEqual(want);
    expect(kbc.keysPending).toBe(0);
  });

  it('reads the escapes of scripts; an unknown one is one line', () => {
    expect(unescapeKeys('ls /bin\\n')).toBe('ls /bin\n');
    expect(unescapeKeys('\\t\\b\\e\\\\')).toBe('\t\b\x1b\\');
    expect(() => unescapeKeys('ls\\q')).toThrow(/^unknown escape '\\q' in keys \(known: \\n \\t \\b \\e \\\\\)$/);
  });

  it('takes --keys and --keys-after out of the arguments in order; mistakes are one line', () => {
    const { steps, rest } = extractKeySteps(['img', '--keys', 'a\\n', '--max-instructions', '5', '--keys-after', '#$', 'ls\\n', '--keys=b']);
    expect(rest).toEqual(['img', '--max-instructions', '5']);
    expect(steps).toEqual([{ after: null, text: 'a\n' }, { after: /#$/, text: 'ls\n' }, { after: null, text: 'b' }]);
    expect(() => extractKeySteps(['--keys', 'x\\y'])).toThrow(/^--keys: unknown escape '\\y'/);
    expect(() => extractKeySteps(['--keys-after', '('])).toThrow(/^--keys-after: give REGEX and TEXT$/);
    expect(() => extractKeySteps(['--keys-after', '(', 'x'])).toThrow(/^--keys-after: '\(' is not a regular expression/);
    expect(() => extractKeySteps(['--keys', 'é'])).toThrow(/^--keys: no key types "é"/);
    expect(() => extractKeySteps(['--keys'])).toThrow(/^--keys: give the text to type/);
  });
});

describe('forklab run --keys', () => {
  it('a bad escape or pattern is one line and status 2', () => {
    for (const [args, msg] of [
      [['--keys', 'ls\\q'], "forklab: --keys: unknown escape '\\q' in keys (known: \\n \\t \\b \\e \\\\)\n"],
      [['--keys-after', '[', 'x'], /^forklab: --keys-after: '\[' is not a regular expression \(.*\)\n$/],
      [['--keys-after', 'x'], 'forklab: --keys-after: give REGEX and TEXT\n'],
    ] as [string[], string | RegExp][]) {
      const r = spawnSync('node', ['bin/forklab.js', 'run', '--fda', 'nonexistent.img', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, args.join(' ')).toBe(2);
      if (typeof msg === 'string') expect(r.stderr).toBe(msg);
      else expect(r.stderr).toMatch(msg);
    }
  });
});

describe('waitForScreen', () => {
  it('never matching, it stops at its budget and shows the screen', () => {
    const m = new Machine(); // no disk: the BIOS says so on the screen
    let err: Error | null = null;
    try {
      m.waitForScreen(/never on this screen/, { maxInstructions: 300_000 });
    } catch (e) {
      err = e as Error;
    }
    expect(err).not.toBeNull();
    const [first, ...screen] = err!.message.split('\n');
    expect(first).toMatch(/^waitForScreen: the screen never matched \/never on this screen\/ (within 300000 instructions|before the guest stopped \(.+\)); the screen:$/);
    expect(screen.join('\n')).toBe(trimScreen(m.screenText()));
    expect(m.instructions).toBeLessThanOrEqual(300_000);
  });

  it('matches a screen already there, with trailing blanks trimmed for $', () => {
    const m = new Machine(); // no disk: the BIOS prints why and stops
    expect(m.run(300_000).kind).toBe('boot-failure');
    const before = m.instructions;
    expect(m.waitForScreen(/none attache\nd\)$/, { maxInstructions: 1000 }).index).toBeGreaterThan(0);
    expect(m.instructions).toBe(before);
  });
});
