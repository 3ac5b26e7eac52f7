// The PC's devices, for machine.ts to wire onto one IoBus with one PicPair and one Clock.
// Each class registers its own ports when given the bus (or later with attach(bus)).
export * from './io-bus';
export * from './pic';
export * from './pit';
export * from './port61';
export * from './a20';
export * from './uart';
export * from './vga';
export * from './kbc';
export * from './cmos';
export * from './disk';
export * from './ata';
export * from './dma';
export * from './floppy';
export * from './debug-ports';
