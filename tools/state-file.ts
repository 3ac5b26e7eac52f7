// State files: a MachineState (emulator/snapshot.ts) as bytes, for `forklab run --save-state`
// and `--load-state`. Node-only (zlib, crypto), so it lives in tools/.
//
//   "FLSTATE\x1a"   8-byte magic
//   u32 version     SNAPSHOT_VERSION
//   u32 n, n bytes  header: JSON {config, icount}, readable with `head -c`
//   u32 n, n bytes  body, deflateRaw'd: u32 m, m bytes of JSON (typed arrays as
//                   {"$t": kind, "o": offset, "n": length} into the blob), then the blob
//   32 bytes        SHA-256 of everything before it
//
// decodeState validates the magic, version, checksum and every length before it returns;
// Machine.restore then checks the state against the machine. Every failure is one line.
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SNAPSHOT_VERSION, type MachineState } from '../emulator/snapshot';

const MAGIC = Buffer.from('FLSTATE\x1a', 'latin1');
const TYPED = { Uint8Array, Uint16Array, Int32Array, Float64Array } as const;
type TypedName = keyof typeof TYPED;

export function encodeState(state: MachineState): Uint8Array {
  const chunks: Uint8Array[] = [];
  let blobLength = 0;
  const json = JSON.stringify(state, function (this: unknown, _k, v: unknown) {
    if (ArrayBuffer.isView(v) && v.constructor.name in TYPED) {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const o = blobLength;
      chunks.push(bytes);
      blobLength += bytes.length;
      const pad = (8 - (blobLength % 8)) % 8; // keep every array aligned for its view
      if (pad) chunks.push(new Uint8Array(pad)), (blobLength += pad);
      return { $t: v.constructor.name, o, n: (v as Uint8Array).length };
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $n: String(v) };
    if (typeof v === 'number' && Object.is(v, -0)) return { $n: '-0' };
    return v;
  });
  const jsonBytes = Buffer.from(json, 'utf8');
  const body = Buffer.concat([u32(jsonBytes.length), jsonBytes, ...chunks]);
  const header = Buffer.from(JSON.stringify({ config: state.config, icount: state.icount }), 'utf8');
  const z = deflateRawSync(body, { level: 1 });
  const out = Buffer.concat([MAGIC, u32(state.version), u32(header.length), header, u32(z.length), z]);
  return Buffer.concat([out, createHash('sha256').update(out).digest()]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** The state in `bytes`; throws a one-line error naming what is wrong with them. */
export function decodeState(bytes: Uint8Array): MachineState {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < MAGIC.length + 8 || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a forklab state file (bad magic)');
  const version = b.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION) throw new Error(`state file version ${version}; this forklab reads version ${SNAPSHOT_VERSION}`);
  if (b.length < 12 + 4 + 4 + 32) throw new Error('state file is truncated');
  const sum = createHash('sha256').update(b.subarray(0, b.length - 32)).digest();
  const hlen = b.readUInt32LE(12);
  const zAt = 16 + hlen;
  if (zAt + 4 + 32 > b.length || zAt + 4 + b.readUInt32LE(zAt) + 32 !== b.length) throw new Error('state file is truncated');
  if (!sum.equals(b.subarray(b.length - 32))) throw new Error('state file is corrupt (checksum mismatch)');
  let body: Buffer;
  try {
    body = inflateRawSync(b.subarray(zAt + 4, b.length - 32));
  } catch {
    throw new Error('state file is corrupt (cannot inflate)');
  }
  const jlen = body.length >= 4 ? body.readUInt32LE(0) : -1;
  if (jlen < 0 || 4 + jlen > body.length) throw new Error('state file is corrupt (body)');
  const blob = body.subarray(4 + jlen);
  try {
    return JSON.parse(body.subarray(4, 4 + jlen).toString('utf8'), (_k, v: unknown) => {
      if (v && typeof v === 'object' && '$t' in v) {
        const { $t, o, n } = v as { $t: string; o: number; n: number };
        const T = TYPED[$t as TypedName];
        if (!T || !Number.isInteger(o) || !Number.isInteger(n) || o < 0 || n < 0 || o + n * T.BYTES_PER_ELEMENT > blob.length) throw new Error('bad array');
        const copy = new Uint8Array(n * T.BYTES_PER_ELEMENT);
        copy.set(blob.subarray(o, o + copy.length));
        return new T(copy.buffer);
      }
      if (v && typeof v === 'object' && '$n' in v) return Number((v as { $n: string }).$n);
      return v;
    }) as MachineState;
  } catch {
    throw new Error('state file is corrupt (body)');
  }
}
