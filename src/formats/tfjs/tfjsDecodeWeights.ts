import { ExpnetError } from '../../errors.js';
import { tfjsFloat16ToFloat32 } from './tfjsFloat16.js';

/** How a tfjs weight is stored in the shard: `value = q·scale + min` (uint8/uint16) or IEEE half (float16). */
export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

/** One `weights[]` entry of a tfjs weights manifest (only the dtypes expnet can use). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: TfjsQuantization;
}

/** A decoded tensor: row-major data in the tfjs layout (conv filters HWIO, depthwise HWC1, dense [in, out]). */
export interface TfjsTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

export type TfjsWeightMap = Map<string, TfjsTensor>;

const BYTES: Record<TfjsQuantization['dtype'] | TfjsWeightSpec['dtype'], number> = {
  uint8: 1,
  uint16: 2,
  float16: 2,
  float32: 4,
  int32: 4,
};

/** Number of elements of a shape (1 for a scalar `[]`). */
export function tfjsSize(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Bytes one weight occupies in the concatenated shards. */
export function tfjsByteLength(spec: TfjsWeightSpec): number {
  return tfjsSize(spec.shape) * BYTES[spec.quantization?.dtype ?? spec.dtype];
}

/**
 * Decodes the weights of one manifest group from its concatenated shards (`bytes`), in manifest order, the way
 * tfjs's `io.decodeWeights` does (same float32 rounding of `q·scale + min`, `Math.round` for int32).
 * `source` names the manifest in error messages. The caller has already checked the total byte count.
 */
export function tfjsDecodeWeights(specs: readonly TfjsWeightSpec[], bytes: Uint8Array, source: string, into: TfjsWeightMap = new Map()): TfjsWeightMap {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const n = tfjsSize(spec.shape);
    if (into.has(spec.name)) {
      throw new ExpnetError('BAD_WEIGHTS', `${source}: weight '${spec.name}' appears twice; expected unique names`);
    }
    into.set(spec.name, { shape: [...spec.shape], data: decodeOne(spec, view, offset, n, source) });
    offset += tfjsByteLength(spec);
  }
  return into;
}

function decodeOne(spec: TfjsWeightSpec, view: DataView, offset: number, n: number, source: string): Float32Array | Int32Array {
  const q = spec.quantization;
  if (q === undefined) {
    if (spec.dtype === 'float32') {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(offset + 4 * i, true);
      return out;
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getInt32(offset + 4 * i, true);
    return out;
  }
  if (q.dtype === 'float16') {
    if (spec.dtype !== 'float32') {
      throw new ExpnetError('BAD_WEIGHTS', `${source}: weight '${spec.name}' is float16-quantised but has dtype ${spec.dtype}; expected float32`);
    }
    const bits = new Uint16Array(n);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(offset + 2 * i, true);
    return tfjsFloat16ToFloat32(bits);
  }
  const { scale, min } = q;
  if (scale === undefined || min === undefined) {
    throw new ExpnetError('BAD_WEIGHTS', `${source}: weight '${spec.name}' is ${q.dtype}-quantised; expected numeric 'scale' and 'min', got scale=${String(scale)} min=${String(min)}`);
  }
  const read = q.dtype === 'uint8' ? (i: number) => view.getUint8(offset + i) : (i: number) => view.getUint16(offset + 2 * i, true);
  if (spec.dtype === 'float32') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = read(i) * scale + min;
    return out;
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(read(i) * scale + min);
  return out;
}
