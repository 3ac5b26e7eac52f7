// Typing while the real Linux 0.11 (the guest kit) boots is harmless, as on an AT: keys typed
// before the first instruction go to the BIOS (its INT 9 buffer, which Linux never reads) and
// must not leave the keyboard dead; keys typed while the kernel boots wait in its tty queue
// and the shell runs them once it starts. (Before the BIOS kept IRQ1 off while programming
// the PICs, a key waiting in the 8042 at POST held IRQ1 high across ICW1 and no keyboard
// interrupt ever came again: the shell never saw a key.)
import { describe, expect, it } from 'vitest';
import { BOOT_BUDGET, haveKit, linuxMachine } from './linux011-kit';

const PROMPT = /\n\[[^\]\n]*\]#$/; // [/usr/root]#, last on the screen

describe.runIf(haveKit())('Linux 0.11: keys typed during the boot', () => {
  it('keys before POST are taken by the BIOS, keys while the kernel boots reach the shell', () => {
    const m = linuxMachine();
    m.type('echo bios\n'); // waiting in the 8042 before the BIOS has run
    m.waitForScreen(/Partition table ok\./, { maxInstructions: BOOT_BUDGET });
    expect(m.screenText()).not.toMatch(/\]#/); // the shell has not started yet
    m.type('ls /bin\n');
    // the keys typed at boot gave the shell one line: its echo, ls's output, a new prompt
    const shown = m.waitForScreen(/ls \/bin\n([\s\S]*)\n\[[^\]\n]*\]#$/, { maxInstructions: BOOT_BUDGET });
    expect(shown[1].split(/\s+/)).toContain('sh');
    const screen = m.screenText().split('\n').map((l) => l.trimEnd()).join('\n').trimEnd();
    expect(screen).toMatch(PROMPT);
    expect(screen).not.toContain('bios'); // the BIOS's buffer is not the kernel's
    // and the keyboard still works at the prompt
    m.type('echo typed at the prompt\n');
    m.waitForScreen(/\ntyped at the prompt\n\[[^\]\n]*\]#$/, { maxInstructions: BOOT_BUDGET });
  });
});
