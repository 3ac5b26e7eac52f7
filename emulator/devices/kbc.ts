// The 8042 keyboard controller (60h data, 64h status/command) with an AT keyboard behind
// it, delivering scancode set 1 (the controller's translation of set 2) on IRQ1.
//
// Status (64h read): bit 0 OBF, bit 1 IBF (always 0: commands complete at once), bit 2
// system flag (command byte bit 2 / self-test), bit 3 last write was a command (64h),
// bit 4 keyboard not inhibited (1), bit 5 output buffer holds auxiliary-device data.
//
// Controller commands (64h): 20h-3Fh read controller RAM (20h = command byte), 60h-7Fh
// write it (next byte on 60h), A7h/A8h disable/enable the aux port, A9h aux test (00),
// AAh self-test (55h, sets the system flag), ABh keyboard interface test (00), ADh/AEh
// disable/enable the keyboard, C0h read input port (BFh: colour display, not inhibited),
// D0h read output port, D1h write output port (bit 1 = A20, bit 0 = 0 resets the CPU),
// D2h/D3h write the keyboard/aux output buffer, D4h write to the aux device (no mouse:
// ignored), DDh/DFh A20 off/on, E0h test inputs (00), F0h-FFh pulse output-port bits 0-3
// for each 0 bit (bit 0 pulsed = CPU reset: FEh, FCh, F0h...).
//
// Keyboard commands (60h writes not consumed by a controller command): EDh set LEDs (FAh,
// then the LED byte, FAh), EEh echo (EEh), F0h scancode set (FAh, then FAh and for 0 the
// current set), F2h identify (FAh ABh 83h), F3h typematic (FAh, byte, FAh), F4h enable
// (FAh), F5h disable and restore defaults (FAh), F6h defaults (FAh), FEh resend, FFh reset
// (FAh AAh), anything else FEh. Bytes are delivered one at a time through the output
// buffer; IRQ1 (IRQ12 for aux data) rises when a byte enters it and the command byte
// enables it; reading 60h empties it and the next queued byte enters at once.
//
// The command byte starts at 45h (IRQ1 on, system flag, translation), the state a BIOS
// leaves; the output port at CDh (A20 off, reset line high).

import type { IoBus } from './io-bus';
import type { IrqSink } from './pic';
import type { A20Gate } from './a20';

const QUEUE_SIZE = 64;

export class KeyboardController {
  /** Controller RAM; byte 0 is the command byte. */
  readonly ram = new Uint8Array(32);
  outputPort = 0xcd;
  /** LED state last set with EDh (bit 0 scroll, 1 num, 2 caps). */
  leds = 0;
  scanning = true;
  scancodeSet = 2; // as the keyboard sees it; translated to set 1 by the controller

  private outBuf = 0;
  private outFull = false;
  private outAux = false;
  private lastWasCommand = false;
  private systemFlag = false;
  private pendingCommand = 0; // controller command waiting for its data byte on 60h
  private pendingKbdCommand = 0; // keyboard command waiting for its parameter
  private lastSent = 0xfa;

  // Queue of bytes waiting for the output buffer; tag per byte: 0 controller/keyboard, 1 aux.
  private readonly queue = new Uint8Array(QUEUE_SIZE);
  private readonly queueAux = new Uint8Array(QUEUE_SIZE);
  private qHead = 0;
  private qCount = 0;
  // Host key input (scancodes), separate so replies to commands come first.
  private readonly keys = new Uint8Array(QUEUE_SIZE);
  private kHead = 0;
  private kCount = 0;

  // Keys typed by a script (Machine.type): an unbounded queue outside the keyboard that feeds
  // its buffer one byte at a time as the guest reads them, so no typed key is ever dropped.
  private typed: number[] = [];
  private typedHead = 0;

  private irq1 = false;
  private irq12 = false;

  constructor(
    private readonly irq: IrqSink,
    private readonly a20: A20Gate,
    bus?: IoBus,
  ) {
    this.ram[0] = 0x45;
    this.systemFlag = true;
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('kbc-data', 0x60, 1, { read8: () => this.readData(), write8: (_p, v) => this.writeData(v) });
    bus.register('kbc-cmd', 0x64, 1, { read8: () => this.readStatus(), write8: (_p, v) => this.writeCommand(v) });
  }

  get commandByte(): number {
    return this.ram[0];
  }

  private get keyboardDisabled(): boolean {
    return (this.ram[0] & 0x10) !== 0;
  }

