// The 8253/8254 programmable interval timer at 40h-43h. Channel 0 drives IRQ0, channel 1
// is the (unused) DRAM refresh timer, channel 2 feeds the speaker and is gated by port 61h
// bit 0 (see SystemControlB in port61.ts).
//
// The counters run at 1.193182 MHz of emulated time, mapped onto the instruction clock:
// PIT ticks elapsed = floor(instructions elapsed * 1193182 / rate). Counts are computed from
// the clock when read (no per-tick work); only channel 0's OUT rising edges are scheduled
// as clock events, each delivering an edge on IRQ0.
//
// Supported: control words for all six modes (0-5), binary and BCD counting, access modes
// latch / LSB / MSB / LSB-then-MSB, the counter-latch command, the 8254 read-back command
// (count and status latches), gate input (pause in modes 0/4, restart in 2/3, trigger in
// 1/5), null-count flag. A new count written in modes 2/3 takes effect immediately (the
// 8254 would wait for the end of the current period). The one-tick load delay after a
// count is written is not modelled.

import type { Clock, Timer } from '../clock';
import type { IoBus } from './io-bus';
import type { IrqSink } from './pic';

export const PIT_HZ = 1193182;

export class PitChannel {
  mode = 0;
  /** 1 = LSB only, 2 = MSB only, 3 = LSB then MSB. */
  access = 3;
  bcd = false;
  /** The count in effect (1..65536 binary, 1..10000 BCD). */
  reload = 0x10000;
  /** First byte of a two-byte count, waiting for the second. */
  private writeLow = 0;
  private writeHighNext = false;
  private readHighNext = false;
  private countLatched = false;
  private latchValue = 0;
  private latchHighNext = false;
  private statusLatched = false;
  private statusValue = 0;
  nullCount = true;
  gate: boolean;

  /** A count has been written and counting has started (for modes 1/5: triggered). */
  counting = false;
  /** Mode 1/5: a count was written, waiting for a gate rising edge. */
  private armed = false;
  /** Counting is frozen (modes 0/4 with gate low; modes 2/3 with gate low). */
  private paused = false;
  /** Elapsed ticks = baseTicks + floor((now - startIcount) * ratio) while running. */
  private startIcount = 0;
  private baseTicks = 0;

  constructor(
    readonly index: number,
    private readonly pit: Pit,
    gate: boolean,
  ) {
    this.gate = gate;
  }

  private get modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** Ticks counted since the count was loaded (or triggered). */
  elapsed(now: number): number {
    if (this.paused) return this.baseTicks;
    return this.baseTicks + Math.floor((now - this.startIcount) * this.pit.ratio);
  }

  /** The instruction count at which `elapsed` first reaches `ticks` (running channel). */
  icountForTicks(ticks: number): number {
    const r = this.pit.ratio;
    const d = ticks - this.baseTicks;
    let t = this.startIcount + Math.ceil(d / r);
    while (Math.floor((t - this.startIcount) * r) < d) t++;
    while (t > this.startIcount && Math.floor((t - 1 - this.startIcount) * r) >= d) t--;
    return t;
  }

  /** The current count as the counting element holds it (binary, 0..modulus-1). */
  count(now: number): number {
    const N = this.reload;
    const mod = this.modulus;
    if (!this.counting) return N % mod;
    const e = this.elapsed(now);
    switch (this.mode) {
      case 2: {
        const p = e % N;
        return (N - p) % mod;
      }
      case 3: {
        const p = e % N;
        const h = Math.ceil(N / 2);
        const v = p < h ? N - 2 * p : N - 2 * (p - h);
        return (v & ~1) % mod; // counts by two; 65536 reads as 0
      }
      default: {
        // 0, 1, 4, 5: count down once, then keep wrapping
        let v = (N - e) % mod;
        if (v < 0) v += mod;
        return v;
      }
    }
  }

