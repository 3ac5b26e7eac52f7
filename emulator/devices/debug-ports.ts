// The emulator conventions every tool expects (spec/pc-hardware.md):
// - E9h debugcon: each byte written goes to `sink`; reading E9h returns 0xE9 (the Bochs/QEMU
//   detection value).
// - F4h isa-debug-exit: a write of v (8, 16 or 32 bits) calls `onExit((v << 1) | 1)`; the
//   machine ends the run with that status. Ports F5h-F7h are part of the device (QEMU's
//   iosize=4) and also exit with the value written there.
// - 80h and 190h: POST codes; the last value written is kept in `lastPostCode` (and is
//   what reading the port returns).
// - F0h/F1h: the AT's coprocessor busy-latch clear and reset ports; writes are ignored
//   (there is no FPU error line to clear), reads are 0xFF.

import type { IoBus } from './io-bus';

export interface DebugPortsOptions {
  /** Receives each byte written to E9h. */
  debugconSink?: (byte: number) => void;
  /** Called with the exit status requested through F4h. */
  onExit?: (status: number) => void;
}

export class DebugPorts {
  debugconSink: ((byte: number) => void) | null;
  onExit: ((status: number) => void) | null;
  /** Last POST code written to 80h or 190h, or -1 if none. */
  lastPostCode = -1;
  /** Exit status requested through F4h, or -1. */
  exitStatus = -1;

  constructor(bus?: IoBus, options: DebugPortsOptions = {}) {
    this.debugconSink = options.debugconSink ?? null;
    this.onExit = options.onExit ?? null;
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('debugcon', 0xe9, 1, {
      read8: () => 0xe9,
      write8: (_p, v) => this.debugconSink?.(v),
    });
    const exit = (_p: number, v: number) => this.exit(v);
    bus.register('isa-debug-exit', 0xf4, 4, { write8: exit, write16: exit, write32: exit });
    const post = (_p: number, v: number) => {
      this.lastPostCode = v & 0xff;
    };
    const readPost = () => (this.lastPostCode < 0 ? 0xff : this.lastPostCode);
    bus.register('post-code', 0x80, 1, { read8: readPost, write8: post });
    bus.register('post-code-190', 0x190, 1, { read8: readPost, write8: post });
    bus.register('fpu-ports', 0xf0, 2, { write8: () => {} });
  }

  private exit(v: number): void {
    const status = ((v << 1) | 1) >>> 0;
    this.exitStatus = status;
    this.onExit?.(status);
  }
}
