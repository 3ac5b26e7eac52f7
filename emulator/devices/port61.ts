// Port 61h, the AT's system control port B.
//
// Write: bit 0 = PIT channel 2 gate, bit 1 = speaker data enable, bits 2-3 = parity / I/O
// channel check enables (stored), bit 7 = the XT keyboard "clear/acknowledge" line, which
// Linux 0.11's keyboard handler pulses; on an AT it does nothing (stored only).
// Read: bits 0-3 as written, bit 4 = DRAM refresh request, toggling every 15.085 us of
// emulated time (18 PIT ticks), bit 5 = PIT channel 2 OUT, bits 6-7 = 0 (no parity or
// channel-check errors).

import type { Clock } from '../clock';
import type { IoBus } from './io-bus';
import { Pit } from './pit';

export class SystemControlB {
  /** Bits 0-3 and 7 as last written. */
  value = 0;

  constructor(
    private readonly clock: Clock,
    private readonly pit: Pit,
    bus?: IoBus,
  ) {
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('system-control-b', 0x61, 1, {
      read8: () => this.read(),
      write8: (_p, v) => this.write(v),
    });
  }

  read(): number {
    const refresh = Math.floor(this.clock.icount * this.pit.ratio / 18) & 1;
    return (this.value & 0x0f) | (refresh << 4) | (this.pit.out2() ? 0x20 : 0);
  }

  write(v: number): void {
    this.value = v & 0x8f;
    this.pit.setGate(2, (v & 1) !== 0);
  }

  get speakerDataEnabled(): boolean {
    return (this.value & 2) !== 0;
  }

  /** Frequency the speaker plays now, in Hz (0 = silent). */
  speakerFrequency(): number {
    return this.pit.speakerFrequency(this.speakerDataEnabled);
  }
}