  /** The OUT pin now. */
  out(now: number): boolean {
    if (!this.counting) return this.mode !== 0; // mode 0: low from the control word on
    const N = this.reload;
    const e = this.elapsed(now);
    switch (this.mode) {
      case 0:
        return e >= N;
      case 1:
        return e >= N;
      case 2:
        return this.paused ? true : e % N !== N - 1;
      case 3:
        return this.paused ? true : e % N < Math.ceil(N / 2);
      default:
        // 4, 5: low for one tick when the count reaches zero
        return e !== N;
    }
  }

  /**
   * Elapsed-tick count of OUT's next rising edge strictly after `now`, or -1 when none is
   * coming (not counting, paused, or a one-shot that has finished).
   */
  nextRisingEdge(now: number): number {
    if (!this.counting || this.paused) return -1;
    const N = this.reload;
    const e = this.elapsed(now);
    switch (this.mode) {
      case 0:
      case 1:
        return e < N ? N : -1;
      case 2:
      case 3:
        return (Math.floor(e / N) + 1) * N;
      default:
        return e <= N ? N + 1 : -1;
    }
  }

  writeControl(v: number, now: number): void {
    const access = (v >> 4) & 3;
    if (access === 0) {
      this.latchCount(now);
      return;
    }
    this.access = access;
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4; // 6, 7 alias 2, 3
    this.mode = mode;
    this.bcd = (v & 1) !== 0;
    this.writeHighNext = false;
    this.readHighNext = false;
    this.countLatched = false;
    this.statusLatched = false;
    this.counting = false;
    this.armed = false;
    this.paused = false;
    this.nullCount = true;
    this.pit.channelChanged(this, now);
  }

  latchCount(now: number): void {
    if (this.countLatched) return;
    this.countLatched = true;
    this.latchHighNext = false;
    this.latchValue = this.encode(this.count(now));
  }

  latchStatus(now: number): void {
    if (this.statusLatched) return;
    this.statusLatched = true;
    this.statusValue =
      (this.out(now) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.access << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  private encode(v: number): number {
    if (!this.bcd) return v & 0xffff;
    return (
      (v % 10) | (Math.floor(v / 10) % 10) << 4 | (Math.floor(v / 100) % 10) << 8 | (Math.floor(v / 1000) % 10) << 12
    );
  }

  private decode(v: number): number {
    if (!this.bcd) return v;
    return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
  }

  readData(now: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.statusValue;
    }
    if (this.countLatched) {
      const v = this.latchValue;
      if (this.access === 1) {
        this.countLatched = false;
        return v & 0xff;
      }
      if (this.access === 2) {
        this.countLatched = false;
        return (v >> 8) & 0xff;
      }
      if (!this.latchHighNext) {
        this.latchHighNext = true;
        return v & 0xff;
      }
      this.latchHighNext = false;
      this.countLatched = false;
      return (v >> 8) & 0xff;
    }
    const v = this.encode(this.count(now));
    if (this.access === 1) return v & 0xff;
    if (this.access === 2) return (v >> 8) & 0xff;
    this.readHighNext = !this.readHighNext;
    return this.readHighNext ? v & 0xff : (v >> 8) & 0xff;
  }

  writeData(v: number, now: number): void {
    let raw: number;
    if (this.access === 1) raw = v;
    else if (this.access === 2) raw = v << 8;
    else if (!this.writeHighNext) {
      this.writeHighNext = true;
      this.writeLow = v;
      // Mode 0: writing the first byte stops the count (OUT goes low when the count is loaded).
      if (this.mode === 0 && this.counting) {
        this.counting = false;
        this.pit.channelChanged(this, now);
      }
      return;
    } else {
      this.writeHighNext = false;
      raw = this.writeLow | (v << 8);
    }
    let n = this.decode(raw);
    if (n === 0) n = this.modulus;
    this.reload = n;
    this.nullCount = false;
    this.load(now);
  }

  private load(now: number): void {
    this.baseTicks = 0;
    this.startIcount = now;
    this.paused = false;
    if (this.mode === 1 || this.mode === 5) {
      if (!this.counting) this.armed = true; // wait for the gate's rising edge
    } else {
      this.counting = true;
      if (!this.gate) this.freeze(now);
    }
    this.pit.channelChanged(this, now);
  }

  private freeze(now: number): void {
    this.baseTicks = this.elapsed(now);
    this.paused = true;
    if (this.mode === 2 || this.mode === 3) this.baseTicks = 0; // restarts on the rising edge
  }

  setGate(level: boolean, now: number): void {
    if (level === this.gate) return;
    this.gate = level;
    if (level) {
      if (this.mode === 1 || this.mode === 5) {
        if (this.armed || this.counting) {
          this.armed = false;
          this.counting = true;
          this.paused = false;
          this.baseTicks = 0;
          this.startIcount = now;
        }
      } else if (this.counting && this.paused) {
        this.paused = false;
        this.startIcount = now;
        if (this.mode === 2 || this.mode === 3) this.baseTicks = 0;
      }
    } else if (this.counting && (this.mode === 0 || this.mode === 2 || this.mode === 3 || this.mode === 4)) {
      this.freeze(now);
    }
    this.pit.channelChanged(this, now);
  }
}

export class Pit {
  /** PIT ticks per instruction. */
  readonly ratio: number;
  readonly channels: PitChannel[];
  private readonly timer: Timer;
  /** Level of channel 0's OUT as last given to the PIC. */
  private irqLevel = false;