  /**
   * Host input: scancode set 1 bytes (make and break codes, E0 prefixes included). Bytes
   * beyond the 64-byte keyboard buffer are dropped, as a real keyboard's buffer overflows.
   */
  sendScancodes(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) {
      if (this.kCount === QUEUE_SIZE) break;
      this.keys[(this.kHead + this.kCount) % QUEUE_SIZE] = bytes[i] & 0xff;
      this.kCount++;
    }
    this.refill();
  }

  /** Type ASCII text as make/break scancodes (US layout; shift added where needed). */
  typeText(text: string): void {
    const codes: number[] = [];
    // a terminal's character that no key types is skipped
    for (const ch of text) if (asciiToScancode(ch) !== null) codes.push(...scancodesFor(ch));
    this.sendScancodes(codes);
  }

  /** Queue scancodes from a script: delivered in order as the guest reads the keyboard. */
  typeScancodes(codes: readonly number[]): void {
    for (const c of codes) this.typed.push(c & 0xff);
    this.refill();
  }

  /** Typed bytes (typeScancodes) and keyboard-buffer bytes the guest has not read yet. */
  get keysPending(): number {
    return this.typed.length - this.typedHead + this.kCount;
  }

  readStatus(): number {
    return (
      (this.outFull ? 0x01 : 0) |
      (this.systemFlag ? 0x04 : 0) |
      (this.lastWasCommand ? 0x08 : 0) |
      0x10 |
      (this.outFull && this.outAux ? 0x20 : 0)
    );
  }

  readData(): number {
    const v = this.outBuf;
    if (this.outFull) {
      this.outFull = false;
      this.updateIrq();
      this.refill();
    }
    return v;
  }

  private reply(b: number, aux = false): void {
    if (this.qCount === QUEUE_SIZE) return;
    const i = (this.qHead + this.qCount) % QUEUE_SIZE;
    this.queue[i] = b;
    this.queueAux[i] = aux ? 1 : 0;
    this.qCount++;
  }

  private keyboardReply(b: number): void {
    this.lastSent = b;
    this.reply(b);
  }

  /** Move the next waiting byte into the output buffer if it is empty. */
  private refill(): void {
    if (this.outFull) return;
    if (this.kCount === 0 && this.typedHead < this.typed.length) {
      this.keys[this.kHead] = this.typed[this.typedHead++];
      this.kCount = 1;
      if (this.typedHead === this.typed.length) {
        this.typed = [];
        this.typedHead = 0;
      }
    }
    if (this.qCount > 0) {
      this.outBuf = this.queue[this.qHead];
      this.outAux = this.queueAux[this.qHead] === 1;
      this.qHead = (this.qHead + 1) % QUEUE_SIZE;
      this.qCount--;
      this.outFull = true;
    } else if (this.kCount > 0 && this.scanning && !this.keyboardDisabled) {
      this.outBuf = this.keys[this.kHead];
      this.lastSent = this.outBuf;
      this.outAux = false;
      this.kHead = (this.kHead + 1) % QUEUE_SIZE;
      this.kCount--;
      this.outFull = true;
    } else {
      return;
    }
    this.updateIrq(true);
  }

  /** Resync IRQ1/IRQ12; `newByte`: a byte just entered the buffer (a fresh edge). */
  private updateIrq(newByte = false): void {
    const kbd = this.outFull && !this.outAux && (this.ram[0] & 0x01) !== 0;
    const aux = this.outFull && this.outAux && (this.ram[0] & 0x02) !== 0;
    if (kbd !== this.irq1 || (kbd && newByte)) {
      if (this.irq1) this.irq.lowerIrq(1);
      if (kbd) this.irq.raiseIrq(1);
      this.irq1 = kbd;
    }
    if (aux !== this.irq12) {
      if (aux) this.irq.raiseIrq(12);
      else this.irq.lowerIrq(12);
      this.irq12 = aux;
    }
  }

  private setOutputPort(v: number): void {
    this.outputPort = v;
    this.a20.setKbc((v & 2) !== 0);
    if ((v & 1) === 0) {
      this.a20.requestReset();
      this.outputPort |= 1; // the reset line returns high
    }
  }

  writeCommand(v: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = 0;
    if (v >= 0x20 && v <= 0x3f) {
      this.reply(this.ram[v & 0x1f]);
    } else if (v >= 0x60 && v <= 0x7f) {
      this.pendingCommand = v;
    } else if (v >= 0xf0) {
      // Pulse output port bits 0-3 low for each 0 bit in the low nibble.
      if ((v & 1) === 0) this.a20.requestReset();
    } else {
      switch (v) {
        case 0xa7:
          this.ram[0] |= 0x20;
          break;
        case 0xa8:
          this.ram[0] &= ~0x20;
          break;
        case 0xa9:
          this.reply(0x00);
          break;
        case 0xaa:
          this.systemFlag = true;
          this.reply(0x55);
          break;
        case 0xab:
          this.reply(0x00);
          break;
        case 0xad:
          this.ram[0] |= 0x10;
          break;
        case 0xae:
          this.ram[0] &= ~0x10;
          break;
        case 0xc0:
          this.reply(0xbf);
          break;
        case 0xd0:
          this.reply(this.outputPort);
          break;
        case 0xd1:
        case 0xd2:
        case 0xd3:
        case 0xd4:
          this.pendingCommand = v;
          break;
        case 0xdd:
          this.setOutputPort(this.outputPort & ~2);
          break;
        case 0xdf:
          this.setOutputPort(this.outputPort | 2);
          break;
        case 0xe0:
          this.reply(0x00);
          break;
        default:
          break; // unknown controller commands are ignored
      }
    }
    this.refill();
    this.updateIrq();
  }

  writeData(v: number): void {
    this.lastWasCommand = false;
    const cmd = this.pendingCommand;
    if (cmd !== 0) {
      this.pendingCommand = 0;
      if (cmd >= 0x60 && cmd <= 0x7f) {
        this.ram[cmd & 0x1f] = v;
        if (cmd === 0x60) this.systemFlag = (v & 0x04) !== 0;
      } else if (cmd === 0xd1) {
        this.setOutputPort(v);
      } else if (cmd === 0xd2) {
        this.reply(v);
      } else if (cmd === 0xd3) {
        this.reply(v, true);
      }
      // D4h: no auxiliary device is attached; the byte is dropped.
      this.refill();
      this.updateIrq();
      return;
    }
    this.keyboardCommand(v);
    this.refill();
  }

  private keyboardCommand(v: number): void {
    const pending = this.pendingKbdCommand;
    if (pending !== 0) {
      this.pendingKbdCommand = 0;
      if (pending === 0xed) {
        this.leds = v & 7;
        this.keyboardReply(0xfa);
        return;
      }
      if (pending === 0xf3) {
        this.keyboardReply(0xfa);
        return;
      }
      if (pending === 0xf0) {
        this.keyboardReply(0xfa);
        if (v === 0) this.keyboardReply(this.scancodeSet === 2 ? 0x41 : this.scancodeSet === 1 ? 0x43 : 0x3f);
        else if (v <= 3) this.scancodeSet = v;
        return;
      }
    }
    switch (v) {
      case 0xed:
      case 0xf3:
      case 0xf0:
        this.pendingKbdCommand = v;
        this.keyboardReply(0xfa);
        break;
      case 0xee:
        this.keyboardReply(0xee);
        break;
      case 0xf2:
        this.keyboardReply(0xfa);
        this.keyboardReply(0xab);
        this.keyboardReply(0x83);
        break;
      case 0xf4:
        this.scanning = true;
        this.keyboardReply(0xfa);
        break;
      case 0xf5:
        this.scanning = false;
        this.keyboardReply(0xfa);
        break;
      case 0xf6:
        this.keyboardReply(0xfa);
        break;
      case 0xfe:
        this.reply(this.lastSent);
        break;
      case 0xff:
        this.scanning = true;
        this.leds = 0;
        this.kCount = 0;
        this.keyboardReply(0xfa);
        this.keyboardReply(0xaa);
        break;
      default:
        this.keyboardReply(0xfe);
    }
  }
}

