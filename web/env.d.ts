// The one Node-style global the emulator's debugger engine uses; web/worker.ts provides it.
declare function setImmediate(callback: (value?: unknown) => void): unknown;
