/**
 * The safetensors format (readable by Python's safetensors / PyTorch): read, and write atomically. Every file
 * written here carries a SHA-256 per tensor in its `__metadata__` (key `expnet.sha256`: a JSON object, tensor
 * name → hex digest of its stored bytes); reading verifies them and names the file and the tensor that fails.
 * Files without that key (older expnet files, other writers) load unchecked.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { ExpnetError, fsReason } from '../errors.js';
import type { RawTensor } from './module.js';
import { Tensor, type DType, type TensorData } from './tensor.js';

const CODES: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};
const DTYPES = new Map(Object.entries(CODES).map(([k, v]) => [v, k as DType]));
const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>;
  /** The file's `__metadata__`, without the checksum entry. */
  metadata: Record<string, string>;
}

/** The `__metadata__` key holding the per-tensor SHA-256 digests. */
export const CHECKSUM_KEY = 'expnet.sha256';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function rawOf(t: Tensor | RawTensor): RawTensor {
  if (!(t instanceof Tensor)) return t;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const f = t.to('float32');
    const data = f.data();
    f.dispose();
    return { dtype: 'float32', shape: t.shape, data };
  }
  return { dtype: t.dtype, shape: t.shape, data: t.data() };
}

/**
 * Writes a file to `path` atomically: a temporary file in the same folder, fsync, then rename.
 * @throws ExpnetError('WRITE_FAILED') naming the file and the reason (e.g. no space left); a file already at
 * `path` is kept as it was.
 */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    for (const c of chunks) writeSync(fd, c);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new ExpnetError('WRITE_FAILED', `cannot write ${path}: ${fsReason(err)}${existsSync(path) ? ' (the previous file is kept)' : ''}`, { cause: err });
  }
}

/** Serialises tensors (libtorch tensors or raw values) with string metadata to safetensors bytes. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor | RawTensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  const sums: Record<string, string> = {};
  header['__metadata__'] = { ...metadata, [CHECKSUM_KEY]: '' };
  const bodies: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const raw = rawOf(t);
    const bytes = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
    const expected = raw.shape.reduce((a, b) => a * b, 1) * BYTES[raw.dtype];
    if (bytes.byteLength !== expected) throw new ExpnetError('BAD_INPUT', `safetensors: '${name}' has ${bytes.byteLength} bytes, its shape needs ${expected}`);
    header[name] = { dtype: CODES[raw.dtype], shape: raw.shape, data_offsets: [offset, offset + bytes.byteLength] };
    sums[name] = sha256(bytes);
    bodies.push(bytes);
    offset += bytes.byteLength;
  }
  header['__metadata__'] = { ...metadata, [CHECKSUM_KEY]: JSON.stringify(sums) };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.byteLength));
  return [len, head, ...bodies];
}

export function writeSafetensors(path: string, tensors: ReadonlyMap<string, Tensor | RawTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

function typed(dtype: DType, bytes: Uint8Array): TensorData {
  const copy = new Uint8Array(bytes); // a copy (Buffer.slice would share the whole file)
  const b = copy.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(b);
    case 'float64': return new Float64Array(b);
    case 'int64': return new BigInt64Array(b);
    case 'int32': return new Int32Array(b);
    case 'float16': return new Uint8Array(b);
    default: return copy;
  }
}

/** bfloat16 is the upper half of a float32: widening is a 16-bit shift. */
function bfloatToFloat(bytes: Uint8Array): Float32Array {
  const out = new Uint32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = ((bytes[2 * i + 1] ?? 0) << 24 | (bytes[2 * i] ?? 0) << 16) >>> 0;
  return new Float32Array(out.buffer);
}

/** Parses safetensors bytes; every error names `source`. float16 and bfloat16 tensors come back as float32. */
export function decodeSafetensors(buf: Uint8Array, source: string): SafetensorsFile {
  const bad = (why: string): never => {
    throw new ExpnetError('BAD_WEIGHTS', `${source} is not a valid safetensors file: ${why}`);
  };
  if (buf.byteLength < 8) bad('shorter than its 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > buf.byteLength - 8) bad(`header length ${n} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  } catch {
    return bad('the header is not JSON');
  }
  const start = 8 + n;
  const tensors = new Map<string, RawTensor>();
  const { [CHECKSUM_KEY]: sumsText, ...metadata } = (header['__metadata__'] ?? {}) as Record<string, string>;
  let sums: Record<string, unknown> | undefined;
  if (sumsText !== undefined) {
    try {
      sums = JSON.parse(sumsText) as Record<string, unknown>;
    } catch {
      return bad(`its '${CHECKSUM_KEY}' metadata is not JSON`);
    }
  }
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = DTYPES.get(e.dtype ?? '');
    if (!dtype || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) return bad(`entry '${name}' is malformed`);
    const [b0, b1] = e.data_offsets;
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) return bad(`entry '${name}' has a bad shape [${e.shape}]`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const ok = Number.isInteger(b0) && Number.isInteger(b1) && b0 >= 0 && b1 - b0 === count * BYTES[dtype] && start + b1 <= buf.byteLength;
    if (!ok) return bad(`entry '${name}' has wrong offsets`);
    const bytes = buf.subarray(start + b0, start + b1);
    if (sums !== undefined) {
      const want = sums[name];
      if (typeof want !== 'string') return bad(`tensor '${name}' has no checksum in its '${CHECKSUM_KEY}' metadata`);
      const got = sha256(bytes);
      if (got !== want) {
        throw new ExpnetError('BAD_WEIGHTS', `${source} is damaged: tensor '${name}' fails its SHA-256 check (stored ${want.slice(0, 12)}…, computed ${got.slice(0, 12)}…); restore the file or start without it`);
      }
    }
    const widened = dtype === 'float16' ? halfToFloat(bytes) : dtype === 'bfloat16' ? bfloatToFloat(bytes) : null;
    tensors.set(name, widened ? { dtype: 'float32', shape: e.shape, data: widened } : { dtype, shape: e.shape, data: typed(dtype, bytes) });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new ExpnetError('NOT_FOUND', `cannot read ${path}: ${fsReason(err)}`, { cause: err });
  }
  return decodeSafetensors(buf, path);
}

/** IEEE half → float32. */
export function halfToFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 2);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    const h = dv.getUint16(2 * i, true);
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    out[i] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? Number.NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}