// US layout, scancode set 1 make codes.
const UNSHIFTED = "\x1b1234567890-=\b\tqwertyuiop[]\n\0asdfghjkl;'`\0\\zxcvbnm,./";
const SHIFTED = '\x1b!@#$%^&*()_+\b\tQWERTYUIOP{}\n\0ASDFGHJKL:"~\0|ZXCVBNM<>?';

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', b: '\b', e: '\x1b', '\\': '\\' };

/**
 * Text as scripts write keys (`--keys 'ls\n'`, the debugger's `type`): \n Enter, \t Tab,
 * \b Backspace, \e Esc, \\ a backslash. Any other escape is a one-line error.
 */
export function unescapeKeys(text: string): string {
  return text.replace(/\\(.?)/g, (all, c: string) => {
    const v = ESCAPES[c];
    if (v === undefined) throw new Error(`unknown escape '${all}' in keys (known: \\n \\t \\b \\e \\\\)`);
    return v;
  });
}

/**
 * The scancodes an AT keyboard sends (set 1, as the controller translates them) to type
 * `text`: make and break for each key, with left shift held around capitals and shifted
 * symbols. A character no key types is an error naming it.
 */
export function scancodesFor(text: string): number[] {
  const codes: number[] = [];
  for (const ch of text) {
    const k = asciiToScancode(ch);
    if (k === null) throw new Error(`no key types ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}) on a US AT keyboard`);
    if (k.shift) codes.push(0x2a);
    codes.push(k.code, k.code | 0x80);
    if (k.shift) codes.push(0xaa);
  }
  return codes;
}

/** Scancode set 1 make code for an ASCII character (US layout), or null. */
export function asciiToScancode(ch: string): { code: number; shift: boolean } | null {
  if (ch === ' ') return { code: 0x39, shift: false };
  if (ch === '\r') return { code: 0x1c, shift: false };
  if (ch === '\0') return null;
  let i = UNSHIFTED.indexOf(ch);
  if (i >= 0) return { code: i + 1, shift: false };
  i = SHIFTED.indexOf(ch);
  if (i >= 0) return { code: i + 1, shift: true };
  return null;
}