  constructor(
    private readonly clock: Clock,
    private readonly irq: IrqSink,
    bus?: IoBus,
  ) {
    this.ratio = PIT_HZ / clock.rate;
    this.channels = [new PitChannel(0, this, true), new PitChannel(1, this, true), new PitChannel(2, this, false)];
    this.timer = clock.createTimer('pit-ch0', (now) => this.onEdge(now));
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('pit', 0x40, 4, {
      read8: (p) => this.readPort(p),
      write8: (p, v) => this.writePort(p, v),
    });
  }

  readPort(port: number): number {
    const i = port & 3;
    if (i === 3) return 0xff; // the control register is write-only
    return this.channels[i].readData(this.clock.icount);
  }

  writePort(port: number, v: number): void {
    const now = this.clock.icount;
    const i = port & 3;
    if (i !== 3) {
      this.channels[i].writeData(v, now);
      return;
    }
    const sc = v >> 6;
    if (sc === 3) {
      // 8254 read-back: bit 5 clear = latch count, bit 4 clear = latch status; bits 3-1 select
      for (let c = 0; c < 3; c++) {
        if ((v & (2 << c)) === 0) continue;
        const ch = this.channels[c];
        if ((v & 0x10) === 0) ch.latchStatus(now);
        if ((v & 0x20) === 0) ch.latchCount(now);
      }
      return;
    }
    this.channels[sc].writeControl(v, now);
  }

  setGate(channel: number, level: boolean): void {
    this.channels[channel].setGate(level, this.clock.icount);
  }

  /** Channel 2's OUT (port 61h bit 5). */
  out2(): boolean {
    return this.channels[2].out(this.clock.icount);
  }

  /** The tone the speaker would play given port 61h's enable bit, in Hz (0 = silent). */
  speakerFrequency(speakerDataEnabled: boolean): number {
    const ch = this.channels[2];
    if (!speakerDataEnabled || !ch.gate || !ch.counting || ch.mode !== 3) return 0;
    return PIT_HZ / ch.reload;
  }

  /** @internal a channel's programming changed: resync IRQ0 and its next edge. */
  channelChanged(ch: PitChannel, now: number): void {
    if (ch.index !== 0) return;
    this.setIrqLevel(ch.out(now));
    this.scheduleNext(now);
  }

  private setIrqLevel(level: boolean): void {
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raiseIrq(0);
    else this.irq.lowerIrq(0);
  }

  private scheduleNext(now: number): void {
    const ch = this.channels[0];
    const edge = ch.nextRisingEdge(now);
    if (edge < 0) this.timer.cancel();
    else this.timer.scheduleAt(ch.icountForTicks(edge));
  }

  private onEdge(now: number): void {
    // A rising edge on OUT0: pulse the line so the edge-triggered PIC latches it. Between
    // edges the line is left high (the low half of a period is not separately scheduled).
    this.irqLevel = false;
    this.irq.lowerIrq(0);
    this.setIrqLevel(true);
    this.scheduleNext(now);
  }
}
