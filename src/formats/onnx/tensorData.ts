/** Typed arrays ↔ ONNX raw_data (little-endian, row-major), including float16 conversion. */

import { ExpnetError } from '../../errors.js';
import { ELEM_BYTES, type ElemType, type TensorSpec } from './onnxTypes.js';

/** Data accepted for a constant tensor. Uint16Array means float16 bit patterns; number[] needs an elemType. */
export type TensorData = Float32Array | Int32Array | Int8Array | BigInt64Array | Uint16Array | readonly number[];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bit pattern, round to nearest even (overflow → ±Inf, NaN kept). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

export function float16BitsToFloat32(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** The element type a typed array implies, or undefined for number[]. */
export function impliedElemType(data: TensorData): ElemType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint16Array) return 'float16';
  return undefined;
}

function checkInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new ExpnetError('BAD_INPUT', `${what}: expected an integer, got ${v}`);
  return v;
}

/**
 * Copy `data` into fresh little-endian raw bytes of type `elemType`. Allowed: same type; Float32Array or
 * number[] → float16; number[] → any type; Int32Array → int64.
 */
export function toRawData(data: TensorData, elemType: ElemType, what: string): Uint8Array {
  const implied = impliedElemType(data);
  const n = data.length;
  const out = new Uint8Array(n * ELEM_BYTES[elemType]);
  if (implied === elemType && LITTLE_ENDIAN && !Array.isArray(data)) {
    const src = data as Exclude<TensorData, readonly number[]>;
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return out;
  }
  const ok =
    implied === elemType ||
    implied === undefined ||
    (implied === 'float32' && elemType === 'float16') ||
    (implied === 'int32' && elemType === 'int64');
  if (!ok) throw new ExpnetError('BAD_INPUT', `${what}: cannot store ${data.constructor.name} as ${elemType}`);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = data[i] ?? 0;
    if (typeof v === 'bigint') {
      dv.setBigInt64(i * 8, v, true);
    } else if (elemType === 'float32') {
      dv.setFloat32(i * 4, v, true);
    } else if (elemType === 'float16') {
      dv.setUint16(i * 2, implied === 'float16' ? v : float32ToFloat16Bits(v), true);
    } else if (elemType === 'int32') {
      dv.setInt32(i * 4, checkInt(v, what), true);
    } else if (elemType === 'int8') {
      const b = checkInt(v, what);
      if (b < -128 || b > 127) throw new ExpnetError('BAD_INPUT', `${what}: ${b} does not fit int8`);
      dv.setInt8(i, b);
    } else {
      dv.setBigInt64(i * 8, BigInt(checkInt(v, what)), true);
    }
  }
  return out;
}

/** Read a tensor's values back: float32 and float16 as Float32Array, int8 and int32 as Int32Array, int64 as BigInt64Array. */
export function tensorValues(t: TensorSpec): Float32Array | Int32Array | BigInt64Array {
  const n = t.rawData.byteLength / ELEM_BYTES[t.elemType];
  const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  switch (t.elemType) {
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'float16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(dv.getUint16(i * 2, true));
      return out;
    }
    case 'int8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(i * 8, true);
      return out;
    }
  }
}
