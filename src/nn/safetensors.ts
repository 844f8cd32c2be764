/**
 * The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data):
 * writing float32 tensors, parsing a header with clear errors, and reading one tensor as float32
 * from F32, F16, BF16 or F64 storage (Hugging Face checkpoints are usually bf16 or f16; the engine
 * computes in float32).
 */
import { GshfInputError } from '../math/errors.js';

export interface SafetensorEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialises named float32 tensors to safetensors bytes (header padded to 8 bytes with spaces). */
export function encodeSafetensors(
  tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const bytes = t.data.length * 4;
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const hbytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const t of tensors) {
    if (le) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    else for (let i = 0; i < t.data.length; i++) dv.setFloat32(p + 4 * i, t.data[i], true);
    p += t.data.byteLength;
  }
  return out;
}

/** Parses a safetensors file's header; returns entries and the data section start. */
export function parseSafetensorsHeader(
  buf: Uint8Array,
  file: string,
): { entries: Map<string, SafetensorEntry>; dataStart: number; metadata: Record<string, string> } {
  if (buf.length < 8)
    throw new GshfInputError(
      `${file}: truncated: ${buf.length} bytes, need at least 8 for the header length`,
    );
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen > buf.length - 8)
    throw new GshfInputError(
      `${file}: truncated or corrupt: header length ${hlen} exceeds the file size ${buf.length}`,
    );
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, hlen).toString('utf8'));
  } catch (e) {
    throw new GshfInputError(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new GshfInputError(`${file}: header must be a JSON object`);
  const entries = new Map<string, SafetensorEntry>();
  let metadata: Record<string, string> = {};
  const dataLen = buf.length - 8 - hlen;
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as Partial<SafetensorEntry>;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.dtype !== 'string' ||
      !Array.isArray(e.shape) ||
      !Array.isArray(e.data_offsets) ||
      e.data_offsets.length !== 2
    ) {
      throw new GshfInputError(
        `${file}: tensor "${name}": malformed header entry (needs dtype, shape, data_offsets)`,
      );
    }
    const [s, t] = e.data_offsets;
    if (!(Number.isInteger(s) && Number.isInteger(t) && s >= 0 && t >= s))
      throw new GshfInputError(
        `${file}: tensor "${name}": bad data_offsets ${JSON.stringify(e.data_offsets)}`,
      );
    if (t > dataLen)
      throw new GshfInputError(
        `${file}: truncated: tensor "${name}" ends at byte ${t} of the data section, which has only ${dataLen} bytes`,
      );
    entries.set(name, e as SafetensorEntry);
  }
  return { entries, dataStart: 8 + hlen, metadata };
}

/**
 * Throws when `data` holds a NaN or ±Infinity, naming `what`, the first bad index, its value and how
 * many elements are bad (a diverged run's weights must not load and then score as null).
 */
export function checkFinite(data: Float32Array, what: string): void {
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first >= 0)
    throw new GshfInputError(
      `${what}: element ${first} is ${data[first]} (${count} of ${data.length} elements are not finite); the checkpoint is corrupt or its training diverged`,
    );
}

/** Bytes per element of the dtypes {@link readTensorF32} decodes. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

let f16Table: Float32Array | null = null;

/** float16 bit pattern → float32 value, for all 65536 patterns (built once). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

/**
 * Decodes `n` elements of `dtype` starting at byte `at` of `buf` into out[outOff ..] as float32.
 * Throws naming `what` for a dtype other than F32, F16, BF16 or F64.
 */
export function decodeTensorF32(
  buf: Uint8Array,
  at: number,
  n: number,
  dtype: string,
  out: Float32Array,
  outOff: number,
  what: string,
): void {
  const dv = new DataView(buf.buffer, buf.byteOffset + at, n * (SAFETENSORS_DTYPE_BYTES[dtype] ?? 0));
  if (dtype === 'F32') {
    if (((buf.byteOffset + at) & 3) === 0)
      out.set(new Float32Array(buf.buffer, buf.byteOffset + at, n), outOff);
    else for (let i = 0; i < n; i++) out[outOff + i] = dv.getFloat32(4 * i, true);
  } else if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer, out.byteOffset + 4 * outOff, n);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
  } else if (dtype === 'F16') {
    const t = halfTable();
    for (let i = 0; i < n; i++) out[outOff + i] = t[dv.getUint16(2 * i, true)];
  } else if (dtype === 'F64') {
    for (let i = 0; i < n; i++) out[outOff + i] = dv.getFloat64(8 * i, true);
  } else {
    throw new GshfInputError(`${what}: dtype ${dtype} is not supported (F32, F16, BF16 or F64)`);
  }
}
